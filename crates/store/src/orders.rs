use crate::nonces::{insert_nonce, NonceOutcome, RequestNonce};
use crate::rows::{get_amount, get_i64, get_opt_i64, get_opt_string, get_parsed, get_string};
use crate::{Ctx, Store, StoreError, StoreResult};
use paygate_domain::{
    Amount, Currency, MerchantId, OrderEvent, OrderStatus, OutTradeNo, PayType, TradeNo,
    WalletAccountId,
};
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRecord {
    pub trade_no: TradeNo,
    pub merchant_id: MerchantId,
    pub out_trade_no: OutTradeNo,
    pub pay_type: PayType,
    pub status: OrderStatus,
    pub currency: Currency,
    pub total_amount: Amount,
    /// Refunds accepted (processing or succeeded): what the refundable check counts.
    pub refund_reserved: Amount,
    /// Refunds that succeeded.
    pub refunded_amount: Amount,
    pub subject: String,
    pub body: Option<String>,
    pub notify_url: String,
    pub return_url: Option<String>,
    pub attach: Option<String>,
    /// The wallet account the merchant named; recorded, never charged on its own.
    pub buyer_id: Option<WalletAccountId>,
    /// SHA-256 of the pay code the order was created with, for comparing retries.
    pub auth_code_sha256: Option<String>,
    pub channel_trade_no: Option<String>,
    pub expire_at: i64,
    /// `expire_time` exactly as the merchant sent it (Unix seconds), for comparing retries.
    pub requested_expire_time: Option<i64>,
    pub paid_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

pub type NewOrder = OrderRecord;

/// How a merchant names an order: its own number or ours (DESIGN §3: ours wins when both are
/// given, because it is the one we minted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderRef {
    TradeNo(TradeNo),
    OutTradeNo(OutTradeNo),
}

/// A notification row written in the same transaction as the change it announces.
#[derive(Debug, Clone)]
pub struct Outbox {
    pub kind: &'static str,
    pub notify_url: String,
    pub payload: String,
}

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
}

fn parse_id<T>(
    row: &AnyRow,
    column: &str,
    parse: fn(&str) -> Result<T, paygate_domain::IdError>,
) -> StoreResult<T> {
    let text = get_string(row, column)?;
    parse(&text).map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

pub(crate) fn order_from_row(row: &AnyRow) -> StoreResult<OrderRecord> {
    let buyer_id = match get_opt_string(row, "buyer_id")? {
        Some(text) => {
            Some(WalletAccountId::parse(&text).map_err(|e| StoreError::Corrupt(e.to_string()))?)
        }
        None => None,
    };
    Ok(OrderRecord {
        trade_no: parse_id(row, "trade_no", TradeNo::parse)?,
        merchant_id: parse_id(row, "merchant_id", MerchantId::parse)?,
        out_trade_no: parse_id(row, "out_trade_no", OutTradeNo::parse)?,
        pay_type: get_parsed(row, "pay_type")?,
        status: get_parsed(row, "status")?,
        currency: get_parsed(row, "currency")?,
        total_amount: get_amount(row, "total_amount")?,
        refund_reserved: get_amount(row, "refund_reserved")?,
        refunded_amount: get_amount(row, "refunded_amount")?,
        subject: get_string(row, "subject")?,
        body: get_opt_string(row, "body")?,
        notify_url: get_string(row, "notify_url")?,
        return_url: get_opt_string(row, "return_url")?,
        attach: get_opt_string(row, "attach")?,
        buyer_id,
        auth_code_sha256: get_opt_string(row, "auth_code_sha256")?,
        channel_trade_no: get_opt_string(row, "channel_trade_no")?,
        expire_at: get_i64(row, "expire_at")?,
        requested_expire_time: get_opt_i64(row, "requested_expire_time")?,
        paid_at: get_opt_i64(row, "paid_at")?,
        closed_at: get_opt_i64(row, "closed_at")?,
        created_at: get_i64(row, "created_at")?,
        updated_at: get_i64(row, "updated_at")?,
    })
}

pub(crate) const ORDER_COLUMNS: &str = "trade_no, merchant_id, out_trade_no, pay_type, status, \
    currency, total_amount, refund_reserved, refunded_amount, subject, body, notify_url, \
    return_url, attach, buyer_id, auth_code_sha256, channel_trade_no, expire_at, \
    requested_expire_time, paid_at, closed_at, created_at, updated_at";

pub(crate) fn event_name(event: OrderEvent) -> &'static str {
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
        OrderEvent::AfterSaleClosed => "AFTER_SALE_CLOSED",
    }
}

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

pub(crate) async fn write_outbox(
    tx: &mut Transaction<'static, Any>,
    merchant_id: &MerchantId,
    trade_no: &TradeNo,
    outbox: &Outbox,
    at_ms: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO notifications (merchant_id, trade_no, kind, notify_url, notify_host,
                                    payload, status, attempts, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $8)",
    )
    .bind(merchant_id.as_str())
    .bind(trade_no.as_str())
    .bind(outbox.kind)
    .bind(&outbox.notify_url)
    .bind(paygate_domain::schedule::url_host(&outbox.notify_url))
    .bind(&outbox.payload)
    .bind(paygate_domain::schedule::NotificationStatus::Pending.as_str())
    .bind(at_ms)
    .execute(&mut **tx)
    .await
    .ctx("write outbox")?;
    Ok(())
}

/// Whether an insert made a new order, met the one already under that merchant order number,
/// or was refused because its request's nonce was used before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    New(OrderRecord),
    Existing(OrderRecord),
    /// The nonce was recorded already (by the first request, committed or failed); nothing was
    /// written.
    Replayed,
}

impl Store {
    /// Inserts the order unless (merchant_id, out_trade_no) exists; concurrent duplicates meet
    /// the unique index and all but one see `Existing`. The order enters at `status` and the
    /// creation is audited in the same transaction.
    pub async fn insert_order(&self, order: &NewOrder) -> StoreResult<Inserted> {
        self.insert_order_once(order, None).await
    }

    /// `insert_order` for a signed create: the request's nonce is recorded in the order's own
    /// transaction, first, so a replay is refused before it writes anything. When the order
    /// exists already, the nonce alone is committed. When this returns an error, nothing was
    /// committed and the caller records the nonce on its own.
    pub async fn insert_order_with_nonce(
        &self,
        order: &NewOrder,
        nonce: &RequestNonce,
    ) -> StoreResult<Inserted> {
        self.insert_order_once(order, Some(nonce)).await
    }

    async fn insert_order_once(
        &self,
        order: &NewOrder,
        nonce: Option<&RequestNonce>,
    ) -> StoreResult<Inserted> {
        let mut tx = self.pool.begin().await.ctx("begin insert order")?;
        if let Some(nonce) = nonce {
            if insert_nonce(&mut tx, nonce).await? == NonceOutcome::Replayed {
                tx.rollback().await.ctx("rollback replayed create")?;
                return Ok(Inserted::Replayed);
            }
        }
        let inserted = sqlx::query(
            "INSERT INTO orders (trade_no, merchant_id, out_trade_no, pay_type, status, currency,
                 total_amount, refund_reserved, refunded_amount, subject, body, notify_url,
                 return_url, attach, buyer_id, auth_code_sha256, channel_trade_no, expire_at,
                 requested_expire_time, paid_at, closed_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 0, $8, $9, $10, $11, $12, $13, $14, NULL, $15,
                     $16, NULL, NULL, $17, $17)
             ON CONFLICT (merchant_id, out_trade_no) DO NOTHING",
        )
        .bind(order.trade_no.as_str())
        .bind(order.merchant_id.as_str())
        .bind(order.out_trade_no.as_str())
        .bind(order.pay_type.as_str())
        .bind(order.status.as_str())
        .bind(order.currency.as_str())
        .bind(order.total_amount.minor())
        .bind(&order.subject)
        .bind(order.body.as_deref())
        .bind(&order.notify_url)
        .bind(order.return_url.as_deref())
        .bind(order.attach.as_deref())
        .bind(order.buyer_id.as_ref().map(|b| b.as_str()))
        .bind(order.auth_code_sha256.as_deref())
        .bind(order.expire_at)
        .bind(order.requested_expire_time)
        .bind(order.created_at)
        .execute(&mut *tx)
        .await
        .ctx("insert order")?
        .rows_affected();
        if inserted == 0 {
            // Keeps the nonce, if any: the retry was answered, so its replay must be refused.
            tx.commit().await.ctx("commit duplicate order")?;
            let existing = self
                .find_order(
                    &order.merchant_id,
                    &OrderRef::OutTradeNo(order.out_trade_no.clone()),
                )
                .await?
                .ok_or_else(|| StoreError::Corrupt("conflicting order vanished".into()))?;
            return Ok(Inserted::Existing(existing));
        }
        record_transition(
            &mut tx,
            &order.trade_no,
            OrderStatus::Created,
            order.status,
            OrderEvent::Submitted,
            order.created_at,
        )
        .await?;
        tx.commit().await.ctx("commit insert order")?;
        Ok(Inserted::New(order.clone()))
    }

    pub async fn find_order(
        &self,
        merchant: &MerchantId,
        by: &OrderRef,
    ) -> StoreResult<Option<OrderRecord>> {
        let (column, value) = match by {
            OrderRef::TradeNo(t) => ("trade_no", t.as_str()),
            OrderRef::OutTradeNo(o) => ("out_trade_no", o.as_str()),
        };
        let row = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE merchant_id = $1 AND {column} = $2"
        ))
        .bind(merchant.as_str())
        .bind(value)
        .fetch_optional(&self.pool)
        .await
        .ctx("find order")?;
        row.as_ref().map(order_from_row).transpose()
    }

    pub async fn get_order(&self, trade_no: &TradeNo) -> StoreResult<Option<OrderRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE trade_no = $1"
        ))
        .bind(trade_no.as_str())
        .fetch_optional(&self.pool)
        .await
        .ctx("get order")?;
        row.as_ref().map(order_from_row).transpose()
    }

    /// Applies one transition if the order is still in `from`. Returns the new status, or
    /// `None` when another actor changed the order first (the caller re-reads and decides).
    pub async fn transition_order(
        &self,
        change: &OrderTransition,
    ) -> StoreResult<Option<OrderStatus>> {
        let to = change.from.apply(change.event).map_err(|e| {
            StoreError::Corrupt(format!("caller asked for an illegal transition: {e}"))
        })?;
        let mut tx = self.pool.begin().await.ctx("begin transition")?;
        let paid_at = (change.event == OrderEvent::Paid).then_some(change.at_ms);
        let closed_at = matches!(
            change.event,
            OrderEvent::Closed | OrderEvent::AfterSaleClosed
        )
        .then_some(change.at_ms);
        let row = sqlx::query(
            "UPDATE orders SET status = $1, updated_at = $2,
                    paid_at = COALESCE($3, paid_at), closed_at = COALESCE($4, closed_at),
                    channel_trade_no = COALESCE($5, channel_trade_no)
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
        .fetch_optional(&mut *tx)
        .await
        .ctx("transition order")?;
        let Some(row) = row else {
            tx.rollback().await.ctx("rollback lost transition")?;
            return Ok(None);
        };
        let merchant_id = parse_id(&row, "merchant_id", MerchantId::parse)?;
        record_transition(
            &mut tx,
            &change.trade_no,
            change.from,
            to,
            change.event,
            change.at_ms,
        )
        .await?;
        if let Some(outbox) = &change.outbox {
            write_outbox(
                &mut tx,
                &merchant_id,
                &change.trade_no,
                outbox,
                change.at_ms,
            )
            .await?;
        }
        tx.commit().await.ctx("commit transition")?;
        Ok(Some(to))
    }

    /// Unpaid orders past their expiry, oldest first.
    pub async fn expired_unpaid_orders(
        &self,
        now_ms: i64,
        limit: i64,
    ) -> StoreResult<Vec<OrderRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders
             WHERE status IN ($1, $2, $3) AND expire_at <= $4 ORDER BY expire_at LIMIT $5"
        ))
        .bind(OrderStatus::Created.as_str())
        .bind(OrderStatus::WaitPay.as_str())
        .bind(OrderStatus::UserPaying.as_str())
        .bind(now_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .ctx("list expired orders")?;
        rows.iter().map(order_from_row).collect()
    }

    /// Records something a person must look at, once per (order, kind).
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

    /// Unresolved anomalies as (trade_no, kind, detail, detected_at), oldest first.
    pub async fn open_anomalies(
        &self,
        limit: i64,
    ) -> StoreResult<Vec<(String, String, String, i64)>> {
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
                Ok((
                    get_string(r, "trade_no")?,
                    get_string(r, "kind")?,
                    get_string(r, "detail")?,
                    get_i64(r, "detected_at")?,
                ))
            })
            .collect()
    }

    /// Orders per status, for the metrics endpoint.
    pub async fn count_orders_by_status(&self) -> StoreResult<Vec<(OrderStatus, i64)>> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM orders GROUP BY status")
            .fetch_all(&self.pool)
            .await
            .ctx("count orders by status")?;
        rows.iter()
            .map(|row| Ok((get_parsed(row, "status")?, get_i64(row, "n")?)))
            .collect()
    }

    /// The audited transitions of one order, oldest first, as (from, to, event).
    pub async fn order_transitions(
        &self,
        trade_no: &TradeNo,
    ) -> StoreResult<Vec<(String, String, String)>> {
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
                Ok((
                    get_string(r, "from_status")?,
                    get_string(r, "to_status")?,
                    get_string(r, "event")?,
                ))
            })
            .collect()
    }
}
