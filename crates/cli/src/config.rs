//! Layered configuration (DESIGN §13): built-in defaults, then an optional TOML file, then
//! `PAYGATE_*` environment variables (nested keys joined with `__`).

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub listen: String,
    pub data_dir: PathBuf,
    /// Default: SQLite in the data directory.
    pub database_url: Option<String>,
    /// 64 hex characters. Default: generated into the data directory, with a warning.
    pub master_key: Option<String>,
    /// Base of cashier links; default `http://<listen>`.
    pub public_url: Option<String>,
    pub log: String,
    pub log_format: LogFormat,
    /// Create a demo merchant and payer wallet when the database has no merchant.
    pub demo: bool,
    pub order_ttl_secs: i64,
    pub pg_connections_max: u32,
    /// Bearer token for the operator API under /admin; unset turns it off.
    pub admin_token: Option<String>,
    /// How long a process holds a claimed notification; must exceed the HTTP timeout.
    pub notify_lease_ms: i64,
    pub notify_timeout_ms: u64,
    pub notify_per_host_max: usize,
    /// Pause between steps of the expiry job and the status poller.
    pub jobs_interval_ms: u64,
    /// A request's head must arrive within this; also how long a kept-alive connection may wait
    /// for its next request.
    pub http_header_read_timeout_ms: u64,
    /// A connection that runs no request and moves no byte for this long is closed.
    pub http_idle_timeout_ms: u64,
    /// Connections open at once (each is a file descriptor); more wait in the listen backlog.
    pub http_connections_max: usize,
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
            demo: true,
            order_ttl_secs: 30 * 60,
            pg_connections_max: 16,
            admin_token: None,
            notify_lease_ms: 60_000,
            notify_timeout_ms: 10_000,
            notify_per_host_max: 4,
            jobs_interval_ms: 1_000,
            http_header_read_timeout_ms: 10_000,
            http_idle_timeout_ms: 60_000,
            http_connections_max: 1024,
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
        anyhow::ensure!(
            settings.order_ttl_secs >= 60,
            "order_ttl_secs must be at least 60"
        );
        anyhow::ensure!(
            settings.http_header_read_timeout_ms > 0 && settings.http_idle_timeout_ms > 0,
            "http_header_read_timeout_ms and http_idle_timeout_ms must be positive"
        );
        anyhow::ensure!(
            settings.http_connections_max > 0,
            "http_connections_max must be positive"
        );
        Ok(settings)
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

    #[test]
    fn a_missing_config_file_is_an_error() {
        assert!(Settings::load(Some(Path::new("/nonexistent/paygate.toml"))).is_err());
    }
}
