//! The partner's fulfilment status of an order (issue #10): the order's current status and the
//! steps that led to it, moved by a compare-and-set like the order's own status.

use crate::rows::{get_i64, get_opt_i64, get_parsed};
use crate::{Ctx, Store, StoreResult};
use paygate_domain::{PartnerStatus, TradeNo};

/// One step the partner reported, decided by `PartnerStatus::report` and applied only if the
/// order's partner status is still `from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerStepChange {
    pub trade_no: TradeNo,
    pub from: PartnerStatus,
    pub to: PartnerStatus,
    /// When it happened at the partner, in Unix seconds, if the partner said.
    pub reported_at_secs: Option<i64>,
    pub recorded_at_ms: i64,
}

/// A recorded step, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartnerStepRecord {
    pub step: PartnerStatus,
    pub reported_at_secs: Option<i64>,
    pub recorded_at_ms: i64,
}

impl Store {
    /// The order's partner status; `None` when there is no such order.
    pub async fn partner_status(&self, trade_no: &TradeNo) -> StoreResult<Option<PartnerStatus>> {
        let row = sqlx::query("SELECT partner_status FROM orders WHERE trade_no = $1")
            .bind(trade_no.as_str())
            .fetch_optional(&self.pool)
            .await
            .ctx("read partner status")?;
        row.map(|r| get_parsed(&r, "partner_status")).transpose()
    }

    /// Moves the partner status and records the step in one transaction. Returns whether this
    /// call did it; `false` means another report moved the status first and nothing was written.
    pub async fn record_partner_step(&self, change: &PartnerStepChange) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.ctx("begin partner step")?;
        let moved = sqlx::query(
            "UPDATE orders SET partner_status = $1, updated_at = $2
             WHERE trade_no = $3 AND partner_status = $4",
        )
        .bind(change.to.as_str())
        .bind(change.recorded_at_ms)
        .bind(change.trade_no.as_str())
        .bind(change.from.as_str())
        .execute(&mut *tx)
        .await
        .ctx("move partner status")?;
        if moved.rows_affected() != 1 {
            tx.rollback().await.ctx("rollback lost partner step")?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO partner_order_steps (trade_no, step, reported_at, recorded_at)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(change.trade_no.as_str())
        .bind(change.to.as_str())
        .bind(change.reported_at_secs)
        .bind(change.recorded_at_ms)
        .execute(&mut *tx)
        .await
        .ctx("record partner step")?;
        tx.commit().await.ctx("commit partner step")?;
        Ok(true)
    }

    /// The recorded steps of one order, in the order they were recorded.
    pub async fn partner_steps(&self, trade_no: &TradeNo) -> StoreResult<Vec<PartnerStepRecord>> {
        let rows = sqlx::query(
            "SELECT step, reported_at, recorded_at FROM partner_order_steps
             WHERE trade_no = $1 ORDER BY recorded_at, step",
        )
        .bind(trade_no.as_str())
        .fetch_all(&self.pool)
        .await
        .ctx("list partner steps")?;
        rows.iter()
            .map(|r| {
                Ok(PartnerStepRecord {
                    step: get_parsed(r, "step")?,
                    reported_at_secs: get_opt_i64(r, "reported_at")?,
                    recorded_at_ms: get_i64(r, "recorded_at")?,
                })
            })
            .collect()
    }
}
