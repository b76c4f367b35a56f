//! What a run measured, reduced to the figures the report prints: throughput over the measured
//! window and latency percentiles of the successful operations.

use super::cpu::CpuPerOp;
use serde::Serialize;
use std::time::Duration;

/// Distinct error messages kept per run, so a failing run says why without flooding the output.
pub const ERROR_SAMPLES_MAX: usize = 5;

/// What one worker saw during the measured window.
#[derive(Debug, Default)]
pub struct Tally {
    pub latencies_us: Vec<u64>,
    pub errors: u64,
    pub error_samples: Vec<String>,
}

impl Tally {
    pub fn record_ok(&mut self, latency: Duration) {
        self.latencies_us
            .push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
    }

    pub fn record_error(&mut self, error: &anyhow::Error) {
        self.errors += 1;
        let text = format!("{error:#}");
        if self.error_samples.len() < ERROR_SAMPLES_MAX && !self.error_samples.contains(&text) {
            self.error_samples.push(text);
        }
    }

    /// Folds another worker's tally into this one.
    pub fn merge(&mut self, other: Tally) {
        self.latencies_us.extend(other.latencies_us);
        self.errors += other.errors;
        for text in other.error_samples {
            if self.error_samples.len() < ERROR_SAMPLES_MAX && !self.error_samples.contains(&text) {
                self.error_samples.push(text);
            }
        }
    }
}

/// One run's figures. Latencies cover successful operations only; errors are counted apart.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub ok: u64,
    pub errors: u64,
    pub per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// CPU per successful operation, where it could be read (see `cpu`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<CpuPerOp>,
    pub error_samples: Vec<String>,
}

impl Summary {
    /// `window` is the measured time (warm-up excluded) the operations were started in.
    pub fn of(mut tally: Tally, window: Duration) -> Summary {
        assert!(!window.is_zero(), "a run measures a non-empty window");
        tally.latencies_us.sort_unstable();
        let sorted = &tally.latencies_us;
        let ms = |p: f64| percentile(sorted, p).map_or(0.0, |us| us as f64 / 1000.0);
        let ok = sorted.len() as u64;
        Summary {
            ok,
            errors: tally.errors,
            per_sec: ok as f64 / window.as_secs_f64(),
            p50_ms: ms(50.0),
            p99_ms: ms(99.0),
            max_ms: ms(100.0),
            cpu: None,
            error_samples: tally.error_samples,
        }
    }
}

/// The nearest-rank percentile of ascending samples: the smallest sample with at least `p`
/// percent of all samples at or below it. `None` when there are no samples.
pub fn percentile(sorted: &[u64], p: f64) -> Option<u64> {
    assert!(p > 0.0 && p <= 100.0, "percentile {p} is outside (0, 100]");
    debug_assert!(
        sorted.windows(2).all(|w| w[0] <= w[1]),
        "samples are sorted"
    );
    if sorted.is_empty() {
        return None;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let samples: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&samples, 50.0), Some(50));
        assert_eq!(percentile(&samples, 99.0), Some(99));
        assert_eq!(percentile(&samples, 100.0), Some(100));
        assert_eq!(percentile(&[7], 99.0), Some(7));
        assert_eq!(percentile(&[1, 2, 3], 50.0), Some(2));
        assert_eq!(percentile(&[1, 2, 3, 4], 50.0), Some(2));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn a_summary_counts_only_successes_in_latency_and_throughput() {
        let mut tally = Tally::default();
        for ms in [3, 1, 2, 4] {
            tally.record_ok(Duration::from_millis(ms));
        }
        for _ in 0..3 {
            tally.record_error(&anyhow::anyhow!("same failure"));
        }
        let summary = Summary::of(tally, Duration::from_secs(2));
        assert_eq!(summary.ok, 4);
        assert_eq!(summary.errors, 3);
        assert_eq!(summary.per_sec, 2.0);
        assert_eq!(summary.p50_ms, 2.0);
        assert_eq!(summary.max_ms, 4.0);
        assert_eq!(summary.error_samples, vec!["same failure".to_owned()]);
    }
}
