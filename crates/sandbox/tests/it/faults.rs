use crate::helpers::{start, Receiver};
use axum::http::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_timeout_holds_the_answer_but_the_order_is_created() {
    let h = start().await;
    h.fault(json!({"fault": "timeout", "out_trade_no": "P20261129301", "delay_ms": 3000}))
        .await;
    let body = h.native("P20261129301", 100, "https://merchant.example/notify");
    let started = Instant::now();
    let outcome = tokio::time::timeout(
        Duration::from_millis(500),
        h.send_v3(
            "POST",
            "/v3/pay/transactions/native",
            Some(&body),
            crate::helpers::Signing::Genuine,
        ),
    )
    .await;
    assert!(outcome.is_err(), "the answer is held");
    assert!(started.elapsed() >= Duration::from_millis(500));
    let mchid = &h.credentials.mchid;
    let query = h
        .get(&format!(
            "/v3/pay/transactions/out-trade-no/P20261129301?mchid={mchid}"
        ))
        .await;
    assert_eq!(query.status, StatusCode::OK);
    assert_eq!(query.body["trade_state"], "NOTPAY");
}

#[tokio::test]
async fn a_server_error_or_an_outage_does_nothing_for_the_next_calls() {
    let h = start().await;
    h.fault(json!({"fault": "server_error", "calls": 1})).await;
    h.fault(json!({"fault": "down", "out_trade_no": "P20261129303"}))
        .await;
    let body = h.native("P20261129302", 100, "https://merchant.example/notify");
    let failed = h.post("/v3/pay/transactions/native", &body).await;
    assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(failed.body["code"], "SYSTEM_ERROR");
    let mchid = &h.credentials.mchid;
    let query = h
        .get(&format!(
            "/v3/pay/transactions/out-trade-no/P20261129302?mchid={mchid}"
        ))
        .await;
    assert_eq!(query.status, StatusCode::NOT_FOUND, "nothing was done");

    let other = h.native("P20261129303", 100, "https://merchant.example/notify");
    let down = h.post("/v3/pay/transactions/native", &other).await;
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        h.post("/v3/pay/transactions/native", &other).await.status,
        StatusCode::OK
    );
    assert_eq!(
        h.post("/v3/pay/transactions/native", &body).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn cleared_faults_no_longer_apply() {
    let h = start().await;
    h.fault(json!({"fault": "down", "calls": 5})).await;
    h.clear_faults().await;
    let body = h.native("P20261129304", 100, "https://merchant.example/notify");
    assert_eq!(
        h.post("/v3/pay/transactions/native", &body).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_duplicate_callback_arrives_twice() {
    let h = start().await;
    let receiver = Receiver::start(0).await;
    h.fault(json!({"fault": "duplicate_callback", "out_trade_no": "P20261129305"}))
        .await;
    h.paid_native("P20261129305", 100, &receiver.url).await;
    let deliveries = receiver.wait_for(2).await;
    let first = h.open_callback(&deliveries[0]).unwrap();
    let second = h.open_callback(&deliveries[1]).unwrap();
    assert_eq!(first.0.id, second.0.id);
    assert_eq!(first.1, second.1);
}

#[tokio::test]
async fn a_late_callback_arrives_after_its_delay() {
    let h = start().await;
    let receiver = Receiver::start(0).await;
    h.fault(json!({"fault": "late_callback", "out_trade_no": "P20261129306", "delay_ms": 700}))
        .await;
    let paid_at = Instant::now();
    h.paid_native("P20261129306", 100, &receiver.url).await;
    let deliveries = receiver.wait_for(1).await;
    assert!(deliveries[0].at - paid_at >= Duration::from_millis(700));
}

#[tokio::test]
async fn an_out_of_order_payment_callback_comes_after_the_first_refund_callback() {
    let h = start().await;
    let receiver = Receiver::start(0).await;
    h.fault(json!({"fault": "out_of_order_callbacks", "out_trade_no": "P20261129307"}))
        .await;
    h.paid_native("P20261129307", 100, &receiver.url).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        receiver.deliveries().len(),
        0,
        "the payment callback is held"
    );
    let refund = h.refund("P20261129307", "R20261129307", 40, 100, Some(&receiver.url));
    h.post("/v3/refund/domestic/refunds", &refund).await;
    let deliveries = receiver.wait_for(2).await;
    let events: Vec<String> = deliveries
        .iter()
        .map(|d| h.open_callback(d).unwrap().0.event_type)
        .collect();
    assert_eq!(events, ["REFUND.SUCCESS", "TRANSACTION.SUCCESS"]);
}

#[tokio::test]
async fn a_forged_callback_comes_first_and_does_not_verify() {
    let h = start().await;
    let receiver = Receiver::start(0).await;
    h.fault(json!({"fault": "forged_callback", "out_trade_no": "P20261129308"}))
        .await;
    h.paid_native("P20261129308", 100, &receiver.url).await;
    let deliveries = receiver.wait_for(2).await;
    assert!(h.open_callback(&deliveries[0]).is_err());
    let (notification, resource) = h.open_callback(&deliveries[1]).unwrap();
    assert_eq!(notification.event_type, "TRANSACTION.SUCCESS");
    assert_eq!(resource["out_trade_no"], "P20261129308");
}

#[tokio::test]
async fn a_success_without_callback_is_only_seen_by_query() {
    let h = start().await;
    let receiver = Receiver::start(0).await;
    h.fault(json!({"fault": "no_callback", "out_trade_no": "P20261129309"}))
        .await;
    h.paid_native("P20261129309", 100, &receiver.url).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.deliveries().len(), 0);
    let mchid = &h.credentials.mchid;
    let query = h
        .get(&format!(
            "/v3/pay/transactions/out-trade-no/P20261129309?mchid={mchid}"
        ))
        .await;
    assert_eq!(query.body["trade_state"], "SUCCESS");
}

#[tokio::test]
async fn a_refund_abnormal_fault_ends_the_refund_abnormal_and_says_so() {
    let h = start().await;
    let receiver = Receiver::start(0).await;
    h.paid_native("P20261129310", 100, "https://merchant.example/notify")
        .await;
    h.fault(json!({"fault": "refund_abnormal", "out_trade_no": "P20261129310"}))
        .await;
    let refund = h.refund(
        "P20261129310",
        "R20261129310",
        100,
        100,
        Some(&receiver.url),
    );
    h.post("/v3/refund/domestic/refunds", &refund).await;
    let deliveries = receiver.wait_for(1).await;
    let (notification, resource) = h.open_callback(&deliveries[0]).unwrap();
    assert_eq!(notification.event_type, "REFUND.ABNORMAL");
    assert_eq!(resource["refund_status"], "ABNORMAL");
    let queried = h.get("/v3/refund/domestic/refunds/R20261129310").await;
    assert_eq!(queried.body["status"], "ABNORMAL");
    assert_eq!(queried.body.get("success_time"), None);
    let again = h.refund("P20261129310", "R20261129311", 100, 100, None);
    let retried = h.post("/v3/refund/domestic/refunds", &again).await;
    assert_eq!(
        retried.status,
        StatusCode::OK,
        "an abnormal refund frees its amount"
    );
}
