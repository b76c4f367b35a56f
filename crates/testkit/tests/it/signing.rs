//! Signed requests and answers (issue #2, acceptance 3; DESIGN §3, §12): every algorithm works
//! end to end, and a forged, stale, replayed, tampered or downgraded request is refused with 1002
//! before it can write anything.

use crate::support::{assert_raw_error, count_rows, create_fields, unpaid_order};
use paygate_app::CreatedMerchant;
use paygate_client::{paths, Client, OrderRef, QueryOrder};
use paygate_domain::sign::{RsaPublicKey, SignKey, SignType, VerifyKey};
use paygate_domain::OrderStatus;
use paygate_testkit::{both_databases, client_for, create_merchant, spawn_app, DbBackend, TestApp};
use serde_json::{Map, Value};
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
