//! The sandbox's credentials: generated at first start, kept under `<data_dir>/sandbox/` so a
//! restart (and the gateway configured from them) keeps working. `wechat.json` holds what a
//! merchant's SDK needs; the platform's private key, which only WeChat Pay would hold, lives in
//! its own file. Both are written with mode 0600.

use anyhow::{ensure, Context};
use paygate_domain::sign::{RsaPrivateKey, RsaPublicKey, SignKey, VerifyKey};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

use crate::ids;

pub const CREDENTIALS_FILE: &str = "wechat.json";
pub const PLATFORM_KEY_FILE: &str = "wechat-platform-private-key.pem";

/// What a WeChat Pay SDK needs to talk to the sandbox, as written to `wechat.json`.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
pub struct WechatCredentials {
    /// The v3 API's root, without a trailing slash (`http://127.0.0.1:PORT`).
    pub base_url: String,
    pub mchid: String,
    pub appid: String,
    pub merchant_serial_no: String,
    pub merchant_private_key_pem: String,
    pub apiv3_key: String,
    pub platform_public_key_pem: String,
    /// `PUB_KEY_ID_` and digits: the `Wechatpay-Serial` of every signed answer and callback.
    pub platform_public_key_id: String,
    pub v2_key: String,
    /// The official account's AppSecret, with which a page's server trades a web authorisation
    /// code for the payer's openid (`/sns/oauth2/access_token`). Files written before it
    /// existed get one on load.
    #[serde(default)]
    pub app_secret: String,
    /// The openid the sandbox's one payer has under `appid`.
    #[serde(default)]
    pub payer_openid: String,
}

impl fmt::Debug for WechatCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WechatCredentials")
            .field("base_url", &self.base_url)
            .field("mchid", &self.mchid)
            .field("appid", &self.appid)
            .field("merchant_serial_no", &self.merchant_serial_no)
            .field("merchant_private_key_pem", &"<redacted>")
            .field("apiv3_key", &"<redacted>")
            .field("platform_public_key_pem", &self.platform_public_key_pem)
            .field("platform_public_key_id", &self.platform_public_key_id)
            .field("v2_key", &"<redacted>")
            .field("app_secret", &"<redacted>")
            .field("payer_openid", &self.payer_openid)
            .finish()
    }
}

/// The credentials with their keys parsed, as the server uses them.
pub(crate) struct Keys {
    pub credentials: WechatCredentials,
    pub credentials_path: PathBuf,
    /// Verifies the merchant's requests.
    pub merchant_public: VerifyKey,
    /// Signs answers and callbacks.
    pub platform: SignKey,
}

/// Loads the credentials under `data_dir` (or makes them) and records `base_url` in them.
pub(crate) fn load_or_create(data_dir: &Path, base_url: &str) -> anyhow::Result<Keys> {
    let dir = data_dir.join("sandbox");
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    let credentials_path = dir.join(CREDENTIALS_FILE);
    let platform_path = dir.join(PLATFORM_KEY_FILE);
    let (mut credentials, platform) = if credentials_path.exists() && platform_path.exists() {
        read(&credentials_path, &platform_path)?
    } else {
        let (credentials, platform) = generate()?;
        write_private(&platform_path, &platform.to_pem())?;
        (credentials, platform)
    };
    credentials.base_url = base_url.to_owned();
    if credentials.app_secret.is_empty() {
        credentials.app_secret = ids::lower_hex(32);
    }
    if credentials.payer_openid.is_empty() {
        credentials.payer_openid = openid();
    }
    let json = serde_json::to_string_pretty(&credentials).context("serialise credentials")?;
    write_private(&credentials_path, &json)?;
    let merchant = RsaPrivateKey::from_text(&credentials.merchant_private_key_pem)
        .context("the merchant private key in wechat.json")?;
    Ok(Keys {
        credentials,
        credentials_path,
        merchant_public: VerifyKey::Rsa2(merchant.public_key()),
        platform: SignKey::Rsa2(platform),
    })
}

fn read(
    credentials_path: &Path,
    platform_path: &Path,
) -> anyhow::Result<(WechatCredentials, RsaPrivateKey)> {
    let text = std::fs::read_to_string(credentials_path)
        .with_context(|| format!("read {}", credentials_path.display()))?;
    let credentials: WechatCredentials = serde_json::from_str(&text)
        .with_context(|| format!("parse {}", credentials_path.display()))?;
    let pem = std::fs::read_to_string(platform_path)
        .with_context(|| format!("read {}", platform_path.display()))?;
    let platform = RsaPrivateKey::from_text(&pem).context("the platform private key")?;
    RsaPublicKey::from_text(&credentials.platform_public_key_pem)
        .context("the platform public key in wechat.json")?;
    ensure!(
        platform.public_key_pem() == credentials.platform_public_key_pem,
        "{} does not hold the private half of wechat.json's platform public key",
        platform_path.display()
    );
    ensure!(
        credentials.apiv3_key.len() == 32 && credentials.apiv3_key.is_ascii(),
        "the APIv3 key in wechat.json must be 32 ASCII characters"
    );
    Ok((credentials, platform))
}

fn generate() -> anyhow::Result<(WechatCredentials, RsaPrivateKey)> {
    let merchant = RsaPrivateKey::generate().context("generate the merchant key")?;
    let platform = RsaPrivateKey::generate().context("generate the platform key")?;
    let mchid = format!("19{}", ids::digits(8));
    let credentials = WechatCredentials {
        base_url: String::new(),
        appid: format!("wx{}", ids::alnum(16).to_lowercase()),
        merchant_serial_no: ids::upper_hex(40),
        merchant_private_key_pem: merchant.to_pem(),
        apiv3_key: ids::alnum(32),
        platform_public_key_pem: platform.public_key_pem(),
        platform_public_key_id: format!("PUB_KEY_ID_01{mchid}{}", ids::digits(18)),
        v2_key: ids::alnum(32),
        app_secret: ids::lower_hex(32),
        payer_openid: openid(),
        mchid,
    };
    Ok((credentials, platform))
}

/// 28 characters starting `o`, the shape WeChat's openids have.
fn openid() -> String {
    format!("o{}", ids::alnum(27))
}

/// Writes a file only its owner can read, replacing it whole.
pub(crate) fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
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
    fn debug_never_shows_the_secrets() {
        let (credentials, _) = generate().unwrap();
        let shown = format!("{credentials:?}");
        assert!(!shown.contains(&credentials.apiv3_key));
        assert!(!shown.contains(&credentials.v2_key));
        assert!(!shown.contains(&credentials.app_secret));
        assert!(!shown.contains("PRIVATE KEY"));
        assert!(shown.contains(&credentials.mchid));
    }
}
