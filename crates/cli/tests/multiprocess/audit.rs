//! What the gateways left behind, read from their database and from the merchant's inbox.

use crate::deployment::Deployment;
use crate::POLL_PAUSE;
use paygate_domain::schedule::NotificationStatus;
use paygate_domain::sign::VerifyKey;
use paygate_domain::OrderStatus;
use paygate_store::{Store, StoreOptions};
use paygate_testkit::MerchantServer;
use serde_json::{Map, Value};
use sqlx::Row;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

pub const TRADE_SUCCESS: &str = "TRADE_SUCCESS";
const TRADE_CLOSED: &str = "TRADE_CLOSED";

/// Reads the gateway's tables directly, as an auditor would.
pub struct Audit {
    pub store: Store,
}

impl Audit {
    pub async fn open(deployment: &Deployment) -> Audit {
        let options = StoreOptions {
            pg_connections_max: 2,
            ..StoreOptions::default()
        };
        let store = Store::connect(&deployment.database_url(), &options)
            .await
            .expect("open the gateway's database");
        Audit { store }
    }

    pub async fn rows(&self, sql: &str, binds: &[&str]) -> Vec<sqlx::any::AnyRow> {
        let mut query = sqlx::query(sql);
        for bind in binds {
            query = query.bind(*bind);
        }
        query.fetch_all(self.store.pool()).await.expect(sql)
    }

    pub async fn number(&self, sql: &str, binds: &[&str]) -> i64 {
        let rows = self.rows(sql, binds).await;
        rows[0].try_get::<i64, _>(0).expect(sql)
    }

    pub async fn order_statuses(&self) -> HashMap<String, String> {
        let rows = self.rows("SELECT trade_no, status FROM orders", &[]).await;
        rows.iter()
            .map(|row| (row.get::<String, _>(0), row.get::<String, _>(1)))
            .collect()
    }

    pub async fn pending_notifications(&self) -> i64 {
        let sql = "SELECT COUNT(*) FROM notifications WHERE status = $1";
        self.number(sql, &[NotificationStatus::Pending.as_str()])
            .await
    }

    /// (trade_no, to_status) pairs written more than once: a state changed twice.
    pub async fn repeated_transitions(&self) -> Vec<(String, String)> {
        let sql = "SELECT trade_no, to_status FROM order_transitions
                   GROUP BY trade_no, to_status HAVING COUNT(*) > 1";
        let rows = self.rows(sql, &[]).await;
        rows.iter().map(|row| (row.get(0), row.get(1))).collect()
    }

    /// The worker that recorded each delivered notification's last attempt, by trade_no.
    pub async fn delivering_workers(&self) -> HashMap<String, String> {
        let sql = "SELECT n.trade_no, a.worker FROM notifications n
                   JOIN notification_attempts a
                     ON a.notification_id = n.id AND a.attempt_no = n.attempts
                   WHERE n.status = $1";
        let rows = self
            .rows(sql, &[NotificationStatus::Delivered.as_str()])
            .await;
        rows.iter().map(|row| (row.get(0), row.get(1))).collect()
    }

    /// Orders the wallet charged that are not (yet) paid: a kill fell between the two.
    pub async fn stranded(&self) -> HashSet<String> {
        let sql = "SELECT w.trade_no FROM wallet_payments w
                   JOIN orders o ON o.trade_no = w.trade_no
                   WHERE o.status <> $1";
        let rows = self.rows(sql, &[OrderStatus::Success.as_str()]).await;
        rows.iter().map(|row| row.get(0)).collect()
    }

    /// Orders the wallet charged, whatever the order itself says.
    pub async fn charged(&self) -> HashSet<String> {
        let rows = self.rows("SELECT trade_no FROM wallet_payments", &[]).await;
        rows.iter().map(|row| row.get(0)).collect()
    }

    /// The wallet's books balance: what payers and merchants hold is what was topped up.
    pub async fn assert_wallet_balances(&self) {
        let sum = |table: &str, column: &str| {
            format!("SELECT CAST(COALESCE(SUM({column}), 0) AS BIGINT) FROM {table}")
        };
        let payers = self.number(&sum("wallet_accounts", "balance"), &[]).await;
        let merchants = self
            .number(&sum("wallet_merchant_balances", "balance"), &[])
            .await;
        let topped_up = self.number(&sum("wallet_topups", "amount"), &[]).await;
        assert_eq!(
            payers + merchants,
            topped_up,
            "payers {payers} + merchants {merchants} != top-ups {topped_up}"
        );
    }
}

/// How often the merchant received each (trade_no, notify_type); every body must verify.
pub fn tally(bodies: &[Map<String, Value>], key: &VerifyKey) -> HashMap<(String, String), usize> {
    let mut counts = HashMap::new();
    for body in bodies {
        key.verify(body)
            .unwrap_or_else(|e| panic!("notification signature: {e}: {body:?}"));
        let text = |field: &str| body[field].as_str().expect(field).to_owned();
        *counts
            .entry((text("trade_no"), text("notify_type")))
            .or_default() += 1;
    }
    counts
}

/// The notification an order in `status` must have produced; `None` while it is still open.
pub fn notice_for(status: &str) -> Option<&'static str> {
    if status == OrderStatus::Success.as_str() {
        Some(TRADE_SUCCESS)
    } else if status == OrderStatus::Closed.as_str() {
        Some(TRADE_CLOSED)
    } else {
        None
    }
}

/// Polls until every order is in a final state, the merchant heard of each, and the outbox
/// holds nothing pending; returns every order's final status by trade_no.
pub async fn wait_until_settled(
    merchant: &MerchantServer,
    audit: &Audit,
    limit: Duration,
) -> HashMap<String, String> {
    let deadline = Instant::now() + limit;
    loop {
        let statuses = audit.order_statuses().await;
        let heard: HashSet<(String, String)> = (merchant.received().iter())
            .filter_map(|body| {
                let text = |field: &str| body[field].as_str().map(str::to_owned);
                Some((text("trade_no")?, text("notify_type")?))
            })
            .collect();
        let (mut open, mut unheard) = (0, 0);
        for (trade_no, status) in &statuses {
            match notice_for(status) {
                None => open += 1,
                Some(kind) if !heard.contains(&(trade_no.clone(), kind.to_owned())) => unheard += 1,
                Some(_) => {}
            }
        }
        let pending = audit.pending_notifications().await;
        if open == 0 && unheard == 0 && pending == 0 {
            return statuses;
        }
        assert!(
            Instant::now() < deadline,
            "after {limit:?}: {open} orders still open, {unheard} final states never notified, \
             {pending} notifications pending"
        );
        tokio::time::sleep(POLL_PAUSE).await;
    }
}
