//! The open API's plumbing: every request signed as the app, every answer checked against
//! Alipay's key before anything in it is believed. What cannot be trusted (no answer, a non-2xx,
//! a wrongly signed answer, an unsigned success, a `code` we do not know) is an unknown outcome,
//! never a refusal.

use std::collections::BTreeMap;
use std::time::Duration;

use paygate_domain::sign::RsaPrivateKey;
use reqwest::header;
use serde_json::{Map, Value};

use super::config::{AlipayConfig, AlipayKey, AlipayVerifier, ConfigError};
use super::mapping::{self, MappingError};
use super::sign;
use crate::ChannelError;

const USER_AGENT: &str = concat!("paygate/", env!("CARGO_PKG_VERSION"), " (Alipay open API)");
const CODE_SUCCESS: &str = "10000";
/// Service unavailable: the outcome is unknown.
const CODE_UNAVAILABLE: &str = "20000";
/// The codes Alipay refuses a request with (missing or invalid arguments, insufficient
/// permissions, business failure, ...). 10003 (the payer is confirming) is one too, for
/// `alipay.trade.pay` to read.
const CODES_REFUSED: [&str; 6] = ["10003", "40001", "40002", "40003", "40004", "40006"];

/// Whether a refusal came signed. Only a verified refusal may be read as a fact about a trade
/// (`ACQ.TRADE_NOT_EXIST`); an unsigned one is still a refusal of the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trust {
    Verified,
    Unsigned,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CallError {
    Unknown(String),
    Refused {
        code: String,
        sub_code: String,
        message: String,
        trust: Trust,
    },
}

impl CallError {
    /// Whether Alipay said, in a signed answer, exactly this `sub_code`.
    pub(crate) fn is_verified(&self, wanted: &str) -> bool {
        matches!(self, CallError::Refused { sub_code, trust: Trust::Verified, .. } if sub_code == wanted)
    }
}

impl From<CallError> for ChannelError {
    fn from(error: CallError) -> ChannelError {
        match error {
            CallError::Unknown(why) => ChannelError::Unknown(why),
            CallError::Refused {
                code,
                sub_code,
                message,
                ..
            } => {
                let code = if sub_code.is_empty() { code } else { sub_code };
                ChannelError::Rejected(format!("{code}: {message}"))
            }
        }
    }
}

/// A verified successful answer: the `..._response` object.
#[derive(Debug, Clone)]
pub(crate) struct Answer(Map<String, Value>);

impl Answer {
    /// A field as text, `None` when absent or empty.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    }

    pub(crate) fn require(&self, name: &'static str) -> Result<&str, ChannelError> {
        self.get(name)
            .ok_or_else(|| ChannelError::Unknown(format!("Alipay's answer has no {name}")))
    }
}

/// Whether a request carries our `notify_url` (the calls that create a trade).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Notify {
    Yes,
    No,
}

#[derive(Debug, Clone)]
pub(crate) struct Gateway {
    http: reqwest::Client,
    gateway_url: String,
    app_id: String,
    key: RsaPrivateKey,
    alipay: AlipayVerifier,
    /// `app_cert_sn` and `alipay_root_cert_sn`, in certificate mode.
    cert_sns: Option<(String, String)>,
    notify_url: String,
}

impl Gateway {
    pub(crate) fn new(
        config: &AlipayConfig,
        alipay: AlipayVerifier,
    ) -> Result<Gateway, ConfigError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.http_timeout_ms))
            .user_agent(USER_AGENT)
            .build()
            .map_err(|e| ConfigError::HttpClient(e.to_string()))?;
        let cert_sns = match &config.alipay_key {
            AlipayKey::PublicKey(_) => None,
            AlipayKey::Certificate {
                app_cert_sn,
                alipay_root_cert_sn,
                ..
            } => Some((app_cert_sn.clone(), alipay_root_cert_sn.clone())),
        };
        Ok(Gateway {
            http,
            gateway_url: config.gateway_url.clone(),
            app_id: config.app_id.clone(),
            key: config.app_private_key.clone(),
            alipay,
            cert_sns,
            notify_url: config.notify_url.clone(),
        })
    }

    pub(crate) fn alipay_key(&self) -> &paygate_domain::sign::RsaPublicKey {
        &self.alipay.key
    }

    /// The common parameters, `biz_content` and `sign` of one request.
    pub(crate) fn signed_params(
        &self,
        method: &str,
        biz_content: &Value,
        notify: Notify,
        return_url: Option<&str>,
    ) -> Result<BTreeMap<String, String>, ChannelError> {
        let timestamp = mapping::cst_time(chrono::Utc::now().timestamp_millis())
            .map_err(|e: MappingError| ChannelError::Unknown(e.to_string()))?;
        let mut params = BTreeMap::from([
            ("app_id".to_owned(), self.app_id.clone()),
            ("method".to_owned(), method.to_owned()),
            ("format".to_owned(), "JSON".to_owned()),
            ("charset".to_owned(), "utf-8".to_owned()),
            ("sign_type".to_owned(), "RSA2".to_owned()),
            ("timestamp".to_owned(), timestamp),
            ("version".to_owned(), "1.0".to_owned()),
            ("biz_content".to_owned(), biz_content.to_string()),
        ]);
        if notify == Notify::Yes {
            params.insert("notify_url".into(), self.notify_url.clone());
        }
        if let Some(url) = return_url {
            params.insert("return_url".into(), url.to_owned());
        }
        if let Some((app_cert_sn, root_cert_sn)) = &self.cert_sns {
            params.insert("app_cert_sn".into(), app_cert_sn.clone());
            params.insert("alipay_root_cert_sn".into(), root_cert_sn.clone());
        }
        let sign = sign::sign_rsa2(&self.key, &sign::request_content(&params));
        params.insert("sign".into(), sign);
        Ok(params)
    }

    /// The browser's address for a page Alipay serves (`wap.pay`, `page.pay`): the gateway
    /// with every signed parameter in the query.
    pub(crate) fn page_url(&self, params: &BTreeMap<String, String>) -> String {
        let separator = if self.gateway_url.contains('?') {
            '&'
        } else {
            '?'
        };
        format!("{}{separator}{}", self.gateway_url, encode(params))
    }

    /// One API call: the `..._response` object of a verified answer whose `code` is 10000.
    pub(crate) async fn call(
        &self,
        method: &str,
        biz_content: &Value,
        notify: Notify,
    ) -> Result<Answer, CallError> {
        let params = self
            .signed_params(method, biz_content, notify, None)
            .map_err(|e| CallError::Unknown(e.to_string()))?;
        let response = self
            .http
            .post(&self.gateway_url)
            .header(
                header::CONTENT_TYPE,
                "application/x-www-form-urlencoded;charset=utf-8",
            )
            .body(encode(&params))
            .send()
            .await
            .map_err(|e| {
                let kind = if e.is_timeout() {
                    "timed out"
                } else {
                    "failed"
                };
                CallError::Unknown(format!("Alipay {method} {kind}: {e}"))
            })?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| CallError::Unknown(format!("reading Alipay's answer failed: {e}")))?;
        if !status.is_success() {
            return Err(CallError::Unknown(format!("Alipay answered HTTP {status}")));
        }
        self.read(method, &text)
    }

    /// The three layers of an answer body: is it Alipay's (signature), did the request succeed
    /// (`code`, `sub_code`), and the answer itself.
    fn read(&self, method: &str, body: &str) -> Result<Answer, CallError> {
        let unknown = |why: &str| CallError::Unknown(format!("Alipay's {method} answer {why}"));
        let content =
            sign::response_content(body, method).ok_or_else(|| unknown("has no response"))?;
        let whole: Map<String, Value> =
            serde_json::from_str(body).map_err(|_| unknown("is not JSON"))?;
        let trust = match whole.get("sign").and_then(Value::as_str) {
            Some(signature) => {
                self.check_cert_sn(&whole).map_err(|why| unknown(&why))?;
                if !sign::verify_rsa2(&self.alipay.key, content, signature) {
                    return Err(unknown("does not verify with Alipay's key"));
                }
                Trust::Verified
            }
            None => Trust::Unsigned,
        };
        let answer: Map<String, Value> =
            serde_json::from_str(content).map_err(|_| unknown("is not a JSON object"))?;
        let text = |name: &str| {
            answer
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        };
        let code = text("code");
        match code.as_str() {
            CODE_SUCCESS if trust == Trust::Verified => Ok(Answer(answer)),
            CODE_SUCCESS => Err(unknown("claims success without a signature")),
            CODE_UNAVAILABLE => Err(unknown(&format!("is {code} {}", text("sub_msg")))),
            c if CODES_REFUSED.contains(&c) => {
                let sub_msg = text("sub_msg");
                Err(CallError::Refused {
                    code,
                    sub_code: text("sub_code"),
                    message: if sub_msg.is_empty() {
                        text("msg")
                    } else {
                        sub_msg
                    },
                    trust,
                })
            }
            other => Err(unknown(&format!("has the unknown code {other:?}"))),
        }
    }

    /// In certificate mode an answer names the certificate that signed it; one we do not hold
    /// (Alipay rotated its certificate) cannot be checked.
    fn check_cert_sn(&self, whole: &Map<String, Value>) -> Result<(), String> {
        let Some(ours) = &self.alipay.cert_sn else {
            return Ok(());
        };
        match whole.get("alipay_cert_sn").and_then(Value::as_str) {
            Some(theirs) if theirs != ours => Err(format!(
                "is signed by certificate {theirs}, not ours ({ours})"
            )),
            _ => Ok(()),
        }
    }

    /// Fetches a file from a URL Alipay handed out (bill download), as it is.
    pub(crate) async fn download(&self, url: &str) -> Result<Vec<u8>, ChannelError> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| ChannelError::Unknown(format!("downloading the bill failed: {e}")))?;
        let status = response.status();
        if !status.is_success() {
            return Err(ChannelError::Unknown(format!(
                "the bill download answered HTTP {status}"
            )));
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| ChannelError::Unknown(format!("reading the bill failed: {e}")))?;
        Ok(bytes.to_vec())
    }
}

/// `k=v&...`, form-encoded (UTF-8): the POST body, the page URL's query, the app's order string.
pub(crate) fn encode(params: &BTreeMap<String, String>) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}
