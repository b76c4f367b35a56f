//! Paygate's use cases: what the merchant API, the cashier and the CLI ask for, written once over
//! the store and the channels.
//!
//! `App` holds the wiring (store, channels by pay type, keys, clock, settings). Each merchant
//! call is verified by `auth`, parsed into a command by `commands`, carried out by `payments` or
//! `refunds`, and answered with a flat view from `views`. Every failure is an `AppError`, which
//! the HTTP layer maps to a stable error code.

pub mod aggregated;
pub mod auth;
pub mod books;
mod callbacks;
pub mod cashier;
pub mod clock;
pub mod commands;
pub mod error;
pub mod gauges;
mod idempotency;
pub mod jobs;
pub mod maintenance;
mod merchant_cache;
pub mod merchant_money;
pub mod merchants;
mod money;
pub mod notify;
pub mod operator;
pub mod partner;
pub mod payments;
pub mod payouts;
mod prepare;
pub mod refunds;
pub mod secrets;
pub mod settlement;
pub mod split_rules;
pub mod splits;
pub mod union_login;
pub mod views;
pub mod wallet;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::AppError;
pub use merchants::{CreatedMerchant, Downgrade, MerchantKeys, NewMerchantInput, RotateKeyInput};

use paygate_channels::payout::PayoutRail;
use paygate_channels::Channel;
use paygate_domain::fee::FeeRate;
use paygate_domain::ledger::LedgerName;
use paygate_domain::payout::PayeeType;
use paygate_domain::payout_rules::PayoutPolicy;
use paygate_domain::secret::{MasterKey, Secret};
use paygate_domain::sign::RsaPrivateKey;
use paygate_domain::PayType;
use paygate_store::Store;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// The shortest admin token accepted: a bearer token guards the operator API, so it must not be
/// guessable (DESIGN §11).
pub const ADMIN_TOKEN_CHARS_MIN: usize = 32;

#[derive(Debug, Clone)]
pub struct AppSettings {
    /// Base of cashier links and callback URLs, without a trailing slash.
    pub public_url: String,
    pub order_ttl_secs: i64,
    /// How far a request's timestamp may be from our clock (seed 003: 5 minutes).
    pub timestamp_window_secs: i64,
    /// How long a process trusts its cached copy of a merchant's keys and fee terms (money
    /// settings and fee schedules); a change through another process shows here after at most
    /// this long (`merchant_cache`).
    pub merchant_cache_ttl_ms: u64,
    /// Bearer token of the admin API; `None` (or empty) turns the admin API off.
    pub admin_token: Option<Secret>,
    /// Lets every merchant's URLs point at loopback and private addresses (development only;
    /// `PAYGATE_NOTIFY_ALLOW_PRIVATE`).
    pub notify_allow_private: bool,
    /// Bearer token `/metrics` requires; `None` (or empty) leaves it open.
    pub metrics_token: Option<Secret>,
    /// What each channel charges the platform on a payment in `platform` mode.
    pub channel_fee_rates: ChannelFeeRates,
    /// Overrides every channel's cap on profit-sharing receivers per order.
    pub split_receivers_max: Option<u32>,
    /// When a business day's payments are final and its settlement run may start.
    pub settlement_cutoff: paygate_domain::settlement::Cutoff,
    /// The bank-card fee, default payout limits and eligibility rules.
    pub payouts: PayoutPolicy,
}

/// The rate each channel charges the platform (its cost, `platform` mode), by the channel's
/// ledger name; a channel not listed charges nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelFeeRates(BTreeMap<LedgerName, FeeRate>);

impl ChannelFeeRates {
    pub fn new(rates: BTreeMap<LedgerName, FeeRate>) -> ChannelFeeRates {
        ChannelFeeRates(rates)
    }

    pub fn rate(&self, channel: &LedgerName) -> FeeRate {
        self.0.get(channel).copied().unwrap_or(FeeRate::ZERO)
    }
}

impl Default for ChannelFeeRates {
    /// The channels' standard rates: WeChat Pay and Alipay 0.6%, UnionPay 0.5%, our own wallet
    /// nothing.
    fn default() -> Self {
        let rates = [
            ("wechat", 6_000),
            ("alipay", 6_000),
            ("unionpay", 5_000),
            ("wallet", 0),
        ]
        .into_iter()
        .map(|(name, ppm)| {
            (
                LedgerName::parse(name).expect("a valid ledger name"),
                FeeRate::from_ppm(ppm).expect("a rate within range"),
            )
        })
        .collect();
        ChannelFeeRates(rates)
    }
}

impl Default for AppSettings {
    fn default() -> Self {
        AppSettings {
            public_url: "http://127.0.0.1:8080".into(),
            order_ttl_secs: 30 * 60,
            timestamp_window_secs: 5 * 60,
            merchant_cache_ttl_ms: 30_000,
            admin_token: None,
            notify_allow_private: false,
            metrics_token: None,
            channel_fee_rates: ChannelFeeRates::default(),
            split_receivers_max: None,
            settlement_cutoff: paygate_domain::settlement::Cutoff::default(),
            payouts: PayoutPolicy::default(),
        }
    }
}

#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    master_key: MasterKey,
    platform_key: RsaPrivateKey,
    channels: HashMap<PayType, Arc<dyn Channel>>,
    /// Where payouts go, by payee type: the wallet always; a bank when one is wired.
    payout_rails: HashMap<PayeeType, Arc<dyn PayoutRail>>,
    clock: Arc<dyn Clock>,
    settings: AppSettings,
    merchant_keys: merchant_cache::MerchantCache<Arc<MerchantKeys>>,
    fee_terms: merchant_cache::MerchantCache<Arc<money::FeeTerms>>,
    /// The base URL of each in-process channel sandbox by channel name, whose payer simulator
    /// the cashier's "pay as the payer" button asks (DESIGN §13).
    sandbox_payers: HashMap<&'static str, String>,
    /// Rung when this process writes a notification to the outbox, so its notifier claims it at
    /// once instead of at its next poll.
    outbox_written: tokio::sync::Notify,
}

const PLATFORM_KEY_NAME: &str = "platform_rsa_private_key";

impl App {
    /// Builds the app with the built-in channels; the platform's RSA key is loaded from the
    /// database, or generated once and shared by every process from then on. Secrets sealed in
    /// the old, unbound format are re-sealed first, and payout card numbers still in the clear
    /// sealed (`secrets`).
    pub async fn new(
        store: Store,
        master_key: MasterKey,
        settings: AppSettings,
        clock: Arc<dyn Clock>,
    ) -> Result<App, AppError> {
        secrets::reseal_unbound_secrets(&store, &master_key).await?;
        secrets::seal_clear_card_numbers(&store, &master_key).await?;
        let candidate = master_key.seal(&RsaPrivateKey::generate()?.to_text(), PLATFORM_KEY_NAME);
        let sealed = store
            .platform_secret_or_insert(PLATFORM_KEY_NAME, &candidate, clock.now_ms())
            .await?;
        let platform_key =
            RsaPrivateKey::from_text(&master_key.unseal(&sealed, PLATFORM_KEY_NAME)?)?;
        let mut channels: HashMap<PayType, Arc<dyn Channel>> = HashMap::new();
        channels.insert(
            PayType::Wallet,
            Arc::new(wallet::WalletChannel::new(store.clone(), clock.clone())),
        );
        channels.insert(
            PayType::Auto,
            Arc::new(aggregated::AggregatedQr {
                public_url: settings.public_url.clone(),
            }),
        );
        let mut payout_rails: HashMap<PayeeType, Arc<dyn PayoutRail>> = HashMap::new();
        payout_rails.insert(
            PayeeType::Wallet,
            Arc::new(wallet::WalletPayoutRail::new(store.clone(), clock.clone())),
        );
        Ok(App {
            inner: Arc::new(Inner {
                store,
                master_key,
                platform_key,
                channels,
                payout_rails,
                clock,
                settings,
                merchant_keys: merchant_cache::MerchantCache::default(),
                fee_terms: merchant_cache::MerchantCache::default(),
                sandbox_payers: HashMap::new(),
                outbox_written: tokio::sync::Notify::new(),
            }),
        })
    }

    /// Replaces the channel serving a pay type (tests use scripted channels).
    pub fn with_channel(self, pay_type: PayType, channel: Arc<dyn Channel>) -> App {
        let inner = Arc::try_unwrap(self.inner).unwrap_or_else(|_| {
            panic!("with_channel must be called before the app is shared");
        });
        let mut inner = inner;
        inner.channels.insert(pay_type, channel);
        App {
            inner: Arc::new(inner),
        }
    }

    /// Adds (or replaces) the rail paying out to its payee type (the sandbox bank).
    pub fn with_payout_rail(self, rail: Arc<dyn PayoutRail>) -> App {
        let mut inner = Arc::try_unwrap(self.inner).unwrap_or_else(|_| {
            panic!("with_payout_rail must be called before the app is shared");
        });
        inner.payout_rails.insert(rail.payee_type(), rail);
        App {
            inner: Arc::new(inner),
        }
    }

    pub(crate) fn payout_rails(&self) -> &HashMap<PayeeType, Arc<dyn PayoutRail>> {
        &self.inner.payout_rails
    }

    /// Says that the channel called `channel` is an in-process sandbox at `base_url`, so the
    /// cashier may play the payer there.
    pub fn with_sandbox_payer(self, channel: &'static str, base_url: String) -> App {
        let mut inner = Arc::try_unwrap(self.inner).unwrap_or_else(|_| {
            panic!("with_sandbox_payer must be called before the app is shared");
        });
        inner.sandbox_payers.insert(channel, base_url);
        App {
            inner: Arc::new(inner),
        }
    }

    pub(crate) fn sandbox_payer(&self, channel: &str) -> Option<&str> {
        self.inner.sandbox_payers.get(channel).map(String::as_str)
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn clock(&self) -> &dyn Clock {
        self.inner.clock.as_ref()
    }

    pub fn settings(&self) -> &AppSettings {
        &self.inner.settings
    }

    /// Waits until this process writes a notification to the outbox (or returns at once if one
    /// was written since the last wait).
    pub async fn outbox_written(&self) {
        self.inner.outbox_written.notified().await
    }

    fn announce_outbox(&self) {
        self.inner.outbox_written.notify_one();
    }

    pub fn platform_public_key(&self) -> String {
        self.inner.platform_key.public_key_text()
    }

    pub(crate) fn channel(&self, pay_type: PayType) -> Option<&Arc<dyn Channel>> {
        self.inner.channels.get(&pay_type)
    }

    /// The channel that calls itself `name` in callback paths.
    pub(crate) fn channel_named(&self, name: &str) -> Option<&Arc<dyn Channel>> {
        self.inner
            .channels
            .values()
            .find(|channel| channel.info().name == name)
    }

    pub async fn ready(&self) -> Result<(), AppError> {
        Ok(self.inner.store.ping().await?)
    }
}
