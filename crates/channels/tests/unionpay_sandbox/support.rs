//! The world every test runs in: the sandbox on loopback, the adapter configured from the
//! credentials file, and a receiver standing for our callback endpoint.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use paygate_channels::unionpay::{UnionPay, UnionpayConfig};
use paygate_domain::sign::RsaPrivateKey;
use paygate_domain::Amount;
use paygate_sandbox::{start_unionpay, RunningUnionpaySandbox, UnionpaySandboxConfig};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// What every test file names.
pub use chrono::NaiveDate;
pub use paygate_channels::unionpay::{sign, wire};
pub use paygate_channels::{
    BillLineKind, CallbackEvent, CallbackRefusal, CallbackRequest, Channel, ChannelError,
    DeclineReason, PayOutcome, PayRequest, Payer, PrepareRequest, Prepared, RefundAmount,
    RefundOutcome, RefundRequest, Scenario, TradeState,
};
pub use paygate_domain::{Currency, MerchantId, Money, RefundNo, TradeNo, UnionpayPayCode};
pub use serde_json::{json, Value};

pub const PAY_CODE: &str = "6225000000000000001";

pub struct World {
    pub sandbox: RunningUnionpaySandbox,
    pub pay: UnionPay,
    /// Where the sandbox posts notifications: it records them and answers 200, as we would.
    pub receiver: MockServer,
    pub base_url: String,
    _data_dir: tempfile::TempDir,
}

pub async fn world() -> World {
    let data_dir = tempfile::tempdir().unwrap();
    let sandbox = start_unionpay(UnionpaySandboxConfig {
        data_dir: data_dir.path().to_path_buf(),
        callback_delays_ms: vec![100, 100],
        ..UnionpaySandboxConfig::default()
    })
    .await
    .unwrap();
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&receiver)
        .await;
    // The credentials as a gateway would read them: from the file.
    let text = std::fs::read_to_string(&sandbox.credentials_path).unwrap();
    let c: Value = serde_json::from_str(&text).unwrap();
    let field = |name: &str| c[name].as_str().unwrap().to_owned();
    let config = UnionpayConfig {
        front_url: field("front_url"),
        back_url: field("back_url"),
        app_url: field("app_url"),
        query_url: field("query_url"),
        file_url: field("file_url"),
        mer_id: field("mer_id"),
        sign_key: RsaPrivateKey::from_text(&field("sign_key_pem")).unwrap(),
        cert_id: field("cert_id"),
        verify_cert_pem: field("verify_cert_pem"),
        notify_url: format!("{}/callback/unionpay/pay", receiver.uri()),
        http_timeout_ms: 1_000,
    };
    World {
        base_url: format!("http://{}", sandbox.local_addr),
        pay: UnionPay::new(config).unwrap(),
        sandbox,
        receiver,
        _data_dir: data_dir,
    }
}

pub fn cny(fen: i64) -> Money {
    Money::new(Amount::from_minor(fen).unwrap(), Currency::Cny)
}

/// A trade number made now, as the core mints them.
pub fn trade_no() -> TradeNo {
    TradeNo::mint(chrono::Utc::now().timestamp_millis())
}

/// A trade number whose embedded creation time is `utc` (`yyyyMMddHHmmss`): UnionPay sees it
/// sent at that moment.
pub fn trade_no_at(utc: &str) -> TradeNo {
    TradeNo::parse(&format!("P{utc}000{}", &trade_no().as_str()[18..])).unwrap()
}

pub fn refund_no_at(utc: &str) -> RefundNo {
    RefundNo::parse(&format!("R{utc}000abcdefghij")).unwrap()
}

pub fn order(trade_no: &TradeNo, scenario: Scenario, return_url: Option<&str>) -> PrepareRequest {
    PrepareRequest {
        trade_no: trade_no.clone(),
        merchant_id: MerchantId::parse("M100000000001").unwrap(),
        money: cny(1234),
        subject: "绿茶 green tea".into(),
        scenario,
        expire_at_ms: chrono::Utc::now().timestamp_millis() + 30 * 60 * 1000,
        client_ip: None,
        notify_url: "unused: UnionPay notifies the configured backUrl".into(),
        return_url: return_url.map(str::to_owned),
        payer_options: Default::default(),
    }
}

pub fn pay_request(trade_no: &TradeNo, fen: i64) -> PayRequest {
    PayRequest {
        trade_no: trade_no.clone(),
        merchant_id: MerchantId::parse("M100000000001").unwrap(),
        money: cny(fen),
        subject: "绿茶".into(),
        payer: Payer::UnionpayAuthCode(UnionpayPayCode::parse(PAY_CODE).unwrap()),
        client_ip: None,
    }
}

pub fn refund_request(trade_no: &TradeNo, refund_no: &RefundNo, fen: i64) -> RefundRequest {
    RefundRequest {
        refund_no: refund_no.clone(),
        trade_no: trade_no.clone(),
        refund: cny(fen),
        total: cny(1234),
        reason: String::new(),
    }
}

impl World {
    pub async fn post_json(&self, path: &str, body: Value) -> Value {
        let answer = reqwest::Client::new()
            .post(format!("{}{path}", self.base_url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{body}: {}", answer.status());
        answer.json().await.unwrap()
    }

    pub async fn payer(&self, act: Value) -> Value {
        self.post_json("/sandbox/payer", act).await
    }

    /// The bodies of every notification received so far, as forms.
    pub async fn notifications(&self) -> Vec<Vec<u8>> {
        let received = self.receiver.received_requests().await.unwrap();
        received.into_iter().map(|r| r.body).collect()
    }

    /// The `n`-th notification whose `orderId` is `order_id`, waited for.
    pub async fn notification(&self, order_id: &str, n: usize) -> Vec<u8> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let found = self
                .notifications()
                .await
                .into_iter()
                .filter(|body| {
                    wire::parse_form(body).get("orderId").map(String::as_str) == Some(order_id)
                })
                .nth(n);
            if let Some(body) = found {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "no notification {n} for {order_id}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn read(&self, body: &[u8]) -> Result<CallbackEvent, CallbackRefusal> {
        self.pay.parse_callback(&CallbackRequest {
            kind: "pay",
            headers: &BTreeMap::new(),
            body,
            now_ms: chrono::Utc::now().timestamp_millis(),
        })
    }

    pub async fn paid_by_code(&self, trade_no: &TradeNo, fen: i64) -> String {
        match self.pay.pay(&pay_request(trade_no, fen)).await.unwrap() {
            PayOutcome::Paid {
                channel_trade_no, ..
            } => channel_trade_no,
            other => panic!("{trade_no} not paid: {other:?}"),
        }
    }
}

pub async fn query_id_of(w: &World, trade_no: &TradeNo) -> String {
    match w.pay.query(trade_no).await.unwrap() {
        TradeState::Paid {
            channel_trade_no, ..
        } => channel_trade_no,
        other => panic!("{trade_no} is {other:?}"),
    }
}
