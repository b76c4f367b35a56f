//! The two operations compared: a signed create-order over HTTP, and the raw ceiling, the
//! store's own insert of the rows a create writes (the order and its first transition) called
//! directly, without signing, HTTP or the app around it.

use super::load::OpId;
use paygate_client::{fresh_nonce, Client, CreateOrder};
use paygate_domain::{
    Currency, MerchantId, Money, Nonce, OrderEvent, OrderStatus, OutTradeNo, PayType, TradeNo,
};
use paygate_store::{Inserted, NewOrder, RequestNonce, Store};
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

/// The raw ceiling: the store's own `insert_order_with_nonce` (the request nonce, the order and
/// its first transition in one transaction, committed), the rows a create writes and nothing
/// else around it.
pub async fn raw_insert(
    store: Store,
    merchant: MerchantId,
    run: Arc<str>,
    id: OpId,
) -> anyhow::Result<()> {
    let now_ms = unix_now_ms();
    let order = new_order(merchant.clone(), out_trade_no(&run, id), now_ms);
    let nonce = RequestNonce {
        merchant_id: merchant,
        nonce: Nonce::parse(&fresh_nonce()).expect("fresh nonces are valid"),
        expires_at_ms: now_ms + NONCE_TTL_MS,
    };
    match store.insert_order_with_nonce(&order, &nonce).await? {
        Inserted::New(_) => Ok(()),
        Inserted::Existing(_) | Inserted::Replayed => anyhow::bail!("order or nonce collided"),
    }
}

/// The order a create of this workload writes: wallet, no buyer, submitted, unpaid.
pub(super) fn new_order(merchant: MerchantId, out_trade_no: OutTradeNo, now_ms: i64) -> NewOrder {
    let money = Money::parse(AMOUNT, Currency::Cny).expect("a valid amount");
    NewOrder {
        trade_no: TradeNo::mint(now_ms),
        merchant_id: merchant,
        out_trade_no,
        pay_type: PayType::Wallet,
        status: OrderStatus::Created
            .apply(OrderEvent::Submitted)
            .expect("a new order can always be submitted"),
        currency: money.currency,
        total_amount: money.amount,
        subject: SUBJECT.into(),
        body: None,
        notify_url: NOTIFY_URL.into(),
        return_url: None,
        attach: None,
        buyer_id: None,
        auth_code_sha256: None,
        expire_at_ms: now_ms + ORDER_TTL_MS,
        requested_expire_at_secs: None,
        created_at_ms: now_ms,
        disable_credit: false,
        split: None,
    }
}

pub(super) fn unix_now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970");
    i64::try_from(since_epoch.as_millis()).expect("milliseconds fit in i64")
}
