//! No server-side request forgery through a merchant's URLs (issue #6, item 2; DESIGN §11): a
//! `notify_url` or `return_url` naming a loopback, private or link-local address is refused at
//! create (1001 naming the field), a host name is checked on the addresses it resolves to at
//! delivery, and only a merchant created with `--allow-private-notify` or the operator's
//! `PAYGATE_NOTIFY_ALLOW_PRIVATE` lets them through.

use crate::support::{assert_param_error, count_rows, create_fields};
use paygate_app::notify::{Notifier, NotifierSettings};
use paygate_app::{AppSettings, Clock, ManualClock};
use paygate_client::{paths, Client};
use paygate_domain::address::PrivateTargets;
use paygate_domain::schedule::NotificationStatus;
use paygate_domain::sign::SignType;
use paygate_domain::MerchantId;
use paygate_store::{AttemptRecord, NotificationRecord};
use paygate_testkit::{
    both_databases, client_for, create_merchant_with, spawn_app_with, DbBackend, MerchantServer,
    TestApp, TestOptions,
};
use serde_json::{json, Value};
use std::sync::Arc;

const MINUTE_MS: i64 = 60_000;

/// Literal addresses in forbidden ranges, in the spellings an attacker would try.
const PRIVATE_URLS: [&str; 7] = [
    "http://127.0.0.1/x",
    "http://10.0.0.1/",
    "http://169.254.169.254/latest",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://0x7f.1/",
    "http://2130706433/",
];

struct Scene {
    t: TestApp,
    clock: Arc<ManualClock>,
    notifier: Notifier,
    /// A merchant created without `--allow-private-notify`, and its signed client.
    strict: MerchantId,
    strict_client: Client,
}

async fn scene(backend: DbBackend, notify_allow_private: bool) -> Scene {
    let (options, clock) = TestOptions::with_manual_clock();
    let options = TestOptions {
        settings: AppSettings {
            notify_allow_private,
            ..AppSettings::default()
        },
        ..options
    };
    let t = spawn_app_with(backend, options).await;
    let strict = create_merchant_with(&t.app, SignType::Md5, PrivateTargets::Refused).await;
    let strict_client = client_for(&t.base_url, &strict);
    let settings = NotifierSettings {
        http_timeout_ms: 2_000,
        ..NotifierSettings::default()
    };
    let notifier = Notifier::new(t.app.clone(), settings).unwrap();
    Scene {
        t,
        clock,
        notifier,
        strict: strict.id,
        strict_client,
    }
}

/// A paid order of `merchant` notifying `notify_url`; returns its one notification.
async fn paid_notification(
    s: &Scene,
    merchant: &MerchantId,
    number: &str,
    notify_url: &str,
) -> NotificationRecord {
    let fields = json!({
        "out_trade_no": number, "total_amount": "10.00", "subject": "green tea",
        "pay_type": "wallet", "notify_url": notify_url,
    });
    let order = s.t.create_order_for(merchant, fields).await.unwrap();
    crate::support::pay_and_take_notification(&s.t, order).await
}

async fn reload(s: &Scene, id: i64) -> (NotificationRecord, Vec<AttemptRecord>) {
    crate::support::notification_with_attempts(&s.t, id).await
}

/// The merchant server's URL by host name: `localhost` resolves to loopback.
fn by_name(server: &MerchantServer) -> String {
    server.url.replace("127.0.0.1", "localhost")
}

async fn a_literal_private_notify_or_return_url_is_refused_at_create(backend: DbBackend) {
    let s = scene(backend, false).await;
    for (i, url) in PRIVATE_URLS.iter().enumerate() {
        for field in ["notify_url", "return_url"] {
            let mut fields = create_fields(&format!("SSRF{i}{}", &field[..1]), "10.00");
            fields.insert(field.into(), Value::from(*url));
            let answer = s
                .strict_client
                .call_raw(paths::CREATE, fields)
                .await
                .unwrap();
            assert_eq!(assert_param_error(&answer), field, "{url}");
        }
    }
    assert_eq!(
        count_rows(&s.t, "orders").await,
        0,
        "a refusal writes nothing"
    );

    // The tests' own merchant was created with --allow-private-notify.
    for (i, url) in PRIVATE_URLS.iter().enumerate() {
        let mut fields = create_fields(&format!("ALLOWED{i}"), "10.00");
        fields.insert("notify_url".into(), Value::from(*url));
        fields.insert("return_url".into(), Value::from(*url));
        let (status, body) = s.t.client.call_raw(paths::CREATE, fields).await.unwrap();
        assert_eq!(
            (status, &body["code"]),
            (200, &json!("SUCCESS")),
            "{body:?}"
        );
    }
    assert_eq!(count_rows(&s.t, "orders").await, PRIVATE_URLS.len() as i64);
    s.t.stop().await;
}
both_databases!(a_literal_private_notify_or_return_url_is_refused_at_create);

async fn a_host_name_resolving_to_loopback_is_refused_at_delivery_and_retried(backend: DbBackend) {
    let s = scene(backend, false).await;
    let server = MerchantServer::start().await;
    let n = paid_notification(&s, &s.strict, "RB1", &by_name(&server)).await;

    for (attempt, wait_min) in [(1, 0), (2, 2)] {
        s.clock.advance_ms(wait_min * MINUTE_MS);
        s.notifier.try_step().await.unwrap();
        let (notification, attempts) = reload(&s, n.id).await;
        assert_eq!(attempts.len(), attempt);
        let last = attempts.last().unwrap();
        assert!(
            last.outcome.starts_with("forbidden address: ")
                && last.outcome.ends_with(" is a loopback address"),
            "{}",
            last.outcome
        );
        assert_eq!(
            (last.http_status, last.response_excerpt.clone()),
            (None, None)
        );
        assert_eq!(notification.status, NotificationStatus::Pending);
        let delay_min = [2, 10][attempt - 1];
        assert_eq!(
            notification.next_attempt_at - s.clock.now_ms(),
            delay_min * MINUTE_MS,
            "a refusal is a failed attempt on the schedule"
        );
    }
    assert!(server.received().is_empty(), "nothing reached loopback");
    s.t.stop().await;
}
both_databases!(a_host_name_resolving_to_loopback_is_refused_at_delivery_and_retried);

async fn a_literal_private_url_already_stored_is_refused_at_delivery(backend: DbBackend) {
    let s = scene(backend, false).await;
    let server = MerchantServer::start().await;
    let n = paid_notification(&s, &s.strict, "RB2", &by_name(&server)).await;
    // A row from before the create-time check: its URL names the address itself.
    let mapped = server.url.replace("127.0.0.1", "[::ffff:127.0.0.1]");
    sqlx::query("UPDATE notifications SET notify_url = $1 WHERE id = $2")
        .bind(&mapped)
        .bind(n.id)
        .execute(s.t.store().pool())
        .await
        .unwrap();
    s.notifier.try_step().await.unwrap();
    let (notification, attempts) = reload(&s, n.id).await;
    assert_eq!(
        attempts
            .iter()
            .map(|a| a.outcome.as_str())
            .collect::<Vec<_>>(),
        ["forbidden address: ::ffff:127.0.0.1 is a loopback address"]
    );
    assert_eq!(notification.status, NotificationStatus::Pending);
    assert!(server.received().is_empty());
    s.t.stop().await;
}
both_databases!(a_literal_private_url_already_stored_is_refused_at_delivery);

async fn a_merchant_allowed_private_targets_is_delivered_on_loopback(backend: DbBackend) {
    let s = scene(backend, false).await;
    let server = MerchantServer::start().await;
    let own = s.t.merchant.id.clone();
    let by_name = paid_notification(&s, &own, "OK1", &by_name(&server)).await;
    let literal = paid_notification(&s, &own, "OK2", &server.url).await;
    s.notifier.try_step().await.unwrap();
    for n in [by_name, literal] {
        let (notification, attempts) = reload(&s, n.id).await;
        assert_eq!(notification.status, NotificationStatus::Delivered);
        assert_eq!(attempts.len(), 1);
    }
    assert_eq!(server.received().len(), 2);
    s.t.stop().await;
}
both_databases!(a_merchant_allowed_private_targets_is_delivered_on_loopback);

async fn the_operator_switch_allows_private_targets_for_every_merchant(backend: DbBackend) {
    let s = scene(backend, true).await;
    let server = MerchantServer::start().await;
    let mut fields = create_fields("OP1", "10.00");
    fields.insert(
        "notify_url".into(),
        Value::from("http://169.254.169.254/latest"),
    );
    let (status, body) = s
        .strict_client
        .call_raw(paths::CREATE, fields)
        .await
        .unwrap();
    assert_eq!(
        (status, &body["code"]),
        (200, &json!("SUCCESS")),
        "{body:?}"
    );

    let n = paid_notification(&s, &s.strict, "OP2", &by_name(&server)).await;
    s.notifier.try_step().await.unwrap();
    let (notification, _) = reload(&s, n.id).await;
    assert_eq!(notification.status, NotificationStatus::Delivered);
    assert_eq!(server.received().len(), 1);
    s.t.stop().await;
}
both_databases!(the_operator_switch_allows_private_targets_for_every_merchant);
