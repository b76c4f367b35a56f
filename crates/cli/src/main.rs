//! `paygate`: the gateway's one binary. `serve` runs the merchant API, cashier and operations
//! endpoints; the other commands administer merchants and wallets, apply migrations, print the
//! OpenAPI document and run the benchmark. Wiring and settings live here and nowhere else.

mod admin;
mod bench;

// Imported at the root so the commands' `crate::config` and `crate::wiring` name the library's.
use paygate::{config, serve, wiring};

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "paygate",
    version,
    about = "One signed merchant API over many payment channels"
)]
struct Cli {
    /// TOML configuration file; PAYGATE_* environment variables override it.
    #[arg(long, global = true, env = "PAYGATE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway: merchant API, cashier, health and metrics.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage merchants.
    #[command(subcommand)]
    Merchant(admin::MerchantCommand),
    /// Manage the stored-value wallet.
    #[command(subcommand)]
    Wallet(admin::WalletCommand),
    /// Inspect and re-send merchant notifications.
    #[command(subcommand)]
    Notify(admin::NotifyCommand),
    /// List what the jobs found that needs a person (e.g. payments after close).
    Anomalies {
        #[arg(long)]
        json: bool,
    },
    /// Print the OpenAPI 3.1 document.
    Openapi,
    /// Measure signed create-order throughput against the raw database insert ceiling
    /// (`bench notify`: notification delivery).
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match config::Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::from(2);
        }
    };
    serve::init_tracing(&settings);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve => serve::run(settings).await,
            Command::Migrate => wiring::open_store(&settings).await.map(|_| {
                println!("migrations applied");
            }),
            Command::Merchant(cmd) => admin::merchant(settings, cmd).await,
            Command::Wallet(cmd) => admin::wallet(settings, cmd).await,
            Command::Notify(cmd) => admin::notify(settings, cmd).await,
            Command::Anomalies { json } => admin::anomalies(settings, json).await,
            Command::Openapi => {
                use utoipa::OpenApi;
                let doc = paygate_http::openapi::ApiDoc::openapi();
                println!("{}", doc.to_pretty_json().expect("OpenAPI serialises"));
                Ok(())
            }
            Command::Bench(args) => bench::run(settings, args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
