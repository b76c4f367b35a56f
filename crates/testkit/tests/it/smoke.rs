use paygate_client::{CreateOrder, QueryOrder, Refund};
use paygate_domain::{Currency, Money, OrderStatus, OutRefundNo, OutTradeNo, RefundStatus};
use paygate_testkit::{both_databases, spawn_app, DbBackend};

async fn wallet_order_is_paid_queried_and_refunded(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let payer = t.fund_wallet("alice", "100.00").await;
    let mut create = CreateOrder::new(
        OutTradeNo::parse("SMOKE1").unwrap(),
        Money::parse("12.34", Currency::Cny).unwrap(),
        "green tea",
        "https://shop.example/notify",
    );
    create.auth_code = Some(t.pay_code("alice").await);
    let paid = t.client.create_order(&create).await.expect("create");
    assert_eq!(paid.trade_status, OrderStatus::Success);

    let queried = t
        .client
        .query_order(&QueryOrder::from(paygate_client::OrderRef::TradeNo(
            paid.trade_no.clone(),
        )))
        .await
        .expect("query");
    assert_eq!(queried.trade_status, OrderStatus::Success);

    let refund = t
        .client
        .refund(&Refund {
            order: paygate_client::OrderRef::TradeNo(paid.trade_no.clone()),
            out_refund_no: OutRefundNo::parse("R1").unwrap(),
            refund_amount: Money::parse("2.34", Currency::Cny).unwrap(),
            refund_reason: "broken cup".into(),
        })
        .await
        .expect("refund");
    assert_eq!(refund.refund_status, RefundStatus::Success);
    let balance = t.store().wallet_balance(&payer).await.unwrap().unwrap();
    assert_eq!(balance.minor(), 100_00 - 12_34 + 2_34);
    t.stop().await;
}
both_databases!(wallet_order_is_paid_queried_and_refunded);
