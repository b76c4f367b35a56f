//! The outbox and status polls as work queues. Workers claim due rows with a lease: on
//! PostgreSQL the claim skips rows another process holds (`FOR UPDATE SKIP LOCKED`); on SQLite
//! the single connection makes the claiming `UPDATE ... RETURNING` atomic by itself. A worker that
//! dies leaves its lease to expire, and another claims the row again.

use crate::rows::{get_i64, get_opt_i64, get_opt_string, get_parsed, get_string};
use crate::{Backend, Ctx, Store, StoreError, StoreResult};
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
    Ok(NotificationRecord {
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
    })
}

/// A claimed status poll: an order (`ORDER`) or refund (`REFUND`) whose outcome is unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollRecord {
    pub kind: String,
    pub subject: String,
    pub attempts: i64,
    pub first_at: i64,
}

impl Store {
    fn skip_locked(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        }
    }

    /// Leases up to `limit` due notifications to `owner` until `now + lease_ms`.
    pub async fn claim_due_notifications(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<NotificationRecord>> {
        let rows = sqlx::query(&format!(
            "UPDATE notifications SET lease_owner = $1, lease_until = $2
             WHERE id IN (SELECT id FROM notifications
                          WHERE status = $3 AND next_attempt_at <= $4
                            AND (lease_until IS NULL OR lease_until <= $4)
                          ORDER BY next_attempt_at LIMIT $5 {})
             RETURNING {NOTIFICATION_COLUMNS}",
            self.skip_locked()
        ))
        .bind(owner)
        .bind(now_ms + lease_ms)
        .bind(NotificationStatus::Pending.as_str())
        .bind(now_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .ctx("claim notifications")?;
        rows.iter().map(notification_from_row).collect()
    }

    /// Gives a claimed notification back without an attempt, due again at `due_at_ms` (used when
    /// its merchant's server already has as many deliveries in flight as it may).
    pub async fn defer_notification(
        &self,
        id: i64,
        owner: &str,
        due_at_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE notifications SET lease_owner = NULL, lease_until = NULL, next_attempt_at = $1
             WHERE id = $2 AND lease_owner = $3",
        )
        .bind(due_at_ms)
        .bind(id)
        .bind(owner)
        .execute(&self.pool)
        .await
        .ctx("defer notification")?;
        Ok(())
    }

    /// Records attempt `attempts + 1` and its verdict, if `owner` still holds the lease and no one
    /// recorded that attempt first. Returns false when the lease was lost.
    pub async fn record_notification_attempt(
        &self,
        notification: &NotificationRecord,
        owner: &str,
        attempt: &AttemptRecord,
        verdict: AttemptVerdict,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.ctx("begin record attempt")?;
        let inserted = sqlx::query(
            "INSERT INTO notification_attempts (notification_id, attempt_no, at, http_status,
                 latency_ms, outcome, response_excerpt, worker)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (notification_id, attempt_no) DO NOTHING",
        )
        .bind(notification.id)
        .bind(attempt.attempt_no)
        .bind(attempt.at)
        .bind(attempt.http_status)
        .bind(attempt.latency_ms)
        .bind(&attempt.outcome)
        .bind(attempt.response_excerpt.as_deref())
        .bind(owner)
        .execute(&mut *tx)
        .await
        .ctx("insert attempt")?
        .rows_affected();
        if inserted == 0 {
            tx.rollback().await.ctx("rollback duplicate attempt")?;
            return Ok(false);
        }
        let (status, next_at, finished_at) = match verdict {
            AttemptVerdict::Delivered => {
                (NotificationStatus::Delivered, attempt.at, Some(attempt.at))
            }
            AttemptVerdict::RetryAt(at) => (NotificationStatus::Pending, at, None),
            AttemptVerdict::GaveUp => (NotificationStatus::GaveUp, attempt.at, Some(attempt.at)),
        };
        let last_error = (verdict != AttemptVerdict::Delivered).then_some(attempt.outcome.as_str());
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
        .bind(notification.id)
        .bind(owner)
        .bind(attempt.attempt_no - 1)
        .execute(&mut *tx)
        .await
        .ctx("update notification")?
        .rows_affected();
        if updated == 0 {
            tx.rollback().await.ctx("rollback lost lease")?;
            return Ok(false);
        }
        tx.commit().await.ctx("commit attempt")?;
        Ok(true)
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

    /// Asks for `subject` to be queried at `first_due_ms`, unless a poll is already scheduled.
    pub async fn schedule_poll(
        &self,
        kind: &str,
        subject: &str,
        now_ms: i64,
        first_due_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO status_polls (subject, kind, attempts, first_at, next_at)
             VALUES ($1, $2, 0, $3, $4) ON CONFLICT (kind, subject) DO NOTHING",
        )
        .bind(subject)
        .bind(kind)
        .bind(now_ms)
        .bind(first_due_ms)
        .execute(&self.pool)
        .await
        .ctx("schedule poll")?;
        Ok(())
    }

    pub async fn claim_due_polls(
        &self,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<PollRecord>> {
        let rows = sqlx::query(&format!(
            "UPDATE status_polls SET lease_owner = $1, lease_until = $2
             WHERE (kind, subject) IN (SELECT kind, subject FROM status_polls
                          WHERE next_at <= $3 AND (lease_until IS NULL OR lease_until <= $3)
                          ORDER BY next_at LIMIT $4 {})
             RETURNING kind, subject, attempts, first_at",
            self.skip_locked()
        ))
        .bind(owner)
        .bind(now_ms + lease_ms)
        .bind(now_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .ctx("claim polls")?;
        rows.iter()
            .map(|r| {
                Ok(PollRecord {
                    kind: get_string(r, "kind")?,
                    subject: get_string(r, "subject")?,
                    attempts: get_i64(r, "attempts")?,
                    first_at: get_i64(r, "first_at")?,
                })
            })
            .collect()
    }

    /// After an inconclusive query: due again at `next_at_ms`.
    pub async fn reschedule_poll(
        &self,
        poll: &PollRecord,
        owner: &str,
        next_at_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE status_polls SET attempts = attempts + 1, next_at = $1,
                    lease_owner = NULL, lease_until = NULL
             WHERE kind = $2 AND subject = $3 AND lease_owner = $4",
        )
        .bind(next_at_ms)
        .bind(&poll.kind)
        .bind(&poll.subject)
        .bind(owner)
        .execute(&self.pool)
        .await
        .ctx("reschedule poll")?;
        Ok(())
    }

    pub async fn finish_poll(&self, kind: &str, subject: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM status_polls WHERE kind = $1 AND subject = $2")
            .bind(kind)
            .bind(subject)
            .execute(&self.pool)
            .await
            .ctx("finish poll")?;
        Ok(())
    }

    /// Scheduled polls as (kind, subject, attempts, next_at), for tests and operators.
    pub async fn pending_polls(&self) -> StoreResult<Vec<(String, String, i64, i64)>> {
        let rows = sqlx::query(
            "SELECT kind, subject, attempts, next_at FROM status_polls ORDER BY next_at",
        )
        .fetch_all(&self.pool)
        .await
        .ctx("list polls")?;
        rows.iter()
            .map(|r| {
                Ok((
                    get_string(r, "kind")?,
                    get_string(r, "subject")?,
                    get_i64(r, "attempts")?,
                    get_i64(r, "next_at")?,
                ))
            })
            .collect()
    }
}
