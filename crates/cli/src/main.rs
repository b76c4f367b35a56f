//! `paygate`: the gateway's one binary. `serve` runs the merchant API, cashier and operations
//! endpoints; the other commands administer merchants and wallets, apply migrations and print
//! the OpenAPI document. Wiring and settings live in this package's library (`paygate::startup`,
//! `paygate::config`), which the tests and the benchmark (`paygate-bench`) use as well.

mod admin;
mod settlement;

// Imported at the root so the commands' `crate::config` and `crate::wiring` name the library's.
use paygate::{config, demo_shop, sandbox, serve, wiring};

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
    /// Run the channel sandboxes alone (WeChat Pay, Alipay and UnionPay on loopback), for SDKs
    /// or a gateway elsewhere.
    Sandbox {
        /// WeChat Pay's address; Alipay and UnionPay take the next two ports (port 0: each a free
        /// one).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: std::net::SocketAddr,
    },
    /// Run a tiny merchant web shop against a gateway (by default the demo merchant of a local
    /// `paygate serve`): product page, cashier, notification, paid order.
    DemoShop(demo_shop::DemoShopArgs),
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
    /// Run and list merchant settlements (T+N, minimum, manual).
    #[command(subcommand)]
    Settlement(settlement::SettlementCommand),
    /// Ledger balances and account statements.
    #[command(subcommand)]
    Ledger(admin::LedgerCommand),
    /// List what the jobs found that needs a person (e.g. payments after close).
    Anomalies {
        #[arg(long)]
        json: bool,
    },
    /// Print the OpenAPI 3.1 document.
    Openapi,
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
            Command::Sandbox { listen } => sandbox::run(settings, listen).await,
            Command::DemoShop(args) => demo_shop::run(settings, args).await,
            Command::Migrate => wiring::open_store(&settings).await.map(|_| {
                println!("migrations applied");
            }),
            Command::Merchant(cmd) => admin::merchant(settings, cmd).await,
            Command::Wallet(cmd) => admin::wallet(settings, cmd).await,
            Command::Notify(cmd) => admin::notify(settings, cmd).await,
            Command::Ledger(cmd) => admin::ledger(settings, cmd).await,
            Command::Anomalies { json } => admin::anomalies(settings, json).await,
            Command::Settlement(cmd) => settlement::settlement(settings, cmd).await,
            Command::Openapi => {
                use utoipa::OpenApi;
                let doc = paygate_http::openapi::ApiDoc::openapi();
                println!("{}", doc.to_pretty_json().expect("OpenAPI serialises"));
                Ok(())
            }
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

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::{CommandFactory, Parser};

    #[test]
    fn the_benchmark_is_not_a_command_of_the_production_binary() {
        let help = Cli::command().render_help().to_string();
        assert!(help.contains("serve"), "{help}");
        assert!(!help.contains("bench"), "{help}");
        assert!(Cli::try_parse_from(["paygate", "bench"]).is_err());
    }
}
