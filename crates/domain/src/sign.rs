//! Request, response and notification signatures (DESIGN §12).
//!
//! The string to sign `S` is every field but `sign` whose value is not empty, sorted by key bytes,
//! joined as `k=v` with `&`. MD5 appends `&key=SECRET`; HMAC-SHA256 keys the MAC with the secret;
//! RSA2 is SHA256withRSA (PKCS#1 v1.5) with base64 output.

use crate::secret::Secret;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PKCS1_SHA256};
use base64::Engine;
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::Sha256;
use std::fmt;
use std::sync::Arc;
use subtle::ConstantTimeEq;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

crate::text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum SignType, unknown(_text) => SignError::UnknownSignType, SignError {
        #[serde(rename = "MD5")]
        Md5 = "MD5",
        #[serde(rename = "HMAC-SHA256")]
        HmacSha256 = "HMAC-SHA256",
        #[serde(rename = "RSA2")]
        Rsa2 = "RSA2",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("field {0} is not a string, integer or boolean")]
    NotFlat(String),
    #[error("sign_type must be one of MD5, HMAC-SHA256, RSA2")]
    UnknownSignType,
    #[error("signature does not match")]
    Mismatch,
    #[error("RSA key is not valid: {0}")]
    BadKey(String),
    #[error("RSA signing failed")]
    SigningFailed,
}

/// Builds `S` from a flat JSON object.
pub fn string_to_sign(params: &Map<String, Value>) -> Result<String, SignError> {
    let mut fields: Vec<(&String, String)> = Vec::with_capacity(params.len());
    for (key, value) in params {
        if key == "sign" {
            continue;
        }
        let text = match value {
            Value::Null => continue,
            Value::String(s) if s.is_empty() => continue,
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
            _ => return Err(SignError::NotFlat(key.clone())),
        };
        fields.push((key, text));
    }
    fields.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut out = String::with_capacity(fields.iter().map(|(k, v)| k.len() + v.len() + 2).sum());
    for (i, (key, text)) in fields.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(key);
        out.push('=');
        out.push_str(text);
    }
    Ok(out)
}

/// Whether a request's `timestamp` lies within `window_secs` of `now_secs` (both Unix seconds,
/// the bound inclusive). The distance is taken as an unsigned difference, which cannot overflow,
/// so no value a caller sends (`i64::MIN` included) can panic or wrap into the window. A negative
/// window admits nothing.
pub fn timestamp_in_window(now_secs: i64, timestamp_secs: i64, window_secs: i64) -> bool {
    match u64::try_from(window_secs) {
        Ok(window) => now_secs.abs_diff(timestamp_secs) <= window,
        Err(_) => false,
    }
}

fn md5_sign(s: &str, secret: &str) -> String {
    let mut hasher = Md5::new();
    hasher.update(s.as_bytes());
    hasher.update(b"&key=");
    hasher.update(secret.as_bytes());
    hex::encode_upper(hasher.finalize())
}

fn hmac_sign(s: &str, secret: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(s.as_bytes());
    hex::encode_upper(mac.finalize().into_bytes())
}

fn constant_time_hex_eq(expected_upper: &str, given: &str) -> bool {
    let given = given.to_ascii_uppercase();
    expected_upper.as_bytes().ct_eq(given.as_bytes()).into()
}

/// Writes base64 DER as PEM with `label` (`PRIVATE KEY`, `PUBLIC KEY`), 64 characters a line,
/// the form the channels' SDKs read key files in.
fn pem(label: &str, b64_der: &str) -> String {
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64_der.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Reads a key given as PEM or as base64 of DER (the form Alipay's console shows).
fn decode_key_text(text: &str) -> Result<Vec<u8>, SignError> {
    let body: String = text
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .flat_map(|line| line.chars().filter(|c| !c.is_whitespace()))
        .collect();
    B64.decode(body)
        .map_err(|e| SignError::BadKey(format!("not base64: {e}")))
}

/// An RSA private key, parsed once and shared (parsing costs far more than signing).
#[derive(Clone)]
pub struct RsaPrivateKey(Arc<KeyPair>);

impl RsaPrivateKey {
    pub fn generate() -> Result<RsaPrivateKey, SignError> {
        KeyPair::generate(KeySize::Rsa2048)
            .map(|k| RsaPrivateKey(Arc::new(k)))
            .map_err(|_| SignError::BadKey("generation failed".into()))
    }

    pub fn from_pkcs8_der(der: &[u8]) -> Result<RsaPrivateKey, SignError> {
        KeyPair::from_pkcs8(der)
            .map(|k| RsaPrivateKey(Arc::new(k)))
            .map_err(|e| SignError::BadKey(e.to_string()))
    }

    pub fn from_text(text: &str) -> Result<RsaPrivateKey, SignError> {
        Self::from_pkcs8_der(&decode_key_text(text)?)
    }

    /// PKCS#8 DER, base64: the form stored (encrypted) and handed to merchants.
    pub fn to_text(&self) -> String {
        let der = self.0.as_der().expect("a parsed key serialises");
        B64.encode(der.as_ref())
    }

    /// X.509 SubjectPublicKeyInfo DER, base64.
    pub fn public_key_text(&self) -> String {
        use aws_lc_rs::signature::KeyPair as _;
        let der = self
            .0
            .public_key()
            .as_der()
            .expect("a parsed key serialises");
        B64.encode(der.as_ref())
    }

    /// PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn to_pem(&self) -> String {
        pem("PRIVATE KEY", &self.to_text())
    }

    /// SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn public_key_pem(&self) -> String {
        pem("PUBLIC KEY", &self.public_key_text())
    }

    pub fn public_key(&self) -> RsaPublicKey {
        RsaPublicKey::from_text(&self.public_key_text()).expect("own public key parses")
    }

    fn sign(&self, s: &str) -> Result<String, SignError> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let mut signature = vec![0u8; self.0.public_modulus_len()];
        self.0
            .sign(&RSA_PKCS1_SHA256, &rng, s.as_bytes(), &mut signature)
            .map_err(|_| SignError::SigningFailed)?;
        Ok(B64.encode(signature))
    }
}

impl fmt::Debug for RsaPrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RsaPrivateKey(..)")
    }
}

/// An RSA public key (PKCS#1 or SubjectPublicKeyInfo), parsed once.
#[derive(Clone)]
pub struct RsaPublicKey(Arc<ParsedPublicKey>);

impl RsaPublicKey {
    pub fn from_text(text: &str) -> Result<RsaPublicKey, SignError> {
        let der = decode_key_text(text)?;
        ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, der)
            .map(|k| RsaPublicKey(Arc::new(k)))
            .map_err(|e| SignError::BadKey(e.to_string()))
    }

    fn verify(&self, s: &str, sign: &str) -> Result<(), SignError> {
        let signature = B64.decode(sign).map_err(|_| SignError::Mismatch)?;
        self.0
            .verify_sig(s.as_bytes(), &signature)
            .map_err(|_| SignError::Mismatch)
    }
}

impl fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RsaPublicKey(..)")
    }
}

/// What signs: a shared secret or our (or the merchant's) RSA private key.
#[derive(Clone, Debug)]
pub enum SignKey {
    Md5(Secret),
    HmacSha256(Secret),
    Rsa2(RsaPrivateKey),
}

/// What verifies: a shared secret or the other side's RSA public key.
#[derive(Clone, Debug)]
pub enum VerifyKey {
    Md5(Secret),
    HmacSha256(Secret),
    Rsa2(RsaPublicKey),
}

impl SignKey {
    pub fn sign_type(&self) -> SignType {
        match self {
            SignKey::Md5(_) => SignType::Md5,
            SignKey::HmacSha256(_) => SignType::HmacSha256,
            SignKey::Rsa2(_) => SignType::Rsa2,
        }
    }

    pub fn sign_string(&self, s: &str) -> Result<String, SignError> {
        match self {
            SignKey::Md5(secret) => Ok(md5_sign(s, secret.expose())),
            SignKey::HmacSha256(secret) => Ok(hmac_sign(s, secret.expose())),
            SignKey::Rsa2(key) => key.sign(s),
        }
    }

    pub fn sign(&self, params: &Map<String, Value>) -> Result<String, SignError> {
        self.sign_string(&string_to_sign(params)?)
    }

    /// The key that checks what this key signs: the same secret, or the RSA key's public half.
    pub fn verify_key(&self) -> VerifyKey {
        match self {
            SignKey::Md5(secret) => VerifyKey::Md5(secret.clone()),
            SignKey::HmacSha256(secret) => VerifyKey::HmacSha256(secret.clone()),
            SignKey::Rsa2(key) => VerifyKey::Rsa2(key.public_key()),
        }
    }

    /// Adds `sign_type` and `sign` to a flat object.
    pub fn sign_in_place(&self, params: &mut Map<String, Value>) -> Result<(), SignError> {
        params.insert("sign_type".into(), self.sign_type().as_str().into());
        let sign = self.sign(params)?;
        params.insert("sign".into(), Value::String(sign));
        Ok(())
    }
}

impl VerifyKey {
    pub fn sign_type(&self) -> SignType {
        match self {
            VerifyKey::Md5(_) => SignType::Md5,
            VerifyKey::HmacSha256(_) => SignType::HmacSha256,
            VerifyKey::Rsa2(_) => SignType::Rsa2,
        }
    }

    pub fn verify_string(&self, s: &str, sign: &str) -> Result<(), SignError> {
        let ok = match self {
            VerifyKey::Md5(secret) => constant_time_hex_eq(&md5_sign(s, secret.expose()), sign),
            VerifyKey::HmacSha256(secret) => {
                constant_time_hex_eq(&hmac_sign(s, secret.expose()), sign)
            }
            VerifyKey::Rsa2(key) => return key.verify(s, sign),
        };
        if ok {
            Ok(())
        } else {
            Err(SignError::Mismatch)
        }
    }

    /// Verifies the object's own `sign` field over the rest of it.
    pub fn verify(&self, params: &Map<String, Value>) -> Result<(), SignError> {
        let sign = params
            .get("sign")
            .and_then(Value::as_str)
            .ok_or(SignError::Mismatch)?;
        self.verify_string(&string_to_sign(params)?, sign)
    }
}

#[cfg(test)]
#[path = "sign_tests.rs"]
mod tests;
