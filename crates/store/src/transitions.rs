//! Order state changes: the one writer every status change goes through (orders settled by a
//! channel, closed, or refunded), and the audit trail it leaves. A change is a compare-and-set on
//! the previous status; the audit row and the outbox row are written in the same transaction.

use crate::ledger::{bind_entries, entries_insert};
use crate::outbox::{write_outbox, Outbox};
use crate::rows::{get_id, get_parsed, get_string};
use crate::{Ctx, Store, StoreError, StoreResult};
use paygate_domain::fee::FeeSnapshot;
use paygate_domain::ledger::{Posting, PostingKind};
use paygate_domain::{MerchantId, OrderEvent, OrderStatus, TradeNo};
use sqlx::{Any, Transaction};

/// One state change of one order, decided by `OrderStatus::apply` and applied only if the order
/// is still in `from` (compare-and-set).
#[derive(Debug, Clone)]
pub struct OrderTransition {
    pub trade_no: TradeNo,
    pub from: OrderStatus,
    pub event: OrderEvent,
    pub at_ms: i64,
    pub channel_trade_no: Option<String>,
    pub outbox: Option<Outbox>,
    /// The ledger posting the change brings (a payment's), appended in the same transaction.
    pub posting: Option<Posting>,
    /// A payment's fees, snapshotted on the order row by the same update.
    pub fees: Option<FeeSnapshot>,
}

/// Every event, for reading audit names back.
const EVENTS: [OrderEvent; 6] = [
    OrderEvent::Submitted,
    OrderEvent::PayerConfirming,
    OrderEvent::Paid,
    OrderEvent::Closed,
    OrderEvent::Refunded {
        fully_refunded: false,
    },
    OrderEvent::Refunded {
        fully_refunded: true,
    },
];

/// The name an event is audited under.
pub fn event_name(event: OrderEvent) -> &'static str {
    match event {
        OrderEvent::Submitted => "SUBMITTED",
        OrderEvent::PayerConfirming => "PAYER_CONFIRMING",
        OrderEvent::Paid => "PAID",
        OrderEvent::Closed => "CLOSED",
        OrderEvent::Refunded {
            fully_refunded: false,
        } => "PARTIALLY_REFUNDED",
        OrderEvent::Refunded {
            fully_refunded: true,
        } => "FULLY_REFUNDED",
    }
}

/// Writes the audit row of a change already applied (or of an order's creation).
pub(crate) async fn record_transition(
    tx: &mut Transaction<'static, Any>,
    trade_no: &TradeNo,
    from: OrderStatus,
    to: OrderStatus,
    event: OrderEvent,
    at_ms: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO order_transitions (trade_no, from_status, to_status, event, at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(trade_no.as_str())
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(event_name(event))
    .bind(at_ms)
    .execute(&mut **tx)
    .await
    .ctx("record transition")?;
    Ok(())
}

/// Writes the audit row of a change and the change's ledger entries in one statement: a
/// payment's posting costs its rows, not another round trip (issue #11's benchmark). SQLite runs
/// the two statements of one query in one call; PostgreSQL takes the audit insert as a
/// data-modifying `WITH`.
async fn record_posted_transition(
    tx: &mut Transaction<'static, Any>,
    change: &OrderTransition,
    to: OrderStatus,
    posting: &Posting,
) -> StoreResult<()> {
    const AUDIT: &str =
        "INSERT INTO order_transitions (trade_no, from_status, to_status, event, at)
         VALUES ($1, $2, $3, $4, $5)";
    let entries = entries_insert(posting, 6);
    let sql = match tx.backend_name() {
        "PostgreSQL" => format!("WITH audit AS ({AUDIT}) {entries}"),
        _ => format!("{AUDIT}; {entries}"),
    };
    let query = sqlx::query(&sql)
        .bind(change.trade_no.as_str())
        .bind(change.from.as_str())
        .bind(to.as_str())
        .bind(event_name(change.event))
        .bind(change.at_ms);
    bind_entries(query, posting, change.at_ms)
        .execute(&mut **tx)
        .await
        .ctx("record transition with its posting")?;
    Ok(())
}

/// Applies `change` inside `tx`: the compare-and-set of the order's status (stamping `paid_at`
/// or `closed_at` as the event says), the audit row and, if any, the outbox row. Returns the new
/// status, or `None` when the order was no longer in `change.from` (nothing was written).
pub(crate) async fn write_transition(
    tx: &mut Transaction<'static, Any>,
    change: &OrderTransition,
) -> StoreResult<Option<OrderStatus>> {
    let to = change
        .from
        .apply(change.event)
        .map_err(|e| StoreError::Corrupt(format!("caller asked for an illegal transition: {e}")))?;
    if let Some(posting) = &change.posting {
        if posting.kind != PostingKind::Payment || change.event != OrderEvent::Paid {
            return Err(StoreError::Corrupt(format!(
                "caller asked for a {} posting with a {} change",
                posting.kind.as_str(),
                event_name(change.event)
            )));
        }
    }
    let paid_at = (change.event == OrderEvent::Paid).then_some(change.at_ms);
    let closed_at = (change.event == OrderEvent::Closed).then_some(change.at_ms);
    let fees = change.fees.as_ref();
    let row = sqlx::query(
        "UPDATE orders SET status = $1, updated_at = $2,
                paid_at = COALESCE($3, paid_at), closed_at = COALESCE($4, closed_at),
                channel_trade_no = COALESCE($5, channel_trade_no),
                fee_pay_type = COALESCE($8, fee_pay_type), fee_mode = COALESCE($9, fee_mode),
                fee_rate_ppm = COALESCE($10, fee_rate_ppm), fee_fixed = COALESCE($11, fee_fixed),
                fee_amount = COALESCE($12, fee_amount),
                channel_fee_rate_ppm = COALESCE($13, channel_fee_rate_ppm),
                channel_fee_amount = COALESCE($14, channel_fee_amount)
         WHERE trade_no = $6 AND status = $7
         RETURNING merchant_id",
    )
    .bind(to.as_str())
    .bind(change.at_ms)
    .bind(paid_at)
    .bind(closed_at)
    .bind(change.channel_trade_no.as_deref())
    .bind(change.trade_no.as_str())
    .bind(change.from.as_str())
    .bind(fees.map(|f| f.pay_type.as_str()))
    .bind(fees.map(|f| f.mode.as_str()))
    .bind(fees.map(|f| i64::from(f.merchant.rate.ppm())))
    .bind(fees.map(|f| f.merchant.fixed.minor()))
    .bind(fees.map(|f| f.fee.minor()))
    .bind(fees.map(|f| i64::from(f.channel_rate.ppm())))
    .bind(fees.map(|f| f.channel_fee.minor()))
    .fetch_optional(&mut **tx)
    .await
    .ctx("transition order")?;
    let Some(row) = row else {
        return Ok(None);
    };
    let merchant_id = get_id(&row, "merchant_id", MerchantId::parse)?;
    match change.posting.as_ref().filter(|p| !p.is_empty()) {
        // The compare-and-set above lets one PAID change of an order through, ever (no status
        // is paid twice), so its payment is new: this is what keeps a payment once, not the
        // ledger's once-per-posting index, which leaves payments out (migration 0021).
        Some(posting) => record_posted_transition(tx, change, to, posting).await?,
        None => {
            record_transition(
                tx,
                &change.trade_no,
                change.from,
                to,
                change.event,
                change.at_ms,
            )
            .await?
        }
    }
    if let Some(outbox) = &change.outbox {
        write_outbox(tx, &merchant_id, &change.trade_no, outbox, change.at_ms).await?;
    }
    Ok(Some(to))
}

fn event_named(name: &str) -> StoreResult<OrderEvent> {
    EVENTS
        .into_iter()
        .find(|event| event_name(*event) == name)
        .ok_or_else(|| StoreError::Corrupt(format!("event={name:?}")))
}

/// One audited step of an order, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransitionRecord {
    pub from: OrderStatus,
    pub to: OrderStatus,
    pub event: OrderEvent,
}

impl Store {
    /// Applies one transition if the order is still in `from`. Returns the new status, or
    /// `None` when another actor changed the order first (the caller re-reads and decides).
    pub async fn transition_order(
        &self,
        change: &OrderTransition,
    ) -> StoreResult<Option<OrderStatus>> {
        let mut tx = self.pool.begin().await.ctx("begin transition")?;
        let to = write_transition(&mut tx, change).await?;
        if to.is_some() {
            tx.commit().await.ctx("commit transition")?;
        } else {
            tx.rollback().await.ctx("rollback lost transition")?;
        }
        Ok(to)
    }

    /// The audited transitions of one order, oldest first.
    pub async fn order_transitions(
        &self,
        trade_no: &TradeNo,
    ) -> StoreResult<Vec<TransitionRecord>> {
        let rows = sqlx::query(
            "SELECT from_status, to_status, event FROM order_transitions
             WHERE trade_no = $1 ORDER BY id",
        )
        .bind(trade_no.as_str())
        .fetch_all(&self.pool)
        .await
        .ctx("list transitions")?;
        rows.iter()
            .map(|r| {
                let step = TransitionRecord {
                    from: get_parsed(r, "from_status")?,
                    to: get_parsed(r, "to_status")?,
                    event: event_named(&get_string(r, "event")?)?,
                };
                debug_assert!(
                    step.from.apply(step.event) == Ok(step.to),
                    "audited step is not a legal transition: {step:?}"
                );
                Ok(step)
            })
            .collect()
    }
}
