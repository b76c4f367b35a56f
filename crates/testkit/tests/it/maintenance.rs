//! Housekeeping: expired nonces are pruned, and pruning never reopens a replay, because a
//! request old enough for its nonce to be pruned is refused on its timestamp; pay codes that
//! expired unused are pruned, and a code a trade presented is kept.

use crate::support::alice_paid_ten_yuan;
use paygate_app::maintenance::{prune_nonces_step, prune_pay_codes_step, Outcome};
use paygate_testkit::{both_databases, spawn_app_with, DbBackend, TestOptions};
use serde_json::{json, Map, Value};

async fn pruned_nonces_cannot_be_replayed(backend: DbBackend) {
    let (options, clock) = TestOptions::with_manual_clock();
    let t = spawn_app_with(backend, options).await;
    let fields: Map<String, Value> = json!({"out_trade_no": "NOPE"}).as_object().unwrap().clone();
    let signed = t.client.sign_fields(fields).unwrap();
    let (status, first) = t
        .client
        .send_unsigned("/api/payment/query", signed.clone())
        .await
        .unwrap();
    assert_eq!((status, first["error_code"].as_str()), (404, Some("1003")));
    assert_eq!(
        prune_nonces_step(&t.app).await.unwrap(),
        Outcome::Idle,
        "still fresh"
    );

    clock.advance_ms(11 * 60 * 1000);
    assert!(matches!(
        prune_nonces_step(&t.app).await.unwrap(),
        Outcome::DidWork(n) if n >= 1
    ));
    let (status, replay) = t
        .client
        .send_unsigned("/api/payment/query", signed)
        .await
        .unwrap();
    assert_eq!((status, replay["error_code"].as_str()), (401, Some("1002")));
    t.stop().await;
}
both_databases!(pruned_nonces_cannot_be_replayed);

async fn pay_codes_that_expired_unused_are_pruned_and_used_ones_kept(backend: DbBackend) {
    let (options, clock) = TestOptions::with_manual_clock();
    let t = spawn_app_with(backend, options).await;
    // One code presented by a paid trade, then two issued and never used.
    alice_paid_ten_yuan(&t, "CODE-1").await;
    t.pay_code("alice").await;
    t.pay_code("alice").await;
    assert_eq!(t.store().count_rows("wallet_paycodes").await.unwrap(), 3);
    assert_eq!(
        prune_pay_codes_step(&t.app).await.unwrap(),
        Outcome::Idle,
        "all still valid"
    );

    clock.advance_ms(61 * 1000);
    assert_eq!(
        prune_pay_codes_step(&t.app).await.unwrap(),
        Outcome::DidWork(2)
    );
    assert_eq!(
        t.store().count_rows("wallet_paycodes").await.unwrap(),
        1,
        "the code the paid trade presented stays"
    );
    t.stop().await;
}
both_databases!(pay_codes_that_expired_unused_are_pruned_and_used_ones_kept);
