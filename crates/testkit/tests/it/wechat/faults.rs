//! What WeChat Pay (or someone posing as it) throws at us (acceptance 4): a create whose answer
//! never comes, and callbacks that are forged, replayed, for the wrong amount, or repeated. Each
//! leaves the order correct; each refusal is answered in WeChat Pay's format and counted.

use super::{scene, wechat_order, Scene, MINUTE_MS, SECOND_MS};
use crate::support::{assert_api_error, audited_steps, steps, NOTIFY_URL};
use paygate_channels::wechat::v3_auth::seal_resource;
use paygate_channels::wechat::v3_wire::{Notification, SealedResource};
use paygate_client::{OrderRef, QueryOrder};
use paygate_domain::{OrderStatus, PayType, TradeNo};
use paygate_testkit::{both_databases, DbBackend};
use serde_json::{json, Value};
use tokio::sync::Mutex;

/// A native order the payer has paid at WeChat Pay, whose callback the sandbox keeps back so
/// that the test can play it; and WeChat Pay's transaction as its query shows it.
async fn paid_without_callback(s: &Scene, number: &str) -> (TradeNo, Value) {
    let create = wechat_order(PayType::WechatNative, number, "10.00", NOTIFY_URL);
    let trade_no = s.t.client.create_order(&create).await.unwrap().trade_no;
    s.fault(json!({"fault": "no_callback", "out_trade_no": trade_no.as_str()}))
        .await;
    let (status, _) = s.payer(&trade_no, "pay").await;
    assert_eq!(status, 200);
    let (status, transaction) = s.wechat_trade(&trade_no).await;
    assert_eq!(
        (status, &transaction["trade_state"]),
        (200, &json!("SUCCESS"))
    );
    (trade_no, transaction)
}

/// WeChat Pay's TRANSACTION.SUCCESS envelope around `transaction`, sealed with the APIv3 key.
fn payment_notification(s: &Scene, transaction: &Value) -> String {
    let nonce = "r2cY5XzQk8Wd";
    let ciphertext = seal_resource(
        &s.wechat.apiv3_key,
        nonce,
        "transaction",
        &transaction.to_string(),
    )
    .expect("seal the resource");
    let notification = Notification {
        id: uuid::Uuid::new_v4().to_string(),
        create_time: "2026-11-29T10:00:00+08:00".into(),
        event_type: "TRANSACTION.SUCCESS".into(),
        resource_type: "encrypt-resource".into(),
        resource: SealedResource {
            algorithm: "AEAD_AES_256_GCM".into(),
            ciphertext,
            associated_data: "transaction".into(),
            original_type: "transaction".into(),
            nonce: nonce.into(),
        },
        summary: "支付成功".into(),
    };
    serde_json::to_string(&notification).unwrap()
}

/// The metric's recorder is shared by the whole binary: the tests that make WeChat Pay
/// callbacks be refused take this lock, so each can count its own refusals exactly.
static REFUSALS: Mutex<()> = Mutex::const_new(());

/// WeChat Pay's refusal format, `{"code":"FAIL","message":...}`, saying why.
fn assert_refused_because(body: &str, why: &str) {
    let answer: Value = serde_json::from_str(body).expect("a JSON refusal");
    assert_eq!(answer["code"], "FAIL", "{body}");
    let message = answer["message"].as_str().unwrap_or_default();
    assert!(message.starts_with(why), "{message:?} should start {why:?}");
}

async fn a_timed_out_create_leaves_the_order_waiting_and_a_status_poll_settles_it(
    backend: DbBackend,
) {
    let s = scene(backend).await;
    // WeChat Pay opens the trade but its answer comes after our 2 s timeout.
    s.fault(json!({"fault": "timeout", "calls": 1, "delay_ms": 3_000}))
        .await;
    let create = wechat_order(PayType::WechatNative, "F-TIMEOUT", "10.00", NOTIFY_URL);
    assert_api_error(s.t.client.create_order(&create).await, "1006");

    let by = QueryOrder::from(OrderRef::OutTradeNo(create.out_trade_no.clone()));
    let order = s.t.client.query_order(&by).await.expect("the order exists");
    assert_eq!(order.trade_status, OrderStatus::WaitPay);
    let trade_no = order.trade_no;
    // The payer pays; no callback comes, so only the status poll can learn it.
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
    let (_, at_wechat) = s.wechat_trade(&trade_no).await;
    assert_eq!(
        order.channel_trade_no.as_deref(),
        at_wechat["transaction_id"].as_str()
    );
    assert_eq!(s.notification_kinds(&trade_no).await, ["TRADE_SUCCESS"]);
    s.t.stop().await;
}
both_databases!(a_timed_out_create_leaves_the_order_waiting_and_a_status_poll_settles_it);

async fn forged_stale_and_mismatched_callbacks_are_refused_and_change_nothing(backend: DbBackend) {
    let _counting = REFUSALS.lock().await;
    let s = scene(backend).await;
    let (trade_no, transaction) = paid_without_callback(&s, "F-CALLBACKS").await;
    let genuine = payment_notification(&s, &transaction);
    let refused_before = s.callbacks_counted("refused").await;

    // Forged: the body changed after WeChat Pay signed it.
    let headers = s.signed_callback(&genuine);
    let forged = genuine.replace("TRANSACTION.SUCCESS", "TRANSACTION.SUCCESS ");
    let (status, body) = s.post_callback("pay", &headers, &forged).await;
    assert_eq!(status, 401);
    assert_refused_because(&body, "signature invalid");
    assert_eq!(s.order_status(&trade_no).await, OrderStatus::WaitPay);

    // Validly signed and sealed, but one fen more than the order.
    let mut more = transaction.clone();
    more["amount"]["total"] = json!(10_01);
    more["amount"]["payer_total"] = json!(10_01);
    let wrong_amount = payment_notification(&s, &more);
    let headers = s.signed_callback(&wrong_amount);
    let (status, body) = s.post_callback("pay", &headers, &wrong_amount).await;
    assert_eq!(status, 400);
    assert_refused_because(&body, "callback does not match our order");
    assert!(
        body.contains("is for CNY 10.00, the callback says CNY 10.01"),
        "{body}"
    );
    assert_eq!(s.order_status(&trade_no).await, OrderStatus::WaitPay);

    // The genuine one is taken.
    let headers = s.signed_callback(&genuine);
    let (status, body) = s.post_callback("pay", &headers, &genuine).await;
    assert_eq!((status, body.as_str()), (204, ""));
    assert_eq!(s.order_status(&trade_no).await, OrderStatus::Success);

    // Replayed six minutes later, byte for byte: stale.
    s.clock.advance_ms(6 * MINUTE_MS);
    let (status, body) = s.post_callback("pay", &headers, &genuine).await;
    assert_eq!(status, 401);
    assert_refused_because(&body, "callback timestamp outside the accepted window");

    assert_eq!(s.stored_status(&trade_no).await, OrderStatus::Success);
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
both_databases!(forged_stale_and_mismatched_callbacks_are_refused_and_change_nothing);

async fn a_callback_delivered_twice_pays_once_and_notifies_once(backend: DbBackend) {
    let s = scene(backend).await;
    let create = wechat_order(PayType::WechatNative, "F-TWICE", "10.00", NOTIFY_URL);
    let trade_no = s.t.client.create_order(&create).await.unwrap().trade_no;
    let accepted_before = s.callbacks_counted("accepted").await;
    s.fault(json!({"fault": "duplicate_callback", "out_trade_no": trade_no.as_str()}))
        .await;
    assert_eq!(s.payer(&trade_no, "pay").await.0, 200);
    s.wait_for_status(&trade_no, OrderStatus::Success).await;
    // Both deliveries are taken (acknowledged), the second changing nothing.
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
both_databases!(a_callback_delivered_twice_pays_once_and_notifies_once);

async fn a_forged_callback_sent_first_is_refused_and_the_real_one_pays(backend: DbBackend) {
    let _counting = REFUSALS.lock().await;
    let s = scene(backend).await;
    let create = wechat_order(PayType::WechatNative, "F-FORGED", "10.00", NOTIFY_URL);
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
both_databases!(a_forged_callback_sent_first_is_refused_and_the_real_one_pays);
