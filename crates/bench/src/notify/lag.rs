//! Lag: orders marked paid at a steady rate while the gateway processes run, and how long each
//! notification takes from the order being marked paid to the merchant receiving it.

use super::super::stats::percentile;
use super::gateway::Gateways;
use super::merchant::{Merchants, Receipt};
use super::world::{mark_paid, World};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Orders are marked paid in a batch every tick, sized to keep up with the target rate.
const TICK: Duration = Duration::from_millis(10);
/// Orders being marked paid at once; the marking falls behind the rate rather than pile up.
const SETTLE_IN_FLIGHT_MAX: usize = 64;
/// How long notifications still missing when the marking stops are waited for.
const TAIL_WAIT: Duration = Duration::from_secs(30);

/// What the lag run is asked for.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub rate: u32,
    pub secs: u32,
}

/// One lag run's figures.
#[derive(Debug, Clone)]
pub struct LagRun {
    pub seed_secs: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Orders marked paid per second, from the first mark to the last one finishing.
    pub paid_per_sec: f64,
    /// Orders marked paid: the notifications expected.
    pub expected: u64,
    /// Paid orders whose notification arrived.
    pub received: u64,
    pub missing: u64,
    pub duplicates: u64,
    /// Orders that could not be marked paid.
    pub errors: u64,
}

pub async fn measure(
    world: &World,
    merchants: &Merchants,
    load: Load,
    processes: usize,
    label: &str,
) -> anyhow::Result<LagRun> {
    let count = load.rate as usize * load.secs as usize;
    eprintln!("bench notify: {label}: creating {count} unpaid orders");
    let seeding = Instant::now();
    let orders = world.seed(count, false).await?;
    let seed_secs = seeding.elapsed().as_secs_f64();
    eprintln!("bench notify: {label}: created in {seed_secs:.1} s; starting {processes} gateway process(es)");
    let gateways = Gateways::start(processes, &world.launch()).await?;
    eprintln!(
        "bench notify: {label}: marking {}/s paid for {} s",
        load.rate, load.secs
    );
    let marked = mark_at_rate(world, orders, load).await;
    let inbox = &merchants.inbox;
    let expected = marked.paid_at.len() as u64;
    inbox.wait_for(expected, TAIL_WAIT, Some(TAIL_WAIT)).await;
    gateways.stop().await?;
    anyhow::ensure!(
        inbox.malformed() == 0,
        "{} notifications had no notify_id",
        inbox.malformed()
    );
    if let Some(error) = &marked.first_error {
        eprintln!(
            "bench notify: {label}: {} orders not marked paid, e.g.: {error}",
            marked.errors
        );
    }
    let run = figures(&inbox.receipts(), &marked, seed_secs);
    eprintln!(
        "bench notify: {label}: {} of {} received, p99 {:.0} ms",
        run.received, run.expected, run.p99_ms
    );
    Ok(run)
}

/// What the open loop did.
struct Marked {
    /// Paid time (the settled order's `paid_at`, unix ms) by trade number.
    paid_at: HashMap<String, i64>,
    secs: f64,
    errors: u64,
    first_error: Option<String>,
}

/// An open loop: each tick marks as many orders as the rate calls for by then, each on its own
/// task, until the load's seconds are over; then waits for the marks in flight.
async fn mark_at_rate(
    world: &World,
    orders: Vec<paygate_store::OrderRecord>,
    load: Load,
) -> Marked {
    let window = Duration::from_secs(u64::from(load.secs));
    let permits = Arc::new(Semaphore::new(SETTLE_IN_FLIGHT_MAX));
    let mut tasks = JoinSet::new();
    let mut orders = orders.into_iter();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let (started, mut marked) = (Instant::now(), 0u64);
    let mut out = Marked {
        paid_at: HashMap::new(),
        secs: 0.0,
        errors: 0,
        first_error: None,
    };
    loop {
        tick.tick().await;
        let elapsed = started.elapsed().min(window);
        let due = (f64::from(load.rate) * elapsed.as_secs_f64()) as u64;
        while marked < due {
            let Some(order) = orders.next() else { break };
            let permit = permits
                .clone()
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            let app = world.app.clone();
            tasks.spawn(async move {
                let _permit = permit;
                mark_paid(&app, order).await
            });
            marked += 1;
        }
        while let Some(done) = tasks.try_join_next() {
            out.take(done);
        }
        if elapsed >= window {
            break;
        }
    }
    while let Some(done) = tasks.join_next().await {
        out.take(done);
    }
    out.secs = started.elapsed().as_secs_f64();
    out
}

impl Marked {
    fn take(
        &mut self,
        done: Result<anyhow::Result<paygate_store::OrderRecord>, tokio::task::JoinError>,
    ) {
        let failure = match done {
            Ok(Ok(order)) => match order.paid_at_ms {
                Some(at) => {
                    self.paid_at.insert(order.trade_no.to_string(), at);
                    return;
                }
                None => anyhow::anyhow!("order {} has no paid time", order.trade_no),
            },
            Ok(Err(error)) => error,
            Err(error) => anyhow::Error::new(error).context("marking task"),
        };
        self.errors += 1;
        self.first_error
            .get_or_insert_with(|| format!("{failure:#}"));
    }
}

fn figures(receipts: &[Receipt], marked: &Marked, seed_secs: f64) -> LagRun {
    let mut first: HashMap<&str, i64> = HashMap::new();
    for receipt in receipts {
        first
            .entry(receipt.trade_no.as_str())
            .or_insert(receipt.at_ms);
    }
    let mut lags: Vec<u64> = marked
        .paid_at
        .iter()
        .filter_map(|(trade_no, paid)| first.get(trade_no.as_str()).map(|at| at - paid))
        // The same clock on the same machine: a negative lag is a clock step, counted as 0.
        .map(|lag| u64::try_from(lag).unwrap_or(0))
        .collect();
    lags.sort_unstable();
    let ms = |p: f64| percentile(&lags, p).map_or(0.0, |lag| lag as f64);
    let expected = marked.paid_at.len() as u64;
    let received = lags.len() as u64;
    let distinct: std::collections::HashSet<&str> =
        receipts.iter().map(|r| r.notify_id.as_str()).collect();
    LagRun {
        seed_secs,
        p50_ms: ms(50.0),
        p99_ms: ms(99.0),
        max_ms: ms(100.0),
        paid_per_sec: if marked.secs > 0.0 {
            expected as f64 / marked.secs
        } else {
            0.0
        },
        expected,
        received,
        missing: expected - received,
        duplicates: (receipts.len() - distinct.len()) as u64,
        errors: marked.errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_first_receipt_minus_paid_time() {
        let receipt = |id: &str, trade_no: &str, at_ms| Receipt {
            notify_id: id.into(),
            trade_no: trade_no.into(),
            at: Instant::now(),
            at_ms,
        };
        let receipts = [
            receipt("1", "a", 1_010),
            receipt("2", "b", 2_050),
            receipt("1", "a", 3_000),
        ];
        let marked = Marked {
            paid_at: [("a", 1_000), ("b", 2_000), ("c", 2_500)]
                .into_iter()
                .map(|(t, at)| (t.to_owned(), at))
                .collect(),
            secs: 1.5,
            errors: 0,
            first_error: None,
        };
        let run = figures(&receipts, &marked, 0.0);
        assert_eq!((run.p50_ms, run.max_ms), (10.0, 50.0));
        assert_eq!((run.expected, run.received, run.missing), (3, 2, 1));
        assert_eq!(run.duplicates, 1);
        assert_eq!(run.paid_per_sec, 2.0);
    }
}
