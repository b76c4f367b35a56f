//! The fee snapshot in the merchant's order answer (issue #11): `fee_amount` and `net_amount`
//! appear once an order is paid, in the query answer and the payment notification, exactly as
//! the payment snapshotted them, and no refund changes them. And the fee terms a payment is
//! charged by come from the per-process merchant cache, which an operator's PUT through this
//! process forgets at once.

use crate::support::{query_order, refund_of, unpaid_order, wallet_order, yuan};
use paygate_app::AppSettings;
use paygate_channels::TradeState;
use paygate_client::OrderView;
use paygate_domain::fee::{FeeRate, FeeSchedule};
use paygate_domain::{Amount, OrderStatus, PayType, TradeNo};
use paygate_testkit::{both_databases, spawn_app, spawn_app_with, DbBackend, TestApp, TestOptions};
use serde_json::{json, Map, Value};

const ADMIN_TOKEN: &str = "operator-token-0123456789-abcdefghij";

/// Long enough that no entry of a test expires while it runs: the cache tests assert what the
/// cache serves, never how long it takes.
const TTL_MS_LONGER_THAN_ANY_TEST: u64 = 3_600_000;

fn schedule(ppm: u32, fixed_fen: i64) -> FeeSchedule {
    FeeSchedule {
        rate: FeeRate::from_ppm(ppm).unwrap(),
        fixed: Amount::from_minor(fixed_fen).unwrap(),
    }
}

async fn app_with(backend: DbBackend, cache_ttl_ms: u64) -> TestApp {
    let options = TestOptions {
        settings: AppSettings {
            admin_token: Some(ADMIN_TOKEN.into()),
            merchant_cache_ttl_ms: cache_ttl_ms,
            ..AppSettings::default()
        },
        ..TestOptions::default()
    };
    spawn_app_with(backend, options).await
}

/// `fee_amount` and `net_amount` exactly as the signed answer carried them.
fn fee_fields(view: &OrderView) -> (Option<&str>, Option<&str>) {
    fee_texts(&view.raw)
}

fn fee_texts(body: &Map<String, Value>) -> (Option<&str>, Option<&str>) {
    (
        body.get("fee_amount").and_then(Value::as_str),
        body.get("net_amount").and_then(Value::as_str),
    )
}

/// A wallet order of `amount` charged at once to alice (who is funded as needed).
async fn paid_now(t: &TestApp, number: &str, amount: &str) -> OrderView {
    t.fund_wallet("alice", amount).await;
    let code = t.pay_code("alice").await;
    let order = t
        .client
        .create_order(&wallet_order(number, amount, &code))
        .await
        .expect("create a paid order");
    assert_eq!(order.trade_status, OrderStatus::Success);
    order
}

/// The fee a payment of 100.00 made now is charged, in fen.
async fn fee_of_next_payment(t: &TestApp, number: &str) -> i64 {
    let order = paid_now(t, number, "100.00").await;
    let fees = t
        .store()
        .order_fees(&order.trade_no)
        .await
        .unwrap()
        .unwrap();
    fees.snapshot.fee.minor()
}

/// The channel reports the waiting order paid, as its callback or a status query would.
async fn channel_reports_paid(t: &TestApp, trade_no: &TradeNo) {
    let order = t.store().get_order(trade_no).await.unwrap().unwrap();
    let state = TradeState::Paid {
        channel_trade_no: "W-FEE-1".into(),
        paid_at_ms: 0,
    };
    let settled = t.app.settle(order, state).await.expect("settle");
    assert_eq!(settled.status, OrderStatus::Success);
}

async fn put(t: &TestApp, what: &str, body: &Value) -> u16 {
    let url = format!("{}/admin/merchants/{}/{what}", t.base_url, t.merchant_id());
    let response = reqwest::Client::new()
        .put(url)
        .bearer_auth(ADMIN_TOKEN)
        .json(body)
        .send()
        .await
        .unwrap();
    response.status().as_u16()
}

both_databases!(the_query_shows_fee_and_net_once_the_order_is_paid);
async fn the_query_shows_fee_and_net_once_the_order_is_paid(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let created = t
        .client
        .create_order(&unpaid_order("FEE-Q-1", "100.00"))
        .await
        .expect("create");
    assert_eq!(fee_fields(&created), (None, None));
    let waiting = query_order(&t, &created.trade_no).await;
    assert_eq!(waiting.trade_status, OrderStatus::WaitPay);
    assert_eq!(fee_fields(&waiting), (None, None));
    assert_eq!((waiting.fee_amount, waiting.net_amount), (None, None));

    channel_reports_paid(&t, &created.trade_no).await;

    // The physical-goods default: 0.6% of 100.00.
    let paid = query_order(&t, &created.trade_no).await;
    assert_eq!(paid.trade_status, OrderStatus::Success);
    assert_eq!(fee_fields(&paid), (Some("0.60"), Some("99.40")));
    assert_eq!(paid.fee_amount, Some(yuan("0.60")));
    assert_eq!(paid.net_amount, Some(yuan("99.40")));
    assert_eq!(paid.receipt_amount, Some(yuan("100.00")));

    let notes = t
        .store()
        .notifications_for_trade(&created.trade_no)
        .await
        .unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].kind, "TRADE_SUCCESS");
    let body: Map<String, Value> = serde_json::from_str(&notes[0].payload).unwrap();
    assert_eq!(fee_texts(&body), (Some("0.60"), Some("99.40")));
    t.stop().await;
}

both_databases!(a_fixed_part_and_a_fee_free_schedule_show_to_the_fen);
async fn a_fixed_part_and_a_fee_free_schedule_show_to_the_fen(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let merchant = t.merchant_id().clone();
    t.app
        .set_merchant_fees(&merchant, &[(PayType::Wallet, schedule(3_800, 10))])
        .await
        .unwrap()
        .expect("the merchant exists");
    let fixed = paid_now(&t, "FEE-FIXED", "100.00").await;
    // 0.38% of 100.00 plus the fixed 0.10.
    assert_eq!(fee_fields(&fixed), (Some("0.48"), Some("99.52")));
    let queried = query_order(&t, &fixed.trade_no).await;
    assert_eq!(fee_fields(&queried), (Some("0.48"), Some("99.52")));

    t.app
        .set_merchant_fees(&merchant, &[(PayType::Wallet, schedule(0, 0))])
        .await
        .unwrap()
        .expect("the merchant exists");
    let free = paid_now(&t, "FEE-FREE", "100.00").await;
    let queried = query_order(&t, &free.trade_no).await;
    assert_eq!(fee_fields(&queried), (Some("0.00"), Some("100.00")));
    assert_eq!(
        fee_fields(&query_order(&t, &fixed.trade_no).await),
        (Some("0.48"), Some("99.52")),
        "a later schedule leaves an earlier payment's snapshot alone"
    );
    t.stop().await;
}

both_databases!(a_partial_refund_leaves_the_fee_snapshot_as_it_was);
async fn a_partial_refund_leaves_the_fee_snapshot_as_it_was(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let order = paid_now(&t, "FEE-REFUND", "100.00").await;
    t.client
        .refund(&refund_of(&order.trade_no, "FEE-REFUND-R1", "30.00"))
        .await
        .expect("partial refund");

    let refunded = query_order(&t, &order.trade_no).await;
    assert_eq!(refunded.trade_status, OrderStatus::PartialRefund);
    assert_eq!(refunded.refunded_amount, Some(yuan("30.00")));
    assert_eq!(fee_fields(&refunded), (Some("0.60"), Some("99.40")));
    let fees = t
        .store()
        .order_fees(&order.trade_no)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (fees.snapshot.fee.minor(), fees.snapshot.merchant.rate.ppm()),
        (60, 6_000)
    );
    t.stop().await;
}

both_databases!(an_operators_put_applies_to_the_next_payment_of_this_process);
async fn an_operators_put_applies_to_the_next_payment_of_this_process(backend: DbBackend) {
    let t = app_with(backend, TTL_MS_LONGER_THAN_ANY_TEST).await;
    assert_eq!(fee_of_next_payment(&t, "PUT-1").await, 60, "0.6% default");

    let fees = json!({"schedules": [{"pay_type": "wallet", "rate_ppm": 2_000, "fixed": "0.05"}]});
    assert_eq!(put(&t, "fees", &fees).await, 200);
    assert_eq!(fee_of_next_payment(&t, "PUT-2").await, 20 + 5);

    assert_eq!(put(&t, "fees", &json!({"schedules": []})).await, 200);
    assert_eq!(fee_of_next_payment(&t, "PUT-3").await, 60);

    let money = json!({
        "category": "public_institution", "settlement_mode": "direct", "fee_bearer": "merchant",
        "cycle": {"kind": "auto", "settle_days": 1, "settle_minimum": "0"},
        "withdraw_on_settlement": false, "qualifications": {}
    });
    assert_eq!(put(&t, "money", &money).await, 200);
    assert_eq!(
        fee_of_next_payment(&t, "PUT-4").await,
        20,
        "the public-institution default, 0.2%"
    );
    t.stop().await;
}

both_databases!(payments_take_their_fee_terms_from_the_merchant_cache);
async fn payments_take_their_fee_terms_from_the_merchant_cache(backend: DbBackend) {
    let t = app_with(backend, TTL_MS_LONGER_THAN_ANY_TEST).await;
    let merchant = t.merchant_id().clone();
    assert_eq!(fee_of_next_payment(&t, "CACHE-1").await, 60);

    // Another process (here: a write past this app) changes the schedule: this process keeps
    // charging what it cached, so the payment did not read the database.
    let free = [(PayType::Wallet, schedule(0, 0))];
    t.store()
        .set_merchant_fee_schedules(&merchant, &free, 1)
        .await
        .unwrap();
    assert_eq!(
        fee_of_next_payment(&t, "CACHE-2").await,
        60,
        "served cached"
    );

    // A change through this process forgets the cached terms.
    t.app
        .set_merchant_fees(&merchant, &free)
        .await
        .unwrap()
        .expect("the merchant exists");
    assert_eq!(fee_of_next_payment(&t, "CACHE-3").await, 0);
    t.stop().await;
}

both_databases!(without_a_cache_ttl_every_payment_reads_the_fee_terms);
async fn without_a_cache_ttl_every_payment_reads_the_fee_terms(backend: DbBackend) {
    let t = app_with(backend, 0).await;
    assert_eq!(fee_of_next_payment(&t, "NOCACHE-1").await, 60);
    t.store()
        .set_merchant_fee_schedules(t.merchant_id(), &[(PayType::Wallet, schedule(0, 0))], 1)
        .await
        .unwrap();
    assert_eq!(fee_of_next_payment(&t, "NOCACHE-2").await, 0);
    t.stop().await;
}
