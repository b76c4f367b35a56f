//! The outbox as a work queue for the notifier. A worker claims due rows with a lease (on
//! PostgreSQL skipping rows another process holds, `FOR UPDATE SKIP LOCKED`; on SQLite the single
//! connection makes the claiming `UPDATE ... RETURNING` atomic by itself), leaving out hosts it
//! has no room for, and records many attempts in one commit. An attempt is recorded only by the
//! lease holder and only once (`attempts` is compared and set, and `(notification_id,
//! attempt_no)` is unique). A worker that dies leaves its leases to expire, and another claims
//! the rows again.

use crate::rows::{get_i64, get_opt_i64, get_opt_string, get_parsed, get_string};
use crate::{Ctx, Store, StoreError, StoreResult};
use paygate_domain::schedule::NotificationStatus;
use paygate_domain::{MerchantId, TradeNo};
use sqlx::any::AnyRow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRecord {
    pub id: i64,
    pub merchant_id: MerchantId,
    pub trade_no: TradeNo,
    pub kind: String,
    pub notify_url: String,
    pub notify_host: String,
    pub payload: String,
    pub status: NotificationStatus,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub created_at: i64,
    pub last_error: Option<String>,
    pub finished_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    pub attempt_no: i64,
    pub at: i64,
    pub http_status: Option<i64>,
    pub latency_ms: i64,
    pub outcome: String,
    pub response_excerpt: Option<String>,
    pub worker: String,
}

/// Where a notification stands after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptVerdict {
    Delivered,
    RetryAt(i64),
    GaveUp,
}

const NOTIFICATION_COLUMNS: &str = "id, merchant_id, trade_no, kind, notify_url, notify_host, \
    payload, status, attempts, next_attempt_at, created_at, last_error, finished_at";

fn notification_from_row(row: &AnyRow) -> StoreResult<NotificationRecord> {
    let corrupt =
        |column: &str, e: paygate_domain::IdError| StoreError::Corrupt(format!("{column}: {e}"));
    let notification = NotificationRecord {
        id: get_i64(row, "id")?,
        merchant_id: MerchantId::parse(&get_string(row, "merchant_id")?)
            .map_err(|e| corrupt("merchant_id", e))?,
        trade_no: TradeNo::parse(&get_string(row, "trade_no")?)
            .map_err(|e| corrupt("trade_no", e))?,
        kind: get_string(row, "kind")?,
        notify_url: get_string(row, "notify_url")?,
        notify_host: get_string(row, "notify_host")?,
        payload: get_string(row, "payload")?,
        status: get_parsed(row, "status")?,
        attempts: get_i64(row, "attempts")?,
        next_attempt_at: get_i64(row, "next_attempt_at")?,
        created_at: get_i64(row, "created_at")?,
        last_error: get_opt_string(row, "last_error")?,
        finished_at: get_opt_i64(row, "finished_at")?,
    };
    // Checked where it is read back, so a corrupt row stops a test run.
    debug_assert!(
        notification.attempts >= 0,
        "notification {} has {} attempts",
        notification.id,
        notification.attempts
    );
    debug_assert!(
        notification.status == NotificationStatus::Pending || notification.finished_at.is_some(),
        "notification {} is {} without a finish time",
        notification.id,
        notification.status
    );
    Ok(notification)
}

/// One attempt to record, with where it leaves its notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptOutcome {
    pub notification_id: i64,
    pub attempt: AttemptRecord,
    pub verdict: AttemptVerdict,
}

/// `$first, $first+1, ...` for `count` values.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// Leases up to `limit` due notifications to `owner` until `now + lease_ms`, oldest due
    /// first, leaving out those addressed to `busy_hosts` (hosts the caller has no room for, so
    /// their backlog is neither claimed nor churned).
    pub async fn claim_due_notifications(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
        busy_hosts: &[String],
    ) -> StoreResult<Vec<NotificationRecord>> {
        let busy = if busy_hosts.is_empty() {
            String::new()
        } else {
            format!(
                "AND notify_host NOT IN ({})",
                placeholders(6, busy_hosts.len())
            )
        };
        let sql = format!(
            "UPDATE notifications SET lease_owner = $1, lease_until = $2
             WHERE id IN (SELECT id FROM notifications
                          WHERE status = $3 AND next_attempt_at <= $4
                            AND (lease_until IS NULL OR lease_until <= $4) {busy}
                          ORDER BY next_attempt_at LIMIT $5 {})
             RETURNING {NOTIFICATION_COLUMNS}",
            self.skip_locked()
        );
        let mut query = sqlx::query(&sql)
            .bind(owner)
            .bind(now_ms + lease_ms)
            .bind(NotificationStatus::Pending.as_str())
            .bind(now_ms)
            .bind(limit);
        for host in busy_hosts {
            query = query.bind(host.as_str());
        }
        let rows = query
            .fetch_all(&self.pool)
            .await
            .ctx("claim notifications")?;
        let mut claimed = rows
            .iter()
            .map(notification_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        // RETURNING does not keep the subquery's order.
        claimed.sort_by_key(|n| (n.next_attempt_at, n.id));
        Ok(claimed)
    }

    /// Gives claimed notifications back untouched, due as they were, for whoever has room.
    pub async fn release_notifications(&self, owner: &str, ids: &[i64]) -> StoreResult<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let sql = format!(
            "UPDATE notifications SET lease_owner = NULL, lease_until = NULL
             WHERE lease_owner = $1 AND id IN ({})",
            placeholders(2, ids.len())
        );
        let mut query = sqlx::query(&sql).bind(owner);
        for id in ids {
            query = query.bind(*id);
        }
        let done = query
            .execute(&self.pool)
            .await
            .ctx("release notifications")?;
        Ok(done.rows_affected())
    }

    /// Records each attempt and its verdict in one transaction (one commit for the batch). An
    /// attempt is recorded only if `owner` still holds its notification's lease and attempt
    /// `attempt_no - 1` was the last one recorded; the answer says, per outcome, whether it was.
    pub async fn record_notification_attempts(
        &self,
        owner: &str,
        outcomes: &[AttemptOutcome],
    ) -> StoreResult<Vec<bool>> {
        if outcomes.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.pool.begin().await.ctx("begin record attempts")?;
        let mut recorded = Vec::with_capacity(outcomes.len());
        for outcome in outcomes {
            let attempt = &outcome.attempt;
            let (status, next_at, finished_at) = match outcome.verdict {
                AttemptVerdict::Delivered => {
                    (NotificationStatus::Delivered, attempt.at, Some(attempt.at))
                }
                AttemptVerdict::RetryAt(at) => (NotificationStatus::Pending, at, None),
                AttemptVerdict::GaveUp => {
                    (NotificationStatus::GaveUp, attempt.at, Some(attempt.at))
                }
            };
            let last_error =
                (outcome.verdict != AttemptVerdict::Delivered).then_some(attempt.outcome.as_str());
            let updated = sqlx::query(
                "UPDATE notifications SET status = $1, attempts = $2, next_attempt_at = $3,
                        finished_at = $4, last_error = COALESCE($5, last_error),
                        lease_owner = NULL, lease_until = NULL
                 WHERE id = $6 AND lease_owner = $7 AND attempts = $8",
            )
            .bind(status.as_str())
            .bind(attempt.attempt_no)
            .bind(next_at)
            .bind(finished_at)
            .bind(last_error)
            .bind(outcome.notification_id)
            .bind(owner)
            .bind(attempt.attempt_no - 1)
            .execute(&mut *tx)
            .await
            .ctx("update notification")?
            .rows_affected();
            recorded.push(updated == 1);
        }
        let kept: Vec<&AttemptOutcome> = outcomes
            .iter()
            .zip(&recorded)
            .filter_map(|(outcome, &ok)| ok.then_some(outcome))
            .collect();
        if !kept.is_empty() {
            const COLUMNS: usize = 8;
            let values = (0..kept.len())
                .map(|row| format!("({})", placeholders(row * COLUMNS + 1, COLUMNS)))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "INSERT INTO notification_attempts (notification_id, attempt_no, at, http_status,
                     latency_ms, outcome, response_excerpt, worker)
                 VALUES {values} ON CONFLICT (notification_id, attempt_no) DO NOTHING"
            );
            let mut insert = sqlx::query(&sql);
            for outcome in &kept {
                let a = &outcome.attempt;
                insert = insert
                    .bind(outcome.notification_id)
                    .bind(a.attempt_no)
                    .bind(a.at)
                    .bind(a.http_status)
                    .bind(a.latency_ms)
                    .bind(a.outcome.as_str())
                    .bind(a.response_excerpt.as_deref())
                    .bind(owner);
            }
            let inserted = insert
                .execute(&mut *tx)
                .await
                .ctx("insert attempts")?
                .rows_affected();
            // Whoever records attempt n also moves `attempts` to n in the same commit, so an
            // update that matched `attempts = n - 1` cannot meet a recorded attempt n.
            if inserted != kept.len() as u64 {
                tx.rollback().await.ctx("rollback attempts")?;
                return Err(StoreError::Corrupt(format!(
                    "{} of {} attempts were already recorded",
                    kept.len() as u64 - inserted,
                    kept.len()
                )));
            }
        }
        tx.commit().await.ctx("commit attempts")?;
        Ok(recorded)
    }

    pub async fn notifications_for_trade(
        &self,
        trade_no: &TradeNo,
    ) -> StoreResult<Vec<NotificationRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE trade_no = $1 ORDER BY id"
        ))
        .bind(trade_no.as_str())
        .fetch_all(&self.pool)
        .await
        .ctx("list notifications")?;
        rows.iter().map(notification_from_row).collect()
    }

    pub async fn get_notification(&self, id: i64) -> StoreResult<Option<NotificationRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .ctx("get notification")?;
        row.as_ref().map(notification_from_row).transpose()
    }

    pub async fn notification_attempts(&self, id: i64) -> StoreResult<Vec<AttemptRecord>> {
        let rows = sqlx::query(
            "SELECT attempt_no, at, http_status, latency_ms, outcome, response_excerpt, worker
             FROM notification_attempts WHERE notification_id = $1 ORDER BY attempt_no",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .ctx("list attempts")?;
        rows.iter()
            .map(|r| {
                Ok(AttemptRecord {
                    attempt_no: get_i64(r, "attempt_no")?,
                    at: get_i64(r, "at")?,
                    http_status: get_opt_i64(r, "http_status")?,
                    latency_ms: get_i64(r, "latency_ms")?,
                    outcome: get_string(r, "outcome")?,
                    response_excerpt: get_opt_string(r, "response_excerpt")?,
                    worker: get_string(r, "worker")?,
                })
            })
            .collect()
    }

    /// An operator's re-send: due now, whatever its state. Returns false for an unknown id.
    pub async fn resend_notification(&self, id: i64, now_ms: i64) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE notifications SET status = $1, next_attempt_at = $2, finished_at = NULL,
                    lease_owner = NULL, lease_until = NULL
             WHERE id = $3",
        )
        .bind(NotificationStatus::Pending.as_str())
        .bind(now_ms)
        .bind(id)
        .execute(&self.pool)
        .await
        .ctx("resend notification")?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn count_notifications_by_status(
        &self,
    ) -> StoreResult<Vec<(NotificationStatus, i64)>> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM notifications GROUP BY status")
            .fetch_all(&self.pool)
            .await
            .ctx("count notifications")?;
        rows.iter()
            .map(|row| Ok((get_parsed(row, "status")?, get_i64(row, "n")?)))
            .collect()
    }
}
