//! How one Alipay app is reached: everything here is configuration, so the same adapter talks
//! to Alipay itself or to anything that speaks its open API (the sandbox).

use paygate_domain::sign::{RsaPrivateKey, RsaPublicKey};

use super::cert;

/// How Alipay's answers and notifications are verified, which also decides what every request
/// names: nothing (public-key mode) or the app's and Alipay's root certificates' SNs.
#[derive(Debug, Clone)]
pub enum AlipayKey {
    /// 公钥模式: Alipay's public key as the console shows it.
    PublicKey(RsaPublicKey),
    /// 公钥证书模式: our app certificate's SN and Alipay's root bundle's SN go with every
    /// request; Alipay's own certificate carries the key its answers are verified with.
    Certificate {
        app_cert_sn: String,
        alipay_root_cert_sn: String,
        alipay_cert_pem: String,
    },
}

#[derive(Debug, Clone)]
pub struct AlipayConfig {
    /// `https://openapi.alipay.com/gateway.do`, or anything serving the open API there.
    pub gateway_url: String,
    pub app_id: String,
    /// The merchant's Alipay account (`2088...`); when given, notifications for another seller
    /// are refused.
    pub seller_id: Option<String>,
    pub app_private_key: RsaPrivateKey,
    pub alipay_key: AlipayKey,
    /// Our callback address, `https://gw.example/callback/alipay/pay`: sent with every request
    /// that creates a trade, and Alipay announces the trade's payment and refunds there.
    pub notify_url: String,
    pub http_timeout_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("gateway_url must be an http(s) URL: {0}")]
    GatewayUrl(String),
    #[error("notify_url must be an http(s) URL without a query: {0}")]
    NotifyUrl(String),
    #[error("{0} must not be empty")]
    Empty(&'static str),
    #[error("Alipay's certificate is unusable: {0}")]
    AlipayCert(String),
    #[error("http_timeout_ms must be between 1 and 120000")]
    Timeout,
    #[error("could not build the HTTP client: {0}")]
    HttpClient(String),
}

/// The longest we would ever wait for one answer; beyond it a call is better retried.
const HTTP_TIMEOUT_MS_MAX: u64 = 120_000;

/// The key Alipay's answers are verified with, and (certificate mode) the SN Alipay names it by.
#[derive(Debug, Clone)]
pub(crate) struct AlipayVerifier {
    pub key: RsaPublicKey,
    pub cert_sn: Option<String>,
}

impl AlipayConfig {
    /// Checks the configuration and reads Alipay's key out of it.
    pub(crate) fn validate(&self) -> Result<AlipayVerifier, ConfigError> {
        let http_url = |url: &str| {
            reqwest::Url::parse(url)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        };
        if http_url(&self.gateway_url).is_none() {
            return Err(ConfigError::GatewayUrl(self.gateway_url.clone()));
        }
        match http_url(&self.notify_url) {
            Some(url) if url.query().is_none() => {}
            _ => return Err(ConfigError::NotifyUrl(self.notify_url.clone())),
        }
        if self.app_id.trim().is_empty() {
            return Err(ConfigError::Empty("app_id"));
        }
        if self
            .seller_id
            .as_deref()
            .is_some_and(|s| s.trim().is_empty())
        {
            return Err(ConfigError::Empty("seller_id"));
        }
        if !(1..=HTTP_TIMEOUT_MS_MAX).contains(&self.http_timeout_ms) {
            return Err(ConfigError::Timeout);
        }
        match &self.alipay_key {
            AlipayKey::PublicKey(key) => Ok(AlipayVerifier {
                key: key.clone(),
                cert_sn: None,
            }),
            AlipayKey::Certificate {
                app_cert_sn,
                alipay_root_cert_sn,
                alipay_cert_pem,
            } => {
                if app_cert_sn.trim().is_empty() {
                    return Err(ConfigError::Empty("app_cert_sn"));
                }
                if alipay_root_cert_sn.trim().is_empty() {
                    return Err(ConfigError::Empty("alipay_root_cert_sn"));
                }
                let unusable = |e: cert::CertError| ConfigError::AlipayCert(e.to_string());
                Ok(AlipayVerifier {
                    key: cert::public_key_of(alipay_cert_pem).map_err(unusable)?,
                    cert_sn: Some(cert::cert_sn(alipay_cert_pem).map_err(unusable)?),
                })
            }
        }
    }
}
