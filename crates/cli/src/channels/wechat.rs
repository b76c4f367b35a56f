//! WeChat Pay: a configured merchant account, or the in-process sandbox.

use super::{callback_base, read};
use crate::config::{Settings, WechatSettings};
use anyhow::Context;
use paygate_channels::wechat::{PlatformKey, WechatConfig, WechatPay, WechatSignIn, CHANNEL_NAME};
use paygate_channels::Channel;
use paygate_domain::sign::{RsaPrivateKey, RsaPublicKey};
use paygate_domain::PayType;
use paygate_sandbox::{start_wechat, RunningWechatSandbox, WechatCredentials, WechatSandboxConfig};
use std::sync::Arc;

/// WeChat Pay's products, all served by one adapter.
pub const PAY_TYPES: [PayType; 5] = [
    PayType::WechatJsapi,
    PayType::WechatNative,
    PayType::WechatH5,
    PayType::WechatApp,
    PayType::WechatMicropay,
];

/// The adapter and, when it plays WeChat Pay, the sandbox.
pub async fn open(
    settings: &Settings,
    sandbox: Option<WechatSandboxConfig>,
) -> anyhow::Result<(Option<Arc<dyn Channel>>, Option<RunningWechatSandbox>)> {
    let notify_base_url = callback_base(settings, CHANNEL_NAME);
    if let Some(wechat) = &settings.wechat {
        let config = configured(wechat, notify_base_url, settings.channel_timeout_ms)?;
        let sign_in = wechat
            .app_secret
            .clone()
            .map(|secret| {
                WechatSignIn::new(
                    &wechat.oauth_authorize_base_url,
                    &wechat.oauth_api_base_url,
                    &wechat.appid,
                    secret,
                    settings.channel_timeout_ms,
                )
            })
            .transpose()
            .context("WeChat web authorisation")?;
        return Ok((Some(adapter(config, sign_in)?), None));
    }
    let Some(sandbox_config) = sandbox else {
        return Ok((None, None));
    };
    let running = start_wechat(sandbox_config)
        .await
        .context("start the WeChat Pay sandbox")?;
    let c = &running.credentials;
    let config = from_credentials(c, notify_base_url, settings.channel_timeout_ms)?;
    // The sandbox plays WeChat's web authorisation at its own base URL.
    let sign_in = WechatSignIn::new(
        &c.base_url,
        &c.base_url,
        &c.appid,
        c.app_secret.as_str().into(),
        settings.channel_timeout_ms,
    )
    .context("WeChat web authorisation")?;
    Ok((Some(adapter(config, Some(sign_in))?), Some(running)))
}

fn adapter(
    config: WechatConfig,
    sign_in: Option<WechatSignIn>,
) -> anyhow::Result<Arc<dyn Channel>> {
    let adapter = WechatPay::new(config).context("WeChat Pay configuration")?;
    Ok(Arc::new(match sign_in {
        Some(sign_in) => adapter.with_sign_in(sign_in),
        None => adapter,
    }))
}

/// The adapter's configuration from a credentials file as the sandbox writes it (and as any
/// SDK reads it).
pub fn from_credentials(
    c: &WechatCredentials,
    notify_base_url: String,
    http_timeout_ms: u64,
) -> anyhow::Result<WechatConfig> {
    Ok(WechatConfig {
        base_url: c.base_url.clone(),
        mchid: c.mchid.clone(),
        appid: c.appid.clone(),
        merchant_serial_no: c.merchant_serial_no.clone(),
        merchant_private_key: RsaPrivateKey::from_text(&c.merchant_private_key_pem)
            .context("merchant_private_key_pem")?,
        apiv3_key: c.apiv3_key.as_str().into(),
        platform: vec![PlatformKey::PublicKey {
            id: c.platform_public_key_id.clone(),
            key: RsaPublicKey::from_text(&c.platform_public_key_pem)
                .context("platform_public_key_pem")?,
        }],
        v2_key: Some(c.v2_key.as_str().into()),
        merchant_certificate_pem: None,
        notify_base_url,
        http_timeout_ms,
    })
}

/// The adapter's configuration for a real WeChat Pay merchant account.
fn configured(
    w: &WechatSettings,
    notify_base_url: String,
    http_timeout_ms: u64,
) -> anyhow::Result<WechatConfig> {
    let mut platform = Vec::new();
    if let (Some(id), Some(path)) = (&w.platform_public_key_id, &w.platform_public_key_path) {
        platform.push(PlatformKey::PublicKey {
            id: id.clone(),
            key: RsaPublicKey::from_text(&read(path)?).context("platform_public_key_path")?,
        });
    }
    let mut certificates = Vec::new();
    for certificate in &w.platform_certificates {
        let key = RsaPublicKey::from_text(&read(&certificate.public_key_path)?)
            .context("platform_certificates.public_key_path")?;
        certificates.push((certificate.serial_no.clone(), key));
    }
    if !certificates.is_empty() {
        platform.push(PlatformKey::Certificates(certificates));
    }
    Ok(WechatConfig {
        base_url: w.base_url.clone(),
        mchid: w.mchid.clone(),
        appid: w.appid.clone(),
        merchant_serial_no: w.merchant_serial_no.clone(),
        merchant_private_key: RsaPrivateKey::from_text(&read(&w.merchant_private_key_path)?)
            .context("merchant_private_key_path")?,
        apiv3_key: w.apiv3_key.clone(),
        platform,
        v2_key: w.v2_key.clone(),
        merchant_certificate_pem: w
            .merchant_certificate_path
            .as_deref()
            .map(read)
            .transpose()?,
        notify_base_url,
        http_timeout_ms,
    })
}
