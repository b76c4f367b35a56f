//! Alipay's certificate mode: the serial numbers ("SN") that name the app's certificate and
//! Alipay's root bundle in every request, and the public key inside Alipay's certificate.
//!
//! Alipay's SN is `md5_hex(issuer DN + serial number in decimal)`, the issuer DN written as
//! Java's `X500Principal.getName()` (RFC 2253) writes it: RDNs in reverse order, `CN=..,OU=..`.

use base64::Engine as _;
use md5::{Digest, Md5};
use paygate_domain::sign::RsaPublicKey;
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::der::{Encode, Tag, Tagged};
use x509_cert::name::Name;
use x509_cert::Certificate;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertError {
    #[error("not a PEM X.509 certificate: {0}")]
    Parse(String),
    #[error("the certificate's public key is not a usable RSA key: {0}")]
    Key(String),
    #[error("the bundle holds no RSA-signed certificate")]
    NoRsaCertificate,
}

/// The PKCS #1 signature algorithms (`1.2.840.113549.1.1.*`: sha1/sha256/...WithRSA): the root
/// bundle's certificates Alipay counts in the root SN, as its official SDKs select them (the
/// bundle also holds ECC and SM2 certificates, which are skipped).
const PKCS1_SIGNATURE_ARC: &str = "1.2.840.113549.1.1.";

/// The SN of one certificate (the app's, or Alipay's own).
pub fn cert_sn(cert_pem: &str) -> Result<String, CertError> {
    Ok(sn_of(&parse(cert_pem)?))
}

/// The SN of Alipay's root bundle: the SNs of its RSA-signed certificates, joined by `_`.
pub fn root_cert_sn(bundle_pem: &str) -> Result<String, CertError> {
    let certs = pem_blocks(bundle_pem)
        .map(|der| parse_der(&der?))
        .collect::<Result<Vec<_>, _>>()?;
    let sns: Vec<String> = certs
        .iter()
        .filter(|c| {
            c.signature_algorithm
                .oid
                .to_string()
                .starts_with(PKCS1_SIGNATURE_ARC)
        })
        .map(sn_of)
        .collect();
    if sns.is_empty() {
        return Err(CertError::NoRsaCertificate);
    }
    Ok(sns.join("_"))
}

/// The RSA public key a certificate carries (Alipay's, to verify its answers).
pub fn public_key_of(cert_pem: &str) -> Result<RsaPublicKey, CertError> {
    RsaPublicKey::from_text(&public_key_text_of(cert_pem)?)
        .map_err(|e| CertError::Key(e.to_string()))
}

/// The certificate's SubjectPublicKeyInfo DER in base64: the form Alipay's console shows keys in.
pub fn public_key_text_of(cert_pem: &str) -> Result<String, CertError> {
    let spki = parse(cert_pem)?
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| CertError::Key(e.to_string()))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(spki))
}

fn parse(cert_pem: &str) -> Result<Certificate, CertError> {
    let der = pem_blocks(cert_pem)
        .next()
        .ok_or_else(|| CertError::Parse("no CERTIFICATE block".into()))??;
    parse_der(&der)
}

fn parse_der(der: &[u8]) -> Result<Certificate, CertError> {
    use x509_cert::der::Decode;
    Certificate::from_der(der).map_err(|e| CertError::Parse(e.to_string()))
}

/// The DER of each `CERTIFICATE` block. Read leniently by hand: Alipay's certificate files wrap
/// base64 at 76 columns, which strict RFC 7468 readers refuse.
fn pem_blocks(pem: &str) -> impl Iterator<Item = Result<Vec<u8>, CertError>> + '_ {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    pem.split(BEGIN).skip(1).map(|rest| {
        let body = rest
            .split(END)
            .next()
            .filter(|_| rest.contains(END))
            .ok_or_else(|| CertError::Parse("unterminated CERTIFICATE block".into()))?;
        let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| CertError::Parse(e.to_string()))
    })
}

fn sn_of(cert: &Certificate) -> String {
    let tbs = &cert.tbs_certificate;
    let content = format!(
        "{}{}",
        rfc2253(&tbs.issuer),
        decimal(tbs.serial_number.as_bytes())
    );
    hex::encode(Md5::digest(content.as_bytes()))
}

/// The DN as RFC 2253 writes it (as Java's `X500Principal.getName()` does): last RDN first.
fn rfc2253(name: &Name) -> String {
    name.0
        .iter()
        .rev()
        .map(|rdn| {
            rdn.0
                .iter()
                .map(|atv| match (keyword(&atv.oid), text_value(&atv.value)) {
                    (Some(k), Some(v)) => format!("{k}={}", escape(v)),
                    // RFC 2253 writes other attributes as the OID and the value's DER in hex.
                    _ => format!(
                        "{}=#{}",
                        atv.oid,
                        hex::encode(atv.value.to_der().unwrap_or_default())
                    ),
                })
                .collect::<Vec<_>>()
                .join("+")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The attribute types RFC 2253 (and Java) name by keyword.
fn keyword(oid: &ObjectIdentifier) -> Option<&'static str> {
    Some(match oid.to_string().as_str() {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.9" => "STREET",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        _ => return None,
    })
}

fn text_value(value: &x509_cert::der::Any) -> Option<&str> {
    match value.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String | Tag::TeletexString => {
            std::str::from_utf8(value.value()).ok()
        }
        _ => None,
    }
}

fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        let edge_space = c == ' ' && (i == 0 || i == last);
        if matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || edge_space
            || (c == '#' && i == 0)
        {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A big-endian unsigned integer in decimal (serial numbers run to 20 bytes, past u128).
fn decimal(big_endian: &[u8]) -> String {
    let mut digits: Vec<u8> = vec![0]; // little-endian base-10 digits
    for &byte in big_endian {
        let mut carry = u32::from(byte);
        for d in digits.iter_mut() {
            let v = u32::from(*d) * 256 + carry;
            *d = (v % 10) as u8;
            carry = v / 10;
        }
        while carry > 0 {
            digits.push((carry % 10) as u8);
            carry /= 10;
        }
    }
    while digits.len() > 1 && digits.last() == Some(&0) {
        digits.pop();
    }
    digits.iter().rev().map(|d| char::from(b'0' + d)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_numbers_print_in_decimal_past_u128() {
        assert_eq!(decimal(&[0]), "0");
        assert_eq!(decimal(&[0x01, 0x00]), "256");
        assert_eq!(decimal(&[0xff; 16]), u128::MAX.to_string());
        assert_eq!(
            decimal(&[0x01; 17]),
            "341616807575530379006368233343265341697"
        );
    }

    #[test]
    fn dn_values_escape_rfc2253_specials() {
        assert_eq!(escape("Ant, Inc"), "Ant\\, Inc");
        assert_eq!(escape(" a "), "\\ a\\ ");
        assert_eq!(escape("#x"), "\\#x");
    }
}
