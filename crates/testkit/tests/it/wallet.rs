//! The stored-value wallet (issue #2, acceptance 5): a payment moves exactly its amount from the
//! payer to the merchant, a short balance moves nothing, a refund moves it back, and the books
//! balance after every operation.

use crate::support::{
    all_at_once, assert_api_error, assert_wallet_books_balance, balance_fen, count_rows,
    merchant_receipts_fen, query_order, refund_of, wallet_order,
};
use paygate_domain::{OrderStatus, RefundStatus};
use paygate_testkit::{both_databases, spawn_app, DbBackend};

const CONCURRENT_PAYMENTS: usize = 20;

async fn paying_from_a_funded_wallet_moves_exactly_the_amount(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let payer = t.fund_wallet("alice", "50.00").await;
    let code = t.pay_code("alice").await;

    let paid = t
        .client
        .create_order(&wallet_order("PAY-1", "12.34", &code))
        .await
        .expect("pay");

    assert_eq!(paid.trade_status, OrderStatus::Success);
    assert!(paid.pay_time.is_some());
    assert_eq!(balance_fen(&t, &payer).await, 50_00 - 12_34);
    assert_eq!(merchant_receipts_fen(&t).await, 12_34);
    assert_eq!(count_rows(&t, "wallet_payments").await, 1);
    t.stop().await;
}
both_databases!(paying_from_a_funded_wallet_moves_exactly_the_amount);

async fn paying_more_than_the_balance_is_refused_and_moves_nothing(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let payer = t.fund_wallet("alice", "5.00").await;
    let code = t.pay_code("alice").await;

    let refused = t
        .client
        .create_order(&wallet_order("SHORT-1", "5.01", &code))
        .await;

    assert_eq!(assert_api_error(refused, "1005"), 402);
    assert_eq!(balance_fen(&t, &payer).await, 5_00);
    assert_eq!(merchant_receipts_fen(&t).await, 0);
    assert_eq!(count_rows(&t, "wallet_payments").await, 0);
    t.stop().await;
}
both_databases!(paying_more_than_the_balance_is_refused_and_moves_nothing);

async fn a_refund_returns_the_money_to_the_payer(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let payer = t.fund_wallet("alice", "20.00").await;
    let code = t.pay_code("alice").await;
    let paid = t
        .client
        .create_order(&wallet_order("BACK-1", "20.00", &code))
        .await
        .expect("pay");

    let refund = t
        .client
        .refund(&refund_of(&paid.trade_no, "BACK-R1", "7.50"))
        .await
        .expect("refund");

    assert_eq!(refund.refund_status, RefundStatus::Success);
    assert_eq!(balance_fen(&t, &payer).await, 7_50);
    assert_eq!(merchant_receipts_fen(&t).await, 20_00 - 7_50);
    t.stop().await;
}
both_databases!(a_refund_returns_the_money_to_the_payer);

/// A merchant retrying a paid create in parallel must charge the payer once, and every retry
/// must answer with the paid order, even when the balance covers exactly one payment.
async fn concurrent_identical_paid_creates_charge_the_payer_once(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let payer = t.fund_wallet("alice", "10.00").await;
    let request = wallet_order("ONCE-1", "10.00", &t.pay_code("alice").await);

    let answers = all_at_once(CONCURRENT_PAYMENTS, |_| {
        let (client, request) = (t.client.clone(), request.clone());
        async move { client.create_order(&request).await }
    })
    .await;

    assert_eq!(balance_fen(&t, &payer).await, 0);
    assert_eq!(merchant_receipts_fen(&t).await, 10_00);
    assert_eq!(count_rows(&t, "orders").await, 1);
    assert_eq!(count_rows(&t, "wallet_payments").await, 1);
    assert_wallet_books_balance(&t, "the parallel retries").await;
    for answer in answers {
        match answer {
            Ok(order) => assert_eq!(order.trade_status, OrderStatus::Success),
            Err(error) => panic!("a retry of a paid order was refused: {error}"),
        }
    }
    t.stop().await;
}
both_databases!(concurrent_identical_paid_creates_charge_the_payer_once);

/// Top-ups, payments, a refused payment retried after a top-up, and partial and full refunds,
/// with the books checked after each.
async fn the_wallet_books_balance_after_every_operation(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let alice = t.fund_wallet("alice", "50.00").await;
    assert_wallet_books_balance(&t, "alice's top-up").await;
    let bob = t.fund_wallet("bob", "20.00").await;
    assert_wallet_books_balance(&t, "bob's top-up").await;

    let alices = t
        .client
        .create_order(&wallet_order("MIX-A", "30.00", &t.pay_code("alice").await))
        .await
        .expect("alice pays");
    assert_wallet_books_balance(&t, "alice's payment").await;
    let bobs_order = wallet_order("MIX-B", "25.00", &t.pay_code("bob").await);
    let short = t.client.create_order(&bobs_order).await;
    assert_eq!(assert_api_error(short, "1005"), 402);
    assert_wallet_books_balance(&t, "bob's refused payment").await;

    t.fund_wallet("bob", "10.00").await;
    assert_wallet_books_balance(&t, "bob's second top-up").await;
    let bobs = t
        .client
        .create_order(&bobs_order)
        .await
        .expect("the merchant retries bob's order, with the code bob showed, after his top-up");
    assert_eq!(bobs.trade_status, OrderStatus::Success);
    assert_wallet_books_balance(&t, "bob's payment").await;

    for (number, amount) in [("MIX-A-R1", "10.00"), ("MIX-A-R2", "20.00")] {
        t.client
            .refund(&refund_of(&alices.trade_no, number, amount))
            .await
            .expect("refund alice");
        assert_wallet_books_balance(&t, number).await;
    }
    t.client
        .refund(&refund_of(&bobs.trade_no, "MIX-B-R1", "25.00"))
        .await
        .expect("refund bob");
    assert_wallet_books_balance(&t, "bob's refund").await;

    assert_eq!(balance_fen(&t, &alice).await, 50_00);
    assert_eq!(balance_fen(&t, &bob).await, 30_00);
    assert_eq!(merchant_receipts_fen(&t).await, 0);
    for order in [&alices.trade_no, &bobs.trade_no] {
        assert_eq!(
            query_order(&t, order).await.trade_status,
            OrderStatus::Refund
        );
    }
    t.stop().await;
}
both_databases!(the_wallet_books_balance_after_every_operation);
