//! `paygate serve`: build the application (`startup`: settings checked, address bound, database
//! opened), make sure a demo merchant exists on a fresh embedded database (or wherever
//! `PAYGATE_DEMO=true`), print where it listens, and serve until SIGTERM or Ctrl-C.

use crate::config::{LogFormat, Settings};
use crate::startup::Application;
use crate::wiring;
use paygate_app::{App, NewMerchantInput};
use paygate_domain::address::PrivateTargets;
use paygate_domain::sign::SignType;
use paygate_domain::{Currency, Money, PayType, WalletAccountId};
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

pub fn init_tracing(settings: &Settings) {
    let filter = EnvFilter::try_new(&settings.log).unwrap_or_else(|_| EnvFilter::new("info"));
    // Colour codes only for a person at a terminal; in a file or a collector they are noise.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match settings.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

pub const DEMO_PAYER: &str = "demo_payer";

/// On a database without merchants: a demo merchant (MD5, every pay type served here) and a
/// funded payer wallet,
/// written to `demo-merchant.json` in the data directory for scripts.
async fn ensure_demo(app: &App, settings: &Settings, pay_types: &[PayType]) -> anyhow::Result<()> {
    if !settings.demo() || !app.list_merchants().await.map_err(anyhow_of)?.is_empty() {
        return Ok(());
    }
    let created = app
        .create_merchant(NewMerchantInput {
            id: None,
            name: "Demo shop".into(),
            sign_type: SignType::Md5,
            rsa_public_key: None,
            pay_types: pay_types.to_vec(),
            notify_delays_secs: None,
            // The demo is tried against a merchant server on the same machine.
            private_targets: PrivateTargets::Allowed,
        })
        .await
        .map_err(anyhow_of)?;
    let payer = WalletAccountId::parse(DEMO_PAYER).expect("valid id");
    let funds = Money::parse("1000.00", Currency::Cny).expect("valid amount");
    app.wallet_topup(&payer, funds).await.map_err(anyhow_of)?;
    let path = settings.data_dir.join("demo-merchant.json");
    let json = serde_json::json!({
        "merchant_id": created.id.as_str(),
        "secret": created.secret,
        "sign_type": "MD5",
        "payer_wallet": DEMO_PAYER,
        "base_url": settings.public_url(),
    });
    wiring::write_private(&path, &serde_json::to_string_pretty(&json)?)?;
    println!(
        "demo merchant: merchant_id={} secret={} sign_type=MD5",
        created.id,
        created.secret.expose()
    );
    println!(
        "demo details (and the payer wallet {DEMO_PAYER} with 1000.00 CNY): {}; \
         platform RSA public key: GET /api/platform/public-key",
        path.display()
    );
    Ok(())
}

fn anyhow_of(error: paygate_app::AppError) -> anyhow::Error {
    anyhow::anyhow!("{error}")
}

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let application = Application::build(settings).await?;
    for line in application.sandboxes().lines() {
        println!("{line}");
    }
    ensure_demo(
        application.app(),
        application.settings(),
        application.pay_types(),
    )
    .await?;
    println!("listening on {}", application.base_url());
    application.run_until_stopped(shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
