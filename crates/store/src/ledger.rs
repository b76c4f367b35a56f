//! The ledger's store (DESIGN §8): postings appended inside the caller's transaction, balances
//! as sums of entries, statements per account.
//!
//! A payment only adds to what we owe a merchant, so it posts without any lock. Anything that
//! takes money out of a merchant's or receiver's balance first calls `lock_merchant` in its
//! transaction and posts with `post_checked`, which refuses a posting that would leave such an
//! account below zero: the lock serialises those takers per merchant on PostgreSQL (SQLite has
//! one writer), so the balance each one checks is the balance it changes.

use crate::rows::{get_i64, get_parsed, get_string};
use crate::{Ctx, Store, StoreError, StoreResult};
use paygate_domain::ledger::{Account, EntryKind, Posting, PostingKind};
use paygate_domain::{Currency, MerchantId};
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, Transaction};

/// What became of a posting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    Posted,
    /// The same kind was already posted for this reference; nothing was written.
    AlreadyPosted,
    /// The posting would take `account` below zero (its balance is `balance`); nothing was
    /// written and the caller should roll back.
    Overdraft {
        account: Account,
        balance: i64,
    },
}

/// Serialises, per merchant and currency, the transactions that take money out of the
/// merchant's (or its receivers') balances. Call it before reading any balance you will check.
pub(crate) async fn lock_merchant(
    tx: &mut Transaction<'static, Any>,
    merchant: &MerchantId,
    currency: Currency,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO ledger_locks (merchant_id, currency, version) VALUES ($1, $2, 1)
         ON CONFLICT (merchant_id, currency) DO UPDATE SET version = ledger_locks.version + 1",
    )
    .bind(merchant.as_str())
    .bind(currency.as_str())
    .execute(&mut **tx)
    .await
    .ctx("lock merchant ledger")?;
    Ok(())
}

/// The condition that picks one account's entries: `$1` the account, `$2` the currency and, for
/// a merchant's or receiver's account, `$owner` its merchant (bound last by `bind_owner`). The
/// owner term is what lets the planner use the partial index `ledger_entries_owned`; the
/// platform's and channels' accounts have no index and are read in id order.
pub(crate) fn account_filter(account: &Account, owner: usize) -> String {
    match account.merchant() {
        Some(_) => format!("owner = ${owner} AND account = $1 AND currency = $2"),
        None => "account = $1 AND currency = $2".to_owned(),
    }
}

/// Binds the owner of `account_filter(account, _)`, if it has one, after the other parameters.
pub(crate) fn bind_owner<'q>(
    query: Query<'q, Any, AnyArguments<'q>>,
    account: &Account,
) -> Query<'q, Any, AnyArguments<'q>> {
    match account.merchant() {
        Some(merchant) => query.bind(merchant.as_str().to_owned()),
        None => query,
    }
}

/// An account's shown balance inside `tx`.
pub(crate) async fn balance_in(
    tx: &mut Transaction<'static, Any>,
    account: &Account,
    currency: Currency,
) -> StoreResult<i64> {
    let sql = format!(
        "SELECT CAST(COALESCE(SUM(debit), 0) AS BIGINT) AS debits,
                CAST(COALESCE(SUM(credit), 0) AS BIGINT) AS credits
         FROM ledger_entries WHERE {}",
        account_filter(account, 3)
    );
    let query = sqlx::query(&sql)
        .bind(account.to_string())
        .bind(currency.as_str());
    let row = bind_owner(query, account)
        .fetch_one(&mut **tx)
        .await
        .ctx("account balance")?;
    Ok(account.balance(get_i64(&row, "debits")?, get_i64(&row, "credits")?))
}

/// The INSERT of `posting`'s entries, its parameters numbered from `$first` (bind them with
/// `bind_entries`): one row per side of each transfer, numbered by `line` from 0, each with the
/// merchant that owns its account (NULL for the platform's and channels'). It has no
/// once-per-reference guard of its own: a second posting of the same kind and reference fails on
/// the unique index of its first line, except a payment, which its order keeps once.
pub(crate) fn entries_insert(posting: &Posting, first: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO ledger_entries
           (posting_kind, reference, currency, at, line, kind, account, owner, debit, credit)
         VALUES ",
    );
    for line in 0..posting.transfers().len() * 2 {
        let p = first + 4 + line * 5;
        if line > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!(
            "(${}, ${}, ${}, ${}, {line}, ${p}, ${}, ${}, ${}, ${})",
            first,
            first + 1,
            first + 2,
            first + 3,
            p + 1,
            p + 2,
            p + 3,
            p + 4
        ));
    }
    sql
}

/// Binds the parameters of `entries_insert(posting, _)` after those already bound to `query`.
pub(crate) fn bind_entries<'q>(
    mut query: Query<'q, Any, AnyArguments<'q>>,
    posting: &'q Posting,
    at_ms: i64,
) -> Query<'q, Any, AnyArguments<'q>> {
    query = query
        .bind(posting.kind.as_str())
        .bind(posting.reference.as_str())
        .bind(posting.currency.as_str())
        .bind(at_ms);
    for t in posting.transfers() {
        for (account, debit, credit) in [
            (&t.debit, t.amount.minor(), 0),
            (&t.credit, 0, t.amount.minor()),
        ] {
            query = query
                .bind(t.kind.as_str())
                .bind(account.to_string())
                .bind(account.merchant().map(|m| m.as_str().to_owned()))
                .bind(debit)
                .bind(credit);
        }
    }
    query
}

/// Appends `posting` without checking balances: for postings that only add to what is owed to
/// merchants and receivers or whose takers hold the lock and checked already. Not for a
/// payment: only its order's PAID change posts it (`write_transition`), and the order's
/// compare-and-set keeps it once, which the once-per-posting index leaves to it (migration 0021).
pub(crate) async fn post(
    tx: &mut Transaction<'static, Any>,
    posting: &Posting,
    at_ms: i64,
) -> StoreResult<Posted> {
    if posting.kind == PostingKind::Payment {
        return Err(StoreError::Corrupt(
            "caller asked to post a payment without its order's PAID change".into(),
        ));
    }
    if posting.is_empty() {
        return Ok(Posted::Posted);
    }
    // The literal `<> 'payment'` is the index's own condition, which SQLite's planner needs to
    // see in the query to use a partial index.
    let seen = sqlx::query(
        "SELECT 1 AS seen FROM ledger_entries
         WHERE posting_kind = $1 AND reference = $2 AND line = 0 AND posting_kind <> 'payment'",
    )
    .bind(posting.kind.as_str())
    .bind(&posting.reference)
    .fetch_optional(&mut **tx)
    .await
    .ctx("find ledger posting")?;
    if seen.is_some() {
        return Ok(Posted::AlreadyPosted);
    }
    insert_entries(tx, posting, at_ms).await?;
    Ok(Posted::Posted)
}

/// Inserts `posting`'s entries, with no check of any kind.
pub(crate) async fn insert_entries(
    tx: &mut Transaction<'static, Any>,
    posting: &Posting,
    at_ms: i64,
) -> StoreResult<()> {
    let sql = entries_insert(posting, 1);
    bind_entries(sqlx::query(&sql), posting, at_ms)
        .execute(&mut **tx)
        .await
        .ctx("insert ledger entries")?;
    Ok(())
}

/// Appends `posting` unless it would take a merchant's or receiver's account below zero. The
/// caller holds `lock_merchant` for every merchant whose accounts the posting takes from.
pub(crate) async fn post_checked(
    tx: &mut Transaction<'static, Any>,
    posting: &Posting,
    at_ms: i64,
) -> StoreResult<Posted> {
    for (account, delta) in posting.effects() {
        if delta < 0 && account.must_not_go_negative() {
            let balance = balance_in(tx, &account, posting.currency).await?;
            if balance + delta < 0 {
                return Ok(Posted::Overdraft { account, balance });
            }
        }
    }
    post(tx, posting, at_ms).await
}

/// A merchant's three balances in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MerchantBalances {
    pub pending: i64,
    pub available: i64,
    pub reserved: i64,
}

/// One account's totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountBalance {
    pub account: Account,
    pub currency: Currency,
    pub debits: i64,
    pub credits: i64,
    /// As shown: credits − debits for what we owe or earn, debits − credits for the rest.
    pub balance: i64,
}

/// One line of an account's statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementLine {
    pub entry_id: i64,
    pub posting_kind: PostingKind,
    pub reference: String,
    pub kind: EntryKind,
    pub debit: i64,
    pub credit: i64,
    pub at_ms: i64,
}

pub(crate) async fn merchant_balances_in(
    tx: &mut Transaction<'static, Any>,
    merchant: &MerchantId,
    currency: Currency,
) -> StoreResult<MerchantBalances> {
    Ok(MerchantBalances {
        pending: balance_in(tx, &Account::MerchantPending(merchant.clone()), currency).await?,
        available: balance_in(tx, &Account::MerchantAvailable(merchant.clone()), currency).await?,
        reserved: balance_in(tx, &Account::MerchantReserved(merchant.clone()), currency).await?,
    })
}

impl Store {
    pub async fn account_balance(&self, account: &Account, currency: Currency) -> StoreResult<i64> {
        let mut tx = self.pool.begin().await.ctx("begin balance")?;
        let balance = balance_in(&mut tx, account, currency).await?;
        tx.rollback().await.ctx("end balance")?;
        Ok(balance)
    }

    pub async fn merchant_balances(
        &self,
        merchant: &MerchantId,
        currency: Currency,
    ) -> StoreResult<MerchantBalances> {
        let mut tx = self.pool.begin().await.ctx("begin balances")?;
        let balances = merchant_balances_in(&mut tx, merchant, currency).await?;
        tx.rollback().await.ctx("end balances")?;
        Ok(balances)
    }

    /// Every account's totals, optionally only a merchant's (its own and its receivers').
    pub async fn ledger_balances(
        &self,
        merchant: Option<&MerchantId>,
    ) -> StoreResult<Vec<AccountBalance>> {
        const SUMS: &str = "SELECT account, currency, CAST(SUM(debit) AS BIGINT) AS debits,
                                   CAST(SUM(credit) AS BIGINT) AS credits FROM ledger_entries";
        const GROUP: &str = "GROUP BY account, currency ORDER BY account, currency";
        let rows = match merchant {
            Some(merchant) => {
                sqlx::query(&format!("{SUMS} WHERE owner = $1 {GROUP}"))
                    .bind(merchant.as_str())
                    .fetch_all(&self.pool)
                    .await
            }
            None => {
                sqlx::query(&format!("{SUMS} {GROUP}"))
                    .fetch_all(&self.pool)
                    .await
            }
        }
        .ctx("ledger balances")?;
        rows.iter()
            .map(|row| {
                let account: Account = get_parsed(row, "account")?;
                let debits = get_i64(row, "debits")?;
                let credits = get_i64(row, "credits")?;
                Ok(AccountBalance {
                    balance: account.balance(debits, credits),
                    account,
                    currency: get_parsed(row, "currency")?,
                    debits,
                    credits,
                })
            })
            .collect()
    }

    /// An account's entries after `after_id`, oldest first, at most `limit`.
    pub async fn account_statement(
        &self,
        account: &Account,
        currency: Currency,
        after_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<StatementLine>> {
        let sql = format!(
            "SELECT id, posting_kind, reference, kind, debit, credit, at FROM ledger_entries
             WHERE {} AND id > $3 ORDER BY id LIMIT $4",
            account_filter(account, 5)
        );
        let query = sqlx::query(&sql)
            .bind(account.to_string())
            .bind(currency.as_str())
            .bind(after_id)
            .bind(limit);
        let rows = bind_owner(query, account)
            .fetch_all(&self.pool)
            .await
            .ctx("account statement")?;
        rows.iter()
            .map(|row| {
                Ok(StatementLine {
                    entry_id: get_i64(row, "id")?,
                    posting_kind: get_parsed(row, "posting_kind")?,
                    reference: get_string(row, "reference")?,
                    kind: get_parsed(row, "kind")?,
                    debit: get_i64(row, "debit")?,
                    credit: get_i64(row, "credit")?,
                    at_ms: get_i64(row, "at")?,
                })
            })
            .collect()
    }

    /// Debits minus credits over every entry, per currency: zero for every currency, always.
    pub async fn ledger_imbalance(&self) -> StoreResult<Vec<(Currency, i64)>> {
        let rows = sqlx::query(
            "SELECT currency, CAST(SUM(debit) - SUM(credit) AS BIGINT) AS net FROM ledger_entries
             GROUP BY currency ORDER BY currency",
        )
        .fetch_all(&self.pool)
        .await
        .ctx("ledger imbalance")?;
        rows.iter()
            .map(|row| Ok((get_parsed(row, "currency")?, get_i64(row, "net")?)))
            .collect()
    }
}
