//! Notifications that always arrive (issue #3): delivered only on `success`, retried on seed
//! 003's schedule, every attempt recorded, signed, and a dead merchant starves no one else.

use crate::support::yuan;
use paygate_app::notify::{Notifier, NotifierSettings};
use paygate_app::{Clock, ManualClock};
use paygate_client::CreateOrder;
use paygate_domain::schedule::NotificationStatus;
use paygate_domain::sign::VerifyKey;
use paygate_domain::{OrderStatus, OutTradeNo, TradeNo};
use paygate_store::{AttemptRecord, NotificationRecord};
use paygate_testkit::{
    both_databases, spawn_app_with, Answer, DbBackend, MerchantServer, TestApp, TestOptions,
};
use std::sync::Arc;
use std::time::Duration;

const MINUTE_MS: i64 = 60_000;

struct Scene {
    t: TestApp,
    clock: Arc<ManualClock>,
    notifier: Notifier,
}

async fn scene(backend: DbBackend, http_timeout_ms: u64) -> Scene {
    let (options, clock) = TestOptions::with_manual_clock();
    let t = spawn_app_with(backend, options).await;
    let settings = NotifierSettings {
        http_timeout_ms,
        ..NotifierSettings::default()
    };
    let notifier = Notifier::new(t.app.clone(), settings).unwrap();
    Scene { t, clock, notifier }
}

/// Alice pays a 10.00 order whose notify_url is the merchant's server.
async fn paid_order(s: &Scene, number: &str, notify_url: &str) -> TradeNo {
    s.t.fund_wallet("alice", "1000.00").await;
    let mut create = CreateOrder::new(
        OutTradeNo::parse(number).unwrap(),
        yuan("10.00"),
        "green tea",
        notify_url,
    );
    create.auth_code = Some(s.t.pay_code("alice").await.into());
    let order = s.t.client.create_order(&create).await.unwrap();
    assert_eq!(order.trade_status, OrderStatus::Success);
    order.trade_no
}

/// The same paid order, made at the scene's time (see `create_order_at_app_time`).
async fn paid_order_at_scene_time(s: &Scene, number: &str, notify_url: &str) -> TradeNo {
    s.t.fund_wallet("alice", "1000.00").await;
    let code = s.t.pay_code("alice").await;
    let order =
        s.t.create_order_at_app_time(serde_json::json!({
            "out_trade_no": number, "total_amount": "10.00", "subject": "green tea",
            "pay_type": "wallet", "notify_url": notify_url, "auth_code": code.as_str(),
        }))
        .await;
    assert_eq!(order.status, OrderStatus::Success);
    order.trade_no
}

async fn only_notification(s: &Scene, trade_no: &TradeNo) -> NotificationRecord {
    let mut all = s.t.store().notifications_for_trade(trade_no).await.unwrap();
    assert_eq!(all.len(), 1, "one notification per paid order");
    all.remove(0)
}

/// The attempts of the trade's one notification, which must have been delivered in the end.
async fn delivered_attempts(s: &Scene, trade_no: &TradeNo) -> Vec<AttemptRecord> {
    let notification = only_notification(s, trade_no).await;
    assert_eq!(notification.status, NotificationStatus::Delivered);
    s.t.store()
        .notification_attempts(notification.id)
        .await
        .unwrap()
}

async fn a_merchant_failing_three_times_gets_exactly_four_signed_attempts(backend: DbBackend) {
    let s = scene(backend, 2_000).await;
    let merchant = MerchantServer::start().await;
    merchant.script([
        Answer::Status(500),
        Answer::Status(500),
        Answer::Status(500),
    ]);
    let trade_no = paid_order(&s, "N1", &merchant.url).await;

    // Due at once, then 2 m, 10 m and 30 m after each failure; nothing in between.
    for wait_min in [0, 2, 10, 30] {
        s.clock.advance_ms(wait_min * MINUTE_MS - 1_000);
        if wait_min > 0 {
            s.notifier.try_step().await.unwrap();
        }
        s.clock.advance_ms(1_000);
        s.notifier.try_step().await.unwrap();
    }
    let received = merchant.received();
    assert_eq!(received.len(), 4);
    let verify = VerifyKey::Md5(s.t.merchant.secret.clone());
    for body in &received {
        assert_eq!(verify.verify(body), Ok(()), "every notification is signed");
        assert_eq!(body["trade_no"], trade_no.as_str());
        assert_eq!(body["trade_status"], "SUCCESS");
        assert_eq!(body["notify_type"], "TRADE_SUCCESS");
    }
    let attempts = delivered_attempts(&s, &trade_no).await;
    let outcomes: Vec<_> = attempts.iter().map(|a| a.outcome.as_str()).collect();
    assert_eq!(outcomes, ["http 500", "http 500", "http 500", "delivered"]);
    assert_eq!(
        attempts.iter().map(|a| a.http_status).collect::<Vec<_>>(),
        [Some(500), Some(500), Some(500), Some(200)]
    );

    s.clock.advance_ms(24 * 60 * MINUTE_MS);
    s.notifier.try_step().await.unwrap();
    assert_eq!(
        merchant.received().len(),
        4,
        "a delivered notification is not sent again"
    );
    s.t.stop().await;
}
both_databases!(a_merchant_failing_three_times_gets_exactly_four_signed_attempts);

async fn answers_other_than_success_are_retried(backend: DbBackend) {
    let s = scene(backend, 300).await;
    let merchant = MerchantServer::start().await;
    merchant.script([
        Answer::Body("ok"),
        Answer::Status(500),
        Answer::Redirect,
        Answer::Slow(Duration::from_millis(1_500)),
    ]);
    let trade_no = paid_order(&s, "N2", &merchant.url).await;
    for wait_min in [0, 2, 10, 30, 60] {
        s.clock.advance_ms(wait_min * MINUTE_MS);
        s.notifier.try_step().await.unwrap();
    }
    let attempts = delivered_attempts(&s, &trade_no).await;
    let outcomes: Vec<_> = attempts.iter().map(|a| a.outcome.as_str()).collect();
    assert_eq!(
        outcomes,
        [
            "body was not success",
            "http 500",
            "redirect 302",
            "timeout",
            "delivered"
        ]
    );
    assert_eq!(attempts[0].response_excerpt.as_deref(), Some("ok"));
    s.t.stop().await;
}
both_databases!(answers_other_than_success_are_retried);

async fn the_eighth_failure_gives_up_and_records_why(backend: DbBackend) {
    let s = scene(backend, 2_000).await;
    let merchant = MerchantServer::start().await;
    merchant.answer_always(Answer::Status(503));
    let trade_no = paid_order(&s, "N3", &merchant.url).await;
    for wait_min in [0, 2, 10, 30, 60, 120, 360, 720] {
        s.clock.advance_ms(wait_min * MINUTE_MS);
        s.notifier.try_step().await.unwrap();
    }
    let notification = only_notification(&s, &trade_no).await;
    assert_eq!(notification.status, NotificationStatus::GaveUp);
    assert_eq!(notification.attempts, 8);
    assert_eq!(notification.last_error.as_deref(), Some("http 503"));
    s.clock.advance_ms(24 * 60 * MINUTE_MS);
    s.notifier.try_step().await.unwrap();
    assert_eq!(merchant.received().len(), 8, "nothing after giving up");

    // The operator's re-send makes one more attempt.
    merchant.answer_always(Answer::Success);
    assert!(s
        .t
        .store()
        .resend_notification(notification.id, s.clock.now_ms())
        .await
        .unwrap());
    s.notifier.try_step().await.unwrap();
    let notification = only_notification(&s, &trade_no).await;
    assert_eq!(notification.status, NotificationStatus::Delivered);
    assert_eq!(notification.attempts, 9);
    s.t.stop().await;
}
both_databases!(the_eighth_failure_gives_up_and_records_why);

async fn a_dead_merchant_for_a_whole_day_loses_nothing_and_delays_no_one(backend: DbBackend) {
    let s = scene(backend, 2_000).await;
    let dead = MerchantServer::start().await;
    dead.answer_always(Answer::Status(502));
    let alive = MerchantServer::start().await;
    let dead_orders = 30;
    let mut dead_trades = Vec::new();
    for i in 0..dead_orders {
        dead_trades.push(paid_order(&s, &format!("D{i}"), &dead.url).await);
    }
    let mut alive_trades = Vec::new();
    // Over the simulated day, the healthy merchant's orders keep arriving and must be notified
    // on their first step however much the dead one has piled up.
    for minute in (0..25 * 60).step_by(2) {
        if minute % 60 == 0 {
            let number = format!("A{}", minute / 60);
            let trade = paid_order_at_scene_time(&s, &number, &alive.url).await;
            s.notifier.try_step().await.unwrap();
            let n = only_notification(&s, &trade).await;
            assert_eq!(n.status, NotificationStatus::Delivered, "{number}: on time");
            alive_trades.push(trade);
        }
        s.clock.advance_ms(2 * MINUTE_MS);
        s.notifier.try_step().await.unwrap();
        // The backlog lives in the database; the worker holds nothing between steps.
        assert_eq!(s.notifier.in_flight(), 0);
    }
    for trade in &dead_trades {
        let n = only_notification(&s, trade).await;
        assert_eq!(
            n.status,
            NotificationStatus::GaveUp,
            "kept, retried, then given up"
        );
        assert_eq!(n.attempts, 8);
    }
    assert_eq!(alive.received().len(), alive_trades.len());
    assert_eq!(dead.received().len(), dead_orders * 8);
    assert_eq!(
        s.t.store().count_rows("notifications").await.unwrap() as usize,
        dead_orders + 25
    );
    s.t.stop().await;
}
both_databases!(a_dead_merchant_for_a_whole_day_loses_nothing_and_delays_no_one);
