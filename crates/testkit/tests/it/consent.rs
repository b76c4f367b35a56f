//! Payer consent (issue #6, acceptance 4): a merchant without the payer's consent cannot move a
//! fen of the payer's wallet. Only a one-time pay code the payer's wallet issued charges; it is
//! bound to the first trade that presents it, lives 60 s, and is otherwise refused with 1011,
//! before anything is said about any account or balance.

use crate::support::{
    all_at_once, assert_param_error, assert_raw_error, balance_fen, count_rows, create_fields,
    create_raw, write_counts,
};
use paygate_client::paths;
use paygate_domain::sign::SignType;
use paygate_domain::PayCode;
use paygate_testkit::{
    both_databases, client_for, create_merchant, spawn_app, spawn_app_with, DbBackend, TestApp,
    TestOptions,
};
use serde_json::{Map, Value};

const CONCURRENT_CODE_USES: usize = 20;
const UNKNOWN_CODE: &str = "880000000000000001";

fn paid_with(number: &str, amount: &str, code: &str) -> Map<String, Value> {
    let mut fields = create_fields(number, amount);
    fields.insert("auth_code".into(), code.into());
    fields
}

/// The answer without what differs between any two orders (numbers, link, signature, time).
fn comparable(mut answer: Map<String, Value>) -> Map<String, Value> {
    for volatile in ["trade_no", "out_trade_no", "pay_url", "sign", "timestamp"] {
        answer.remove(volatile);
    }
    answer
}

async fn creates_without_a_pay_code_never_charge_and_reveal_no_account(backend: DbBackend) {
    let (options, _clock) = TestOptions::with_manual_clock();
    let t = spawn_app_with(backend, options).await;
    let alice = t.fund_wallet("alice", "100.00").await;
    let mut names_alice = create_fields("BUYER-1", "10.00");
    names_alice.insert("buyer_id".into(), "alice".into());
    let mut names_nobody = create_fields("BUYER-2", "10.00");
    names_nobody.insert("buyer_id".into(), "nobody".into());

    let plain = create_raw(&t, create_fields("PLAIN-1", "10.00")).await;
    let existing = create_raw(&t, names_alice).await;
    let missing = create_raw(&t, names_nobody).await;

    for answer in [&plain, &existing, &missing] {
        assert_eq!(answer.0, 200, "{:?}", answer.1);
        assert_eq!(answer.1["trade_status"], "WAIT_PAY");
    }
    assert_eq!(
        comparable(existing.1),
        comparable(missing.1),
        "an existing and a missing account get the same answer"
    );
    assert_eq!(balance_fen(&t, &alice).await, 100_00);
    assert_eq!(count_rows(&t, "wallet_payments").await, 0);
    t.stop().await;
}
both_databases!(creates_without_a_pay_code_never_charge_and_reveal_no_account);

async fn a_code_bound_to_one_merchants_trade_is_refused_to_another(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let alice = t.fund_wallet("alice", "100.00").await;
    let code = t.pay_code("alice").await;
    let other = create_merchant(&t.app, SignType::Md5).await;
    let other_client = client_for(&t.base_url, &other);

    let first = create_raw(&t, paid_with("SHOP-A-1", "10.00", code.as_str())).await;
    let second = other_client
        .call_raw(paths::CREATE, paid_with("SHOP-B-1", "50.00", code.as_str()))
        .await
        .expect("an answer");

    assert_eq!(first.1["trade_status"], "SUCCESS");
    assert_eq!(assert_raw_error(&second, "1011"), 403);
    assert_eq!(second.1["msg"], "pay code invalid or expired");
    assert_eq!(balance_fen(&t, &alice).await, 90_00);
    assert_eq!(count_rows(&t, "wallet_payments").await, 1);
    t.stop().await;
}
both_databases!(a_code_bound_to_one_merchants_trade_is_refused_to_another);

async fn a_spent_code_is_refused(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let alice = t.fund_wallet("alice", "100.00").await;
    let code = t.pay_code("alice").await;
    let paid = create_raw(&t, paid_with("SPENT-1", "10.00", code.as_str())).await;
    assert_eq!(paid.1["trade_status"], "SUCCESS");

    let again = create_raw(&t, paid_with("SPENT-2", "10.00", code.as_str())).await;

    assert_eq!(assert_raw_error(&again, "1011"), 403);
    assert_eq!(balance_fen(&t, &alice).await, 90_00);
    assert_eq!(count_rows(&t, "wallet_payments").await, 1);
    t.stop().await;
}
both_databases!(a_spent_code_is_refused);

async fn twenty_concurrent_uses_of_one_code_charge_once(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let alice = t.fund_wallet("alice", "100.00").await;
    let code = t.pay_code("alice").await;

    let answers = all_at_once(CONCURRENT_CODE_USES, |i| {
        let client = t.client.clone();
        let fields = paid_with(&format!("RACE-CODE-{i}"), "1.00", code.as_str());
        async move { client.call_raw(paths::CREATE, fields).await }
    })
    .await;

    let mut paid = 0;
    for answer in answers {
        let answer = answer.expect("an answer");
        if answer.1["code"] == "SUCCESS" {
            assert_eq!(answer.1["trade_status"], "SUCCESS");
            paid += 1;
        } else {
            assert_eq!(assert_raw_error(&answer, "1011"), 403);
        }
    }
    assert_eq!(paid, 1);
    assert_eq!(balance_fen(&t, &alice).await, 99_00);
    assert_eq!(count_rows(&t, "wallet_payments").await, 1);
    t.stop().await;
}
both_databases!(twenty_concurrent_uses_of_one_code_charge_once);

async fn an_expired_or_unknown_code_is_refused_before_any_balance_check(backend: DbBackend) {
    let (options, clock) = TestOptions::with_manual_clock();
    let t = spawn_app_with(backend, options).await;
    let alice = t.fund_wallet("alice", "1.00").await;
    let code = t.pay_code("alice").await;
    clock.advance_ms(61_000);

    // 50.00 exceeds alice's balance: still 1011, never 1005, so the answer says nothing of it.
    let expired = create_raw(&t, paid_with("LATE-1", "50.00", code.as_str())).await;
    let unknown = create_raw(&t, paid_with("LATE-2", "50.00", UNKNOWN_CODE)).await;

    assert_eq!(assert_raw_error(&expired, "1011"), 403);
    assert_eq!(assert_raw_error(&unknown, "1011"), 403);
    assert_eq!(balance_fen(&t, &alice).await, 1_00);
    assert_eq!(count_rows(&t, "wallet_payments").await, 0);
    t.stop().await;
}
both_databases!(an_expired_or_unknown_code_is_refused_before_any_balance_check);

async fn a_code_still_fresh_at_59_seconds_pays(backend: DbBackend) {
    let (options, clock) = TestOptions::with_manual_clock();
    let t = spawn_app_with(backend, options).await;
    let alice = t.fund_wallet("alice", "10.00").await;
    let code = t.pay_code("alice").await;
    clock.advance_ms(59_000);

    let paid = create_raw(&t, paid_with("FRESH-1", "10.00", code.as_str())).await;

    assert_eq!(paid.1["trade_status"], "SUCCESS", "{:?}", paid.1);
    assert_eq!(balance_fen(&t, &alice).await, 0);
    t.stop().await;
}
both_databases!(a_code_still_fresh_at_59_seconds_pays);

async fn a_malformed_code_is_a_parameter_error_that_writes_nothing(backend: DbBackend) {
    let t = spawn_app(backend).await;
    t.fund_wallet("alice", "10.00").await;
    let before = write_counts(&t).await;

    for bad in [
        "12345",
        "280000000000000001",
        "88000000000000000x",
        "8800000000000000012",
    ] {
        let answer = create_raw(&t, paid_with("BAD-CODE-1", "1.00", bad)).await;
        assert_eq!(assert_param_error(&answer), "auth_code", "{bad}");
    }

    assert_eq!(write_counts(&t).await, before);
    t.stop().await;
}
both_databases!(a_malformed_code_is_a_parameter_error_that_writes_nothing);

async fn ask_for_code(t: &TestApp, token: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new().post(format!("{}/api/wallet/paycode", t.base_url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("an answer");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

async fn the_payers_app_gets_codes_with_its_token_and_only_with_it(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let alice = t.fund_wallet("alice", "10.00").await;
    let old = t.app.issue_payer_token(&alice).await.expect("token");
    let token = t
        .app
        .issue_payer_token(&alice)
        .await
        .expect("rotated token");

    let (status, issued) = ask_for_code(&t, Some(token.as_str())).await;
    assert_eq!(status, 200);
    assert_eq!(issued["expires_in"], 60);
    let code = issued["auth_code"].as_str().expect("a code");
    assert!(PayCode::parse(code).is_ok(), "{code}");
    let paid = create_raw(&t, paid_with("APP-1", "4.00", code)).await;
    assert_eq!(paid.1["trade_status"], "SUCCESS");
    assert_eq!(balance_fen(&t, &alice).await, 6_00);

    let codes_before = count_rows(&t, "wallet_paycodes").await;
    for token in [None, Some("pt_wrong"), Some(old.as_str()), Some("alice")] {
        let (status, body) = ask_for_code(&t, token).await;
        assert_eq!(status, 401, "{token:?}");
        assert_eq!(body["code"], "FAIL");
        assert_eq!(body["error_code"], "1002");
        assert_eq!(body["msg"], "payer token missing or wrong");
        assert!(body.get("auth_code").is_none());
    }
    assert_eq!(count_rows(&t, "wallet_paycodes").await, codes_before);
    t.stop().await;
}
both_databases!(the_payers_app_gets_codes_with_its_token_and_only_with_it);
