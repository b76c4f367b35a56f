//! Drain: a backlog of due notifications, all written before the gateway processes start, and
//! how fast they empty it.

use super::gateway::Gateways;
use super::merchant::{Merchants, Receipt};
use super::world::World;
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// A drain that makes no progress for this long is over; what is left counts as missing.
const STALL: Duration = Duration::from_secs(30);

/// One drain run's figures.
#[derive(Debug, Clone)]
pub struct DrainRun {
    pub seed_secs: f64,
    /// Distinct notifications delivered per second, from the processes being ready to the last
    /// first receipt.
    pub per_sec: f64,
    /// The same from the first process being ready: lower than `per_sec` when the others
    /// start later, since they had no part in the early deliveries.
    pub per_sec_from_first: f64,
    pub drain_secs: f64,
    pub delivered: u64,
    pub received: u64,
    pub duplicates: u64,
    /// Delivered before the last process was ready (by the ones that were already).
    pub early: u64,
    pub missing: u64,
}

pub async fn measure(
    world: &World,
    merchants: &Merchants,
    backlog: usize,
    processes: usize,
    label: &str,
) -> anyhow::Result<DrainRun> {
    eprintln!("bench notify: {label}: seeding {backlog} paid orders");
    let seeding = Instant::now();
    world.seed(backlog, true).await?;
    let seed_secs = seeding.elapsed().as_secs_f64();
    eprintln!("bench notify: {label}: seeded in {seed_secs:.1} s; starting {processes} gateway process(es)");
    let gateways = Gateways::start(processes, &world.launch()).await?;
    let (first_ready_at, ready_at) = (gateways.first_ready_at, gateways.ready_at);
    let inbox = &merchants.inbox;
    let delivered = inbox.wait_for(backlog as u64, STALL, None).await;
    gateways.stop().await?;
    anyhow::ensure!(
        inbox.malformed() == 0,
        "{} notifications had no notify_id",
        inbox.malformed()
    );
    let run = figures(
        &inbox.receipts(),
        (first_ready_at, ready_at),
        backlog as u64,
        seed_secs,
    );
    eprintln!(
        "bench notify: {label}: {delivered} of {backlog} delivered, {:.0}/s",
        run.per_sec
    );
    Ok(run)
}

/// `ready` is when the first and the last gateway process were ready.
fn figures(
    receipts: &[Receipt],
    ready: (Instant, Instant),
    backlog: u64,
    seed_secs: f64,
) -> DrainRun {
    let (first_ready_at, ready_at) = ready;
    let mut seen = HashSet::new();
    let (mut early, mut last) = (0, ready_at);
    for receipt in receipts {
        if seen.insert(receipt.notify_id.as_str()) {
            last = last.max(receipt.at);
            if receipt.at < ready_at {
                early += 1;
            }
        }
    }
    let delivered = seen.len() as u64;
    let drain_secs = last.duration_since(ready_at).as_secs_f64();
    let rate = |secs: f64| {
        if secs > 0.0 {
            delivered as f64 / secs
        } else {
            0.0
        }
    };
    DrainRun {
        seed_secs,
        per_sec: rate(drain_secs),
        per_sec_from_first: rate(last.duration_since(first_ready_at).as_secs_f64()),
        drain_secs,
        delivered,
        received: receipts.len() as u64,
        duplicates: receipts.len() as u64 - delivered,
        early,
        missing: backlog.saturating_sub(delivered),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt(id: &str, at: Instant) -> Receipt {
        Receipt {
            notify_id: id.into(),
            trade_no: format!("t{id}"),
            at,
            at_ms: 0,
        }
    }

    #[test]
    fn the_rate_runs_from_ready_to_the_last_first_receipt() {
        let ready = Instant::now();
        let at = |ms| ready + Duration::from_millis(ms);
        let receipts = [
            receipt("1", at(100)),
            receipt("2", at(500)),
            receipt("1", at(2_000)),
            receipt("3", at(1_000)),
        ];
        let run = figures(&receipts, (ready, ready), 4, 0.0);
        assert_eq!(run.delivered, 3);
        assert_eq!(run.received, 4);
        assert_eq!(run.duplicates, 1);
        assert_eq!(run.missing, 1);
        assert_eq!(run.early, 0);
        assert_eq!(run.drain_secs, 1.0);
        assert_eq!(run.per_sec, 3.0);
        let earlier = ready - Duration::from_millis(500);
        let run = figures(&receipts, (earlier, ready), 4, 0.0);
        assert_eq!(run.per_sec_from_first, 2.0);
    }
}
