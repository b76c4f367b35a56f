//! `paygate-bench`: signed create-order throughput and latency over HTTP, against the raw
//! ceiling of the store inserting the same rows into the same database, in one run
//! (`cargo run --release -p paygate-bench`; `... -- notify` measures notification delivery).
//! It is its own binary so the production one (`paygate`) carries no benchmark.
//!
//! For each backend a fresh database is made (`target`), the real app is built by the gateway's
//! own `Application::build_with` and served in-process on a loopback port, and for each concurrency the driver (`load`) runs the two operations of
//! `workload` in turn: first the HTTP create, then the raw transaction (and, with `--breakdown`,
//! the layers in between from `breakdown`). `stats` reduces what the workers saw to figures,
//! `cpu` adds the CPU time each operation cost, and `report` prints them. Client and server
//! share this process and its cores, as they share the machine in any single-host measurement.

mod breakdown;
mod cashier;
mod cpu;
mod ledger;
mod load;
mod notify;
mod report;
mod stats;
mod target;
mod workload;

use anyhow::Context;
use clap::Parser;
use load::Plan;
use paygate::config::Settings;
use paygate_domain::sign::SignType;
use paygate_store::Backend;
use report::Row;
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

#[derive(Parser, Debug)]
#[command(
    name = "paygate-bench",
    version,
    about = "Measure signed create-order throughput against the raw database insert ceiling \
             (`notify`: notification delivery by `paygate serve` processes)",
    args_conflicts_with_subcommands = true
)]
pub struct BenchArgs {
    /// The gateway's TOML configuration file; PAYGATE_* environment variables override it
    /// (e.g. PAYGATE_PG_CONNECTIONS_MAX sizes the pools).
    #[arg(long, global = true, env = "PAYGATE_CONFIG")]
    config: Option<PathBuf>,
    /// Other measurements; without one, the create throughput benchmark runs.
    #[command(subcommand)]
    command: Option<BenchCommand>,
    /// Seconds measured per run, after the warm-up.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    duration_secs: u64,
    /// Seconds each run goes unrecorded first (connections open, caches fill).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=600))]
    warmup_secs: u64,
    /// Concurrent workers, one run per value (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [8u16, 32],
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    concurrency: Vec<u16>,
    /// Databases to measure (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [BenchBackend::Sqlite, BenchBackend::Postgres])]
    backends: Vec<BenchBackend>,
    /// PostgreSQL server to create the benchmark database on (the database named here is only
    /// used to issue CREATE/DROP DATABASE).
    #[arg(long, env = "PAYGATE_BENCH_PG_URL", default_value = DEFAULT_PG_URL)]
    pg_url: String,
    /// The merchant's sign type: MD5, HMAC-SHA256 or RSA2.
    #[arg(long, default_value = "MD5", value_parser = parse_sign_type)]
    sign_type: SignType,
    /// Also measure the create's store calls alone and the whole create in-process without
    /// HTTP, to split the gap between the raw ceiling and HTTP by subtraction.
    #[arg(long)]
    breakdown: bool,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Subcommand, Debug)]
pub enum BenchCommand {
    /// Measure notification delivery by `paygate serve` processes: draining a backlog, and the
    /// lag from an order being paid to its merchant hearing of it (PostgreSQL).
    Notify(notify::NotifyArgs),
    /// Measure the hosted cashier page's time to first byte with browsers loading it at once
    /// (issue #10's target: p99 under 20 ms with 8).
    Cashier(cashier::CashierArgs),
    /// Measure what the ledger costs a paid order: the PAID transition at the store layer with
    /// and without its payment posting (issue #11: within 15%).
    Ledger(ledger::LedgerArgs),
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchBackend {
    Sqlite,
    Postgres,
}

impl std::fmt::Display for BenchBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl BenchBackend {
    fn name(self) -> &'static str {
        match self {
            BenchBackend::Sqlite => "sqlite",
            BenchBackend::Postgres => "postgres",
        }
    }

    fn store_backend(self) -> Backend {
        match self {
            BenchBackend::Sqlite => Backend::Sqlite,
            BenchBackend::Postgres => Backend::Postgres,
        }
    }
}

fn parse_sign_type(text: &str) -> Result<SignType, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not MD5, HMAC-SHA256 or RSA2"))
}

/// Everything `--json` prints.
#[derive(Serialize)]
struct JsonReport<'a> {
    machine: Machine,
    duration_secs: u64,
    warmup_secs: u64,
    sign_type: &'static str,
    pg_connections_max: u32,
    results: &'a [Row],
    targets: Vec<report::Verdict>,
}

#[derive(Serialize)]
struct Machine {
    cpus: usize,
    cpu_model: String,
}

impl Machine {
    fn probe() -> Machine {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|text| {
                text.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, model)| model.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown".into());
        Machine {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
        }
    }
}

fn main() -> ExitCode {
    let args = BenchArgs::parse();
    let settings = match Settings::load(args.config.as_deref()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::from(2);
        }
    };
    paygate::serve::init_tracing(&settings);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(settings, args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(settings: Settings, args: BenchArgs) -> anyhow::Result<()> {
    match args.command {
        Some(BenchCommand::Notify(notify_args)) => return notify::run(settings, notify_args).await,
        Some(BenchCommand::Cashier(cashier_args)) => {
            return cashier::run(settings, cashier_args).await
        }
        Some(BenchCommand::Ledger(ledger_args)) => return ledger::run(settings, ledger_args).await,
        None => {}
    }
    let mut rows = Vec::new();
    for backend in dedup(&args.backends) {
        eprintln!("bench: {backend}: fresh database");
        let db = target::BenchDb::create(backend.store_backend(), &args.pg_url).await?;
        let measured = tokio::select! {
            measured = bench_backend(backend, &db.url, &settings, &args) => measured,
            _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
        };
        let removed = db.remove().await;
        rows.extend(measured?);
        removed.context("remove the benchmark database")?;
    }
    let verdicts = report::verdicts(&rows);
    if args.json {
        let json = JsonReport {
            machine: Machine::probe(),
            duration_secs: args.duration_secs,
            warmup_secs: args.warmup_secs,
            sign_type: args.sign_type.as_str(),
            pg_connections_max: settings.pg_connections_max,
            results: &rows,
            targets: verdicts,
        };
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        report::print_table(&rows);
        report::print_cpu(&rows);
        report::print_breakdown(&rows);
        report::print_verdicts(&verdicts);
    }
    Ok(())
}

/// One backend: start the app on its fresh database, then measure each concurrency.
async fn bench_backend(
    backend: BenchBackend,
    url: &str,
    settings: &Settings,
    args: &BenchArgs,
) -> anyhow::Result<Vec<Row>> {
    let target = target::Target::start(url, settings, args.sign_type).await?;
    let probe = cpu::Probe::connect(backend.store_backend(), url).await;
    let mut rows = Vec::new();
    for &concurrency in &args.concurrency {
        let plan = Plan {
            concurrency,
            warmup: Duration::from_secs(args.warmup_secs),
            measure: Duration::from_secs(args.duration_secs),
        };
        rows.push(measure(&target, backend, plan, &probe, args.breakdown).await);
    }
    probe.close().await;
    target.stop().await?;
    Ok(rows)
}

/// One concurrency: the HTTP run, the raw run and (if asked) the breakdown runs, one after the
/// other so they never compete. Each run's keys carry its own tag, so none collide.
async fn measure(
    target: &target::Target,
    backend: BenchBackend,
    plan: Plan,
    probe: &cpu::Probe,
    breakdown: bool,
) -> Row {
    let c = plan.concurrency;
    let tag = |what: &str| -> Arc<str> { format!("{what}{c}").into() };
    let (client, app) = (target.client.clone(), target.app.clone());
    let (store, merchant) = (app.store().clone(), target.merchant_id.clone());
    eprintln!("bench: {backend} c={c}: signed create over HTTP");
    let (cl, run) = (client.clone(), tag("h"));
    let http = load::drive(plan, probe, move |id| {
        workload::http_create(cl.clone(), run.clone(), id)
    })
    .await;
    eprintln!("bench: {backend} c={c}: raw insert transactions");
    let (m, run) = (merchant.clone(), tag("r"));
    let raw = load::drive(plan, probe, move |id| {
        workload::raw_insert(store.clone(), m.clone(), run.clone(), id)
    })
    .await;
    let mut row = Row::new(backend.name(), c, http, raw);
    if breakdown {
        let on = breakdown::On {
            app,
            client,
            merchant,
        };
        row.breakdown =
            Some(breakdown::measure(&on, plan, probe, &format!("{backend} c={c}")).await);
    }
    row
}

/// The values in first-seen order, each once.
fn dedup<T: PartialEq + Copy>(values: &[T]) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(values.len());
    for v in values {
        if !out.contains(v) {
            out.push(*v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(argv: &[&str]) -> Result<BenchArgs, clap::Error> {
        let argv = std::iter::once("paygate-bench").chain(argv.iter().copied());
        BenchArgs::try_parse_from(argv)
    }

    #[test]
    fn defaults_measure_both_databases_at_8_and_32() {
        let args = parse(&[]).unwrap();
        assert_eq!(args.duration_secs, 10);
        assert_eq!(args.warmup_secs, 2);
        assert_eq!(args.concurrency, vec![8, 32]);
        assert_eq!(
            args.backends,
            vec![BenchBackend::Sqlite, BenchBackend::Postgres]
        );
        assert_eq!(args.sign_type, SignType::Md5);
        assert!(!args.json);
    }

    #[test]
    fn lists_are_comma_separated_and_bounded() {
        let args = parse(&[
            "--concurrency",
            "1,64",
            "--backends",
            "postgres",
            "--sign-type",
            "HMAC-SHA256",
            "--json",
        ])
        .unwrap();
        assert_eq!(args.concurrency, vec![1, 64]);
        assert_eq!(args.backends, vec![BenchBackend::Postgres]);
        assert_eq!(args.sign_type, SignType::HmacSha256);
        assert!(args.json);
        assert!(parse(&["--concurrency", "0"]).is_err());
        assert!(parse(&["--duration-secs", "0"]).is_err());
        assert!(parse(&["--backends", "mysql"]).is_err());
        assert!(parse(&["--sign-type", "md5"]).is_err());
    }

    #[test]
    fn notify_is_a_subcommand_and_plain_bench_is_unchanged() {
        let args = parse(&["--concurrency", "4"]).unwrap();
        assert!(args.command.is_none());
        assert_eq!(args.concurrency, vec![4]);
        let args = parse(&["notify", "--hosts", "1,100", "--runs", "5"]).unwrap();
        assert!(matches!(args.command, Some(BenchCommand::Notify(_))));
        assert!(parse(&["--concurrency", "4", "notify"]).is_err());
        assert!(parse(&["notify", "--concurrency", "4"]).is_err());
        assert!(parse(&["notify", "--processes", "0"]).is_err());
    }

    #[test]
    fn cashier_measures_eight_browsers_by_default() {
        let Some(BenchCommand::Cashier(args)) = parse(&["cashier"]).unwrap().command else {
            panic!("cashier is a subcommand");
        };
        assert_eq!(args.concurrency, vec![8]);
        assert_eq!(args.orders, 200);
        assert_eq!(
            args.backends,
            vec![BenchBackend::Sqlite, BenchBackend::Postgres]
        );
        assert!(parse(&["cashier", "--concurrency", "0"]).is_err());
        assert!(parse(&["cashier", "--orders", "0"]).is_err());
    }

    #[test]
    fn ledger_compares_one_and_sixteen_workers_by_default() {
        let Some(BenchCommand::Ledger(args)) = parse(&["ledger"]).unwrap().command else {
            panic!("ledger is a subcommand");
        };
        assert_eq!(args.concurrency, vec![1, 16]);
        assert_eq!(args.orders, 8_000);
        assert_eq!((args.rounds, args.duration_secs), (8, 4));
        assert!(parse(&["ledger", "--orders", "0"]).is_err());
    }

    #[test]
    fn repeated_backends_run_once() {
        assert_eq!(dedup(&[2, 1, 2, 3, 1]), vec![2, 1, 3]);
    }
}
