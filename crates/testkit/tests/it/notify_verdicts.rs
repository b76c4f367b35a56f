//! What counts as delivered, and when a failure is tried again (issue #6, missing tests): only
//! HTTP 200 with the body `success` or `SUCCESS` (trimmed) is delivered; every other answer is a
//! failed attempt retried at the schedule's next offset, and seed 003's offsets hold exactly.

use paygate_app::notify::{Notifier, NotifierSettings};
use paygate_app::ManualClock;
use paygate_domain::schedule::NotificationStatus;
use paygate_store::{AttemptRecord, NotificationRecord};
use paygate_testkit::{
    both_databases, spawn_app_with, Answer, DbBackend, MerchantServer, TestApp, TestOptions,
};
use serde_json::json;
use std::sync::Arc;

const MINUTE_MS: i64 = 60_000;

/// Seed 003: the retry delays after the 1st..7th failure, each counted from that failure.
const DELAYS_MIN: [i64; 7] = [2, 10, 30, 60, 120, 360, 720];
/// The same as offsets from the notification's creation when every attempt fails on time.
const OFFSETS_FROM_CREATION_MIN: [i64; 7] = [2, 12, 42, 102, 222, 582, 1302];

struct Scene {
    t: TestApp,
    clock: Arc<ManualClock>,
    notifier: Notifier,
}

async fn scene(backend: DbBackend) -> Scene {
    let (options, clock) = TestOptions::with_manual_clock();
    let t = spawn_app_with(backend, options).await;
    let settings = NotifierSettings {
        http_timeout_ms: 2_000,
        ..NotifierSettings::default()
    };
    let notifier = Notifier::new(t.app.clone(), settings).unwrap();
    Scene { t, clock, notifier }
}

/// A paid order notifying `notify_url` (the tests' merchant may notify loopback).
async fn paid_notification(s: &Scene, number: &str, notify_url: &str) -> NotificationRecord {
    let order =
        s.t.create_order_at_app_time(json!({
            "out_trade_no": number, "total_amount": "10.00", "subject": "green tea",
            "pay_type": "wallet", "notify_url": notify_url,
        }))
        .await;
    crate::support::pay_and_take_notification(&s.t, order).await
}

async fn reload(s: &Scene, id: i64) -> (NotificationRecord, Vec<AttemptRecord>) {
    crate::support::notification_with_attempts(&s.t, id).await
}

fn reply(status: u16, body: impl Into<String>) -> Answer {
    Answer::Reply {
        status,
        body: body.into(),
    }
}

async fn only_200_with_success_is_delivered_and_every_other_answer_is_retried(backend: DbBackend) {
    let s = scene(backend).await;
    let merchant = MerchantServer::start().await;
    // Where the redirect points: it would say `success`, so following it would deliver.
    let elsewhere = MerchantServer::start().await;
    let megabyte_after_success = format!("success{}", " ".repeat(1 << 20));
    let failures = [
        (reply(200, "fail"), Some(200), "body was not success"),
        (reply(500, "success"), Some(500), "http 500"),
        (reply(204, ""), Some(204), "http 204"),
        (
            Answer::RedirectTo(elsewhere.url.clone()),
            Some(302),
            "redirect 302",
        ),
        (
            reply(200, megabyte_after_success),
            Some(200),
            "body longer than 4096 bytes",
        ),
    ];
    merchant.script(failures.iter().map(|(answer, _, _)| answer.clone()));
    merchant.script([reply(200, " success\n")]);
    let n = paid_notification(&s, "V1", &merchant.url).await;

    s.notifier.try_step().await.unwrap();
    for (k, (_, http_status, outcome)) in failures.iter().enumerate() {
        let (notification, attempts) = reload(&s, n.id).await;
        assert_eq!(attempts.len(), k + 1);
        let last = &attempts[k];
        assert_eq!(
            (last.http_status, last.outcome.as_str()),
            (*http_status, *outcome)
        );
        assert_eq!(notification.status, NotificationStatus::Pending);
        assert_eq!(
            notification.next_attempt_at - last.at,
            DELAYS_MIN[k] * MINUTE_MS,
            "after {outcome}: retried at the schedule's next offset"
        );
        s.clock.advance_ms(DELAYS_MIN[k] * MINUTE_MS);
        s.notifier.try_step().await.unwrap();
    }
    let (notification, attempts) = reload(&s, n.id).await;
    assert_eq!(notification.status, NotificationStatus::Delivered);
    assert_eq!(attempts.len(), 6);
    assert_eq!(attempts[5].outcome, "delivered", "the body is trimmed");
    assert_eq!(
        attempts[4].response_excerpt.as_deref().map(str::len),
        Some(256)
    );
    assert_eq!(merchant.received().len(), 6);
    assert!(
        elsewhere.received().is_empty(),
        "a redirect is never followed"
    );

    merchant.script([reply(200, "SUCCESS")]);
    let upper = paid_notification(&s, "V2", &merchant.url).await;
    s.notifier.try_step().await.unwrap();
    let (notification, attempts) = reload(&s, upper.id).await;
    assert_eq!(notification.status, NotificationStatus::Delivered);
    assert_eq!(attempts.len(), 1);
    s.t.stop().await;
}
both_databases!(only_200_with_success_is_delivered_and_every_other_answer_is_retried);

async fn retries_fall_exactly_at_seed_003s_offsets_then_give_up(backend: DbBackend) {
    let s = scene(backend).await;
    let merchant = MerchantServer::start().await;
    merchant.answer_always(Answer::Status(503));
    let n = paid_notification(&s, "OFFSETS1", &merchant.url).await;
    assert_eq!(
        n.next_attempt_at, n.created_at,
        "the first attempt is at once"
    );

    s.notifier.try_step().await.unwrap();
    for k in 0..DELAYS_MIN.len() {
        let (notification, attempts) = reload(&s, n.id).await;
        assert_eq!(attempts.len(), k + 1);
        assert_eq!(notification.status, NotificationStatus::Pending);
        assert_eq!(
            notification.next_attempt_at - notification.created_at,
            OFFSETS_FROM_CREATION_MIN[k] * MINUTE_MS,
            "retry {} from creation",
            k + 1
        );
        assert_eq!(
            notification.next_attempt_at - attempts[k].at,
            DELAYS_MIN[k] * MINUTE_MS,
            "retry {} after its failure",
            k + 1
        );
        // A millisecond early, nothing is sent; at the offset, the retry is.
        s.clock.set_ms(notification.next_attempt_at - 1);
        s.notifier.try_step().await.unwrap();
        assert_eq!(merchant.received().len(), k + 1, "not before its time");
        s.clock.set_ms(notification.next_attempt_at);
        s.notifier.try_step().await.unwrap();
    }
    let (notification, attempts) = reload(&s, n.id).await;
    assert_eq!(notification.status, NotificationStatus::GaveUp);
    assert_eq!(attempts.len(), 8);
    assert_eq!(attempts[7].at - n.created_at, 1302 * MINUTE_MS);
    assert_eq!(notification.last_error.as_deref(), Some("http 503"));
    s.t.stop().await;
}
both_databases!(retries_fall_exactly_at_seed_003s_offsets_then_give_up);
