//! Operator commands for settlement: run a business day's settlement now (idempotent, as the
//! daily job does it) and list settlements.

use clap::Subcommand;
use paygate::config::Settings;
use paygate::wiring;
use paygate_app::settlement::settlement_view;
use paygate_domain::settlement::BusinessDate;
use paygate_domain::MerchantId;

#[derive(Subcommand)]
pub enum SettlementCommand {
    /// Settle one business day (China time) now; a merchant's day settles at most once.
    Run {
        /// YYYY-MM-DD
        #[arg(long)]
        date: String,
        #[arg(long)]
        json: bool,
    },
    /// The latest settlements, newest business day first.
    List {
        #[arg(long)]
        merchant_id: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

pub async fn settlement(settings: Settings, command: SettlementCommand) -> anyhow::Result<()> {
    let app = wiring::open_app(&settings).await?;
    match command {
        SettlementCommand::Run { date, json } => {
            let date = BusinessDate::parse(&date)?;
            let report = app
                .run_settlement_day(date)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.public_message()))?;
            let view = report.view(date);
            if json {
                println!("{}", serde_json::to_string(&view)?);
            } else {
                println!(
                    "{}: settled={} already_settled={} below_minimum={} failed={}",
                    view.business_date,
                    view.settled,
                    view.already_settled,
                    view.below_minimum,
                    view.failed
                );
            }
            anyhow::ensure!(view.failed == 0, "some merchants failed; run the day again");
        }
        SettlementCommand::List { merchant_id, json } => {
            let merchant = merchant_id
                .as_deref()
                .map(MerchantId::parse)
                .transpose()
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let records = app.store().settlements(merchant.as_ref(), 500).await?;
            for view in records.iter().map(settlement_view) {
                if json {
                    println!("{}", serde_json::to_string(&view)?);
                } else {
                    println!(
                        "{} {} {} {} {} {} withdrawn={}",
                        view.business_date,
                        view.settlement_no,
                        view.merchant_id,
                        view.trigger,
                        view.amount,
                        view.currency,
                        view.withdrawn
                    );
                }
            }
        }
    }
    Ok(())
}
