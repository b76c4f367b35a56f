use crate::rows::{get_i64, get_opt_string, get_parsed, get_string};
use crate::{Ctx, Store, StoreError, StoreResult};
use paygate_domain::address::PrivateTargets;
use paygate_domain::sign::SignType;
use paygate_domain::{MerchantId, PayType};
use sqlx::any::AnyRow;

/// A merchant as stored: the secret stays sealed under the master key until the app opens it.
#[derive(Debug, Clone)]
pub struct MerchantRecord {
    pub id: MerchantId,
    pub name: String,
    pub sign_type: SignType,
    pub secret_sealed: String,
    pub rsa_public_key: Option<String>,
    pub pay_types: Vec<PayType>,
    /// The merchant's notification retry delays in seconds, comma-separated; `None` = seed 003's.
    pub notify_delays_secs: Option<String>,
    /// Whether this merchant's URLs may point at non-public addresses (column
    /// `allow_private_notify`).
    pub private_targets: PrivateTargets,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// A merchant as it is registered; its keys are first set now, so it is updated now too.
#[derive(Debug, Clone)]
pub struct NewMerchant {
    pub id: MerchantId,
    pub name: String,
    pub sign_type: SignType,
    pub secret_sealed: String,
    pub rsa_public_key: Option<String>,
    pub pay_types: Vec<PayType>,
    pub notify_delays_secs: Option<String>,
    pub private_targets: PrivateTargets,
    pub created_at_ms: i64,
}

/// New keys for a merchant (rotation); the secret is already sealed for the merchant.
#[derive(Debug, Clone)]
pub struct KeysUpdate {
    pub sign_type: SignType,
    pub secret_sealed: String,
    pub rsa_public_key: Option<String>,
}

fn pay_types_text(pay_types: &[PayType]) -> String {
    pay_types
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn from_row(row: &AnyRow) -> StoreResult<MerchantRecord> {
    let pay_types = get_string(row, "pay_types")?
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<PayType>().map_err(StoreError::Corrupt))
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(MerchantRecord {
        id: get_parsed::<MerchantIdText>(row, "id")?.0,
        name: get_string(row, "name")?,
        sign_type: get_parsed(row, "sign_type")?,
        secret_sealed: get_string(row, "secret_sealed")?,
        rsa_public_key: get_opt_string(row, "rsa_public_key")?,
        pay_types,
        notify_delays_secs: get_opt_string(row, "notify_delays_secs")?,
        private_targets: match get_i64(row, "allow_private_notify")? {
            0 => PrivateTargets::Refused,
            1 => PrivateTargets::Allowed,
            other => return Err(StoreError::Corrupt(format!("allow_private_notify={other}"))),
        },
        created_at_ms: get_i64(row, "created_at")?,
        updated_at_ms: get_i64(row, "updated_at")?,
    })
}

/// `MerchantId` parses through `FromStr` for column reading.
struct MerchantIdText(MerchantId);

impl std::str::FromStr for MerchantIdText {
    type Err = paygate_domain::IdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MerchantId::parse(s).map(MerchantIdText)
    }
}

const COLUMNS: &str = "id, name, sign_type, secret_sealed, rsa_public_key, pay_types, \
    notify_delays_secs, allow_private_notify, created_at, updated_at";

impl Store {
    pub async fn insert_merchant(&self, merchant: &NewMerchant) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO merchants (id, name, sign_type, secret_sealed, rsa_public_key, pay_types,
                                    notify_delays_secs, allow_private_notify, created_at,
                                    updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING",
        )
        .bind(merchant.id.as_str())
        .bind(&merchant.name)
        .bind(merchant.sign_type.as_str())
        .bind(&merchant.secret_sealed)
        .bind(merchant.rsa_public_key.as_deref())
        .bind(pay_types_text(&merchant.pay_types))
        .bind(merchant.notify_delays_secs.as_deref())
        .bind(match merchant.private_targets {
            PrivateTargets::Refused => 0_i64,
            PrivateTargets::Allowed => 1_i64,
        })
        .bind(merchant.created_at_ms)
        .bind(merchant.created_at_ms)
        .execute(&self.pool)
        .await
        .ctx("insert merchant")?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn get_merchant(&self, id: &MerchantId) -> StoreResult<Option<MerchantRecord>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM merchants WHERE id = $1"))
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .ctx("get merchant")?;
        row.as_ref().map(from_row).transpose()
    }

    pub async fn list_merchants(&self) -> StoreResult<Vec<MerchantRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM merchants ORDER BY created_at"
        ))
        .fetch_all(&self.pool)
        .await
        .ctx("list merchants")?;
        rows.iter().map(from_row).collect()
    }

    /// Replaces the merchant's keys (rotation) if its sign type is still `expected_sign_type`;
    /// returns false when no such merchant exists or its keys changed meanwhile.
    pub async fn update_merchant_keys(
        &self,
        id: &MerchantId,
        expected_sign_type: SignType,
        keys: &KeysUpdate,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE merchants SET sign_type = $1, secret_sealed = $2, rsa_public_key = $3,
                                  updated_at = $4
             WHERE id = $5 AND sign_type = $6",
        )
        .bind(keys.sign_type.as_str())
        .bind(&keys.secret_sealed)
        .bind(keys.rsa_public_key.as_deref())
        .bind(now_ms)
        .bind(id.as_str())
        .bind(expected_sign_type.as_str())
        .execute(&self.pool)
        .await
        .ctx("update merchant keys")?;
        Ok(done.rows_affected() == 1)
    }

    /// Merchants whose sealed secret starts with `prefix` (the start-up migration looks for the
    /// old format with it), as (id, sealed value).
    pub async fn merchant_secrets_with_prefix(
        &self,
        prefix: &str,
    ) -> StoreResult<Vec<(MerchantId, String)>> {
        assert!(
            !prefix.contains(['%', '_', '\\']),
            "a sealed-value prefix is matched with LIKE"
        );
        let rows = sqlx::query(
            "SELECT id, secret_sealed FROM merchants WHERE secret_sealed LIKE $1 || '%'",
        )
        .bind(prefix)
        .fetch_all(&self.pool)
        .await
        .ctx("list merchant secrets")?;
        rows.iter()
            .map(|row| {
                Ok((
                    get_parsed::<MerchantIdText>(row, "id")?.0,
                    get_string(row, "secret_sealed")?,
                ))
            })
            .collect()
    }

    /// Replaces a merchant's sealed secret only if it still holds `old` (compare-and-set), so
    /// processes re-sealing at once, or a key rotation meanwhile, never lose a write. Returns
    /// whether this call changed it.
    pub async fn reseal_merchant_secret(
        &self,
        id: &MerchantId,
        old: &str,
        new: &str,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE merchants SET secret_sealed = $1 WHERE id = $2 AND secret_sealed = $3",
        )
        .bind(new)
        .bind(id.as_str())
        .bind(old)
        .execute(&self.pool)
        .await
        .ctx("reseal merchant secret")?;
        Ok(done.rows_affected() == 1)
    }
}
