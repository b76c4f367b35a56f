//! The v3 API's HTTP plumbing: every request signed as the merchant, every answer checked
//! against WeChat Pay's key before anything in it is believed. What cannot be trusted (no
//! answer, a 5xx, an unsigned or wrongly signed 2xx) is an unknown outcome, never a refusal.

use std::time::Duration;

use paygate_domain::sign::SignKey;
use rand::distributions::{Alphanumeric, DistString};
use reqwest::{header, Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::config::{ConfigError, WechatConfig};
use super::v3_auth::{Authorization, Request};
use super::v3_wire::ErrorBody;
use super::verify::{PlatformKeys, SignatureError, SignedHeaders};
use crate::ChannelError;

const USER_AGENT: &str = concat!(
    "paygate/",
    env!("CARGO_PKG_VERSION"),
    " (WeChat Pay API v3)"
);
/// WeChat Pay's own SDKs use 32 characters of letters and digits.
const NONCE_CHARS: usize = 32;

/// Whether a refusal came with a signature that verified. Only a verified refusal may be read
/// as a fact about a trade (`ORDER_NOT_EXIST`); an unsigned one is still a refusal of the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trust {
    Verified,
    Unsigned,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CallError {
    /// No answer we can trust: timeout, connection error, 5xx, a bad or missing signature.
    Unknown(String),
    /// WeChat Pay answered 4xx with its error code.
    Rejected {
        status: u16,
        code: String,
        message: String,
        trust: Trust,
    },
}

impl CallError {
    /// Whether WeChat Pay said, in a signed answer, exactly this error code.
    pub(crate) fn is_verified_code(&self, wanted: &str) -> bool {
        matches!(self, CallError::Rejected { code, trust: Trust::Verified, .. } if code == wanted)
    }
}

impl From<CallError> for ChannelError {
    fn from(error: CallError) -> ChannelError {
        match error {
            CallError::Unknown(why) => ChannelError::Unknown(why),
            CallError::Rejected { code, message, .. } => {
                ChannelError::Rejected(format!("{code}: {message}"))
            }
        }
    }
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

pub(crate) fn nonce() -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), NONCE_CHARS)
}

/// A signed v3 client for one merchant account.
#[derive(Debug, Clone)]
pub(crate) struct V3Client {
    http: reqwest::Client,
    base_url: Url,
    mchid: String,
    serial_no: String,
    key: SignKey,
    platform: PlatformKeys,
}

impl V3Client {
    pub(crate) fn new(config: &WechatConfig) -> Result<V3Client, ConfigError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.http_timeout_ms))
            .user_agent(USER_AGENT)
            .build()
            .map_err(|e| ConfigError::HttpClient(e.to_string()))?;
        let base_url = Url::parse(config.base_url.trim_end_matches('/'))
            .map_err(|_| ConfigError::BaseUrl(config.base_url.clone()))?;
        Ok(V3Client {
            http,
            base_url,
            mchid: config.mchid.clone(),
            serial_no: config.merchant_serial_no.clone(),
            key: SignKey::Rsa2(config.merchant_private_key.clone()),
            platform: PlatformKeys::new(&config.platform),
        })
    }

    /// `path` is the API path and query (`/v3/...`), appended to the base URL's own path.
    fn url(&self, path: &str) -> Result<Url, CallError> {
        let joined = format!("{}{path}", self.base_url.as_str().trim_end_matches('/'));
        Url::parse(&joined).map_err(|_| CallError::Unknown(format!("bad request URL {joined}")))
    }

    /// Sends a signed request and answers the status and body, without checking the answer's
    /// signature (the caller decides what must be signed).
    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<String>,
    ) -> Result<reqwest::Response, CallError> {
        let signed_url = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        let body_text = body.as_deref().unwrap_or("");
        let auth = Authorization::sign(
            &self.key,
            &self.mchid,
            &self.serial_no,
            now_secs(),
            &nonce(),
            &Request {
                method: method.as_str(),
                url: &signed_url,
                body: body_text,
            },
        )
        .map_err(|e| CallError::Unknown(format!("could not sign the request: {e}")))?;
        let mut request = self
            .http
            .request(method, url)
            .header(header::AUTHORIZATION, auth.header_value())
            .header(header::ACCEPT, "application/json");
        if let Some(body) = body {
            request = request
                .header(header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        request.send().await.map_err(|e| {
            let kind = if e.is_timeout() {
                "timed out"
            } else {
                "failed"
            };
            CallError::Unknown(format!("WeChat Pay call {kind}: {e}"))
        })
    }

    /// One API call: the answer's body if it is a signed 2xx.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> Result<String, CallError> {
        let response = self.send(method, self.url(path)?, body).await?;
        let status = response.status();
        let signed =
            SignedHeaders::read(|name| response.headers().get(name).and_then(|v| v.to_str().ok()));
        let text = response
            .text()
            .await
            .map_err(|e| CallError::Unknown(format!("reading WeChat Pay's answer failed: {e}")))?;
        if status.is_server_error() || !(status.is_success() || status.is_client_error()) {
            return Err(CallError::Unknown(format!("WeChat Pay answered {status}")));
        }
        let trust = match signed {
            Ok(signed) => {
                self.check(&signed, &text)?;
                Trust::Verified
            }
            Err(SignatureError::Missing(_)) if status.is_client_error() => Trust::Unsigned,
            Err(e) => return Err(untrusted(status, &e)),
        };
        if status.is_client_error() {
            return Err(rejection(status, &text, trust));
        }
        Ok(text)
    }

    fn check(&self, signed: &SignedHeaders, body: &str) -> Result<(), CallError> {
        self.platform
            .verify(signed, body)
            .map_err(|e| CallError::Unknown(format!("WeChat Pay's answer is not trusted: {e}")))?;
        if !signed.is_fresh(now_secs()) {
            return Err(CallError::Unknown(
                "WeChat Pay's answer is signed too far from now".into(),
            ));
        }
        Ok(())
    }

    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, CallError> {
        read_json(&self.call(Method::GET, path, None).await?)
    }

    pub(crate) async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, CallError> {
        read_json(&self.call(Method::POST, path, Some(to_json(body)?)).await?)
    }

    /// A POST whose success is `204 No Content` (close).
    pub(crate) async fn post_no_content<B: Serialize>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<(), CallError> {
        self.call(Method::POST, path, Some(to_json(body)?))
            .await
            .map(drop)
    }

    /// Fetches a file from an absolute URL WeChat Pay handed out (bill download). The request is
    /// signed; the answer is not, and is checked by the hash that came with the URL.
    pub(crate) async fn download(&self, url: &str) -> Result<Vec<u8>, CallError> {
        let url = Url::parse(url)
            .map_err(|_| CallError::Unknown(format!("download URL {url} is not a URL")))?;
        let response = self.send(Method::GET, url, None).await?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| CallError::Unknown(format!("reading the download failed: {e}")))?;
        if status.is_client_error() {
            let text = String::from_utf8_lossy(&bytes);
            return Err(rejection(status, &text, Trust::Unsigned));
        }
        if !status.is_success() {
            return Err(CallError::Unknown(format!("download answered {status}")));
        }
        Ok(bytes.to_vec())
    }
}

fn untrusted(status: StatusCode, error: &SignatureError) -> CallError {
    CallError::Unknown(format!(
        "WeChat Pay's {status} answer is not trusted: {error}"
    ))
}

fn rejection(status: StatusCode, body: &str, trust: Trust) -> CallError {
    let (code, message) = match serde_json::from_str::<ErrorBody>(body) {
        Ok(error) => (error.code, error.message),
        Err(_) => (
            format!("HTTP_{}", status.as_u16()),
            body.chars().take(200).collect(),
        ),
    };
    CallError::Rejected {
        status: status.as_u16(),
        code,
        message,
        trust,
    }
}

fn to_json<B: Serialize>(body: &B) -> Result<String, CallError> {
    serde_json::to_string(body).map_err(|e| CallError::Unknown(format!("encoding failed: {e}")))
}

fn read_json<T: DeserializeOwned>(text: &str) -> Result<T, CallError> {
    serde_json::from_str(text).map_err(|e| {
        CallError::Unknown(format!(
            "WeChat Pay's answer is not the documented JSON: {e}"
        ))
    })
}
