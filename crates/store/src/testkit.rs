//! Raw access for tests and the benchmark, behind the `testkit` feature: the gateway itself
//! never reaches past the store's API.

use crate::ledger::{self, Posted};
use crate::{rows, Ctx, Store, StoreError, StoreResult};
use paygate_domain::ledger::{Posting, PostingKind};
use paygate_domain::MerchantId;
use sqlx::any::AnyRow;
use sqlx::AnyPool;

impl Store {
    /// Appends one posting in its own transaction, as the flows do: it refuses an overdraft of
    /// any merchant or receiver account it takes from (after locking those merchants) and a
    /// second posting of one kind for one reference. A payment, which the gateway posts only
    /// with its order's PAID change, is taken here too, to give a test's merchant money without
    /// an order; it is kept once by a plain read, enough for tests that do not race it.
    pub async fn post_to_ledger(&self, posting: &Posting, at_ms: i64) -> StoreResult<Posted> {
        let mut tx = self.pool.begin().await.ctx("begin posting")?;
        let posted = if posting.kind == PostingKind::Payment {
            let seen = sqlx::query(
                "SELECT 1 AS seen FROM ledger_entries
                 WHERE posting_kind = 'payment' AND reference = $1 AND line = 0",
            )
            .bind(&posting.reference)
            .fetch_optional(&mut *tx)
            .await
            .ctx("find payment posting")?;
            if seen.is_none() {
                ledger::insert_entries(&mut tx, posting, at_ms).await?;
                Posted::Posted
            } else {
                Posted::AlreadyPosted
            }
        } else {
            let mut merchants: Vec<MerchantId> = posting
                .effects()
                .into_iter()
                .filter(|(a, d)| *d < 0 && a.must_not_go_negative())
                .filter_map(|(a, _)| a.merchant().cloned())
                .collect();
            merchants.sort();
            merchants.dedup();
            for merchant in &merchants {
                ledger::lock_merchant(&mut tx, merchant, posting.currency).await?;
            }
            ledger::post_checked(&mut tx, posting, at_ms).await?
        };
        if posted == Posted::Posted {
            tx.commit().await.ctx("commit posting")?;
        } else {
            tx.rollback().await.ctx("rollback posting")?;
        }
        Ok(posted)
    }

    /// The connection pool, for tests and the benchmark to run their own SQL.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Applies the migrations up to and including `last`, as a database made by an older release
    /// would have them: for tests of what a later migration does to existing rows.
    pub async fn migrate_through(&self, last: i64) -> StoreResult<()> {
        let mut migrator = match self.backend {
            crate::Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            crate::Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
        };
        migrator.migrations = migrator
            .migrations
            .iter()
            .filter(|m| m.version <= last)
            .cloned()
            .collect::<Vec<_>>()
            .into();
        migrator.run(&self.pool).await?;
        Ok(())
    }

    /// Counts rows of a table, for tests checking that a refused request wrote nothing. The name
    /// is checked against the schema's tables, never interpolated blindly.
    pub async fn count_rows(&self, table: &str) -> StoreResult<i64> {
        const TABLES: [&str; 28] = [
            "merchants",
            "orders",
            "order_transitions",
            "refunds",
            "notifications",
            "wallet_accounts",
            "wallet_payments",
            "wallet_refunds",
            "wallet_topups",
            "wallet_merchant_balances",
            "wallet_paycodes",
            "notification_attempts",
            "status_polls",
            "order_anomalies",
            "request_nonces",
            "partner_order_steps",
            "ledger_entries",
            "merchant_fee_schedules",
            "split_receivers",
            "splits",
            "split_shares",
            "split_returns",
            "split_orders",
            "settlements",
            "withdrawals",
            "payouts",
            "wallet_payout_credits",
            "order_split_rules",
        ];
        let table = TABLES
            .iter()
            .find(|t| **t == table)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown table {table}")))?;
        let row: AnyRow = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
            .fetch_one(&self.pool)
            .await
            .ctx("count rows")?;
        rows::get_i64(&row, "n")
    }
}
