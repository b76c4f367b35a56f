//! Issue 3, acceptance 3 and 4, on the real binary. Two `paygate serve` processes on one
//! PostgreSQL deliver every notification exactly once and change no order twice. A gateway
//! killed with SIGKILL under load and restarted on the same data loses no order it answered
//! SUCCESS for and no notification, and writes no transition twice, on SQLite and PostgreSQL.
//!
//! The kill test shortens the notifier's lease (`PAYGATE_NOTIFY_LEASE_MS`) so a notification the
//! killed process had claimed is delivered again within seconds; orders the kill left unpaid are
//! closed by the expiry job after the shortest TTL `serve` allows (60 s).

use paygate_client::{Client, ClientError, CreateOrder};
use paygate_domain::schedule::NotificationStatus;
use paygate_domain::secret::MasterKey;
use paygate_domain::sign::{SignKey, VerifyKey};
use paygate_domain::{Currency, MerchantId, Money, OrderStatus, OutTradeNo, PayCode};
use paygate_store::{Store, StoreOptions};
use paygate_testkit::{pg_skipped, DbBackend, MerchantServer, TempDir, TestDb};
use serde_json::{Map, Value};
use sqlx::Row;
use std::collections::{HashMap, HashSet, VecDeque};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::task::{block_in_place, JoinSet};

const PAYER: &str = "mp_payer";
const PAYER_FUNDS: &str = "100000.00";
const ORDER_AMOUNT: &str = "0.01";
const TRADE_SUCCESS: &str = "TRADE_SUCCESS";
const TRADE_CLOSED: &str = "TRADE_CLOSED";
const STARTUP_LIMIT: Duration = Duration::from_secs(30);
const EXIT_LIMIT: Duration = Duration::from_secs(20);
const CLI_LIMIT: Duration = Duration::from_secs(30);
const POLL_PAUSE: Duration = Duration::from_millis(200);
/// Enough of a gateway's log to explain a failure without holding all of it.
const STDERR_LINES_KEPT: usize = 200;

/// Where a gateway's state lives. Every process started from one deployment shares its
/// database and master key, as processes on one database must.
struct Deployment {
    data_dir: TempDir,
    /// The database and the master key every process is given; `None` means SQLite in the data
    /// directory, whose master key the first command generates there.
    postgres: Option<(TestDb, String)>,
    /// Further settings every process of this deployment gets.
    env: Vec<(&'static str, String)>,
    commands_run: AtomicU64,
}

struct Merchant {
    id: MerchantId,
    secret: String,
    /// The bearer token of the payer's app (`paygate wallet token`), which asks the gateway for
    /// a one-time pay code before every payment: the payer's consent, as in production.
    payer_token: String,
}

impl Deployment {
    fn sqlite() -> Deployment {
        Deployment {
            data_dir: TempDir::new("paygate-mp"),
            postgres: None,
            env: Vec::new(),
            commands_run: AtomicU64::new(0),
        }
    }

    async fn postgres() -> Deployment {
        let db = TestDb::create(DbBackend::Postgres).await;
        Deployment {
            postgres: Some((db, MasterKey::generate_hex())),
            ..Deployment::sqlite()
        }
    }

    fn with_env(mut self, key: &'static str, value: &str) -> Deployment {
        self.env.push((key, value.to_owned()));
        self
    }

    fn database_url(&self) -> String {
        match &self.postgres {
            Some((db, _)) => db.url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.0.join("paygate.db").display()
            ),
        }
    }

    /// `paygate <args>` with this deployment's settings and nothing from the caller's
    /// environment, so a stray `PAYGATE_*` variable cannot point the test elsewhere.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_paygate"));
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PAYGATE_") {
                cmd.env_remove(key);
            }
        }
        // Few connections per process: the PostgreSQL server is shared with other test runs.
        cmd.args(args)
            .env("PAYGATE_DATA_DIR", &self.data_dir.0)
            .env("PAYGATE_DEMO", "false")
            .env("PAYGATE_LOG", "warn")
            .env("PAYGATE_PG_CONNECTIONS_MAX", "6");
        if let Some((db, key)) = &self.postgres {
            cmd.env("PAYGATE_DATABASE_URL", &db.url)
                .env("PAYGATE_MASTER_KEY", key);
        }
        cmd.envs(self.env.iter().map(|(key, value)| (key, value)));
        cmd
    }

    /// Runs a one-shot command to completion and returns what it printed.
    fn run(&self, args: &[&str]) -> String {
        let n = self.commands_run.fetch_add(1, Ordering::Relaxed);
        let out_path = self.data_dir.0.join(format!("cli-{n}.out"));
        let err_path = self.data_dir.0.join(format!("cli-{n}.err"));
        let mut child = self
            .command(args)
            .stdout(std::fs::File::create(&out_path).expect("stdout file"))
            .stderr(std::fs::File::create(&err_path).expect("stderr file"))
            .spawn()
            .expect("start paygate");
        let status = wait_with_limit(&mut child, CLI_LIMIT);
        let stdout = std::fs::read_to_string(&out_path).expect("read stdout");
        let stderr = std::fs::read_to_string(&err_path).expect("read stderr");
        assert!(status.success(), "paygate {args:?}: {status:?}\n{stderr}");
        stdout
    }

    /// A merchant made through the CLI, and a payer wallet funded for the whole run.
    fn open_merchant(&self) -> Merchant {
        // The merchant's notify server is on loopback.
        let printed = self.run(&[
            "merchant",
            "create",
            "--name",
            "Multiprocess",
            "--allow-private-notify",
            "--sign-type",
            "MD5",
            "--json",
        ]);
        let json: Value = serde_json::from_str(printed.trim()).expect("merchant JSON");
        let id = json["merchant_id"].as_str().expect("merchant_id");
        let secret = json["secret"].as_str().expect("secret").to_owned();
        assert_eq!(json["sign_type"], "MD5");
        self.run(&["wallet", "topup", PAYER, PAYER_FUNDS]);
        let printed = self.run(&["wallet", "token", PAYER, "--json"]);
        let token: Value = serde_json::from_str(printed.trim()).expect("payer token JSON");
        Merchant {
            id: MerchantId::parse(id).expect("merchant id"),
            secret,
            payer_token: token["payer_token"]
                .as_str()
                .expect("payer_token")
                .to_owned(),
        }
    }
}

impl Merchant {
    fn client(&self, base_url: &str) -> Client {
        Client::builder(base_url, self.id.clone(), SignKey::Md5(self.secret.clone()))
            .verify_key(self.verify_key())
            .build()
            .expect("client")
    }

    fn verify_key(&self) -> VerifyKey {
        VerifyKey::Md5(self.secret.clone())
    }
}

/// Waits for the child to exit, killing it after `limit`.
fn wait_with_limit(child: &mut Child, limit: Duration) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for paygate") {
            return status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("paygate did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A running `paygate serve`. Its output is drained by threads, so a chatty log can never
/// block it on a full pipe.
struct Gateway {
    child: Child,
    base_url: String,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
}

impl Gateway {
    fn start(deployment: &Deployment) -> Gateway {
        let mut child = deployment
            .command(&["serve"])
            .env("PAYGATE_LISTEN", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start paygate serve");
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        let stderr = child.stderr.take().expect("stderr");
        let tail = stderr_tail.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut tail = tail.lock().expect("stderr lock");
                if tail.len() == STDERR_LINES_KEPT {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
        });
        let stdout = child.stdout.take().expect("stdout");
        let (lines_tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = lines_tx.send(line);
            }
        });
        let mut gateway = Gateway {
            child,
            base_url: String::new(),
            stderr_tail,
        };
        let deadline = Instant::now() + STARTUP_LIMIT;
        while gateway.base_url.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(url) = line.strip_prefix("listening on ") {
                        gateway.base_url = url.to_owned();
                    }
                }
                Err(_) => panic!("serve never said where it listens:\n{}", gateway.log()),
            }
        }
        gateway
    }

    fn log(&self) -> String {
        let tail = self.stderr_tail.lock().expect("stderr lock");
        tail.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    /// SIGTERM, as an operator or an orchestrator stops it; returns how it exited.
    fn terminate(mut self) -> ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM failed");
        let status = wait_with_limit(&mut self.child, EXIT_LIMIT);
        if !status.success() {
            eprintln!("gateway log:\n{}", self.log());
        }
        status
    }

    /// SIGKILL (`Child::kill` on Unix): no handler runs, nothing is flushed or released.
    fn kill_9(mut self) {
        self.child.kill().expect("kill -9");
        let status = self.child.wait().expect("reap");
        assert!(!status.success());
    }
}

impl Drop for Gateway {
    /// A failing test must not leave a gateway running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn paid_order(n: u64, notify_url: &str, code: PayCode) -> CreateOrder {
    let mut create = CreateOrder::new(
        OutTradeNo::parse(&format!("MP-{n}")).expect("out_trade_no"),
        Money::parse(ORDER_AMOUNT, Currency::Cny).expect("amount"),
        "multiprocess",
        notify_url,
    );
    create.auth_code = Some(code);
    create
}

/// A one-time pay code from the payer's app, asked of the gateway at `base_url`.
async fn pay_code(base_url: &str, payer_token: &str) -> Result<PayCode, String> {
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
async fn create_paid_orders(
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
struct Load {
    target: Arc<RwLock<Client>>,
    accepted: Arc<Mutex<Vec<String>>>,
    failures: Arc<Mutex<HashMap<String, u64>>>,
    stop: Arc<AtomicBool>,
    tasks: JoinSet<()>,
}

impl Load {
    fn start(client: Client, payer_token: &str, notify_url: &str, workers: usize) -> Load {
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

    fn retarget(&self, client: Client) {
        *self.target.write().expect("target lock") = client;
    }

    fn accepted_count(&self) -> usize {
        self.accepted.lock().expect("lock").len()
    }

    async fn wait_for_accepted(&self, count: usize, limit: Duration) {
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
    async fn finish(mut self) -> (Vec<String>, HashMap<String, u64>) {
        self.stop.store(true, Ordering::Relaxed);
        while let Some(done) = self.tasks.join_next().await {
            done.expect("load worker");
        }
        let accepted = std::mem::take(&mut *self.accepted.lock().expect("lock"));
        let failures = std::mem::take(&mut *self.failures.lock().expect("lock"));
        (accepted, failures)
    }
}

fn kind_of(error: &ClientError) -> String {
    match error {
        ClientError::Api { error_code, .. } => format!("api {error_code}"),
        ClientError::Transport(_) => "transport".into(),
        other => other.to_string(),
    }
}

/// Reads the gateway's tables directly, as an auditor would.
struct Audit {
    store: Store,
}

impl Audit {
    async fn open(deployment: &Deployment) -> Audit {
        let options = StoreOptions {
            pg_connections_max: 2,
            ..StoreOptions::default()
        };
        let store = Store::connect(&deployment.database_url(), &options)
            .await
            .expect("open the gateway's database");
        Audit { store }
    }

    async fn rows(&self, sql: &str, binds: &[&str]) -> Vec<sqlx::any::AnyRow> {
        let mut query = sqlx::query(sql);
        for bind in binds {
            query = query.bind(*bind);
        }
        query.fetch_all(self.store.pool()).await.expect(sql)
    }

    async fn number(&self, sql: &str, binds: &[&str]) -> i64 {
        let rows = self.rows(sql, binds).await;
        rows[0].try_get::<i64, _>(0).expect(sql)
    }

    async fn order_statuses(&self) -> HashMap<String, String> {
        let rows = self.rows("SELECT trade_no, status FROM orders", &[]).await;
        rows.iter()
            .map(|row| (row.get::<String, _>(0), row.get::<String, _>(1)))
            .collect()
    }

    async fn pending_notifications(&self) -> i64 {
        let sql = "SELECT COUNT(*) FROM notifications WHERE status = $1";
        self.number(sql, &[NotificationStatus::Pending.as_str()])
            .await
    }

    /// (trade_no, to_status) pairs written more than once: a state changed twice.
    async fn repeated_transitions(&self) -> Vec<(String, String)> {
        let sql = "SELECT trade_no, to_status FROM order_transitions
                   GROUP BY trade_no, to_status HAVING COUNT(*) > 1";
        let rows = self.rows(sql, &[]).await;
        rows.iter().map(|row| (row.get(0), row.get(1))).collect()
    }

    /// The worker that recorded each delivered notification's last attempt, by trade_no.
    async fn delivering_workers(&self) -> HashMap<String, String> {
        let sql = "SELECT n.trade_no, a.worker FROM notifications n
                   JOIN notification_attempts a
                     ON a.notification_id = n.id AND a.attempt_no = n.attempts
                   WHERE n.status = $1";
        let rows = self
            .rows(sql, &[NotificationStatus::Delivered.as_str()])
            .await;
        rows.iter().map(|row| (row.get(0), row.get(1))).collect()
    }

    /// Orders the wallet charged that are not (yet) paid: a kill fell between the two.
    async fn stranded(&self) -> HashSet<String> {
        let sql = "SELECT w.trade_no FROM wallet_payments w
                   JOIN orders o ON o.trade_no = w.trade_no
                   WHERE o.status <> $1";
        let rows = self.rows(sql, &[OrderStatus::Success.as_str()]).await;
        rows.iter().map(|row| row.get(0)).collect()
    }

    /// Orders the wallet charged, whatever the order itself says.
    async fn charged(&self) -> HashSet<String> {
        let rows = self.rows("SELECT trade_no FROM wallet_payments", &[]).await;
        rows.iter().map(|row| row.get(0)).collect()
    }

    /// The wallet's books balance: what payers and merchants hold is what was topped up.
    async fn assert_wallet_balances(&self) {
        let sum = |table: &str, column: &str| {
            format!("SELECT CAST(COALESCE(SUM({column}), 0) AS BIGINT) FROM {table}")
        };
        let payers = self.number(&sum("wallet_accounts", "balance"), &[]).await;
        let merchants = self
            .number(&sum("wallet_merchant_balances", "balance"), &[])
            .await;
        let topped_up = self.number(&sum("wallet_topups", "amount"), &[]).await;
        assert_eq!(
            payers + merchants,
            topped_up,
            "payers {payers} + merchants {merchants} != top-ups {topped_up}"
        );
    }
}

/// How often the merchant received each (trade_no, notify_type); every body must verify.
fn tally(bodies: &[Map<String, Value>], key: &VerifyKey) -> HashMap<(String, String), usize> {
    let mut counts = HashMap::new();
    for body in bodies {
        key.verify(body)
            .unwrap_or_else(|e| panic!("notification signature: {e}: {body:?}"));
        let text = |field: &str| body[field].as_str().expect(field).to_owned();
        *counts
            .entry((text("trade_no"), text("notify_type")))
            .or_default() += 1;
    }
    counts
}

/// The notification an order in `status` must have produced; `None` while it is still open.
fn notice_for(status: &str) -> Option<&'static str> {
    if status == OrderStatus::Success.as_str() {
        Some(TRADE_SUCCESS)
    } else if status == OrderStatus::Closed.as_str() {
        Some(TRADE_CLOSED)
    } else {
        None
    }
}

/// Polls until every order is in a final state, the merchant heard of each, and the outbox
/// holds nothing pending; returns every order's final status by trade_no.
async fn wait_until_settled(
    merchant: &MerchantServer,
    audit: &Audit,
    limit: Duration,
) -> HashMap<String, String> {
    let deadline = Instant::now() + limit;
    loop {
        let statuses = audit.order_statuses().await;
        let heard: HashSet<(String, String)> = (merchant.received().iter())
            .filter_map(|body| {
                let text = |field: &str| body[field].as_str().map(str::to_owned);
                Some((text("trade_no")?, text("notify_type")?))
            })
            .collect();
        let (mut open, mut unheard) = (0, 0);
        for (trade_no, status) in &statuses {
            match notice_for(status) {
                None => open += 1,
                Some(kind) if !heard.contains(&(trade_no.clone(), kind.to_owned())) => unheard += 1,
                Some(_) => {}
            }
        }
        let pending = audit.pending_notifications().await;
        if open == 0 && unheard == 0 && pending == 0 {
            return statuses;
        }
        assert!(
            Instant::now() < deadline,
            "after {limit:?}: {open} orders still open, {unheard} final states never notified, \
             {pending} notifications pending"
        );
        tokio::time::sleep(POLL_PAUSE).await;
    }
}

const ORDERS: u64 = 2_000;
const ORDERS_IN_FLIGHT: usize = 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_postgres_deliver_every_notification_once() {
    if pg_skipped() {
        eprintln!("PAYGATE_TEST_SKIP_PG=1: skipping the PostgreSQL run");
        return;
    }
    let started = Instant::now();
    let deployment = Deployment::postgres().await;
    let merchant = block_in_place(|| deployment.open_merchant());
    let notify = MerchantServer::start().await;
    let gateways = block_in_place(|| [Gateway::start(&deployment), Gateway::start(&deployment)]);
    let clients: Vec<Client> = gateways
        .iter()
        .map(|g| merchant.client(&g.base_url))
        .collect();

    let created = tokio::time::timeout(
        Duration::from_secs(120),
        create_paid_orders(
            &clients,
            &merchant.payer_token,
            &notify.url,
            ORDERS,
            ORDERS_IN_FLIGHT,
        ),
    )
    .await
    .expect("2,000 creates within 120 s");
    let created_in = started.elapsed();
    let audit = Audit::open(&deployment).await;
    let statuses = wait_until_settled(&notify, &audit, Duration::from_secs(120)).await;
    // Stopping lets any delivery still in flight reach the merchant before we count.
    for gateway in gateways {
        let status = block_in_place(|| gateway.terminate());
        assert!(
            status.success(),
            "SIGTERM ends serve cleanly, got {status:?}"
        );
    }

    assert_eq!(statuses.len() as u64, ORDERS);
    let counts = tally(&notify.received(), &merchant.verify_key());
    for trade_no in &created {
        assert_eq!(statuses[trade_no], OrderStatus::Success.as_str());
        let key = (trade_no.clone(), TRADE_SUCCESS.to_owned());
        assert!(counts.contains_key(&key), "{trade_no} was never notified");
    }
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    assert_eq!(
        counts.len() as u64,
        ORDERS,
        "one notification per paid order"
    );

    let delivered_once = "SELECT COUNT(*) FROM notifications WHERE status = $1 AND attempts = 1";
    let delivered = NotificationStatus::Delivered.as_str();
    let total = audit
        .number("SELECT COUNT(*) FROM notifications", &[])
        .await;
    assert_eq!(total as u64, ORDERS);
    assert_eq!(
        audit.number(delivered_once, &[delivered]).await as u64,
        ORDERS,
        "every notification DELIVERED at its first attempt"
    );
    let attempts = audit
        .number("SELECT COUNT(*) FROM notification_attempts", &[])
        .await;
    assert_eq!(
        attempts as u64, ORDERS,
        "one attempt recorded per notification"
    );
    assert_eq!(audit.repeated_transitions().await, vec![]);
    let to_success = "SELECT COUNT(*) FROM order_transitions WHERE to_status = $1";
    let successes = audit
        .number(to_success, &[OrderStatus::Success.as_str()])
        .await;
    assert_eq!(
        successes as u64, ORDERS,
        "one transition to SUCCESS per order"
    );
    audit.assert_wallet_balances().await;
    let workers = audit.delivering_workers().await;
    let notifiers: HashSet<_> = workers.values().collect();
    assert_eq!(
        notifiers.len(),
        2,
        "both processes delivered notifications: {notifiers:?}"
    );
    eprintln!(
        "two processes: {ORDERS} orders created in {created_in:?}, each notified once, by {} \
         notifiers; {:?} in all",
        notifiers.len(),
        started.elapsed()
    );
    audit.store.close().await;
}

const LOAD_WORKERS: usize = 8;
const ACCEPTED_BEFORE_KILL: usize = 300;
const ACCEPTED_AFTER_RESTART: usize = 200;
/// The shortest order lifetime `serve` allows, so the expiry job settles within the test what
/// the kill left open.
const ORDER_TTL_SECS: &str = "60";
/// The orders the kill left open (60 s TTL) must expire before everything is settled.
const SETTLED_AFTER_KILL_LIMIT: Duration = Duration::from_secs(90);
/// A short lease, so the killed notifier's claims are taken over quickly.
const NOTIFY_LEASE_MS: &str = "3000";
const NOTIFY_TIMEOUT_MS: &str = "1000";
/// Kills until one lands between a charge and its state change; each has a fair chance.
const KILLS_MAX: usize = 8;

async fn kill_9_under_load(deployment: Deployment) {
    let started = Instant::now();
    let backend = match deployment.postgres {
        Some(_) => "PostgreSQL",
        None => "SQLite",
    };
    let deployment = deployment
        .with_env("PAYGATE_ORDER_TTL_SECS", ORDER_TTL_SECS)
        .with_env("PAYGATE_NOTIFY_LEASE_MS", NOTIFY_LEASE_MS)
        .with_env("PAYGATE_NOTIFY_TIMEOUT_MS", NOTIFY_TIMEOUT_MS);
    let merchant = block_in_place(|| deployment.open_merchant());
    let notify = MerchantServer::start().await;
    let mut gateway = block_in_place(|| Gateway::start(&deployment));
    let load = Load::start(
        merchant.client(&gateway.base_url),
        &merchant.payer_token,
        &notify.url,
        LOAD_WORKERS,
    );
    load.wait_for_accepted(ACCEPTED_BEFORE_KILL, Duration::from_secs(60))
        .await;
    let audit = Audit::open(&deployment).await;
    // The window this test is about is the one between the wallet's charge and the order's
    // state change: kill under load until a kill has landed in it at least once.
    let mut killed_workers = Vec::new();
    let mut stranded = HashSet::new();
    let mut killed_at = Instant::now();
    for _ in 0..KILLS_MAX {
        killed_workers.push(format!("notifier-{}-", gateway.child.id()));
        block_in_place(|| gateway.kill_9());
        killed_at = Instant::now();
        stranded.extend(audit.stranded().await);
        gateway = block_in_place(|| Gateway::start(&deployment));
        load.retarget(merchant.client(&gateway.base_url));
        let wanted = load.accepted_count() + ACCEPTED_AFTER_RESTART;
        load.wait_for_accepted(wanted, Duration::from_secs(60))
            .await;
        if !stranded.is_empty() {
            break;
        }
    }
    let kills = killed_workers.len();
    assert!(
        !stranded.is_empty(),
        "none of {kills} kills fell between a wallet charge and its state change"
    );
    let (accepted, failures) = load.finish().await;

    let limit = SETTLED_AFTER_KILL_LIMIT.saturating_sub(killed_at.elapsed());
    let statuses = wait_until_settled(&notify, &audit, limit).await;
    let last_worker = format!("notifier-{}-", gateway.child.id());
    let status = block_in_place(|| gateway.terminate());
    assert!(
        status.success(),
        "SIGTERM ends serve cleanly, got {status:?}"
    );

    for trade_no in &accepted {
        let status = statuses.get(trade_no).map(String::as_str);
        assert_eq!(
            status,
            Some(OrderStatus::Success.as_str()),
            "{trade_no} was accepted"
        );
    }
    let charged = audit.charged().await;
    let paid: HashSet<String> = (statuses.iter())
        .filter(|(_, status)| *status == OrderStatus::Success.as_str())
        .map(|(trade_no, _)| trade_no.clone())
        .collect();
    assert_eq!(
        paid, charged,
        "an order is SUCCESS exactly when the wallet charged it"
    );
    for trade_no in &stranded {
        assert_eq!(
            statuses[trade_no],
            OrderStatus::Success.as_str(),
            "{trade_no} was charged when the gateway died; the restarted one must settle it paid"
        );
    }
    let mut processes = killed_workers;
    processes.push(last_worker);
    let duplicates =
        assert_duplicates_only_from_killed(&audit, &notify, &merchant, &processes).await;
    for ((trade_no, kind), _) in tally(&notify.received(), &merchant.verify_key()) {
        assert_eq!(
            notice_for(&statuses[&trade_no]),
            Some(kind.as_str()),
            "{trade_no}"
        );
    }
    assert_eq!(audit.repeated_transitions().await, vec![]);
    audit.assert_wallet_balances().await;
    eprintln!(
        "kill -9 on {backend}: {kills} kills, {} orders charged but left unpaid by a kill (each \
         settled paid after restart), {} creates answered SUCCESS, {} orders paid, {} closed by \
         expiry, {duplicates} notifications delivered twice, failed creates {failures:?}, {:?} \
         in all",
        stranded.len(),
        accepted.len(),
        paid.len(),
        statuses.len() - paid.len(),
        started.elapsed()
    );
    audit.store.close().await;
}

/// At-least-once covers only a delivery a killed process made but never recorded: one that was
/// recorded is never claimed again. The gateways ran one after another (`processes`, in start
/// order), so a notification recorded by the p-th of them can have reached the merchant at most
/// p + 1 times: once from each earlier, killed process and once from the recorder. Returns how
/// many notifications arrived more than once.
async fn assert_duplicates_only_from_killed(
    audit: &Audit,
    notify: &MerchantServer,
    merchant: &Merchant,
    processes: &[String],
) -> usize {
    let workers = audit.delivering_workers().await;
    let counts = tally(&notify.received(), &merchant.verify_key());
    let mut duplicates = 0;
    for ((trade_no, _), n) in counts.iter().filter(|(_, n)| **n > 1) {
        duplicates += 1;
        let worker = &workers[trade_no];
        let recorder = (processes.iter())
            .position(|process| worker.starts_with(process))
            .unwrap_or_else(|| panic!("{worker} is none of the gateways {processes:?}"));
        assert!(
            *n <= recorder + 1,
            "{trade_no} delivered {n} times though {worker}, gateway {recorder} of {processes:?}, \
             recorded its delivery"
        );
    }
    duplicates
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_accepted_order_and_no_notification_on_sqlite() {
    kill_9_under_load(Deployment::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_accepted_order_and_no_notification_on_postgres() {
    if pg_skipped() {
        eprintln!("PAYGATE_TEST_SKIP_PG=1: skipping the PostgreSQL run");
        return;
    }
    kill_9_under_load(Deployment::postgres().await).await;
}
