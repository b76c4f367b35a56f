//! The channels `serve` offers besides the platform's wallet: WeChat Pay, Alipay and UnionPay,
//! each reached as configured (`[wechat]`, `[alipay]`, `[unionpay]` in the config file,
//! `PAYGATE_<CHANNEL>__*`) or, with no configuration and the sandbox on, through the in-process
//! sandbox, configured from the very credentials file it writes for any SDK. The adapters never
//! know which.

pub mod alipay;
pub mod unionpay;
pub mod wechat;

use crate::config::Settings;
use paygate_channels::Channel;
use paygate_domain::PayType;
use paygate_sandbox::{
    AlipaySandboxConfig, RunningAlipaySandbox, RunningUnionpaySandbox, RunningWechatSandbox,
    UnionpaySandboxConfig, WechatSandboxConfig,
};
use std::path::Path;
use std::sync::Arc;

/// How each channel's sandbox runs when the settings turn the sandbox on; a channel left
/// `None` gets no sandbox (tests start only the ones they use).
#[derive(Debug, Clone, Default)]
pub struct SandboxConfigs {
    pub wechat: Option<WechatSandboxConfig>,
    pub alipay: Option<AlipaySandboxConfig>,
    pub unionpay: Option<UnionpaySandboxConfig>,
}

impl SandboxConfigs {
    /// Each channel's real callback schedule, credentials under `data_dir`.
    pub fn in_dir(data_dir: &Path) -> SandboxConfigs {
        SandboxConfigs {
            wechat: Some(WechatSandboxConfig {
                data_dir: data_dir.to_owned(),
                ..WechatSandboxConfig::default()
            }),
            alipay: Some(AlipaySandboxConfig {
                data_dir: data_dir.to_owned(),
                ..AlipaySandboxConfig::default()
            }),
            unionpay: Some(UnionpaySandboxConfig {
                data_dir: data_dir.to_owned(),
                ..UnionpaySandboxConfig::default()
            }),
        }
    }
}

/// The sandboxes running in process, one per channel without a real account.
#[derive(Default)]
pub struct Sandboxes {
    pub wechat: Option<RunningWechatSandbox>,
    pub alipay: Option<RunningAlipaySandbox>,
    pub unionpay: Option<RunningUnionpaySandbox>,
}

impl Sandboxes {
    /// One `sandbox: <channel> base_url=... (credentials in ...)` line per running sandbox
    /// (DESIGN §13).
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if let Some(s) = &self.wechat {
            lines.push(line("wechat", &s.credentials.base_url, &s.credentials_path));
        }
        if let Some(s) = &self.alipay {
            // The gateway is `{base_url}/gateway.do`; the payer and faults are under base_url.
            let base = format!("http://{}", s.local_addr);
            lines.push(line("alipay", &base, &s.credentials_path));
        }
        if let Some(s) = &self.unionpay {
            let base = format!("http://{}", s.local_addr);
            lines.push(line("unionpay", &base, &s.credentials_path));
        }
        lines
    }

    /// Each running sandbox's base URL by the name of the channel it plays, for the cashier's
    /// "pay as the payer" (its payer simulator is `<base>/sandbox/payer`).
    pub fn payer_bases(&self) -> Vec<(&'static str, String)> {
        let mut bases = Vec::new();
        if let Some(s) = &self.wechat {
            bases.push((
                paygate_channels::wechat::CHANNEL_NAME,
                s.credentials.base_url.clone(),
            ));
        }
        if let Some(s) = &self.alipay {
            bases.push((
                paygate_channels::alipay::CHANNEL_NAME,
                format!("http://{}", s.local_addr),
            ));
        }
        if let Some(s) = &self.unionpay {
            bases.push((
                paygate_channels::unionpay::CHANNEL_NAME,
                format!("http://{}", s.local_addr),
            ));
        }
        bases
    }

    pub async fn shutdown(self) {
        if let Some(s) = self.wechat {
            s.shutdown().await;
        }
        if let Some(s) = self.alipay {
            s.shutdown().await;
        }
        if let Some(s) = self.unionpay {
            s.shutdown().await;
        }
    }
}

fn line(channel: &str, base_url: &str, credentials: &Path) -> String {
    format!(
        "sandbox: {channel} base_url={base_url} (credentials in {})",
        credentials.display()
    )
}

/// The external channels in force and the sandboxes serving them.
pub struct Channels {
    pub served: Vec<(PayType, Arc<dyn Channel>)>,
    pub sandboxes: Sandboxes,
}

/// Where a channel calls us back: `{public_url}/callback/{channel}`.
fn callback_base(settings: &Settings, channel: &str) -> String {
    format!("{}/callback/{channel}", settings.public_url())
}

/// Every channel: the configured account, else its sandbox when `sandbox` is given, else none.
pub async fn open(
    settings: &Settings,
    sandbox: Option<SandboxConfigs>,
) -> anyhow::Result<Channels> {
    let mut served = Vec::new();
    let mut sandboxes = Sandboxes::default();
    let SandboxConfigs {
        wechat: wechat_sandbox,
        alipay: alipay_sandbox,
        unionpay: unionpay_sandbox,
    } = sandbox.unwrap_or_default();
    let (channel, running) = wechat::open(settings, wechat_sandbox).await?;
    served.extend(serve(channel, &wechat::PAY_TYPES));
    sandboxes.wechat = running;
    let (channel, running) = alipay::open(settings, alipay_sandbox).await?;
    served.extend(serve(channel, &alipay::PAY_TYPES));
    sandboxes.alipay = running;
    let (channel, running) = unionpay::open(settings, unionpay_sandbox).await?;
    served.extend(serve(channel, &unionpay::PAY_TYPES));
    sandboxes.unionpay = running;
    Ok(Channels { served, sandboxes })
}

/// One adapter serves every product of its channel.
fn serve(
    channel: Option<Arc<dyn Channel>>,
    pay_types: &[PayType],
) -> Vec<(PayType, Arc<dyn Channel>)> {
    channel
        .map(|channel| pay_types.iter().map(|p| (*p, channel.clone())).collect())
        .unwrap_or_default()
}

fn read(path: &Path) -> anyhow::Result<String> {
    use anyhow::Context;
    std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))
}
