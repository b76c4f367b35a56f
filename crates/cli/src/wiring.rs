//! Opening what every command needs: the data directory, the master key, the store, the app.

use crate::config::Settings;
use anyhow::Context;
use paygate_app::{App, AppSettings, Clock, SystemClock};
use paygate_domain::secret::{MasterKey, Secret};
use paygate_domain::settlement::Cutoff;
use paygate_store::{Store, StoreOptions};
use std::sync::Arc;

/// The master key from the settings, or (for the embedded SQLite database only) one generated
/// into the data directory, loudly, because losing that file makes every stored secret
/// unreadable. A PostgreSQL deployment must bring its own: a key file on one host's disk would
/// silently differ between the processes sharing the database.
pub fn master_key(settings: &Settings) -> anyhow::Result<MasterKey> {
    if let Some(hex) = &settings.master_key {
        return MasterKey::from_hex(hex.expose()).context("PAYGATE_MASTER_KEY");
    }
    anyhow::ensure!(
        !settings.is_postgres(),
        "PAYGATE_MASTER_KEY must be set when the database is PostgreSQL"
    );
    let path = settings.data_dir.join("master.key");
    if path.exists() {
        let hex =
            std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
        return MasterKey::from_hex(&hex).with_context(|| format!("{}", path.display()));
    }
    let hex = MasterKey::generate_hex();
    write_private(&path, &hex)?;
    tracing::warn!(
        path = %path.display(),
        "PAYGATE_MASTER_KEY is not set: generated a master key into the data directory. \
         Fine for a demo; in production set PAYGATE_MASTER_KEY and keep it safe."
    );
    MasterKey::from_hex(&hex).context("generated master key")
}

/// Writes a file only its owner can read.
pub fn write_private(path: &std::path::Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("create {}", path.display()))?;
    file.write_all(contents.as_bytes())
        .with_context(|| format!("write {}", path.display()))
}

pub async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("create data directory {}", settings.data_dir.display()))?;
    let url = settings.database_url();
    let options = StoreOptions {
        pg_connections_max: settings.pg_connections_max,
        ..StoreOptions::default()
    };
    let store = Store::connect(&url, &options)
        .await
        .with_context(|| format!("database unreachable ({})", redact(&url)))?;
    store.migrate().await.context("apply migrations")?;
    Ok(store)
}

/// The app settings `Settings` give; `public_url` as configured (or the listen address).
pub fn app_settings(settings: &Settings) -> AppSettings {
    AppSettings {
        public_url: settings.public_url(),
        order_ttl_secs: settings.order_ttl_secs,
        admin_token: settings.admin_token().map(Secret::from),
        metrics_token: settings.metrics_token().map(Secret::from),
        notify_allow_private: settings.notify_allow_private,
        channel_fee_rates: settings.fees.channel_fee_rates(),
        split_receivers_max: settings.split_receivers_max,
        // `problems` refuses an hour out of range before the app opens.
        settlement_cutoff: Cutoff::at_hour(settings.settlement_cutoff_hour).unwrap_or_default(),
        // `validate` has refused a malformed policy before the app is built.
        payouts: settings.payout_policy().unwrap_or_default(),
        ..AppSettings::default()
    }
}

/// Checks the settings, then opens the store and the app (re-sealing old-format secrets).
pub async fn open_app(settings: &Settings) -> anyhow::Result<App> {
    open_app_with(settings, app_settings(settings), Arc::new(SystemClock)).await
}

/// `open_app` with the app settings and clock given (`startup` passes what tests inject).
pub async fn open_app_with(
    settings: &Settings,
    app_settings: AppSettings,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<App> {
    settings.validate()?;
    let store = open_store(settings).await?;
    let key = master_key(settings)?;
    App::new(store, key, app_settings, clock)
        .await
        .map_err(|e| anyhow::anyhow!("start app: {e}"))
}

/// A database URL with any password removed, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}://{}@{}", &url[..scheme], user, &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            super::redact("postgres://pay:s3cret@db:5432/pay"),
            "postgres://pay@db:5432/pay"
        );
        assert_eq!(
            super::redact("sqlite://./data/x.db"),
            "sqlite://./data/x.db"
        );
    }
}
