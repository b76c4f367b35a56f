//! `spawn_app`: the real HTTP app on a random loopback port against a fresh database, with one
//! merchant and a client signed as it.

use crate::database::TestDb;
use crate::merchants::{client_for, create_merchant};
use paygate_app::{App, AppSettings, Clock, CreatedMerchant, SystemClock};
use paygate_client::Client;
use paygate_domain::secret::MasterKey;
use paygate_domain::sign::SignType;
use paygate_domain::{Currency, MerchantId, Money, PayCode, PayType, WalletAccountId};
use paygate_store::{Backend, Store, StoreOptions};
use std::sync::Arc;

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
