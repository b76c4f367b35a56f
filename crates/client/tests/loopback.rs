//! The client against a tiny stand-in server on loopback: what the HTTP layer does with signed,
//! tampered, unsigned and non-JSON answers. The real server is covered by the workspace's
//! integration tests; this only pins the client's side of the contract.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use paygate_client::{paths, Client, ClientError, OrderRef, QueryOrder};
use paygate_domain::sign::{RsaPrivateKey, SignKey, VerifyKey};
use paygate_domain::{MerchantId, OrderStatus, OutTradeNo};
use serde_json::{json, Map, Value};
use std::sync::Arc;

const SECRET: &str = "merchant-secret";

struct Keys {
    platform: RsaPrivateKey,
    merchant_rsa: RsaPrivateKey,
}

/// Verifies the request like the platform would, then answers according to `out_trade_no`.
async fn query(State(keys): State<Arc<Keys>>, Json(request): Json<Map<String, Value>>) -> Response {
    let rsa = request["sign_type"] == "RSA2";
    let (request_key, response_key) = if rsa {
        (
            VerifyKey::Rsa2(keys.merchant_rsa.public_key()),
            SignKey::Rsa2(keys.platform.clone()),
        )
    } else {
        (VerifyKey::Md5(SECRET.into()), SignKey::Md5(SECRET.into()))
    };
    if request_key.verify(&request).is_err() {
        let body = json!({"code": "FAIL", "msg": "bad signature", "error_code": "1002"});
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    let out_trade_no = request["out_trade_no"].as_str().unwrap_or_default();
    let mut body = json!({
        "code": "SUCCESS", "msg": "OK", "trade_no": "P20261123123456789abcdefghij",
        "out_trade_no": out_trade_no, "trade_status": "SUCCESS", "total_amount": "10.00",
        "currency": "CNY", "receipt_amount": "10.00", "pay_time": 1795000000
    })
    .as_object()
    .unwrap()
    .clone();
    response_key.sign_in_place(&mut body).unwrap();
    match out_trade_no {
        "TAMPERED" => {
            body.insert("total_amount".into(), "0.01".into());
        }
        "UNKNOWN" => {
            let body = json!({"code": "FAIL", "msg": "order not found", "error_code": "1003"});
            return (StatusCode::NOT_FOUND, Json(body)).into_response();
        }
        "HTML" => return (StatusCode::BAD_GATEWAY, "<html>proxy</html>").into_response(),
        _ => {}
    }
    Json(body).into_response()
}

async fn platform_key(State(keys): State<Arc<Keys>>) -> Json<Value> {
    Json(json!({"public_key": keys.platform.public_key_text(), "sign_type": "RSA2"}))
}

struct Harness {
    base_url: String,
    keys: Arc<Keys>,
}

async fn spawn_server() -> Harness {
    let keys = Arc::new(Keys {
        platform: RsaPrivateKey::generate().unwrap(),
        merchant_rsa: RsaPrivateKey::generate().unwrap(),
    });
    let app = Router::new()
        .route(paths::QUERY, post(query))
        .route(paths::PLATFORM_PUBLIC_KEY, get(platform_key))
        .with_state(keys.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Harness { base_url, keys }
}

fn merchant() -> MerchantId {
    MerchantId::parse("M100000000001").unwrap()
}

fn by_out_trade_no(no: &str) -> QueryOrder {
    QueryOrder::from(OrderRef::OutTradeNo(OutTradeNo::parse(no).unwrap()))
}

#[tokio::test]
async fn a_signed_answer_is_verified_and_parsed() {
    let server = spawn_server().await;
    let client = md5_client(&server);
    let view = client
        .query_order(&by_out_trade_no("ORDER-1"))
        .await
        .unwrap();
    assert_eq!(view.out_trade_no.as_str(), "ORDER-1");
    assert_eq!(view.trade_status, OrderStatus::Success);
}

/// Querying `out_trade_no` gets an answer the client must refuse: its signature does not hold.
async fn assert_refused_as_forged(client: &Client, out_trade_no: &str) {
    let err = client
        .query_order(&by_out_trade_no(out_trade_no))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::BadResponseSignature), "{err:?}");
}

/// A client signing with the shared MD5 secret.
fn md5_client(server: &Harness) -> Client {
    Client::new(&server.base_url, merchant(), SignKey::Md5(SECRET.into())).unwrap()
}

#[tokio::test]
async fn a_tampered_success_is_refused() {
    let server = spawn_server().await;
    let client = md5_client(&server);
    assert_refused_as_forged(&client, "TAMPERED").await;
}

#[tokio::test]
async fn an_unsigned_failure_with_an_http_error_status_is_the_api_error() {
    let server = spawn_server().await;
    let client = md5_client(&server);
    match client.query_order(&by_out_trade_no("UNKNOWN")).await {
        Err(ClientError::Api {
            error_code,
            http_status,
            ..
        }) => assert_eq!((error_code.as_str(), http_status), ("1003", 404)),
        other => panic!("expected 1003, got {other:?}"),
    }
}

#[tokio::test]
async fn a_non_json_answer_is_a_decode_error() {
    let server = spawn_server().await;
    let client = md5_client(&server);
    let err = client
        .query_order(&by_out_trade_no("HTML"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Decode(ref m) if m.contains("502")),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_rsa_client_fetches_the_platform_key_to_verify_answers() {
    let server = spawn_server().await;
    let key = SignKey::Rsa2(server.keys.merchant_rsa.clone());
    let client = Client::new(&server.base_url, merchant(), key).unwrap();
    let view = client
        .query_order(&by_out_trade_no("ORDER-1"))
        .await
        .unwrap();
    assert_eq!(view.trade_status, OrderStatus::Success);
    assert_refused_as_forged(&client, "TAMPERED").await;
}

#[tokio::test]
async fn an_rsa_answer_signed_by_anyone_but_the_pinned_platform_key_is_refused() {
    let server = spawn_server().await;
    let impostor = RsaPrivateKey::generate().unwrap().public_key();
    let client = Client::builder(
        &server.base_url,
        merchant(),
        SignKey::Rsa2(server.keys.merchant_rsa.clone()),
    )
    .verify_key(VerifyKey::Rsa2(impostor))
    .build()
    .unwrap();
    assert_refused_as_forged(&client, "ORDER-1").await;
}

#[tokio::test]
async fn raw_calls_return_status_and_body_as_they_came() {
    let server = spawn_server().await;
    let client = md5_client(&server);
    let fields = json!({"out_trade_no": "ORDER-1"})
        .as_object()
        .unwrap()
        .clone();
    let (status, body) = client.call_raw(paths::QUERY, fields.clone()).await.unwrap();
    assert_eq!((status, &body["code"]), (200, &json!("SUCCESS")));

    let mut forged = client.sign_fields(fields).unwrap();
    forged.insert("out_trade_no".into(), "SOMEONE-ELSES".into());
    let (status, body) = client.send_unsigned(paths::QUERY, forged).await.unwrap();
    assert_eq!((status, &body["error_code"]), (401, &json!("1002")));
}
