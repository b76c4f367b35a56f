//! The two operations compared: a signed create-order over HTTP, and the raw ceiling, one
//! transaction writing straight to the database the rows a create writes (its nonce, the order,
//! and the order's first transition) with the same SQL the store uses.

use super::load::OpId;
use anyhow::Context;
use paygate_client::{fresh_nonce, Client, CreateOrder};
use paygate_domain::{
    Currency, MerchantId, Money, OrderEvent, OrderStatus, OutTradeNo, PayType, TradeNo,
};
use sqlx::AnyPool;
use std::sync::Arc;

pub(super) const SUBJECT: &str = "bench";
pub(super) const AMOUNT: &str = "0.01";
/// Never called: a create only schedules notifications once the order is paid.
pub(super) const NOTIFY_URL: &str = "http://127.0.0.1:9/bench-notify";
/// The app's default order lifetime and request window, so raw rows look like created ones.
pub(super) const ORDER_TTL_MS: i64 = 30 * 60 * 1000;
pub(super) const NONCE_TTL_MS: i64 = 5 * 60 * 1000 + 1000;

/// A merchant order number unique to one operation of one run (`run` names the run).
pub fn out_trade_no(run: &str, id: OpId) -> OutTradeNo {
    OutTradeNo::parse(&format!("{run}-{}-{}", id.worker, id.seq))
        .expect("run tags are short and alphanumeric")
}

/// One signed create (no buyer, so nothing is charged) whose verified answer must name our order.
pub async fn http_create(client: Client, run: Arc<str>, id: OpId) -> anyhow::Result<()> {
    let ours = out_trade_no(&run, id);
    let money = Money::parse(AMOUNT, Currency::Cny).expect("a valid amount");
    let request = CreateOrder::new(ours.clone(), money, SUBJECT, NOTIFY_URL);
    let view = client.create_order(&request).await?;
    anyhow::ensure!(
        view.out_trade_no == ours,
        "answer names {} instead of {ours}",
        view.out_trade_no
    );
    Ok(())
}

/// One transaction: the nonce, the order and its first transition, committed.
pub async fn raw_insert(
    pool: AnyPool,
    merchant: MerchantId,
    run: Arc<str>,
    id: OpId,
) -> anyhow::Result<()> {
    let now_ms = unix_now_ms();
    let trade_no = TradeNo::mint(now_ms);
    let status = OrderStatus::Created
        .apply(OrderEvent::Submitted)
        .expect("a new order can always be submitted");
    let amount = Money::parse(AMOUNT, Currency::Cny).expect("a valid amount");
    let mut tx = pool.begin().await.context("begin")?;
    sqlx::query(
        "INSERT INTO request_nonces (merchant_id, nonce, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (merchant_id, nonce) DO NOTHING",
    )
    .bind(merchant.as_str())
    .bind(fresh_nonce())
    .bind(now_ms + NONCE_TTL_MS)
    .execute(&mut *tx)
    .await
    .context("insert nonce")?;
    let inserted = sqlx::query(
        "INSERT INTO orders (trade_no, merchant_id, out_trade_no, pay_type, status, currency,
             total_amount, refund_reserved, refunded_amount, subject, body, notify_url,
             return_url, attach, buyer_id, channel_trade_no, expire_at, paid_at, closed_at,
             created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 0, $8, $9, $10, $11, $12, $13, NULL, $14,
                 NULL, NULL, $15, $15)
         ON CONFLICT (merchant_id, out_trade_no) DO NOTHING",
    )
    .bind(trade_no.as_str())
    .bind(merchant.as_str())
    .bind(out_trade_no(&run, id).as_str())
    .bind(PayType::Wallet.as_str())
    .bind(status.as_str())
    .bind(amount.currency.as_str())
    .bind(amount.amount.minor())
    .bind(SUBJECT)
    .bind(None::<String>)
    .bind(NOTIFY_URL)
    .bind(None::<String>)
    .bind(None::<String>)
    .bind(None::<String>)
    .bind(now_ms + ORDER_TTL_MS)
    .bind(now_ms)
    .execute(&mut *tx)
    .await
    .context("insert order")?
    .rows_affected();
    anyhow::ensure!(inserted == 1, "order key collided");
    sqlx::query(
        "INSERT INTO order_transitions (trade_no, from_status, to_status, event, at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(trade_no.as_str())
    .bind(OrderStatus::Created.as_str())
    .bind(status.as_str())
    // The store's audit name for `OrderEvent::Submitted` (its mapping is private to the store).
    .bind("SUBMITTED")
    .bind(now_ms)
    .execute(&mut *tx)
    .await
    .context("insert transition")?;
    tx.commit().await.context("commit")?;
    Ok(())
}

pub(super) fn unix_now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970");
    i64::try_from(since_epoch.as_millis()).expect("milliseconds fit in i64")
}
