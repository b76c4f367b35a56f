//! Bad input (issue #2, acceptance 4; DESIGN §12): every malformed request is a 1001 that names
//! the offending field and writes nothing. Each test starts from an app with some history (a
//! paid and partly refunded order), so "nothing written" is checked against non-empty tables.

use crate::support::{
    assert_param_error, assert_raw_error, create_fields, create_raw, refund_of, wallet_order,
    write_counts,
};
use paygate_client::paths;
use paygate_domain::sign::VerifyKey;
use paygate_testkit::{both_databases, spawn_app, DbBackend, TestApp};
use serde_json::{json, Map, Value};

const REQUIRED_CREATE_FIELDS: [&str; 5] = [
    "out_trade_no",
    "total_amount",
    "subject",
    "pay_type",
    "notify_url",
];

const MALFORMED_AMOUNTS: [&str; 5] = ["1.001", "-1", "1e2", "0", "99999999999999999999"];

async fn app_with_history(backend: DbBackend) -> TestApp {
    let t = spawn_app(backend).await;
    t.fund_wallet("alice", "100.00").await;
    let code = t.pay_code("alice").await;
    let paid = t
        .client
        .create_order(&wallet_order("HISTORY-1", "10.00", &code))
        .await
        .expect("create a paid order");
    t.client
        .refund(&refund_of(&paid.trade_no, "HISTORY-R1", "1.00"))
        .await
        .expect("refund part of it");
    t
}

/// Posts `body` as JSON text to the create endpoint, bypassing the client's signing.
async fn post_raw_body(t: &TestApp, body: impl Into<String>) -> (u16, Map<String, Value>) {
    let body: String = body.into();
    let response = reqwest::Client::new()
        .post(format!("{}{}", t.base_url, paths::CREATE))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("an answer");
    let status = response.status().as_u16();
    let body = response.json().await.expect("a JSON object answer");
    (status, body)
}

async fn a_body_that_is_not_a_json_object_is_refused(backend: DbBackend) {
    let t = app_with_history(backend).await;
    let before = write_counts(&t).await;

    let malformed = post_raw_body(&t, r#"{"merchant_id": "M1", "total_amount": "#).await;
    let array = post_raw_body(&t, r#"[{"merchant_id": "M1"}]"#).await;

    assert_eq!(assert_param_error(&malformed), "body");
    assert_eq!(assert_param_error(&array), "body");
    assert_eq!(write_counts(&t).await, before);
    t.stop().await;
}
both_databases!(a_body_that_is_not_a_json_object_is_refused);

async fn each_missing_required_field_is_named(backend: DbBackend) {
    let t = app_with_history(backend).await;
    let before = write_counts(&t).await;

    for field in REQUIRED_CREATE_FIELDS {
        let mut fields = create_fields("MISSING-1", "10.00");
        fields.remove(field);

        let answer = create_raw(&t, fields).await;

        assert_eq!(assert_param_error(&answer), field);
    }
    assert_eq!(write_counts(&t).await, before);
    t.stop().await;
}
both_databases!(each_missing_required_field_is_named);

async fn a_field_of_the_wrong_type_is_named(backend: DbBackend) {
    let t = app_with_history(backend).await;
    let before = write_counts(&t).await;

    for (field, value) in [("total_amount", json!(10)), ("subject", json!(true))] {
        let mut fields = create_fields("TYPED-1", "10.00");
        fields.insert(field.into(), value);

        let answer = create_raw(&t, fields).await;

        assert_eq!(assert_param_error(&answer), field);
    }
    assert_eq!(write_counts(&t).await, before);
    t.stop().await;
}
both_databases!(a_field_of_the_wrong_type_is_named);

async fn an_amount_that_is_not_a_plain_positive_decimal_is_refused(backend: DbBackend) {
    let t = app_with_history(backend).await;
    let before = write_counts(&t).await;

    for amount in MALFORMED_AMOUNTS {
        let answer = create_raw(&t, create_fields("AMOUNT-1", amount)).await;

        assert_eq!(
            assert_param_error(&answer),
            "total_amount",
            "amount {amount:?}"
        );
    }
    assert_eq!(write_counts(&t).await, before);
    t.stop().await;
}
both_databases!(an_amount_that_is_not_a_plain_positive_decimal_is_refused);

/// Nobody holds a key for an unknown merchant, so its refusal goes out unsigned.
async fn an_unknown_merchant_is_refused_unsigned(backend: DbBackend) {
    let t = app_with_history(backend).await;
    let before = write_counts(&t).await;
    let mut fields = create_fields("STRANGER-1", "10.00");
    fields.insert("merchant_id".into(), "M000000000000".into());

    let answer = create_raw(&t, fields).await;

    assert_eq!(assert_param_error(&answer), "merchant_id");
    assert!(!answer.1.contains_key("sign"), "{:?}", answer.1);
    assert!(VerifyKey::Md5(t.merchant.secret.clone())
        .verify(&answer.1)
        .is_err());
    assert_eq!(write_counts(&t).await, before);
    t.stop().await;
}
both_databases!(an_unknown_merchant_is_refused_unsigned);

async fn an_over_long_subject_or_order_number_is_refused(backend: DbBackend) {
    let t = app_with_history(backend).await;
    let before = write_counts(&t).await;
    let mut long_subject = create_fields("LONG-1", "10.00");
    long_subject.insert("subject".into(), "茶".repeat(129).into());
    let long_number = create_fields(&"N".repeat(65), "10.00");

    let subject_answer = create_raw(&t, long_subject).await;
    let number_answer = create_raw(&t, long_number).await;

    assert_eq!(assert_param_error(&subject_answer), "subject");
    assert_eq!(assert_param_error(&number_answer), "out_trade_no");
    assert_eq!(write_counts(&t).await, before);
    t.stop().await;
}
both_databases!(an_over_long_subject_or_order_number_is_refused);

async fn the_longest_allowed_subject_and_order_number_are_accepted(backend: DbBackend) {
    let t = app_with_history(backend).await;
    let mut fields = create_fields(&"N".repeat(64), "10.00");
    fields.insert("subject".into(), "茶".repeat(128).into());

    let answer = create_raw(&t, fields).await;

    assert_eq!(answer.1["code"], "SUCCESS", "{:?}", answer.1);
    t.stop().await;
}
both_databases!(the_longest_allowed_subject_and_order_number_are_accepted);

async fn querying_an_order_that_does_not_exist_answers_order_not_found(backend: DbBackend) {
    let t = app_with_history(backend).await;
    let before = write_counts(&t).await;
    let mut fields = Map::new();
    fields.insert("out_trade_no".into(), "NO-SUCH-ORDER".into());

    let answer = t
        .client
        .call_raw(paths::QUERY, fields)
        .await
        .expect("an answer");

    assert_eq!(assert_raw_error(&answer, "1003"), 404);
    assert_eq!(write_counts(&t).await, before);
    t.stop().await;
}
both_databases!(querying_an_order_that_does_not_exist_answers_order_not_found);

/// Every field a create may carry, the envelope's included, plus one the API does not know.
const CREATE_FIELD_NAMES: [&str; 18] = [
    "merchant_id",
    "timestamp",
    "nonce",
    "sign_type",
    "sign",
    "out_trade_no",
    "total_amount",
    "currency",
    "subject",
    "body",
    "pay_type",
    "notify_url",
    "return_url",
    "attach",
    "expire_time",
    "buyer_id",
    "auth_code",
    "not_a_field",
];

/// A float, an object, an array and a nested value are each refused as 1001 naming the field
/// that holds them, never `body`, whichever field it is.
async fn a_value_of_the_wrong_json_type_is_named_by_its_field(backend: DbBackend) {
    let t = app_with_history(backend).await;
    let before = write_counts(&t).await;
    let wrong_types = [
        json!(10.5),
        json!({"amount": "10.00"}),
        json!(["10.00"]),
        json!([{"nested": {"deeper": [1]}}]),
    ];

    for field in CREATE_FIELD_NAMES {
        for value in &wrong_types {
            let mut fields = t
                .client
                .sign_fields(create_fields("TYPED-2", "10.00"))
                .expect("sign");
            fields.insert(field.into(), value.clone());

            let answer = t
                .client
                .send_unsigned(paths::CREATE, fields)
                .await
                .expect("an answer");

            assert_eq!(assert_param_error(&answer), field, "{field} = {value}");
        }
    }
    assert_eq!(write_counts(&t).await, before);
    t.stop().await;
}
both_databases!(a_value_of_the_wrong_json_type_is_named_by_its_field);

/// A body over the limit is 413 with the same JSON refusal as every other parameter error.
async fn a_body_over_the_limit_is_413_with_a_json_error(backend: DbBackend) {
    let t = app_with_history(backend).await;
    let before = write_counts(&t).await;
    let padding = "x".repeat(paygate_http::BODY_BYTES_MAX);
    let too_large = format!(r#"{{"subject": "{padding}"}}"#);

    let answer = post_raw_body(&t, too_large).await;

    assert_eq!(answer.0, 413, "{:?}", answer.1);
    assert_eq!(answer.1["code"], "FAIL");
    assert_eq!(answer.1["error_code"], "1001");
    assert_eq!(answer.1["error_field"], "body");
    assert!(
        answer.1["msg"].as_str().is_some_and(|m| !m.is_empty()),
        "{:?}",
        answer.1
    );
    assert_eq!(write_counts(&t).await, before);
    t.stop().await;
}
both_databases!(a_body_over_the_limit_is_413_with_a_json_error);

/// A signed create with one more `"key": value` pair appended to its JSON text.
fn with_repeated_key(signed: &Map<String, Value>, key: &str, value: &str) -> String {
    let text = Value::Object(signed.clone()).to_string();
    let open = text.strip_suffix('}').expect("an object");
    format!(r#"{open},"{key}":"{value}"}}"#)
}

/// A key given twice is refused, whether the second value differs (a proxy and the gateway
/// would read different amounts) or repeats the signed one (which last-wins would accept).
async fn a_key_given_twice_is_refused(backend: DbBackend) {
    let t = app_with_history(backend).await;
    let before = write_counts(&t).await;

    for (i, second) in ["0.01", "10.00"].into_iter().enumerate() {
        let signed = t
            .client
            .sign_fields(create_fields(&format!("TWICE-{i}"), "10.00"))
            .expect("sign");

        let answer = post_raw_body(&t, with_repeated_key(&signed, "total_amount", second)).await;

        assert_eq!(
            assert_param_error(&answer),
            "total_amount",
            "second value {second}"
        );
    }
    assert_eq!(write_counts(&t).await, before);
    t.stop().await;
}
both_databases!(a_key_given_twice_is_refused);
