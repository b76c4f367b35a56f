//! A stand-in for WeChat Pay's v3 server on loopback: it checks every request's
//! `Authorization` with the merchant's public key exactly as WeChat Pay does (answering
//! `401 SIGN_ERROR` otherwise) and signs its answers with a platform key, or deliberately not.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

use paygate_channels::wechat::v3_auth::{response_message, seal_resource, Authorization, Request};
use paygate_channels::wechat::{PlatformKey, WechatConfig, WechatPay};
use paygate_domain::sign::{RsaPrivateKey, SignKey, VerifyKey};
use paygate_domain::{Amount, Currency, Money, RefundNo, TradeNo};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Respond, ResponseTemplate};

pub const MCHID: &str = "1900000001";
pub const APPID: &str = "wxd678efh567hg6787";
pub const MERCHANT_SERIAL: &str = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1";
pub const PUB_KEY_ID: &str = "PUB_KEY_ID_0119000000012026112900000000000001";
pub const CERT_SERIAL: &str = "7132D72A03E93CDDF8C03BBD1F37EEDF2D2B6B2C";
pub const APIV3_KEY: &str = "a7cde1ZJB1kG2e7VfTs3jQzaAKdsM8ox";
pub const NOTIFY_BASE: &str = "https://gw.example/callback/wechat";
pub const TRADE_NO: &str = "P2026112900000001";
pub const REFUND_NO: &str = "R2026112900000001";
pub const TRANSACTION_ID: &str = "4200002620202611290000000001";
pub const HTTP_TIMEOUT_MS: u64 = 2_000;

/// The wechatpay-go signer test key serves as the merchant's key; the platform's is made once.
pub fn merchant_key() -> RsaPrivateKey {
    RsaPrivateKey::from_text(include_str!("../vectors/wechatpay-go-signer-test-key.pem")).unwrap()
}

pub fn platform_key() -> RsaPrivateKey {
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

pub fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// How WeChat Pay names its signing key to this merchant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    PublicKeyId,
    CertificateSerial,
}

impl Mode {
    pub fn serial(self) -> &'static str {
        match self {
            Mode::PublicKeyId => PUB_KEY_ID,
            Mode::CertificateSerial => CERT_SERIAL,
        }
    }

    fn platform(self) -> PlatformKey {
        let key = platform_key().public_key();
        match self {
            Mode::PublicKeyId => PlatformKey::PublicKey {
                id: PUB_KEY_ID.into(),
                key,
            },
            Mode::CertificateSerial => PlatformKey::Certificates(vec![(CERT_SERIAL.into(), key)]),
        }
    }
}

pub fn config(base_url: &str, modes: &[Mode]) -> WechatConfig {
    WechatConfig {
        base_url: base_url.into(),
        mchid: MCHID.into(),
        appid: APPID.into(),
        merchant_serial_no: MERCHANT_SERIAL.into(),
        merchant_private_key: merchant_key(),
        apiv3_key: APIV3_KEY.into(),
        platform: modes.iter().map(|m| m.platform()).collect(),
        v2_key: None,
        merchant_certificate_pem: None,
        notify_base_url: NOTIFY_BASE.into(),
        http_timeout_ms: HTTP_TIMEOUT_MS,
    }
}

/// How an answer is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    Good,
    /// Signed, then the body changed on the way.
    Tampered,
    Unsigned,
    /// Signed by a key whose serial the merchant does not know.
    UnknownSerial,
    /// Signed ten minutes ago.
    Stale,
}

/// `Wechatpay-*` headers over `body`, signed by the platform key.
pub fn signed_headers(serial: &str, timestamp: i64, body: &str) -> BTreeMap<String, String> {
    let nonce = "fdasflkja484w";
    let message = response_message(timestamp, nonce, body);
    let signature = SignKey::Rsa2(platform_key()).sign_string(&message).unwrap();
    BTreeMap::from([
        ("wechatpay-serial".into(), serial.into()),
        ("wechatpay-timestamp".into(), timestamp.to_string()),
        ("wechatpay-nonce".into(), nonce.into()),
        ("wechatpay-signature".into(), signature),
        (
            "wechatpay-signature-type".into(),
            "WECHATPAY2-SHA256-RSA2048".into(),
        ),
    ])
}

struct Answer {
    serial: &'static str,
    status: u16,
    body: String,
    signing: Signing,
    delay_ms: u64,
}

impl Answer {
    fn template(&self, status: u16, body: &str, signing: Signing) -> ResponseTemplate {
        let (serial, timestamp) = match signing {
            Signing::UnknownSerial => ("PUB_KEY_ID_NOT_OURS", now_secs()),
            Signing::Stale => (self.serial, now_secs() - 600),
            _ => (self.serial, now_secs()),
        };
        let mut template = ResponseTemplate::new(status)
            .set_delay(Duration::from_millis(self.delay_ms))
            .insert_header("content-type", "application/json");
        if signing != Signing::Unsigned {
            for (name, value) in signed_headers(serial, timestamp, body) {
                template = template.insert_header(name.as_str(), value.as_str());
            }
        }
        let sent = match signing {
            Signing::Tampered => format!("{body} "),
            _ => body.to_owned(),
        };
        template.set_body_string(sent)
    }
}

impl Respond for Answer {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let url = match request.url.query() {
            Some(query) => format!("{}?{query}", request.url.path()),
            None => request.url.path().to_owned(),
        };
        let body = String::from_utf8(request.body.clone()).unwrap_or_default();
        let merchant = VerifyKey::Rsa2(merchant_key().public_key());
        let signed_by_merchant = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(Authorization::parse)
            .filter(|auth| auth.mchid == MCHID && auth.serial_no == MERCHANT_SERIAL)
            .filter(|auth| now_secs().abs_diff(auth.timestamp) <= 300)
            .is_some_and(|auth| {
                let request = Request {
                    method: request.method.as_str(),
                    url: &url,
                    body: &body,
                };
                auth.verify(&merchant, &request).is_ok()
            });
        if !signed_by_merchant {
            let error = json!({"code": "SIGN_ERROR", "message": "签名错误"}).to_string();
            return self.template(401, &error, Signing::Good);
        }
        self.template(self.status, &self.body, self.signing)
    }
}

pub struct Fixture {
    pub server: MockServer,
    pub pay: WechatPay,
    pub mode: Mode,
}

impl Fixture {
    pub async fn new(mode: Mode) -> Fixture {
        Fixture::with_keys(&[mode], mode).await
    }

    /// The adapter knows the keys of `known`; the server signs as `mode`.
    pub async fn with_keys(known: &[Mode], mode: Mode) -> Fixture {
        let server = MockServer::start().await;
        let pay = WechatPay::new(config(&server.uri(), known)).unwrap();
        Fixture { server, pay, mode }
    }

    /// WeChat Pay answers `verb path` (the path without its query) with `status` and `body`.
    pub async fn answer(&self, verb: &str, at: &str, status: u16, body: Value, signing: Signing) {
        let text = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        self.answer_text(verb, at, status, text, signing, 0).await;
    }

    pub async fn answer_text(
        &self,
        verb: &str,
        at: &str,
        status: u16,
        body: String,
        signing: Signing,
        delay_ms: u64,
    ) {
        let answer = Answer {
            serial: self.mode.serial(),
            status,
            body,
            signing,
            delay_ms,
        };
        Mock::given(method(verb))
            .and(path(at))
            .respond_with(answer)
            .mount(&self.server)
            .await;
    }

    /// The one request WeChat Pay received: its path with query, headers and JSON body.
    pub async fn only_request(&self) -> (String, BTreeMap<String, String>, Value) {
        let requests = self.server.received_requests().await.unwrap();
        assert_eq!(requests.len(), 1, "exactly one call");
        let request = &requests[0];
        let url = match request.url.query() {
            Some(query) => format!("{}?{query}", request.url.path()),
            None => request.url.path().to_owned(),
        };
        let headers = request
            .headers
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
            .collect();
        let body = if request.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&request.body).unwrap()
        };
        (url, headers, body)
    }
}

/// A callback as WeChat Pay sends it: the resource sealed with the APIv3 key, the envelope
/// signed by the platform key at `timestamp`.
pub fn callback(
    event_type: &str,
    original_type: &str,
    resource: &Value,
    serial: &str,
    timestamp: i64,
) -> (BTreeMap<String, String>, String) {
    let nonce = "fR8LPFMGfmTk";
    let ciphertext = seal_resource(APIV3_KEY, nonce, original_type, &resource.to_string()).unwrap();
    let body = json!({
        "id": "EV-2018022511223320873",
        "create_time": "2026-11-29T20:00:05+08:00",
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": "支付成功",
        "resource": {
            "original_type": original_type,
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": ciphertext,
            "associated_data": original_type,
            "nonce": nonce
        }
    })
    .to_string();
    (signed_headers(serial, timestamp, &body), body)
}
