//! Bad input (issue #2, acceptance 4; DESIGN §12): every malformed request is a 1001 that names
//! the offending field and writes nothing. Each test starts from an app with some history (a
//! paid and partly refunded order), so "nothing written" is checked against non-empty tables.

use crate::support::{
    assert_param_error, assert_raw_error, create_fields, refund_of, wallet_order, write_counts,
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
async fn post_raw_body(t: &TestApp, body: &'static str) -> (u16, Map<String, Value>) {
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

async fn create_with(t: &TestApp, fields: Map<String, Value>) -> (u16, Map<String, Value>) {
    t.client
        .call_raw(paths::CREATE, fields)
        .await
        .expect("an answer")
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

        let answer = create_with(&t, fields).await;

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

        let answer = create_with(&t, fields).await;

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
        let answer = create_with(&t, create_fields("AMOUNT-1", amount)).await;

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

    let answer = create_with(&t, fields).await;

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

    let subject_answer = create_with(&t, long_subject).await;
    let number_answer = create_with(&t, long_number).await;

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

    let answer = create_with(&t, fields).await;

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
