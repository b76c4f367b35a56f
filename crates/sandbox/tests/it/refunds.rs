use crate::helpers::{start, Receiver};
use axum::http::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_partial_then_a_full_refund_succeed_and_call_back() {
    let h = start().await;
    let receiver = Receiver::start(0).await;
    let transaction_id = h
        .paid_native("P20261129101", 1_000, "https://merchant.example/notify")
        .await;
    let request = h.refund(
        "P20261129101",
        "R20261129101",
        300,
        1_000,
        Some(&receiver.url),
    );
    let partial = h.post("/v3/refund/domestic/refunds", &request).await;
    assert_eq!(partial.status, StatusCode::OK, "{:?}", partial.body);
    assert_eq!(partial.body["status"], "PROCESSING");
    assert_eq!(partial.body["channel"], "ORIGINAL");
    assert_eq!(partial.body["transaction_id"], transaction_id.as_str());
    assert_eq!(
        partial.body["amount"],
        json!({"total": 1000, "refund": 300, "payer_total": 1000, "payer_refund": 300,
               "settlement_refund": 300, "settlement_total": 1000, "discount_refund": 0,
               "currency": "CNY", "refund_fee": 2})
    );

    let deliveries = receiver.wait_for(1).await;
    let (notification, resource) = h.open_callback(&deliveries[0]).unwrap();
    assert_eq!(notification.event_type, "REFUND.SUCCESS");
    assert_eq!(notification.resource.original_type, "refund");
    assert_eq!(resource["out_refund_no"], "R20261129101");
    assert_eq!(resource["refund_id"], partial.body["refund_id"]);
    assert_eq!(resource["refund_status"], "SUCCESS");
    assert_eq!(resource["mchid"], h.credentials.mchid.as_str());
    assert_eq!(
        resource["amount"],
        json!({"total": 1000, "refund": 300, "payer_total": 1000, "payer_refund": 300})
    );
    let queried = h.get("/v3/refund/domestic/refunds/R20261129101").await;
    assert_eq!(queried.body["status"], "SUCCESS");
    assert!(queried.body["success_time"]
        .as_str()
        .unwrap()
        .ends_with("+08:00"));

    let retried = h.post("/v3/refund/domestic/refunds", &request).await;
    assert_eq!(retried.body["refund_id"], partial.body["refund_id"]);

    let too_much = h
        .post(
            "/v3/refund/domestic/refunds",
            &h.refund("P20261129101", "R20261129102", 701, 1_000, None),
        )
        .await;
    assert_eq!(too_much.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        too_much.body,
        json!({"code": "INVALID_REQUEST", "message": "申请退款金额超过订单可退金额"})
    );
    let rest = json!({
        "transaction_id": transaction_id, "out_refund_no": "R20261129102",
        "amount": {"refund": 700, "total": 1000, "currency": "CNY"}
    });
    let full = h.post("/v3/refund/domestic/refunds", &rest).await;
    assert_eq!(full.status, StatusCode::OK);
    assert_eq!(full.body["amount"]["refund"], 700);
    let mchid = &h.credentials.mchid;
    let trade = h
        .get(&format!(
            "/v3/pay/transactions/out-trade-no/P20261129101?mchid={mchid}"
        ))
        .await;
    assert_eq!(trade.body["trade_state"], "REFUND");
}

#[tokio::test]
async fn the_fifty_first_refund_of_an_order_is_refused() {
    let h = start().await;
    h.paid_native("P20261129102", 100, "https://merchant.example/notify")
        .await;
    for n in 0..50 {
        let answer = h
            .post(
                "/v3/refund/domestic/refunds",
                &h.refund(
                    "P20261129102",
                    &format!("R2026112910200{n:02}"),
                    1,
                    100,
                    None,
                ),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "refund {n}");
    }
    let refused = h
        .post(
            "/v3/refund/domestic/refunds",
            &h.refund("P20261129102", "R202611291020050", 1, 100, None),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        refused.body,
        json!({"code": "INVALID_REQUEST", "message": "订单已部分退款超过50次"})
    );
}

#[tokio::test]
async fn refunds_of_unknown_or_unpaid_orders_are_refused() {
    let h = start().await;
    let unknown = h
        .post(
            "/v3/refund/domestic/refunds",
            &h.refund("P20261129199", "R20261129199", 1, 100, None),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.body["code"], "RESOURCE_NOT_EXISTS");
    h.post(
        "/v3/pay/transactions/native",
        &h.native("P20261129103", 100, "https://merchant.example/notify"),
    )
    .await;
    let unpaid = h
        .post(
            "/v3/refund/domestic/refunds",
            &h.refund("P20261129103", "R20261129103", 1, 100, None),
        )
        .await;
    assert_eq!(unpaid.body["code"], "INVALID_REQUEST");
    let no_refund = h.get("/v3/refund/domestic/refunds/R20261129103").await;
    assert_eq!(no_refund.status, StatusCode::NOT_FOUND);
    assert_eq!(no_refund.body["code"], "RESOURCE_NOT_EXISTS");
}
