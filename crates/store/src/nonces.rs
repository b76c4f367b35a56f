use crate::{Ctx, Store, StoreResult};
use paygate_domain::{MerchantId, Nonce};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceOutcome {
    Fresh,
    Replayed,
}

impl Store {
    /// Records a request nonce; a second use inside its lifetime is a replay. Stored in the
    /// database so every gateway process sees every other's nonces.
    pub async fn remember_nonce(
        &self,
        merchant: &MerchantId,
        nonce: &Nonce,
        expires_at_ms: i64,
    ) -> StoreResult<NonceOutcome> {
        let inserted = sqlx::query(
            "INSERT INTO request_nonces (merchant_id, nonce, expires_at) VALUES ($1, $2, $3)
             ON CONFLICT (merchant_id, nonce) DO NOTHING",
        )
        .bind(merchant.as_str())
        .bind(nonce.as_str())
        .bind(expires_at_ms)
        .execute(&self.pool)
        .await
        .ctx("remember nonce")?
        .rows_affected();
        Ok(if inserted == 1 {
            NonceOutcome::Fresh
        } else {
            NonceOutcome::Replayed
        })
    }

    /// Drops nonces whose timestamp window has passed; a request that old is refused anyway.
    pub async fn prune_nonces(&self, now_ms: i64) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM request_nonces WHERE expires_at < $1")
            .bind(now_ms)
            .execute(&self.pool)
            .await
            .ctx("prune nonces")?;
        Ok(done.rows_affected())
    }
}
