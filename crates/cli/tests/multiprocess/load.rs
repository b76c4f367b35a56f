//! The merchant's side of the load: paid creates through the SDK, each with a pay code from the
//! payer's app, a fixed number at once or continuously until stopped.

use crate::POLL_PAUSE;
use paygate_client::{Client, ClientError, CreateOrder};
use paygate_domain::{Currency, Money, OrderStatus, OutTradeNo, PayCode};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

const ORDER_AMOUNT: &str = "0.01";

pub fn paid_order(n: u64, notify_url: &str, code: PayCode) -> CreateOrder {
    let mut create = CreateOrder::new(
        OutTradeNo::parse(&format!("MP-{n}")).expect("out_trade_no"),
        Money::parse(ORDER_AMOUNT, Currency::Cny).expect("amount"),
        "multiprocess",
        notify_url,
    );
    create.auth_code = Some(code.into());
    create
}

/// A one-time pay code from the payer's app, asked of the gateway at `base_url`.
pub async fn pay_code(base_url: &str, payer_token: &str) -> Result<PayCode, String> {
    let answer = reqwest::Client::new()
        .post(format!("{base_url}/api/wallet/paycode"))
        .bearer_auth(payer_token)
        .send()
        .await
        .map_err(|e| format!("paycode transport: {e}"))?;
    let status = answer.status();
    let body: Value = answer
        .json()
        .await
        .map_err(|e| format!("paycode body: {e}"))?;
    let code = body["auth_code"].as_str().unwrap_or_default();
    PayCode::parse(code).map_err(|_| format!("paycode {status}: {body}"))
}

/// Creates and pays `count` orders, order `n` through `clients[n % len]`, with at most
/// `in_flight` requests outstanding; every create must answer SUCCESS.
pub async fn create_paid_orders(
    clients: &[Client],
    payer_token: &str,
    notify_url: &str,
    count: u64,
    in_flight: usize,
) -> HashSet<String> {
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = JoinSet::new();
    for _ in 0..in_flight {
        let (clients, next, url) = (clients.to_vec(), next.clone(), notify_url.to_owned());
        let token = payer_token.to_owned();
        tasks.spawn(async move {
            let mut made = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= count {
                    return made;
                }
                let client = &clients[n as usize % clients.len()];
                let code = pay_code(client.base_url(), &token)
                    .await
                    .unwrap_or_else(|e| panic!("pay code for {n}: {e}"));
                let order = client
                    .create_order(&paid_order(n, &url, code))
                    .await
                    .unwrap_or_else(|e| panic!("create {n} via {}: {e}", client.base_url()));
                assert_eq!(order.trade_status, OrderStatus::Success);
                made.push(order.trade_no.to_string());
            }
        });
    }
    let mut all = HashSet::new();
    while let Some(made) = tasks.join_next().await {
        all.extend(made.expect("create task"));
    }
    assert_eq!(all.len() as u64, count, "every create made its own order");
    all
}

/// Orders created and paid by `workers` tasks until stopped, against whichever gateway
/// `target` names at the moment; every create answered SUCCESS is remembered.
pub struct Load {
    pub target: Arc<RwLock<Client>>,
    pub accepted: Arc<Mutex<Vec<String>>>,
    pub failures: Arc<Mutex<HashMap<String, u64>>>,
    pub stop: Arc<AtomicBool>,
    pub tasks: JoinSet<()>,
}

impl Load {
    pub fn start(client: Client, payer_token: &str, notify_url: &str, workers: usize) -> Load {
        let mut load = Load {
            target: Arc::new(RwLock::new(client)),
            accepted: Arc::default(),
            failures: Arc::default(),
            stop: Arc::default(),
            tasks: JoinSet::new(),
        };
        let next = Arc::new(AtomicU64::new(0));
        for _ in 0..workers {
            let (target, accepted) = (load.target.clone(), load.accepted.clone());
            let (failures, stop) = (load.failures.clone(), load.stop.clone());
            let (next, url) = (next.clone(), notify_url.to_owned());
            let token = payer_token.to_owned();
            load.tasks.spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let client = target.read().expect("target lock").clone();
                    let code = match pay_code(client.base_url(), &token).await {
                        Ok(code) => code,
                        Err(_) => {
                            *failures
                                .lock()
                                .expect("lock")
                                .entry("paycode".into())
                                .or_default() += 1;
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    match client.create_order(&paid_order(n, &url, code)).await {
                        Ok(order) => {
                            assert_eq!(order.trade_status, OrderStatus::Success, "order {n}");
                            accepted
                                .lock()
                                .expect("lock")
                                .push(order.trade_no.to_string());
                        }
                        Err(error) => {
                            *failures
                                .lock()
                                .expect("lock")
                                .entry(kind_of(&error))
                                .or_default() += 1;
                            // The gateway is down or restarting: back off instead of spinning.
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                }
            });
        }
        load
    }

    pub fn retarget(&self, client: Client) {
        *self.target.write().expect("target lock") = client;
    }

    pub fn accepted_count(&self) -> usize {
        self.accepted.lock().expect("lock").len()
    }

    pub async fn wait_for_accepted(&self, count: usize, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.accepted_count() < count {
            assert!(
                Instant::now() < deadline,
                "only {} of {count} creates succeeded within {limit:?}; failures {:?}",
                self.accepted_count(),
                self.failures.lock().expect("lock")
            );
            tokio::time::sleep(POLL_PAUSE).await;
        }
    }

    /// Stops the workers; returns the accepted trade numbers and the failures by kind.
    pub async fn finish(mut self) -> (Vec<String>, HashMap<String, u64>) {
        self.stop.store(true, Ordering::Relaxed);
        while let Some(done) = self.tasks.join_next().await {
            done.expect("load worker");
        }
        let accepted = std::mem::take(&mut *self.accepted.lock().expect("lock"));
        let failures = std::mem::take(&mut *self.failures.lock().expect("lock"));
        (accepted, failures)
    }
}

pub fn kind_of(error: &ClientError) -> String {
    match error {
        ClientError::Api { error_code, .. } => format!("api {error_code}"),
        ClientError::Transport(_) => "transport".into(),
        other => other.to_string(),
    }
}
