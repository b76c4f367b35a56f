//! `paygate-bench notify`: how fast real `paygate serve` processes deliver merchant
//! notifications, on PostgreSQL.
//!
//! - **drain** (`drain`): a backlog of paid orders' notifications written before the gateway
//!   processes start, delivered to `--hosts` merchant endpoints by `--processes` processes.
//! - **lag** (`lag`): orders marked paid at `--rate` per second for `--lag-secs` while the
//!   processes run; the time from each order being marked paid to its notification arriving.
//!
//! Each run gets a fresh database and world (`world`: the app the bench seeds through, one
//! merchant per host), merchant endpoints in this process (`merchant`) and freshly spawned
//! gateway processes (`gateway`), all torn down after it. `report` reduces repeated runs.

mod drain;
mod gateway;
mod lag;
mod merchant;
mod report;
mod world;

use super::target::BenchDb;
use super::{dedup, Machine, DEFAULT_PG_URL};
use anyhow::Context;
use merchant::Merchants;
use paygate::config::Settings;
use paygate_store::Backend;
use serde::Serialize;
use world::World;

#[derive(clap::Args, Debug)]
pub struct NotifyArgs {
    /// What to measure (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [Scenario::Drain, Scenario::Lag])]
    scenarios: Vec<Scenario>,
    /// Drain: notifications due when the gateway processes start.
    #[arg(long, default_value_t = 10_000,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    backlog: u32,
    /// Drain: merchant endpoints (distinct host:port), one run per value (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [1u16, 100],
          value_parser = clap::value_parser!(u16).range(1..=1000))]
    hosts: Vec<u16>,
    /// Gateway processes, one run per value, for drain and lag (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [1u16, 2],
          value_parser = clap::value_parser!(u16).range(1..=32))]
    processes: Vec<u16>,
    /// Lag: orders marked paid per second.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    rate: u32,
    /// Lag: seconds orders are marked paid for (rate × seconds orders are created first).
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=3600))]
    lag_secs: u32,
    /// Lag: merchant endpoints, one run per value (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [100u16],
          value_parser = clap::value_parser!(u16).range(1..=1000))]
    lag_hosts: Vec<u16>,
    /// Times each configuration is measured; figures show median, min and max.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    runs: u32,
    /// PostgreSQL server to create each run's database on (the database named here is only
    /// used to issue CREATE/DROP DATABASE).
    #[arg(long, env = "PAYGATE_BENCH_PG_URL", default_value = DEFAULT_PG_URL)]
    pg_url: String,
    /// Print one JSON object instead of the tables.
    #[arg(long)]
    json: bool,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    Drain,
    Lag,
}

impl std::fmt::Display for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Scenario::Drain => "drain",
            Scenario::Lag => "lag",
        })
    }
}

/// Everything `--json` prints.
#[derive(Serialize)]
struct JsonReport {
    machine: Machine,
    backlog: u32,
    rate: u32,
    lag_secs: u32,
    drain: Vec<report::DrainRow>,
    lag: Vec<report::LagRow>,
}

pub async fn run(settings: Settings, args: NotifyArgs) -> anyhow::Result<()> {
    // Before any database is made: without a gateway binary there is nothing to measure.
    let gateway = gateway::gateway_binary()?;
    eprintln!("bench notify: gateway processes run {}", gateway.display());
    let pool = settings.pg_connections_max;
    let runs = args.runs;
    let mut drain_rows = Vec::new();
    if args.scenarios.contains(&Scenario::Drain) {
        let backlog = args.backlog as usize;
        for hosts in dedup(&args.hosts).into_iter().map(usize::from) {
            for processes in dedup(&args.processes).into_iter().map(usize::from) {
                let mut measured = Vec::new();
                for run in 1..=runs {
                    let label = format!("drain hosts={hosts} procs={processes} run {run}/{runs}");
                    let measure = async |world: &World, merchants: &Merchants| {
                        drain::measure(world, merchants, backlog, processes, &label).await
                    };
                    measured.push(on_fresh_world(&args.pg_url, pool, hosts, measure).await?);
                }
                drain_rows.push(report::DrainRow::of(hosts, processes, &measured));
            }
        }
    }
    let mut lag_rows = Vec::new();
    if args.scenarios.contains(&Scenario::Lag) {
        let load = lag::Load {
            rate: args.rate,
            secs: args.lag_secs,
        };
        for hosts in dedup(&args.lag_hosts).into_iter().map(usize::from) {
            for processes in dedup(&args.processes).into_iter().map(usize::from) {
                let mut measured = Vec::new();
                for run in 1..=runs {
                    let label = format!("lag hosts={hosts} procs={processes} run {run}/{runs}");
                    let measure = async |world: &World, merchants: &Merchants| {
                        lag::measure(world, merchants, load, processes, &label).await
                    };
                    measured.push(on_fresh_world(&args.pg_url, pool, hosts, measure).await?);
                }
                lag_rows.push(report::LagRow::of(hosts, processes, &measured));
            }
        }
    }
    if args.json {
        let json = JsonReport {
            machine: Machine::probe(),
            backlog: args.backlog,
            rate: args.rate,
            lag_secs: args.lag_secs,
            drain: drain_rows,
            lag: lag_rows,
        };
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        report::print_drain(&drain_rows, args.backlog as usize);
        report::print_lag(&lag_rows, args.rate, args.lag_secs);
    }
    Ok(())
}

/// One run: merchant endpoints, a fresh database with its world, `measure`, then everything
/// torn down, the database dropped on every path out (also on error or Ctrl-C).
async fn on_fresh_world<T>(
    pg_url: &str,
    pg_connections_max: u32,
    hosts: usize,
    measure: impl AsyncFnOnce(&World, &Merchants) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let merchants = Merchants::start(hosts).await?;
    let db = BenchDb::create(Backend::Postgres, pg_url).await?;
    let measured = tokio::select! {
        measured = async {
            let world = World::open(&db.url, pg_connections_max, &merchants.urls).await?;
            let measured = measure(&world, &merchants).await;
            world.close().await;
            measured
        } => measured,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    let removed = db.remove().await;
    let measured = measured?;
    removed.context("remove the benchmark database")?;
    Ok(measured)
}
