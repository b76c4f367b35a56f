//! Alipay: a configured app (public-key or certificate mode), or the in-process sandbox.

use super::{callback_base, read};
use crate::config::{AlipaySettings, Settings};
use anyhow::Context;
use paygate_channels::alipay::{cert, AlipayConfig, AlipayKey, AlipayPay, CHANNEL_NAME};
use paygate_channels::Channel;
use paygate_domain::sign::{RsaPrivateKey, RsaPublicKey};
use paygate_domain::PayType;
use paygate_sandbox::{start_alipay, AlipayCredentials, AlipaySandboxConfig, RunningAlipaySandbox};
use std::sync::Arc;

/// Alipay's products, all served by one adapter.
pub const PAY_TYPES: [PayType; 6] = [
    PayType::AlipayNative,
    PayType::AlipayJsapi,
    PayType::AlipayH5,
    PayType::AlipayPc,
    PayType::AlipayApp,
    PayType::AlipayMicropay,
];

/// The adapter and, when it plays Alipay, the sandbox.
pub async fn open(
    settings: &Settings,
    sandbox: Option<AlipaySandboxConfig>,
) -> anyhow::Result<(Option<Arc<dyn Channel>>, Option<RunningAlipaySandbox>)> {
    // Every Alipay notification (payments and refunds alike) comes to one address.
    let notify_url = format!("{}/pay", callback_base(settings, CHANNEL_NAME));
    if let Some(alipay) = &settings.alipay {
        let config = configured(alipay, notify_url, settings.channel_timeout_ms)?;
        return Ok((Some(adapter(config)?), None));
    }
    let Some(sandbox_config) = sandbox else {
        return Ok((None, None));
    };
    let running = start_alipay(sandbox_config)
        .await
        .context("start the Alipay sandbox")?;
    let config = from_credentials(
        &running.credentials,
        notify_url,
        settings.channel_timeout_ms,
    )?;
    Ok((Some(adapter(config)?), Some(running)))
}

fn adapter(config: AlipayConfig) -> anyhow::Result<Arc<dyn Channel>> {
    Ok(Arc::new(
        AlipayPay::new(config).context("Alipay configuration")?,
    ))
}

/// The adapter's configuration from `alipay.json` as the sandbox writes it (public-key mode).
pub fn from_credentials(
    c: &AlipayCredentials,
    notify_url: String,
    http_timeout_ms: u64,
) -> anyhow::Result<AlipayConfig> {
    Ok(AlipayConfig {
        gateway_url: c.gateway_url.clone(),
        app_id: c.app_id.clone(),
        seller_id: Some(c.seller_id.clone()),
        app_private_key: RsaPrivateKey::from_text(&c.app_private_key_pem)
            .context("app_private_key_pem")?,
        alipay_key: AlipayKey::PublicKey(
            RsaPublicKey::from_text(&c.alipay_public_key_pem).context("alipay_public_key_pem")?,
        ),
        notify_url,
        http_timeout_ms,
    })
}

/// The adapter's configuration for a real Alipay app: certificate mode when the three
/// certificates are given, public-key mode otherwise.
fn configured(
    a: &AlipaySettings,
    notify_url: String,
    http_timeout_ms: u64,
) -> anyhow::Result<AlipayConfig> {
    let certificates = (
        &a.app_cert_path,
        &a.alipay_cert_path,
        &a.alipay_root_cert_path,
    );
    let alipay_key = match (certificates, &a.alipay_public_key_path) {
        ((Some(app), Some(alipay), Some(root)), _) => AlipayKey::Certificate {
            app_cert_sn: cert::cert_sn(&read(app)?).context("app_cert_path")?,
            alipay_root_cert_sn: cert::root_cert_sn(&read(root)?)
                .context("alipay_root_cert_path")?,
            alipay_cert_pem: read(alipay)?,
        },
        ((None, None, None), Some(path)) => AlipayKey::PublicKey(
            RsaPublicKey::from_text(&read(path)?).context("alipay_public_key_path")?,
        ),
        _ => anyhow::bail!(
            "[alipay] needs alipay_public_key_path (public-key mode) or all of app_cert_path, \
             alipay_cert_path and alipay_root_cert_path (certificate mode)"
        ),
    };
    Ok(AlipayConfig {
        gateway_url: a.gateway_url.clone(),
        app_id: a.app_id.clone(),
        seller_id: a.seller_id.clone(),
        app_private_key: RsaPrivateKey::from_text(&read(&a.app_private_key_path)?)
            .context("app_private_key_path")?,
        alipay_key,
        notify_url,
        http_timeout_ms,
    })
}
