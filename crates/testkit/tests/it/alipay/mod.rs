//! Alipay end to end through the merchant API against the in-process sandbox (issue #9,
//! acceptance 1 and 5): every pay type from create to refund, close and cancel, and the faults
//! the channel (or someone posing as it) throws at us.
//!
//! `scenarios` walks each pay type through its life; `faults` covers a timed-out create and
//! notifications that are forged, replayed, wrong or repeated; `micropay` the pay code and face
//! code, the payer still confirming, and the cancel. This file holds the scene and Alipay's
//! side: signed gateway calls to read the sandbox's books and notifications signed with
//! Alipay's key.

mod faults;
mod micropay;
mod scenarios;

use paygate_app::jobs::{poll_step, JobSettings};
use paygate_app::notify::{Notifier, NotifierSettings};
use paygate_app::ManualClock;
use paygate_channels::alipay::sign::{notify_content, request_content, sign_rsa2};
use paygate_client::{CreateOrder, OrderRef, QueryOrder};
use paygate_domain::sign::RsaPrivateKey;
use paygate_domain::{AuthCode, OrderStatus, OutTradeNo, PayType, TradeNo, WalletAccountId};
use paygate_sandbox::{AlipayCredentials, AlipaySandboxConfig};
use paygate_testkit::{spawn_app_with, DbBackend, TestApp, TestOptions};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::support::yuan;

pub const SECOND_MS: i64 = 1_000;
/// How long a test waits for something the sandbox does on its own (a notification).
const SETTLE_WAIT_MS_MAX: u64 = 10_000;
/// A pay code as Alipay issues them: 16 to 24 digits starting 25 to 30.
pub const AUTH_CODE: &str = "287951669891795468";
/// An Alipay user id (`2088` and 12 digits), as `alipay_jsapi` needs the payer's.
pub const BUYER_ID: &str = "2088102146225135";

pub struct Scene {
    pub t: TestApp,
    pub clock: Arc<ManualClock>,
    pub alipay: AlipayCredentials,
    pub jobs: JobSettings,
    http: reqwest::Client,
}

/// The app with the Alipay sandbox in process, at a clock the test moves. Notifications are
/// retried after 200 ms, 200 ms and 500 ms.
pub async fn scene(backend: DbBackend) -> Scene {
    let (options, clock) = TestOptions::with_manual_clock();
    let options = TestOptions {
        alipay_sandbox: Some(AlipaySandboxConfig {
            callback_delays_ms: vec![200, 200, 500],
            ..AlipaySandboxConfig::default()
        }),
        ..options
    };
    let t = spawn_app_with(backend, options).await;
    let alipay = t.alipay.clone().expect("the Alipay sandbox runs");
    Scene {
        t,
        clock,
        alipay,
        jobs: JobSettings::default(),
        http: reqwest::Client::new(),
    }
}

/// A create of `pay_type` with what its scenario requires (buyer_id, auth_code).
pub fn alipay_order(
    pay_type: PayType,
    number: &str,
    amount: &str,
    notify_url: &str,
) -> CreateOrder {
    let mut create = CreateOrder::new(
        OutTradeNo::parse(number).expect("a valid out_trade_no"),
        yuan(amount),
        "green tea",
        notify_url,
    );
    create.pay_type = pay_type;
    match pay_type {
        PayType::AlipayJsapi => {
            create.buyer_id = Some(WalletAccountId::parse(BUYER_ID).expect("a user id"))
        }
        PayType::AlipayMicropay => {
            create.auth_code = Some(AuthCode::parse(AUTH_CODE).expect("an Alipay pay code"))
        }
        _ => {}
    }
    create
}

impl Scene {
    /// `http://addr`: the gateway URL without `/gateway.do`.
    fn base_url(&self) -> &str {
        let gateway = &self.alipay.gateway_url;
        gateway.strip_suffix("/gateway.do").expect("a gateway URL")
    }

    pub async fn order_status(&self, trade_no: &TradeNo) -> OrderStatus {
        self.query(trade_no).await.trade_status
    }

    pub async fn query(&self, trade_no: &TradeNo) -> paygate_client::OrderView {
        let by = QueryOrder::from(OrderRef::TradeNo(trade_no.clone()));
        self.t.client.query_order(&by).await.expect("query order")
    }

    /// Polls the merchant query until the order reaches `status`; panics after the bound.
    pub async fn wait_for_status(&self, trade_no: &TradeNo, status: OrderStatus) {
        let mut seen = None;
        for _ in 0..SETTLE_WAIT_MS_MAX / 50 {
            let now = self.order_status(trade_no).await;
            if now == status {
                return;
            }
            seen = Some(now);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("order {trade_no} never reached {status}; last seen {seen:?}");
    }

    /// Waits until `done` holds, checking every 50 ms; panics with `what` after the bound.
    pub async fn wait_until<F, Fut>(&self, what: &str, mut done: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        for _ in 0..SETTLE_WAIT_MS_MAX / 50 {
            if done().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("timed out waiting for {what}");
    }

    /// The payer simulator: `action` on the trade our `trade_no` opened at Alipay.
    pub async fn payer(&self, trade_no: &TradeNo, action: &str) -> (u16, Value) {
        let body = json!({"out_trade_no": trade_no.as_str(), "action": action});
        self.sandbox_post("/sandbox/payer", body).await
    }

    /// The payer simulator with any body (an app's `order_string`, a pay code's answer).
    pub async fn payer_raw(&self, body: Value) -> (u16, Value) {
        self.sandbox_post("/sandbox/payer", body).await
    }

    /// Arms a sandbox fault (`{"fault": ..., ...}`).
    pub async fn fault(&self, fault: Value) {
        let (status, body) = self.sandbox_post("/sandbox/faults", fault).await;
        assert_eq!(status, 201, "fault armed: {body}");
    }

    async fn sandbox_post(&self, path: &str, body: Value) -> (u16, Value) {
        let answer = (self.http.post(format!("{}{path}", self.base_url())))
            .json(&body)
            .send()
            .await
            .expect("the sandbox answers");
        let status = answer.status().as_u16();
        (status, answer.json().await.unwrap_or(Value::Null))
    }

    /// A GET of a page the payer's browser is sent to; the status and the page.
    pub async fn browse(&self, url: &str) -> (u16, String) {
        let answer = self.http.get(url).send().await.expect("the page answers");
        let status = answer.status().as_u16();
        (status, answer.text().await.expect("a page"))
    }

    /// A gateway call signed with the app's key as any Alipay client makes it; the
    /// `<method>_response` object.
    pub async fn alipay_call(&self, method: &str, biz_content: Value) -> Value {
        let mut params: BTreeMap<String, String> = [
            ("app_id", self.alipay.app_id.clone()),
            ("method", method.to_owned()),
            ("charset", "utf-8".to_owned()),
            ("sign_type", "RSA2".to_owned()),
            ("timestamp", "2026-11-29 10:00:00".to_owned()),
            ("version", "1.0".to_owned()),
            ("biz_content", biz_content.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let key = RsaPrivateKey::from_text(&self.alipay.app_private_key_pem).expect("app key");
        let sign = sign_rsa2(&key, &request_content(&params));
        params.insert("sign".into(), sign);
        let answer = (self.http.post(&self.alipay.gateway_url))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(form(&params))
            .send()
            .await
            .expect("the gateway answers");
        let body: Value = answer.json().await.expect("a JSON answer");
        body[format!("{}_response", method.replace('.', "_"))].clone()
    }

    /// Alipay's own view of the trade our `trade_no` opened (`alipay.trade.query`).
    pub async fn alipay_trade(&self, trade_no: &TradeNo) -> Value {
        let biz = json!({"out_trade_no": trade_no.as_str()});
        self.alipay_call("alipay.trade.query", biz).await
    }

    /// Alipay's view of a refund by its `out_request_no` (our refund number).
    pub async fn alipay_refund(&self, trade_no: &TradeNo, out_request_no: &str) -> Value {
        let biz = json!({"out_trade_no": trade_no.as_str(), "out_request_no": out_request_no});
        self.alipay_call("alipay.trade.fastpay.refund.query", biz)
            .await
    }

    /// A `trade_status_sync` form signed with Alipay's key, over every field but `sign` and
    /// `sign_type`, as the sandbox's own notifications are.
    pub fn signed_notification(&self, fields: &BTreeMap<String, String>) -> String {
        let keys_path = self.t.data_dir().join("sandbox/alipay-keys.json");
        let keys = std::fs::read_to_string(keys_path).expect("the sandbox's keys");
        let keys: Value = serde_json::from_str(&keys).expect("JSON keys");
        let pem = keys["alipay_private_key_pem"]
            .as_str()
            .expect("Alipay's key");
        let key = RsaPrivateKey::from_text(pem).expect("Alipay's private key");
        let mut fields = fields.clone();
        let sign = sign_rsa2(&key, &notify_content(&fields));
        fields.insert("sign_type".into(), "RSA2".into());
        fields.insert("sign".into(), sign);
        form(&fields)
    }

    /// POSTs a notification to the app's `/callback/alipay/pay`; the status and the body.
    pub async fn post_callback(&self, body: &str) -> (u16, String) {
        let answer = (self.http)
            .post(format!("{}/callback/alipay/pay", self.t.base_url))
            .header(
                "Content-Type",
                "application/x-www-form-urlencoded;charset=utf-8",
            )
            .body(body.to_owned())
            .send()
            .await
            .expect("the app answers");
        let status = answer.status().as_u16();
        (status, answer.text().await.expect("a body"))
    }

    /// One round of the status poller, after the clock moved `advance_ms`.
    pub async fn step_jobs_after(&self, advance_ms: i64) {
        self.clock.advance_ms(advance_ms);
        poll_step(&self.t.app, &self.jobs).await.expect("poll step");
    }

    pub fn notifier(&self) -> Notifier {
        Notifier::new(self.t.app.clone(), NotifierSettings::default()).expect("a notifier")
    }

    /// The kinds of the merchant notifications written for the order, oldest first.
    pub async fn notification_kinds(&self, trade_no: &TradeNo) -> Vec<String> {
        let all = self.t.store().notifications_for_trade(trade_no).await;
        let all = all.expect("read notifications");
        all.into_iter().map(|n| n.kind).collect()
    }

    /// The app's count of Alipay callbacks with `verdict` (`accepted`, `refused`), from
    /// `/metrics`. The recorder is shared by every test in the binary: compare counts.
    pub async fn callbacks_counted(&self, verdict: &str) -> f64 {
        let text = (self.http.get(format!("{}/metrics", self.t.base_url)))
            .send()
            .await
            .expect("metrics answer")
            .text()
            .await
            .expect("metrics text");
        let label = format!("verdict=\"{verdict}\"");
        text.lines()
            .filter(|line| line.starts_with("paygate_channel_callbacks_total{"))
            .filter(|line| line.contains(&label) && line.contains("channel=\"alipay\""))
            .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
            .sum()
    }
}

/// Form-encodes `fields` (`k=v&...`, percent-encoded).
fn form(fields: &BTreeMap<String, String>) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.extend_pairs(fields);
    form.finish()
}
