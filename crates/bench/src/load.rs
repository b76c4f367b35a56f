//! The load driver: `concurrency` workers, each running one operation after another (a closed
//! loop, as a merchant's worker pool would), through a warm-up and then a measured window.

use super::cpu::{self, Probe};
use super::stats::{Summary, Tally};
use std::future::Future;
use std::time::{Duration, Instant};

/// A bound on one worker's operations, so a misconfigured run cannot grow memory without end
/// (at the rates this machine reaches, a worker does a few thousand per run).
pub const OPS_PER_WORKER_MAX: u64 = 2_000_000;

#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub concurrency: u16,
    pub warmup: Duration,
    pub measure: Duration,
}

/// Which operation a worker is on: unique within one `drive` call, so keys made from it are too.
#[derive(Debug, Clone, Copy)]
pub struct OpId {
    pub worker: u16,
    pub seq: u64,
}

/// Runs `op` in `plan.concurrency` workers until the measured window closes. Operations started
/// during the warm-up are not recorded; throughput is counted over the measured window, and CPU
/// is read at its start and once every worker has finished.
pub async fn drive<F, Fut>(plan: Plan, probe: &Probe, op: F) -> Summary
where
    F: Fn(OpId) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    assert!(plan.concurrency > 0, "at least one worker");
    let measure_from = Instant::now() + plan.warmup;
    let deadline = measure_from + plan.measure;
    let workers: Vec<_> = (0..plan.concurrency)
        .map(|worker| tokio::spawn(work(worker, op.clone(), measure_from, deadline)))
        .collect();
    tokio::time::sleep_until(measure_from.into()).await;
    let cpu_before = probe.snapshot().await;
    let mut total = Tally::default();
    for worker in workers {
        match worker.await {
            Ok(tally) => total.merge(tally),
            Err(join) => total.record_error(&anyhow::anyhow!("worker panicked: {join}")),
        }
    }
    let cpu_after = probe.snapshot().await;
    let ok = total.latencies_us.len() as u64;
    let mut summary = Summary::of(total, plan.measure);
    summary.cpu = cpu::per_op(&cpu_before, &cpu_after, ok);
    summary
}

async fn work<F, Fut>(worker: u16, op: F, measure_from: Instant, deadline: Instant) -> Tally
where
    F: Fn(OpId) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let mut tally = Tally::default();
    for seq in 0..OPS_PER_WORKER_MAX {
        let started = Instant::now();
        if started >= deadline {
            break;
        }
        let result = op(OpId { worker, seq }).await;
        if started < measure_from {
            continue;
        }
        match result {
            Ok(()) => tally.record_ok(started.elapsed()),
            Err(error) => tally.record_error(&error),
        }
    }
    tally
}
