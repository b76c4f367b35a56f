//! An Alipay sandbox on loopback: the server side of Alipay's open API (`/gateway.do`), so any
//! Alipay client (ours or an official SDK) runs every flow with no account, in public-key or
//! certificate mode.
//!
//! Layout: `keys` makes and keeps the keys and certificates; `book` is the trade book and its
//! rules; `gateway` parses, verifies and answers calls; `trade` and `refund` hold the methods;
//! `page` serves the WAP/desktop cashier; `payer` is the payer simulator; `faults` injects
//! failures; `notify` delivers notifications on Alipay's retry schedule; `bill` serves the bill.

mod bill;
mod book;
mod faults;
mod gateway;
mod ids;
mod keys;
mod money;
mod notify;
mod page;
mod payer;
mod refund;
mod trade;

pub use keys::AlipayCredentials;
pub use notify::ALIPAY_CALLBACK_DELAYS_MS;

use anyhow::Context;
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, FixedOffset};
use paygate_domain::sign::{RsaPrivateKey, RsaPublicKey};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use book::Book;
use faults::Faults;
use notify::Notifier;

#[derive(Debug, Clone)]
pub struct AlipaySandboxConfig {
    /// Credentials go to `<data_dir>/sandbox/alipay.json`.
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// Pauses after each failed notification; Alipay's schedule by default.
    pub callback_delays_ms: Vec<u64>,
    /// Fee rate in parts per million (6000 is 0.60%).
    pub fee_rate_ppm: u32,
}

impl Default for AlipaySandboxConfig {
    fn default() -> Self {
        AlipaySandboxConfig {
            data_dir: PathBuf::from("./data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            callback_delays_ms: ALIPAY_CALLBACK_DELAYS_MS.to_vec(),
            fee_rate_ppm: 6_000,
        }
    }
}

pub struct RunningAlipaySandbox {
    pub credentials: AlipayCredentials,
    pub credentials_path: PathBuf,
    pub local_addr: SocketAddr,
    shared: App,
    server: JoinHandle<std::io::Result<()>>,
}

impl RunningAlipaySandbox {
    /// Stops serving and cancels pending notifications.
    pub async fn shutdown(self) {
        self.shared.cancel.cancel();
        self.shared.tasks.close();
        self.shared.tasks.wait().await;
        match self.server.await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(%error, "Alipay sandbox stopped with an error"),
            Err(error) => tracing::warn!(%error, "Alipay sandbox task failed"),
        }
    }
}

pub async fn start_alipay(config: AlipaySandboxConfig) -> anyhow::Result<RunningAlipaySandbox> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("bind the Alipay sandbox to {}", config.listen))?;
    let local_addr = listener.local_addr().context("the sandbox's address")?;
    let base_url = format!("http://{local_addr}");
    let keys = keys::load_or_create(&config.data_dir, &format!("{base_url}/gateway.do"))?;
    let cancel = CancellationToken::new();
    let tasks = TaskTracker::new();
    let notifier = Notifier::new(config.callback_delays_ms, cancel.clone(), tasks.clone());
    let shared = Arc::new(Shared {
        credentials: keys.credentials.clone(),
        base_url: base_url.clone(),
        app_public: keys.app_public,
        alipay_private: keys.alipay_private,
        book: Mutex::new(Book::default()),
        faults: Mutex::new(Faults::default()),
        bills: Mutex::new(bill::Bills::default()),
        notifier,
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
    tracing::info!(%base_url, path = %keys.credentials_path.display(), "Alipay sandbox started");
    Ok(RunningAlipaySandbox {
        credentials: keys.credentials,
        credentials_path: keys.credentials_path,
        local_addr,
        shared,
        server,
    })
}

fn router(app: App) -> Router {
    Router::new()
        .route("/gateway.do", get(gateway::serve).post(gateway::serve))
        .route(bill::DOWNLOAD_PATH, get(bill::download))
        .route("/sandbox/payer", post(payer::act))
        .route("/sandbox/faults", post(faults::arm).delete(faults::clear))
        .route(page::PAY_PATH, post(page::pay))
        .with_state(app)
}

type App = Arc<Shared>;

struct Shared {
    credentials: AlipayCredentials,
    /// `http://addr`, the gateway URL without `/gateway.do`.
    base_url: String,
    app_public: RsaPublicKey,
    alipay_private: RsaPrivateKey,
    book: Mutex<Book>,
    faults: Mutex<Faults>,
    bills: Mutex<bill::Bills>,
    notifier: Notifier,
    fee_rate_ppm: u32,
    cancel: CancellationToken,
    tasks: TaskTracker,
}

/// The locks are never held across an await, so a poisoned one means a panic elsewhere already
/// failed a request; the data behind it stays consistent per call.
fn relock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    fn book(&self) -> MutexGuard<'_, Book> {
        relock(&self.book)
    }

    fn faults(&self) -> MutexGuard<'_, Faults> {
        relock(&self.faults)
    }

    fn bills(&self) -> MutexGuard<'_, bill::Bills> {
        relock(&self.bills)
    }
}

/// China Standard Time, in which Alipay writes every time.
fn now_cst() -> DateTime<FixedOffset> {
    chrono::Utc::now().with_timezone(&cst())
}

fn cst() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("+08:00 is a valid offset")
}

/// `2026-11-29 20:40:47`, Alipay's time format.
fn alipay_time(at: DateTime<FixedOffset>) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}
