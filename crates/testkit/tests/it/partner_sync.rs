//! Partner order-status sync (issue #10): each allowed step is recorded once, refusals answer
//! 1004 and write nothing, and an after-sale close closes only an order that was never paid.

use crate::support::{
    alice_paid_ten_yuan, assert_api_error, assert_param_error, count_rows, query_order, refund_of,
    unpaid_order,
};
use paygate_app::Clock;
use paygate_client::{OrderRef, PartnerOrderStatus, PartnerOrderView};
use paygate_domain::{OrderStatus, PartnerStatus, TradeNo};
use paygate_store::PartnerStepRecord;
use paygate_testkit::{both_databases, spawn_app, spawn_app_with, DbBackend, TestApp, TestOptions};
use serde_json::json;

fn report(trade_no: &TradeNo, status: PartnerStatus, at_secs: Option<i64>) -> PartnerOrderStatus {
    PartnerOrderStatus {
        order: OrderRef::TradeNo(trade_no.clone()),
        partner_status: status,
        status_time: at_secs,
    }
}

async fn steps_of(t: &TestApp, trade_no: &TradeNo) -> Vec<PartnerStepRecord> {
    t.store().partner_steps(trade_no).await.expect("list steps")
}

fn step(status: PartnerStatus, at_secs: Option<i64>, recorded_at_ms: i64) -> PartnerStepRecord {
    PartnerStepRecord {
        step: status,
        reported_at_secs: at_secs,
        recorded_at_ms,
    }
}

async fn a_paid_order_is_fulfilled_then_received_each_step_once(backend: DbBackend) {
    let (options, clock) = TestOptions::with_manual_clock();
    let t = spawn_app_with(backend, options).await;
    let (_, trade_no) = alice_paid_ten_yuan(&t, "SHIP-1").await;
    let fulfilled_at_ms = clock.now_ms();

    let fulfilled = t
        .client
        .report_partner_status(&report(
            &trade_no,
            PartnerStatus::Fulfilled,
            Some(1_795_000_000),
        ))
        .await
        .expect("fulfilled");
    clock.advance_ms(5_000);
    let received = t
        .client
        .report_partner_status(&report(&trade_no, PartnerStatus::Received, None))
        .await
        .expect("received");
    clock.advance_ms(5_000);
    let repeated = t
        .client
        .report_partner_status(&report(&trade_no, PartnerStatus::Received, Some(1)))
        .await
        .expect("a repeat is answered");

    let view = |partner_status| PartnerOrderView {
        trade_no: trade_no.clone(),
        out_trade_no: paygate_domain::OutTradeNo::parse("SHIP-1").unwrap(),
        trade_status: OrderStatus::Success,
        partner_status,
    };
    assert_eq!(fulfilled, view(PartnerStatus::Fulfilled));
    assert_eq!(received, view(PartnerStatus::Received));
    assert_eq!(repeated, view(PartnerStatus::Received));
    assert_eq!(
        steps_of(&t, &trade_no).await,
        [
            step(
                PartnerStatus::Fulfilled,
                Some(1_795_000_000),
                fulfilled_at_ms
            ),
            step(PartnerStatus::Received, None, fulfilled_at_ms + 5_000),
        ],
        "the repeat records nothing"
    );
    t.stop().await;
}
both_databases!(a_paid_order_is_fulfilled_then_received_each_step_once);

async fn steps_out_of_order_or_on_an_unpaid_order_are_refused(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let (_, paid) = alice_paid_ten_yuan(&t, "SHIP-2").await;
    let unpaid = t
        .client
        .create_order(&unpaid_order("SHIP-3", "10.00"))
        .await
        .expect("create")
        .trade_no;

    let early = t
        .client
        .report_partner_status(&report(&paid, PartnerStatus::Received, None))
        .await;
    let unpaid_fulfilled = t
        .client
        .report_partner_status(&report(&unpaid, PartnerStatus::Fulfilled, None))
        .await;

    assert_eq!(assert_api_error(early, "1004"), 409);
    assert_eq!(assert_api_error(unpaid_fulfilled, "1004"), 409);
    assert_eq!(count_rows(&t, "partner_order_steps").await, 0);
    assert_eq!(
        t.store().partner_status(&paid).await.unwrap(),
        Some(PartnerStatus::None)
    );
    t.stop().await;
}
both_databases!(steps_out_of_order_or_on_an_unpaid_order_are_refused);

async fn an_after_sale_close_of_a_paid_unrefunded_order_is_refused(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let (_, trade_no) = alice_paid_ten_yuan(&t, "SHIP-4").await;
    let transitions = count_rows(&t, "order_transitions").await;

    let refused = t
        .client
        .report_partner_status(&report(&trade_no, PartnerStatus::AfterSaleClosed, None))
        .await;

    assert_eq!(assert_api_error(refused, "1004"), 409);
    assert_eq!(count_rows(&t, "partner_order_steps").await, 0);
    assert_eq!(count_rows(&t, "order_transitions").await, transitions);
    assert_eq!(
        query_order(&t, &trade_no).await.trade_status,
        OrderStatus::Success
    );
    t.stop().await;
}
both_databases!(an_after_sale_close_of_a_paid_unrefunded_order_is_refused);

async fn an_after_sale_close_of_a_refunded_order_is_recorded_and_keeps_it_refunded(
    backend: DbBackend,
) {
    let t = spawn_app(backend).await;
    let (_, trade_no) = alice_paid_ten_yuan(&t, "SHIP-5").await;
    t.client
        .refund(&refund_of(&trade_no, "RF-5", "10.00"))
        .await
        .expect("full refund");

    let closed = t
        .client
        .report_partner_status(&report(&trade_no, PartnerStatus::AfterSaleClosed, Some(7)))
        .await
        .expect("after-sale close");

    assert_eq!(closed.trade_status, OrderStatus::Refund);
    assert_eq!(closed.partner_status, PartnerStatus::AfterSaleClosed);
    let steps = steps_of(&t, &trade_no).await;
    assert_eq!(
        steps
            .iter()
            .map(|s| (s.step, s.reported_at_secs))
            .collect::<Vec<_>>(),
        [(PartnerStatus::AfterSaleClosed, Some(7))]
    );
    assert_eq!(
        query_order(&t, &trade_no).await.trade_status,
        OrderStatus::Refund
    );
    t.stop().await;
}
both_databases!(an_after_sale_close_of_a_refunded_order_is_recorded_and_keeps_it_refunded);

async fn an_after_sale_close_of_an_unpaid_order_closes_it_silently(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let trade_no = t
        .client
        .create_order(&unpaid_order("SHIP-6", "10.00"))
        .await
        .expect("create")
        .trade_no;
    let notifications = count_rows(&t, "notifications").await;

    let closed = t
        .client
        .report_partner_status(&report(&trade_no, PartnerStatus::AfterSaleClosed, None))
        .await
        .expect("after-sale close");

    assert_eq!(closed.trade_status, OrderStatus::Closed);
    assert_eq!(closed.partner_status, PartnerStatus::AfterSaleClosed);
    assert_eq!(
        query_order(&t, &trade_no).await.trade_status,
        OrderStatus::Closed
    );
    assert_eq!(steps_of(&t, &trade_no).await.len(), 1);
    assert_eq!(
        count_rows(&t, "notifications").await,
        notifications,
        "the merchant is not notified of a close its partner asked for"
    );
    t.stop().await;
}
both_databases!(an_after_sale_close_of_an_unpaid_order_closes_it_silently);

async fn an_unknown_order_or_partner_status_is_refused(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let (_, trade_no) = alice_paid_ten_yuan(&t, "SHIP-7").await;

    let unknown_order = t
        .client
        .report_partner_status(&report(
            &TradeNo::mint(t.app.clock().now_ms()),
            PartnerStatus::Fulfilled,
            None,
        ))
        .await;
    let fields = json!({"trade_no": trade_no.as_str(), "partner_status": "SHIPPED"});
    let unknown_status = t
        .client
        .call_raw(
            "/api/partner/order-status",
            fields.as_object().unwrap().clone(),
        )
        .await
        .expect("an answer");

    assert_eq!(assert_api_error(unknown_order, "1003"), 404);
    assert_eq!(assert_param_error(&unknown_status), "partner_status");
    assert_eq!(count_rows(&t, "partner_order_steps").await, 0);
    t.stop().await;
}
both_databases!(an_unknown_order_or_partner_status_is_refused);
