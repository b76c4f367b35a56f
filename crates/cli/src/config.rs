//! Layered configuration (DESIGN §13): built-in defaults, then an optional TOML file, then
//! `PAYGATE_*` environment variables (nested keys joined with `__`).

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use paygate_app::{ChannelFeeRates, ADMIN_TOKEN_CHARS_MIN};
use paygate_domain::fee::FeeRate;
use paygate_domain::ledger::LedgerName;
use paygate_domain::payout_rules::{EligibilityRule, PayoutPolicy};
use paygate_domain::secret::MasterKey;
use paygate_domain::secret::Secret;
use paygate_domain::{Amount, Currency};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub listen: String,
    pub data_dir: PathBuf,
    /// Default: SQLite in the data directory.
    pub database_url: Option<String>,
    /// 64 hex characters. Required on PostgreSQL; on SQLite generated into the data directory,
    /// with a warning, when unset.
    pub master_key: Option<Secret>,
    /// Base of cashier links; default `http://<listen>`.
    pub public_url: Option<String>,
    pub log: String,
    pub log_format: LogFormat,
    /// Create a demo merchant and payer wallet when the database has no merchants. Unset: only
    /// on the embedded SQLite database, never by default on PostgreSQL.
    pub demo: Option<bool>,
    pub order_ttl_secs: i64,
    /// Hour of the day, China time (0-23), when the previous business day's payments are final
    /// and the day's settlement run starts.
    pub settlement_cutoff_hour: u32,
    pub pg_connections_max: u32,
    /// Bearer token for the operator API under /admin, at least `ADMIN_TOKEN_CHARS_MIN`
    /// characters; unset or empty turns the admin API off.
    pub admin_token: Option<Secret>,
    /// Bearer token `/metrics` requires; unset or empty leaves it open.
    pub metrics_token: Option<Secret>,
    /// How long a process holds a claimed notification; must exceed twice the HTTP timeout (a
    /// claimed notification may wait one delivery for its slot, then take one).
    pub notify_lease_ms: i64,
    pub notify_timeout_ms: u64,
    /// The most deliveries in flight to one merchant host from one process; a host's slots
    /// adapt below this to how fast it answers.
    pub notify_per_host_max: usize,
    /// The most deliveries in flight from one process, all hosts together.
    pub notify_in_flight_max: usize,
    /// Let notifications (and create's URL check) reach loopback and private addresses for
    /// every merchant; for development only.
    pub notify_allow_private: bool,
    /// The most profit-sharing receivers one order may share to, for every channel
    /// (`PAYGATE_SPLIT_RECEIVERS_MAX`); unset: each channel's own cap (WeChat Pay 5, Alipay 10).
    pub split_receivers_max: Option<u32>,
    /// Fixed fee per bank-card payout, in yuan (seed 002: 1-2 yuan); wallet payouts are free.
    pub payout_bank_card_fee: String,
    /// Payout eligibility rules, comma-separated `payee_type:days_open:trade_days:window_days`
    /// (WeChat's rule for bank cards: `bank_card:90:30:90`). Empty by default, so a new
    /// (demo) merchant can pay out at once.
    pub payout_eligibility: String,
    /// Pause between steps of the expiry job and the status poller.
    pub jobs_interval_ms: u64,
    /// A request's head must arrive within this; also how long a kept-alive connection may wait
    /// for its next request.
    pub http_header_read_timeout_ms: u64,
    /// A connection that runs no request and moves no byte for this long is closed.
    pub http_idle_timeout_ms: u64,
    /// Connections open at once (each is a file descriptor); more wait in the listen backlog.
    pub http_connections_max: usize,
    /// How long a channel's answer is awaited before its outcome counts as unknown.
    pub channel_timeout_ms: u64,
    /// Run the channel sandbox in-process and serve WeChat Pay through it when no real account
    /// is configured. Unset: on exactly when demo data is (never by default on PostgreSQL, so a
    /// production gateway never takes a sandbox's "payments").
    pub sandbox: Option<bool>,
    /// A real WeChat Pay merchant account.
    pub wechat: Option<WechatSettings>,
    /// A real Alipay app.
    pub alipay: Option<AlipaySettings>,
    /// A real UnionPay merchant.
    pub unionpay: Option<UnionpaySettings>,
    /// Fees (`[fees]`, `PAYGATE_FEES__*`).
    pub fees: FeeSettings,
}

/// Fees (`[fees]`): what each channel charges the platform on a payment of a `platform`-mode
/// merchant, in parts per million by channel name (`wechat`, `alipay`, `unionpay`, `wallet`);
/// a channel not listed charges nothing. A merchant's own fees are per merchant (admin API).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FeeSettings {
    pub channel_rate_ppm: BTreeMap<String, u32>,
}

impl Default for FeeSettings {
    fn default() -> Self {
        let defaults = ChannelFeeRates::default();
        let channel_rate_ppm = ["wechat", "alipay", "unionpay", "wallet"]
            .into_iter()
            .map(|name| {
                let ledger = LedgerName::parse(name).expect("a valid channel name");
                (name.to_owned(), defaults.rate(&ledger).ppm())
            })
            .collect();
        FeeSettings { channel_rate_ppm }
    }
}

impl FeeSettings {
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (name, ppm) in &self.channel_rate_ppm {
            if LedgerName::parse(name).is_err() {
                problems.push(format!(
                    "[fees] channel_rate_ppm: {name:?} is not a channel name (lowercase letters, digits, _)"
                ));
            }
            if FeeRate::from_ppm(*ppm).is_err() {
                problems.push(format!(
                    "[fees] channel_rate_ppm.{name} = {ppm} is above {} (10%)",
                    FeeRate::PPM_MAX
                ));
            }
        }
        problems
    }

    /// The channel rates; entries `problems` refuses are left out (`validate` runs first).
    pub fn channel_fee_rates(&self) -> ChannelFeeRates {
        let rates = self
            .channel_rate_ppm
            .iter()
            .filter_map(|(name, ppm)| {
                Some((LedgerName::parse(name).ok()?, FeeRate::from_ppm(*ppm).ok()?))
            })
            .collect();
        ChannelFeeRates::new(rates)
    }
}
/// A real WeChat Pay merchant account (`[wechat]`, `PAYGATE_WECHAT__*`). Without it, and with
/// the sandbox on, WeChat Pay is played by the in-process sandbox.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WechatSettings {
    #[serde(default = "wechat_base_url")]
    pub base_url: String,
    pub mchid: String,
    pub appid: String,
    /// The serial number of the merchant's API certificate.
    pub merchant_serial_no: String,
    /// PEM (PKCS#8) of the merchant's API private key (`apiclient_key.pem`).
    pub merchant_private_key_path: PathBuf,
    pub apiv3_key: Secret,
    /// WeChat Pay public key mode: the key's id (`PUB_KEY_ID_...`) and its PEM file.
    pub platform_public_key_id: Option<String>,
    pub platform_public_key_path: Option<PathBuf>,
    /// Platform certificate mode: each certificate's serial and its public key as PEM.
    #[serde(default)]
    pub platform_certificates: Vec<PlatformCertificate>,
    /// The API v2 key, for micropay (B scans C); without it micropay is not offered.
    pub v2_key: Option<Secret>,
    /// The merchant's API certificate (PEM), for micropay's reverse (mutual TLS).
    pub merchant_certificate_path: Option<PathBuf>,
    /// The official account's AppSecret (of `appid`), for web authorisation: with it the
    /// cashier opened in WeChat's browser learns the payer's openid and pays by JSAPI.
    pub app_secret: Option<Secret>,
    /// Where web authorisation sends the payer's browser (WeChat's own by default).
    #[serde(default = "wechat_oauth_authorize_url")]
    pub oauth_authorize_base_url: String,
    /// Where the code is traded for the openid (WeChat's own by default).
    #[serde(default = "wechat_oauth_api_url")]
    pub oauth_api_base_url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlatformCertificate {
    pub serial_no: String,
    pub public_key_path: PathBuf,
}

fn wechat_base_url() -> String {
    "https://api.mch.weixin.qq.com".into()
}

fn wechat_oauth_authorize_url() -> String {
    paygate_channels::wechat::oauth::AUTHORIZE_BASE_URL.into()
}

fn wechat_oauth_api_url() -> String {
    paygate_channels::wechat::oauth::API_BASE_URL.into()
}

/// A real Alipay app (`[alipay]`, `PAYGATE_ALIPAY__*`): public-key mode with
/// `alipay_public_key_path`, or certificate mode with the three certificates.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlipaySettings {
    #[serde(default = "alipay_gateway_url")]
    pub gateway_url: String,
    pub app_id: String,
    /// The merchant's Alipay user id (`2088...`), checked on notifications when given.
    pub seller_id: Option<String>,
    /// PEM (PKCS#8) of the app's private key.
    pub app_private_key_path: PathBuf,
    pub alipay_public_key_path: Option<PathBuf>,
    pub app_cert_path: Option<PathBuf>,
    pub alipay_cert_path: Option<PathBuf>,
    pub alipay_root_cert_path: Option<PathBuf>,
}

fn alipay_gateway_url() -> String {
    "https://openapi.alipay.com/gateway.do".into()
}

/// A real UnionPay online-payment merchant (`[unionpay]`, `PAYGATE_UNIONPAY__*`). The signing
/// key and certificate come from UnionPay's `.pfx` as PEM
/// (`openssl pkcs12 -in acp_prod_sign.pfx -nodes`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UnionpaySettings {
    #[serde(default = "unionpay_front_url")]
    pub front_url: String,
    #[serde(default = "unionpay_back_url")]
    pub back_url: String,
    #[serde(default = "unionpay_app_url")]
    pub app_url: String,
    #[serde(default = "unionpay_query_url")]
    pub query_url: String,
    #[serde(default = "unionpay_file_url")]
    pub file_url: String,
    pub mer_id: String,
    /// PEM (PKCS#8) of the merchant's signing key.
    pub sign_key_path: PathBuf,
    /// The signing key's certificate: its serial number is the `certId` sent.
    pub sign_cert_path: PathBuf,
    /// UnionPay's signing certificate, which answers and notifications must carry.
    pub verify_cert_path: PathBuf,
}

fn unionpay_front_url() -> String {
    "https://gateway.95516.com/gateway/api/frontTransReq.do".into()
}
fn unionpay_back_url() -> String {
    "https://gateway.95516.com/gateway/api/backTransReq.do".into()
}
fn unionpay_app_url() -> String {
    "https://gateway.95516.com/gateway/api/appTransReq.do".into()
}
fn unionpay_query_url() -> String {
    "https://gateway.95516.com/gateway/api/queryTrans.do".into()
}
fn unionpay_file_url() -> String {
    "https://filedownload.95516.com/".into()
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./data"),
            database_url: None,
            master_key: None,
            public_url: None,
            log: "info".into(),
            log_format: LogFormat::Text,
            demo: None,
            order_ttl_secs: 30 * 60,
            settlement_cutoff_hour: 2,
            pg_connections_max: 16,
            admin_token: None,
            metrics_token: None,
            notify_lease_ms: 60_000,
            notify_timeout_ms: 10_000,
            notify_per_host_max: 32,
            notify_in_flight_max: 256,
            notify_allow_private: false,
            split_receivers_max: None,
            payout_bank_card_fee: "1.00".into(),
            payout_eligibility: String::new(),
            jobs_interval_ms: 1_000,
            http_header_read_timeout_ms: 10_000,
            http_idle_timeout_ms: 60_000,
            http_connections_max: 1024,
            channel_timeout_ms: 10_000,
            sandbox: None,
            wechat: None,
            alipay: None,
            unionpay: None,
            fees: FeeSettings::default(),
        }
    }
}

impl Settings {
    pub fn load(file: Option<&Path>) -> anyhow::Result<Settings> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = file {
            anyhow::ensure!(
                path.exists(),
                "config file {} does not exist",
                path.display()
            );
            figment = figment.merge(Toml::file(path));
        }
        let settings: Settings = figment
            .merge(Env::prefixed("PAYGATE_").split("__"))
            .extract()
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        Ok(settings)
    }

    /// Every problem that must stop the gateway from starting, one line each, so an operator
    /// fixes them all in one go. Commands that open the app call this first.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.order_ttl_secs < 60 {
            problems.push("PAYGATE_ORDER_TTL_SECS must be at least 60".to_owned());
        }
        if self.settlement_cutoff_hour > 23 {
            problems.push("PAYGATE_SETTLEMENT_CUTOFF_HOUR must be 0-23".to_owned());
        }
        match &self.master_key {
            None if self.is_postgres() => problems.push(
                "PAYGATE_MASTER_KEY must be set when the database is PostgreSQL \
                 (a master key is generated only for the embedded SQLite database)"
                    .to_owned(),
            ),
            Some(hex) if MasterKey::from_hex(hex.expose()).is_err() => {
                problems.push("PAYGATE_MASTER_KEY must be 64 hex characters".to_owned())
            }
            _ => {}
        }
        if let Some(token) = self.admin_token() {
            let chars = token.chars().count();
            if chars < ADMIN_TOKEN_CHARS_MIN {
                problems.push(format!(
                    "PAYGATE_ADMIN_TOKEN must be at least {ADMIN_TOKEN_CHARS_MIN} characters \
                     (it has {chars}); set it empty to turn the admin API off"
                ));
            }
        }
        if self.http_header_read_timeout_ms == 0 || self.http_idle_timeout_ms == 0 {
            problems.push(
                "PAYGATE_HTTP_HEADER_READ_TIMEOUT_MS and PAYGATE_HTTP_IDLE_TIMEOUT_MS must be positive"
                    .to_owned(),
            );
        }
        if self.notify_lease_ms <= 2 * self.notify_timeout_ms as i64 {
            problems.push(format!(
                "PAYGATE_NOTIFY_LEASE_MS ({}) must exceed twice PAYGATE_NOTIFY_TIMEOUT_MS ({})",
                self.notify_lease_ms, self.notify_timeout_ms
            ));
        }
        if self.notify_per_host_max == 0 || self.notify_in_flight_max == 0 {
            problems.push(
                "PAYGATE_NOTIFY_PER_HOST_MAX and PAYGATE_NOTIFY_IN_FLIGHT_MAX must be positive"
                    .to_owned(),
            );
        }
        if self.http_connections_max == 0 {
            problems.push("PAYGATE_HTTP_CONNECTIONS_MAX must be positive".to_owned());
        }
        problems.extend(self.fees.problems());
        if let Err(problem) = self.payout_policy() {
            problems.push(problem);
        }
        problems
    }

    /// The payout fee and eligibility rules as configured, with the default limits.
    pub fn payout_policy(&self) -> Result<PayoutPolicy, String> {
        let bank_card_fee = Amount::parse_major(&self.payout_bank_card_fee, Currency::Cny)
            .map_err(|e| format!("PAYGATE_PAYOUT_BANK_CARD_FEE: {e}"))?;
        let eligibility = (self.payout_eligibility.split(','))
            .map(str::trim)
            .filter(|rule| !rule.is_empty())
            .map(EligibilityRule::parse)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("PAYGATE_PAYOUT_ELIGIBILITY: {e}"))?;
        Ok(PayoutPolicy {
            bank_card_fee,
            eligibility,
            ..PayoutPolicy::default()
        })
    }

    /// `problems()` as an error whose message has one line per problem.
    pub fn validate(&self) -> anyhow::Result<()> {
        let problems = self.problems();
        anyhow::ensure!(problems.is_empty(), "{}", problems.join("\n"));
        Ok(())
    }

    pub fn is_postgres(&self) -> bool {
        let url = self.database_url();
        url.starts_with("postgres:") || url.starts_with("postgresql:")
    }

    /// Whether `serve` creates demo data on a database without merchants.
    pub fn demo(&self) -> bool {
        self.demo.unwrap_or(!self.is_postgres())
    }

    /// Whether `serve` runs the channel sandbox in-process.
    pub fn sandbox(&self) -> bool {
        self.sandbox.unwrap_or_else(|| self.demo())
    }

    /// The admin token, `None` when unset or empty (admin API off).
    pub fn admin_token(&self) -> Option<&str> {
        self.admin_token
            .as_ref()
            .map(Secret::expose)
            .filter(|t| !t.is_empty())
    }

    /// The metrics token, `None` when unset or empty (`/metrics` open).
    pub fn metrics_token(&self) -> Option<&str> {
        self.metrics_token
            .as_ref()
            .map(Secret::expose)
            .filter(|t| !t.is_empty())
    }

    pub fn connection_limits(&self) -> paygate_http::ConnectionLimits {
        paygate_http::ConnectionLimits {
            header_read_timeout_ms: self.http_header_read_timeout_ms,
            idle_timeout_ms: self.http_idle_timeout_ms,
            connections_max: self.http_connections_max,
        }
    }

    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("paygate.db").display()
            )
        })
    }

    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
            .trim_end_matches('/')
            .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // figment's Jail fixes the closure's error type; its size is not ours to choose.
    #[allow(clippy::result_large_err)]
    #[test]
    fn environment_overrides_file_which_overrides_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("paygate.toml", "listen = \"0.0.0.0:9000\"\nlog = \"debug\"")?;
            jail.set_env("PAYGATE_LOG", "warn");
            let settings = Settings::load(Some(Path::new("paygate.toml"))).unwrap();
            assert_eq!(settings.listen, "0.0.0.0:9000");
            assert_eq!(settings.log, "warn");
            assert!(settings.database_url().starts_with("sqlite://"));
            assert_eq!(settings.public_url(), "http://0.0.0.0:9000");
            Ok(())
        });
    }

    const PG_URL: &str = "postgres://paygate@127.0.0.1/paygate";

    fn on_postgres() -> Settings {
        Settings {
            database_url: Some(PG_URL.into()),
            master_key: Some(MasterKey::generate_hex().into()),
            ..Settings::default()
        }
    }

    #[test]
    fn demo_data_is_on_by_default_only_for_the_embedded_database() {
        assert!(Settings::default().demo());
        assert!(!on_postgres().demo());
        let forced = Settings {
            demo: Some(true),
            ..on_postgres()
        };
        assert!(forced.demo());
        let off = Settings {
            demo: Some(false),
            ..Settings::default()
        };
        assert!(!off.demo());
    }

    #[test]
    fn postgres_without_a_master_key_is_refused_in_one_line() {
        assert_eq!(on_postgres().problems(), Vec::<String>::new());
        let keyless = Settings {
            master_key: None,
            ..on_postgres()
        };
        let problems = keyless.problems();
        assert_eq!(problems.len(), 1);
        assert!(problems[0].starts_with("PAYGATE_MASTER_KEY must be set"));
        assert!(!problems[0].contains('\n'));
        assert_eq!(Settings::default().problems(), Vec::<String>::new());
    }

    #[test]
    fn every_problem_is_reported_on_its_own_line() {
        let settings = Settings {
            master_key: Some("abcd".into()),
            admin_token: Some("x".repeat(31).into()),
            order_ttl_secs: 10,
            ..Settings::default()
        };
        let problems = settings.problems();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[2].contains("(it has 31)"), "{problems:?}");
        let message = settings.validate().unwrap_err().to_string();
        assert_eq!(message.lines().count(), 3);
    }

    #[test]
    fn a_notification_lease_must_outlast_a_wait_for_a_slot_and_a_delivery() {
        let lease = |lease_ms: i64| Settings {
            notify_lease_ms: lease_ms,
            notify_timeout_ms: 10_000,
            ..Settings::default()
        };
        assert_eq!(lease(20_001).problems(), Vec::<String>::new());
        assert_eq!(
            lease(20_000).problems(),
            ["PAYGATE_NOTIFY_LEASE_MS (20000) must exceed twice PAYGATE_NOTIFY_TIMEOUT_MS (10000)"]
        );
        let no_slots = Settings {
            notify_in_flight_max: 0,
            ..Settings::default()
        };
        assert_eq!(no_slots.problems().len(), 1);
    }

    #[test]
    fn admin_tokens_are_32_characters_or_empty_for_off() {
        let token = |t: &str| Settings {
            admin_token: Some(t.into()),
            ..Settings::default()
        };
        let long = "a".repeat(32);
        assert_eq!(token(&long).problems(), Vec::<String>::new());
        assert_eq!(token(&long).admin_token(), Some(long.as_str()));
        assert_eq!(token("").problems(), Vec::<String>::new());
        assert_eq!(token("").admin_token(), None);
        assert_eq!(token(&"a".repeat(20)).problems().len(), 1);
    }

    #[test]
    fn a_missing_config_file_is_an_error() {
        assert!(Settings::load(Some(Path::new("/nonexistent/paygate.toml"))).is_err());
    }
}
