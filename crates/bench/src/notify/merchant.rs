//! The merchants' side: one HTTP/1 server per notify host, each on its own loopback port (the
//! gateway bounds deliveries per host:port), answering `success` at once and recording every
//! receipt with the wall clock the gateway also uses.

use super::super::workload::unix_now_ms;
use anyhow::Context;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::Router;
use serde_json::{Map, Value};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// One notification as a merchant received it.
#[derive(Debug, Clone)]
pub struct Receipt {
    pub notify_id: String,
    pub trade_no: String,
    pub at: Instant,
    pub at_ms: i64,
}

/// Every receipt of every host of a run.
#[derive(Default)]
pub struct Inbox {
    state: Mutex<InboxState>,
    /// Distinct notify ids seen, readable without the lock while waiting.
    unique: AtomicU64,
    /// Bodies without a `notify_id`: never expected, counted so they cannot hide.
    malformed: AtomicU64,
}

#[derive(Default)]
struct InboxState {
    receipts: Vec<Receipt>,
    seen: HashSet<String>,
}

impl Inbox {
    fn record(&self, receipt: Receipt) {
        let mut state = self.state.lock().expect("inbox lock");
        if state.seen.insert(receipt.notify_id.clone()) {
            self.unique.fetch_add(1, Ordering::Relaxed);
        }
        state.receipts.push(receipt);
    }

    pub fn unique(&self) -> u64 {
        self.unique.load(Ordering::Relaxed)
    }

    pub fn malformed(&self) -> u64 {
        self.malformed.load(Ordering::Relaxed)
    }

    /// Every receipt so far, in arrival order.
    pub fn receipts(&self) -> Vec<Receipt> {
        self.state.lock().expect("inbox lock").receipts.clone()
    }

    /// Waits until `target` distinct notifications have arrived, `stall` passes without a new
    /// one, or `limit` (if any) runs out, whichever is first. Returns the distinct count.
    pub async fn wait_for(&self, target: u64, stall: Duration, limit: Option<Duration>) -> u64 {
        let started = Instant::now();
        let (mut last_count, mut last_progress) = (self.unique(), Instant::now());
        loop {
            let count = self.unique();
            if count >= target {
                return count;
            }
            if count != last_count {
                (last_count, last_progress) = (count, Instant::now());
            }
            let stalled = last_progress.elapsed() >= stall;
            if stalled || limit.is_some_and(|limit| started.elapsed() >= limit) {
                return count;
            }
            // Receipt times are taken in the handler, so this poll does not blur the figures.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// The merchant servers of a run; dropping this stops them.
pub struct Merchants {
    /// One notify URL per host, in host order.
    pub urls: Vec<String>,
    pub inbox: Arc<Inbox>,
    _servers: JoinSet<std::io::Result<()>>,
}

impl Merchants {
    pub async fn start(hosts: usize) -> anyhow::Result<Merchants> {
        let inbox = Arc::new(Inbox::default());
        let mut urls = Vec::with_capacity(hosts);
        let mut servers = JoinSet::new();
        for _ in 0..hosts {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .context("bind a merchant endpoint")?;
            let addr = listener.local_addr().context("merchant endpoint address")?;
            urls.push(format!("http://{addr}/notify"));
            let router = Router::new()
                .route("/notify", post(receive))
                .with_state(inbox.clone());
            servers.spawn(async move { axum::serve(listener, router).await });
        }
        Ok(Merchants {
            urls,
            inbox,
            _servers: servers,
        })
    }
}

async fn receive(State(inbox): State<Arc<Inbox>>, body: Bytes) -> &'static str {
    let (at, at_ms) = (Instant::now(), unix_now_ms());
    let fields: Option<Map<String, Value>> = serde_json::from_slice(&body).ok();
    let field = |name: &str| {
        fields
            .as_ref()
            .and_then(|f| f.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    match field("notify_id") {
        Some(notify_id) => inbox.record(Receipt {
            notify_id,
            trade_no: field("trade_no").unwrap_or_default(),
            at,
            at_ms,
        }),
        None => {
            inbox.malformed.fetch_add(1, Ordering::Relaxed);
        }
    }
    "success"
}
