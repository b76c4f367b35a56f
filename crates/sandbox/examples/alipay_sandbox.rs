//! Runs the Alipay sandbox alone until interrupted, for checks with other clients (the Python
//! SDK in `interop/alipay_check.py`) until `paygate serve` starts it.
//!
//! Usage: `cargo run -p paygate-sandbox --example alipay_sandbox -- <data_dir> [listen]`;
//! prints `alipay credentials=<path>` once it serves.

use paygate_sandbox::alipay::{start_alipay, AlipaySandboxConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let data_dir = args.next().unwrap_or_else(|| "./data".to_owned());
    let mut config = AlipaySandboxConfig {
        data_dir: data_dir.into(),
        ..AlipaySandboxConfig::default()
    };
    if let Some(listen) = args.next() {
        config.listen = listen.parse()?;
    }
    let sandbox = start_alipay(config).await?;
    println!("alipay credentials={}", sandbox.credentials_path.display());
    // Scripts stop it with SIGTERM: a background job of a script ignores SIGINT.
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        interrupted = tokio::signal::ctrl_c() => interrupted?,
        _ = terminate.recv() => {}
    }
    sandbox.shutdown().await;
    Ok(())
}
