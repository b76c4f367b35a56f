use crate::rows::get_string;
use crate::{Ctx, Store, StoreResult};

impl Store {
    /// Returns the sealed secret under `name`, storing `candidate` first if none exists. Several
    /// processes starting at once all end up with the same value.
    pub async fn platform_secret_or_insert(
        &self,
        name: &str,
        candidate_sealed: &str,
        now_ms: i64,
    ) -> StoreResult<String> {
        sqlx::query(
            "INSERT INTO platform_secrets (name, value_sealed, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(candidate_sealed)
        .bind(now_ms)
        .execute(&self.pool)
        .await
        .ctx("insert platform secret")?;
        let row = sqlx::query("SELECT value_sealed FROM platform_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await
            .ctx("read platform secret")?;
        get_string(&row, "value_sealed")
    }

    /// Every platform secret, as (name, sealed value).
    pub async fn platform_secrets(&self) -> StoreResult<Vec<(String, String)>> {
        let rows = sqlx::query("SELECT name, value_sealed FROM platform_secrets ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .ctx("list platform secrets")?;
        rows.iter()
            .map(|row| Ok((get_string(row, "name")?, get_string(row, "value_sealed")?)))
            .collect()
    }

    /// Replaces a platform secret's sealed value only if it still holds `old` (compare-and-set).
    pub async fn reseal_platform_secret(
        &self,
        name: &str,
        old: &str,
        new: &str,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE platform_secrets SET value_sealed = $1 WHERE name = $2 AND value_sealed = $3",
        )
        .bind(new)
        .bind(name)
        .bind(old)
        .execute(&self.pool)
        .await
        .ctx("reseal platform secret")?;
        Ok(done.rows_affected() == 1)
    }
}
