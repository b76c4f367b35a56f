//! A UnionPay (全渠道 5.1.0) sandbox on loopback: the gateway's endpoints at their real paths,
//! so any UnionPay client runs every flow with no account: web and WAP forms (a cashier page
//! with a "pay" button), APP `tn`, QR apply and pay codes, queries, refunds, same-day voids,
//! back notifications with UnionPay's retries, and the reconciliation file by clearing day
//! (23:00 to 23:00, by each transaction's `txnTime`, so a test places a trade at any time by
//! the `txnTime` it sends).
//!
//! Layout: `keys` makes and keeps the certificates; `book` is the transaction book; `api`
//! serves the gateway; `notify` delivers notifications; `payer` plays the payer and arms faults
//! (the WeChat Pay sandbox's JSON).

mod api;
mod book;
mod keys;
mod notify;
mod payer;

pub use keys::UnionpayCredentials;
pub use notify::UNIONPAY_CALLBACK_DELAYS_MS;

use anyhow::Context;
use axum::routing::post;
use axum::Router;
use paygate_channels::unionpay::bill::TradeLine;
use paygate_channels::unionpay::sign::SigningCert;
use paygate_channels::unionpay::wire;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::callbacks::Event;
use crate::faults::Faults;
use book::{Book, BookError, State as TxnState, Txn};
use notify::Notifier;

#[derive(Debug, Clone)]
pub struct UnionpaySandboxConfig {
    /// Credentials go to `<data_dir>/sandbox/unionpay.json`.
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// Pauses after each failed notification; UnionPay's schedule by default.
    pub callback_delays_ms: Vec<u64>,
    /// Fee rate in parts per million (6000 is 0.60%).
    pub fee_rate_ppm: u32,
}

impl Default for UnionpaySandboxConfig {
    fn default() -> Self {
        UnionpaySandboxConfig {
            data_dir: PathBuf::from("./data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            callback_delays_ms: UNIONPAY_CALLBACK_DELAYS_MS.to_vec(),
            fee_rate_ppm: 6_000,
        }
    }
}

pub struct RunningUnionpaySandbox {
    pub credentials: UnionpayCredentials,
    pub credentials_path: PathBuf,
    pub local_addr: SocketAddr,
    shared: App,
    server: JoinHandle<std::io::Result<()>>,
}

impl RunningUnionpaySandbox {
    /// Stops serving and cancels pending notifications.
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

pub async fn start_unionpay(
    config: UnionpaySandboxConfig,
) -> anyhow::Result<RunningUnionpaySandbox> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("bind the UnionPay sandbox to {}", config.listen))?;
    let local_addr = listener.local_addr().context("the sandbox's address")?;
    let base_url = format!("http://{local_addr}");
    let keys = keys::load_or_create(&config.data_dir, &base_url)?;
    let cancel = CancellationToken::new();
    let tasks = TaskTracker::new();
    let notifier = Notifier::new(
        config.callback_delays_ms,
        keys.unionpay_key,
        keys.credentials.verify_cert_pem.clone(),
        cancel.clone(),
        tasks.clone(),
    );
    let shared = Arc::new(Shared {
        credentials: keys.credentials.clone(),
        merchant: keys.merchant,
        notifier,
        book: Mutex::new(Book::default()),
        faults: Mutex::new(Faults::default()),
        fee_rate_ppm: config.fee_rate_ppm,
        cancel: cancel.clone(),
        tasks,
    });
    let app = router(shared.clone());
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(cancel.cancelled_owned())
            .await
    });
    tracing::info!(%base_url, path = %keys.credentials_path.display(), "UnionPay sandbox started");
    Ok(RunningUnionpaySandbox {
        credentials: keys.credentials,
        credentials_path: keys.credentials_path,
        local_addr,
        shared,
        server,
    })
}

fn router(app: App) -> Router {
    Router::new()
        .route(wire::PATH_FRONT, post(api::front))
        .route(wire::PATH_BACK, post(api::back))
        .route(wire::PATH_APP, post(api::app_trans))
        .route(wire::PATH_QUERY, post(api::query))
        .route(wire::PATH_FILE, post(api::file))
        .route("/sandbox/front/{order_id}/pay", post(payer::front_pay))
        .route("/sandbox/payer", post(payer::act))
        .route("/sandbox/faults", post(payer::arm).delete(payer::clear))
        .with_state(app)
}

type App = Arc<Shared>;

struct Shared {
    credentials: UnionpayCredentials,
    merchant: SigningCert,
    notifier: Notifier,
    book: Mutex<Book>,
    faults: Mutex<Faults>,
    fee_rate_ppm: u32,
    cancel: CancellationToken,
    tasks: TaskTracker,
}

impl Shared {
    /// The lock is never held across an await; a poisoned one means a panic already failed a
    /// request, and the book stays consistent per call.
    fn book(&self) -> MutexGuard<'_, Book> {
        self.book
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// `amount × rate`, rounded half up to the fen.
fn fee_of(amount_fen: i64, rate_ppm: u32) -> i64 {
    (amount_fen * i64::from(rate_ppm) + 500_000) / 1_000_000
}

/// The payer pays a pending consume; the first time, its notification goes out.
fn pay(app: &App, order_id: &str) -> Result<Txn, BookError> {
    let amount = app
        .book()
        .get(order_id)
        .map(|t| t.amount_fen)
        .ok_or(BookError::NoTrade)?;
    let settled = app.book().settle(
        order_id,
        TxnState::Succeeded,
        fee_of(amount, app.fee_rate_ppm),
    )?;
    match settled {
        Some(txn) => {
            notify_settled(app, &txn, order_id);
            Ok(txn)
        }
        None => app.book().get(order_id).cloned().ok_or(BookError::NoTrade),
    }
}

/// Sends the notification of a settled transaction; `trade_order_id` is the consume it is
/// about, which faults are scoped by.
fn notify_settled(app: &App, txn: &Txn, trade_order_id: &str) {
    let Some(url) = txn.back_url.clone() else {
        return;
    };
    let event = if txn.txn_type == wire::TXN_CONSUME {
        Event::Payment
    } else {
        Event::Refund
    };
    let plan = app.faults().take_callback(trade_order_id, event);
    let mut fields: BTreeMap<String, String> = [
        ("version", wire::VERSION),
        ("encoding", wire::ENCODING),
        ("signMethod", wire::SIGN_METHOD_CERT),
        ("accessType", wire::ACCESS_MERCHANT),
        ("currencyCode", wire::CURRENCY_CNY),
        ("respCode", txn.state.code()),
        ("respMsg", "成功[0000000]"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let line = file_line(app, txn);
    for (name, value) in [
        ("txnType", txn.txn_type.clone()),
        ("txnSubType", txn.txn_sub_type.clone()),
        ("bizType", txn.biz_type.clone()),
        ("merId", app.credentials.mer_id.clone()),
        ("orderId", txn.order_id.clone()),
        ("txnTime", txn.txn_time.clone()),
        ("txnAmt", txn.amount_fen.to_string()),
        ("queryId", txn.query_id.clone()),
        ("traceNo", line.trace_no),
        ("traceTime", line.trace_time),
        ("settleAmt", txn.amount_fen.to_string()),
        ("settleCurrencyCode", wire::CURRENCY_CNY.to_owned()),
    ] {
        fields.insert(name.into(), value);
    }
    if let Some(day) = wire::parse_beijing_time(&txn.txn_time)
        .ok()
        .and_then(wire::clearing_day)
    {
        fields.insert("settleDate".into(), wire::settle_date(day));
    }
    for (name, value) in [
        ("reqReserved", &txn.req_reserved),
        ("origQryId", &txn.orig_query_id),
    ] {
        if let Some(value) = value {
            fields.insert(name.into(), value.clone());
        }
    }
    app.notifier.dispatch(url, fields, plan);
}

/// A transaction's line in the reconciliation file.
fn file_line(app: &App, txn: &Txn) -> TradeLine {
    // 交易代码: S56 consume, S31 void, S30 refund.
    let (code, sign) = match txn.txn_type.as_str() {
        wire::TXN_CONSUME => ("S56", 1),
        wire::TXN_VOID => ("S31", -1),
        _ => ("S30", -1),
    };
    TradeLine {
        code: code.to_owned(),
        trace_no: txn.query_id.get(14..20).unwrap_or("000000").to_owned(),
        trace_time: txn.txn_time.get(4..).unwrap_or_default().to_owned(),
        amount_fen: txn.amount_fen,
        query_id: txn.query_id.clone(),
        order_id: txn.order_id.clone(),
        fee_fen: sign * txn.fee_fen,
        settle_fen: sign * (txn.amount_fen - txn.fee_fen),
        txn_type: txn.txn_type.clone(),
        txn_sub_type: txn.txn_sub_type.clone(),
        biz_type: txn.biz_type.clone(),
        orig_query_id: txn.orig_query_id.clone().unwrap_or_default(),
        mer_id: app.credentials.mer_id.clone(),
    }
}
