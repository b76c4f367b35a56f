//! What UnionPay (or someone posing as it) throws at us (acceptance 5), as WeChat Pay's faults
//! do: a create whose answer never comes, and back notifications that are forged, for the wrong
//! amount, replayed or repeated. Each leaves the order correct; each refusal is answered with a
//! status other than 200, so that UnionPay would send it again, and counted.

use super::{scene, unionpay_order, Scene, SECOND_MS};
use crate::support::{assert_api_error, audited_steps, query_refund, refund_of, steps, NOTIFY_URL};
use paygate_channels::unionpay::wire;
use paygate_client::{OrderRef, QueryOrder, QueryRefund};
use paygate_domain::{OrderStatus, PayType, RefundStatus, TradeNo};
use paygate_testkit::{both_databases, DbBackend};
use serde_json::json;
use std::collections::BTreeMap;
use tokio::sync::Mutex;

/// A QR order the payer has paid at UnionPay, whose notification the sandbox keeps back so
/// that the test can play it.
async fn paid_without_notification(s: &Scene, number: &str) -> TradeNo {
    let create = unionpay_order(PayType::UnionpayNative, number, "10.00", NOTIFY_URL);
    let trade_no = s.t.client.create_order(&create).await.unwrap().trade_no;
    s.fault(json!({"fault": "no_callback", "out_trade_no": trade_no.as_str()}))
        .await;
    let (status, paid) = s.payer(&trade_no, "pay").await;
    assert_eq!((status, &paid["orig_resp_code"]), (200, &json!("00")));
    trade_no
}

/// UnionPay's back notification of the paid QR trade, with `txnAmt` in fen, as the sandbox
/// sends it (unsigned).
async fn payment_fields(
    s: &Scene,
    trade_no: &TradeNo,
    amount_fen: &str,
) -> BTreeMap<String, String> {
    let txn_time = wire::txn_time_of_number(trade_no.as_str()).expect("our number's time");
    let query_id = s.query_id(trade_no).await;
    [
        ("version", wire::VERSION),
        ("encoding", wire::ENCODING),
        ("signMethod", wire::SIGN_METHOD_CERT),
        ("accessType", wire::ACCESS_MERCHANT),
        ("currencyCode", wire::CURRENCY_CNY),
        ("respCode", wire::RESP_OK),
        ("respMsg", "成功[0000000]"),
        ("txnType", wire::TXN_CONSUME),
        ("txnSubType", wire::SUB_QR_APPLY),
        ("bizType", wire::BIZ_GENERIC),
        ("merId", s.unionpay.mer_id.as_str()),
        ("orderId", trade_no.as_str()),
        ("txnTime", txn_time.as_str()),
        ("txnAmt", amount_fen),
        ("settleAmt", amount_fen),
        ("queryId", query_id.as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// The metric's recorder is shared by the whole binary: the tests that make UnionPay
/// notifications be refused take this lock, so each can count its own refusals exactly.
static REFUSALS: Mutex<()> = Mutex::const_new(());

async fn a_timed_out_create_leaves_the_order_waiting_and_a_status_poll_settles_it(
    backend: DbBackend,
) {
    let s = scene(backend).await;
    // UnionPay opens the QR trade but its answer comes after our 2 s timeout.
    s.fault(json!({"fault": "timeout", "calls": 1, "delay_ms": 3_000}))
        .await;
    let create = unionpay_order(PayType::UnionpayNative, "UPF-TIMEOUT", "10.00", NOTIFY_URL);
    assert_api_error(s.t.client.create_order(&create).await, "1006");

    let by = QueryOrder::from(OrderRef::OutTradeNo(create.out_trade_no.clone()));
    let order = s.t.client.query_order(&by).await.expect("the order exists");
    assert_eq!(order.trade_status, OrderStatus::WaitPay);
    let trade_no = order.trade_no;
    // The payer pays; no notification comes, so only the status poll can learn it.
    s.fault(json!({"fault": "no_callback", "out_trade_no": trade_no.as_str()}))
        .await;
    assert_eq!(s.payer(&trade_no, "pay").await.0, 200);
    s.step_jobs_after(4 * SECOND_MS).await;
    assert_eq!(
        s.order_status(&trade_no).await,
        OrderStatus::WaitPay,
        "not due yet"
    );
    s.step_jobs_after(SECOND_MS).await;

    let order = s.query(&trade_no).await;
    assert_eq!(order.trade_status, OrderStatus::Success);
    let query_id = s.query_id(&trade_no).await;
    assert_eq!(order.channel_trade_no.as_deref(), Some(query_id.as_str()));
    assert_eq!(s.notification_kinds(&trade_no).await, ["TRADE_SUCCESS"]);
    s.t.stop().await;
}
both_databases!(a_timed_out_create_leaves_the_order_waiting_and_a_status_poll_settles_it);

async fn forged_and_mismatched_notifications_are_refused_and_change_nothing(backend: DbBackend) {
    let _counting = REFUSALS.lock().await;
    let s = scene(backend).await;
    let trade_no = paid_without_notification(&s, "UPF-NOTIFY").await;
    let genuine = s.signed_by_unionpay(payment_fields(&s, &trade_no, "1000").await);
    let refused_before = s.callbacks_counted("refused").await;

    // Forged: a field changed after UnionPay signed it.
    let forged = genuine.replace("txnAmt=1000", "txnAmt=1");
    assert_ne!(forged, genuine);
    let (status, body) = s.post_callback(&forged).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body, "signature invalid: signature does not match");
    assert_eq!(s.order_status(&trade_no).await, OrderStatus::WaitPay);

    // Signed by UnionPay, but one fen more than the order.
    let wrong_amount = s.signed_by_unionpay(payment_fields(&s, &trade_no, "1001").await);
    let (status, body) = s.post_callback(&wrong_amount).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("is for CNY 10.00, the callback says CNY 10.01"),
        "{body}"
    );
    assert_eq!(s.order_status(&trade_no).await, OrderStatus::WaitPay);

    // The genuine one is taken.
    let (status, body) = s.post_callback(&genuine).await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    assert_eq!(s.order_status(&trade_no).await, OrderStatus::Success);

    assert_eq!(
        audited_steps(&s.t, &trade_no).await,
        steps(&[
            ("CREATED", "WAIT_PAY", "SUBMITTED"),
            ("WAIT_PAY", "SUCCESS", "PAID")
        ])
    );
    assert_eq!(s.notification_kinds(&trade_no).await, ["TRADE_SUCCESS"]);
    let refused = s.callbacks_counted("refused").await - refused_before;
    assert_eq!(refused, 2.0, "each refusal is counted");
    s.t.stop().await;
}
both_databases!(forged_and_mismatched_notifications_are_refused_and_change_nothing);

async fn a_payment_notification_replayed_after_a_full_refund_changes_nothing(backend: DbBackend) {
    let s = scene(backend).await;
    let trade_no = paid_without_notification(&s, "UPF-REPLAY").await;
    let genuine = s.signed_by_unionpay(payment_fields(&s, &trade_no, "1000").await);
    let (status, _) = s.post_callback(&genuine).await;
    assert_eq!(status, 200);
    let full = refund_of(&trade_no, "UPF-REPLAY-R1", "10.00");
    let refund_no = s.t.client.refund(&full).await.expect("refund").refund_no;
    let by = QueryRefund::RefundNo(refund_no);
    s.wait_until("the refund's notification", || async {
        query_refund(&s.t, by.clone()).await.refund_status == RefundStatus::Success
    })
    .await;
    assert_eq!(s.order_status(&trade_no).await, OrderStatus::Refund);

    // UnionPay notifications carry no timestamp: a replay is simply taken and changes nothing.
    let (status, body) = s.post_callback(&genuine).await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    let order = s.query(&trade_no).await;
    assert_eq!(order.trade_status, OrderStatus::Refund);
    assert_eq!(order.refunded_amount, Some(crate::support::yuan("10.00")));
    assert_eq!(
        audited_steps(&s.t, &trade_no).await,
        steps(&[
            ("CREATED", "WAIT_PAY", "SUBMITTED"),
            ("WAIT_PAY", "SUCCESS", "PAID"),
            ("SUCCESS", "REFUND", "FULLY_REFUNDED"),
        ])
    );
    s.t.stop().await;
}
both_databases!(a_payment_notification_replayed_after_a_full_refund_changes_nothing);

async fn a_notification_delivered_twice_pays_once_and_notifies_once(backend: DbBackend) {
    let s = scene(backend).await;
    let create = unionpay_order(PayType::UnionpayNative, "UPF-TWICE", "10.00", NOTIFY_URL);
    let trade_no = s.t.client.create_order(&create).await.unwrap().trade_no;
    let accepted_before = s.callbacks_counted("accepted").await;
    s.fault(json!({"fault": "duplicate_callback", "out_trade_no": trade_no.as_str()}))
        .await;
    assert_eq!(s.payer(&trade_no, "pay").await.0, 200);
    s.wait_for_status(&trade_no, OrderStatus::Success).await;
    // Both deliveries are taken (answered 200), the second changing nothing.
    s.wait_until("the second delivery", || async {
        s.callbacks_counted("accepted").await - accepted_before >= 2.0
    })
    .await;

    assert_eq!(
        audited_steps(&s.t, &trade_no).await,
        steps(&[
            ("CREATED", "WAIT_PAY", "SUBMITTED"),
            ("WAIT_PAY", "SUCCESS", "PAID")
        ])
    );
    assert_eq!(s.notification_kinds(&trade_no).await, ["TRADE_SUCCESS"]);
    s.t.stop().await;
}
both_databases!(a_notification_delivered_twice_pays_once_and_notifies_once);

async fn a_forged_notification_sent_first_is_refused_and_the_real_one_pays(backend: DbBackend) {
    let _counting = REFUSALS.lock().await;
    let s = scene(backend).await;
    let create = unionpay_order(PayType::UnionpayNative, "UPF-FORGED", "10.00", NOTIFY_URL);
    let trade_no = s.t.client.create_order(&create).await.unwrap().trade_no;
    let refused_before = s.callbacks_counted("refused").await;
    s.fault(json!({"fault": "forged_callback", "out_trade_no": trade_no.as_str()}))
        .await;
    assert_eq!(s.payer(&trade_no, "pay").await.0, 200);
    s.wait_for_status(&trade_no, OrderStatus::Success).await;

    let refused = s.callbacks_counted("refused").await - refused_before;
    assert_eq!(refused, 1.0, "the forged copy is refused and counted");
    assert_eq!(s.notification_kinds(&trade_no).await, ["TRADE_SUCCESS"]);
    s.t.stop().await;
}
both_databases!(a_forged_notification_sent_first_is_refused_and_the_real_one_pays);

/// A QR order paid with its notification delivered, and the refund of `amount` asked for.
async fn paid_and_refunding(s: &Scene, number: &str, amount: &str, fault: &str) -> TradeNo {
    let create = unionpay_order(PayType::UnionpayNative, number, "10.00", NOTIFY_URL);
    let trade_no = s.t.client.create_order(&create).await.unwrap().trade_no;
    assert_eq!(s.payer(&trade_no, "pay").await.0, 200);
    s.wait_for_status(&trade_no, OrderStatus::Success).await;
    // The next notification about the trade is the refund's.
    s.fault(json!({"fault": fault, "out_trade_no": trade_no.as_str()}))
        .await;
    let refund = refund_of(&trade_no, &format!("{number}-R1"), amount);
    let asked = s.t.client.refund(&refund).await.expect("refund accepted");
    assert_eq!(asked.refund_status, RefundStatus::Processing);
    trade_no
}

async fn a_refund_notification_delivered_twice_refunds_once(backend: DbBackend) {
    let s = scene(backend).await;
    let accepted_before = s.callbacks_counted("accepted").await;
    let trade_no = paid_and_refunding(&s, "UPF-REFUND-TWICE", "4.00", "duplicate_callback").await;
    s.wait_for_status(&trade_no, OrderStatus::PartialRefund)
        .await;
    // The payment's notification, then the refund's twice.
    s.wait_until("the refund's second delivery", || async {
        s.callbacks_counted("accepted").await - accepted_before >= 3.0
    })
    .await;

    let order = s.query(&trade_no).await;
    assert_eq!(order.trade_status, OrderStatus::PartialRefund);
    assert_eq!(order.refunded_amount, Some(crate::support::yuan("4.00")));
    assert_eq!(
        s.notification_kinds(&trade_no).await,
        ["TRADE_SUCCESS", "REFUND_SUCCESS"]
    );
    s.t.stop().await;
}
both_databases!(a_refund_notification_delivered_twice_refunds_once);

async fn a_refund_whose_notification_never_comes_is_settled_by_the_refund_query(
    backend: DbBackend,
) {
    let s = scene(backend).await;
    let trade_no = paid_and_refunding(&s, "UPF-REFUND-POLL", "10.00", "no_callback").await;
    assert_eq!(s.order_status(&trade_no).await, OrderStatus::Success);

    s.step_jobs_after(5 * SECOND_MS).await;
    let order = s.query(&trade_no).await;
    assert_eq!(order.trade_status, OrderStatus::Refund);
    assert_eq!(order.refunded_amount, Some(crate::support::yuan("10.00")));
    assert_eq!(
        s.notification_kinds(&trade_no).await,
        ["TRADE_SUCCESS", "REFUND_SUCCESS"]
    );
    s.t.stop().await;
}
both_databases!(a_refund_whose_notification_never_comes_is_settled_by_the_refund_query);
