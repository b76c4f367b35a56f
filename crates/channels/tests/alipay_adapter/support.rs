//! A stand-in for Alipay's `/gateway.do` on loopback: it verifies every request's `sign` with
//! the app's public key (answering `isv.invalid-signature` unsigned otherwise) and answers the
//! method it is told to with a `..._response` signed by Alipay's key, or deliberately not.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

use paygate_channels::alipay::{sign, AlipayConfig, AlipayKey, AlipayPay};
use paygate_domain::sign::{RsaPrivateKey, RsaPublicKey};
use paygate_domain::{Amount, Currency, Money, RefundNo, TradeNo};
use serde_json::{json, Value};
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

pub const APP_ID: &str = "2021000122671080";
pub const SELLER_ID: &str = "2088102147948060";
pub const NOTIFY_URL: &str = "https://gw.example/callback/alipay/pay";
pub const TRADE_NO: &str = "P2026112900000001";
pub const REFUND_NO: &str = "R2026112900000001";
pub const ALIPAY_TRADE_NO: &str = "2026112922001412345678901234";
pub const GATEWAY_PATH: &str = "/gateway.do";
pub const HTTP_TIMEOUT_MS: u64 = 2_000;

/// The official Node.js SDK's test app key serves as the app's key; Alipay's is made once.
pub fn app_key() -> RsaPrivateKey {
    RsaPrivateKey::from_text(include_str!(
        "../vectors/alipay-sdk-nodejs/app-private-key-pkcs8.pem"
    ))
    .unwrap()
}

pub fn alipay_key() -> RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| RsaPrivateKey::generate().unwrap())
        .clone()
}

pub fn other_key() -> RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| RsaPrivateKey::generate().unwrap())
        .clone()
}

pub fn cny(fen: i64) -> Money {
    Money::new(Amount::from_minor(fen).unwrap(), Currency::Cny)
}

pub fn trade_no() -> TradeNo {
    TradeNo::parse(TRADE_NO).unwrap()
}

pub fn refund_no() -> RefundNo {
    RefundNo::parse(REFUND_NO).unwrap()
}

pub fn config(gateway_url: &str) -> AlipayConfig {
    AlipayConfig {
        gateway_url: gateway_url.to_owned(),
        app_id: APP_ID.into(),
        seller_id: Some(SELLER_ID.into()),
        app_private_key: app_key(),
        alipay_key: AlipayKey::PublicKey(alipay_key().public_key()),
        notify_url: NOTIFY_URL.into(),
        http_timeout_ms: HTTP_TIMEOUT_MS,
    }
}

/// How the stand-in signs an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    Alipay,
    /// Signed, but by a key that is not Alipay's.
    Forged,
    Unsigned,
}

/// One canned answer to one method.
struct Answer {
    method: String,
    content: String,
    signing: Signing,
    /// Certificate mode: the `alipay_cert_sn` the answer names.
    cert_sn: Option<String>,
    delay_ms: u64,
}

/// The params of a form body.
pub fn form(body: &[u8]) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// Whether a request's `sign` verifies with the app's public key, as Alipay checks it.
pub fn request_verifies(params: &BTreeMap<String, String>) -> bool {
    let content = sign::request_content(params);
    let public: RsaPublicKey = app_key().public_key();
    params
        .get("sign")
        .is_some_and(|s| sign::verify_rsa2(&public, &content, s))
}

pub fn signed_body(method: &str, content: &str, signing: Signing, cert_sn: Option<&str>) -> String {
    let key = format!("{}_response", method.replace('.', "_"));
    let signature = match signing {
        Signing::Alipay => Some(sign::sign_rsa2(&alipay_key(), content)),
        Signing::Forged => Some(sign::sign_rsa2(&other_key(), content)),
        Signing::Unsigned => None,
    };
    let mut body = format!("{{\"{key}\":{content}");
    if let Some(sn) = cert_sn {
        body.push_str(&format!(",\"alipay_cert_sn\":\"{sn}\""));
    }
    if let Some(signature) = signature {
        body.push_str(&format!(",\"sign\":\"{signature}\""));
    }
    body.push('}');
    body
}

impl Respond for Answer {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let params = form(&request.body);
        let body = if request_verifies(&params) {
            signed_body(
                &self.method,
                &self.content,
                self.signing,
                self.cert_sn.as_deref(),
            )
        } else {
            let refused = json!({"code": "40002", "msg": "Invalid Arguments",
                "sub_code": "isv.invalid-signature", "sub_msg": "验签出错"});
            signed_body(&self.method, &refused.to_string(), Signing::Unsigned, None)
        };
        ResponseTemplate::new(200)
            .set_delay(Duration::from_millis(self.delay_ms))
            .insert_header("content-type", "text/html;charset=utf-8")
            .set_body_string(body)
    }
}

pub struct Fixture {
    pub server: MockServer,
    pub pay: AlipayPay,
}

impl Fixture {
    pub async fn new() -> Fixture {
        let server = MockServer::start().await;
        let pay = AlipayPay::new(config(&format!("{}{GATEWAY_PATH}", server.uri()))).unwrap();
        Fixture { server, pay }
    }

    pub async fn with_config(edit: impl FnOnce(&mut AlipayConfig)) -> Fixture {
        let server = MockServer::start().await;
        let mut config = config(&format!("{}{GATEWAY_PATH}", server.uri()));
        edit(&mut config);
        let pay = AlipayPay::new(config).unwrap();
        Fixture { server, pay }
    }

    pub fn gateway_url(&self) -> String {
        format!("{}{GATEWAY_PATH}", self.server.uri())
    }

    /// Answers `method` with `content` (the `..._response` value) signed as `signing` says.
    pub async fn answer(&self, method_name: &str, content: Value, signing: Signing) {
        self.answer_with(method_name, content, signing, None, 0)
            .await;
    }

    pub async fn answer_with(
        &self,
        method_name: &str,
        content: Value,
        signing: Signing,
        cert_sn: Option<&str>,
        delay_ms: u64,
    ) {
        Mock::given(method("POST"))
            .and(path(GATEWAY_PATH))
            .and(body_string_contains(format!("method={method_name}&")))
            .respond_with(Answer {
                method: method_name.to_owned(),
                content: content.to_string(),
                signing,
                cert_sn: cert_sn.map(str::to_owned),
                delay_ms,
            })
            .mount(&self.server)
            .await;
    }

    /// Answers the HTTP status and raw body given, whatever the request.
    pub async fn answer_raw(&self, status: u16, body: &str) {
        Mock::given(method("POST"))
            .and(path(GATEWAY_PATH))
            .respond_with(ResponseTemplate::new(status).set_body_string(body))
            .mount(&self.server)
            .await;
    }

    /// The one request sent: its params (signature checked) and its `biz_content`.
    pub async fn only_request(&self) -> (BTreeMap<String, String>, Value) {
        let requests = self.server.received_requests().await.unwrap();
        assert_eq!(requests.len(), 1, "exactly one request");
        let request = &requests[0];
        assert_eq!(
            request.headers.get("content-type").unwrap(),
            "application/x-www-form-urlencoded;charset=utf-8"
        );
        let params = form(&request.body);
        assert!(
            request_verifies(&params),
            "the request is signed by the app"
        );
        let biz = serde_json::from_str(&params["biz_content"]).unwrap();
        (params, biz)
    }

    /// The gateway request among `count` requests sent (the others are downloads).
    pub async fn only_request_of(&self, downloads: usize) -> (BTreeMap<String, String>, Value) {
        let requests = self.server.received_requests().await.unwrap();
        assert_eq!(requests.len(), downloads + 1);
        let request = requests
            .iter()
            .find(|r| r.url.path() == GATEWAY_PATH)
            .expect("a gateway request");
        let params = form(&request.body);
        assert!(
            request_verifies(&params),
            "the request is signed by the app"
        );
        let biz = serde_json::from_str(&params["biz_content"]).unwrap();
        (params, biz)
    }

    pub async fn requests_sent(&self) -> usize {
        self.server.received_requests().await.unwrap().len()
    }
}

/// The fields of a notification Alipay sends after payment, signed with `key`.
pub fn notification(
    extra: &[(&str, &str)],
    key: &RsaPrivateKey,
) -> (BTreeMap<String, String>, Vec<u8>) {
    let mut fields: BTreeMap<String, String> = [
        ("notify_time", "2026-11-29 20:00:05"),
        ("notify_type", "trade_status_sync"),
        ("notify_id", "2026112900222200005000000000000001"),
        ("app_id", APP_ID),
        ("charset", "utf-8"),
        ("version", "1.0"),
        ("sign_type", "RSA2"),
        ("trade_no", ALIPAY_TRADE_NO),
        ("out_trade_no", TRADE_NO),
        ("buyer_id", "2088102177846880"),
        ("seller_id", SELLER_ID),
        ("trade_status", "TRADE_SUCCESS"),
        ("total_amount", "88.88"),
        ("receipt_amount", "88.88"),
        ("buyer_pay_amount", "88.88"),
        ("subject", "绿茶 & green tea"),
        ("gmt_create", "2026-11-29 19:59:50"),
        ("gmt_payment", "2026-11-29 20:00:00"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (k, v) in extra {
        fields.insert((*k).to_owned(), (*v).to_owned());
    }
    let signature = sign::sign_rsa2(key, &sign::notify_content(&fields));
    fields.insert("sign".into(), signature);
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&fields)
        .finish()
        .into_bytes();
    (fields, body)
}

/// 2026-11-29 20:00:00 in China.
pub const PAID_AT_MS: i64 = 1_795_953_600_000;
