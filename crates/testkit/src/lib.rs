//! Test support: `spawn_app` starts the real HTTP app on a random loopback port against a fresh
//! database (a SQLite file in a temporary directory, or a new PostgreSQL database), with a merchant
//! and a signing client ready.
//!
//! PostgreSQL is required by default: a test on PostgreSQL fails when the server is unreachable.
//! Set `PAYGATE_TEST_SKIP_PG=1` to skip those tests on a machine without it (CI never does).
//! `PAYGATE_TEST_PG_URL` names the server (default `postgres://postgres@127.0.0.1:5432/test`).

mod merchant_server;
mod scripted;

pub use merchant_server::{Answer, MerchantServer};
pub use scripted::ScriptedChannel;

use paygate_app::{App, AppSettings, Clock, CreatedMerchant, NewMerchantInput, SystemClock};
use paygate_client::Client;
use paygate_domain::address::PrivateTargets;
use paygate_domain::secret::MasterKey;
use paygate_domain::sign::{SignKey, SignType, VerifyKey};
use paygate_domain::{Currency, MerchantId, Money, PayCode, PayType, WalletAccountId};
use paygate_store::{Backend, Store, StoreOptions};
use sqlx::{Connection, Executor};
use std::path::PathBuf;
use std::sync::Arc;

pub use paygate_store::Backend as DbBackend;

pub const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

pub fn pg_admin_url() -> String {
    std::env::var("PAYGATE_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.into())
}

/// True when PostgreSQL tests were explicitly switched off for this run.
pub fn pg_skipped() -> bool {
    std::env::var("PAYGATE_TEST_SKIP_PG").is_ok_and(|v| v == "1")
}

/// A database made for one test and removed after it.
pub struct TestDb {
    pub url: String,
    backend: Backend,
    name: String,
    _dir: Option<TempDir>,
}

/// A directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("{prefix}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl TestDb {
    pub async fn create(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = TempDir::new("paygate-test");
                let url = format!("sqlite://{}/paygate.db?mode=rwc", dir.0.display());
                TestDb {
                    url,
                    backend,
                    name: String::new(),
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let admin = pg_admin_url();
                let name = format!("paygate_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .unwrap_or_else(|e| {
                        panic!(
                        "PostgreSQL is required for this test but {admin} is unreachable ({e}); \
                         start it, or set PAYGATE_TEST_SKIP_PG=1 to skip PostgreSQL tests"
                    )
                    });
                conn.execute(format!("CREATE DATABASE {name}").as_str())
                    .await
                    .expect("create test database");
                let url = match admin.rsplit_once('/') {
                    Some((base, _)) => format!("{base}/{name}"),
                    None => panic!("PAYGATE_TEST_PG_URL must end in /<database>"),
                };
                TestDb {
                    url,
                    backend,
                    name,
                    _dir: None,
                }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if self.backend != Backend::Postgres {
            return;
        }
        let name = self.name.clone();
        // Drop runs outside async; a short-lived thread with its own runtime removes the database.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&pg_admin_url()).await {
                    let _ = conn
                        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                        .await;
                }
            });
        })
        .join();
    }
}

pub struct TestOptions {
    pub clock: Arc<dyn Clock>,
    pub sign_type: SignType,
    pub settings: AppSettings,
    /// Serves `pay_type=wallet` instead of the wallet channel (e.g. a `ScriptedChannel`).
    pub channel: Option<Arc<dyn paygate_channels::Channel>>,
    pub connection_limits: paygate_http::ConnectionLimits,
}

impl TestOptions {
    /// Options whose clock stands at the wall clock's now and moves only when the test says.
    pub fn with_manual_clock() -> (TestOptions, Arc<paygate_app::ManualClock>) {
        let clock = Arc::new(paygate_app::ManualClock::new(SystemClock.now_ms()));
        let options = TestOptions {
            clock: clock.clone(),
            ..TestOptions::default()
        };
        (options, clock)
    }
}

impl Default for TestOptions {
    fn default() -> Self {
        TestOptions {
            clock: Arc::new(SystemClock),
            sign_type: SignType::Md5,
            settings: AppSettings::default(),
            channel: None,
            connection_limits: paygate_http::ConnectionLimits::default(),
        }
    }
}

/// A running app with one merchant and a client signed as that merchant.
pub struct TestApp {
    pub base_url: String,
    pub app: App,
    pub merchant: CreatedMerchant,
    pub client: Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    pub db: TestDb,
    /// The key the app's secrets are sealed under, for tests that write or restart over the
    /// same database.
    pub master_key: MasterKey,
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, TestOptions::default()).await
}

pub async fn spawn_app_with(backend: Backend, options: TestOptions) -> TestApp {
    let db = TestDb::create(backend).await;
    let store = Store::connect(&db.url, &StoreOptions::default())
        .await
        .expect("connect test database");
    store.migrate().await.expect("migrate test database");
    let master_key = MasterKey::from_hex(&MasterKey::generate_hex()).expect("fresh master key");
    let listener = paygate_http::listen("127.0.0.1:0".parse().expect("an address"))
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("local addr");
    let base_url = format!("http://{addr}");
    let mut settings = options.settings;
    settings.public_url = base_url.clone();
    let app = App::new(store, master_key.clone(), settings, options.clock)
        .await
        .expect("build app");
    let app = match options.channel {
        Some(channel) => app.with_channel(PayType::Wallet, channel),
        None => app,
    };
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let limits = options.connection_limits;
    let server = tokio::spawn({
        let app = app.clone();
        async move {
            let shutdown = async {
                let _ = rx.await;
            };
            paygate_http::serve(listener, app, limits, shutdown)
                .await
                .expect("serve");
        }
    });
    let merchant = create_merchant(&app, options.sign_type).await;
    let client = client_for(&base_url, &merchant);
    TestApp {
        base_url,
        app,
        merchant,
        client,
        shutdown: Some(tx),
        server: Some(server),
        db,
        master_key,
    }
}

/// The tests' merchant: its notify endpoint is a `MerchantServer` on loopback, so it is allowed
/// private addresses (as the demo merchant is).
pub async fn create_merchant(app: &App, sign_type: SignType) -> CreatedMerchant {
    create_merchant_with(app, sign_type, PrivateTargets::Allowed).await
}

/// A merchant as production creates it by default when `private_targets` is `Refused`.
pub async fn create_merchant_with(
    app: &App,
    sign_type: SignType,
    private_targets: PrivateTargets,
) -> CreatedMerchant {
    app.create_merchant(NewMerchantInput {
        id: None,
        name: "Test shop".into(),
        sign_type,
        rsa_public_key: None,
        pay_types: vec![PayType::Wallet],
        notify_delays_secs: None,
        private_targets,
    })
    .await
    .expect("create merchant")
}

/// The key a merchant signs its requests with.
pub fn sign_key_of(merchant: &CreatedMerchant) -> SignKey {
    match merchant.sign_type {
        SignType::Md5 => SignKey::Md5(merchant.secret.clone()),
        SignType::HmacSha256 => SignKey::HmacSha256(merchant.secret.clone()),
        SignType::Rsa2 => SignKey::Rsa2(
            paygate_domain::sign::RsaPrivateKey::from_text(
                merchant
                    .rsa_private_key
                    .as_deref()
                    .expect("generated RSA key"),
            )
            .expect("parse generated RSA key"),
        ),
    }
}

pub fn client_for(base_url: &str, merchant: &CreatedMerchant) -> Client {
    let mut builder = Client::builder(base_url, merchant.id.clone(), sign_key_of(merchant));
    match merchant.sign_type {
        SignType::Md5 => builder = builder.verify_key(VerifyKey::Md5(merchant.secret.clone())),
        SignType::HmacSha256 => {
            builder = builder.verify_key(VerifyKey::HmacSha256(merchant.secret.clone()))
        }
        SignType::Rsa2 => {}
    }
    builder.build().expect("build client")
}

impl TestApp {
    pub fn store(&self) -> &Store {
        self.app.store()
    }

    pub fn merchant_id(&self) -> &MerchantId {
        &self.merchant.id
    }

    /// Opens a payer wallet account with `yuan` in it.
    pub async fn fund_wallet(&self, account: &str, yuan: &str) -> WalletAccountId {
        let id = WalletAccountId::parse(account).expect("valid wallet account id");
        let money = Money::parse(yuan, Currency::Cny).expect("valid amount");
        self.app.wallet_topup(&id, money).await.expect("top up");
        id
    }

    /// A fresh one-time pay code for `account`, issued as the payer's app would get it (through
    /// the app's use case, at the app's clock).
    pub async fn pay_code(&self, account: &str) -> PayCode {
        let id = WalletAccountId::parse(account).expect("valid wallet account id");
        self.app
            .issue_pay_code(&id)
            .await
            .expect("issue a pay code")
            .code
    }

    /// Creates an order through the use case, at the app's clock, from API fields (`out_trade_no`,
    /// `total_amount`, ...). Tests whose clock has left the wall clock behind use this, since a
    /// signed request would be refused for its timestamp.
    pub async fn create_order_at_app_time(
        &self,
        fields: serde_json::Value,
    ) -> paygate_store::OrderRecord {
        self.create_order_for(&self.merchant.id, fields)
            .await
            .expect("create order")
    }

    /// Like `create_order_at_app_time`, for any merchant of this app, returning the refusal.
    pub async fn create_order_for(
        &self,
        merchant: &MerchantId,
        fields: serde_json::Value,
    ) -> Result<paygate_store::OrderRecord, paygate_app::AppError> {
        let now_secs = self.app.clock().now_ms() / 1000;
        let fields = fields.as_object().expect("fields are a JSON object");
        use paygate_app::commands::ApiRequest as _;
        let cmd = paygate_app::commands::CreateOrder::parse(fields, now_secs)?;
        let keys = self
            .app
            .merchant_keys(merchant)
            .await
            .expect("load merchant keys")
            .expect("merchant exists");
        self.app.create_order(&keys, cmd).await
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        self.app.store().close().await;
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// Declares one async test body run against both databases, as `name::sqlite` and
/// `name::postgres`. The body is an `async fn(Backend)`.
#[macro_export]
macro_rules! both_databases {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::DbBackend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if $crate::pg_skipped() {
                    eprintln!("PAYGATE_TEST_SKIP_PG=1: skipping the PostgreSQL run");
                    return;
                }
                super::$name($crate::DbBackend::Postgres).await;
            }
        }
    };
}
