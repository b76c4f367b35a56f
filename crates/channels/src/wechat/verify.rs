//! Checking what WeChat Pay signed: an API answer or a callback, over
//! `TIMESTAMP\nNONCE\nBODY\n`, with the platform key that `Wechatpay-Serial` names.

use std::collections::BTreeMap;

use paygate_domain::sign::VerifyKey;

use super::config::PlatformKey;
use super::v3_auth::{response_message, AUTH_SCHEME};

/// How far a signed timestamp may be from our clock, either way (WeChat Pay's SDKs use the same).
pub const SIGNED_TIMESTAMP_SKEW_SECS_MAX: i64 = 5 * 60;

/// The `Wechatpay-*` headers of a signed answer or callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    pub serial: String,
    pub timestamp: i64,
    pub nonce: String,
    pub signature: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("header {0} is missing")]
    Missing(&'static str),
    #[error("header {0} is not valid")]
    Invalid(&'static str),
    #[error("no platform key has serial {0}")]
    UnknownSerial(String),
    #[error("the signature does not verify")]
    Mismatch,
}

impl SignedHeaders {
    /// Reads the headers through `get`, which looks a header up by its lower-case name.
    pub fn read<'a>(
        get: impl Fn(&str) -> Option<&'a str>,
    ) -> Result<SignedHeaders, SignatureError> {
        let field = |name: &'static str| get(name).ok_or(SignatureError::Missing(name));
        if let Some(kind) = get("wechatpay-signature-type") {
            if kind != AUTH_SCHEME {
                return Err(SignatureError::Invalid("wechatpay-signature-type"));
            }
        }
        Ok(SignedHeaders {
            serial: field("wechatpay-serial")?.to_owned(),
            timestamp: field("wechatpay-timestamp")?
                .parse()
                .map_err(|_| SignatureError::Invalid("wechatpay-timestamp"))?,
            nonce: field("wechatpay-nonce")?.to_owned(),
            signature: field("wechatpay-signature")?.to_owned(),
        })
    }

    pub fn from_map(headers: &BTreeMap<String, String>) -> Result<SignedHeaders, SignatureError> {
        SignedHeaders::read(|name| headers.get(name).map(String::as_str))
    }

    /// Whether the signed time is within the accepted skew of `now_secs`.
    pub fn is_fresh(&self, now_secs: i64) -> bool {
        paygate_domain::sign::timestamp_in_window(
            now_secs,
            self.timestamp,
            SIGNED_TIMESTAMP_SKEW_SECS_MAX,
        )
    }
}

/// Every key WeChat Pay may sign with, by serial.
#[derive(Debug, Clone)]
pub struct PlatformKeys(BTreeMap<String, VerifyKey>);

impl PlatformKeys {
    pub fn new(keys: &[PlatformKey]) -> PlatformKeys {
        let mut by_serial = BTreeMap::new();
        for key in keys {
            match key {
                PlatformKey::PublicKey { id, key } => {
                    by_serial.insert(id.clone(), VerifyKey::Rsa2(key.clone()));
                }
                PlatformKey::Certificates(certs) => {
                    for (serial, key) in certs {
                        by_serial.insert(serial.clone(), VerifyKey::Rsa2(key.clone()));
                    }
                }
            }
        }
        PlatformKeys(by_serial)
    }

    pub fn verify(&self, signed: &SignedHeaders, body: &str) -> Result<(), SignatureError> {
        let key = self
            .0
            .get(&signed.serial)
            .ok_or_else(|| SignatureError::UnknownSerial(signed.serial.clone()))?;
        let message = response_message(signed.timestamp, &signed.nonce, body);
        key.verify_string(&message, &signed.signature)
            .map_err(|_| SignatureError::Mismatch)
    }
}
