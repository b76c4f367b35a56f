//! UnionPay: a configured merchant (its signing key and certificate, UnionPay's verifying
//! certificate), or the in-process sandbox.

use super::{callback_base, read};
use crate::config::{Settings, UnionpaySettings};
use anyhow::Context;
use paygate_channels::unionpay::{sign, UnionPay, UnionpayConfig, CHANNEL_NAME};
use paygate_channels::Channel;
use paygate_domain::sign::RsaPrivateKey;
use paygate_domain::PayType;
use paygate_sandbox::{
    start_unionpay, RunningUnionpaySandbox, UnionpayCredentials, UnionpaySandboxConfig,
};
use std::sync::Arc;

/// UnionPay's products, all served by one adapter.
pub const PAY_TYPES: [PayType; 5] = [
    PayType::UnionpayWeb,
    PayType::UnionpayH5,
    PayType::UnionpayApp,
    PayType::UnionpayNative,
    PayType::UnionpayMicropay,
];

/// The adapter and, when it plays UnionPay, the sandbox.
pub async fn open(
    settings: &Settings,
    sandbox: Option<UnionpaySandboxConfig>,
) -> anyhow::Result<(Option<Arc<dyn Channel>>, Option<RunningUnionpaySandbox>)> {
    // UnionPay posts every back notification (payments, refunds, voids) to one `backUrl`.
    let notify_url = format!("{}/pay", callback_base(settings, CHANNEL_NAME));
    if let Some(unionpay) = &settings.unionpay {
        let config = configured(unionpay, notify_url, settings.channel_timeout_ms)?;
        return Ok((Some(adapter(config)?), None));
    }
    let Some(sandbox_config) = sandbox else {
        return Ok((None, None));
    };
    let running = start_unionpay(sandbox_config)
        .await
        .context("start the UnionPay sandbox")?;
    let config = from_credentials(
        &running.credentials,
        notify_url,
        settings.channel_timeout_ms,
    )?;
    Ok((Some(adapter(config)?), Some(running)))
}

fn adapter(config: UnionpayConfig) -> anyhow::Result<Arc<dyn Channel>> {
    Ok(Arc::new(
        UnionPay::new(config).context("UnionPay configuration")?,
    ))
}

/// The adapter's configuration from `unionpay.json` as the sandbox writes it.
pub fn from_credentials(
    c: &UnionpayCredentials,
    notify_url: String,
    http_timeout_ms: u64,
) -> anyhow::Result<UnionpayConfig> {
    Ok(UnionpayConfig {
        front_url: c.front_url.clone(),
        back_url: c.back_url.clone(),
        app_url: c.app_url.clone(),
        query_url: c.query_url.clone(),
        file_url: c.file_url.clone(),
        mer_id: c.mer_id.clone(),
        sign_key: RsaPrivateKey::from_text(&c.sign_key_pem).context("sign_key_pem")?,
        cert_id: c.cert_id.clone(),
        verify_cert_pem: c.verify_cert_pem.clone(),
        notify_url,
        http_timeout_ms,
    })
}

/// The adapter's configuration for a real UnionPay merchant.
fn configured(
    u: &UnionpaySettings,
    notify_url: String,
    http_timeout_ms: u64,
) -> anyhow::Result<UnionpayConfig> {
    Ok(UnionpayConfig {
        front_url: u.front_url.clone(),
        back_url: u.back_url.clone(),
        app_url: u.app_url.clone(),
        query_url: u.query_url.clone(),
        file_url: u.file_url.clone(),
        mer_id: u.mer_id.clone(),
        sign_key: RsaPrivateKey::from_text(&read(&u.sign_key_path)?).context("sign_key_path")?,
        cert_id: sign::cert_id(&read(&u.sign_cert_path)?).context("sign_cert_path")?,
        verify_cert_pem: read(&u.verify_cert_path)?,
        notify_url,
        http_timeout_ms,
    })
}
