//! Helpers shared by the acceptance tests: request builders in the business's words, and
//! assertions on API errors, row counts and the wallet's books.

use paygate_client::{
    ClientError, CreateOrder, OrderRef, OrderView, QueryOrder, QueryRefund, Refund, RefundView,
};
use paygate_domain::ledger::Account;
use paygate_domain::{
    Amount, Currency, Money, OrderStatus, OutRefundNo, OutTradeNo, PayCode, TradeNo,
    WalletAccountId,
};
use paygate_store::{event_name, MerchantBalances, Store};
use paygate_testkit::TestApp;
use serde_json::{json, Map, Value};
use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::Barrier;

pub const NOTIFY_URL: &str = "https://shop.example/notify";

/// The tables a refused request must leave untouched.
pub const WRITE_TABLES: [&str; 4] = ["orders", "order_transitions", "refunds", "wallet_payments"];

pub fn yuan(text: &str) -> Money {
    Money::parse(text, Currency::Cny).expect("a valid CNY amount")
}

pub fn out_trade_no(text: &str) -> OutTradeNo {
    OutTradeNo::parse(text).expect("a valid out_trade_no")
}

pub fn out_refund_no(text: &str) -> OutRefundNo {
    OutRefundNo::parse(text).expect("a valid out_refund_no")
}

/// A wallet order that waits for its payer.
pub fn unpaid_order(number: &str, amount: &str) -> CreateOrder {
    CreateOrder::new(out_trade_no(number), yuan(amount), "green tea", NOTIFY_URL)
}

/// A wallet order charged, as it is created, to the payer who showed the pay code `code`.
pub fn wallet_order(number: &str, amount: &str, code: &PayCode) -> CreateOrder {
    CreateOrder {
        auth_code: Some(code.clone().into()),
        ..unpaid_order(number, amount)
    }
}

/// Alice, holding 100.00, has paid a 10.00 order numbered `number` with a pay code.
pub async fn alice_paid_ten_yuan(t: &TestApp, number: &str) -> (WalletAccountId, TradeNo) {
    let payer = t.fund_wallet("alice", "100.00").await;
    let code = t.pay_code("alice").await;
    let order = t
        .client
        .create_order(&wallet_order(number, "10.00", &code))
        .await
        .expect("create a paid order");
    assert_eq!(order.trade_status, OrderStatus::Success);
    (payer, order.trade_no)
}

/// A refund of `amount` from the order with our `trade_no`.
pub fn refund_of(trade_no: &TradeNo, number: &str, amount: &str) -> Refund {
    Refund {
        order: OrderRef::TradeNo(trade_no.clone()),
        out_refund_no: out_refund_no(number),
        refund_amount: yuan(amount),
        refund_reason: "customer returned the goods".into(),
    }
}

/// The flat fields of a valid create request, before the client adds the envelope and signs.
pub fn create_fields(number: &str, total_amount: &str) -> Map<String, Value> {
    let fields = json!({
        "out_trade_no": number,
        "total_amount": total_amount,
        "currency": "CNY",
        "subject": "green tea",
        "pay_type": "wallet",
        "notify_url": NOTIFY_URL,
    });
    fields.as_object().expect("an object").clone()
}

/// Starts `n` calls as separate tasks, releases them together, and returns their results in
/// the order they were made. `call(i)` builds the i-th call; it runs only once released.
pub async fn all_at_once<T, Fut>(n: usize, mut call: impl FnMut(usize) -> Fut) -> Vec<T>
where
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let start = Arc::new(Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let (call, start) = (call(i), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                call.await
            })
        })
        .collect();
    let mut results = Vec::with_capacity(n);
    for task in tasks {
        results.push(task.await.expect("a concurrent call panicked"));
    }
    results
}

/// Unwraps an API refusal, checks its `error_code`, and returns its HTTP status.
pub fn assert_api_error<T: Debug>(result: Result<T, ClientError>, error_code: &str) -> u16 {
    match result {
        Err(ClientError::Api {
            error_code: got,
            http_status,
            msg,
        }) => {
            assert_eq!(got, error_code, "unexpected error code (msg: {msg})");
            http_status
        }
        other => panic!("expected API error {error_code}, got {other:?}"),
    }
}

/// Checks a raw answer is `code=FAIL` with `error_code`, and returns its HTTP status.
pub fn assert_raw_error(answer: &(u16, Map<String, Value>), error_code: &str) -> u16 {
    let (status, body) = answer;
    assert_eq!(body["code"], "FAIL", "{body:?}");
    assert_eq!(body["error_code"], error_code, "{body:?}");
    *status
}

/// Like `assert_raw_error` for a parameter error, and returns the field it names.
pub fn assert_param_error(answer: &(u16, Map<String, Value>)) -> String {
    assert_eq!(assert_raw_error(answer, "1001"), 400);
    answer.1["error_field"]
        .as_str()
        .unwrap_or_else(|| panic!("a 1001 names its field: {:?}", answer.1))
        .to_owned()
}

/// Row counts of the tables a request may write, in `WRITE_TABLES` order.
pub async fn write_counts(t: &TestApp) -> Vec<i64> {
    let mut counts = Vec::with_capacity(WRITE_TABLES.len());
    for table in WRITE_TABLES {
        counts.push(t.store().count_rows(table).await.expect("count rows"));
    }
    counts
}

pub async fn count_rows(t: &TestApp, table: &str) -> i64 {
    t.store().count_rows(table).await.expect("count rows")
}

pub async fn query_order(t: &TestApp, trade_no: &TradeNo) -> OrderView {
    t.client
        .query_order(&QueryOrder::from(OrderRef::TradeNo(trade_no.clone())))
        .await
        .expect("query order")
}

pub async fn query_refund(t: &TestApp, by: QueryRefund) -> RefundView {
    t.client.query_refund(&by).await.expect("query refund")
}

/// The order's audited steps as (from, to, event), in their stored names.
pub async fn audited_steps(t: &TestApp, trade_no: &TradeNo) -> Vec<(String, String, String)> {
    let stored = t.store().order_transitions(trade_no).await;
    let name = |status: OrderStatus| status.as_str().to_owned();
    (stored.expect("list transitions").into_iter())
        .map(|s| (name(s.from), name(s.to), event_name(s.event).to_owned()))
        .collect()
}

pub fn steps(expected: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    expected
        .iter()
        .map(|(from, to, event)| (from.to_string(), to.to_string(), event.to_string()))
        .collect()
}

/// A payer's balance in fen.
pub async fn balance_fen(t: &TestApp, payer: &WalletAccountId) -> i64 {
    t.store()
        .wallet_balance(payer)
        .await
        .expect("read balance")
        .expect("the account exists")
        .minor()
}

/// What merchants have received into the wallet, in fen (each test app has one merchant that
/// takes payments, so this is that merchant's receipts).
pub async fn merchant_receipts_fen(t: &TestApp) -> i64 {
    t.store()
        .wallet_totals()
        .await
        .expect("wallet totals")
        .merchant_receipts
}

/// The wallet never creates or loses money: what payers hold plus what merchants received is
/// exactly what was topped up.
pub async fn assert_wallet_books_balance(t: &TestApp, after: &str) {
    let totals = t.store().wallet_totals().await.expect("wallet totals");
    assert_eq!(
        totals.payer_balances + totals.merchant_receipts,
        totals.topups,
        "wallet books out of balance after {after}: {totals:?}"
    );
}

/// Settles `order` as paid by its channel now and returns the one notification that wrote.
pub async fn pay_and_take_notification(
    t: &TestApp,
    order: paygate_store::OrderRecord,
) -> paygate_store::NotificationRecord {
    let paid = paygate_channels::TradeState::Paid {
        channel_trade_no: format!("CH-{}", order.out_trade_no),
        paid_at_ms: t.app.clock().now_ms(),
    };
    let order = t.app.settle(order, paid).await.expect("settle paid");
    assert_eq!(order.status, OrderStatus::Success);
    let mut all =
        (t.store().notifications_for_trade(&order.trade_no).await).expect("read notifications");
    assert_eq!(all.len(), 1, "one notification per paid order");
    all.remove(0)
}

/// A notification as stored now, with every attempt recorded for it.
pub async fn notification_with_attempts(
    t: &TestApp,
    id: i64,
) -> (
    paygate_store::NotificationRecord,
    Vec<paygate_store::AttemptRecord>,
) {
    let store = t.store();
    let notification = (store.get_notification(id).await)
        .expect("read notification")
        .expect("notification exists");
    let attempts = (store.notification_attempts(id).await).expect("read attempts");
    (notification, attempts)
}

/// A signed create of exactly these fields; the HTTP status and the JSON answer.
pub async fn create_raw(t: &TestApp, fields: Map<String, Value>) -> (u16, Map<String, Value>) {
    t.client
        .call_raw(paygate_client::paths::CREATE, fields)
        .await
        .expect("an answer")
}

/// An amount in fen.
pub fn fen(minor: i64) -> Amount {
    Amount::from_minor(minor).unwrap()
}

/// A ledger account's balance in fen (CNY), as shown.
pub async fn account_fen(t: &TestApp, account: Account) -> i64 {
    t.store()
        .account_balance(&account, Currency::Cny)
        .await
        .unwrap()
}

/// The test merchant's pending, available and reserved CNY balances.
pub async fn merchant_balances(t: &TestApp) -> MerchantBalances {
    t.store()
        .merchant_balances(t.merchant_id(), Currency::Cny)
        .await
        .unwrap()
}

/// Debits equal credits in every currency of the ledger.
pub async fn assert_books_balance(store: &Store) {
    for (currency, net) in store.ledger_imbalance().await.unwrap() {
        assert_eq!(net, 0, "the ledger of {currency} does not balance");
    }
}
