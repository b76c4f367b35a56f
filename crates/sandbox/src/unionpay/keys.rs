//! The UnionPay sandbox's certificates: a root CA, UnionPay's signing certificate and the
//! merchant's signing certificate, both issued by that root. Made at first start and kept under
//! `<data_dir>/sandbox/` (mode 0600) so a restart, and a gateway configured from
//! `unionpay.json`, keeps working. UnionPay's own private key lives in a file of its own.

use anyhow::{ensure, Context};
use paygate_channels::unionpay::sign::{self, SigningCert};
use paygate_domain::sign::RsaPrivateKey;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SerialNumber};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

use crate::ids;

pub const CREDENTIALS_FILE: &str = "unionpay.json";
pub const UNIONPAY_KEY_FILE: &str = "unionpay-sign-private-key.pem";

/// What a UnionPay SDK needs to talk to the sandbox, as written to `unionpay.json`.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
pub struct UnionpayCredentials {
    pub front_url: String,
    pub back_url: String,
    pub app_url: String,
    pub query_url: String,
    pub file_url: String,
    pub mer_id: String,
    /// The merchant's signing certificate and its private key (PKCS #8 PEM).
    pub sign_cert_pem: String,
    pub sign_key_pem: String,
    /// The merchant certificate's serial number in decimal.
    pub cert_id: String,
    /// UnionPay's signing certificate, which signs answers and notifications.
    pub verify_cert_pem: String,
    /// The root both certificates chain to.
    pub root_cert_pem: String,
}

impl fmt::Debug for UnionpayCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnionpayCredentials")
            .field("front_url", &self.front_url)
            .field("back_url", &self.back_url)
            .field("app_url", &self.app_url)
            .field("query_url", &self.query_url)
            .field("file_url", &self.file_url)
            .field("mer_id", &self.mer_id)
            .field("cert_id", &self.cert_id)
            .field("sign_key_pem", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// The credentials with their keys parsed, as the server uses them.
pub(crate) struct Keys {
    pub credentials: UnionpayCredentials,
    pub credentials_path: PathBuf,
    /// Checks the merchant's requests.
    pub merchant: SigningCert,
    /// Signs answers and notifications.
    pub unionpay_key: RsaPrivateKey,
}

/// Loads the credentials under `data_dir` (or makes them) and records the endpoints of
/// `base_url` in them.
pub(crate) fn load_or_create(data_dir: &Path, base_url: &str) -> anyhow::Result<Keys> {
    use paygate_channels::unionpay::wire;
    let dir = data_dir.join("sandbox");
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    let credentials_path = dir.join(CREDENTIALS_FILE);
    let key_path = dir.join(UNIONPAY_KEY_FILE);
    let (mut credentials, unionpay_key) = if credentials_path.exists() && key_path.exists() {
        read(&credentials_path, &key_path)?
    } else {
        let (credentials, key) = generate()?;
        write_private(&key_path, &key.to_pem())?;
        (credentials, key)
    };
    credentials.front_url = format!("{base_url}{}", wire::PATH_FRONT);
    credentials.back_url = format!("{base_url}{}", wire::PATH_BACK);
    credentials.app_url = format!("{base_url}{}", wire::PATH_APP);
    credentials.query_url = format!("{base_url}{}", wire::PATH_QUERY);
    credentials.file_url = format!("{base_url}{}", wire::PATH_FILE);
    let json = serde_json::to_string_pretty(&credentials).context("serialise credentials")?;
    write_private(&credentials_path, &json)?;
    let merchant = SigningCert::from_pem(&credentials.sign_cert_pem)
        .context("the merchant certificate in unionpay.json")?;
    Ok(Keys {
        credentials,
        credentials_path,
        merchant,
        unionpay_key,
    })
}

fn read(
    credentials_path: &Path,
    key_path: &Path,
) -> anyhow::Result<(UnionpayCredentials, RsaPrivateKey)> {
    let text = std::fs::read_to_string(credentials_path)
        .with_context(|| format!("read {}", credentials_path.display()))?;
    let credentials: UnionpayCredentials = serde_json::from_str(&text)
        .with_context(|| format!("parse {}", credentials_path.display()))?;
    let pem = std::fs::read_to_string(key_path)
        .with_context(|| format!("read {}", key_path.display()))?;
    let key = RsaPrivateKey::from_text(&pem).context("UnionPay's signing key")?;
    let cert = SigningCert::from_pem(&credentials.verify_cert_pem)
        .context("UnionPay's certificate in unionpay.json")?;
    let probe = std::collections::BTreeMap::from([("probe".to_owned(), "1".to_owned())]);
    let mut signed = probe.clone();
    signed.insert("signature".into(), sign::sign(&key, &probe)?);
    ensure!(
        sign::verify(&cert.public_key, &signed).is_ok(),
        "{} does not hold the key of unionpay.json's verify_cert_pem",
        key_path.display()
    );
    Ok((credentials, key))
}

fn rcgen_key(key: &RsaPrivateKey) -> anyhow::Result<KeyPair> {
    KeyPair::from_pem(&key.to_pem()).context("an RSA key for rcgen")
}

fn params(common_name: &str, serial: u64, ca: bool) -> anyhow::Result<CertificateParams> {
    let mut params = CertificateParams::new(Vec::<String>::new()).context("certificate params")?;
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Paygate UnionPay sandbox");
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params.serial_number = Some(SerialNumber::from_slice(&serial.to_be_bytes()));
    if ca {
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    }
    Ok(params)
}

fn serial() -> u64 {
    // Eleven digits, like UnionPay's certIds.
    ids::digits(11).parse().unwrap_or(68_759_663_125)
}

fn generate() -> anyhow::Result<(UnionpayCredentials, RsaPrivateKey)> {
    let root_key = RsaPrivateKey::generate().context("generate the root key")?;
    let unionpay_key = RsaPrivateKey::generate().context("generate UnionPay's key")?;
    let merchant_key = RsaPrivateKey::generate().context("generate the merchant key")?;
    let root_pair = rcgen_key(&root_key)?;
    let root = params("Sandbox Root CA", serial(), true)?
        .self_signed(&root_pair)
        .context("self-sign the root")?;
    let unionpay_cert = params("UnionPay sandbox signing", serial(), false)?
        .signed_by(&rcgen_key(&unionpay_key)?, &root, &root_pair)
        .context("issue UnionPay's certificate")?;
    let merchant_serial = serial();
    let mer_id = format!("777{}", ids::digits(12));
    let merchant_cert = params(&format!("{mer_id}:SIGN"), merchant_serial, false)?
        .signed_by(&rcgen_key(&merchant_key)?, &root, &root_pair)
        .context("issue the merchant's certificate")?;
    let credentials = UnionpayCredentials {
        front_url: String::new(),
        back_url: String::new(),
        app_url: String::new(),
        query_url: String::new(),
        file_url: String::new(),
        mer_id,
        sign_cert_pem: merchant_cert.pem(),
        sign_key_pem: merchant_key.to_pem(),
        cert_id: merchant_serial.to_string(),
        verify_cert_pem: unionpay_cert.pem(),
        root_cert_pem: root.pem(),
    };
    Ok((credentials, unionpay_key))
}

/// Writes a file only its owner can read, replacing it whole.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let partial = path.with_extension("partial");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&partial)
        .with_context(|| format!("open {}", partial.display()))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("write {}", partial.display()))?;
    std::fs::rename(&partial, path).with_context(|| format!("rename to {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_merchant_cert_id_is_its_certificates_serial_and_debug_hides_the_key() {
        let (credentials, _) = generate().unwrap();
        let cert = SigningCert::from_pem(&credentials.sign_cert_pem).unwrap();
        assert_eq!(cert.cert_id, credentials.cert_id);
        let shown = format!("{credentials:?}");
        assert!(!shown.contains("PRIVATE KEY"));
        assert!(shown.contains(&credentials.mer_id));
    }
}
