//! The order and notification gauges of `/metrics`. Counting rows by status is a scan that grows
//! with the tables, so it runs in a background task every `REFRESH_INTERVAL`, and a scrape only
//! renders what the last refresh set: its cost does not depend on the data, and scraping often
//! cannot load the database.

use crate::{App, AppError};
use paygate_domain::schedule::NotificationStatus;
use paygate_domain::OrderStatus;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Gauges are at most this stale; Prometheus scrapes every 15 s or more by default.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(10);

impl App {
    /// Counts orders and notifications by status once and sets the gauges from the counts.
    pub async fn refresh_gauges(&self) -> Result<(), AppError> {
        let orders = self.store().count_orders_by_status().await?;
        let notifications = self.store().count_notifications_by_status().await?;
        for status in OrderStatus::ALL {
            let n = orders
                .iter()
                .find(|(s, _)| *s == status)
                .map_or(0, |(_, n)| *n);
            metrics::gauge!("paygate_orders", "status" => status.as_str()).set(n as f64);
        }
        for status in NotificationStatus::ALL {
            let n = notifications
                .iter()
                .find(|(s, _)| *s == status)
                .map_or(0, |(_, n)| *n);
            metrics::gauge!("paygate_notifications", "status" => status.as_str()).set(n as f64);
        }
        Ok(())
    }
}

/// Refreshes the gauges at once and then every `every`, until shutdown.
pub async fn run_gauge_refresher(app: App, every: Duration, shutdown: CancellationToken) {
    loop {
        if let Err(error) = app.refresh_gauges().await {
            tracing::warn!(%error, "refreshing the metrics gauges failed; will retry");
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(every) => {}
        }
    }
}
