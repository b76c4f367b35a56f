use paygate_client::{CreateOrder, QueryOrder, Refund};
use paygate_domain::{Currency, Money, OrderStatus, OutRefundNo, OutTradeNo, RefundStatus};
use paygate_testkit::{
    both_databases, spawn_app, spawn_app_with, DbBackend, MerchantServer, TestOptions, Workers,
};
use std::time::{Duration, Instant};

async fn wallet_order_is_paid_queried_and_refunded(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let payer = t.fund_wallet("alice", "100.00").await;
    let mut create = CreateOrder::new(
        OutTradeNo::parse("SMOKE1").unwrap(),
        Money::parse("12.34", Currency::Cny).unwrap(),
        "green tea",
        "https://shop.example/notify",
    );
    create.auth_code = Some(t.pay_code("alice").await.into());
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

/// With the workers on, the application's own notifier delivers a paid order's notification:
/// no test steps it. The wait is bounded; the notifier looks for due work every 250 ms.
async fn running_workers_deliver_notifications_unprompted(backend: DbBackend) {
    let options = TestOptions {
        workers: Workers::Run,
        ..TestOptions::default()
    };
    let t = spawn_app_with(backend, options).await;
    let merchant = MerchantServer::start().await;
    t.fund_wallet("alice", "100.00").await;
    let mut create = CreateOrder::new(
        OutTradeNo::parse("SMOKE2").unwrap(),
        Money::parse("1.00", Currency::Cny).unwrap(),
        "green tea",
        &merchant.url,
    );
    create.auth_code = Some(t.pay_code("alice").await.into());
    let paid = t.client.create_order(&create).await.expect("create");
    assert_eq!(paid.trade_status, OrderStatus::Success);
    let deadline = Instant::now() + Duration::from_secs(20);
    while merchant.received().is_empty() {
        assert!(Instant::now() < deadline, "no notification within 20 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let received = merchant.received();
    assert_eq!(received[0]["trade_no"], paid.trade_no.as_str());
    assert_eq!(received[0]["notify_type"], "TRADE_SUCCESS");
    t.stop().await;
}
both_databases!(running_workers_deliver_notifications_unprompted);
