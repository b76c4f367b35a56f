//! What Alipay (or someone posing as it) throws at us (acceptance 5), as WeChat Pay's faults
//! do: a create whose answer never comes, settled by the status poll; notifications that are
//! forged, for the wrong amount or account, replayed, delivered twice or held behind a refund;
//! a refund whose answer never comes, settled by the refund poll. Each leaves the order
//! correct; each refusal is answered `fail` (so Alipay retries) and counted.

use super::{alipay_order, scene, Scene, SECOND_MS};
use crate::support::{assert_api_error, audited_steps, query_refund, refund_of, steps, NOTIFY_URL};
use paygate_client::{OrderRef, QueryOrder, QueryRefund};
use paygate_domain::{OrderStatus, PayType, RefundStatus, TradeNo};
use paygate_testkit::{both_databases, DbBackend};
use serde_json::json;
use std::collections::BTreeMap;
use tokio::sync::Mutex;

/// The metric's recorder is shared by the whole binary: the tests that make Alipay
/// notifications be refused take this lock, so each can count its own refusals exactly.
static REFUSALS: Mutex<()> = Mutex::const_new(());

/// A native order the payer has paid at Alipay, whose notification the sandbox keeps back so
/// that the test can play it; and the fields of Alipay's TRADE_SUCCESS notification for it.
async fn paid_without_notification(s: &Scene, number: &str) -> (TradeNo, BTreeMap<String, String>) {
    let create = alipay_order(PayType::AlipayNative, number, "10.00", NOTIFY_URL);
    let trade_no = s.t.client.create_order(&create).await.unwrap().trade_no;
    s.fault(json!({"fault": "no_callback", "out_trade_no": trade_no.as_str()}))
        .await;
    assert_eq!(s.payer(&trade_no, "pay").await.0, 200);
    let trade = s.alipay_trade(&trade_no).await;
    assert_eq!(trade["trade_status"], "TRADE_SUCCESS");
    let text = |name: &str| trade[name].as_str().expect(name).to_owned();
    let fields = [
        ("notify_time", "2026-11-29 10:00:05".to_owned()),
        ("notify_type", "trade_status_sync".to_owned()),
        ("notify_id", "2026112900222100005000000000000001".to_owned()),
        ("app_id", s.alipay.app_id.clone()),
        ("charset", "utf-8".to_owned()),
        ("version", "1.0".to_owned()),
        ("trade_no", text("trade_no")),
        ("out_trade_no", trade_no.as_str().to_owned()),
        ("seller_id", s.alipay.seller_id.clone()),
        ("trade_status", "TRADE_SUCCESS".to_owned()),
        ("total_amount", text("total_amount")),
        ("receipt_amount", text("receipt_amount")),
        ("subject", "green tea".to_owned()),
        ("gmt_payment", text("gmt_payment")),
    ];
    let fields = fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    (trade_no, fields)
}

async fn a_timed_out_create_leaves_the_order_waiting_and_a_status_poll_settles_it(
    backend: DbBackend,
) {
    let s = scene(backend).await;
    // Alipay opens the trade but its answer comes after our 2 s timeout.
    s.fault(json!({"fault": "timeout", "calls": 1, "delay_ms": 3_000}))
        .await;
    let create = alipay_order(PayType::AlipayNative, "AF-TIMEOUT", "10.00", NOTIFY_URL);
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
    let at_alipay = s.alipay_trade(&trade_no).await;
    assert_eq!(
        order.channel_trade_no.as_deref(),
        at_alipay["trade_no"].as_str()
    );
    assert_eq!(s.notification_kinds(&trade_no).await, ["TRADE_SUCCESS"]);
    s.t.stop().await;
}
both_databases!(a_timed_out_create_leaves_the_order_waiting_and_a_status_poll_settles_it);

async fn forged_mismatched_and_replayed_notifications_leave_the_order_correct(backend: DbBackend) {
    let _counting = REFUSALS.lock().await;
    let s = scene(backend).await;
    let (trade_no, fields) = paid_without_notification(&s, "AF-NOTICES").await;
    let genuine = s.signed_notification(&fields);
    let refused_before = s.callbacks_counted("refused").await;

    // Forged: a field changed after Alipay signed it.
    let forged = genuine.replace("green+tea", "green+tea+");
    assert_ne!(forged, genuine);
    assert_eq!(s.post_callback(&forged).await, (401, "fail".to_owned()));
    assert_eq!(s.order_status(&trade_no).await, OrderStatus::WaitPay);

    // Validly signed, but one fen more than the order.
    let mut more = fields.clone();
    more.insert("total_amount".into(), "10.01".into());
    let wrong_amount = s.signed_notification(&more);
    assert_eq!(
        s.post_callback(&wrong_amount).await,
        (400, "fail".to_owned())
    );
    assert_eq!(s.order_status(&trade_no).await, OrderStatus::WaitPay);

    // Validly signed, but for another app's trade.
    let mut other_app = fields.clone();
    other_app.insert("app_id".into(), "2021000000000001".into());
    let other_app = s.signed_notification(&other_app);
    assert_eq!(s.post_callback(&other_app).await, (400, "fail".to_owned()));
    assert_eq!(s.order_status(&trade_no).await, OrderStatus::WaitPay);

    // The genuine one is taken.
    assert_eq!(s.post_callback(&genuine).await, (200, "success".to_owned()));
    assert_eq!(s.order_status(&trade_no).await, OrderStatus::Success);

    // Replayed later, byte for byte: Alipay resends for a day, so it is acknowledged, and it
    // states a fact already recorded, so it changes nothing.
    s.clock.advance_ms(10 * 60 * SECOND_MS);
    assert_eq!(s.post_callback(&genuine).await, (200, "success".to_owned()));

    assert_eq!(
        audited_steps(&s.t, &trade_no).await,
        steps(&[
            ("CREATED", "WAIT_PAY", "SUBMITTED"),
            ("WAIT_PAY", "SUCCESS", "PAID")
        ])
    );
    assert_eq!(s.notification_kinds(&trade_no).await, ["TRADE_SUCCESS"]);
    let refused = s.callbacks_counted("refused").await - refused_before;
    assert_eq!(refused, 3.0, "each refusal is counted");
    s.t.stop().await;
}
both_databases!(forged_mismatched_and_replayed_notifications_leave_the_order_correct);

async fn a_notification_delivered_twice_pays_once_and_notifies_once(backend: DbBackend) {
    let s = scene(backend).await;
    let create = alipay_order(PayType::AlipayNative, "AF-TWICE", "10.00", NOTIFY_URL);
    let trade_no = s.t.client.create_order(&create).await.unwrap().trade_no;
    let accepted_before = s.callbacks_counted("accepted").await;
    s.fault(json!({"fault": "duplicate_callback", "out_trade_no": trade_no.as_str()}))
        .await;
    assert_eq!(s.payer(&trade_no, "pay").await.0, 200);
    s.wait_for_status(&trade_no, OrderStatus::Success).await;
    // Both deliveries are taken (answered `success`), the second changing nothing.
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
    let create = alipay_order(PayType::AlipayNative, "AF-FORGED", "10.00", NOTIFY_URL);
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

async fn a_timed_out_refund_is_settled_by_the_refund_poll(backend: DbBackend) {
    let s = scene(backend).await;
    let create = alipay_order(
        PayType::AlipayMicropay,
        "AF-REFUND-TIMEOUT",
        "10.00",
        NOTIFY_URL,
    );
    let trade_no = s.t.client.create_order(&create).await.unwrap().trade_no;
    // Alipay refunds, but its answer comes after our 2 s timeout and no notification follows.
    s.fault(json!({"fault": "timeout", "calls": 1, "delay_ms": 3_000}))
        .await;
    s.fault(json!({"fault": "no_callback", "out_trade_no": trade_no.as_str()}))
        .await;
    let refund = refund_of(&trade_no, "AF-REFUND-TIMEOUT-R1", "4.00");
    let asked = s.t.client.refund(&refund).await.expect("refund accepted");
    assert_eq!(asked.refund_status, RefundStatus::Processing);
    let by = QueryRefund::RefundNo(asked.refund_no.clone());

    s.step_jobs_after(5 * SECOND_MS).await;
    let refunded = query_refund(&s.t, by).await;
    assert_eq!(refunded.refund_status, RefundStatus::Success);
    assert_eq!(refunded.refund_amount, crate::support::yuan("4.00"));
    let at_alipay = s.alipay_refund(&trade_no, asked.refund_no.as_str()).await;
    assert_eq!(at_alipay["refund_amount"], "4.00");
    assert_eq!(s.order_status(&trade_no).await, OrderStatus::PartialRefund);
    s.t.stop().await;
}
both_databases!(a_timed_out_refund_is_settled_by_the_refund_poll);

async fn a_payment_notification_held_behind_a_refund_changes_nothing(backend: DbBackend) {
    let s = scene(backend).await;
    // A create whose answer came too late, so the status poll will learn of the payment.
    s.fault(json!({"fault": "timeout", "calls": 1, "delay_ms": 3_000}))
        .await;
    let create = alipay_order(PayType::AlipayNative, "AF-LATE", "10.00", NOTIFY_URL);
    assert_api_error(s.t.client.create_order(&create).await, "1006");
    let by = QueryOrder::from(OrderRef::OutTradeNo(create.out_trade_no.clone()));
    let trade_no = s.t.client.query_order(&by).await.unwrap().trade_no;
    // Alipay holds the payment's notification until after the first refund's.
    let late = json!({"fault": "out_of_order_callbacks", "out_trade_no": trade_no.as_str()});
    s.fault(late).await;
    assert_eq!(s.payer(&trade_no, "pay").await.0, 200);
    s.step_jobs_after(5 * SECOND_MS).await;
    assert_eq!(s.order_status(&trade_no).await, OrderStatus::Success);

    let accepted_before = s.callbacks_counted("accepted").await;
    let refund = refund_of(&trade_no, "AF-LATE-R1", "3.00");
    let asked = s.t.client.refund(&refund).await.expect("refund accepted");
    assert_eq!(asked.refund_status, RefundStatus::Success);
    s.wait_until("the refund's and the payment's notifications", || async {
        s.callbacks_counted("accepted").await - accepted_before >= 2.0
    })
    .await;

    let order = s.query(&trade_no).await;
    assert_eq!(order.trade_status, OrderStatus::PartialRefund);
    assert_eq!(order.refunded_amount, Some(crate::support::yuan("3.00")));
    assert_eq!(
        audited_steps(&s.t, &trade_no).await,
        steps(&[
            ("CREATED", "WAIT_PAY", "SUBMITTED"),
            ("WAIT_PAY", "SUCCESS", "PAID"),
            ("SUCCESS", "PARTIAL_REFUND", "PARTIALLY_REFUNDED"),
        ])
    );
    assert_eq!(
        s.notification_kinds(&trade_no).await,
        ["TRADE_SUCCESS", "REFUND_SUCCESS"]
    );
    s.t.stop().await;
}
both_databases!(a_payment_notification_held_behind_a_refund_changes_nothing);
