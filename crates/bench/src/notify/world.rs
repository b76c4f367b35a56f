//! A run's world on its fresh database: the app the bench seeds through (holding the master
//! key the gateway processes are given, so they can open the merchants' secrets), one MD5
//! merchant per notify host, and orders made and paid through the app's own use cases.

use super::gateway::Launch;
use crate::target::create_merchant;
use anyhow::Context;
use paygate::config::Settings;
use paygate_app::commands::CreateOrder;
use paygate_app::{App, MerchantKeys};
use paygate_channels::TradeState;
use paygate_domain::secret::MasterKey;
use paygate_domain::sign::SignType;
use paygate_domain::{Currency, Money, OutTradeNo};
use paygate_store::OrderRecord;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::task::JoinSet;

/// Long enough that no order expires during a run, in the bench's app (which sets each
/// order's expiry) and in the gateway processes alike.
pub const ORDER_TTL_SECS: i64 = 24 * 3600;
/// Tasks creating (and paying) orders at once while seeding.
const SEED_TASKS: usize = 16;

pub struct World {
    pub app: App,
    pub database_url: String,
    master_key_hex: String,
    merchants: Arc<Vec<(Arc<MerchantKeys>, String)>>,
}

impl World {
    /// Opens the database as the gateway does (migrating it) and makes one merchant per
    /// notify URL.
    pub async fn open(
        database_url: &str,
        pg_connections_max: u32,
        notify_urls: &[String],
    ) -> anyhow::Result<World> {
        let master_key_hex = MasterKey::generate_hex();
        // The gateway's own opening (migrations, secrets), with the settings the processes get.
        let settings = Settings {
            database_url: Some(database_url.to_owned()),
            master_key: Some(master_key_hex.clone().into()),
            pg_connections_max,
            order_ttl_secs: ORDER_TTL_SECS,
            notify_allow_private: true,
            // Only created, never written: the master key is given.
            data_dir: std::env::temp_dir(),
            ..Settings::default()
        };
        let app = paygate::wiring::open_app(&settings).await?;
        let mut merchants = Vec::with_capacity(notify_urls.len());
        for (host, url) in notify_urls.iter().enumerate() {
            let name = format!("Bench merchant {host}");
            let created = create_merchant(&app, name, SignType::Md5).await?;
            let keys = app
                .merchant_keys(&created.id)
                .await
                .map_err(|e| anyhow::anyhow!("open merchant keys: {e}"))?
                .context("the merchant just created is missing")?;
            merchants.push((keys, url.clone()));
        }
        Ok(World {
            app,
            database_url: database_url.to_owned(),
            master_key_hex,
            merchants: Arc::new(merchants),
        })
    }

    pub fn launch(&self) -> Launch<'_> {
        Launch {
            database_url: &self.database_url,
            master_key_hex: &self.master_key_hex,
            order_ttl_secs: ORDER_TTL_SECS,
        }
    }

    pub async fn close(self) {
        self.app.store().close().await;
    }

    /// Creates orders `0..count` (order `i` for merchant `i mod hosts`), and with `paid` marks
    /// each paid right after; returns them in order. The database is fresh per run, so the
    /// index alone keeps merchant order numbers unique.
    pub async fn seed(&self, count: usize, paid: bool) -> anyhow::Result<Vec<OrderRecord>> {
        let next = Arc::new(AtomicUsize::new(0));
        let mut tasks = JoinSet::new();
        for _ in 0..SEED_TASKS {
            let (app, merchants, next) = (self.app.clone(), self.merchants.clone(), next.clone());
            tasks.spawn(async move {
                let mut made = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        return Ok::<_, anyhow::Error>(made);
                    }
                    let (keys, url) = &merchants[i % merchants.len()];
                    let mut order = create(&app, keys, url, i).await?;
                    if paid {
                        order = mark_paid(&app, order).await?;
                    }
                    made.push((i, order));
                }
            });
        }
        let mut orders = Vec::with_capacity(count);
        while let Some(done) = tasks.join_next().await {
            orders.extend(done.context("seeding task")??);
        }
        orders.sort_unstable_by_key(|(i, _)| *i);
        Ok(orders.into_iter().map(|(_, order)| order).collect())
    }
}

/// One unpaid wallet order through the app's create use case, notifying `notify_url`.
async fn create(
    app: &App,
    merchant: &MerchantKeys,
    notify_url: &str,
    i: usize,
) -> anyhow::Result<OrderRecord> {
    let command = CreateOrder::new(
        OutTradeNo::parse(&format!("n-{i}")).context("order number")?,
        Money::parse("0.01", Currency::Cny).context("amount")?,
        "bench",
        notify_url,
    );
    app.create_order(merchant, command)
        .await
        .map_err(|e| anyhow::anyhow!("create order {i}: {e}"))
}

/// Marks an order paid the way a channel's callback does (`settle`), which writes its
/// notification to the outbox in the same transaction. Returns the order as settled; its
/// `paid_at` is the app's clock read just before that transaction.
pub async fn mark_paid(app: &App, order: OrderRecord) -> anyhow::Result<OrderRecord> {
    let state = TradeState::Paid {
        channel_trade_no: format!("bench-{}", order.trade_no),
        paid_at_ms: app.clock().now_ms(),
    };
    let trade_no = order.trade_no.clone();
    let settled = app
        .settle(order, state)
        .await
        .map_err(|e| anyhow::anyhow!("mark {trade_no} paid: {e}"))?;
    anyhow::ensure!(
        settled.status.is_paid() && settled.paid_at_ms.is_some(),
        "order {trade_no} is {} after being marked paid",
        settled.status
    );
    Ok(settled)
}
