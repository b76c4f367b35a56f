//! What a benchmark runs against: a fresh database (a SQLite file in a temporary directory, or a
//! new PostgreSQL database dropped afterwards), the real app built by the gateway's
//! `Application::build_with` and served in-process on a loopback port, one merchant, and a
//! client signed as that merchant.

use anyhow::Context;
use paygate::config::Settings;
use paygate::startup::{Application, Overrides, Workers};
use paygate_app::{App, CreatedMerchant, NewMerchantInput};
use paygate_client::Client;
use paygate_domain::address::PrivateTargets;
use paygate_domain::secret::MasterKey;
use paygate_domain::sign::{RsaPrivateKey, RsaPublicKey, SignKey, SignType, VerifyKey};
use paygate_domain::{MerchantId, PayType};
use paygate_store::Backend;
use rand::distributions::{Alphanumeric, DistString};
use sqlx::{Connection, Executor};
use std::path::PathBuf;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A database made for one benchmark. `remove` deletes it; call it on every path out.
pub struct BenchDb {
    pub url: String,
    place: Place,
}

enum Place {
    SqliteDir(PathBuf),
    Postgres { admin_url: String, name: String },
}

impl BenchDb {
    pub async fn create(backend: Backend, pg_admin_url: &str) -> anyhow::Result<BenchDb> {
        let suffix = Alphanumeric
            .sample_string(&mut rand::thread_rng(), 12)
            .to_lowercase();
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("paygate-bench-{suffix}"));
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("create {}", dir.display()))?;
                let url = format!("sqlite://{}/paygate.db?mode=rwc", dir.display());
                Ok(BenchDb {
                    url,
                    place: Place::SqliteDir(dir),
                })
            }
            Backend::Postgres => {
                let name = format!("paygate_bench_{suffix}");
                let url = database_url(pg_admin_url, &name)?;
                let redacted = paygate::wiring::redact(pg_admin_url);
                let mut admin = sqlx::PgConnection::connect(pg_admin_url)
                    .await
                    .with_context(|| format!("PostgreSQL unreachable ({redacted})"))?;
                admin
                    .execute(format!("CREATE DATABASE {name}").as_str())
                    .await
                    .with_context(|| format!("create database {name}"))?;
                let _ = admin.close().await;
                Ok(BenchDb {
                    url,
                    place: Place::Postgres {
                        admin_url: pg_admin_url.to_owned(),
                        name,
                    },
                })
            }
        }
    }

    pub async fn remove(self) -> anyhow::Result<()> {
        match self.place {
            Place::SqliteDir(dir) => {
                std::fs::remove_dir_all(&dir).with_context(|| format!("remove {}", dir.display()))
            }
            Place::Postgres { admin_url, name } => {
                let mut admin = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .context("reconnect to drop the benchmark database")?;
                admin
                    .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await
                    .with_context(|| format!("drop database {name}"))?;
                let _ = admin.close().await;
                Ok(())
            }
        }
    }
}

/// The URL of database `name` on the server `admin_url` names, keeping its query string.
pub fn database_url(admin_url: &str, name: &str) -> anyhow::Result<String> {
    let (base, query) = match admin_url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (admin_url, None),
    };
    let authority_end = base.find("://").map_or(0, |at| at + 3);
    let Some(slash) = base[authority_end..].rfind('/') else {
        anyhow::bail!("--pg-url must name a database, as postgres://user@host:port/db");
    };
    let server = &base[..authority_end + slash];
    Ok(match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    })
}

/// The app serving on a loopback port, with its merchant and a client signed as it.
pub struct Target {
    pub app: App,
    address: std::net::SocketAddr,
    pub client: Client,
    pub merchant_id: MerchantId,
    shutdown: oneshot::Sender<()>,
    server: JoinHandle<anyhow::Result<()>>,
}

impl Target {
    /// The gateway as `serve` builds it from `settings` (so `PAYGATE_*` settings apply), on the
    /// database at `url` with a fresh master key, without the background workers: a create
    /// schedules nothing for them, and the measurement is of the request path alone.
    pub async fn start(
        url: &str,
        settings: &Settings,
        sign_type: SignType,
    ) -> anyhow::Result<Target> {
        Target::start_for(url, settings, sign_type, &[PayType::Wallet]).await
    }

    /// As `start`, with a merchant that has the given pay types enabled.
    pub async fn start_for(
        url: &str,
        settings: &Settings,
        sign_type: SignType,
        pay_types: &[PayType],
    ) -> anyhow::Result<Target> {
        let settings = Settings {
            listen: "127.0.0.1:0".into(),
            public_url: None,
            database_url: Some(url.to_owned()),
            master_key: Some(MasterKey::generate_hex().into()),
            demo: Some(false),
            // Only created, never written: the master key is given and there is no demo data.
            data_dir: std::env::temp_dir(),
            ..settings.clone()
        };
        let overrides = Overrides {
            workers: Workers::Off,
            ..Overrides::default()
        };
        let application = Application::build_with(settings, overrides).await?;
        let (base_url, app) = (application.base_url(), application.app().clone());
        let address = application.addr();
        let merchant =
            create_merchant_with(&app, "Bench shop".into(), sign_type, pay_types.to_vec()).await?;
        let client = client_for(&base_url, &app, &merchant)?;
        let (shutdown, stop) = oneshot::channel::<()>();
        let server = tokio::spawn(application.run_until_stopped(async {
            let _ = stop.await;
        }));
        Ok(Target {
            app,
            address,
            client,
            merchant_id: merchant.id,
            shutdown,
            server,
        })
    }

    /// Where the app listens.
    pub fn address(&self) -> std::net::SocketAddr {
        self.address
    }

    /// Stops serving, waits for in-flight requests; the application closes the store.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(());
        self.server.await.context("server task")?
    }
}

/// A wallet merchant allowed loopback notify URLs: the bench's merchant endpoints (and the
/// create workload's discard address) are all on loopback.
pub async fn create_merchant(
    app: &App,
    name: String,
    sign_type: SignType,
) -> anyhow::Result<CreatedMerchant> {
    create_merchant_with(app, name, sign_type, vec![PayType::Wallet]).await
}

async fn create_merchant_with(
    app: &App,
    name: String,
    sign_type: SignType,
    pay_types: Vec<PayType>,
) -> anyhow::Result<CreatedMerchant> {
    app.create_merchant(NewMerchantInput {
        id: None,
        name,
        sign_type,
        rsa_public_key: None,
        pay_types,
        notify_delays_secs: None,
        private_targets: PrivateTargets::Allowed,
    })
    .await
    .map_err(|e| anyhow::anyhow!("create merchant: {e}"))
}

fn client_for(base_url: &str, app: &App, merchant: &CreatedMerchant) -> anyhow::Result<Client> {
    let (sign, verify) = match merchant.sign_type {
        SignType::Md5 => (
            SignKey::Md5(merchant.secret.clone()),
            VerifyKey::Md5(merchant.secret.clone()),
        ),
        SignType::HmacSha256 => (
            SignKey::HmacSha256(merchant.secret.clone()),
            VerifyKey::HmacSha256(merchant.secret.clone()),
        ),
        SignType::Rsa2 => {
            let private = merchant
                .rsa_private_key
                .as_deref()
                .context("an RSA2 merchant created without a key pair")?;
            (
                SignKey::Rsa2(RsaPrivateKey::from_text(private)?),
                VerifyKey::Rsa2(RsaPublicKey::from_text(&app.platform_public_key())?),
            )
        }
    };
    Ok(Client::builder(base_url, merchant.id.clone(), sign)
        .verify_key(verify)
        .build()?)
}

#[cfg(test)]
mod tests {
    use super::database_url;

    #[test]
    fn the_benchmark_database_sits_beside_the_admin_one() {
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5432/test", "b1").unwrap(),
            "postgres://postgres@127.0.0.1:5432/b1"
        );
        assert_eq!(
            database_url("postgres://u:p@db/test?sslmode=disable", "b1").unwrap(),
            "postgres://u:p@db/b1?sslmode=disable"
        );
        assert!(database_url("postgres://postgres@127.0.0.1:5432", "b1").is_err());
    }
}
