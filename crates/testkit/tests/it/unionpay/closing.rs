//! Ending UnionPay trades that were not simply paid (acceptance 1): UnionPay has no close, so a
//! closed order's trade lapses there and a payment that still comes is flagged; a pay-code
//! charge the payer paid meanwhile is voided (消费撤销); a payer confirming on their phone is
//! polled until paid, or closed after the channel's 30 s wait.

use super::{scene, unionpay_order, Scene, PAY_CODE, SECOND_MS};
use crate::support::NOTIFY_URL;
use paygate_app::payments::PAID_AFTER_CLOSE;
use paygate_channels::TradeState;
use paygate_client::{CloseOrder, OrderRef};
use paygate_domain::{OrderStatus, PayData, PayType, TradeNo};
use paygate_testkit::{both_databases, DbBackend, MerchantServer};
use serde_json::json;

/// A pay-code charge whose payer must confirm on their phone: the order answers USERPAYING
/// and UnionPay's trade waits.
async fn payer_confirming(s: &Scene, number: &str, notify_url: &str) -> TradeNo {
    let arrange = json!({"auth_code": PAY_CODE, "action": "userpaying"});
    assert_eq!(s.sandbox_payer_raw(arrange).await, 200);
    let create = unionpay_order(PayType::UnionpayMicropay, number, "10.00", notify_url);
    let created = s.t.client.create_order(&create).await.expect("create");
    assert_eq!(created.trade_status, OrderStatus::UserPaying);
    let at_unionpay = s.unionpay_trade(&created.trade_no).await;
    assert_eq!(at_unionpay, TradeState::WaitingPayment);
    created.trade_no
}

async fn close(s: &Scene, trade_no: &TradeNo) {
    let close = CloseOrder::from(OrderRef::TradeNo(trade_no.clone()));
    s.t.client.close_order(&close).await.expect("close");
}

async fn a_closed_web_order_paid_afterwards_stays_closed_and_is_flagged(backend: DbBackend) {
    let s = scene(backend).await;
    let create = unionpay_order(PayType::UnionpayWeb, "UPC-WEB", "10.00", NOTIFY_URL);
    let created = s.t.client.create_order(&create).await.expect("create");
    let trade_no = created.trade_no;
    let Some(PayData::Form { action, fields }) = created.pay_data else {
        panic!("a web order answers a form");
    };

    close(&s, &trade_no).await;
    assert_eq!(s.order_status(&trade_no).await, OrderStatus::Closed);
    // The payer's browser was already on its way; UnionPay cannot be told to refuse it.
    s.browser_pays(&action, &fields).await;
    s.wait_until("the payment after close to be flagged", || async {
        let open = s.t.store().open_anomalies(10).await.expect("anomalies");
        open.iter()
            .any(|a| a.trade_no == trade_no && a.kind == PAID_AFTER_CLOSE)
    })
    .await;

    let order = s.query(&trade_no).await;
    assert_eq!(order.trade_status, OrderStatus::Closed);
    assert!(s.notification_kinds(&trade_no).await.is_empty());
    s.t.stop().await;
}
both_databases!(a_closed_web_order_paid_afterwards_stays_closed_and_is_flagged);

async fn closing_a_pay_code_charge_paid_meanwhile_voids_it_at_unionpay(backend: DbBackend) {
    let s = scene(backend).await;
    let trade_no = payer_confirming(&s, "UPC-VOID", NOTIFY_URL).await;
    // The payer confirms, but the notification is held back: we still see USERPAYING.
    s.fault(json!({"fault": "no_callback", "out_trade_no": trade_no.as_str()}))
        .await;
    assert_eq!(s.payer(&trade_no, "pay").await.0, 200);
    assert!(matches!(
        s.unionpay_trade(&trade_no).await,
        TradeState::Paid { .. }
    ));

    close(&s, &trade_no).await;
    assert_eq!(s.order_status(&trade_no).await, OrderStatus::Closed);
    // The void gave the payer everything back: the consume is no longer a payment.
    assert_eq!(s.unionpay_trade(&trade_no).await, TradeState::Closed);
    let (status, refused) = s.payer(&trade_no, "pay").await;
    assert_eq!(status, 200, "{refused}");
    assert_eq!(
        refused["orig_resp_code"], "01",
        "a voided consume stays voided"
    );
    assert!(s.notification_kinds(&trade_no).await.is_empty());
    s.t.stop().await;
}
both_databases!(closing_a_pay_code_charge_paid_meanwhile_voids_it_at_unionpay);

async fn a_payer_confirming_then_paying_is_settled_by_the_poll(backend: DbBackend) {
    let s = scene(backend).await;
    let trade_no = payer_confirming(&s, "UPC-CONFIRMS", NOTIFY_URL).await;
    s.step_jobs_after(5 * SECOND_MS).await;
    assert_eq!(s.order_status(&trade_no).await, OrderStatus::UserPaying);

    s.fault(json!({"fault": "no_callback", "out_trade_no": trade_no.as_str()}))
        .await;
    assert_eq!(s.payer(&trade_no, "pay").await.0, 200);
    s.step_jobs_after(10 * SECOND_MS).await;
    let order = s.query(&trade_no).await;
    assert_eq!(order.trade_status, OrderStatus::Success);
    let query_id = s.query_id(&trade_no).await;
    assert_eq!(order.channel_trade_no.as_deref(), Some(query_id.as_str()));
    assert_eq!(s.notification_kinds(&trade_no).await, ["TRADE_SUCCESS"]);
    s.t.stop().await;
}
both_databases!(a_payer_confirming_then_paying_is_settled_by_the_poll);

async fn a_payer_who_never_confirms_is_closed_after_thirty_seconds(backend: DbBackend) {
    let s = scene(backend).await;
    let merchant = MerchantServer::start().await;
    let trade_no = payer_confirming(&s, "UPC-NEVER", &merchant.url).await;
    // Queried at 5 s, 15 s: still confirming, so the charge stands.
    for wait_secs in [5, 10] {
        s.step_jobs_after(wait_secs * SECOND_MS).await;
        assert_eq!(s.order_status(&trade_no).await, OrderStatus::UserPaying);
    }
    // The next query, at 35 s, is past the 30 s wait: nothing was paid, so nothing to void.
    s.step_jobs_after(20 * SECOND_MS).await;

    assert_eq!(s.order_status(&trade_no).await, OrderStatus::Closed);
    assert_eq!(s.notification_kinds(&trade_no).await, ["TRADE_CLOSED"]);
    s.notifier().try_step().await.expect("notifier step");
    let received = merchant.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["trade_status"], "CLOSED");
    assert_eq!(received[0]["notify_type"], "TRADE_CLOSED");
    s.t.stop().await;
}
both_databases!(a_payer_who_never_confirms_is_closed_after_thirty_seconds);
