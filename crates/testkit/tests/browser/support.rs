//! What the browser tests share: the app with every sandbox, cashier orders, and a merchant
//! site for the payer to come back to.

use axum::extract::RawQuery;
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use paygate_client::{CreateOrder, Order};
use paygate_domain::{Currency, Money, OutTradeNo, PayType, TradeNo};
use paygate_sandbox::{AlipaySandboxConfig, UnionpaySandboxConfig, WechatSandboxConfig};
use paygate_testkit::{spawn_app_with, DbBackend, TestApp, TestOptions};
use serde_json::{Map, Value};

pub const AMOUNT: &str = "12.34";
pub const SUBJECT: &str = "Browser mug";

/// `options` with the three channels' sandboxes running in-process.
pub fn with_sandboxes(options: TestOptions) -> TestOptions {
    TestOptions {
        wechat_sandbox: Some(WechatSandboxConfig::default()),
        alipay_sandbox: Some(AlipaySandboxConfig::default()),
        unionpay_sandbox: Some(UnionpaySandboxConfig::default()),
        ..options
    }
}

pub async fn sandboxed(backend: DbBackend) -> TestApp {
    spawn_app_with(backend, with_sandboxes(TestOptions::default())).await
}

/// A create for the cashier: `pay_type=auto` with no scene lets the payer choose the way.
pub fn cashier_request(out_trade_no: &str, return_url: Option<String>) -> CreateOrder {
    CreateOrder {
        out_trade_no: OutTradeNo::parse(out_trade_no).expect("a valid order number"),
        amount: Money::parse(AMOUNT, Currency::Cny).expect("a valid amount"),
        subject: SUBJECT.into(),
        body: None,
        pay_type: PayType::Auto,
        // Nobody listens: the notifier does not run unless a test turns the workers on.
        notify_url: "http://127.0.0.1:9/notify".into(),
        return_url,
        attach: None,
        expire_time: None,
        buyer_id: None,
        auth_code: None,
        openid: None,
        client_ip: None,
        scene: None,
        disable_credit: false,
        split: None,
    }
}

pub async fn create(t: &TestApp, request: &CreateOrder) -> Order {
    t.client
        .create_order(request)
        .await
        .unwrap_or_else(|e| panic!("create {}: {e}", request.out_trade_no.as_str()))
}

/// The order's cashier link, as create answered it.
pub fn pay_url(order: &Order) -> String {
    order
        .pay_url
        .clone()
        .expect("a cashier order has a pay_url")
}

pub fn trade_no(order: &Order) -> TradeNo {
    order.trade_no.clone()
}

/// Waits (polling the merchant API) until the order is paid.
pub async fn until_paid(t: &TestApp, trade_no: &TradeNo) {
    let deadline = std::time::Instant::now() + crate::harness::WAIT;
    loop {
        let order = t
            .app
            .cashier_order(trade_no)
            .await
            .expect("the store answers")
            .expect("the order exists");
        if order.status == paygate_domain::OrderStatus::Success {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "order {trade_no} still {:?}",
            order.status
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The fields of a URL's query, as the merchant would read them to verify.
pub fn query_fields(url: &str) -> Map<String, Value> {
    let parsed = url::Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    parsed
        .query_pairs()
        .map(|(name, value)| (name.into_owned(), Value::String(value.into_owned())))
        .collect()
}

/// A merchant's return page: it shows the query it was given, so a test sees the browser
/// arrive.
pub struct ReturnSite {
    pub url: String,
    _server: tokio::task::JoinHandle<()>,
}

impl ReturnSite {
    pub async fn start() -> ReturnSite {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let url = format!("http://{}/return", listener.local_addr().expect("bound"));
        let app = Router::new().route(
            "/return",
            get(|RawQuery(query): RawQuery| async move {
                let query = query.unwrap_or_default().replace(['<', '>', '"', '&'], " ");
                Html(format!(
                    "<!doctype html><title>shop</title><main id=\"merchant-return\" \
                     data-query=\"{query}\">back at the shop</main>"
                ))
            }),
        );
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        ReturnSite {
            url,
            _server: server,
        }
    }
}
