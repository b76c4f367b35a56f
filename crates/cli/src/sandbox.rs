//! `paygate sandbox`: the channel sandbox alone, for a gateway elsewhere or any channel SDK. It
//! writes `<data dir>/sandbox/wechat.json`, prints where it listens, and serves until SIGTERM or
//! Ctrl-C.

use crate::config::Settings;
use crate::serve::shutdown_signal;
use anyhow::Context;
use paygate_sandbox::{start_wechat, WechatSandboxConfig};
use std::net::SocketAddr;

pub async fn run(settings: Settings, listen: SocketAddr) -> anyhow::Result<()> {
    let sandbox = start_wechat(WechatSandboxConfig {
        data_dir: settings.data_dir.clone(),
        listen,
        ..WechatSandboxConfig::default()
    })
    .await
    .context("start the WeChat Pay sandbox")?;
    println!(
        "sandbox: wechat base_url={} (credentials in {})",
        sandbox.credentials.base_url,
        sandbox.credentials_path.display()
    );
    shutdown_signal().await;
    sandbox.shutdown().await;
    Ok(())
}
