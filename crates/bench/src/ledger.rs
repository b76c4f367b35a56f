//! `paygate-bench ledger`: what the ledger costs a paid order (issue #11: within 15%). At the
//! store layer, so nothing but the transaction differs: orders are inserted first (untimed),
//! then each is moved to PAID by `Store::transition_order` with its notification outbox row,
//! once with the payment posting the app builds (Payment and Fee transfers) and once with
//! `posting: None`. The two variants take turns on fresh orders of the same database, in
//! `--rounds` rounds that alternate which goes first; the report gives orders/s, p50/p99 and
//! the ratio over all rounds, and the lowest and highest ratio of a single round (how much the
//! disk's sync time drifted while it ran).

use super::stats::{Summary, Tally};
use super::target::{BenchDb, Target};
use super::workload::{new_order, unix_now_ms};
use super::{dedup, BenchBackend, DEFAULT_PG_URL};
use anyhow::Context;
use paygate::config::Settings;
use paygate_domain::fee::{FeeRate, FeeSchedule, FeeSnapshot};
use paygate_domain::ledger::{Account, EntryKind, LedgerName, Posting, PostingKind};
use paygate_domain::merchant_money::SettlementMode;
use paygate_domain::sign::SignType;
use paygate_domain::{Amount, MerchantId, OrderEvent, OrderStatus, OutTradeNo, PayType, TradeNo};
use paygate_store::{Inserted, NewOrder, OrderTransition, Outbox, Store};
use serde::Serialize;
use std::time::{Duration, Instant};

/// 100.00: a fee of 0.60 at the default rate, so the Fee transfer is never skipped as zero.
const ORDER_AMOUNT_MINOR: i64 = 10_000;

#[derive(clap::Args, Debug)]
pub struct LedgerArgs {
    /// Orders inserted per variant and concurrency; the timed phase pays them.
    #[arg(long, default_value_t = 8_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub(crate) orders: u32,
    /// Longest a timed phase runs; orders not paid by then are left unpaid.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(crate) duration_secs: u64,
    /// Workers paying orders at once, one run per value (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [1u16, 16],
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub(crate) concurrency: Vec<u16>,
    /// Databases to measure (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [BenchBackend::Sqlite, BenchBackend::Postgres])]
    pub(crate) backends: Vec<BenchBackend>,
    /// PostgreSQL server to create the benchmark database on.
    #[arg(long, env = "PAYGATE_BENCH_PG_URL", default_value = DEFAULT_PG_URL)]
    pub(crate) pg_url: String,
    /// Rounds per concurrency; the variants alternate which runs first (none-ledger, then
    /// ledger-none, ...), so neither always pays for the warm-up or the larger tables, and many
    /// short rounds share out the drift of the disk's sync time, which over tens of seconds
    /// moves a commit-bound rate by ±15%.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub(crate) rounds: u32,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Whether the PAID change carries its payment posting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Variant {
    NoLedger,
    Ledger,
}

#[derive(Debug, Serialize)]
struct Row {
    backend: &'static str,
    concurrency: u16,
    no_ledger: Summary,
    ledger: Summary,
    /// Ledger throughput over no-ledger throughput (1.0 = free; the issue asks ≥ 0.85).
    ratio: f64,
    /// The lowest and the highest ratio of one round's two variants.
    round_ratios: (f64, f64),
}

/// The fee the app charges a physical-goods merchant by default, for the Fee transfer.
fn fee_rate() -> FeeRate {
    paygate_domain::merchant_money::MerchantCategory::PhysicalGoods.default_fee_rate()
}

fn payment_posting(order: &NewOrder) -> Posting {
    let channel = LedgerName::parse("wallet").expect("a valid ledger name");
    let merchant = order.merchant_id.clone();
    Posting::new(
        PostingKind::Payment,
        order.trade_no.as_str(),
        order.currency,
    )
    .transfer(
        EntryKind::Payment,
        Account::ChannelClearing(channel),
        Account::MerchantPending(merchant.clone()),
        order.total_amount,
    )
    .transfer(
        EntryKind::Fee,
        Account::MerchantPending(merchant),
        Account::PlatformFeeIncome,
        fee_rate().apply(order.total_amount),
    )
}

fn paid_change(order: &NewOrder, variant: Variant) -> OrderTransition {
    let now_ms = unix_now_ms();
    OrderTransition {
        trade_no: order.trade_no.clone(),
        from: order.status,
        event: OrderEvent::Paid,
        at_ms: now_ms,
        channel_trade_no: Some(format!("W{}", order.trade_no)),
        outbox: Some(Outbox {
            kind: "TRADE_SUCCESS",
            notify_url: order.notify_url.clone(),
            payload: format!(
                "{{\"trade_no\":\"{}\",\"trade_status\":\"{}\"}}",
                order.trade_no,
                OrderStatus::Success.as_str()
            ),
        }),
        posting: match variant {
            Variant::Ledger => Some(payment_posting(order)),
            Variant::NoLedger => None,
        },
        fees: match variant {
            Variant::Ledger => Some(FeeSnapshot::at_payment(
                PayType::Wallet,
                SettlementMode::Platform,
                FeeSchedule {
                    rate: fee_rate(),
                    fixed: Amount::ZERO,
                },
                FeeRate::ZERO,
                order.total_amount,
            )),
            Variant::NoLedger => None,
        },
    }
}

/// Inserts `count` unpaid orders for worker `worker` of run `run` (untimed).
async fn insert_orders(
    store: &Store,
    merchant: &MerchantId,
    run: &str,
    worker: u16,
    count: u32,
) -> anyhow::Result<Vec<NewOrder>> {
    let mut orders = Vec::with_capacity(count as usize);
    for seq in 0..count {
        let now_ms = unix_now_ms();
        let number = OutTradeNo::parse(&format!("{run}-{worker}-{seq}"))?;
        let mut order = new_order(merchant.clone(), number, now_ms);
        order.total_amount = paygate_domain::Amount::from_minor(ORDER_AMOUNT_MINOR)?;
        order.trade_no = TradeNo::mint(now_ms);
        match store.insert_order(&order).await? {
            Inserted::New(_) => orders.push(order),
            Inserted::Existing(_) | Inserted::Replayed => anyhow::bail!("order collided"),
        }
    }
    Ok(orders)
}

/// One variant at one concurrency: insert, then pay every order as fast as the workers can.
/// Returns what the workers tallied and the timed phase's wall time.
async fn run_variant(
    store: &Store,
    merchant: &MerchantId,
    variant: Variant,
    concurrency: u16,
    round: u32,
    args: &LedgerArgs,
) -> anyhow::Result<(Tally, Duration)> {
    let run = format!("l{}r{round}c{concurrency}", variant as u8);
    let per_worker = (args.orders / u32::from(concurrency)).max(1);
    let mut queues = Vec::with_capacity(concurrency as usize);
    for worker in 0..concurrency {
        queues.push(insert_orders(store, merchant, &run, worker, per_worker).await?);
    }
    let deadline = Instant::now() + Duration::from_secs(args.duration_secs);
    let started = Instant::now();
    let workers: Vec<_> = queues
        .into_iter()
        .map(|orders| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut tally = Tally::default();
                for order in orders {
                    if Instant::now() >= deadline {
                        break;
                    }
                    let change = paid_change(&order, variant);
                    let begun = Instant::now();
                    match store.transition_order(&change).await {
                        Ok(Some(_)) => tally.record_ok(begun.elapsed()),
                        Ok(None) => tally.record_error(&anyhow::anyhow!("order was not unpaid")),
                        Err(error) => tally.record_error(&error.into()),
                    }
                }
                tally
            })
        })
        .collect();
    let mut tally = Tally::default();
    for worker in workers {
        tally.merge(worker.await.context("a worker panicked")?);
    }
    Ok((tally, started.elapsed()))
}

async fn bench_backend(
    backend: BenchBackend,
    url: &str,
    settings: &Settings,
    args: &LedgerArgs,
) -> anyhow::Result<Vec<Row>> {
    let target = Target::start(url, settings, SignType::Md5).await?;
    let store = target.app.store().clone();
    let mut rows = Vec::new();
    for &concurrency in &dedup(&args.concurrency) {
        let mut totals = [
            (Tally::default(), Duration::ZERO),
            (Tally::default(), Duration::ZERO),
        ];
        let mut round_ratios = (f64::INFINITY, 0.0_f64);
        for round in 0..args.rounds {
            let mut per_sec = [0.0; 2];
            let order = if round % 2 == 0 {
                [Variant::NoLedger, Variant::Ledger]
            } else {
                [Variant::Ledger, Variant::NoLedger]
            };
            for variant in order {
                eprintln!("bench: ledger {backend} c={concurrency} round {round}: {variant:?}");
                let (tally, elapsed) = run_variant(
                    &store,
                    &target.merchant_id,
                    variant,
                    concurrency,
                    round,
                    args,
                )
                .await?;
                per_sec[variant as usize] = tally.latencies_us.len() as f64 / elapsed.as_secs_f64();
                let total = &mut totals[variant as usize];
                total.0.merge(tally);
                total.1 += elapsed;
            }
            if per_sec[Variant::NoLedger as usize] > 0.0 {
                let ratio = per_sec[Variant::Ledger as usize] / per_sec[Variant::NoLedger as usize];
                round_ratios = (round_ratios.0.min(ratio), round_ratios.1.max(ratio));
            }
        }
        let [(none_tally, none_time), (ledger_tally, ledger_time)] = totals;
        let no_ledger = Summary::of(none_tally, none_time);
        let ledger = Summary::of(ledger_tally, ledger_time);
        let ratio = if no_ledger.per_sec > 0.0 {
            ledger.per_sec / no_ledger.per_sec
        } else {
            0.0
        };
        rows.push(Row {
            backend: backend.name(),
            concurrency,
            no_ledger,
            ledger,
            ratio,
            round_ratios,
        });
    }
    target.stop().await?;
    Ok(rows)
}

pub async fn run(settings: Settings, args: LedgerArgs) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    for backend in dedup(&args.backends) {
        eprintln!("bench: ledger {backend}: fresh database");
        let db = BenchDb::create(backend.store_backend(), &args.pg_url).await?;
        let measured = bench_backend(backend, &db.url, &settings, &args).await;
        let removed = db.remove().await;
        rows.extend(measured?);
        removed.context("remove the benchmark database")?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!(
        "{:<9} {:>4}  {:>12} {:>8} {:>8}  {:>12} {:>8} {:>8}  {:>6}  {:>11}",
        "backend",
        "c",
        "none ord/s",
        "p50 ms",
        "p99 ms",
        "ledger ord/s",
        "p50 ms",
        "p99 ms",
        "ratio",
        "round range"
    );
    for r in &rows {
        println!(
            "{:<9} {:>4}  {:>12.0} {:>8.2} {:>8.2}  {:>12.0} {:>8.2} {:>8.2}  {:>6.3}  {:.3}–{:.3}",
            r.backend,
            r.concurrency,
            r.no_ledger.per_sec,
            r.no_ledger.p50_ms,
            r.no_ledger.p99_ms,
            r.ledger.per_sec,
            r.ledger.p50_ms,
            r.ledger.p99_ms,
            r.ratio,
            r.round_ratios.0,
            r.round_ratios.1
        );
        for sample in r
            .no_ledger
            .error_samples
            .iter()
            .chain(&r.ledger.error_samples)
        {
            println!("  error: {sample}");
        }
    }
    Ok(())
}
