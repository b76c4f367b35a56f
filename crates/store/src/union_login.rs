//! Union login's rows (migration 0010): each merchant's sealed union-login key, the partner's
//! users bound to wallet accounts, one-time login tickets, cashier sessions, and the pay
//! password with its lock. Tickets and session tokens are looked up by their digests only.

use crate::rows::{get_i64, get_opt_i64, get_opt_string, get_string};
use crate::{Ctx, Store, StoreError, StoreResult};
use paygate_domain::{Currency, MerchantId, TradeNo, WalletAccountId};

/// A partner's user as the login sees it.
#[derive(Debug, Clone)]
pub struct UnionUserLogin<'a> {
    pub merchant: &'a MerchantId,
    pub partner_user_id: &'a str,
    pub phone_md5: &'a str,
    pub nickname: Option<&'a str>,
    /// The account to open if this user is new.
    pub new_account: &'a WalletAccountId,
    pub at_ms: i64,
}

/// A ticket to record: who it logs in, to which order, until when.
#[derive(Debug, Clone)]
pub struct NewTicket<'a> {
    pub ticket_sha256: &'a str,
    pub merchant: &'a MerchantId,
    pub account: &'a WalletAccountId,
    pub trade_no: Option<&'a TradeNo>,
    pub at_ms: i64,
    pub expires_at_ms: i64,
}

/// What a ticket grants once consumed, and what a live session is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CashierGrant {
    pub merchant: MerchantId,
    pub account: WalletAccountId,
    pub trade_no: Option<TradeNo>,
}

/// Why a ticket was not consumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketRefusal {
    Unknown,
    Expired,
    Used,
}

/// The pay-password state of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayPasswordState {
    pub hash: Option<String>,
    pub locked_until_ms: Option<i64>,
}

fn merchant_of(text: String) -> StoreResult<MerchantId> {
    MerchantId::parse(&text).map_err(|e| StoreError::Corrupt(format!("merchant_id: {e}")))
}

fn account_of(text: String) -> StoreResult<WalletAccountId> {
    WalletAccountId::parse(&text).map_err(|e| StoreError::Corrupt(format!("account_id: {e}")))
}

fn key_owner(merchant: &MerchantId) -> String {
    format!("{merchant}/union-login")
}

impl Store {
    /// The owner a merchant's union-login key is sealed for (distinct from its secret's, so
    /// neither sealed value opens as the other).
    pub fn union_login_key_owner(merchant: &MerchantId) -> String {
        key_owner(merchant)
    }

    /// The merchant's sealed union-login key: the stored one, or `candidate` stored now if it
    /// had none (concurrent first uses agree on whichever landed first). `None` for no merchant.
    pub async fn union_login_key_or_insert(
        &self,
        merchant: &MerchantId,
        candidate: &str,
    ) -> StoreResult<Option<String>> {
        sqlx::query(
            "UPDATE merchants SET union_login_key_sealed = $1
             WHERE id = $2 AND union_login_key_sealed IS NULL",
        )
        .bind(candidate)
        .bind(merchant.as_str())
        .execute(&self.pool)
        .await
        .ctx("set union-login key")?;
        let row = sqlx::query("SELECT union_login_key_sealed FROM merchants WHERE id = $1")
            .bind(merchant.as_str())
            .fetch_optional(&self.pool)
            .await
            .ctx("get union-login key")?;
        row.map(|r| get_opt_string(&r, "union_login_key_sealed"))
            .transpose()
            .map(Option::flatten)
    }

    /// The wallet account of a partner's user, opened (empty, in CNY) at its first login; the
    /// phone digest and nickname are refreshed at each.
    pub async fn union_user_login(
        &self,
        login: &UnionUserLogin<'_>,
    ) -> StoreResult<WalletAccountId> {
        let mut tx = self.pool.begin().await.ctx("begin union login")?;
        let existing = sqlx::query(
            "UPDATE union_users SET phone_md5 = $1, nickname = $2, updated_at = $3
             WHERE merchant_id = $4 AND partner_user_id = $5 RETURNING account_id",
        )
        .bind(login.phone_md5)
        .bind(login.nickname)
        .bind(login.at_ms)
        .bind(login.merchant.as_str())
        .bind(login.partner_user_id)
        .fetch_optional(&mut *tx)
        .await
        .ctx("refresh union user")?;
        if let Some(row) = existing {
            tx.commit().await.ctx("commit union login")?;
            return account_of(get_string(&row, "account_id")?);
        }
        sqlx::query(
            "INSERT INTO wallet_accounts (id, currency, balance, created_at, updated_at)
             VALUES ($1, $2, 0, $3, $3)",
        )
        .bind(login.new_account.as_str())
        .bind(Currency::Cny.as_str())
        .bind(login.at_ms)
        .execute(&mut *tx)
        .await
        .ctx("open union user's account")?;
        let inserted = sqlx::query(
            "INSERT INTO union_users (merchant_id, partner_user_id, account_id, phone_md5,
                                      nickname, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $6)
             ON CONFLICT (merchant_id, partner_user_id) DO NOTHING",
        )
        .bind(login.merchant.as_str())
        .bind(login.partner_user_id)
        .bind(login.new_account.as_str())
        .bind(login.phone_md5)
        .bind(login.nickname)
        .bind(login.at_ms)
        .execute(&mut *tx)
        .await
        .ctx("insert union user")?
        .rows_affected();
        if inserted == 1 {
            tx.commit().await.ctx("commit union login")?;
            return Ok(login.new_account.clone());
        }
        // A concurrent first login won: drop the account opened here and use its.
        tx.rollback().await.ctx("rollback union login")?;
        self.union_user_account(login.merchant, login.partner_user_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("union user vanished".into()))
    }

    pub async fn union_user_account(
        &self,
        merchant: &MerchantId,
        partner_user_id: &str,
    ) -> StoreResult<Option<WalletAccountId>> {
        let row = sqlx::query(
            "SELECT account_id FROM union_users WHERE merchant_id = $1 AND partner_user_id = $2",
        )
        .bind(merchant.as_str())
        .bind(partner_user_id)
        .fetch_optional(&self.pool)
        .await
        .ctx("get union user")?;
        row.map(|r| account_of(get_string(&r, "account_id")?))
            .transpose()
    }

    pub async fn insert_cashier_ticket(&self, ticket: &NewTicket<'_>) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO cashier_tickets (ticket_sha256, merchant_id, account_id, trade_no,
                                          created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(ticket.ticket_sha256)
        .bind(ticket.merchant.as_str())
        .bind(ticket.account.as_str())
        .bind(ticket.trade_no.map(TradeNo::as_str))
        .bind(ticket.at_ms)
        .bind(ticket.expires_at_ms)
        .execute(&self.pool)
        .await
        .ctx("insert cashier ticket")?;
        Ok(())
    }

    /// Uses a ticket up: one compare-and-set, so of concurrent uses exactly one is granted.
    pub async fn consume_cashier_ticket(
        &self,
        ticket_sha256: &str,
        now_ms: i64,
    ) -> StoreResult<Result<CashierGrant, TicketRefusal>> {
        let row = sqlx::query(
            "UPDATE cashier_tickets SET used_at = $1
             WHERE ticket_sha256 = $2 AND used_at IS NULL AND expires_at > $1
             RETURNING merchant_id, account_id, trade_no",
        )
        .bind(now_ms)
        .bind(ticket_sha256)
        .fetch_optional(&self.pool)
        .await
        .ctx("consume cashier ticket")?;
        if let Some(row) = row {
            let trade_no = get_opt_string(&row, "trade_no")?
                .map(|t| TradeNo::parse(&t))
                .transpose()
                .map_err(|e| StoreError::Corrupt(format!("trade_no: {e}")))?;
            return Ok(Ok(CashierGrant {
                merchant: merchant_of(get_string(&row, "merchant_id")?)?,
                account: account_of(get_string(&row, "account_id")?)?,
                trade_no,
            }));
        }
        let row = sqlx::query("SELECT used_at FROM cashier_tickets WHERE ticket_sha256 = $1")
            .bind(ticket_sha256)
            .fetch_optional(&self.pool)
            .await
            .ctx("get cashier ticket")?;
        Ok(Err(match row {
            None => TicketRefusal::Unknown,
            Some(r) if get_opt_i64(&r, "used_at")?.is_some() => TicketRefusal::Used,
            Some(_) => TicketRefusal::Expired,
        }))
    }

    pub async fn insert_cashier_session(
        &self,
        token_sha256: &str,
        grant: &CashierGrant,
        at_ms: i64,
        expires_at_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO cashier_sessions (token_sha256, merchant_id, account_id, created_at,
                                           expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_sha256)
        .bind(grant.merchant.as_str())
        .bind(grant.account.as_str())
        .bind(at_ms)
        .bind(expires_at_ms)
        .execute(&self.pool)
        .await
        .ctx("insert cashier session")?;
        Ok(())
    }

    /// The live session with this token digest (its `trade_no` is always `None`).
    pub async fn cashier_session(
        &self,
        token_sha256: &str,
        now_ms: i64,
    ) -> StoreResult<Option<CashierGrant>> {
        let row = sqlx::query(
            "SELECT merchant_id, account_id FROM cashier_sessions
             WHERE token_sha256 = $1 AND expires_at > $2",
        )
        .bind(token_sha256)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await
        .ctx("get cashier session")?;
        row.map(|r| {
            Ok(CashierGrant {
                merchant: merchant_of(get_string(&r, "merchant_id")?)?,
                account: account_of(get_string(&r, "account_id")?)?,
                trade_no: None,
            })
        })
        .transpose()
    }

    pub async fn pay_password_state(
        &self,
        account: &WalletAccountId,
    ) -> StoreResult<Option<PayPasswordState>> {
        let row = sqlx::query(
            "SELECT pay_password_hash, pay_locked_until FROM wallet_accounts WHERE id = $1",
        )
        .bind(account.as_str())
        .fetch_optional(&self.pool)
        .await
        .ctx("get pay password")?;
        row.map(|r| {
            Ok(PayPasswordState {
                hash: get_opt_string(&r, "pay_password_hash")?,
                locked_until_ms: get_opt_i64(&r, "pay_locked_until")?,
            })
        })
        .transpose()
    }

    /// Sets the pay password only if the account has none: changing one is not a cashier
    /// operation. Returns whether it was set.
    pub async fn set_pay_password_if_absent(
        &self,
        account: &WalletAccountId,
        hash: &str,
        at_ms: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE wallet_accounts SET pay_password_hash = $1, updated_at = $2
             WHERE id = $3 AND pay_password_hash IS NULL",
        )
        .bind(hash)
        .bind(at_ms)
        .bind(account.as_str())
        .execute(&self.pool)
        .await
        .ctx("set pay password")?;
        Ok(done.rows_affected() == 1)
    }

    /// Counts a wrong pay password; the `failures_max`-th in a row locks the account until
    /// `lock_until_ms` and starts the count again. Returns the lock now in force, if any.
    pub async fn record_pay_password_failure(
        &self,
        account: &WalletAccountId,
        failures_max: i64,
        lock_until_ms: i64,
    ) -> StoreResult<Option<i64>> {
        let row = sqlx::query(
            "UPDATE wallet_accounts SET
                 pay_locked_until = CASE WHEN pay_password_failures + 1 >= $1 THEN $2
                                         ELSE pay_locked_until END,
                 pay_password_failures = CASE WHEN pay_password_failures + 1 >= $1 THEN 0
                                              ELSE pay_password_failures + 1 END
             WHERE id = $3
             RETURNING pay_locked_until",
        )
        .bind(failures_max)
        .bind(lock_until_ms)
        .bind(account.as_str())
        .fetch_optional(&self.pool)
        .await
        .ctx("count pay password failure")?;
        Ok(row
            .map(|r| get_opt_i64(&r, "pay_locked_until"))
            .transpose()?
            .flatten())
    }

    /// A right pay password ends the run of wrong ones.
    pub async fn reset_pay_password_failures(&self, account: &WalletAccountId) -> StoreResult<()> {
        sqlx::query("UPDATE wallet_accounts SET pay_password_failures = 0 WHERE id = $1")
            .bind(account.as_str())
            .execute(&self.pool)
            .await
            .ctx("reset pay password failures")?;
        Ok(())
    }

    /// How many wrong pay passwords in a row the account has now (tests and support).
    pub async fn pay_password_failures(&self, account: &WalletAccountId) -> StoreResult<i64> {
        let row = sqlx::query("SELECT pay_password_failures FROM wallet_accounts WHERE id = $1")
            .bind(account.as_str())
            .fetch_one(&self.pool)
            .await
            .ctx("get pay password failures")?;
        get_i64(&row, "pay_password_failures")
    }
}
