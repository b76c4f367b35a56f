//! `spawn_app`: the real HTTP app on a random loopback port against a fresh database, with one
//! merchant and a client signed as it.

use crate::database::TestDb;
use crate::merchants::{client_for, create_merchant};
use paygate::channels::SandboxConfigs;
use paygate::config::Settings;
use paygate::startup::{Application, Overrides};
use paygate_app::{App, AppSettings, Clock, CreatedMerchant, SystemClock};
use paygate_client::Client;
use paygate_domain::secret::MasterKey;
use paygate_domain::sign::SignType;
use paygate_domain::{Currency, MerchantId, Money, PayCode, PayType, WalletAccountId};
use paygate_sandbox::{
    AlipayCredentials, AlipaySandboxConfig, UnionpayCredentials, UnionpaySandboxConfig,
    WechatCredentials, WechatSandboxConfig,
};
use paygate_store::{Backend, Store};
use std::sync::Arc;

pub use paygate::startup::Workers;

pub struct TestOptions {
    pub clock: Arc<dyn Clock>,
    pub sign_type: SignType,
    pub settings: AppSettings,
    /// Serves `pay_type=wallet` instead of the wallet channel (e.g. a `ScriptedChannel`).
    pub channel: Option<Arc<dyn paygate_channels::Channel>>,
    pub connection_limits: paygate_http::ConnectionLimits,
    /// Off by default: tests step the notifier and the jobs themselves, at their own clock.
    pub workers: Workers,
    /// Runs the WeChat Pay sandbox in-process (credentials in the test's own data directory)
    /// and serves the WeChat pay types through it.
    pub wechat_sandbox: Option<WechatSandboxConfig>,
    /// Likewise the Alipay sandbox, serving the Alipay pay types.
    pub alipay_sandbox: Option<AlipaySandboxConfig>,
    /// Likewise the UnionPay sandbox, serving the UnionPay pay types.
    pub unionpay_sandbox: Option<UnionpaySandboxConfig>,
    /// The rail paying out to bank cards: the sandbox bank by default.
    pub payout_rail: Option<Arc<dyn paygate_channels::payout::PayoutRail>>,
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
            workers: Workers::Off,
            wechat_sandbox: None,
            alipay_sandbox: None,
            unionpay_sandbox: None,
            payout_rail: Some(Arc::new(
                paygate_channels::payout::SandboxBankRail::default(),
            )),
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
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    pub db: TestDb,
    /// The key the app's secrets are sealed under, for tests that write or restart over the
    /// same database.
    pub master_key: MasterKey,
    /// The WeChat Pay sandbox's credentials, when it runs.
    pub wechat: Option<WechatCredentials>,
    /// The Alipay sandbox's credentials, when it runs.
    pub alipay: Option<AlipayCredentials>,
    /// The UnionPay sandbox's credentials, when it runs.
    pub unionpay: Option<UnionpayCredentials>,
    _data_dir: tempfile::TempDir,
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, TestOptions::default()).await
}

/// Starts the app through production's `Application::build_with`, on the test's database with
/// a fresh master key, listening on a loopback port chosen by the system.
pub async fn spawn_app_with(backend: Backend, options: TestOptions) -> TestApp {
    let db = TestDb::create(backend).await;
    let master_key_hex = MasterKey::generate_hex();
    let master_key = MasterKey::from_hex(&master_key_hex).expect("fresh master key");
    let limits = options.connection_limits;
    let data_dir = tempfile::tempdir().expect("data directory");
    let dir = data_dir.path().to_path_buf();
    let sandbox = SandboxConfigs {
        wechat: options.wechat_sandbox.map(|config| WechatSandboxConfig {
            data_dir: dir.clone(),
            ..config
        }),
        alipay: options.alipay_sandbox.map(|config| AlipaySandboxConfig {
            data_dir: dir.clone(),
            ..config
        }),
        unionpay: options
            .unionpay_sandbox
            .map(|config| UnionpaySandboxConfig {
                data_dir: dir.clone(),
                ..config
            }),
    };
    let sandbox_on =
        sandbox.wechat.is_some() || sandbox.alipay.is_some() || sandbox.unionpay.is_some();
    let settings = Settings {
        listen: "127.0.0.1:0".into(),
        // The master key is given and there is no demo data: only the sandbox writes here.
        data_dir: data_dir.path().to_path_buf(),
        sandbox: Some(sandbox_on),
        // A timed-out channel call is a test case; it should not take ten seconds.
        channel_timeout_ms: 2_000,
        database_url: Some(db.url.clone()),
        master_key: Some(master_key_hex.into()),
        demo: Some(false),
        http_header_read_timeout_ms: limits.header_read_timeout_ms,
        http_idle_timeout_ms: limits.idle_timeout_ms,
        http_connections_max: limits.connections_max,
        ..Settings::default()
    };
    let overrides = Overrides {
        clock: options.clock,
        app_settings: Some(options.settings),
        channels: (options.channel.into_iter())
            .map(|channel| (PayType::Wallet, channel))
            .collect(),
        workers: options.workers,
        sandbox: sandbox_on.then_some(sandbox),
        payout_rail: options.payout_rail,
    };
    let application = Application::build_with(settings, overrides)
        .await
        .expect("build app");
    let (base_url, app) = (application.base_url(), application.app().clone());
    let sandboxes = application.sandboxes();
    let wechat = sandboxes.wechat.as_ref().map(|s| s.credentials.clone());
    let alipay = sandboxes.alipay.as_ref().map(|s| s.credentials.clone());
    let unionpay = sandboxes.unionpay.as_ref().map(|s| s.credentials.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(application.run_until_stopped(async {
        let _ = rx.await;
    }));
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
        wechat,
        alipay,
        unionpay,
        _data_dir: data_dir,
    }
}

impl TestApp {
    pub fn store(&self) -> &Store {
        self.app.store()
    }

    pub fn merchant_id(&self) -> &MerchantId {
        &self.merchant.id
    }

    /// The app's data directory (the sandbox keeps its keys under `sandbox/` there), for tests
    /// that play the channel themselves, e.g. signing a callback with the platform's key.
    pub fn data_dir(&self) -> &std::path::Path {
        self._data_dir.path()
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

    /// Stops serving and waits for in-flight requests; the application then closes the store.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
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
