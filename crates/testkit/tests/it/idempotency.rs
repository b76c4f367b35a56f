//! Idempotent create (DESIGN §3): the merchant's order number is the key. Repeating a request
//! returns the order it made; reusing the number for a different payment is refused; concurrent
//! duplicates make exactly one order.

use crate::support::{
    all_at_once, assert_api_error, assert_param_error, audited_steps, count_rows, create_fields,
    query_order, unpaid_order, yuan,
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
