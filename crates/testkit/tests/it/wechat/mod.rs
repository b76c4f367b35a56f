//! WeChat Pay end to end through the merchant API against the in-process sandbox (issue #8,
//! acceptance 1, 4, 5 and 6): every scenario from create to refund, the faults a channel
//! throws at us, the channel's rules answered before any call, and micropay's wait-or-reverse.
//!
//! `scenarios` walks each pay type through its life; `faults` covers timeouts and callbacks that
//! are forged, stale, wrong or repeated; `rules` the refusals made before the channel is asked;
//! `micropay` the payer still confirming. This file holds the scene and the sandbox's side.

mod faults;
mod micropay;
mod rules;
mod scenarios;

use paygate_app::jobs::{poll_step, JobSettings};
use paygate_app::notify::{Notifier, NotifierSettings};
use paygate_app::ManualClock;
use paygate_channels::wechat::v3_auth::{response_message, Authorization, Request};
use paygate_client::{CreateOrder, OrderRef, QueryOrder};
use paygate_domain::sign::{RsaPrivateKey, SignKey};
use paygate_domain::{AuthCode, OrderStatus, OutTradeNo, PayType, TradeNo};
use paygate_sandbox::{WechatCredentials, WechatSandboxConfig};
use paygate_testkit::{spawn_app_with, DbBackend, TestApp, TestOptions};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::support::yuan;

pub const SECOND_MS: i64 = 1_000;
pub const MINUTE_MS: i64 = 60 * SECOND_MS;
/// How long a test waits for something the sandbox does on its own (a callback, a refund).
const SETTLE_WAIT_MS_MAX: u64 = 10_000;
/// A pay code as WeChat issues them: 18 digits starting 10-15.
pub const AUTH_CODE: &str = "134567890123456789";

pub struct Scene {
    pub t: TestApp,
    pub clock: Arc<ManualClock>,
    pub wechat: WechatCredentials,
    pub jobs: JobSettings,
    http: reqwest::Client,
}

/// The app with the WeChat Pay sandbox in process, at a clock the test moves. Callbacks are
/// retried after 200 ms, 200 ms and 500 ms; refunds succeed 100 ms after they are asked.
pub async fn scene(backend: DbBackend) -> Scene {
    let (options, clock) = TestOptions::with_manual_clock();
    let options = TestOptions {
        wechat_sandbox: Some(WechatSandboxConfig {
            callback_delays_ms: vec![200, 200, 500],
            refund_delay_ms: 100,
            ..WechatSandboxConfig::default()
        }),
        ..options
    };
    let t = spawn_app_with(backend, options).await;
    let wechat = t.wechat.clone().expect("the WeChat Pay sandbox runs");
    Scene {
        t,
        clock,
        wechat,
        jobs: JobSettings::default(),
        http: reqwest::Client::new(),
    }
}

/// A create of `pay_type` with what its scenario requires (openid, client_ip, auth_code).
pub fn wechat_order(
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
        PayType::WechatJsapi => create.openid = Some("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into()),
        PayType::WechatH5 => create.client_ip = Some("203.0.113.7".parse().expect("an IP")),
        PayType::WechatMicropay => {
            create.auth_code = Some(AuthCode::parse(AUTH_CODE).expect("a WeChat pay code"));
            create.client_ip = Some("198.51.100.20".parse().expect("an IP"));
        }
        _ => {}
    }
    create
}

impl Scene {
    pub async fn order_status(&self, trade_no: &TradeNo) -> OrderStatus {
        self.query(trade_no).await.trade_status
    }

    /// The order's status as stored, for when the app's clock has left the wall clock (and
    /// signed requests) behind.
    pub async fn stored_status(&self, trade_no: &TradeNo) -> OrderStatus {
        let order = self
            .t
            .store()
            .get_order(trade_no)
            .await
            .expect("read order");
        order.expect("the order exists").status
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

    /// The payer simulator: `action` on the trade our `trade_no` opened at WeChat Pay.
    pub async fn payer(&self, trade_no: &TradeNo, action: &str) -> (u16, Value) {
        self.sandbox_post(
            "/sandbox/payer",
            json!({"out_trade_no": trade_no.as_str(), "action": action}),
        )
        .await
    }

    /// The payer simulator with any body (e.g. arranging how a pay code will answer).
    pub async fn sandbox_payer_raw(&self, body: Value) -> u16 {
        self.sandbox_post("/sandbox/payer", body).await.0
    }

    /// Arms a sandbox fault (`{"fault": ..., ...}`).
    pub async fn fault(&self, fault: Value) {
        let (status, body) = self.sandbox_post("/sandbox/faults", fault).await;
        assert_eq!(status, 201, "fault armed: {body}");
    }

    async fn sandbox_post(&self, path: &str, body: Value) -> (u16, Value) {
        let answer = (self.http.post(format!("{}{path}", self.wechat.base_url)))
            .json(&body)
            .send()
            .await
            .expect("the sandbox answers");
        let status = answer.status().as_u16();
        (status, answer.json().await.unwrap_or(Value::Null))
    }

    /// A signed v3 GET as any WeChat Pay client makes it; the status and the body's text.
    pub async fn sandbox_get(&self, path_and_query: &str) -> (u16, String) {
        let key = SignKey::Rsa2(
            RsaPrivateKey::from_text(&self.wechat.merchant_private_key_pem).expect("merchant key"),
        );
        let request = Request {
            method: "GET",
            url: path_and_query,
            body: "",
        };
        let auth = Authorization::sign(
            &key,
            &self.wechat.mchid,
            &self.wechat.merchant_serial_no,
            wall_clock_secs(),
            &uuid::Uuid::new_v4().simple().to_string(),
            &request,
        )
        .expect("sign the request");
        let answer = (self
            .http
            .get(format!("{}{path_and_query}", self.wechat.base_url)))
        .header("Authorization", auth.header_value())
        .header("Accept", "application/json")
        .send()
        .await
        .expect("the sandbox answers");
        let status = answer.status().as_u16();
        (status, answer.text().await.expect("a body"))
    }

    /// WeChat Pay's own view of the trade our `trade_no` opened: status and JSON.
    pub async fn wechat_trade(&self, trade_no: &TradeNo) -> (u16, Value) {
        let path = format!(
            "/v3/pay/transactions/out-trade-no/{trade_no}?mchid={}",
            self.wechat.mchid
        );
        let (status, text) = self.sandbox_get(&path).await;
        (status, serde_json::from_str(&text).expect("a JSON answer"))
    }

    /// WeChat Pay's view of a refund by its `out_refund_no` (our refund number).
    pub async fn wechat_refund(&self, out_refund_no: &str) -> (u16, Value) {
        let path = format!("/v3/refund/domestic/refunds/{out_refund_no}");
        let (status, text) = self.sandbox_get(&path).await;
        (status, serde_json::from_str(&text).expect("a JSON answer"))
    }

    /// A callback to the app signed with WeChat Pay's platform key at the wall clock's now.
    pub fn signed_callback(&self, body: &str) -> Vec<(&'static str, String)> {
        let pem_path = self
            .t
            .data_dir()
            .join("sandbox/wechat-platform-private-key.pem");
        let pem = std::fs::read_to_string(pem_path).expect("the platform's private key");
        let key = SignKey::Rsa2(RsaPrivateKey::from_text(&pem).expect("platform key"));
        let (timestamp, nonce) = (wall_clock_secs(), uuid::Uuid::new_v4().simple().to_string());
        let signature = key
            .sign_string(&response_message(timestamp, &nonce, body))
            .expect("sign the callback");
        vec![
            ("Wechatpay-Timestamp", timestamp.to_string()),
            ("Wechatpay-Nonce", nonce),
            ("Wechatpay-Signature", signature),
            (
                "Wechatpay-Serial",
                self.wechat.platform_public_key_id.clone(),
            ),
            (
                "Wechatpay-Signature-Type",
                "WECHATPAY2-SHA256-RSA2048".into(),
            ),
        ]
    }

    /// POSTs a callback to the app's `/callback/wechat/{kind}`; the status and the body.
    pub async fn post_callback(
        &self,
        kind: &str,
        headers: &[(&'static str, String)],
        body: &str,
    ) -> (u16, String) {
        let mut request = self
            .http
            .post(format!("{}/callback/wechat/{kind}", self.t.base_url))
            .header("Content-Type", "application/json")
            .body(body.to_owned());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let answer = request.send().await.expect("the app answers");
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

    /// The app's count of callbacks with `verdict` (`accepted`, `refused`), from `/metrics`.
    /// The recorder is shared by every test in the binary, so compare counts, never fix them.
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
            .filter(|line| line.contains(&label) && line.contains("channel=\"wechat\""))
            .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
            .sum()
    }
}

pub fn wall_clock_secs() -> i64 {
    let now = SystemTime::now().duration_since(UNIX_EPOCH);
    now.expect("after the epoch").as_secs() as i64
}
