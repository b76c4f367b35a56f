//! `paygate demo-shop`: a tiny merchant web app, the whole payment flow on one machine.
//!
//! Its product page's Buy button signs a create (`pay_type=auto`, so the payer chooses the way
//! on the cashier) with the merchant SDK and sends the browser to the cashier's `pay_url`. The
//! gateway's notification is the authoritative result: the shop verifies its signature and
//! amount, marks the order paid and answers `success`. The return page checks the signed return
//! parameters (DESIGN §12) only to know which order the payer came back for; it shows "paid" only
//! once the notification has said so, polling the shop's own state.
//!
//! The browser tests start it in-process with `DemoShop::start`.

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use paygate_client::{Client, CreateOrder, OrderView};
use paygate_domain::sign::SignKey;
use paygate_domain::{Currency, MerchantId, Money, OrderStatus, OutTradeNo, PayType};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The one product on sale.
const PRODUCT: &str = "Paygate demo mug";
const PRICE: &str = "12.34";
/// What the gateway's notifier counts as an acknowledgement (DESIGN §7).
const ACK: &str = "success";
/// How often the return page asks the shop whether the notification has come.
const POLL_MS: u32 = 1_000;

/// Who the shop is at the gateway.
#[derive(Clone)]
pub struct DemoShopConfig {
    /// The gateway's root, e.g. `http://127.0.0.1:8080`.
    pub gateway: String,
    pub merchant_id: MerchantId,
    /// MD5 or HMAC-SHA256 with the merchant's secret.
    pub sign_key: SignKey,
}

/// `paygate demo-shop`'s options. Without `--merchant-id` and `--secret`, the shop is the demo
/// merchant that `paygate serve` wrote to `demo-merchant.json` in its data directory.
#[derive(clap::Args)]
pub struct DemoShopArgs {
    /// The gateway's root URL (default: the demo merchant file's `base_url`, else
    /// http://127.0.0.1:8080).
    #[arg(long, env = "PAYGATE_DEMO_GATEWAY")]
    pub gateway: Option<String>,
    /// Where the shop listens; its notify and return URLs are on this address.
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,
    #[arg(long, env = "PAYGATE_DEMO_MERCHANT_ID", requires = "secret")]
    pub merchant_id: Option<String>,
    /// The merchant's secret (MD5 or HMAC-SHA256 signing).
    #[arg(long, env = "PAYGATE_DEMO_SECRET", requires = "merchant_id")]
    pub secret: Option<String>,
    /// How the merchant signs: MD5 or HMAC-SHA256 (default: the demo merchant's, else MD5).
    #[arg(long)]
    pub sign_type: Option<String>,
}

/// The demo merchant as `serve` recorded it.
#[derive(serde::Deserialize)]
struct DemoMerchantFile {
    merchant_id: String,
    secret: String,
    sign_type: String,
    base_url: Option<String>,
}

/// Runs the shop until SIGTERM or Ctrl-C.
pub async fn run(settings: crate::config::Settings, args: DemoShopArgs) -> anyhow::Result<()> {
    let config = config_of(&settings.data_dir, &args)?;
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let shop = DemoShop::start(config.clone(), listener).await?;
    println!(
        "demo shop: {} (merchant {}, gateway {})",
        shop.base_url, config.merchant_id, config.gateway
    );
    crate::serve::shutdown_signal().await;
    shop.stop().await
}

const DEFAULT_GATEWAY: &str = "http://127.0.0.1:8080";

/// The merchant from the flags, else from `<data_dir>/demo-merchant.json`.
fn config_of(data_dir: &std::path::Path, given: &DemoShopArgs) -> anyhow::Result<DemoShopConfig> {
    let (merchant_id, secret, sign_type, file_gateway) = match (&given.merchant_id, &given.secret) {
        (Some(id), Some(secret)) => (id.clone(), secret.clone(), given.sign_type.clone(), None),
        _ => {
            let path = data_dir.join("demo-merchant.json");
            let text = std::fs::read_to_string(&path).map_err(|e| {
                anyhow::anyhow!(
                    "{}: {e}; run `paygate serve` once (it creates the demo merchant) or pass \
                     --merchant-id and --secret",
                    path.display()
                )
            })?;
            let file: DemoMerchantFile = serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            let sign_type = given.sign_type.clone().or(Some(file.sign_type));
            (file.merchant_id, file.secret, sign_type, file.base_url)
        }
    };
    let merchant_id =
        MerchantId::parse(&merchant_id).map_err(|e| anyhow::anyhow!("merchant id: {e}"))?;
    let sign_key = match sign_type.as_deref().unwrap_or("MD5") {
        "MD5" => SignKey::Md5(secret.into()),
        "HMAC-SHA256" => SignKey::HmacSha256(secret.into()),
        other => anyhow::bail!("sign type {other}: the demo shop signs with MD5 or HMAC-SHA256"),
    };
    // A file written by a serve that listened on port 0 names no reachable port.
    let file_gateway = file_gateway.filter(|url| !url.ends_with(":0"));
    let gateway = (given.gateway.clone())
        .or(file_gateway)
        .unwrap_or_else(|| DEFAULT_GATEWAY.to_owned());
    Ok(DemoShopConfig {
        gateway: gateway.trim_end_matches('/').to_owned(),
        merchant_id,
        sign_key,
    })
}

/// A running shop.
pub struct DemoShop {
    pub base_url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

#[derive(Debug, Clone)]
struct ShopOrder {
    amount: Money,
    trade_no: Option<String>,
    /// Set only from a verified notification.
    paid: bool,
}

struct Shop {
    client: Client,
    merchant_id: MerchantId,
    base_url: String,
    orders: Mutex<BTreeMap<String, ShopOrder>>,
    sequence: AtomicU64,
}

type Shared = Arc<Shop>;

impl DemoShop {
    /// Serves the shop on `listener`; its notify and return URLs are built on the listener's
    /// address.
    pub async fn start(
        config: DemoShopConfig,
        listener: tokio::net::TcpListener,
    ) -> anyhow::Result<DemoShop> {
        let address: SocketAddr = listener.local_addr()?;
        let base_url = format!("http://{address}");
        let client = Client::new(&config.gateway, config.merchant_id.clone(), config.sign_key)?;
        let shop = Arc::new(Shop {
            client,
            merchant_id: config.merchant_id,
            base_url: base_url.clone(),
            orders: Mutex::new(BTreeMap::new()),
            sequence: AtomicU64::new(0),
        });
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(listener, router(shop))
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await
        });
        Ok(DemoShop {
            base_url,
            shutdown: Some(tx),
            server,
        })
    }

    /// Stops accepting and waits for the server to finish.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        (&mut self.server).await??;
        Ok(())
    }
}

fn router(shop: Shared) -> Router {
    Router::new()
        .route("/", get(product_page))
        .route("/buy", post(buy))
        .route("/notify", post(notify))
        .route("/return", get(return_page))
        .route("/orders/{out_trade_no}", get(order_state))
        .with_state(shop)
}

async fn product_page() -> Html<String> {
    Html(layout(
        "Demo shop",
        &format!(
            "<main id=\"product\">\n<h1>{PRODUCT}</h1>\n\
             <p>Price: ¥<span id=\"price\">{PRICE}</span></p>\n\
             <form method=\"post\" action=\"/buy\"><button id=\"buy\" type=\"submit\">Buy</button>\
             </form>\n</main>"
        ),
    ))
}

async fn buy(State(shop): State<Shared>) -> Response {
    let out_trade_no = shop.next_out_trade_no();
    let amount = Money::parse(PRICE, Currency::Cny).expect("a valid price");
    let request = CreateOrder {
        out_trade_no: OutTradeNo::parse(&out_trade_no).expect("a valid order number"),
        amount,
        subject: PRODUCT.into(),
        body: None,
        pay_type: PayType::Auto,
        notify_url: format!("{}/notify", shop.base_url),
        return_url: Some(format!("{}/return", shop.base_url)),
        attach: None,
        expire_time: None,
        buyer_id: None,
        auth_code: None,
        openid: None,
        client_ip: None,
        scene: None,
        disable_credit: false,
        split: None,
    };
    shop.orders.lock().expect("orders lock").insert(
        out_trade_no.clone(),
        ShopOrder {
            amount,
            trade_no: None,
            paid: false,
        },
    );
    match shop.client.create_order(&request).await {
        Ok(order) => {
            if let Some(order_state) = shop
                .orders
                .lock()
                .expect("orders lock")
                .get_mut(&out_trade_no)
            {
                order_state.trade_no = Some(order.trade_no.as_str().to_owned());
            }
            match order.pay_url {
                Some(pay_url) => Redirect::to(&pay_url).into_response(),
                None => error_page(StatusCode::BAD_GATEWAY, "the gateway gave no pay_url"),
            }
        }
        Err(error) => {
            tracing::warn!(%error, "demo shop: create refused");
            error_page(
                StatusCode::BAD_GATEWAY,
                &format!("the gateway refused the order: {error}"),
            )
        }
    }
}

/// The gateway's notification: trusted only when signed by the gateway, for an order of ours,
/// for its full amount.
async fn notify(State(shop): State<Shared>, body: axum::body::Bytes) -> Response {
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "not a JSON object").into_response();
    };
    if let Err(error) = shop.client.verify(&fields).await {
        tracing::warn!(%error, "demo shop: notification refused");
        return (StatusCode::UNAUTHORIZED, "bad signature").into_response();
    }
    let Ok(order) = OrderView::from_fields(fields) else {
        return (StatusCode::BAD_REQUEST, "not an order").into_response();
    };
    if order.merchant_id.as_ref() != Some(&shop.merchant_id) {
        return (StatusCode::BAD_REQUEST, "not our merchant").into_response();
    }
    let mut orders = shop.orders.lock().expect("orders lock");
    let Some(ours) = orders.get_mut(order.out_trade_no.as_str()) else {
        return (StatusCode::NOT_FOUND, "unknown order").into_response();
    };
    if order.total_amount != ours.amount {
        return (StatusCode::BAD_REQUEST, "amount differs").into_response();
    }
    if order.trade_status == OrderStatus::Success {
        ours.paid = true;
        ours.trade_no = Some(order.trade_no.as_str().to_owned());
    }
    ([(header::CONTENT_TYPE, "text/plain")], ACK).into_response()
}

/// Where the cashier sends the payer back. The signed parameters say which order; whether it
/// is paid is the notification's to say.
async fn return_page(
    State(shop): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let fields: Map<String, Value> = query
        .iter()
        .map(|(name, value)| (name.clone(), Value::String(value.clone())))
        .collect();
    if shop.client.verify(&fields).await.is_err()
        || query.get("merchant_id").map(String::as_str) != Some(shop.merchant_id.as_str())
    {
        return error_page(
            StatusCode::BAD_REQUEST,
            "the return parameters are not signed by the gateway",
        );
    }
    let out_trade_no = query.get("out_trade_no").cloned().unwrap_or_default();
    let Some(order) = shop.order(&out_trade_no) else {
        return error_page(StatusCode::NOT_FOUND, "no such order in this shop");
    };
    if query.get("total_amount").map(String::as_str)
        != Some(order.amount.to_major_string().as_str())
    {
        return error_page(
            StatusCode::BAD_REQUEST,
            "the amount does not match the order",
        );
    }
    let (status, text) = status_of(&order);
    let out_trade_no = escape(&out_trade_no);
    let body = format!(
        "<main id=\"order\" data-out-trade-no=\"{out_trade_no}\" data-status=\"{status}\">\n\
         <h1>Order {out_trade_no}</h1>\n\
         <p id=\"return-verified\">The gateway's signed return parameters check out.</p>\n\
         <p>{PRODUCT}: ¥<span id=\"amount\">{amount}</span></p>\n\
         <p>Status: <strong id=\"order-status\" role=\"status\">{text}</strong></p>\n\
         <p><a href=\"/\">Back to the shop</a></p>\n</main>\n\
         <noscript><meta http-equiv=\"refresh\" content=\"3\"></noscript>\n\
         <script>\n\
         (function poll() {{\n\
           fetch('/orders/{out_trade_no}', {{cache: 'no-store'}})\n\
             .then(r => r.json())\n\
             .then(s => {{\n\
               const main = document.getElementById('order');\n\
               main.dataset.status = s.status;\n\
               document.getElementById('order-status').textContent = s.text;\n\
               if (!s.paid) setTimeout(poll, {POLL_MS});\n\
             }})\n\
             .catch(() => setTimeout(poll, {POLL_MS}));\n\
         }})();\n\
         </script>",
        amount = order.amount.to_major_string(),
    );
    Html(layout("Your order", &body)).into_response()
}

async fn order_state(State(shop): State<Shared>, Path(out_trade_no): Path<String>) -> Response {
    match shop.order(&out_trade_no) {
        Some(order) => {
            let (status, text) = status_of(&order);
            (
                [(header::CACHE_CONTROL, "no-store")],
                Json(serde_json::json!({"status": status, "text": text, "paid": order.paid})),
            )
                .into_response()
        }
        None => (StatusCode::NOT_FOUND, "unknown order").into_response(),
    }
}

fn status_of(order: &ShopOrder) -> (&'static str, &'static str) {
    if order.paid {
        ("paid", "paid")
    } else {
        ("unpaid", "waiting for the payment notification")
    }
}

impl Shop {
    fn next_out_trade_no(&self) -> String {
        let n = self.sequence.fetch_add(1, Ordering::Relaxed);
        let ms = chrono::Utc::now().timestamp_millis();
        format!("DEMO{ms}{n:04}")
    }

    fn order(&self, out_trade_no: &str) -> Option<ShopOrder> {
        self.orders
            .lock()
            .expect("orders lock")
            .get(out_trade_no)
            .cloned()
    }
}

fn error_page(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<main><p id=\"shop-error\" role=\"alert\">{}</p><p><a href=\"/\">Back</a></p></main>",
        escape(message)
    );
    (status, Html(layout("Demo shop", &body))).into_response()
}

fn layout(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title></head>\n<body>\n{body}\n</body></html>\n"
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_numbers_fit_the_api_and_do_not_repeat() {
        let shop = Shop {
            client: Client::new(
                "http://127.0.0.1:9",
                MerchantId::parse("M100000001").expect("an id"),
                SignKey::Md5("k".into()),
            )
            .expect("a client"),
            merchant_id: MerchantId::parse("M100000001").expect("an id"),
            base_url: "http://127.0.0.1:9".into(),
            orders: Mutex::new(BTreeMap::new()),
            sequence: AtomicU64::new(0),
        };
        let (a, b) = (shop.next_out_trade_no(), shop.next_out_trade_no());
        assert_ne!(a, b);
        assert!(OutTradeNo::parse(&a).is_ok(), "{a}");
        assert!(a.starts_with("DEMO"), "{a}");
    }

    fn args(flags: &[&str]) -> DemoShopArgs {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            args: DemoShopArgs,
        }
        let argv = std::iter::once("demo-shop").chain(flags.iter().copied());
        <Cli as clap::Parser>::try_parse_from(argv)
            .expect("valid flags")
            .args
    }

    #[test]
    fn the_merchant_comes_from_serves_demo_file_unless_flags_name_one() {
        let dir = tempfile::tempdir().expect("a directory");
        let missing = config_of(dir.path(), &args(&[])).err().expect("no file");
        assert!(
            missing.to_string().contains("run `paygate serve` once"),
            "{missing}"
        );

        let file = serde_json::json!({"merchant_id": "M621688150969", "secret": "s3cret",
            "sign_type": "MD5", "payer_wallet": "demo_payer", "base_url": "http://127.0.0.1:8080"});
        std::fs::write(dir.path().join("demo-merchant.json"), file.to_string()).unwrap();
        let from_file = config_of(dir.path(), &args(&[])).expect("the demo merchant");
        assert_eq!(from_file.merchant_id.as_str(), "M621688150969");
        assert_eq!(from_file.gateway, "http://127.0.0.1:8080");
        assert!(matches!(&from_file.sign_key, SignKey::Md5(s) if s.expose() == "s3cret"));

        let flags = [
            "--merchant-id",
            "M100000000002",
            "--secret",
            "other",
            "--sign-type",
            "HMAC-SHA256",
            "--gateway",
            "http://gw.example:9000/",
        ];
        let given = config_of(dir.path(), &args(&flags)).expect("the given merchant");
        assert_eq!(given.merchant_id.as_str(), "M100000000002");
        assert_eq!(given.gateway, "http://gw.example:9000");
        assert!(matches!(&given.sign_key, SignKey::HmacSha256(s) if s.expose() == "other"));
        let rsa = [
            "--merchant-id",
            "M100000000002",
            "--secret",
            "x",
            "--sign-type",
            "RSA2",
        ];
        assert!(config_of(dir.path(), &args(&rsa)).is_err());
    }

    #[test]
    fn a_demo_file_from_a_serve_on_port_zero_falls_back_to_the_default_gateway() {
        let dir = tempfile::tempdir().expect("a directory");
        let file = serde_json::json!({"merchant_id": "M621688150969", "secret": "s",
            "sign_type": "MD5", "base_url": "http://127.0.0.1:0"});
        std::fs::write(dir.path().join("demo-merchant.json"), file.to_string()).unwrap();
        let config = config_of(dir.path(), &args(&[])).expect("the demo merchant");
        assert_eq!(config.gateway, DEFAULT_GATEWAY);
    }

    #[test]
    fn merchant_text_is_escaped() {
        assert_eq!(
            escape("<script>\"x\" & 'y'</script>"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }
}
