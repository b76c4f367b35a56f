//! The Alipay sandbox's credentials: made at first start, kept under `<data_dir>/sandbox/` so a
//! restart keeps working. `alipay.json` holds what a merchant's SDK needs in either mode (public
//! keys, or certificates and their SNs); `alipay-keys.json` holds Alipay's own private key, which
//! only Alipay would hold. Certificates: a root CA signs an "Alipay" certificate and the app's
//! certificate, all RSA 2048 with SHA256withRSA. Both files are written with mode 0600.

use anyhow::{ensure, Context};
use paygate_channels::alipay::cert;
use paygate_domain::sign::{RsaPrivateKey, RsaPublicKey};
use rcgen::{CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, SerialNumber};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

use super::ids::random_bytes;
use crate::ids::digits;
use crate::keys::write_private;

pub const CREDENTIALS_FILE: &str = "alipay.json";
pub const SECRETS_FILE: &str = "alipay-keys.json";

/// What an Alipay SDK needs to talk to the sandbox, as written to `alipay.json`.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
pub struct AlipayCredentials {
    /// `http://127.0.0.1:PORT/gateway.do`.
    pub gateway_url: String,
    pub app_id: String,
    /// The merchant's Alipay user id: `2088` and 12 digits.
    pub seller_id: String,
    pub app_private_key_pem: String,
    pub app_public_key_pem: String,
    pub alipay_public_key_pem: String,
    pub app_cert_pem: String,
    pub app_cert_sn: String,
    pub alipay_cert_pem: String,
    pub alipay_cert_sn: String,
    pub alipay_root_cert_pem: String,
    pub alipay_root_cert_sn: String,
}

impl fmt::Debug for AlipayCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AlipayCredentials")
            .field("gateway_url", &self.gateway_url)
            .field("app_id", &self.app_id)
            .field("seller_id", &self.seller_id)
            .field("app_private_key_pem", &"<redacted>")
            .field("app_cert_sn", &self.app_cert_sn)
            .field("alipay_cert_sn", &self.alipay_cert_sn)
            .field("alipay_root_cert_sn", &self.alipay_root_cert_sn)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
struct Secrets {
    alipay_private_key_pem: String,
}

/// The credentials with their keys parsed, as the server uses them.
pub(crate) struct Keys {
    pub credentials: AlipayCredentials,
    pub credentials_path: PathBuf,
    /// Verifies the app's requests.
    pub app_public: RsaPublicKey,
    /// Signs answers and notifications.
    pub alipay_private: RsaPrivateKey,
}

/// Loads the credentials under `data_dir` (or makes them) and records `gateway_url` in them.
pub(crate) fn load_or_create(data_dir: &Path, gateway_url: &str) -> anyhow::Result<Keys> {
    let dir = data_dir.join("sandbox");
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    let credentials_path = dir.join(CREDENTIALS_FILE);
    let secrets_path = dir.join(SECRETS_FILE);
    let (mut credentials, alipay_private) = if credentials_path.exists() && secrets_path.exists() {
        read(&credentials_path, &secrets_path)?
    } else {
        let (credentials, alipay_private) = generate()?;
        let secrets = Secrets {
            alipay_private_key_pem: alipay_private.to_pem(),
        };
        let json = serde_json::to_string_pretty(&secrets).context("serialise Alipay's key")?;
        write_private(&secrets_path, &json)?;
        (credentials, alipay_private)
    };
    credentials.gateway_url = gateway_url.to_owned();
    let json = serde_json::to_string_pretty(&credentials).context("serialise credentials")?;
    write_private(&credentials_path, &json)?;
    let app_public = RsaPublicKey::from_text(&credentials.app_public_key_pem)
        .context("the app public key in alipay.json")?;
    Ok(Keys {
        credentials,
        credentials_path,
        app_public,
        alipay_private,
    })
}

fn read(
    credentials_path: &Path,
    secrets_path: &Path,
) -> anyhow::Result<(AlipayCredentials, RsaPrivateKey)> {
    let text = std::fs::read_to_string(credentials_path)
        .with_context(|| format!("read {}", credentials_path.display()))?;
    let credentials: AlipayCredentials = serde_json::from_str(&text)
        .with_context(|| format!("parse {}", credentials_path.display()))?;
    let text = std::fs::read_to_string(secrets_path)
        .with_context(|| format!("read {}", secrets_path.display()))?;
    let secrets: Secrets =
        serde_json::from_str(&text).with_context(|| format!("parse {}", secrets_path.display()))?;
    let alipay = RsaPrivateKey::from_text(&secrets.alipay_private_key_pem)
        .context("Alipay's private key")?;
    ensure!(
        alipay.public_key_pem() == credentials.alipay_public_key_pem,
        "{} does not hold the private half of alipay.json's Alipay public key",
        secrets_path.display()
    );
    ensure!(
        cert::cert_sn(&credentials.app_cert_pem)? == credentials.app_cert_sn,
        "alipay.json's app_cert_sn does not name its app certificate"
    );
    Ok((credentials, alipay))
}

/// Names in the order Alipay's issuers carry them (C, O, OU, CN), so the RFC 2253 form the SN is
/// computed over reads `CN=..,OU=..,O=..,C=..` as SDKs that hard-code that order expect.
fn name(organisational_unit: &str, common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CountryName, "CN");
    name.push(DnType::OrganizationName, "Paygate Sandbox");
    name.push(DnType::OrganizationalUnitName, organisational_unit);
    name.push(DnType::CommonName, common_name);
    name
}

fn params(name: DistinguishedName, is_ca: IsCa) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = name;
    params.is_ca = is_ca;
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after = rcgen::date_time_ymd(2036, 1, 1);
    // Positive, 8 bytes: SNs use the decimal serial, and DER would pad a high bit with a zero.
    let mut serial = random_bytes(8);
    serial[0] &= 0x7f;
    serial[0] |= 0x10;
    params.serial_number = Some(SerialNumber::from(serial));
    params
}

fn key_pair(key: &RsaPrivateKey) -> anyhow::Result<KeyPair> {
    KeyPair::from_pem(&key.to_pem()).context("hand an RSA key to the certificate maker")
}

fn generate() -> anyhow::Result<(AlipayCredentials, RsaPrivateKey)> {
    let root_key = RsaPrivateKey::generate().context("generate the root CA key")?;
    let alipay_key = RsaPrivateKey::generate().context("generate Alipay's key")?;
    let app_key = RsaPrivateKey::generate().context("generate the app key")?;
    let app_id = format!("2021{}", digits(12));
    let root_pair = key_pair(&root_key)?;
    let root = params(
        name("Certification Authority", "Paygate Sandbox Alipay Root CA"),
        IsCa::Ca(rcgen::BasicConstraints::Unconstrained),
    )
    .self_signed(&root_pair)
    .context("sign the root certificate")?;
    let alipay_cert = params(name("Alipay", "Alipay Open Platform (sandbox)"), IsCa::NoCa)
        .signed_by(&key_pair(&alipay_key)?, &root, &root_pair)
        .context("sign Alipay's certificate")?;
    let app_cert = params(name("Alipay Open Platform", &app_id), IsCa::NoCa)
        .signed_by(&key_pair(&app_key)?, &root, &root_pair)
        .context("sign the app's certificate")?;
    let (app_cert_pem, alipay_cert_pem, root_pem) = (app_cert.pem(), alipay_cert.pem(), root.pem());
    let credentials = AlipayCredentials {
        gateway_url: String::new(),
        seller_id: format!("2088{}", digits(12)),
        app_private_key_pem: app_key.to_pem(),
        app_public_key_pem: app_key.public_key_pem(),
        alipay_public_key_pem: alipay_key.public_key_pem(),
        app_cert_sn: cert::cert_sn(&app_cert_pem)?,
        alipay_cert_sn: cert::cert_sn(&alipay_cert_pem)?,
        alipay_root_cert_sn: cert::root_cert_sn(&root_pem)?,
        app_cert_pem,
        alipay_cert_pem,
        alipay_root_cert_pem: root_pem,
        app_id,
    };
    Ok((credentials, alipay_key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_carry_the_keys_and_debug_hides_the_private_one() {
        let (credentials, alipay_key) = generate().unwrap();
        let in_cert = cert::public_key_of(&credentials.alipay_cert_pem).unwrap();
        let signed = paygate_channels::alipay::sign::sign_rsa2(&alipay_key, "a=1");
        assert!(paygate_channels::alipay::sign::verify_rsa2(
            &in_cert, "a=1", &signed
        ));
        assert_eq!(credentials.app_cert_sn.len(), 32);
        assert_ne!(credentials.app_cert_sn, credentials.alipay_cert_sn);
        assert!(!format!("{credentials:?}").contains("PRIVATE KEY"));
    }
}
