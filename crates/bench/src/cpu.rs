//! CPU time per operation: this process (client, server and store together) and, when the
//! PostgreSQL server runs on this machine, the server processes of the benchmark database.
//!
//! On a machine the load saturates, throughput is the cores divided by the CPU an operation costs,
//! so these figures say where the time goes; and, unlike throughput, they barely move when
//! another program takes some of the cores during a run. Read from Linux's `/proc`; elsewhere
//! they are absent.

use paygate_store::Backend;
use serde::Serialize;
use sqlx::postgres::{PgPool, PgPoolOptions};
use std::collections::HashMap;

/// `USER_HZ`, the unit of `/proc/<pid>/stat` times: 100 on every Linux architecture we run on.
const TICKS_PER_SEC: f64 = 100.0;

#[derive(Debug, Clone, Copy, Serialize)]
pub struct CpuPerOp {
    /// This process: the HTTP client, the server and the store's driver.
    pub own_ms: f64,
    /// The PostgreSQL backends serving the benchmark database; absent for SQLite or a remote server.
    pub pg_ms: Option<f64>,
}

/// CPU ticks used so far, by this process and by each PostgreSQL backend of the database.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    own_ticks: Option<u64>,
    pg_ticks: Option<HashMap<i32, u64>>,
}

/// Takes snapshots; on PostgreSQL it holds one connection of its own to the benchmark database
/// to list that database's backends (never the store's pool, which is the store's business).
#[derive(Clone)]
pub struct Probe {
    pg_pool: Option<PgPool>,
}

impl Probe {
    /// Without a connection (on SQLite, or when it fails), only this process is measured.
    pub async fn connect(backend: Backend, url: &str) -> Probe {
        let pg_pool = match backend {
            Backend::Postgres => PgPoolOptions::new()
                .max_connections(1)
                .connect(url)
                .await
                .inspect_err(|e| eprintln!("bench: no PostgreSQL CPU figures: {e}"))
                .ok(),
            Backend::Sqlite => None,
        };
        Probe { pg_pool }
    }

    pub async fn close(&self) {
        if let Some(pool) = &self.pg_pool {
            pool.close().await;
        }
    }

    pub async fn snapshot(&self) -> Snapshot {
        let own_ticks = std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|text| parse_stat_ticks(&text));
        let pg_ticks = match &self.pg_pool {
            Some(pool) => backend_ticks(pool).await,
            None => None,
        };
        Snapshot {
            own_ticks,
            pg_ticks,
        }
    }
}

/// The database's client backends, when they are PostgreSQL processes on this machine (none
/// when the server is elsewhere: its process ids mean nothing here).
async fn backend_ticks(pool: &PgPool) -> Option<HashMap<i32, u64>> {
    // Client backends only: an autovacuum worker on the database would add its whole run to
    // whichever window it falls in, which says more about timing than about the operation.
    // The probe's own backend is left out: it is idle but for these queries.
    let pids: Vec<i32> = sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity
         WHERE datname = current_database() AND backend_type = 'client backend'
           AND pid <> pg_backend_pid()",
    )
    .fetch_all(pool)
    .await
    .ok()?;
    let mut ticks = HashMap::new();
    for pid in pids {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        if comm.trim() != "postgres" {
            return None;
        }
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        ticks.insert(pid, parse_stat_ticks(&stat)?);
    }
    Some(ticks)
}

/// Milliseconds of CPU per operation between two snapshots. A backend that appeared between them
/// counts whole; one that left is not counted (the pool keeps its connections through a run).
pub fn per_op(before: &Snapshot, after: &Snapshot, ops: u64) -> Option<CpuPerOp> {
    if ops == 0 {
        return None;
    }
    let ms_per_op = |ticks: u64| ticks as f64 * 1000.0 / TICKS_PER_SEC / ops as f64;
    let own = after.own_ticks?.checked_sub(before.own_ticks?)?;
    let pg = match (&before.pg_ticks, &after.pg_ticks) {
        (Some(b), Some(a)) => Some(
            a.iter()
                .map(|(pid, t)| t.saturating_sub(b.get(pid).copied().unwrap_or(0)))
                .sum::<u64>(),
        ),
        _ => None,
    };
    Some(CpuPerOp {
        own_ms: ms_per_op(own),
        pg_ms: pg.map(ms_per_op),
    })
}

/// utime + stime from the text of `/proc/<pid>/stat`. The command name (field 2) may hold spaces
/// and parentheses, so fields are counted after its last `)`.
fn parse_stat_ticks(stat: &str) -> Option<u64> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_comm.split_whitespace();
    // After the name come state (field 3) ... utime (14) and stime (15): skip 11 fields.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_times_are_read_after_the_command_name() {
        let stat = "4242 (tokio (rt) x) S 1 4242 4242 0 -1 4194560 900 0 0 0 1234 56 0 0 20 0 9";
        assert_eq!(parse_stat_ticks(stat), Some(1290));
        assert_eq!(parse_stat_ticks("garbage"), None);
    }

    #[test]
    fn cpu_per_op_counts_new_backends_whole() {
        let before = Snapshot {
            own_ticks: Some(100),
            pg_ticks: Some(HashMap::from([(1, 50)])),
        };
        let after = Snapshot {
            own_ticks: Some(300),
            pg_ticks: Some(HashMap::from([(1, 150), (2, 100)])),
        };
        let cpu = per_op(&before, &after, 1000).unwrap();
        assert_eq!(cpu.own_ms, 2.0);
        assert_eq!(cpu.pg_ms, Some(2.0));
        assert!(per_op(&before, &after, 0).is_none());
    }
}
