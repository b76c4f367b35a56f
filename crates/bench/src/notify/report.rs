//! The notification figures over repeated runs (median, min and max of each), as a table or
//! JSON.

use super::drain::DrainRun;
use super::lag::LagRun;
use serde::Serialize;

/// One figure over the runs of a configuration.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    /// The median of an even count is the mean of the middle two.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Spread {
        let mut values: Vec<f64> = values.into_iter().collect();
        assert!(!values.is_empty(), "a configuration has at least one run");
        values.sort_by(f64::total_cmp);
        let n = values.len();
        let median = if n % 2 == 1 {
            values[n / 2]
        } else {
            (values[n / 2 - 1] + values[n / 2]) / 2.0
        };
        Spread {
            median,
            min: values[0],
            max: values[n - 1],
        }
    }

    /// `median` alone for one run, else `median (min–max)`.
    fn show(self, decimals: usize) -> String {
        if self.min == self.max {
            format!("{:.decimals$}", self.median)
        } else {
            format!(
                "{:.decimals$} ({:.decimals$}–{:.decimals$})",
                self.median, self.min, self.max
            )
        }
    }
}

/// Declares a row of figures over the runs of one configuration, and its `of`: each field is
/// the spread of one figure read from every run, so a figure is named once.
macro_rules! spread_row {
    ($row:ident of $run:ident { $($field:ident: |$r:ident| $value:expr),+ $(,)? }) => {
        #[derive(Debug, Serialize)]
        pub struct $row {
            pub hosts: usize,
            pub processes: usize,
            pub runs: usize,
            $(pub $field: Spread,)+
        }

        impl $row {
            pub fn of(hosts: usize, processes: usize, runs: &[$run]) -> $row {
                $row {
                    hosts,
                    processes,
                    runs: runs.len(),
                    $($field: Spread::of(runs.iter().map(|$r: &$run| $value)),)+
                }
            }
        }
    };
}

spread_row! {
    DrainRow of DrainRun {
        deliveries_per_sec: |r| r.per_sec,
        deliveries_per_sec_from_first_ready: |r| r.per_sec_from_first,
        drain_secs: |r| r.drain_secs,
        delivered: |r| r.delivered as f64,
        received: |r| r.received as f64,
        duplicates: |r| r.duplicates as f64,
        early: |r| r.early as f64,
        missing: |r| r.missing as f64,
        seed_secs: |r| r.seed_secs,
    }
}

spread_row! {
    LagRow of LagRun {
        p50_ms: |r| r.p50_ms,
        p99_ms: |r| r.p99_ms,
        max_ms: |r| r.max_ms,
        paid_per_sec: |r| r.paid_per_sec,
        expected: |r| r.expected as f64,
        received: |r| r.received as f64,
        missing: |r| r.missing as f64,
        duplicates: |r| r.duplicates as f64,
        errors: |r| r.errors as f64,
        seed_secs: |r| r.seed_secs,
    }
}

pub fn print_drain(rows: &[DrainRow], backlog: usize) {
    if rows.is_empty() {
        return;
    }
    println!("\nDrain: a backlog of {backlog} due notifications (median (min–max) over runs)");
    println!(
        "{:>5} {:>5} {:>4}  {:>20} {:>20} {:>18} {:>12} {:>10} {:>6} {:>7} {:>7}",
        "hosts",
        "procs",
        "runs",
        "deliveries/s",
        "from first ready/s",
        "drain s",
        "received",
        "dupl.",
        "early",
        "missing",
        "seed s"
    );
    for r in rows {
        println!(
            "{:>5} {:>5} {:>4}  {:>20} {:>20} {:>18} {:>12} {:>10} {:>6} {:>7} {:>7}",
            r.hosts,
            r.processes,
            r.runs,
            r.deliveries_per_sec.show(0),
            r.deliveries_per_sec_from_first_ready.show(0),
            r.drain_secs.show(2),
            r.received.show(0),
            r.duplicates.show(0),
            r.early.show(0),
            r.missing.show(0),
            r.seed_secs.show(1),
        );
    }
}

pub fn print_lag(rows: &[LagRow], rate: u32, secs: u32) {
    if rows.is_empty() {
        return;
    }
    println!(
        "\nLag: {rate} orders/s marked paid for {secs} s, paid → received at the merchant \
         (median (min–max) over runs)"
    );
    println!(
        "{:>5} {:>5} {:>4}  {:>16} {:>16} {:>18} {:>18} {:>14} {:>8} {:>6} {:>7} {:>7}",
        "hosts",
        "procs",
        "runs",
        "p50 ms",
        "p99 ms",
        "max ms",
        "paid/s",
        "received",
        "missing",
        "dupl.",
        "errors",
        "seed s"
    );
    for r in rows {
        let received = format!("{}/{}", r.received.show(0), r.expected.show(0));
        println!(
            "{:>5} {:>5} {:>4}  {:>16} {:>16} {:>18} {:>18} {:>14} {:>8} {:>6} {:>7} {:>7}",
            r.hosts,
            r.processes,
            r.runs,
            r.p50_ms.show(0),
            r.p99_ms.show(0),
            r.max_ms.show(0),
            r.paid_per_sec.show(0),
            received,
            r.missing.show(0),
            r.duplicates.show(0),
            r.errors.show(0),
            r.seed_secs.show(1),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::Spread;

    #[test]
    fn a_spread_has_the_middle_value_and_the_ends() {
        let odd = Spread::of([5.0, 1.0, 3.0]);
        assert_eq!((odd.median, odd.min, odd.max), (3.0, 1.0, 5.0));
        assert_eq!(Spread::of([4.0, 1.0, 2.0, 3.0]).median, 2.5);
        assert_eq!(Spread::of([7.0]).show(0), "7");
        assert_eq!(odd.show(1), "3.0 (1.0–5.0)");
    }
}
