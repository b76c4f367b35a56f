//! Runs the WeChat Pay sandbox alone until Ctrl-C: `cargo run -p paygate-sandbox --example
//! wechat_sandbox -- <data_dir> [listen]`. Prints one line with the base URL and the credentials
//! file, as `paygate sandbox` will.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut config = paygate_sandbox::WechatSandboxConfig::default();
    if let Some(data_dir) = args.next() {
        config.data_dir = data_dir.into();
    }
    if let Some(listen) = args.next() {
        config.listen = listen.parse()?;
    }
    let sandbox = paygate_sandbox::start_wechat(config).await?;
    println!(
        "sandbox: wechat base_url={} (credentials in {})",
        sandbox.credentials.base_url,
        sandbox.credentials_path.display()
    );
    tokio::signal::ctrl_c().await?;
    sandbox.shutdown().await;
    Ok(())
}
