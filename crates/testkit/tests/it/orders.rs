//! Order states through the merchant API (issue #2, acceptance 2): each step a merchant can take,
//! what it answers, and the audit trail it leaves.

use crate::support::{
    alice_paid_ten_yuan, assert_api_error, audited_steps, count_rows, query_order, refund_of,
    steps, unpaid_order, wallet_order, yuan,
};
use paygate_client::{CloseOrder, OrderRef};
use paygate_domain::{OrderStatus, TradeNo};
use paygate_testkit::{both_databases, spawn_app, DbBackend};

fn close(trade_no: &TradeNo) -> CloseOrder {
    CloseOrder::from(OrderRef::TradeNo(trade_no.clone()))
}

async fn a_new_order_without_a_payer_waits_for_payment(backend: DbBackend) {
    let t = spawn_app(backend).await;

    let created = t
        .client
        .create_order(&unpaid_order("WAIT-1", "10.00"))
        .await
        .expect("create");

    assert_eq!(created.trade_status, OrderStatus::WaitPay);
    let pay_url = created
        .pay_url
        .as_deref()
        .expect("an unpaid order has a pay_url");
    assert!(pay_url.ends_with(created.trade_no.as_str()), "{pay_url}");
    assert_eq!(created.receipt_amount, None);
    let queried = query_order(&t, &created.trade_no).await;
    assert_eq!(queried.trade_status, OrderStatus::WaitPay);
    assert_eq!(
        audited_steps(&t, &created.trade_no).await,
        steps(&[("CREATED", "WAIT_PAY", "SUBMITTED")])
    );
    t.stop().await;
}
both_databases!(a_new_order_without_a_payer_waits_for_payment);

async fn a_wallet_order_is_paid_then_partially_then_fully_refunded(backend: DbBackend) {
    let t = spawn_app(backend).await;
    t.fund_wallet("alice", "100.00").await;
    let code = t.pay_code("alice").await;

    let paid = t
        .client
        .create_order(&wallet_order("LIFE-1", "10.00", &code))
        .await
        .expect("create and pay");
    assert_eq!(paid.trade_status, OrderStatus::Success);
    assert_eq!(paid.pay_url, None, "a paid order has nothing left to pay");

    t.client
        .refund(&refund_of(&paid.trade_no, "LIFE-R1", "3.00"))
        .await
        .expect("partial refund");
    let partly = query_order(&t, &paid.trade_no).await;
    assert_eq!(partly.trade_status, OrderStatus::PartialRefund);
    assert_eq!(partly.refunded_amount, Some(yuan("3.00")));

    t.client
        .refund(&refund_of(&paid.trade_no, "LIFE-R2", "7.00"))
        .await
        .expect("refund of the rest");
    let fully = query_order(&t, &paid.trade_no).await;
    assert_eq!(fully.trade_status, OrderStatus::Refund);
    assert_eq!(fully.refunded_amount, Some(yuan("10.00")));

    assert_eq!(
        audited_steps(&t, &paid.trade_no).await,
        steps(&[
            ("CREATED", "WAIT_PAY", "SUBMITTED"),
            ("WAIT_PAY", "SUCCESS", "PAID"),
            ("SUCCESS", "PARTIAL_REFUND", "PARTIALLY_REFUNDED"),
            ("PARTIAL_REFUND", "REFUND", "FULLY_REFUNDED"),
        ])
    );
    t.stop().await;
}
both_databases!(a_wallet_order_is_paid_then_partially_then_fully_refunded);

async fn closing_an_unpaid_order_closes_it_once_and_again_is_a_no_op(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let order = t
        .client
        .create_order(&unpaid_order("CLOSE-1", "10.00"))
        .await
        .expect("create");

    t.client
        .close_order(&close(&order.trade_no))
        .await
        .expect("close");
    let closed = query_order(&t, &order.trade_no).await;
    t.client
        .close_order(&close(&order.trade_no))
        .await
        .expect("closing a closed order again succeeds");

    assert_eq!(closed.trade_status, OrderStatus::Closed);
    assert_eq!(closed.pay_url, None, "a closed order cannot be paid");
    assert_eq!(
        query_order(&t, &order.trade_no).await.trade_status,
        OrderStatus::Closed
    );
    assert_eq!(
        audited_steps(&t, &order.trade_no).await,
        steps(&[
            ("CREATED", "WAIT_PAY", "SUBMITTED"),
            ("WAIT_PAY", "CLOSED", "CLOSED"),
        ]),
        "the second close changes nothing"
    );
    t.stop().await;
}
both_databases!(closing_an_unpaid_order_closes_it_once_and_again_is_a_no_op);

async fn a_paid_order_cannot_be_closed(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let (_, trade_no) = alice_paid_ten_yuan(&t, "PAID-1").await;

    let refused = t.client.close_order(&close(&trade_no)).await;

    assert_eq!(assert_api_error(refused, "1004"), 409);
    assert_eq!(
        query_order(&t, &trade_no).await.trade_status,
        OrderStatus::Success
    );
    assert_eq!(
        audited_steps(&t, &trade_no).await.len(),
        2,
        "created and paid only"
    );
    t.stop().await;
}
both_databases!(a_paid_order_cannot_be_closed);

async fn an_unpaid_or_closed_order_cannot_be_refunded(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let unpaid = t
        .client
        .create_order(&unpaid_order("UNPAID-1", "10.00"))
        .await
        .expect("create unpaid");
    let closed = t
        .client
        .create_order(&unpaid_order("CLOSED-1", "10.00"))
        .await
        .expect("create to close");
    t.client
        .close_order(&close(&closed.trade_no))
        .await
        .expect("close");

    let unpaid_refund = t
        .client
        .refund(&refund_of(&unpaid.trade_no, "RF-UNPAID", "1.00"))
        .await;
    let closed_refund = t
        .client
        .refund(&refund_of(&closed.trade_no, "RF-CLOSED", "1.00"))
        .await;

    assert_eq!(assert_api_error(unpaid_refund, "1004"), 409);
    assert_eq!(assert_api_error(closed_refund, "1004"), 409);
    assert_eq!(count_rows(&t, "refunds").await, 0);
    assert_eq!(
        query_order(&t, &unpaid.trade_no).await.trade_status,
        OrderStatus::WaitPay
    );
    assert_eq!(
        query_order(&t, &closed.trade_no).await.trade_status,
        OrderStatus::Closed
    );
    t.stop().await;
}
both_databases!(an_unpaid_or_closed_order_cannot_be_refunded);

async fn a_fully_refunded_order_cannot_be_refunded_again(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let (_, trade_no) = alice_paid_ten_yuan(&t, "FULL-1").await;
    t.client
        .refund(&refund_of(&trade_no, "FULL-R1", "10.00"))
        .await
        .expect("full refund");

    let again = t
        .client
        .refund(&refund_of(&trade_no, "FULL-R2", "0.01"))
        .await;

    assert_eq!(assert_api_error(again, "1004"), 409);
    assert_eq!(count_rows(&t, "refunds").await, 1);
    assert_eq!(
        query_order(&t, &trade_no).await.trade_status,
        OrderStatus::Refund
    );
    t.stop().await;
}
both_databases!(a_fully_refunded_order_cannot_be_refunded_again);
