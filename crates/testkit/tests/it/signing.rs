//! Signed requests and answers (issue #2, acceptance 3; DESIGN §3, §12): every algorithm works
//! end to end, and a forged, stale, replayed, tampered or downgraded request is refused with 1002
//! before it can write anything.

use crate::support::{assert_raw_error, count_rows, create_fields, unpaid_order};
use paygate_app::Clock;
use paygate_app::CreatedMerchant;
use paygate_client::{paths, Client, OrderRef, QueryOrder};
use paygate_domain::sign::{RsaPublicKey, SignKey, SignType, VerifyKey};
use paygate_domain::OrderStatus;
use paygate_testkit::{
    both_databases, client_for, create_merchant, spawn_app, spawn_app_with, DbBackend, TestApp,
    TestOptions,
};
use serde_json::{json, Map, Value};
use std::time::{SystemTime, UNIX_EPOCH};

const TEN_MINUTES_SECS: i64 = 10 * 60;

/// How a merchant checks our answers: its own secret, or the platform's published RSA key.
fn answer_key(t: &TestApp, merchant: &CreatedMerchant) -> VerifyKey {
    match merchant.sign_type {
        SignType::Md5 => VerifyKey::Md5(merchant.secret.clone()),
        SignType::HmacSha256 => VerifyKey::HmacSha256(merchant.secret.clone()),
        SignType::Rsa2 => VerifyKey::Rsa2(
            RsaPublicKey::from_text(&t.app.platform_public_key()).expect("platform key"),
        ),
    }
}

fn now_secs() -> i64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
    i64::try_from(since_epoch.as_secs()).expect("seconds fit i64")
}

/// A refused request: 1002 over HTTP 401, and no order written.
async fn assert_refused_as_unauthentic(t: &TestApp, answer: &(u16, Map<String, Value>)) {
    assert_eq!(assert_raw_error(answer, "1002"), 401);
    assert_eq!(
        count_rows(t, "orders").await,
        0,
        "a refused request wrote an order"
    );
}

async fn every_sign_type_round_trips_create_and_query(backend: DbBackend) {
    let t = spawn_app(backend).await;
    for sign_type in SignType::ALL {
        let merchant = create_merchant(&t.app, sign_type).await;
        let client = client_for(&t.base_url, &merchant);
        let number = format!("SIGNED-{}", sign_type.as_str());

        let created = client
            .create_order(&unpaid_order(&number, "1.00"))
            .await
            .unwrap_or_else(|e| panic!("{sign_type} create: {e:?}"));
        let queried = client
            .query_order(&QueryOrder::from(OrderRef::TradeNo(
                created.trade_no.clone(),
            )))
            .await
            .unwrap_or_else(|e| panic!("{sign_type} query: {e:?}"));

        assert_eq!(queried.trade_no, created.trade_no);
        assert_eq!(queried.trade_status, OrderStatus::WaitPay);
        let key = answer_key(&t, &merchant);
        for answer in [&created.raw, &queried.raw] {
            assert_eq!(answer["sign_type"], sign_type.as_str());
            assert_eq!(key.verify(answer), Ok(()), "{sign_type} answer signature");
        }
    }
    t.stop().await;
}
both_databases!(every_sign_type_round_trips_create_and_query);

async fn a_wrong_signature_is_refused(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let mut forged = t
        .client
        .sign_fields(create_fields("FORGED-1", "10.00"))
        .expect("sign");
    forged.insert("sign".into(), "0123456789ABCDEF0123456789ABCDEF".into());

    let answer = t
        .client
        .send_unsigned(paths::CREATE, forged)
        .await
        .expect("an answer");

    assert_refused_as_unauthentic(&t, &answer).await;
    assert_eq!(
        answer_key(&t, &t.merchant).verify(&answer.1),
        Ok(()),
        "the refusal is signed for the merchant it names"
    );
    t.stop().await;
}
both_databases!(a_wrong_signature_is_refused);

async fn a_request_ten_minutes_old_is_refused(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let mut stale = create_fields("STALE-1", "10.00");
    stale.insert("timestamp".into(), (now_secs() - TEN_MINUTES_SECS).into());

    let answer = t
        .client
        .call_raw(paths::CREATE, stale)
        .await
        .expect("an answer");

    assert_refused_as_unauthentic(&t, &answer).await;
    t.stop().await;
}
both_databases!(a_request_ten_minutes_old_is_refused);

async fn a_replayed_request_is_refused(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let signed = t
        .client
        .sign_fields(create_fields("REPLAY-1", "10.00"))
        .expect("sign");

    let first = t
        .client
        .send_unsigned(paths::CREATE, signed.clone())
        .await
        .expect("an answer");
    let replay = t
        .client
        .send_unsigned(paths::CREATE, signed)
        .await
        .expect("an answer");

    assert_eq!(first.0, 200);
    assert_eq!(first.1["code"], "SUCCESS", "{:?}", first.1);
    assert_eq!(assert_raw_error(&replay, "1002"), 401);
    assert_eq!(count_rows(&t, "orders").await, 1, "only the first wrote");
    assert_eq!(count_rows(&t, "order_transitions").await, 1);
    t.stop().await;
}
both_databases!(a_replayed_request_is_refused);

async fn an_amount_changed_after_signing_is_refused(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let mut tampered = t
        .client
        .sign_fields(create_fields("TAMPER-1", "100.00"))
        .expect("sign");
    tampered.insert("total_amount".into(), "0.01".into());

    let answer = t
        .client
        .send_unsigned(paths::CREATE, tampered)
        .await
        .expect("an answer");

    assert_refused_as_unauthentic(&t, &answer).await;
    t.stop().await;
}
both_databases!(an_amount_changed_after_signing_is_refused);

/// An HMAC-SHA256 merchant's secret also makes valid MD5 signatures; accepting them would let
/// an attacker pick the weaker algorithm (seed 003's algorithm substitution).
async fn a_weaker_sign_type_than_configured_is_refused(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let merchant = create_merchant(&t.app, SignType::HmacSha256).await;
    let downgraded = Client::new(
        t.base_url.clone(),
        merchant.id.clone(),
        SignKey::Md5(merchant.secret.clone()),
    )
    .expect("client");

    let answer = downgraded
        .call_raw(paths::CREATE, create_fields("DOWNGRADE-1", "10.00"))
        .await
        .expect("an answer");

    assert_refused_as_unauthentic(&t, &answer).await;
    t.stop().await;
}
both_databases!(a_weaker_sign_type_than_configured_is_refused);

async fn a_refusal_to_a_known_merchant_is_signed(backend: DbBackend) {
    let t = spawn_app(backend).await;
    for sign_type in SignType::ALL {
        let merchant = create_merchant(&t.app, sign_type).await;
        let client = client_for(&t.base_url, &merchant);
        let mut unknown_order = Map::new();
        unknown_order.insert("out_trade_no".into(), "NO-SUCH-ORDER".into());

        let answer = client
            .call_raw(paths::QUERY, unknown_order)
            .await
            .expect("an answer");

        assert_eq!(assert_raw_error(&answer, "1003"), 404);
        assert_eq!(answer.1["sign_type"], sign_type.as_str());
        assert_eq!(
            answer_key(&t, &merchant).verify(&answer.1),
            Ok(()),
            "{sign_type} refusal signature"
        );
    }
    t.stop().await;
}
both_databases!(a_refusal_to_a_known_merchant_is_signed);

/// A 1002 for exactly `why`, and nothing written: no order, no nonce.
async fn assert_refused_because(
    t: &TestApp,
    answer: &(u16, Map<String, Value>),
    why: &str,
    nonces_before: i64,
) {
    assert_refused_as_unauthentic(t, answer).await;
    assert_eq!(answer.1["msg"], why, "{:?}", answer.1);
    assert_eq!(
        count_rows(t, "request_nonces").await,
        nonces_before,
        "a refused request burnt a nonce"
    );
}

/// The merchant's shared secret also makes MD5 and HMAC signatures; an RSA2 merchant must not
/// be reachable through them (algorithm substitution).
async fn an_rsa2_merchant_refuses_md5_and_hmac_signatures(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let merchant = create_merchant(&t.app, SignType::Rsa2).await;
    let nonces_before = count_rows(&t, "request_nonces").await;
    for weaker in [
        SignKey::Md5(merchant.secret.clone()),
        SignKey::HmacSha256(merchant.secret.clone()),
    ] {
        let sign_type = weaker.sign_type();
        let client = Client::new(t.base_url.clone(), merchant.id.clone(), weaker).expect("client");

        let answer = client
            .call_raw(paths::CREATE, create_fields("RSA2-DOWNGRADE-1", "10.00"))
            .await
            .expect("an answer");

        let why = format!("sign_type {sign_type} is not the merchant's configured RSA2");
        assert_refused_because(&t, &answer, &why, nonces_before).await;
    }
    t.stop().await;
}
both_databases!(an_rsa2_merchant_refuses_md5_and_hmac_signatures);

/// A missing `sign_type` means MD5 (the classic API's default), so an HMAC merchant's request
/// without one is a downgrade even when its HMAC signature is right.
async fn an_hmac_merchants_request_without_sign_type_is_refused(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let merchant = create_merchant(&t.app, SignType::HmacSha256).await;
    let client = client_for(&t.base_url, &merchant);
    let mut fields = create_fields("NO-SIGN-TYPE-1", "10.00");
    fields.insert("merchant_id".into(), merchant.id.as_str().into());
    fields.insert("timestamp".into(), now_secs().into());
    fields.insert("nonce".into(), "NoSignType0001".into());
    let sign = SignKey::HmacSha256(merchant.secret.clone())
        .sign(&fields)
        .expect("sign");
    fields.insert("sign".into(), sign.into());
    let nonces_before = count_rows(&t, "request_nonces").await;

    let answer = client
        .send_unsigned(paths::CREATE, fields)
        .await
        .expect("an answer");

    let why = "sign_type MD5 is not the merchant's configured HMAC-SHA256";
    assert_refused_because(&t, &answer, why, nonces_before).await;
    t.stop().await;
}
both_databases!(an_hmac_merchants_request_without_sign_type_is_refused);

const WINDOW_SECS: i64 = 300;

fn stale_message() -> String {
    format!("timestamp is more than {WINDOW_SECS} seconds from the gateway's clock")
}

/// Sends a create signed at `timestamp` (anything JSON), with a number unique to the case.
async fn create_at(t: &TestApp, number: &str, timestamp: Value) -> (u16, Map<String, Value>) {
    let mut fields = create_fields(number, "10.00");
    fields.insert("timestamp".into(), timestamp);
    t.client
        .call_raw(paths::CREATE, fields)
        .await
        .expect("an answer")
}

/// The window is ±300 s of the gateway's clock (held still here): 301 s either way is refused,
/// 299 s and the bound itself are accepted.
async fn the_timestamp_window_is_300_seconds_each_way(backend: DbBackend) {
    let (options, clock) = TestOptions::with_manual_clock();
    let t = spawn_app_with(backend, options).await;
    let now = clock.now_ms() / 1000;
    let nonces_before = count_rows(&t, "request_nonces").await;

    for (i, offset) in [301, -301].into_iter().enumerate() {
        let answer = create_at(&t, &format!("WINDOW-OUT-{i}"), json!(now + offset)).await;
        assert_refused_because(&t, &answer, &stale_message(), nonces_before).await;
    }
    for (i, offset) in [299, -299, 300, -300].into_iter().enumerate() {
        let answer = create_at(&t, &format!("WINDOW-IN-{i}"), json!(now + offset)).await;
        assert_eq!(answer.0, 200, "offset {offset}: {:?}", answer.1);
        assert_eq!(
            answer.1["code"], "SUCCESS",
            "offset {offset}: {:?}",
            answer.1
        );
    }
    assert_eq!(count_rows(&t, "orders").await, 4);
    assert_eq!(count_rows(&t, "request_nonces").await, nonces_before + 4);
    t.stop().await;
}
both_databases!(the_timestamp_window_is_300_seconds_each_way);

/// Untrusted numbers are compared without overflow: the i64 extremes and integers beyond i64,
/// as JSON numbers or digit text, are stale (1002), never a panic and never a wrap into the
/// window. The requests are signed correctly, so only the timestamp check can refuse them.
async fn extreme_timestamps_are_refused_as_stale(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let nonces_before = count_rows(&t, "request_nonces").await;
    let extremes = [
        json!(i64::MIN),
        json!(i64::MAX),
        json!(u64::MAX),
        json!("-9223372036854775808"),
        json!("9223372036854775807"),
        json!("9223372036854775808"),
        json!("-99999999999999999999999999"),
        json!(0),
    ];

    for (i, timestamp) in extremes.into_iter().enumerate() {
        let answer = create_at(&t, &format!("EXTREME-{i}"), timestamp.clone()).await;
        assert_refused_because(&t, &answer, &stale_message(), nonces_before).await;
    }
    t.stop().await;
}
both_databases!(extreme_timestamps_are_refused_as_stale);

/// The nonce is recorded only once the signature holds, so a forger cannot burn a merchant's
/// nonces; a genuine request with the same nonce afterwards still goes through.
async fn a_forged_request_writes_no_nonce(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let mut fields = create_fields("FORGED-NONCE-1", "10.00");
    fields.insert("nonce".into(), "ForgedNonce00001".into());
    let genuine = t.client.sign_fields(fields).expect("sign");
    let mut forged = genuine.clone();
    forged.insert("sign".into(), "0123456789ABCDEF0123456789ABCDEF".into());
    let nonces_before = count_rows(&t, "request_nonces").await;

    let refused = t
        .client
        .send_unsigned(paths::CREATE, forged)
        .await
        .expect("an answer");
    assert_refused_because(&t, &refused, "signature does not match", nonces_before).await;

    let accepted = t
        .client
        .send_unsigned(paths::CREATE, genuine)
        .await
        .expect("an answer");
    assert_eq!(accepted.1["code"], "SUCCESS", "{:?}", accepted.1);
    assert_eq!(count_rows(&t, "request_nonces").await, nonces_before + 1);
    t.stop().await;
}
both_databases!(a_forged_request_writes_no_nonce);
