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
}
