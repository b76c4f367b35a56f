//! How one WeChat Pay merchant account is reached: everything here is configuration, so the
//! same adapter talks to WeChat Pay itself or to anything that speaks its protocol.

use paygate_domain::secret::Secret;
use paygate_domain::sign::{RsaPrivateKey, RsaPublicKey};

use super::v3_auth::APIV3_KEY_BYTES;

/// A key WeChat Pay signs its answers and callbacks with, named by `Wechatpay-Serial`.
#[derive(Debug, Clone)]
pub enum PlatformKey {
    /// WeChat Pay public key mode: the serial is the key's id (`PUB_KEY_ID_...`).
    PublicKey { id: String, key: RsaPublicKey },
    /// Platform certificate mode: the serial is a certificate's serial number; several are in
    /// force while WeChat Pay rotates its certificates.
    Certificates(Vec<(String, RsaPublicKey)>),
}

#[derive(Debug, Clone)]
pub struct WechatConfig {
    /// `https://api.mch.weixin.qq.com`, or anything serving the v3 API at its root.
    pub base_url: String,
    pub mchid: String,
    pub appid: String,
    /// The serial number of the merchant's API certificate, named in every request.
    pub merchant_serial_no: String,
    pub merchant_private_key: RsaPrivateKey,
    /// 32 characters, used as the AES-256-GCM key of callback resources.
    pub apiv3_key: Secret,
    /// Every key WeChat Pay may sign with. While a merchant moves from platform certificates to
    /// the public key, answers come signed by either, so both kinds may be listed together;
    /// `Wechatpay-Serial` picks the one that signed.
    pub platform: Vec<PlatformKey>,
    /// The API v2 key for micropay (HMAC-SHA256); without it micropay is not offered.
    pub v2_key: Option<Secret>,
    /// The merchant's API certificate (PEM) for `merchant_private_key`, which WeChat Pay asks
    /// for (mutual TLS) on micropay's reverse; not needed by the v3 API.
    pub merchant_certificate_pem: Option<String>,
    /// Our callback address for this channel, e.g. `https://gw.example/callback/wechat`:
    /// refunds are announced to `{notify_base_url}/refund`. (Payments go where each
    /// `PrepareRequest::notify_url` says, which the app builds the same way.)
    pub notify_base_url: String,
    pub http_timeout_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("base_url must be an http(s) URL: {0}")]
    BaseUrl(String),
    #[error("notify_base_url must be an http(s) URL without a query: {0}")]
    NotifyBaseUrl(String),
    #[error("{0} must not be empty")]
    Empty(&'static str),
    #[error("apiv3_key must be {APIV3_KEY_BYTES} bytes")]
    Apiv3KeyLength,
    #[error("at least one platform key (public key or certificate) is needed")]
    NoPlatformKey,
    #[error("http_timeout_ms must be between 1 and 120000")]
    Timeout,
    #[error("could not build the HTTP client: {0}")]
    HttpClient(String),
}

/// The longest we would ever wait for one answer; beyond it a call is better retried.
const HTTP_TIMEOUT_MS_MAX: u64 = 120_000;

impl WechatConfig {
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let http_url = |url: &str| {
            reqwest::Url::parse(url)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        };
        if http_url(&self.base_url).is_none() {
            return Err(ConfigError::BaseUrl(self.base_url.clone()));
        }
        match http_url(&self.notify_base_url) {
            Some(url) if url.query().is_none() => {}
            _ => return Err(ConfigError::NotifyBaseUrl(self.notify_base_url.clone())),
        }
        for (field, value) in [
            ("mchid", &self.mchid),
            ("appid", &self.appid),
            ("merchant_serial_no", &self.merchant_serial_no),
        ] {
            if value.trim().is_empty() {
                return Err(ConfigError::Empty(field));
            }
        }
        if self.apiv3_key.expose().len() != APIV3_KEY_BYTES {
            return Err(ConfigError::Apiv3KeyLength);
        }
        let keys = self.platform.iter().map(|k| match k {
            PlatformKey::PublicKey { .. } => 1,
            PlatformKey::Certificates(certs) => certs.len(),
        });
        if keys.sum::<usize>() == 0 {
            return Err(ConfigError::NoPlatformKey);
        }
        if !(1..=HTTP_TIMEOUT_MS_MAX).contains(&self.http_timeout_ms) {
            return Err(ConfigError::Timeout);
        }
        Ok(())
    }
}
