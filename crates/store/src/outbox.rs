//! The outbox's writing side: a notification row written in the same transaction as the change
//! it announces, so a committed change is always announced and an undone one never is. The
//! notifier's side (claiming and recording deliveries) is `notifications`.

use crate::{Ctx, StoreResult};
use paygate_domain::schedule::NotificationStatus;
use paygate_domain::{MerchantId, TradeNo};
use sqlx::{Any, Transaction};

/// A notification to write with the change it announces.
#[derive(Debug, Clone)]
pub struct Outbox {
    pub kind: &'static str,
    pub notify_url: String,
    pub payload: String,
}

pub(crate) async fn write_outbox(
    tx: &mut Transaction<'static, Any>,
    merchant_id: &MerchantId,
    trade_no: &TradeNo,
    outbox: &Outbox,
    at_ms: i64,
) -> StoreResult<()> {
    write_outbox_about(tx, merchant_id, trade_no.as_str(), outbox, at_ms).await
}

/// `write_outbox` for a notification about something other than an order: the `trade_no`
/// column then carries that thing's number (a payout's `payout_no`), which has the same form.
pub(crate) async fn write_outbox_about(
    tx: &mut Transaction<'static, Any>,
    merchant_id: &MerchantId,
    subject: &str,
    outbox: &Outbox,
    at_ms: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO notifications (merchant_id, trade_no, kind, notify_url, notify_host,
                                    payload, status, attempts, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $8)",
    )
    .bind(merchant_id.as_str())
    .bind(subject)
    .bind(outbox.kind)
    .bind(&outbox.notify_url)
    .bind(paygate_domain::schedule::url_host(&outbox.notify_url))
    .bind(&outbox.payload)
    .bind(NotificationStatus::Pending.as_str())
    .bind(at_ms)
    .execute(&mut **tx)
    .await
    .ctx("write outbox")?;
    Ok(())
}
