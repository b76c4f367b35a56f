//! Persistence for Paygate over sqlx's `Any` driver: SQLite embedded by default, PostgreSQL for
//! production. Both run the same SQL text (`$N` placeholders, `ON CONFLICT`, `RETURNING`), and
//! each has its own migration folder so column types can differ where the engines differ.
//!
//! Every state change is a compare-and-set on the previous status (`WHERE status = $old`), and
//! every money check that must hold under concurrency (refunds not exceeding the paid amount, a
//! wallet balance not going negative) is a conditional `UPDATE` that either applies or touches no
//! row. That keeps the two engines' behaviour the same without engine-specific row locks.

mod anomalies;
mod jobs;
mod ledger;
mod merchant_money;
mod merchants;
mod nonces;
mod notifications;
mod orders;
mod outbox;
mod partner;
mod paycodes;
mod payout_cards;
mod payouts;
mod platform;
mod refunds;
mod rows;
mod settlements;
mod split_rules;
mod splits;
#[cfg(feature = "testkit")]
mod testkit;
mod transitions;
mod union_login;
mod wallet;

pub use anomalies::AnomalyRecord;
pub use jobs::{PollRecord, ScheduledPoll};
pub use ledger::{AccountBalance, MerchantBalances, Posted, StatementLine};
pub use merchants::{KeysUpdate, MerchantRecord, NewMerchant};
pub use nonces::{NonceOutcome, RequestNonce};
pub use notifications::{AttemptOutcome, AttemptRecord, AttemptVerdict, NotificationRecord};
pub use orders::{Inserted, NewOrder, OrderRecord, OrderRef};
pub use outbox::Outbox;
pub use partner::{PartnerStepChange, PartnerStepRecord};
pub use paycodes::PayCodeInsert;
pub use payout_cards::{ClearCardNo, CLEAR_CARD_NOS_BATCH_MAX};
pub use payouts::{PayoutAcceptance, PayoutRecord, PayoutRef};
pub use refunds::{
    debug_assert_refund_fits, NewRefund, OrderFees, RefundFeeTerms, RefundFinish, RefundFunding,
    RefundRecord, RefundRef, RefundReservation,
};
pub use settlements::{Settled, SettlementRecord, SettlementRequest, WithdrawalRecord, Withdrawn};
pub use split_rules::{AutoSplitUpdate, OrderSplitRecord};
pub use splits::{
    NewReturn, NewSplit, ReceiverRecord, ReturnOutcome, ReturnRecord, ShareRecord, SplitOutcome,
    SplitRecord,
};
pub use transitions::{event_name, OrderTransition, TransitionRecord};
pub use union_login::{CashierGrant, NewTicket, PayPasswordState, TicketRefusal, UnionUserLogin};
pub use wallet::{
    WalletCharge, WalletPayOutcome, WalletPayment, WalletRefundOutcome, WalletTotals,
};

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database url must start with sqlite: or postgres:")]
    UnsupportedUrl,
    #[error("database error during {context}: {source}")]
    Db {
        context: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored row is corrupt ({0})")]
    Corrupt(String),
}

impl StoreError {
    /// True when the database is unreachable or overloaded rather than the request being wrong.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StoreError::Db {
                source: sqlx::Error::PoolTimedOut
                    | sqlx::Error::Io(_)
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::WorkerCrashed,
                ..
            }
        )
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

pub(crate) trait Ctx<T> {
    fn ctx(self, context: &'static str) -> StoreResult<T>;
}

impl<T> Ctx<T> for Result<T, sqlx::Error> {
    fn ctx(self, context: &'static str) -> StoreResult<T> {
        self.map_err(|source| StoreError::Db { context, source })
    }
}

#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Connections to PostgreSQL; SQLite always uses one, because it has a single writer and
    /// one connection turns lock contention into plain queueing instead of SQLITE_BUSY errors.
    pub pg_connections_max: u32,
    pub acquire_timeout_ms: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            pg_connections_max: 16,
            acquire_timeout_ms: 5_000,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    pub async fn connect(url: &str, options: &StoreOptions) -> StoreResult<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl);
        };
        let pool_options = AnyPoolOptions::new()
            .acquire_timeout(Duration::from_millis(options.acquire_timeout_ms));
        let pool = match backend {
            Backend::Sqlite => {
                pool_options
                    .max_connections(1)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            for pragma in [
                                "PRAGMA journal_mode = WAL",
                                "PRAGMA synchronous = FULL",
                                "PRAGMA foreign_keys = ON",
                                "PRAGMA busy_timeout = 5000",
                            ] {
                                conn.execute(pragma).await?;
                            }
                            Ok(())
                        })
                    })
                    .connect(url)
                    .await
            }
            Backend::Postgres => {
                pool_options
                    .max_connections(options.pg_connections_max)
                    .connect(url)
                    .await
            }
        }
        .ctx("connect")?;
        Ok(Store { pool, backend })
    }

    pub async fn migrate(&self) -> StoreResult<()> {
        match self.backend {
            Backend::Sqlite => {
                sqlx::migrate!("./migrations/sqlite")
                    .run(&self.pool)
                    .await?
            }
            Backend::Postgres => {
                sqlx::migrate!("./migrations/postgres")
                    .run(&self.pool)
                    .await?
            }
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .ctx("ping")?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
