//! `GET /metrics` (issue #2, acceptance 6; issue #6, item 8; DESIGN §13): Prometheus text that
//! counts requests by route and shows orders by status, at a cost per scrape that does not
//! depend on the data, optionally behind a bearer token.
//!
//! The recorder is process-global and every test in this binary shares it, so request counters
//! are checked to have grown, never for exact values. The order gauges are set from the database
//! of whichever app last refreshed them; the tests here take `GAUGE_LOCK` so that the SQLite and
//! PostgreSQL runs do not overwrite each other's gauges between setting and reading them.

use crate::support::{unpaid_order, wallet_order};
use paygate_app::AppSettings;
use paygate_testkit::{both_databases, spawn_app, spawn_app_with, DbBackend, TestApp, TestOptions};
use serde_json::Value;
use tokio::sync::Mutex;

static GAUGE_LOCK: Mutex<()> = Mutex::const_new(());

const CREATE_ROUTE: &str = r#"route="/api/payment/create""#;

async fn scrape(t: &TestApp) -> String {
    let response = reqwest::get(format!("{}/metrics", t.base_url))
        .await
        .expect("an answer");
    assert_eq!(response.status().as_u16(), 200);
    response.text().await.expect("text")
}

/// Sum of the samples of `name` whose labels include `label` (e.g. `status="WAIT_PAY"`).
fn sample_sum(text: &str, name: &str, label: &str) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let labels = series.strip_prefix(name)?.strip_prefix('{')?;
            labels.contains(label).then(|| value.parse::<f64>().ok())?
        })
        .sum()
}

async fn metrics_count_create_requests_and_orders_by_status(backend: DbBackend) {
    let _gauges = GAUGE_LOCK.lock().await;
    let t = spawn_app(backend).await;
    t.fund_wallet("alice", "10.00").await;
    let code = t.pay_code("alice").await;
    t.app.refresh_gauges().await.expect("refresh");
    let before = scrape(&t).await;

    t.client
        .create_order(&unpaid_order("METRICS-1", "1.00"))
        .await
        .expect("create unpaid");
    t.client
        .create_order(&wallet_order("METRICS-2", "2.00", &code))
        .await
        .expect("create paid");
    // A scrape renders the last refresh and runs no query: the new orders are not counted yet.
    let stale = scrape(&t).await;
    t.app.refresh_gauges().await.expect("refresh");
    let after = scrape(&t).await;

    let requests = |text: &str| sample_sum(text, "paygate_http_requests_total", CREATE_ROUTE);
    assert!(
        requests(&after) >= requests(&before) + 2.0,
        "create requests went from {} to {}",
        requests(&before),
        requests(&after)
    );
    let orders = |text: &str, status: &str| sample_sum(text, "paygate_orders", status);
    assert_eq!(orders(&before, r#"status="WAIT_PAY""#), 0.0);
    assert_eq!(orders(&stale, r#"status="WAIT_PAY""#), 0.0);
    assert_eq!(orders(&stale, r#"status="SUCCESS""#), 0.0);
    assert_eq!(orders(&after, r#"status="WAIT_PAY""#), 1.0);
    assert_eq!(orders(&after, r#"status="SUCCESS""#), 1.0);
    assert_eq!(orders(&after, r#"status="CLOSED""#), 0.0);
    t.stop().await;
}
both_databases!(metrics_count_create_requests_and_orders_by_status);

const METRICS_TOKEN: &str = "metrics-token-0123456789abcdef-xyz";

async fn metrics_with_a_token_needs_that_bearer_token(backend: DbBackend) {
    let t = spawn_app_with(
        backend,
        TestOptions {
            settings: AppSettings {
                metrics_token: Some(METRICS_TOKEN.into()),
                ..AppSettings::default()
            },
            ..TestOptions::default()
        },
    )
    .await;
    let http = reqwest::Client::new();
    let url = format!("{}/metrics", t.base_url);
    for request in [
        http.get(&url),
        http.get(&url).bearer_auth(""),
        http.get(&url).bearer_auth("metrics-token-wrong"),
        http.get(&url).bearer_auth(&METRICS_TOKEN[1..]),
        http.get(&url).basic_auth(METRICS_TOKEN, None::<&str>),
    ] {
        let refused = request.send().await.unwrap();
        assert_eq!(refused.status(), 401);
        let body: Value = refused.json().await.expect("a JSON error body");
        assert_eq!(body["code"], "FAIL");
        assert_eq!(body["error_code"], "1002");
    }
    let allowed = http
        .get(&url)
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), 200);
    assert!(allowed
        .text()
        .await
        .unwrap()
        .contains("paygate_http_requests_total"));
    t.stop().await;
}
both_databases!(metrics_with_a_token_needs_that_bearer_token);

async fn an_empty_metrics_token_leaves_metrics_open(backend: DbBackend) {
    let t = spawn_app_with(
        backend,
        TestOptions {
            settings: AppSettings {
                metrics_token: Some(String::new().into()),
                ..AppSettings::default()
            },
            ..TestOptions::default()
        },
    )
    .await;
    scrape(&t).await;
    t.stop().await;
}
both_databases!(an_empty_metrics_token_leaves_metrics_open);
