//! Order anomalies: things a person must look at (a payment the channel took after we closed
//! the order), recorded once per (order, kind) and listed until resolved.

use crate::rows::{get_i64, get_id, get_string};
use crate::{Ctx, Store, StoreResult};
use paygate_domain::TradeNo;

/// An unresolved anomaly as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnomalyRecord {
    pub trade_no: TradeNo,
    pub kind: String,
    pub detail: String,
    pub detected_at_ms: i64,
}

impl Store {
    /// Records something a person must look at, once per (order, kind). Returns whether this
    /// call recorded it.
    pub async fn record_anomaly(
        &self,
        trade_no: &TradeNo,
        kind: &str,
        detail: &str,
        at_ms: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO order_anomalies (trade_no, kind, detail, detected_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (trade_no, kind) DO NOTHING",
        )
        .bind(trade_no.as_str())
        .bind(kind)
        .bind(detail)
        .bind(at_ms)
        .execute(&self.pool)
        .await
        .ctx("record anomaly")?;
        Ok(done.rows_affected() == 1)
    }

    /// Unresolved anomalies, oldest first.
    pub async fn open_anomalies(&self, limit: i64) -> StoreResult<Vec<AnomalyRecord>> {
        let rows = sqlx::query(
            "SELECT trade_no, kind, detail, detected_at FROM order_anomalies
             WHERE resolved_at IS NULL ORDER BY id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .ctx("list anomalies")?;
        rows.iter()
            .map(|r| {
                Ok(AnomalyRecord {
                    trade_no: get_id(r, "trade_no", TradeNo::parse)?,
                    kind: get_string(r, "kind")?,
                    detail: get_string(r, "detail")?,
                    detected_at_ms: get_i64(r, "detected_at")?,
                })
            })
            .collect()
    }
}
