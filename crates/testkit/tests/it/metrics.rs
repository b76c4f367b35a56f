//! `GET /metrics` (issue #2, acceptance 6; DESIGN §13): Prometheus text that counts requests by
//! route and shows orders by status.
//!
//! The recorder is process-global and every test in this binary shares it, so request counters
//! are checked to have grown, never for exact values. The order gauges are set from the database
//! of whichever app renders them; the tests here take `GAUGE_LOCK` so that the SQLite and
//! PostgreSQL runs do not overwrite each other's gauges between setting and reading them.

use crate::support::{unpaid_order, wallet_order};
use paygate_testkit::{both_databases, spawn_app, DbBackend, TestApp};
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
    let before = scrape(&t).await;

    t.client
        .create_order(&unpaid_order("METRICS-1", "1.00"))
        .await
        .expect("create unpaid");
    t.client
        .create_order(&wallet_order("METRICS-2", "2.00", &code))
        .await
        .expect("create paid");
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
    assert_eq!(orders(&after, r#"status="WAIT_PAY""#), 1.0);
    assert_eq!(orders(&after, r#"status="SUCCESS""#), 1.0);
    assert_eq!(orders(&after, r#"status="CLOSED""#), 0.0);
    t.stop().await;
}
both_databases!(metrics_count_create_requests_and_orders_by_status);
