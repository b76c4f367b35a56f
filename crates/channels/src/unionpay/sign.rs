//! UnionPay's certificate signature, `signMethod=01` of version 5.1.0: every field but
//! `signature`, sorted by name and joined as `k=v&k=v`, is hashed with SHA-256; the lower-case
//! hex text of that digest is what SHA256withRSA signs, and the signature travels in base64.
//! `certId` is the signing certificate's serial number written in decimal.

use std::collections::BTreeMap;

use paygate_domain::sign::{RsaPrivateKey, RsaPublicKey, SignError, SignKey, VerifyKey};
use sha2::{Digest, Sha256};
use x509_cert::der::{DecodePem, Encode};
use x509_cert::Certificate;

/// The field that carries the signature and is left out of what is signed.
pub const SIGNATURE: &str = "signature";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    #[error("not an X.509 certificate in PEM: {0}")]
    Pem(String),
    #[error("the certificate's key is not an RSA key we can use: {0}")]
    Key(String),
}

/// `k=v&k=v` over every field but `signature`, by name in byte order (as UnionPay's SDKs sort).
pub fn string_to_sign(fields: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    for (name, value) in fields.iter().filter(|(name, _)| *name != SIGNATURE) {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// The lower-case hex SHA-256 of the string to sign: the text the RSA key signs.
pub fn digest_hex(fields: &BTreeMap<String, String>) -> String {
    hex::encode(Sha256::digest(string_to_sign(fields).as_bytes()))
}

/// The base64 `signature` of `fields`.
pub fn sign(key: &RsaPrivateKey, fields: &BTreeMap<String, String>) -> Result<String, SignError> {
    SignKey::Rsa2(key.clone()).sign_string(&digest_hex(fields))
}

/// Checks `fields`' own `signature` against `key`.
pub fn verify(key: &RsaPublicKey, fields: &BTreeMap<String, String>) -> Result<(), SignError> {
    let signature = fields.get(SIGNATURE).ok_or(SignError::Mismatch)?;
    VerifyKey::Rsa2(key.clone()).verify_string(&digest_hex(fields), signature)
}

/// A certificate as UnionPay names and uses it.
#[derive(Debug, Clone)]
pub struct SigningCert {
    /// The serial number in decimal: `certId`.
    pub cert_id: String,
    pub public_key: RsaPublicKey,
    /// The DER bytes, to compare certificates whatever their PEM line breaks.
    pub der: Vec<u8>,
}

impl SigningCert {
    pub fn from_pem(pem: &str) -> Result<SigningCert, CertError> {
        let cert = Certificate::from_pem(pem.trim().as_bytes())
            .map_err(|e| CertError::Pem(e.to_string()))?;
        let der = cert.to_der().map_err(|e| CertError::Pem(e.to_string()))?;
        let spki = cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|e| CertError::Key(e.to_string()))?;
        let public_key = RsaPublicKey::from_text(&base64_of(&spki))
            .map_err(|e| CertError::Key(e.to_string()))?;
        Ok(SigningCert {
            cert_id: decimal(cert.tbs_certificate.serial_number.as_bytes()),
            public_key,
            der,
        })
    }
}

/// `certId` of a certificate given in PEM.
pub fn cert_id(pem: &str) -> Result<String, CertError> {
    SigningCert::from_pem(pem).map(|cert| cert.cert_id)
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A big-endian unsigned integer in decimal, by long division (serials run to 20 bytes).
fn decimal(big_endian: &[u8]) -> String {
    let mut number: Vec<u8> = big_endian.iter().copied().skip_while(|b| *b == 0).collect();
    let mut digits = Vec::new();
    while !number.is_empty() {
        let mut remainder = 0u32;
        for byte in number.iter_mut() {
            let value = (remainder << 8) | u32::from(*byte);
            *byte = u8::try_from(value / 10).expect("a quotient digit fits a byte");
            remainder = value % 10;
        }
        digits.push(char::from(
            b'0' + u8::try_from(remainder).expect("a decimal digit"),
        ));
        let zeros = number.iter().take_while(|b| **b == 0).count();
        number.drain(..zeros);
    }
    if digits.is_empty() {
        return "0".into();
    }
    digits.iter().rev().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_written_in_decimal() {
        assert_eq!(decimal(&[]), "0");
        assert_eq!(decimal(&[0x00, 0xff]), "255");
        assert_eq!(decimal(&[0x10, 0x02, 0x65, 0x32, 0x15]), "68759663125");
        assert_eq!(
            decimal(&[0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]),
            "18446744073709551616"
        );
    }

    #[test]
    fn the_string_to_sign_leaves_out_the_signature_and_sorts_by_name() {
        let fields: BTreeMap<String, String> =
            [("txnType", "01"), ("signature", "x"), ("bizType", "000201")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
        assert_eq!(string_to_sign(&fields), "bizType=000201&txnType=01");
    }
}
