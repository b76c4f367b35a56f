use crate::nonces::{insert_nonce, NonceOutcome, RequestNonce};
use crate::rows::{
    get_amount, get_i64, get_id, get_opt_i64, get_opt_string, get_parsed, get_string,
};
use crate::split_rules::insert_split_rules;
use crate::transitions::record_transition;
use crate::{Ctx, Store, StoreError, StoreResult};
use paygate_domain::split_rules::OrderSplit;
use paygate_domain::{
    Amount, Currency, MerchantId, OrderEvent, OrderStatus, OutTradeNo, PayData, PayType, TradeNo,
    WalletAccountId,
};
use sqlx::any::AnyRow;

pub use paygate_domain::OrderRecord;

/// An order as a create inserts it: at `status`, with nothing reserved or refunded, not yet
/// paid, closed or known to a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub trade_no: TradeNo,
    pub merchant_id: MerchantId,
    pub out_trade_no: OutTradeNo,
    pub pay_type: PayType,
    pub status: OrderStatus,
    pub currency: Currency,
    pub total_amount: Amount,
    pub subject: String,
    pub body: Option<String>,
    pub notify_url: String,
    pub return_url: Option<String>,
    pub attach: Option<String>,
    pub buyer_id: Option<WalletAccountId>,
    pub auth_code_sha256: Option<String>,
    pub expire_at_ms: i64,
    pub requested_expire_at_secs: Option<i64>,
    pub created_at_ms: i64,
    pub disable_credit: bool,
    /// Share rules given at create, written in the order's insert transaction.
    pub split: Option<OrderSplit>,
}

impl NewOrder {
    /// The order as stored right after its insert.
    pub fn to_record(&self) -> OrderRecord {
        let new = self.clone();
        OrderRecord {
            trade_no: new.trade_no,
            merchant_id: new.merchant_id,
            out_trade_no: new.out_trade_no,
            pay_type: new.pay_type,
            status: new.status,
            currency: new.currency,
            total_amount: new.total_amount,
            refund_reserved: Amount::ZERO,
            refunded_amount: Amount::ZERO,
            fee: None,
            subject: new.subject,
            body: new.body,
            notify_url: new.notify_url,
            return_url: new.return_url,
            attach: new.attach,
            buyer_id: new.buyer_id,
            auth_code_sha256: new.auth_code_sha256,
            channel_trade_no: None,
            expire_at_ms: new.expire_at_ms,
            requested_expire_at_secs: new.requested_expire_at_secs,
            paid_at_ms: None,
            closed_at_ms: None,
            created_at_ms: new.created_at_ms,
            updated_at_ms: new.created_at_ms,
            pay_data: None,
            chosen_pay_type: None,
            close_requested_at_ms: None,
            disable_credit: new.disable_credit,
        }
    }
}

/// How a merchant names an order: its own number or ours (DESIGN §3: ours wins when both are
/// given, because it is the one we minted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderRef {
    TradeNo(TradeNo),
    OutTradeNo(OutTradeNo),
}

pub(crate) fn order_from_row(row: &AnyRow) -> StoreResult<OrderRecord> {
    let buyer_id = match get_opt_string(row, "buyer_id")? {
        Some(text) => {
            Some(WalletAccountId::parse(&text).map_err(|e| StoreError::Corrupt(e.to_string()))?)
        }
        None => None,
    };
    let order = OrderRecord {
        trade_no: get_id(row, "trade_no", TradeNo::parse)?,
        merchant_id: get_id(row, "merchant_id", MerchantId::parse)?,
        out_trade_no: get_id(row, "out_trade_no", OutTradeNo::parse)?,
        pay_type: get_parsed(row, "pay_type")?,
        status: get_parsed(row, "status")?,
        currency: get_parsed(row, "currency")?,
        total_amount: get_amount(row, "total_amount")?,
        refund_reserved: get_amount(row, "refund_reserved")?,
        refunded_amount: get_amount(row, "refunded_amount")?,
        fee: fee_from_row(row)?,
        subject: get_string(row, "subject")?,
        body: get_opt_string(row, "body")?,
        notify_url: get_string(row, "notify_url")?,
        return_url: get_opt_string(row, "return_url")?,
        attach: get_opt_string(row, "attach")?,
        buyer_id,
        auth_code_sha256: get_opt_string(row, "auth_code_sha256")?,
        channel_trade_no: get_opt_string(row, "channel_trade_no")?,
        expire_at_ms: get_i64(row, "expire_at")?,
        requested_expire_at_secs: get_opt_i64(row, "requested_expire_time")?,
        paid_at_ms: get_opt_i64(row, "paid_at")?,
        closed_at_ms: get_opt_i64(row, "closed_at")?,
        created_at_ms: get_i64(row, "created_at")?,
        updated_at_ms: get_i64(row, "updated_at")?,
        pay_data: get_opt_string(row, "pay_data")?
            .map(|text| serde_json::from_str(&text))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("orders.pay_data: {e}")))?,
        chosen_pay_type: get_opt_string(row, "chosen_pay_type")?
            .map(|text| text.parse::<PayType>())
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("orders.chosen_pay_type: {e}")))?,
        close_requested_at_ms: get_opt_i64(row, "close_requested_at")?,
        disable_credit: get_i64(row, "disable_credit")? != 0,
    };
    debug_assert_order_holds(&order);
    Ok(order)
}

/// The order's snapshotted fee, which views subtract from its total: a fee above the total is a
/// corrupt row, refused here rather than shown as a negative net amount.
fn fee_from_row(row: &AnyRow) -> StoreResult<Option<Amount>> {
    let Some(minor) = get_opt_i64(row, "fee_amount")? else {
        return Ok(None);
    };
    let total = get_amount(row, "total_amount")?;
    match Amount::from_minor(minor) {
        Ok(fee) if fee <= total => Ok(Some(fee)),
        _ => Err(StoreError::Corrupt(format!(
            "orders.fee_amount={minor} with total_amount={}",
            total.minor()
        ))),
    }
}

/// What every stored order satisfies, checked where it is read back so that a corrupt row
/// stops a test run instead of flowing on.
fn debug_assert_order_holds(order: &OrderRecord) {
    let no = &order.trade_no;
    debug_assert!(
        order.refunded_amount <= order.refund_reserved
            && order.refund_reserved <= order.total_amount,
        "order {no}: refunded {:?} <= reserved {:?} <= total {:?} does not hold",
        order.refunded_amount,
        order.refund_reserved,
        order.total_amount
    );
    debug_assert!(!order.total_amount.is_zero(), "order {no} is for nothing");
    debug_assert!(
        !order.status.is_paid() || order.paid_at_ms.is_some(),
        "order {no} is {} without a paid time",
        order.status
    );
    debug_assert!(
        order.status != OrderStatus::Closed || order.closed_at_ms.is_some(),
        "order {no} is closed without a closed time"
    );
    debug_assert!(
        order.status != OrderStatus::Refund || order.refunded_amount == order.total_amount,
        "order {no} is fully refunded with {:?} of {:?} refunded",
        order.refunded_amount,
        order.total_amount
    );
}

pub(crate) const ORDER_COLUMNS: &str = "trade_no, merchant_id, out_trade_no, pay_type, status, \
    currency, total_amount, refund_reserved, refunded_amount, subject, body, notify_url, \
    return_url, attach, buyer_id, auth_code_sha256, channel_trade_no, expire_at, \
    requested_expire_time, paid_at, closed_at, created_at, updated_at, pay_data, chosen_pay_type, \
    close_requested_at, disable_credit, fee_amount";

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
        debug_assert!(
            !order.total_amount.is_zero(),
            "inserting an order for nothing"
        );
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
                 requested_expire_time, paid_at, closed_at, created_at, updated_at,
                 disable_credit)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 0, $8, $9, $10, $11, $12, $13, $14, NULL, $15,
                     $16, NULL, NULL, $17, $17, $18)
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
        .bind(order.expire_at_ms)
        .bind(order.requested_expire_at_secs)
        .bind(order.created_at_ms)
        .bind(i64::from(order.disable_credit))
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
            order.created_at_ms,
        )
        .await?;
        if let Some(split) = &order.split {
            insert_split_rules(
                &mut tx,
                &order.trade_no,
                &order.merchant_id,
                split,
                order.created_at_ms,
            )
            .await?;
        }
        tx.commit().await.ctx("commit insert order")?;
        Ok(Inserted::New(order.to_record()))
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

    /// Keeps what the channel answered for a prepared trade. The first answer stays: a retried
    /// create that raced another one reads back the stored answer.
    pub async fn record_pay_data(&self, trade_no: &TradeNo, data: &PayData) -> StoreResult<()> {
        let text = serde_json::to_string(data).expect("pay data serializes");
        sqlx::query("UPDATE orders SET pay_data = $1 WHERE trade_no = $2 AND pay_data IS NULL")
            .bind(text)
            .bind(trade_no.as_str())
            .execute(&self.pool)
            .await
            .ctx("record pay data")?;
        Ok(())
    }

    /// Settles the way an aggregated (`auto`) order is paid: once, by the first payer's app to
    /// open it while it is payable. The cashier's QR answer is dropped so that the chosen
    /// channel's answer is the one kept next. `false` when the way was already chosen or the
    /// order is no longer payable.
    pub async fn choose_pay_type(
        &self,
        trade_no: &TradeNo,
        chosen: PayType,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE orders SET chosen_pay_type = $1, pay_data = NULL, updated_at = $2
             WHERE trade_no = $3 AND pay_type = $4 AND chosen_pay_type IS NULL
               AND status IN ($5, $6)",
        )
        .bind(chosen.as_str())
        .bind(now_ms)
        .bind(trade_no.as_str())
        .bind(PayType::Auto.as_str())
        .bind(OrderStatus::Created.as_str())
        .bind(OrderStatus::WaitPay.as_str())
        .execute(&self.pool)
        .await
        .ctx("choose pay type")?;
        Ok(done.rows_affected() == 1)
    }

    /// Records that the merchant asked to close the order (the first time only).
    pub async fn mark_close_requested(&self, trade_no: &TradeNo, now_ms: i64) -> StoreResult<()> {
        sqlx::query(
            "UPDATE orders SET close_requested_at = $1
             WHERE trade_no = $2 AND close_requested_at IS NULL",
        )
        .bind(now_ms)
        .bind(trade_no.as_str())
        .execute(&self.pool)
        .await
        .ctx("mark close requested")?;
        Ok(())
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
}
