//! Micropay's payer still confirming (acceptance 6): polled until paid, or, after WeChat Pay's
//! 30 s, reversed at WeChat Pay and closed here, and the merchant told.

use super::{scene, wechat_order, Scene, AUTH_CODE, SECOND_MS};
use crate::support::NOTIFY_URL;
use paygate_domain::{OrderStatus, PayType, TradeNo};
use paygate_testkit::{both_databases, DbBackend, MerchantServer};
use serde_json::json;

/// A micropay whose payer must confirm on their phone: the order answers USER_PAYING.
async fn payer_confirming(s: &Scene, number: &str, notify_url: &str) -> TradeNo {
    let arrange = json!({"auth_code": AUTH_CODE, "action": "userpaying"});
    assert_eq!(s.sandbox_payer_raw(arrange).await, 200);
    let create = wechat_order(PayType::WechatMicropay, number, "10.00", notify_url);
    let created = s.t.client.create_order(&create).await.expect("create");
    assert_eq!(created.trade_status, OrderStatus::UserPaying);
    let (_, at_wechat) = s.wechat_trade(&created.trade_no).await;
    assert_eq!(at_wechat["trade_state"], "USERPAYING");
    created.trade_no
}

async fn a_payer_confirming_then_paying_is_settled_by_the_poll(backend: DbBackend) {
    let s = scene(backend).await;
    let trade_no = payer_confirming(&s, "MP-CONFIRMS", NOTIFY_URL).await;
    s.step_jobs_after(5 * SECOND_MS).await;
    assert_eq!(s.order_status(&trade_no).await, OrderStatus::UserPaying);

    assert_eq!(s.payer(&trade_no, "pay").await.0, 200);
    s.step_jobs_after(10 * SECOND_MS).await;
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
both_databases!(a_payer_confirming_then_paying_is_settled_by_the_poll);

async fn a_payer_who_never_confirms_is_reversed_after_thirty_seconds(backend: DbBackend) {
    let s = scene(backend).await;
    let merchant = MerchantServer::start().await;
    let trade_no = payer_confirming(&s, "MP-NEVER", &merchant.url).await;
    // Queried at 5 s, 15 s: still confirming, so the charge stands.
    for wait_secs in [5, 10] {
        s.step_jobs_after(wait_secs * SECOND_MS).await;
        assert_eq!(s.order_status(&trade_no).await, OrderStatus::UserPaying);
    }
    // The next query, at 35 s, is past the 30 s wait: reverse at WeChat Pay, then close here.
    s.step_jobs_after(20 * SECOND_MS).await;

    assert_eq!(s.order_status(&trade_no).await, OrderStatus::Closed);
    let (_, at_wechat) = s.wechat_trade(&trade_no).await;
    assert_eq!(at_wechat["trade_state"], "REVOKED");
    assert_eq!(s.notification_kinds(&trade_no).await, ["TRADE_CLOSED"]);
    s.notifier().try_step().await.expect("notifier step");
    let received = merchant.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["trade_status"], "CLOSED");
    assert_eq!(received[0]["notify_type"], "TRADE_CLOSED");
    let (status, _) = s.payer(&trade_no, "pay").await;
    assert_eq!(status, 409, "a reversed charge can no longer be paid");
    s.t.stop().await;
}
both_databases!(a_payer_who_never_confirms_is_reversed_after_thirty_seconds);
