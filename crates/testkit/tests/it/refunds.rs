//! Refunds (DESIGN §3, §4): never more than was paid, even under concurrency; the merchant's
//! refund number is the idempotency key; a refund can be looked up by either number.

use crate::support::{
    alice_paid_ten_yuan, all_at_once, assert_api_error, balance_fen, count_rows,
    merchant_receipts_fen, out_refund_no, query_order, query_refund, refund_of, yuan,
};
use paygate_client::QueryRefund;
use paygate_domain::{OrderStatus, RefundStatus};
use paygate_testkit::{both_databases, spawn_app, DbBackend};

const CONCURRENT_REFUNDS: usize = 20;
const PAYER_START_FEN: i64 = 100_00;

/// Twenty 1.00 refunds race for a 10.00 order: ten win. A loser is refused as exceeding the
/// refundable amount (1007) while the order still has refunds in flight, or as an order status
/// error (1004) once the winners have moved the order to REFUND.
async fn concurrent_refunds_never_exceed_the_paid_amount(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let (payer, trade_no) = alice_paid_ten_yuan(&t, "RACE-R").await;

    let answers = all_at_once(CONCURRENT_REFUNDS, |i| {
        let refund = refund_of(&trade_no, &format!("RACE-R{i:02}"), "1.00");
        let client = t.client.clone();
        async move { client.refund(&refund).await }
    })
    .await;

    let mut succeeded = 0;
    for answer in answers {
        match answer {
            Ok(refund) => {
                assert_eq!(refund.refund_status, RefundStatus::Success);
                succeeded += 1;
            }
            Err(error) => {
                let code = error.error_code().unwrap_or_else(|| panic!("{error:?}"));
                assert!(["1007", "1004"].contains(&code), "{error:?}");
            }
        }
    }

    assert_eq!(succeeded, 10);
    let order = query_order(&t, &trade_no).await;
    assert_eq!(order.trade_status, OrderStatus::Refund);
    assert_eq!(order.refunded_amount, Some(yuan("10.00")));
    assert_eq!(balance_fen(&t, &payer).await, PAYER_START_FEN);
    assert_eq!(merchant_receipts_fen(&t).await, 0);
    assert_eq!(count_rows(&t, "wallet_refunds").await, 10);
    t.stop().await;
}
both_databases!(concurrent_refunds_never_exceed_the_paid_amount);

async fn repeating_a_refund_returns_the_same_refund_and_moves_money_once(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let (payer, trade_no) = alice_paid_ten_yuan(&t, "REPEAT-R").await;
    let refund = refund_of(&trade_no, "REPEAT-R1", "4.00");

    let first = t.client.refund(&refund).await.expect("refund");
    let second = t.client.refund(&refund).await.expect("repeated refund");

    assert_eq!(second.refund_no, first.refund_no);
    assert_eq!(second.refund_status, RefundStatus::Success);
    assert_eq!(count_rows(&t, "refunds").await, 1);
    assert_eq!(
        balance_fen(&t, &payer).await,
        PAYER_START_FEN - 10_00 + 4_00
    );
    let order = query_order(&t, &trade_no).await;
    assert_eq!(order.refunded_amount, Some(yuan("4.00")));
    assert_eq!(order.trade_status, OrderStatus::PartialRefund);
    t.stop().await;
}
both_databases!(repeating_a_refund_returns_the_same_refund_and_moves_money_once);

async fn a_refund_number_reused_with_another_amount_is_refused(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let (payer, trade_no) = alice_paid_ten_yuan(&t, "REUSE-R").await;
    t.client
        .refund(&refund_of(&trade_no, "REUSE-R1", "4.00"))
        .await
        .expect("refund");

    let reused = t
        .client
        .refund(&refund_of(&trade_no, "REUSE-R1", "5.00"))
        .await;

    assert_eq!(assert_api_error(reused, "1004"), 409);
    assert_eq!(count_rows(&t, "refunds").await, 1);
    assert_eq!(
        balance_fen(&t, &payer).await,
        PAYER_START_FEN - 10_00 + 4_00
    );
    t.stop().await;
}
both_databases!(a_refund_number_reused_with_another_amount_is_refused);

async fn a_refund_is_found_by_the_merchant_number_and_by_ours(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let (_, trade_no) = alice_paid_ten_yuan(&t, "FIND-R").await;
    let made = t
        .client
        .refund(&refund_of(&trade_no, "FIND-R1", "2.50"))
        .await
        .expect("refund");

    let by_theirs = query_refund(&t, QueryRefund::OutRefundNo(out_refund_no("FIND-R1"))).await;
    let by_ours = query_refund(&t, QueryRefund::RefundNo(made.refund_no.clone())).await;

    for found in [&by_theirs, &by_ours] {
        assert_eq!(found.refund_no, made.refund_no);
        assert_eq!(found.out_refund_no, made.out_refund_no);
        assert_eq!(found.trade_no, trade_no);
        assert_eq!(found.refund_amount, yuan("2.50"));
        assert_eq!(found.refund_status, RefundStatus::Success);
        assert!(found.success_time.is_some());
    }
    t.stop().await;
}
both_databases!(a_refund_is_found_by_the_merchant_number_and_by_ours);

async fn querying_an_unknown_refund_answers_refund_not_found(backend: DbBackend) {
    let t = spawn_app(backend).await;

    let missing = t
        .client
        .query_refund(&QueryRefund::OutRefundNo(out_refund_no("NO-SUCH-REFUND")))
        .await;

    assert_eq!(assert_api_error(missing, "1010"), 404);
    t.stop().await;
}
both_databases!(querying_an_unknown_refund_answers_refund_not_found);

async fn a_refund_above_the_order_amount_is_refused(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let (payer, trade_no) = alice_paid_ten_yuan(&t, "BIG-R").await;

    let too_much = t
        .client
        .refund(&refund_of(&trade_no, "BIG-R1", "10.01"))
        .await;

    assert_eq!(assert_api_error(too_much, "1007"), 409);
    assert_eq!(count_rows(&t, "refunds").await, 0);
    assert_eq!(balance_fen(&t, &payer).await, PAYER_START_FEN - 10_00);
    assert_eq!(
        query_order(&t, &trade_no).await.trade_status,
        OrderStatus::Success
    );
    t.stop().await;
}
both_databases!(a_refund_above_the_order_amount_is_refused);
