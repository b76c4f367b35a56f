//! Status polls as a work queue. Workers claim due rows with a lease: on PostgreSQL the claim
//! skips rows another process holds (`FOR UPDATE SKIP LOCKED`); on SQLite the single connection
//! makes the claiming `UPDATE ... RETURNING` atomic by itself. A worker that dies leaves its lease
//! to expire, and another claims the row again.

use crate::rows::{get_i64, get_string};
use crate::{Backend, Ctx, Store, StoreResult};

/// A claimed status poll: an order (`ORDER`) or refund (`REFUND`) whose outcome is unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollRecord {
    pub kind: String,
    pub subject: String,
    pub attempts: i64,
    pub first_at_ms: i64,
}

/// A scheduled poll as stored, claimed or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledPoll {
    pub kind: String,
    pub subject: String,
    pub attempts: i64,
    pub next_at_ms: i64,
}

impl Store {
    pub(crate) fn skip_locked(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        }
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
                    first_at_ms: get_i64(r, "first_at")?,
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

    /// Scheduled polls, soonest first, for tests and operators.
    pub async fn pending_polls(&self) -> StoreResult<Vec<ScheduledPoll>> {
        let rows = sqlx::query(
            "SELECT kind, subject, attempts, next_at FROM status_polls ORDER BY next_at",
        )
        .fetch_all(&self.pool)
        .await
        .ctx("list polls")?;
        rows.iter()
            .map(|r| {
                Ok(ScheduledPoll {
                    kind: get_string(r, "kind")?,
                    subject: get_string(r, "subject")?,
                    attempts: get_i64(r, "attempts")?,
                    next_at_ms: get_i64(r, "next_at")?,
                })
            })
            .collect()
    }
}
