//! `paygate sandbox`: the channel sandboxes alone, for a gateway elsewhere or any channel SDK.
//! WeChat Pay listens on `--listen`, Alipay and UnionPay on the next two ports (or on ports of
//! their own when `--listen` asks for port 0). Each writes `<data dir>/sandbox/<channel>.json`,
//! prints a `sandbox:` line, and serves until SIGTERM or Ctrl-C.

use crate::channels::Sandboxes;
use crate::config::Settings;
use crate::serve::shutdown_signal;
use anyhow::Context;
use paygate_sandbox::{
    start_alipay, start_unionpay, start_wechat, AlipaySandboxConfig, UnionpaySandboxConfig,
    WechatSandboxConfig,
};
use std::net::SocketAddr;

/// The address `offset` ports after `listen` (port 0 stays 0: any free port).
fn next_to(listen: SocketAddr, offset: u16) -> anyhow::Result<SocketAddr> {
    if listen.port() == 0 {
        return Ok(listen);
    }
    let port = listen
        .port()
        .checked_add(offset)
        .context("--listen leaves no room for the next two ports")?;
    Ok(SocketAddr::new(listen.ip(), port))
}

pub async fn run(settings: Settings, listen: SocketAddr) -> anyhow::Result<()> {
    let dir = &settings.data_dir;
    let sandboxes = Sandboxes {
        wechat: Some(
            start_wechat(WechatSandboxConfig {
                data_dir: dir.clone(),
                listen,
                ..WechatSandboxConfig::default()
            })
            .await
            .context("start the WeChat Pay sandbox")?,
        ),
        alipay: Some(
            start_alipay(AlipaySandboxConfig {
                data_dir: dir.clone(),
                listen: next_to(listen, 1)?,
                ..AlipaySandboxConfig::default()
            })
            .await
            .context("start the Alipay sandbox")?,
        ),
        unionpay: Some(
            start_unionpay(UnionpaySandboxConfig {
                data_dir: dir.clone(),
                listen: next_to(listen, 2)?,
                ..UnionpaySandboxConfig::default()
            })
            .await
            .context("start the UnionPay sandbox")?,
        ),
    };
    for line in sandboxes.lines() {
        println!("{line}");
    }
    shutdown_signal().await;
    sandboxes.shutdown().await;
    Ok(())
}
