use crate::{Ctx, Store, StoreResult};
use paygate_domain::{MerchantId, Nonce};
use sqlx::AnyConnection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceOutcome {
    Fresh,
    Replayed,
}

/// A signed request's nonce, to be kept until `expires_at_ms` (past which its timestamp is
/// refused anyway).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestNonce {
    pub merchant_id: MerchantId,
    pub nonce: Nonce,
    pub expires_at_ms: i64,
}

/// Inserts the nonce on `conn` (a pool connection or an open transaction). Stored in the
/// database so every gateway process sees every other's nonces; on PostgreSQL a second insert of
/// the same nonce waits for the first's transaction, so two in flight cannot both be fresh.
pub(crate) async fn insert_nonce(
    conn: &mut AnyConnection,
    nonce: &RequestNonce,
) -> StoreResult<NonceOutcome> {
    let inserted = sqlx::query(
        "INSERT INTO request_nonces (merchant_id, nonce, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (merchant_id, nonce) DO NOTHING",
    )
    .bind(nonce.merchant_id.as_str())
    .bind(nonce.nonce.as_str())
    .bind(nonce.expires_at_ms)
    .execute(conn)
    .await
    .ctx("remember nonce")?
    .rows_affected();
    Ok(if inserted == 1 {
        NonceOutcome::Fresh
    } else {
        NonceOutcome::Replayed
    })
}

impl Store {
    /// Records a request nonce on its own; a second use inside its lifetime is a replay. A
    /// create records its nonce in the order's own transaction instead
    /// (`insert_order_with_nonce`).
    pub async fn record_nonce(&self, nonce: &RequestNonce) -> StoreResult<NonceOutcome> {
        let mut conn = self.pool.acquire().await.ctx("acquire")?;
        insert_nonce(&mut conn, nonce).await
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
