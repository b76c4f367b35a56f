//! Alipay's pay codes through the merchant API: a face code (scene `face`, Alipay's
//! `security_code`) and an aggregated `auto` micropay both charge at once; a payer still
//! confirming is settled by the poll, or after Alipay's 30 s cancelled there and closed here,
//! or cancelled when the merchant closes the order (acceptance 1's cancel).

use super::{alipay_order, scene, Scene, AUTH_CODE, SECOND_MS};
use crate::support::NOTIFY_URL;
use paygate_api::create::PayScene;
use paygate_client::{CloseOrder, OrderRef};
use paygate_domain::{AuthCode, FaceCode, OrderStatus, PayType, TradeNo};
use paygate_testkit::{both_databases, DbBackend, MerchantServer};
use serde_json::json;

/// A pay-code charge that answered SUCCESS at once: Alipay's trade is paid and is the order's.
async fn assert_charged_at_once(s: &Scene, created: &paygate_client::OrderView) {
    assert_eq!(created.pay_type, Some(PayType::AlipayMicropay));
    assert_eq!(created.trade_status, OrderStatus::Success);
    let at_alipay = s.alipay_trade(&created.trade_no).await;
    assert_eq!(at_alipay["trade_status"], "TRADE_SUCCESS");
    assert_eq!(
        created.channel_trade_no.as_deref(),
        at_alipay["trade_no"].as_str()
    );
    assert_eq!(
        s.notification_kinds(&created.trade_no).await,
        ["TRADE_SUCCESS"]
    );
}

async fn a_face_code_charges_at_once(backend: DbBackend) {
    let s = scene(backend).await;
    let mut create = alipay_order(PayType::AlipayMicropay, "AMP-FACE", "10.00", NOTIFY_URL);
    create.scene = Some(PayScene::Face);
    create.auth_code = Some(AuthCode::Face(FaceCode::parse("fp_0a1B-2c3D").unwrap()));
    let created = s.t.client.create_order(&create).await.expect("create");
    assert_charged_at_once(&s, &created).await;
    s.t.stop().await;
}
both_databases!(a_face_code_charges_at_once);

async fn an_auto_micropay_with_an_alipay_code_charges_at_alipay(backend: DbBackend) {
    let s = scene(backend).await;
    let mut create = alipay_order(PayType::AlipayMicropay, "AMP-AUTO", "10.00", NOTIFY_URL);
    create.pay_type = PayType::Auto;
    create.scene = Some(PayScene::Micropay);
    let created = s.t.client.create_order(&create).await.expect("create");
    assert_charged_at_once(&s, &created).await;
    s.t.stop().await;
}
both_databases!(an_auto_micropay_with_an_alipay_code_charges_at_alipay);

/// A micropay whose payer must confirm on their phone: the order answers USER_PAYING.
async fn payer_confirming(s: &Scene, number: &str, notify_url: &str) -> TradeNo {
    let arrange = json!({"auth_code": AUTH_CODE, "action": "userpaying"});
    assert_eq!(s.payer_raw(arrange).await.0, 200);
    let create = alipay_order(PayType::AlipayMicropay, number, "10.00", notify_url);
    let created = s.t.client.create_order(&create).await.expect("create");
    assert_eq!(created.trade_status, OrderStatus::UserPaying);
    let at_alipay = s.alipay_trade(&created.trade_no).await;
    assert_eq!(at_alipay["trade_status"], "WAIT_BUYER_PAY");
    created.trade_no
}

async fn a_payer_confirming_then_paying_is_settled_by_the_poll(backend: DbBackend) {
    let s = scene(backend).await;
    let trade_no = payer_confirming(&s, "AMP-CONFIRMS", NOTIFY_URL).await;
    s.fault(json!({"fault": "no_callback", "out_trade_no": trade_no.as_str()}))
        .await;
    s.step_jobs_after(5 * SECOND_MS).await;
    assert_eq!(s.order_status(&trade_no).await, OrderStatus::UserPaying);

    assert_eq!(s.payer(&trade_no, "pay").await.0, 200);
    s.step_jobs_after(10 * SECOND_MS).await;
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
both_databases!(a_payer_confirming_then_paying_is_settled_by_the_poll);

async fn a_payer_who_never_confirms_is_cancelled_after_thirty_seconds(backend: DbBackend) {
    let s = scene(backend).await;
    let merchant = MerchantServer::start().await;
    let trade_no = payer_confirming(&s, "AMP-NEVER", &merchant.url).await;
    // Queried at 5 s, 15 s: still confirming, so the charge stands.
    for wait_secs in [5, 10] {
        s.step_jobs_after(wait_secs * SECOND_MS).await;
        assert_eq!(s.order_status(&trade_no).await, OrderStatus::UserPaying);
    }
    // The next query, at 35 s, is past the 30 s wait: cancel at Alipay, then close here.
    s.step_jobs_after(20 * SECOND_MS).await;

    assert_eq!(s.order_status(&trade_no).await, OrderStatus::Closed);
    let at_alipay = s.alipay_trade(&trade_no).await;
    assert_eq!(at_alipay["trade_status"], "TRADE_CLOSED");
    assert_eq!(s.notification_kinds(&trade_no).await, ["TRADE_CLOSED"]);
    s.notifier().try_step().await.expect("notifier step");
    let received = merchant.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["trade_status"], "CLOSED");
    assert_eq!(received[0]["notify_type"], "TRADE_CLOSED");
    let (status, _) = s.payer(&trade_no, "pay").await;
    assert_eq!(status, 409, "a cancelled charge can no longer be paid");
    s.t.stop().await;
}
both_databases!(a_payer_who_never_confirms_is_cancelled_after_thirty_seconds);

async fn closing_a_confirming_micropay_cancels_it_at_alipay(backend: DbBackend) {
    let s = scene(backend).await;
    let trade_no = payer_confirming(&s, "AMP-CLOSE", NOTIFY_URL).await;

    let close = CloseOrder::from(OrderRef::TradeNo(trade_no.clone()));
    s.t.client.close_order(&close).await.expect("close");
    assert_eq!(s.order_status(&trade_no).await, OrderStatus::Closed);
    let at_alipay = s.alipay_trade(&trade_no).await;
    assert_eq!(at_alipay["trade_status"], "TRADE_CLOSED");
    let (status, _) = s.payer(&trade_no, "pay").await;
    assert_eq!(status, 409, "a cancelled charge can no longer be paid");
    // The merchant closed it, so the merchant is not told, even when Alipay's TRADE_CLOSED
    // notification beats the close's answer.
    assert!(s.notification_kinds(&trade_no).await.is_empty());
    s.t.stop().await;
}
both_databases!(closing_a_confirming_micropay_cancels_it_at_alipay);
