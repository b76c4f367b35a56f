//! WeChat Pay API v3 message authentication, both directions.
//!
//! A request is signed over `METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n` (the URL as sent: path and
//! query) with the merchant's RSA key (SHA256withRSA, base64) and carried in the
//! `Authorization: WECHATPAY2-SHA256-RSA2048 mchid="..",nonce_str="..",signature="..",
//! timestamp="..",serial_no=".."` header. A response or a callback is signed over
//! `TIMESTAMP\nNONCE\nBODY\n` with WeChat Pay's key, named by `Wechatpay-Serial`: a platform
//! certificate's serial number, or a WeChat Pay public key id (`PUB_KEY_ID_...`). Callback
//! resources are sealed with AEAD_AES_256_GCM under the merchant's APIv3 key.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use paygate_domain::sign::{SignError, SignKey, VerifyKey};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The scheme of the `Authorization` header.
pub const AUTH_SCHEME: &str = "WECHATPAY2-SHA256-RSA2048";
/// The APIv3 key is 32 ASCII characters, used as the AES-256 key as is.
pub const APIV3_KEY_BYTES: usize = 32;
/// The GCM nonce WeChat Pay uses: 12 characters, used as bytes as is.
pub const AEAD_NONCE_BYTES: usize = 12;

/// A request as its signature sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    pub method: &'a str,
    /// The path and query as sent, e.g. `/v3/pay/transactions/id/42?mchid=1900000001`.
    pub url: &'a str,
    /// Empty for a GET.
    pub body: &'a str,
}

impl Request<'_> {
    /// What a request's signature covers.
    pub fn message(&self, timestamp: i64, nonce: &str) -> String {
        format!(
            "{}\n{}\n{timestamp}\n{nonce}\n{}\n",
            self.method, self.url, self.body
        )
    }
}

/// What a response's or a callback's signature covers.
pub fn response_message(timestamp: i64, nonce: &str, body: &str) -> String {
    format!("{timestamp}\n{nonce}\n{body}\n")
}

/// What a JSAPI / mini program invocation's `paySign` covers (`signType` is `RSA`, the key the
/// merchant's): `appId`, `timeStamp`, `nonceStr` and `package` (`prepay_id=...`), each on its line.
pub fn jsapi_pay_message(appid: &str, timestamp: i64, nonce: &str, prepay_id: &str) -> String {
    format!("{appid}\n{timestamp}\n{nonce}\nprepay_id={prepay_id}\n")
}

/// What an APP invocation's `sign` covers: `appid`, `timestamp`, `noncestr` and `prepayid`.
pub fn app_pay_message(appid: &str, timestamp: i64, nonce: &str, prepay_id: &str) -> String {
    format!("{appid}\n{timestamp}\n{nonce}\n{prepay_id}\n")
}

/// The parts of a request's `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub mchid: String,
    pub nonce_str: String,
    pub timestamp: i64,
    pub serial_no: String,
    pub signature: String,
}

impl Authorization {
    /// Signs a request as the merchant `mchid` with the key whose certificate is `serial_no`.
    pub fn sign(
        key: &SignKey,
        mchid: &str,
        serial_no: &str,
        timestamp: i64,
        nonce: &str,
        request: &Request<'_>,
    ) -> Result<Authorization, SignError> {
        let signature = key.sign_string(&request.message(timestamp, nonce))?;
        Ok(Authorization {
            mchid: mchid.to_owned(),
            nonce_str: nonce.to_owned(),
            timestamp,
            serial_no: serial_no.to_owned(),
            signature,
        })
    }

    pub fn header_value(&self) -> String {
        format!(
            "{AUTH_SCHEME} mchid=\"{}\",nonce_str=\"{}\",signature=\"{}\",timestamp=\"{}\",serial_no=\"{}\"",
            self.mchid, self.nonce_str, self.signature, self.timestamp, self.serial_no
        )
    }

    /// Reads the header as WeChat Pay's server does: the scheme, then `key="value"` pairs in
    /// any order, each exactly once.
    pub fn parse(header: &str) -> Option<Authorization> {
        let params = header.strip_prefix(AUTH_SCHEME)?.strip_prefix(' ')?;
        let mut fields: [Option<&str>; 5] = [None; 5];
        const NAMES: [&str; 5] = ["mchid", "nonce_str", "timestamp", "serial_no", "signature"];
        for pair in params.split(',') {
            let (name, quoted) = pair.trim().split_once('=')?;
            let value = quoted.strip_prefix('"')?.strip_suffix('"')?;
            let slot = NAMES.iter().position(|n| *n == name)?;
            if fields[slot].replace(value).is_some() {
                return None;
            }
        }
        let [Some(mchid), Some(nonce_str), Some(timestamp), Some(serial_no), Some(signature)] =
            fields
        else {
            return None;
        };
        Some(Authorization {
            mchid: mchid.to_owned(),
            nonce_str: nonce_str.to_owned(),
            timestamp: timestamp.parse().ok()?,
            serial_no: serial_no.to_owned(),
            signature: signature.to_owned(),
        })
    }

    /// Checks the signature over the request it came with.
    pub fn verify(&self, key: &VerifyKey, request: &Request<'_>) -> Result<(), SignError> {
        let message = request.message(self.timestamp, &self.nonce_str);
        key.verify_string(&message, &self.signature)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AeadError {
    #[error("the APIv3 key must be 32 bytes")]
    KeyLength,
    #[error("the nonce must be 12 bytes")]
    NonceLength,
    #[error("the ciphertext is not base64")]
    NotBase64,
    #[error("the resource does not open under this key, nonce and associated data")]
    Open,
    #[error("the opened resource is not UTF-8")]
    NotText,
}

fn cipher(apiv3_key: &str) -> Result<Aes256Gcm, AeadError> {
    if apiv3_key.len() != APIV3_KEY_BYTES {
        return Err(AeadError::KeyLength);
    }
    Aes256Gcm::new_from_slice(apiv3_key.as_bytes()).map_err(|_| AeadError::KeyLength)
}

fn nonce(nonce: &str) -> Result<&Nonce<aes_gcm::aead::consts::U12>, AeadError> {
    if nonce.len() != AEAD_NONCE_BYTES {
        return Err(AeadError::NonceLength);
    }
    Ok(Nonce::from_slice(nonce.as_bytes()))
}

/// Opens a callback's (or a certificate download's) `resource`: AEAD_AES_256_GCM, the base64
/// ciphertext ending in its 16-byte tag.
pub fn open_resource(
    apiv3_key: &str,
    nonce_text: &str,
    associated_data: &str,
    ciphertext_b64: &str,
) -> Result<String, AeadError> {
    let sealed = B64
        .decode(ciphertext_b64)
        .map_err(|_| AeadError::NotBase64)?;
    let plain = cipher(apiv3_key)?
        .decrypt(
            nonce(nonce_text)?,
            Payload {
                msg: &sealed,
                aad: associated_data.as_bytes(),
            },
        )
        .map_err(|_| AeadError::Open)?;
    String::from_utf8(plain).map_err(|_| AeadError::NotText)
}

/// Seals a resource as WeChat Pay does for its callbacks (the sandbox's side).
pub fn seal_resource(
    apiv3_key: &str,
    nonce_text: &str,
    associated_data: &str,
    plaintext: &str,
) -> Result<String, AeadError> {
    let sealed = cipher(apiv3_key)?
        .encrypt(
            nonce(nonce_text)?,
            Payload {
                msg: plaintext.as_bytes(),
                aad: associated_data.as_bytes(),
            },
        )
        .map_err(|_| AeadError::Open)?;
    Ok(B64.encode(sealed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_authorization_header_reads_back_in_any_order_and_each_field_once() {
        let auth = Authorization {
            mchid: "1900000001".into(),
            nonce_str: "N0NCE2026".into(),
            timestamp: 1_764_400_000,
            serial_no: "5E1A2B3C4D".into(),
            signature: "c2lnbmF0dXJlIG9mIHRoZSByZXF1ZXN0".into(),
        };
        let header = auth.header_value();
        assert_eq!(Authorization::parse(&header), Some(auth.clone()));
        let reordered = format!(
            "{AUTH_SCHEME} serial_no=\"{}\",timestamp=\"{}\",signature=\"{}\",mchid=\"{}\",nonce_str=\"{}\"",
            auth.serial_no, auth.timestamp, auth.signature, auth.mchid, auth.nonce_str
        );
        assert_eq!(Authorization::parse(&reordered), Some(auth.clone()));
        let twice = format!("{header},mchid=\"1900000002\"");
        assert_eq!(Authorization::parse(&twice), None);
        assert_eq!(
            Authorization::parse(&header.replace(AUTH_SCHEME, "WECHATPAY2-SM2-WITH-SM3")),
            None
        );
    }

    #[test]
    fn app_invocations_sign_appid_time_nonce_and_prepay_id() {
        assert_eq!(
            jsapi_pay_message("wx8888888888888888", 1414561699, "5K8264ILTKCH16CQ", "wx201410272009395522657a690389285100"),
            "wx8888888888888888\n1414561699\n5K8264ILTKCH16CQ\nprepay_id=wx201410272009395522657a690389285100\n"
        );
        assert_eq!(
            app_pay_message("wx8888888888888888", 1414561699, "5K8264ILTKCH16CQ", "wx201410272009395522657a690389285100"),
            "wx8888888888888888\n1414561699\n5K8264ILTKCH16CQ\nwx201410272009395522657a690389285100\n"
        );
    }

    #[test]
    fn a_sealed_resource_opens_only_with_its_key_nonce_and_associated_data() {
        let key = "0123456789abcdef0123456789abcdef";
        let sealed = seal_resource(key, "abcdefghijkl", "transaction", "{\"a\":1}").unwrap();
        assert_eq!(
            open_resource(key, "abcdefghijkl", "transaction", &sealed).unwrap(),
            "{\"a\":1}"
        );
        assert_eq!(
            open_resource(key, "abcdefghijkl", "refund", &sealed),
            Err(AeadError::Open)
        );
        assert_eq!(
            open_resource(key, "abcdefghijkm", "transaction", &sealed),
            Err(AeadError::Open)
        );
        assert_eq!(
            open_resource("short", "abcdefghijkl", "transaction", &sealed),
            Err(AeadError::KeyLength)
        );
        assert_eq!(
            open_resource(key, "short", "transaction", &sealed),
            Err(AeadError::NonceLength)
        );
    }
}
