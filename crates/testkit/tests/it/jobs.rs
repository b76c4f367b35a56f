//! The jobs that keep every order's state true (issue #3): expiry closes at the channel first
//! and notifies; unknown outcomes are settled by status queries on seed 002's schedule; a
//! payment that lands after we closed is recorded for repair, never dropped. The channel here is
//! scripted through the same `Channel` trait the real channels implement.

use paygate_app::jobs::{expire_step, poll_step, JobSettings};
use paygate_app::{Clock, ManualClock};
use paygate_channels::{ChannelError, PayOutcome, RefundOutcome, TradeState};
use paygate_domain::{OrderStatus, RefundStatus};
use paygate_store::{OrderRecord, OrderRef, RefundRef};
use paygate_testkit::{
    both_databases, spawn_app_with, DbBackend, ScriptedChannel, TestApp, TestOptions,
};
use serde_json::json;
use std::sync::Arc;

const SECOND_MS: i64 = 1_000;
const MINUTE_MS: i64 = 60 * SECOND_MS;

struct Scene {
    t: TestApp,
    clock: Arc<ManualClock>,
    channel: Arc<ScriptedChannel>,
    jobs: JobSettings,
}

async fn scene(backend: DbBackend) -> Scene {
    let channel = Arc::new(ScriptedChannel::new());
    let (options, clock) = TestOptions::with_manual_clock();
    let options = TestOptions {
        channel: Some(channel.clone()),
        ..options
    };
    let t = spawn_app_with(backend, options).await;
    Scene {
        t,
        clock,
        channel,
        jobs: JobSettings::default(),
    }
}

/// A well-formed pay code: the scripted channel stands in for the wallet and takes any.
const PAY_CODE: &str = "880000000000000001";

/// Creates an order at the scene's time; a pay code makes it charge at once.
async fn create(s: &Scene, number: &str, auth_code: Option<&str>) -> OrderRecord {
    let mut fields = json!({
        "out_trade_no": number, "total_amount": "10.00", "subject": "green tea",
        "pay_type": "wallet", "notify_url": "https://shop.example/notify",
    });
    if let Some(code) = auth_code {
        fields["auth_code"] = json!(code);
    }
    s.t.create_order_at_app_time(fields).await
}

async fn reload(s: &Scene, order: &OrderRecord) -> OrderRecord {
    s.t.store()
        .get_order(&order.trade_no)
        .await
        .unwrap()
        .unwrap()
}

async fn notification_kinds(s: &Scene, order: &OrderRecord) -> Vec<String> {
    let all =
        s.t.store()
            .notifications_for_trade(&order.trade_no)
            .await
            .unwrap();
    all.into_iter().map(|n| n.kind).collect()
}

fn paid() -> TradeState {
    TradeState::Paid {
        channel_trade_no: "CH-1".into(),
        paid_at_ms: 0,
    }
}

async fn expired_orders_are_closed_at_the_channel_then_here_and_notified(backend: DbBackend) {
    let s = scene(backend).await;
    let old = create(&s, "E1", None).await;
    s.clock.advance_ms(20 * MINUTE_MS);
    let young = create(&s, "E2", None).await;
    s.clock.advance_ms(10 * MINUTE_MS + 1);

    expire_step(&s.t.app, &s.jobs).await.unwrap();
    assert_eq!(reload(&s, &old).await.status, OrderStatus::Closed);
    assert_eq!(
        reload(&s, &young).await.status,
        OrderStatus::WaitPay,
        "not yet expired"
    );
    assert_eq!(s.channel.calls(), ["close"], "closed at the channel first");
    assert_eq!(notification_kinds(&s, &old).await, ["TRADE_CLOSED"]);
    assert!(notification_kinds(&s, &young).await.is_empty());
    s.t.stop().await;
}
both_databases!(expired_orders_are_closed_at_the_channel_then_here_and_notified);

async fn a_payment_made_just_before_expiry_wins_over_the_close(backend: DbBackend) {
    let s = scene(backend).await;
    let order = create(&s, "E3", None).await;
    s.channel
        .on_close(Err(ChannelError::Rejected("trade already paid".into())));
    s.channel.on_query(Ok(paid()));
    s.clock.advance_ms(31 * MINUTE_MS);
    expire_step(&s.t.app, &s.jobs).await.unwrap();
    assert_eq!(reload(&s, &order).await.status, OrderStatus::Success);
    assert_eq!(notification_kinds(&s, &order).await, ["TRADE_SUCCESS"]);
    s.t.stop().await;
}
both_databases!(a_payment_made_just_before_expiry_wins_over_the_close);

async fn a_payment_reported_after_we_closed_is_recorded_not_lost(backend: DbBackend) {
    let s = scene(backend).await;
    let order = create(&s, "E4", None).await;
    s.clock.advance_ms(31 * MINUTE_MS);
    expire_step(&s.t.app, &s.jobs).await.unwrap();
    let closed = reload(&s, &order).await;
    assert_eq!(closed.status, OrderStatus::Closed);

    // What a late callback or query reports; reported twice, recorded once.
    for _ in 0..2 {
        let after = s.t.app.settle(closed.clone(), paid()).await.unwrap();
        assert_eq!(
            after.status,
            OrderStatus::Closed,
            "no silent overwrite of a closed order"
        );
    }
    let anomalies = s.t.store().open_anomalies(10).await.unwrap();
    assert_eq!(anomalies.len(), 1);
    assert_eq!(anomalies[0].trade_no, order.trade_no);
    assert_eq!(anomalies[0].kind, "PAID_AFTER_CLOSE");
    assert!(
        anomalies[0].detail.contains("CH-1"),
        "the channel's trade number is kept for repair"
    );
    s.t.stop().await;
}
both_databases!(a_payment_reported_after_we_closed_is_recorded_not_lost);

async fn an_unknown_outcome_is_settled_by_queries_on_the_schedule(backend: DbBackend) {
    let s = scene(backend).await;
    s.channel
        .on_pay(Err(ChannelError::Unknown("read timed out".into())));
    s.channel.on_query(Ok(TradeState::WaitingPayment));
    s.channel
        .on_query(Err(ChannelError::Unknown("timed out again".into())));
    s.channel.on_query(Ok(paid()));
    let start = s.clock.now_ms();
    let order = create(&s, "P1", Some(PAY_CODE)).await;
    assert_eq!(
        order.status,
        OrderStatus::WaitPay,
        "an unknown outcome changes nothing"
    );

    let mut queried_at = Vec::new();
    for _ in 0..40 {
        s.clock.advance_ms(SECOND_MS);
        let before = s.channel.calls().len();
        poll_step(&s.t.app, &s.jobs).await.unwrap();
        if s.channel.calls().len() > before {
            queried_at.push((s.clock.now_ms() - start) / SECOND_MS);
        }
    }
    // 5 s after the call, then 10 s and 20 s after each inconclusive answer.
    assert_eq!(queried_at, [5, 15, 35]);
    let settled = reload(&s, &order).await;
    assert_eq!(settled.status, OrderStatus::Success);
    assert_eq!(settled.channel_trade_no.as_deref(), Some("CH-1"));
    assert_eq!(notification_kinds(&s, &order).await, ["TRADE_SUCCESS"]);
    assert!(
        s.t.store().pending_polls().await.unwrap().is_empty(),
        "polling stops when settled"
    );
    s.t.stop().await;
}
both_databases!(an_unknown_outcome_is_settled_by_queries_on_the_schedule);

async fn a_payer_still_confirming_is_polled_until_paid(backend: DbBackend) {
    let s = scene(backend).await;
    s.channel.on_pay(Ok(PayOutcome::PayerConfirming));
    s.channel.on_query(Ok(TradeState::PayerConfirming));
    s.channel.on_query(Ok(paid()));
    let order = create(&s, "P2", Some(PAY_CODE)).await;
    assert_eq!(order.status, OrderStatus::UserPaying);
    s.clock.advance_ms(5 * SECOND_MS);
    poll_step(&s.t.app, &s.jobs).await.unwrap();
    assert_eq!(reload(&s, &order).await.status, OrderStatus::UserPaying);
    s.clock.advance_ms(10 * SECOND_MS);
    poll_step(&s.t.app, &s.jobs).await.unwrap();
    assert_eq!(s.channel.calls(), ["pay", "query", "query"]);
    assert_eq!(reload(&s, &order).await.status, OrderStatus::Success);
    s.t.stop().await;
}
both_databases!(a_payer_still_confirming_is_polled_until_paid);

async fn polling_stops_when_the_order_expires(backend: DbBackend) {
    let s = scene(backend).await;
    s.channel
        .on_pay(Err(ChannelError::Unknown("timeout".into())));
    let order = create(&s, "P3", Some(PAY_CODE)).await;
    s.clock.advance_ms(31 * MINUTE_MS);
    expire_step(&s.t.app, &s.jobs).await.unwrap();
    assert_eq!(reload(&s, &order).await.status, OrderStatus::Closed);
    let calls_before = s.channel.calls().len();
    poll_step(&s.t.app, &s.jobs).await.unwrap();
    assert_eq!(
        s.channel.calls().len(),
        calls_before,
        "no query for a closed order"
    );
    assert!(s.t.store().pending_polls().await.unwrap().is_empty());
    s.t.stop().await;
}
both_databases!(polling_stops_when_the_order_expires);

async fn a_refund_without_notification_is_settled_by_refund_queries(backend: DbBackend) {
    let s = scene(backend).await;
    s.channel.on_pay(Ok(PayOutcome::Paid {
        channel_trade_no: "CH-9".into(),
        paid_at_ms: 0,
    }));
    s.channel.on_refund(Ok(RefundOutcome::Processing));
    s.channel.on_query_refund(Ok(RefundOutcome::Processing));
    s.channel.on_query_refund(Ok(RefundOutcome::Succeeded {
        channel_refund_no: Some("CR-1".into()),
    }));
    let order = create(&s, "R1", Some(PAY_CODE)).await;
    assert_eq!(order.status, OrderStatus::Success);
    let keys =
        s.t.app
            .merchant_keys(s.t.merchant_id())
            .await
            .unwrap()
            .unwrap();
    let fields = json!({"trade_no": order.trade_no.as_str(), "out_refund_no": "RF1",
                        "refund_amount": "4.00", "refund_reason": "cold tea"});
    let cmd = <paygate_app::commands::RefundOrder as paygate_app::commands::ApiRequest>::parse(
        fields.as_object().unwrap(),
        0,
    )
    .unwrap();
    let (refund, _) = s.t.app.refund_order(&keys, cmd).await.unwrap();
    assert_eq!(refund.status, RefundStatus::Processing);

    for _ in 0..2 {
        s.clock.advance_ms(10 * SECOND_MS);
        poll_step(&s.t.app, &s.jobs).await.unwrap();
    }
    let by = RefundRef::RefundNo(refund.refund_no.clone());
    let refund =
        s.t.store()
            .find_refund(s.t.merchant_id(), &by)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(refund.status, RefundStatus::Success);
    assert_eq!(refund.channel_refund_no.as_deref(), Some("CR-1"));
    let order =
        s.t.store()
            .find_order(
                s.t.merchant_id(),
                &OrderRef::TradeNo(order.trade_no.clone()),
            )
            .await
            .unwrap()
            .unwrap();
    assert_eq!(order.status, OrderStatus::PartialRefund);
    assert_eq!(
        notification_kinds(&s, &order).await,
        ["TRADE_SUCCESS", "REFUND_SUCCESS"]
    );
    s.t.stop().await;
}
both_databases!(a_refund_without_notification_is_settled_by_refund_queries);
