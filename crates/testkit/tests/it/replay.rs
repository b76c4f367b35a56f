//! A create's nonce is recorded in the order's own transaction (issue #7), and is exactly as
//! strict as a nonce recorded before the create: a replay is refused (1002) whether the first
//! request's create committed, met an existing order, or failed, and two copies of one request
//! in flight together make one order and one refusal.

use crate::support::{
    all_at_once, assert_param_error, assert_raw_error, count_rows, create_fields,
};
use paygate_client::paths;
use paygate_testkit::{both_databases, spawn_app, DbBackend, TestApp};
use serde_json::{Map, Value};

const REPLAYED: &str = "nonce was already used";

/// Sends exactly these signed fields (the client adds nothing) and returns the answer.
async fn send(t: &TestApp, signed: &Map<String, Value>) -> (u16, Map<String, Value>) {
    t.client
        .send_unsigned(paths::CREATE, signed.clone())
        .await
        .expect("an answer")
}

fn assert_replay_refused(answer: &(u16, Map<String, Value>)) {
    assert_eq!(assert_raw_error(answer, "1002"), 401);
    assert_eq!(answer.1["msg"], REPLAYED, "{:?}", answer.1);
}

async fn a_replay_of_a_committed_create_is_refused(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let signed = t
        .client
        .sign_fields(create_fields("ONCE-1", "10.00"))
        .unwrap();

    let first = send(&t, &signed).await;
    let replay = send(&t, &signed).await;

    assert_eq!(first.1["code"], "SUCCESS", "{:?}", first.1);
    assert_replay_refused(&replay);
    assert_eq!(count_rows(&t, "orders").await, 1);
    assert_eq!(count_rows(&t, "order_transitions").await, 1);
    assert_eq!(
        count_rows(&t, "request_nonces").await,
        1,
        "the create recorded its nonce"
    );
    t.stop().await;
}
both_databases!(a_replay_of_a_committed_create_is_refused);

/// A retry under a new nonce meets the existing order and answers it; its own replay is then
/// refused, though it wrote no order.
async fn a_replay_of_a_retry_that_met_its_order_is_refused(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let fields = create_fields("ONCE-2", "10.00");
    let first = send(&t, &t.client.sign_fields(fields.clone()).unwrap()).await;
    let retry = t.client.sign_fields(fields).unwrap();

    let answered = send(&t, &retry).await;
    let replay = send(&t, &retry).await;

    assert_eq!(answered.1["code"], "SUCCESS", "{:?}", answered.1);
    assert_eq!(answered.1["trade_no"], first.1["trade_no"]);
    assert_replay_refused(&replay);
    assert_eq!(count_rows(&t, "orders").await, 1);
    assert_eq!(count_rows(&t, "request_nonces").await, 2);
    t.stop().await;
}
both_databases!(a_replay_of_a_retry_that_met_its_order_is_refused);

/// A create refused by the parse (a malformed amount) and one refused by the merchant's
/// settings (a currency the pay type does not take) both write no order, yet burn their nonce:
/// the replay is refused as a replay, not answered as a parameter error again.
async fn a_replay_of_a_refused_create_is_refused(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let mut bad_currency = create_fields("ONCE-3", "10.00");
    bad_currency.insert("currency".into(), "HKD".into());
    for (fields, field) in [
        (create_fields("ONCE-4", "10.001"), "total_amount"),
        (bad_currency, "currency"),
    ] {
        let signed = t.client.sign_fields(fields).unwrap();

        let first = send(&t, &signed).await;
        let replay = send(&t, &signed).await;

        assert_eq!(assert_param_error(&first), field);
        assert_replay_refused(&replay);
    }
    assert_eq!(count_rows(&t, "orders").await, 0);
    assert_eq!(count_rows(&t, "request_nonces").await, 2);
    t.stop().await;
}
both_databases!(a_replay_of_a_refused_create_is_refused);

/// A charge the payer cannot cover fails after the order committed (1005); the replay is
/// refused, and the payer is not asked again.
async fn a_replay_of_a_create_whose_charge_failed_is_refused(backend: DbBackend) {
    let t = spawn_app(backend).await;
    t.fund_wallet("alice", "5.00").await;
    let mut fields = create_fields("ONCE-5", "5.01");
    fields.insert(
        "auth_code".into(),
        t.pay_code("alice").await.as_str().into(),
    );
    let signed = t.client.sign_fields(fields).unwrap();

    let first = send(&t, &signed).await;
    let replay = send(&t, &signed).await;

    assert_eq!(assert_raw_error(&first, "1005"), 402);
    assert_replay_refused(&replay);
    assert_eq!(count_rows(&t, "wallet_payments").await, 0);
    t.stop().await;
}
both_databases!(a_replay_of_a_create_whose_charge_failed_is_refused);

/// Makes every insert into `orders` fail inside the database, after the request was verified.
async fn break_order_inserts(t: &TestApp) {
    let pool = t.store().pool();
    let statements: &[&str] = match t.store().backend() {
        DbBackend::Sqlite => &["CREATE TRIGGER no_orders BEFORE INSERT ON orders
             BEGIN SELECT RAISE(ABORT, 'orders are broken'); END"],
        DbBackend::Postgres => &[
            "CREATE FUNCTION no_orders() RETURNS trigger LANGUAGE plpgsql AS
             $$ BEGIN RAISE EXCEPTION 'orders are broken'; END $$",
            "CREATE TRIGGER no_orders BEFORE INSERT ON orders
             FOR EACH ROW EXECUTE FUNCTION no_orders()",
        ],
    };
    for statement in statements {
        sqlx::query(statement)
            .execute(pool)
            .await
            .expect("break order inserts");
    }
}

/// The order's transaction fails in the database (answered 1006, retry later): the nonce is
/// still recorded on its own, so the replay is refused as a replay.
async fn a_replay_of_a_create_that_met_a_database_error_is_refused(backend: DbBackend) {
    let t = spawn_app(backend).await;
    break_order_inserts(&t).await;
    let signed = t
        .client
        .sign_fields(create_fields("ONCE-6", "10.00"))
        .unwrap();

    let first = send(&t, &signed).await;
    let replay = send(&t, &signed).await;

    assert_eq!(assert_raw_error(&first, "1006"), 503);
    assert_replay_refused(&replay);
    assert_eq!(count_rows(&t, "orders").await, 0);
    assert_eq!(count_rows(&t, "request_nonces").await, 1);
    t.stop().await;
}
both_databases!(a_replay_of_a_create_that_met_a_database_error_is_refused);

/// Two copies of one signed create, released together, again and again: each time one order
/// and one replay refusal, whichever copy wins.
async fn two_concurrent_copies_make_one_order_and_one_refusal(backend: DbBackend) {
    const ROUNDS: usize = 8;
    let t = spawn_app(backend).await;
    for round in 0..ROUNDS {
        let fields = create_fields(&format!("TWIN-{round}"), "10.00");
        let signed = t.client.sign_fields(fields).unwrap();

        let answers = all_at_once(2, |_| {
            let (client, signed) = (t.client.clone(), signed.clone());
            async move { client.send_unsigned(paths::CREATE, signed).await }
        })
        .await;

        let answers: Vec<_> = answers.into_iter().map(|a| a.expect("an answer")).collect();
        let created = answers.iter().filter(|a| a.1["code"] == "SUCCESS").count();
        assert_eq!(created, 1, "round {round}: {answers:?}");
        let refused = answers.iter().find(|a| a.1["code"] != "SUCCESS").unwrap();
        assert_replay_refused(refused);
    }
    assert_eq!(count_rows(&t, "orders").await, ROUNDS as i64);
    assert_eq!(count_rows(&t, "order_transitions").await, ROUNDS as i64);
    t.stop().await;
}
both_databases!(two_concurrent_copies_make_one_order_and_one_refusal);
