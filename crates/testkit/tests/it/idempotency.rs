//! Idempotent create (DESIGN §3): the merchant's order number is the key. Repeating a request
//! returns the order it made; reusing the number for a different payment is refused; concurrent
//! duplicates make exactly one order.

use crate::support::{
    alice_paid_ten_yuan, all_at_once, assert_api_error, assert_param_error, assert_raw_error,
    audited_steps, balance_fen, count_rows, create_fields, query_order, unpaid_order, yuan,
};
use paygate_client::paths;
use paygate_domain::{Currency, OrderStatus};
use paygate_testkit::{both_databases, spawn_app, DbBackend};

const CONCURRENT_CREATES: usize = 50;

async fn repeating_a_create_returns_the_same_order(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let request = unpaid_order("IDEM-1", "10.00");

    let first = t.client.create_order(&request).await.expect("first create");
    let second = t
        .client
        .create_order(&request)
        .await
        .expect("repeated create");

    assert_eq!(second.trade_no, first.trade_no);
    assert!(first.pay_url.is_some());
    assert_eq!(second.pay_url, first.pay_url, "the same cashier link");
    assert_eq!(count_rows(&t, "orders").await, 1);
    assert_eq!(audited_steps(&t, &first.trade_no).await.len(), 1);
    t.stop().await;
}
both_databases!(repeating_a_create_returns_the_same_order);

async fn an_order_number_reused_with_another_amount_is_refused(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let original = t
        .client
        .create_order(&unpaid_order("IDEM-2", "10.00"))
        .await
        .expect("create");

    let reused = t
        .client
        .create_order(&unpaid_order("IDEM-2", "10.01"))
        .await;

    assert_eq!(assert_api_error(reused, "1004"), 409);
    assert_eq!(count_rows(&t, "orders").await, 1);
    let kept = query_order(&t, &original.trade_no).await;
    assert_eq!(kept.total_amount, yuan("10.00"));
    assert_eq!(kept.trade_status, OrderStatus::WaitPay);
    t.stop().await;
}
both_databases!(an_order_number_reused_with_another_amount_is_refused);

/// The wallet, the only channel so far, takes CNY alone, so a second currency is refused by the
/// pay type's currency rule (1001 on `currency`) before the order number is even looked up;
/// DESIGN §3's 1004 for "same number, other currency" is the answer once a channel takes two
/// currencies. Either way the original order must stand untouched.
async fn an_order_number_reused_with_another_currency_is_refused(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let original = t
        .client
        .create_order(&unpaid_order("IDEM-3", "10.00"))
        .await
        .expect("create");
    let mut hkd = create_fields("IDEM-3", "10.00");
    hkd.insert("currency".into(), "HKD".into());

    let reused = t
        .client
        .call_raw(paths::CREATE, hkd)
        .await
        .expect("an answer");

    assert_eq!(reused.1["code"], "FAIL");
    match reused.1["error_code"].as_str() {
        Some("1001") => assert_eq!(reused.1["error_field"], "currency"),
        Some("1004") => {}
        other => panic!("expected 1001 or 1004, got {other:?}: {:?}", reused.1),
    }
    assert_eq!(count_rows(&t, "orders").await, 1);
    let kept = query_order(&t, &original.trade_no).await;
    assert_eq!(kept.total_amount.currency, Currency::Cny);
    t.stop().await;
}
both_databases!(an_order_number_reused_with_another_currency_is_refused);

async fn a_currency_the_pay_type_does_not_take_is_a_parameter_error(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let mut hkd = create_fields("HKD-1", "10.00");
    hkd.insert("currency".into(), "HKD".into());

    let refused = t
        .client
        .call_raw(paths::CREATE, hkd)
        .await
        .expect("an answer");

    assert_eq!(assert_param_error(&refused), "currency");
    assert_eq!(count_rows(&t, "orders").await, 0);
    t.stop().await;
}
both_databases!(a_currency_the_pay_type_does_not_take_is_a_parameter_error);

async fn fifty_concurrent_identical_creates_make_exactly_one_order(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let request = unpaid_order("RACE-1", "10.00");

    let answers = all_at_once(CONCURRENT_CREATES, |_| {
        let (client, request) = (t.client.clone(), request.clone());
        async move { client.create_order(&request).await }
    })
    .await;

    let mut trade_nos = Vec::with_capacity(CONCURRENT_CREATES);
    for answer in answers {
        let order = answer.expect("every duplicate succeeds");
        assert_eq!(order.trade_status, OrderStatus::WaitPay);
        trade_nos.push(order.trade_no);
    }
    let first = &trade_nos[0];
    assert!(
        trade_nos.iter().all(|no| no == first),
        "one trade_no for all: {trade_nos:?}"
    );
    assert_eq!(count_rows(&t, "orders").await, 1);
    assert_eq!(count_rows(&t, "order_transitions").await, 1);
    assert_eq!(audited_steps(&t, first).await.len(), 1);
    let orders = t.store().count_orders_by_status().await.expect("count");
    assert_eq!(orders, vec![(OrderStatus::WaitPay, 1)]);
    t.stop().await;
}
both_databases!(fifty_concurrent_identical_creates_make_exactly_one_order);

fn wall_secs() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.expect("after 1970").as_secs() as i64
}

/// A create with every optional business field set, expiring in an hour.
fn full_create(number: &str) -> serde_json::Map<String, serde_json::Value> {
    let in_an_hour = wall_secs() + 3600;
    let mut fields = create_fields(number, "10.00");
    for (key, value) in [
        ("body", serde_json::json!("two cups")),
        ("return_url", serde_json::json!("https://shop.example/back")),
        ("attach", serde_json::json!("cart=7")),
        ("expire_time", serde_json::json!(in_an_hour)),
        ("buyer_id", serde_json::json!("alice")),
    ] {
        fields.insert(key.into(), value);
    }
    fields
}

/// Every business field of a create, changed (or dropped, or added) on a retry, is refused with
/// 1004 naming it; the stored order stands. (`currency` and `pay_type` cannot differ here: the
/// only pay type takes only CNY, so they are refused as parameters before the key is looked up.)
async fn a_reused_order_number_names_the_first_field_that_differs(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let original = full_create("IDEM-F");
    let first = t
        .client
        .call_raw(paths::CREATE, original.clone())
        .await
        .expect("create");
    assert_eq!(first.1["trade_status"], "WAIT_PAY");
    let later = wall_secs() + 7200;
    let changes: [(&str, Option<serde_json::Value>); 11] = [
        ("total_amount", Some("10.01".into())),
        ("subject", Some("black tea".into())),
        ("body", Some("three cups".into())),
        ("body", None),
        ("notify_url", Some("https://shop.example/other".into())),
        ("return_url", Some("https://shop.example/elsewhere".into())),
        ("attach", None),
        ("expire_time", Some(later.into())),
        ("expire_time", None),
        ("buyer_id", Some("bob".into())),
        ("auth_code", Some("880000000000000001".into())),
    ];

    for (field, value) in changes {
        let mut retry = original.clone();
        match value {
            Some(value) => retry.insert(field.into(), value),
            None => retry.remove(field),
        };
        assert_key_reused_with(&t, paths::CREATE, retry, field).await;
    }

    let same = t
        .client
        .call_raw(paths::CREATE, original)
        .await
        .expect("identical retry");
    assert_eq!(same.1["trade_no"], first.1["trade_no"]);
    assert_eq!(count_rows(&t, "orders").await, 1);
    assert_eq!(count_rows(&t, "wallet_payments").await, 0);
    t.stop().await;
}
both_databases!(a_reused_order_number_names_the_first_field_that_differs);

/// A paid create retried with the same pay code returns the paid order without charging again.
async fn an_identical_retry_of_a_paid_create_returns_it_and_charges_once(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let alice = t.fund_wallet("alice", "30.00").await;
    let mut request = create_fields("IDEM-PAID", "10.00");
    request.insert(
        "auth_code".into(),
        t.pay_code("alice").await.as_str().into(),
    );

    let first = t
        .client
        .call_raw(paths::CREATE, request.clone())
        .await
        .expect("pay");
    let again = t
        .client
        .call_raw(paths::CREATE, request)
        .await
        .expect("retry");

    assert_eq!(first.1["trade_status"], "SUCCESS");
    assert_eq!(again.1["trade_status"], "SUCCESS");
    assert_eq!(again.1["trade_no"], first.1["trade_no"]);
    assert_eq!(balance_fen(&t, &alice).await, 20_00);
    assert_eq!(count_rows(&t, "wallet_payments").await, 1);
    t.stop().await;
}
both_databases!(an_identical_retry_of_a_paid_create_returns_it_and_charges_once);

/// A refund number reused with another amount, reason or order is refused with 1004 naming the
/// field; the identical retry returns the same refund.
async fn a_reused_refund_number_names_the_field_that_differs(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let (_, trade_no) = alice_paid_ten_yuan(&t, "IDEM-R").await;
    let code = t.pay_code("alice").await;
    let other = t
        .client
        .create_order(&crate::support::wallet_order("IDEM-R2", "10.00", &code))
        .await
        .expect("a second paid order");
    let refund = |order: (&str, &str), amount: &str, reason: &str| {
        let mut fields = serde_json::Map::new();
        fields.insert(order.0.into(), order.1.into());
        fields.insert("out_refund_no".into(), "IDEM-RF".into());
        fields.insert("refund_amount".into(), amount.into());
        fields.insert("refund_reason".into(), reason.into());
        fields
    };
    let ours = ("trade_no", trade_no.as_str());
    let first = t
        .client
        .call_raw(paths::REFUND, refund(ours, "3.00", "cold"))
        .await
        .expect("refund");
    assert_eq!(first.1["refund_status"], "SUCCESS");

    for (fields, field) in [
        (refund(ours, "3.01", "cold"), "refund_amount"),
        (refund(ours, "3.00", "late"), "refund_reason"),
        (
            refund(("trade_no", other.trade_no.as_str()), "3.00", "cold"),
            "trade_no",
        ),
        (
            refund(("out_trade_no", "IDEM-R2"), "3.00", "cold"),
            "out_trade_no",
        ),
    ] {
        assert_key_reused_with(&t, paths::REFUND, fields, field).await;
    }

    let same = t
        .client
        .call_raw(paths::REFUND, refund(ours, "3.00", "cold"))
        .await
        .expect("identical retry");
    assert_eq!(same.1["refund_no"], first.1["refund_no"]);
    assert_eq!(count_rows(&t, "refunds").await, 1);
    assert_eq!(count_rows(&t, "wallet_refunds").await, 1);
    t.stop().await;
}
both_databases!(a_reused_refund_number_names_the_field_that_differs);

/// A reused idempotency key with `field` changed: 409, error 1004, naming that field.
async fn assert_key_reused_with(
    t: &paygate_testkit::TestApp,
    path: &str,
    fields: serde_json::Map<String, serde_json::Value>,
    field: &str,
) {
    let answer = t.client.call_raw(path, fields).await.expect("an answer");
    assert_eq!(assert_raw_error(&answer, "1004"), 409, "{field}");
    assert_eq!(answer.1["error_field"], field, "{:?}", answer.1);
}
