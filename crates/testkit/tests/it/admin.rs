//! The operator API: behind its own token, it shows every notification of an order with every
//! attempt, re-sends one now, and lists anomalies. Merchants cannot reach it.

use crate::support::yuan;
use paygate_app::notify::{Notifier, NotifierSettings};
use paygate_app::AppSettings;
use paygate_client::CreateOrder;
use paygate_domain::OutTradeNo;
use paygate_testkit::{
    both_databases, spawn_app, spawn_app_with, Answer, DbBackend, MerchantServer, TestOptions,
};
use serde_json::Value;

/// At least `ADMIN_TOKEN_CHARS_MIN` characters, as `serve` requires.
const TOKEN: &str = "operator-token-0123456789-abcdefghij";

/// The operator's request, with the token, answered in JSON.
async fn admin_json(request: reqwest::RequestBuilder) -> Value {
    let answer = request.bearer_auth(TOKEN).send().await.unwrap();
    answer.json().await.unwrap()
}

async fn operators_see_every_attempt_and_can_resend(backend: DbBackend) {
    let t = spawn_app_with(backend, with_admin_token(TOKEN)).await;
    let merchant = MerchantServer::start().await;
    merchant.script([Answer::Status(500)]);
    t.fund_wallet("alice", "50.00").await;
    let mut create = CreateOrder::new(
        OutTradeNo::parse("OP1").unwrap(),
        yuan("5.00"),
        "tea",
        merchant.url.as_str(),
    );
    create.auth_code = Some(t.pay_code("alice").await.into());
    let order = t.client.create_order(&create).await.unwrap();
    let notifier = Notifier::new(t.app.clone(), NotifierSettings::default()).unwrap();
    notifier.try_step().await.unwrap();

    let http = reqwest::Client::new();
    let list_url = format!(
        "{}/admin/orders/{}/notifications",
        t.base_url, order.trade_no
    );
    let anonymous = http.get(&list_url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401, "no token, no admin API");

    let listed = admin_json(http.get(&list_url)).await;
    let n = &listed["notifications"][0];
    assert_eq!(n["status"], "PENDING");
    assert_eq!(n["attempt_log"][0]["outcome"], "http 500");
    assert_eq!(n["attempt_log"][0]["http_status"], 500);

    // Re-send now, before the 2-minute retry is due.
    let id = n["id"].as_i64().unwrap();
    let resend_url = format!("{}/admin/notifications/{id}/resend", t.base_url);
    let queued = http
        .post(&resend_url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(queued.status(), 200);
    notifier.try_step().await.unwrap();
    let listed = admin_json(http.get(&list_url)).await;
    assert_eq!(listed["notifications"][0]["status"], "DELIVERED");
    assert_eq!(merchant.received().len(), 2);

    let missing = http
        .post(format!("{}/admin/notifications/999999/resend", t.base_url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 400);
    let malformed =
        admin_json(http.post(format!("{}/admin/notifications/abc/resend", t.base_url))).await;
    assert_eq!(
        malformed["error_code"], "1001",
        "a malformed id gets the stable code"
    );
    let anomalies = admin_json(http.get(format!("{}/admin/anomalies", t.base_url))).await;
    assert_eq!(anomalies["anomalies"].as_array().unwrap().len(), 0);
    t.stop().await;
}
both_databases!(operators_see_every_attempt_and_can_resend);

fn with_admin_token(token: &str) -> TestOptions {
    TestOptions {
        settings: AppSettings {
            admin_token: Some(token.into()),
            ..AppSettings::default()
        },
        ..TestOptions::default()
    }
}

async fn a_wrong_or_missing_admin_token_is_401(backend: DbBackend) {
    assert!(TOKEN.len() >= paygate_app::ADMIN_TOKEN_CHARS_MIN);
    let t = spawn_app_with(backend, with_admin_token(TOKEN)).await;
    let http = reqwest::Client::new();
    let url = format!("{}/admin/anomalies", t.base_url);
    let wrong_tokens = [
        format!("{TOKEN}x"),
        TOKEN[..TOKEN.len() - 1].to_owned(),
        TOKEN.to_uppercase(),
        "".to_owned(),
    ];
    for wrong in &wrong_tokens {
        let refused = http.get(&url).bearer_auth(wrong).send().await.unwrap();
        assert_eq!(refused.status(), 401, "token {wrong:?}");
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["error_code"], "1002");
    }
    let missing = http.get(&url).send().await.unwrap();
    assert_eq!(missing.status(), 401, "no Authorization header");
    let not_bearer = http
        .get(&url)
        .header("Authorization", TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(not_bearer.status(), 401, "the bare token without Bearer");
    let resend = http
        .post(format!("{}/admin/notifications/1/resend", t.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(resend.status(), 401, "every admin route checks the token");
    let right = http.get(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(right.status(), 200);
    t.stop().await;
}
both_databases!(a_wrong_or_missing_admin_token_is_401);

/// An empty configured token turns the admin API off (404, as with no token): it never matches
/// a missing or empty header.
async fn an_empty_admin_token_turns_the_admin_api_off(backend: DbBackend) {
    let t = spawn_app_with(backend, with_admin_token("")).await;
    let http = reqwest::Client::new();
    let url = format!("{}/admin/anomalies", t.base_url);
    let missing = http.get(&url).send().await.unwrap();
    assert_eq!(missing.status(), 404);
    let empty = http.get(&url).bearer_auth("").send().await.unwrap();
    assert_eq!(empty.status(), 404);
    let blank_header = http
        .get(&url)
        .header("Authorization", "")
        .send()
        .await
        .unwrap();
    assert_eq!(blank_header.status(), 404);
    t.stop().await;
}
both_databases!(an_empty_admin_token_turns_the_admin_api_off);

async fn without_a_token_configured_there_is_no_admin_api(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let response = reqwest::Client::new()
        .get(format!("{}/admin/anomalies", t.base_url))
        .bearer_auth("")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    t.stop().await;
}
both_databases!(without_a_token_configured_there_is_no_admin_api);
