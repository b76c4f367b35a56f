//! Merchants and their keys: creation, rotation, and the opened keys kept in the per-process
//! merchant cache (`merchant_cache`), because unsealing a secret and parsing an RSA key on every
//! request would cost more than the request itself.

use crate::{App, AppError};
use paygate_domain::address::PrivateTargets;
use paygate_domain::schedule::RetrySchedule;
use paygate_domain::secret::Secret;
use paygate_domain::sign::{RsaPrivateKey, RsaPublicKey, SignKey, SignType, VerifyKey};
use paygate_domain::{MerchantId, PayType};
use paygate_store::{KeysUpdate, MerchantRecord, NewMerchant};
use rand::distributions::{Alphanumeric, DistString};
use std::sync::Arc;
use std::time::Duration;

/// A merchant with its keys opened: how to check its requests and sign our answers to it.
#[derive(Debug)]
pub struct MerchantKeys {
    pub record: MerchantRecord,
    pub verify: VerifyKey,
    pub respond: SignKey,
    pub notify_schedule: RetrySchedule,
}

#[derive(Debug, Clone)]
pub struct NewMerchantInput {
    pub id: Option<MerchantId>,
    pub name: String,
    pub sign_type: SignType,
    /// The merchant's own RSA public key for RSA2; when absent we generate a pair and hand the
    /// private half over once.
    pub rsa_public_key: Option<String>,
    pub pay_types: Vec<PayType>,
    /// Notification retry delays in seconds; `None` keeps seed 003's schedule.
    pub notify_delays_secs: Option<Vec<i64>>,
    /// `Allowed` lets its notify_url and return_url point at loopback or private addresses
    /// (`--allow-private-notify`: the demo, a merchant on the gateway's own network).
    pub private_targets: PrivateTargets,
}

/// What a key rotation asks for.
#[derive(Debug, Clone)]
pub struct RotateKeyInput {
    /// `None` keeps the merchant's current sign type.
    pub sign_type: Option<SignType>,
    /// The merchant's own RSA public key for RSA2; when absent we generate a pair.
    pub rsa_public_key: Option<String>,
    pub downgrade: Downgrade,
}

/// Whether a rotation may move to a weaker sign type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Downgrade {
    Refuse,
    Allow,
}

/// MD5 < HMAC-SHA256 < RSA2: a keyed MAC beats a hash with the key appended, and an asymmetric
/// key beats a shared secret the platform also holds.
fn sign_strength(sign_type: SignType) -> u8 {
    match sign_type {
        SignType::Md5 => 0,
        SignType::HmacSha256 => 1,
        SignType::Rsa2 => 2,
    }
}

/// Parses a stored delay list; the default schedule when absent.
fn notify_schedule(text: Option<&str>) -> Result<RetrySchedule, AppError> {
    let Some(text) = text else {
        return Ok(RetrySchedule::notification());
    };
    let delays = text
        .split(',')
        .map(|d| d.trim().parse::<i64>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| AppError::param("notify_delays_secs", "must be whole seconds"))?;
    RetrySchedule::from_delays_secs(&delays, RetrySchedule::notification().give_up_after_ms)
        .map_err(|e| AppError::param("notify_delays_secs", e.to_string()))
}

/// What the operator hands the merchant, once: the secret and any generated private key.
#[derive(Debug, Clone)]
pub struct CreatedMerchant {
    pub id: MerchantId,
    pub sign_type: SignType,
    pub secret: Secret,
    pub rsa_private_key: Option<String>,
    pub rsa_public_key: Option<String>,
}

fn new_secret() -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), 32)
}

/// For RSA2: the merchant's public key as given, or a fresh pair of which we keep the public half.
fn rsa_keys(
    sign_type: SignType,
    given: Option<String>,
) -> Result<(Option<String>, Option<String>), AppError> {
    if sign_type != SignType::Rsa2 {
        return Ok((None, None));
    }
    match given {
        Some(public) => {
            RsaPublicKey::from_text(&public)
                .map_err(|e| AppError::param("rsa_public_key", e.to_string()))?;
            Ok((Some(public), None))
        }
        None => {
            let pair = RsaPrivateKey::generate()?;
            Ok((Some(pair.public_key_text()), Some(pair.to_text())))
        }
    }
}

impl App {
    pub async fn create_merchant(
        &self,
        input: NewMerchantInput,
    ) -> Result<CreatedMerchant, AppError> {
        if input.name.trim().is_empty() || input.name.chars().count() > 64 {
            return Err(AppError::param("name", "must be 1-64 characters"));
        }
        if input.pay_types.is_empty() {
            return Err(AppError::param("pay_types", "at least one pay type"));
        }
        let id = input.id.unwrap_or_else(MerchantId::mint);
        let secret = new_secret();
        let (rsa_public_key, rsa_private_key) = rsa_keys(input.sign_type, input.rsa_public_key)?;
        let notify_delays_secs = input.notify_delays_secs.map(|delays| {
            delays
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        });
        notify_schedule(notify_delays_secs.as_deref())?;
        let now = self.clock().now_ms();
        let record = NewMerchant {
            id: id.clone(),
            name: input.name,
            sign_type: input.sign_type,
            secret_sealed: self.inner.master_key.seal(&secret, id.as_str()),
            rsa_public_key: rsa_public_key.clone(),
            pay_types: input.pay_types,
            notify_delays_secs,
            private_targets: input.private_targets,
            created_at_ms: now,
        };
        if !self.store().insert_merchant(&record).await? {
            return Err(AppError::param(
                "merchant_id",
                "a merchant with this id exists",
            ));
        }
        Ok(CreatedMerchant {
            id,
            sign_type: input.sign_type,
            secret: secret.into(),
            rsa_private_key,
            rsa_public_key,
        })
    }

    /// Issues new keys; the old ones stop working once every process's cache has expired. The
    /// sign type stays the merchant's unless one is given, and a weaker one needs
    /// `Downgrade::Allow`: a rotation must never quietly weaken how a merchant is authenticated.
    pub async fn rotate_merchant_key(
        &self,
        id: &MerchantId,
        input: RotateKeyInput,
    ) -> Result<CreatedMerchant, AppError> {
        let current = self
            .store()
            .get_merchant(id)
            .await?
            .ok_or_else(|| AppError::param("merchant_id", "unknown merchant"))?
            .sign_type;
        let sign_type = input.sign_type.unwrap_or(current);
        if sign_strength(sign_type) < sign_strength(current) && input.downgrade == Downgrade::Refuse
        {
            return Err(AppError::param(
                "sign_type",
                format!(
                    "{sign_type} is weaker than the merchant's current {current}; \
                     a downgrade must be allowed explicitly (--allow-downgrade)"
                ),
            ));
        }
        let secret = new_secret();
        let (rsa_public_key, rsa_private_key) = rsa_keys(sign_type, input.rsa_public_key)?;
        let keys = KeysUpdate {
            sign_type,
            secret_sealed: self.inner.master_key.seal(&secret, id.as_str()),
            rsa_public_key: rsa_public_key.clone(),
        };
        let now = self.clock().now_ms();
        // Compare-and-set on the sign type checked above, so a concurrent rotation cannot slip a
        // downgrade past the check.
        if !self
            .store()
            .update_merchant_keys(id, current, &keys, now)
            .await?
        {
            return Err(AppError::param(
                "merchant_id",
                "the merchant's keys changed meanwhile; try again",
            ));
        }
        self.forget_merchant(id);
        Ok(CreatedMerchant {
            id: id.clone(),
            sign_type,
            secret: secret.into(),
            rsa_private_key,
            rsa_public_key,
        })
    }

    /// Whether a merchant's URLs may point at non-public addresses: the operator allows it for
    /// every merchant (`PAYGATE_NOTIFY_ALLOW_PRIVATE`), or the merchant's record does.
    pub fn private_targets(&self, record: &MerchantRecord) -> PrivateTargets {
        if self.settings().notify_allow_private {
            PrivateTargets::Allowed
        } else {
            record.private_targets
        }
    }

    pub async fn list_merchants(&self) -> Result<Vec<MerchantRecord>, AppError> {
        Ok(self.store().list_merchants().await?)
    }

    pub async fn get_merchant(&self, id: &MerchantId) -> Result<Option<MerchantRecord>, AppError> {
        Ok(self.store().get_merchant(id).await?)
    }

    /// The merchant's opened keys, from the cache when fresh. `None` for an unknown merchant.
    pub async fn merchant_keys(
        &self,
        id: &MerchantId,
    ) -> Result<Option<Arc<MerchantKeys>>, AppError> {
        let ttl = Duration::from_millis(self.settings().merchant_cache_ttl_ms);
        if let Some(keys) = self.inner.merchant_keys.fresh(id, ttl) {
            return Ok(Some(keys));
        }
        let generation = self.inner.merchant_keys.generation();
        let Some(record) = self.store().get_merchant(id).await? else {
            return Ok(None);
        };
        let keys = Arc::new(self.open_keys(record)?);
        self.inner.merchant_keys.store(id, keys.clone(), generation);
        Ok(Some(keys))
    }

    /// Drops what this process caches of the merchant (its keys and fee terms), after this
    /// process changed them; other processes keep their copies until their TTL runs out.
    pub(crate) fn forget_merchant(&self, id: &MerchantId) {
        self.inner.merchant_keys.forget(id);
        self.inner.fee_terms.forget(id);
    }

    fn open_keys(&self, record: MerchantRecord) -> Result<MerchantKeys, AppError> {
        // Sealed for this merchant's id: a value copied from another merchant's row fails here.
        let secret: Secret = self
            .inner
            .master_key
            .unseal(&record.secret_sealed, record.id.as_str())?
            .into();
        let (verify, respond) = match record.sign_type {
            SignType::Md5 => (VerifyKey::Md5(secret.clone()), SignKey::Md5(secret)),
            SignType::HmacSha256 => (
                VerifyKey::HmacSha256(secret.clone()),
                SignKey::HmacSha256(secret),
            ),
            SignType::Rsa2 => {
                let public = record.rsa_public_key.as_deref().ok_or_else(|| {
                    AppError::Internal(anyhow::anyhow!("RSA2 merchant without a public key"))
                })?;
                (
                    VerifyKey::Rsa2(RsaPublicKey::from_text(public)?),
                    SignKey::Rsa2(self.inner.platform_key.clone()),
                )
            }
        };
        let notify_schedule = notify_schedule(record.notify_delays_secs.as_deref())?;
        Ok(MerchantKeys {
            record,
            verify,
            respond,
            notify_schedule,
        })
    }
}
