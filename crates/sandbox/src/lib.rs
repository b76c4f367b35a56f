//! A WeChat Pay sandbox on loopback: the server side of WeChat Pay's real protocol at its real
//! paths, so any WeChat Pay client (ours or an official SDK) can run every flow with no account.
//!
//! Layout: `keys` makes and keeps the credentials; `book` is the trade book and its rules;
//! `auth` checks requests' signatures and signs answers; `v3` and `v3_refund` serve API v3,
//! `v2` the micropay XML API; `payer` is the payer simulator; `faults` injects failures;
//! `callbacks` delivers notifications with WeChat Pay's retry schedule; `bill` serves the daily
//! trade bill.

pub mod alipay;
mod auth;
mod bill;
mod book;
mod callbacks;
mod faults;
mod ids;
mod keys;
mod oauth;
mod payer;
pub mod unionpay;
mod v2;
mod v3;
mod v3_refund;

pub use alipay::{start_alipay, AlipayCredentials, AlipaySandboxConfig, RunningAlipaySandbox};
pub use callbacks::WECHAT_CALLBACK_DELAYS_MS;
pub use keys::WechatCredentials;
pub use unionpay::{
    start_unionpay, RunningUnionpaySandbox, UnionpayCredentials, UnionpaySandboxConfig,
    UNIONPAY_CALLBACK_DELAYS_MS,
};

use anyhow::Context;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, FixedOffset, SecondsFormat};
use paygate_channels::wechat::v3_wire as wire;
use paygate_domain::sign::{SignKey, VerifyKey};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use book::Book;
use callbacks::Callbacks;
use faults::Faults;

/// No request body the sandbox serves is larger.
const BODY_BYTES_MAX: usize = 1 << 20;
/// A refund stays PROCESSING this long by default.
pub const REFUND_DELAY_MS_DEFAULT: u64 = 1_000;

#[derive(Debug, Clone)]
pub struct WechatSandboxConfig {
    /// Credentials go to `<data_dir>/sandbox/wechat.json`.
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// Pauses after each failed callback delivery; WeChat Pay's schedule by default.
    pub callback_delays_ms: Vec<u64>,
    /// Fee rate in parts per million (6000 is 0.60%).
    pub fee_rate_ppm: u32,
    /// How long a refund stays PROCESSING before it succeeds.
    pub refund_delay_ms: u64,
}

impl Default for WechatSandboxConfig {
    fn default() -> Self {
        WechatSandboxConfig {
            data_dir: PathBuf::from("./data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            callback_delays_ms: WECHAT_CALLBACK_DELAYS_MS.to_vec(),
            fee_rate_ppm: 6_000,
            refund_delay_ms: REFUND_DELAY_MS_DEFAULT,
        }
    }
}

pub struct RunningWechatSandbox {
    pub credentials: WechatCredentials,
    pub credentials_path: PathBuf,
    pub local_addr: SocketAddr,
    shared: App,
    server: JoinHandle<std::io::Result<()>>,
}

impl RunningWechatSandbox {
    /// Stops serving and cancels pending callbacks.
    pub async fn shutdown(self) {
        self.shared.cancel.cancel();
        self.shared.tasks.close();
        self.shared.tasks.wait().await;
        match self.server.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "sandbox server stopped with an error"),
            Err(error) => tracing::warn!(%error, "sandbox server task failed"),
        }
    }
}

pub async fn start_wechat(config: WechatSandboxConfig) -> anyhow::Result<RunningWechatSandbox> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("bind the WeChat Pay sandbox to {}", config.listen))?;
    let local_addr = listener.local_addr().context("the sandbox's address")?;
    let base_url = format!("http://{local_addr}");
    let keys = keys::load_or_create(&config.data_dir, &base_url)?;
    let cancel = CancellationToken::new();
    let tasks = TaskTracker::new();
    let callbacks = Callbacks::new(
        config.callback_delays_ms,
        keys.platform.clone(),
        keys.credentials.platform_public_key_id.clone(),
        cancel.clone(),
        tasks.clone(),
    );
    let shared = Arc::new(Shared {
        credentials: keys.credentials.clone(),
        merchant_key: keys.merchant_public,
        platform_key: keys.platform,
        book: Mutex::new(Book::default()),
        faults: Mutex::new(Faults::default()),
        callbacks,
        refund_delay_ms: config.refund_delay_ms,
        fee_rate_ppm: config.fee_rate_ppm,
        bills: Mutex::new(bill::Bills::default()),
        codes: Mutex::new(oauth::Codes::default()),
        cancel: cancel.clone(),
        tasks,
    });
    let app = router(shared.clone());
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(cancel.cancelled_owned())
            .await
    });
    tracing::info!(%base_url, path = %keys.credentials_path.display(), "WeChat Pay sandbox started");
    Ok(RunningWechatSandbox {
        credentials: keys.credentials,
        credentials_path: keys.credentials_path,
        local_addr,
        shared,
        server,
    })
}

fn router(app: App) -> Router {
    let v3 = Router::new()
        .route(wire::PATH_JSAPI, post(v3::create_jsapi))
        .route(wire::PATH_NATIVE, post(v3::create_native))
        .route(wire::PATH_H5, post(v3::create_h5))
        .route(wire::PATH_APP, post(v3::create_app))
        .route(
            "/v3/pay/transactions/out-trade-no/{out_trade_no}",
            get(v3::query_by_out_trade_no),
        )
        .route(
            "/v3/pay/transactions/id/{transaction_id}",
            get(v3::query_by_transaction_id),
        )
        .route(
            "/v3/pay/transactions/out-trade-no/{out_trade_no}/close",
            post(v3::close),
        )
        .route(wire::PATH_REFUNDS, post(v3_refund::create))
        .route(
            "/v3/refund/domestic/refunds/{out_refund_no}",
            get(v3_refund::query),
        )
        .route(wire::PATH_TRADE_BILL, get(bill::trade_bill))
        .layer(from_fn_with_state(app.clone(), faults::layer))
        .layer(from_fn_with_state(app.clone(), auth::sign_answers));
    // WeChat Pay does not sign the bill's bytes: the SHA1 in the signed bill answer covers them.
    let download = Router::new()
        .route("/v3/billdownload/file", get(bill::download))
        .layer(from_fn_with_state(app.clone(), faults::layer));
    let v2 = Router::new()
        .route("/pay/micropay", post(v2::micropay))
        .route("/pay/orderquery", post(v2::orderquery))
        .route("/secapi/pay/reverse", post(v2::reverse))
        .layer(from_fn_with_state(app.clone(), faults::layer));
    let sandbox = Router::new()
        .route("/sandbox/payer", post(payer::act))
        .route("/sandbox/faults", post(faults::arm).delete(faults::clear))
        .route("/sandbox/h5/{out_trade_no}", get(payer::h5_page));
    let oauth = Router::new()
        .route("/connect/oauth2/authorize", get(oauth::authorize))
        .route("/sns/oauth2/access_token", get(oauth::access_token));
    v3.merge(download)
        .merge(v2)
        .merge(sandbox)
        .merge(oauth)
        .with_state(app)
}

type App = Arc<Shared>;

struct Shared {
    credentials: WechatCredentials,
    merchant_key: VerifyKey,
    platform_key: SignKey,
    book: Mutex<Book>,
    faults: Mutex<Faults>,
    callbacks: Callbacks,
    refund_delay_ms: u64,
    fee_rate_ppm: u32,
    bills: Mutex<bill::Bills>,
    /// Web authorisation codes handed to payers' browsers.
    codes: Mutex<oauth::Codes>,
    cancel: CancellationToken,
    tasks: TaskTracker,
}

impl Shared {
    /// The book's lock is never held across an await, so a poisoned lock means a panic
    /// elsewhere already failed a request; the book itself stays consistent per call.
    fn book(&self) -> MutexGuard<'_, Book> {
        self.book
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn bills(&self) -> MutexGuard<'_, bill::Bills> {
        self.bills
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn codes(&self) -> MutexGuard<'_, oauth::Codes> {
        self.codes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The trade an API request is about, for trade-scoped faults: named in the path, or by
    /// `out_trade_no` / `transaction_id` in a JSON or XML body.
    fn trade_named_by(&self, path: &str, body: &[u8]) -> Option<String> {
        let book = self.book();
        if let Some(rest) = path.strip_prefix("/v3/pay/transactions/out-trade-no/") {
            return rest.split('/').next().map(str::to_owned);
        }
        if let Some(id) = path.strip_prefix("/v3/pay/transactions/id/") {
            return book.out_trade_no_of_transaction(id).map(str::to_owned);
        }
        if let Some(no) = path.strip_prefix("/v3/refund/domestic/refunds/") {
            return book.refund_record(no).map(|r| r.out_trade_no.clone());
        }
        let text = std::str::from_utf8(body).ok()?;
        let fields: std::collections::BTreeMap<String, String> = if path.starts_with("/v3/") {
            let json: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(text).ok()?;
            json.into_iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned())))
                .collect()
        } else {
            paygate_channels::wechat::v2_xml::from_xml(text).ok()?
        };
        if let Some(no) = fields.get("out_trade_no") {
            return Some(no.clone());
        }
        let id = fields.get("transaction_id")?;
        book.out_trade_no_of_transaction(id).map(str::to_owned)
    }
}

/// China Standard Time, in which WeChat Pay writes every time.
fn now_cst() -> DateTime<FixedOffset> {
    chrono::Utc::now().with_timezone(&cst())
}

fn cst() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("+08:00 is a valid offset")
}

/// `2026-11-29T20:40:47+08:00`.
fn rfc3339(at: DateTime<FixedOffset>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, false)
}
