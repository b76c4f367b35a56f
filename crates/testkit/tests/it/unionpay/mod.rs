//! UnionPay end to end through the merchant API against the in-process sandbox (issue #9,
//! acceptance 1 and 5): every pay type from create to refund, close and void, and the faults
//! the channel throws at us.
//!
//! `scenarios` walks each pay type through its life; `closing` covers close, void and the pay
//! code the payer never confirms; `faults` covers timeouts and notifications that are forged,
//! replayed, wrong or repeated. This file holds the scene and the sandbox's side: the payer
//! simulator, faults, UnionPay's own view of a trade (through the adapter's query) and
//! notifications signed with UnionPay's key.

mod closing;
mod faults;
mod scenarios;

use paygate_app::jobs::{poll_step, JobSettings};
use paygate_app::notify::{Notifier, NotifierSettings};
use paygate_app::ManualClock;
use paygate_channels::unionpay::{sign, wire, UnionPay, UnionpayConfig};
use paygate_channels::{Channel, RefundOutcome, TradeState};
use paygate_client::{CreateOrder, OrderRef, QueryOrder};
use paygate_domain::sign::RsaPrivateKey;
use paygate_domain::{AuthCode, OrderStatus, OutTradeNo, PayType, RefundNo, TradeNo};
use paygate_sandbox::{UnionpayCredentials, UnionpaySandboxConfig};
use paygate_testkit::{spawn_app_with, DbBackend, TestApp, TestOptions};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::support::yuan;

pub const SECOND_MS: i64 = 1_000;
/// How long a test waits for something the sandbox does on its own (a notification).
const SETTLE_WAIT_MS_MAX: u64 = 10_000;
/// A UnionPay pay code: 19 digits starting 62.
pub const PAY_CODE: &str = "6225000000000000001";
/// The sandbox's file holding UnionPay's own signing key (next to `unionpay.json`).
const UNIONPAY_KEY_FILE: &str = "sandbox/unionpay-sign-private-key.pem";

pub struct Scene {
    pub t: TestApp,
    pub clock: Arc<ManualClock>,
    pub unionpay: UnionpayCredentials,
    /// The adapter configured as the app's, for UnionPay's own view of a trade.
    pub channel: UnionPay,
    /// The sandbox's origin, where the payer simulator and faults live.
    pub base_url: String,
    pub jobs: JobSettings,
    http: reqwest::Client,
}

/// The app with the UnionPay sandbox in process, at a clock the test moves. Notifications are
/// retried after 200 ms, 200 ms and 500 ms.
pub async fn scene(backend: DbBackend) -> Scene {
    let (options, clock) = TestOptions::with_manual_clock();
    let options = TestOptions {
        unionpay_sandbox: Some(UnionpaySandboxConfig {
            callback_delays_ms: vec![200, 200, 500],
            ..UnionpaySandboxConfig::default()
        }),
        ..options
    };
    let t = spawn_app_with(backend, options).await;
    let unionpay = t.unionpay.clone().expect("the UnionPay sandbox runs");
    let front = reqwest::Url::parse(&unionpay.front_url).expect("front_url is a URL");
    let base_url = front.origin().ascii_serialization();
    let channel = UnionPay::new(UnionpayConfig {
        front_url: unionpay.front_url.clone(),
        back_url: unionpay.back_url.clone(),
        app_url: unionpay.app_url.clone(),
        query_url: unionpay.query_url.clone(),
        file_url: unionpay.file_url.clone(),
        mer_id: unionpay.mer_id.clone(),
        sign_key: RsaPrivateKey::from_text(&unionpay.sign_key_pem).expect("merchant key"),
        cert_id: unionpay.cert_id.clone(),
        verify_cert_pem: unionpay.verify_cert_pem.clone(),
        notify_url: format!("{}/callback/unionpay/pay", t.base_url),
        http_timeout_ms: 2_000,
    })
    .expect("the adapter's configuration");
    Scene {
        t,
        clock,
        unionpay,
        channel,
        base_url,
        jobs: JobSettings::default(),
        http: reqwest::Client::new(),
    }
}

/// A create of `pay_type` with what its scenario requires (a pay code for micropay).
pub fn unionpay_order(
    pay_type: PayType,
    number: &str,
    amount: &str,
    notify_url: &str,
) -> CreateOrder {
    // UnionPay's orderDesc takes at most 32 characters.
    let mut create = CreateOrder::new(
        OutTradeNo::parse(number).expect("a valid out_trade_no"),
        yuan(amount),
        "green tea",
        notify_url,
    );
    create.pay_type = pay_type;
    if pay_type == PayType::UnionpayMicropay {
        create.auth_code = Some(AuthCode::parse(PAY_CODE).expect("a UnionPay pay code"));
    }
    create
}

impl Scene {
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

    /// The payer simulator: `action` on the trade our `trade_no` opened at UnionPay.
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
        let answer = (self.http.post(format!("{}{path}", self.base_url)))
            .json(&body)
            .send()
            .await
            .expect("the sandbox answers");
        let status = answer.status().as_u16();
        (status, answer.json().await.unwrap_or(Value::Null))
    }

    /// The payer's browser: posts the signed form to its action (UnionPay's front endpoint),
    /// which opens the trade and shows the cashier page; then presses its "pay" button.
    pub async fn browser_pays(&self, action: &str, fields: &BTreeMap<String, String>) {
        let page = (self.http.post(action))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(wire::encode_form(fields))
            .send()
            .await
            .expect("the front endpoint answers");
        assert_eq!(page.status().as_u16(), 200);
        let page = page.text().await.expect("the cashier page");
        let order_id = &fields["orderId"];
        let button = format!("action=\"/sandbox/front/{order_id}/pay\"");
        assert!(page.contains(&button), "{page}");
        let paid = (self
            .http
            .post(format!("{}/sandbox/front/{order_id}/pay", self.base_url)))
        .send()
        .await
        .expect("the cashier answers");
        assert_eq!(paid.status().as_u16(), 200);
    }

    /// UnionPay's own view of the trade, as its query answers the adapter.
    pub async fn unionpay_trade(&self, trade_no: &TradeNo) -> TradeState {
        self.channel
            .query(trade_no)
            .await
            .expect("UnionPay's query")
    }

    /// UnionPay's own view of a refund, as its query answers the adapter.
    pub async fn unionpay_refund(&self, refund_no: &RefundNo, trade_no: &TradeNo) -> RefundOutcome {
        let found = self.channel.query_refund(refund_no, trade_no).await;
        found.expect("UnionPay's refund query")
    }

    /// The `queryId` UnionPay gave the paid trade.
    pub async fn query_id(&self, trade_no: &TradeNo) -> String {
        match self.unionpay_trade(trade_no).await {
            TradeState::Paid {
                channel_trade_no, ..
            } => channel_trade_no,
            other => panic!("{trade_no} is {other:?} at UnionPay"),
        }
    }

    /// `fields` as UnionPay sends a notification: its certificate added, signed with its key.
    pub fn signed_by_unionpay(&self, mut fields: BTreeMap<String, String>) -> String {
        let pem_path = self.t.data_dir().join(UNIONPAY_KEY_FILE);
        let pem = std::fs::read_to_string(pem_path).expect("UnionPay's private key");
        let key = RsaPrivateKey::from_text(&pem).expect("UnionPay's key");
        fields.insert(
            "signPubKeyCert".into(),
            self.unionpay.verify_cert_pem.clone(),
        );
        fields.remove(sign::SIGNATURE);
        let signature = sign::sign(&key, &fields).expect("sign the notification");
        fields.insert(sign::SIGNATURE.into(), signature);
        wire::encode_form(&fields)
    }

    /// POSTs a notification to the app's `/callback/unionpay/pay`; the status and the body.
    pub async fn post_callback(&self, body: &str) -> (u16, String) {
        let answer = (self
            .http
            .post(format!("{}/callback/unionpay/pay", self.t.base_url)))
        .header(
            "Content-Type",
            "application/x-www-form-urlencoded;charset=UTF-8",
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

    /// The app's count of UnionPay callbacks with `verdict` (`accepted`, `refused`), from
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
            .filter(|line| line.contains(&label) && line.contains("channel=\"unionpay\""))
            .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
            .sum()
    }
}
