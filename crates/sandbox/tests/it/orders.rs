use crate::helpers::{start, Receiver, Signing};
use axum::http::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_native_order_paid_by_the_payer_calls_back_and_queries_success() {
    let h = start().await;
    let receiver = Receiver::start(0).await;
    let created = h
        .post(
            "/v3/pay/transactions/native",
            &h.native("P20261129001", 888, &receiver.url),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK);
    let code_url = created.body["code_url"].as_str().unwrap().to_owned();
    assert!(code_url.starts_with("weixin://wxpay/bizpayurl?pr="));

    let paid = h
        .payer(json!({"code_url": code_url, "action": "pay"}))
        .await;
    assert_eq!(paid.body["out_trade_no"], "P20261129001");
    assert_eq!(paid.body["trade_state"], "SUCCESS");
    let transaction_id = paid.body["transaction_id"].as_str().unwrap().to_owned();
    assert_eq!(transaction_id.len(), 28);

    let deliveries = receiver.wait_for(1).await;
    let (notification, resource) = h.open_callback(&deliveries[0]).unwrap();
    assert_eq!(notification.event_type, "TRANSACTION.SUCCESS");
    assert_eq!(notification.resource_type, "encrypt-resource");
    assert_eq!(notification.resource.algorithm, "AEAD_AES_256_GCM");
    assert_eq!(notification.resource.original_type, "transaction");
    assert_eq!(notification.resource.associated_data, "transaction");
    assert_eq!(resource["out_trade_no"], "P20261129001");
    assert_eq!(resource["transaction_id"], transaction_id.as_str());
    assert_eq!(resource["trade_state"], "SUCCESS");
    assert_eq!(resource["trade_type"], "NATIVE");
    assert_eq!(resource["amount"]["total"], 888);
    assert_eq!(resource["amount"]["payer_total"], 888);
    assert_eq!(resource["mchid"], h.credentials.mchid.as_str());
    assert_eq!(resource["appid"], h.credentials.appid.as_str());

    let mchid = &h.credentials.mchid;
    let by_number = h
        .get(&format!(
            "/v3/pay/transactions/out-trade-no/P20261129001?mchid={mchid}"
        ))
        .await;
    assert_eq!(by_number.status, StatusCode::OK);
    assert_eq!(by_number.body, resource);
    let success_time = by_number.body["success_time"].as_str().unwrap();
    assert!(success_time.ends_with("+08:00"), "{success_time}");
    let by_id = h
        .get(&format!(
            "/v3/pay/transactions/id/{transaction_id}?mchid={mchid}"
        ))
        .await;
    assert_eq!(by_id.body, resource);
    assert_eq!(receiver.deliveries().len(), 1);
}

#[tokio::test]
async fn a_request_whose_signature_does_not_verify_is_refused_with_sign_error() {
    let h = start().await;
    let body = h.native("P20261129002", 100, "https://merchant.example/notify");
    for signing in [Signing::OtherBody, Signing::WrongSerial, Signing::Stale] {
        let answer = h
            .v3("POST", "/v3/pay/transactions/native", Some(&body), signing)
            .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{signing:?}");
        assert_eq!(answer.body["code"], "SIGN_ERROR", "{signing:?}");
    }
    let unsigned = h
        .http
        .post(h.url("/v3/pay/transactions/native"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status().as_u16(), 401);
    let mchid = &h.credentials.mchid;
    let query = h
        .get(&format!(
            "/v3/pay/transactions/out-trade-no/P20261129002?mchid={mchid}"
        ))
        .await;
    assert_eq!(query.body["code"], "ORDER_NOT_EXIST");
    assert_eq!(query.status, StatusCode::NOT_FOUND);
    for path in [
        "/v3/pay/transactions/out-trade-no/P20261129002",
        "/v3/pay/transactions/out-trade-no/P20261129002?mchid=1900000000",
    ] {
        let refused = h.get(path).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(refused.body["code"], "PARAM_ERROR", "{path}");
    }
}

#[tokio::test]
async fn a_retried_create_answers_the_same_and_changed_parameters_are_refused() {
    let h = start().await;
    let body = h.native("P20261129003", 100, "https://merchant.example/notify");
    let first = h.post("/v3/pay/transactions/native", &body).await;
    let again = h.post("/v3/pay/transactions/native", &body).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(again.body, first.body);
    let changed = h.native("P20261129003", 101, "https://merchant.example/notify");
    let refused = h.post("/v3/pay/transactions/native", &changed).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.body["code"], "INVALID_REQUEST");
}

#[tokio::test]
async fn jsapi_h5_and_app_orders_answer_their_own_fields() {
    let h = start().await;
    let mut jsapi = h.native("P20261129004", 100, "https://merchant.example/notify");
    let refused = h.post("/v3/pay/transactions/jsapi", &jsapi).await;
    assert_eq!(refused.body["code"], "PARAM_ERROR");
    jsapi["payer"] = json!({"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"});
    let answer = h.post("/v3/pay/transactions/jsapi", &jsapi).await;
    assert!(answer.body["prepay_id"].as_str().unwrap().starts_with("wx"));

    let mut h5 = h.native("P20261129005", 100, "https://merchant.example/notify");
    assert_eq!(
        h.post("/v3/pay/transactions/h5", &h5).await.body["code"],
        "PARAM_ERROR"
    );
    h5["scene_info"] = json!({"payer_client_ip": "14.23.150.211", "h5_info": {"type": "Wap"}});
    let answer = h.post("/v3/pay/transactions/h5", &h5).await;
    let h5_url = format!("{}/sandbox/h5/P20261129005", h.credentials.base_url);
    assert_eq!(answer.body, json!({"h5_url": h5_url}));
    assert_eq!(
        h.http.get(&h5_url).send().await.unwrap().status().as_u16(),
        200
    );

    let app = h.native("P20261129006", 100, "https://merchant.example/notify");
    let answer = h.post("/v3/pay/transactions/app", &app).await;
    assert!(answer.body["prepay_id"].as_str().unwrap().starts_with("wx"));
    let paid = h
        .payer(json!({"out_trade_no": "P20261129006", "action": "pay"}))
        .await;
    assert_eq!(paid.body["trade_state"], "SUCCESS");
    let mchid = &h.credentials.mchid;
    let query = h
        .get(&format!(
            "/v3/pay/transactions/out-trade-no/P20261129006?mchid={mchid}"
        ))
        .await;
    assert_eq!(query.body["trade_type"], "APP");
}

#[tokio::test]
async fn order_numbers_descriptions_amounts_and_notify_urls_are_checked_as_wechat_does() {
    let h = start().await;
    let cases = [
        ("short", 100, "Q公仔", "https://merchant.example/notify"),
        (
            "P2026112900000000000000000000000007",
            100,
            "Q公仔",
            "https://merchant.example/notify",
        ),
        (
            "P20261129#007",
            100,
            "Q公仔",
            "https://merchant.example/notify",
        ),
        (
            "P20261129007",
            0,
            "Q公仔",
            "https://merchant.example/notify",
        ),
        ("P20261129007", 100, "", "https://merchant.example/notify"),
        (
            "P20261129007",
            100,
            &"长".repeat(128),
            "https://merchant.example/notify",
        ),
        (
            "P20261129007",
            100,
            "Q公仔",
            "http://merchant.example/notify",
        ),
    ];
    for (no, total, description, notify_url) in cases {
        let mut body = h.native(no, total, notify_url);
        body["description"] = json!(description);
        let answer = h.post("/v3/pay/transactions/native", &body).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{no} {total} {notify_url}"
        );
        assert_eq!(
            answer.body["code"], "PARAM_ERROR",
            "{no} {total} {notify_url}"
        );
    }
    let mut other_app = h.native("P20261129007", 100, "https://merchant.example/notify");
    other_app["appid"] = json!("wx0000000000000000");
    assert_eq!(
        h.post("/v3/pay/transactions/native", &other_app).await.body["code"],
        "APPID_MCHID_NOT_MATCH"
    );
    let mut loopback = h.native("P2026_11-29*07", 100, "http://127.0.0.1:9/notify");
    loopback["description"] = json!("长".repeat(127));
    assert_eq!(
        h.post("/v3/pay/transactions/native", &loopback)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_unpaid_order_closes_and_a_paid_one_does_not() {
    let h = start().await;
    let mchid = h.credentials.mchid.clone();
    let body = h.native("P20261129008", 100, "https://merchant.example/notify");
    h.post("/v3/pay/transactions/native", &body).await;
    let close = "/v3/pay/transactions/out-trade-no/P20261129008/close";
    let closed = h.post(close, &json!({"mchid": mchid})).await;
    assert_eq!(closed.status, StatusCode::NO_CONTENT);
    let query = h
        .get(&format!(
            "/v3/pay/transactions/out-trade-no/P20261129008?mchid={mchid}"
        ))
        .await;
    assert_eq!(query.body["trade_state"], "CLOSED");
    let again = h.post("/v3/pay/transactions/native", &body).await;
    assert_eq!(again.body["code"], "ORDER_CLOSED");
    let pay = h
        .payer(json!({"out_trade_no": "P20261129008", "action": "pay"}))
        .await;
    assert_eq!(pay.status, StatusCode::CONFLICT);

    h.paid_native("P20261129009", 100, "https://merchant.example/notify")
        .await;
    let refused = h
        .post(
            "/v3/pay/transactions/out-trade-no/P20261129009/close",
            &json!({"mchid": mchid}),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.body["code"], "ORDERPAID");
}

#[tokio::test]
async fn the_payer_can_fail_enter_userpaying_or_abandon() {
    let h = start().await;
    let mchid = h.credentials.mchid.clone();
    for (no, action, state) in [
        ("P20261129010", "fail", "PAYERROR"),
        ("P20261129011", "userpaying", "USERPAYING"),
        ("P20261129012", "abandon", "NOTPAY"),
    ] {
        h.post(
            "/v3/pay/transactions/native",
            &h.native(no, 100, "https://merchant.example/notify"),
        )
        .await;
        let answer = h.payer(json!({"out_trade_no": no, "action": action})).await;
        assert_eq!(answer.body["trade_state"], state);
        let query = h
            .get(&format!(
                "/v3/pay/transactions/out-trade-no/{no}?mchid={mchid}"
            ))
            .await;
        assert_eq!(query.body["trade_state"], state);
    }
    let after_abandon = h
        .payer(json!({"out_trade_no": "P20261129012", "action": "pay"}))
        .await;
    assert_eq!(after_abandon.status, StatusCode::CONFLICT);
    let from_userpaying = h
        .payer(json!({"out_trade_no": "P20261129011", "action": "pay"}))
        .await;
    assert_eq!(from_userpaying.body["trade_state"], "SUCCESS");
}
