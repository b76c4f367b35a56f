//! The wallet's side of payer consent: pay codes issued to an account, and the payer's app token.
//! Both are stored as SHA-256 digests; `wallet_pay` (in `wallet`) binds and uses a code up.

use crate::rows::get_string;
use crate::{Ctx, Store, StoreError, StoreResult};
use paygate_domain::WalletAccountId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayCodeInsert {
    Issued,
    NoSuchAccount,
    /// Another live code has the same digest (1 in 10^16): the caller mints another.
    Taken,
}

impl Store {
    /// Records a pay code for `account`, valid until `expires_at_ms`.
    pub async fn wallet_insert_pay_code(
        &self,
        account: &WalletAccountId,
        code_sha256: &str,
        issued_at_ms: i64,
        expires_at_ms: i64,
    ) -> StoreResult<PayCodeInsert> {
        let inserted = sqlx::query(
            "INSERT INTO wallet_paycodes (code_sha256, account_id, issued_at, expires_at)
             SELECT $1, id, $3, $4 FROM wallet_accounts WHERE id = $2
             ON CONFLICT (code_sha256) DO NOTHING",
        )
        .bind(code_sha256)
        .bind(account.as_str())
        .bind(issued_at_ms)
        .bind(expires_at_ms)
        .execute(&self.pool)
        .await
        .ctx("insert pay code")?
        .rows_affected();
        if inserted == 1 {
            return Ok(PayCodeInsert::Issued);
        }
        Ok(match self.wallet_balance(account).await? {
            Some(_) => PayCodeInsert::Taken,
            None => PayCodeInsert::NoSuchAccount,
        })
    }

    /// Deletes pay codes that expired before `before_ms` without ever being presented. A code
    /// bound to a trade is kept: it is that trade's record of the payer's consent.
    pub async fn prune_unused_pay_codes(&self, before_ms: i64) -> StoreResult<u64> {
        let done =
            sqlx::query("DELETE FROM wallet_paycodes WHERE trade_no IS NULL AND expires_at < $1")
                .bind(before_ms)
                .execute(&self.pool)
                .await
                .ctx("prune pay codes")?;
        Ok(done.rows_affected())
    }

    /// Sets (or replaces) the digest of the account's payer token. False when there is no
    /// such account.
    pub async fn wallet_set_payer_token(
        &self,
        account: &WalletAccountId,
        token_sha256: &str,
        at_ms: i64,
    ) -> StoreResult<bool> {
        let updated = sqlx::query(
            "UPDATE wallet_accounts SET payer_token_sha256 = $1, updated_at = $2 WHERE id = $3",
        )
        .bind(token_sha256)
        .bind(at_ms)
        .bind(account.as_str())
        .execute(&self.pool)
        .await
        .ctx("set payer token")?
        .rows_affected();
        Ok(updated == 1)
    }

    /// The account whose payer token has this digest.
    pub async fn wallet_account_by_token(
        &self,
        token_sha256: &str,
    ) -> StoreResult<Option<WalletAccountId>> {
        let row = sqlx::query("SELECT id FROM wallet_accounts WHERE payer_token_sha256 = $1")
            .bind(token_sha256)
            .fetch_optional(&self.pool)
            .await
            .ctx("find payer token")?;
        row.map(|r| {
            let id = get_string(&r, "id")?;
            WalletAccountId::parse(&id).map_err(|e| StoreError::Corrupt(e.to_string()))
        })
        .transpose()
    }
}
