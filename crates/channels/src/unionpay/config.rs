//! How one UnionPay merchant account is reached: the gateway's five endpoints, the merchant's
//! signing key and its `certId`, and the certificate UnionPay signs with. Everything here is
//! configuration, so the same adapter talks to UnionPay itself or to its sandbox.

use paygate_domain::sign::RsaPrivateKey;

use super::sign::{CertError, SigningCert};

#[derive(Debug, Clone)]
pub struct UnionpayConfig {
    /// `https://gateway.95516.com/gateway/api/frontTransReq.do`: where the payer's browser posts.
    pub front_url: String,
    pub back_url: String,
    pub app_url: String,
    pub query_url: String,
    pub file_url: String,
    /// The merchant number (`merId`, 15 characters).
    pub mer_id: String,
    /// The private key of the merchant's signing certificate (`acp_sign.pfx`).
    pub sign_key: RsaPrivateKey,
    /// That certificate's serial number in decimal.
    pub cert_id: String,
    /// UnionPay's signing certificate (PEM). Version 5.1.0 sends its signing certificate in
    /// every answer (`signPubKeyCert`); we trust an answer only when that certificate is exactly
    /// this one, which pins it instead of walking a chain to UnionPay's root.
    pub verify_cert_pem: String,
    /// Our callback address, e.g. `https://gw.example/callback/unionpay/pay`; UnionPay posts
    /// payment, refund and void notifications here (`backUrl`).
    pub notify_url: String,
    pub http_timeout_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} must be an http(s) URL: {1}")]
    Url(&'static str, String),
    #[error("{0} must not be empty")]
    Empty(&'static str),
    #[error("verify_cert_pem: {0}")]
    VerifyCert(CertError),
    #[error("http_timeout_ms must be between 1 and 120000")]
    Timeout,
    #[error("could not build the HTTP client: {0}")]
    HttpClient(String),
}

/// The longest we would ever wait for one answer; beyond it a call is better retried.
const HTTP_TIMEOUT_MS_MAX: u64 = 120_000;

impl UnionpayConfig {
    /// Checks the configuration and reads UnionPay's certificate.
    pub(crate) fn validate(&self) -> Result<SigningCert, ConfigError> {
        for (field, url) in [
            ("front_url", &self.front_url),
            ("back_url", &self.back_url),
            ("app_url", &self.app_url),
            ("query_url", &self.query_url),
            ("file_url", &self.file_url),
            ("notify_url", &self.notify_url),
        ] {
            let ok = reqwest::Url::parse(url)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
            if !ok {
                return Err(ConfigError::Url(field, url.clone()));
            }
        }
        for (field, value) in [("mer_id", &self.mer_id), ("cert_id", &self.cert_id)] {
            if value.trim().is_empty() {
                return Err(ConfigError::Empty(field));
            }
        }
        if !(1..=HTTP_TIMEOUT_MS_MAX).contains(&self.http_timeout_ms) {
            return Err(ConfigError::Timeout);
        }
        SigningCert::from_pem(&self.verify_cert_pem).map_err(ConfigError::VerifyCert)
    }
}
