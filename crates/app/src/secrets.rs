//! The start-up migration of sealed values to the owner-bound format (DESIGN §11). Values sealed
//! before owners were bound (`v1:`) are opened once and sealed again with their owner's id as
//! associated data. Each row is replaced by compare-and-set on its old value, so processes
//! starting together, or a key rotation meanwhile, never overwrite each other, and running it
//! again changes nothing.
//!
//! Payout card numbers written in the clear (before migration 0019) are sealed the same way at
//! start (`seal_clear_card_numbers`): each row's number is sealed for its payout, compare-and-set
//! on the clear value, and the clear column emptied.

use crate::AppError;
use paygate_domain::payout::CardNo;
use paygate_domain::secret::{MasterKey, SealFormat, UNBOUND_PREFIX};
use paygate_store::{Store, CLEAR_CARD_NOS_BATCH_MAX};

/// What one run of the migration changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Resealed {
    pub platform_secrets: usize,
    pub merchant_secrets: usize,
    /// Old-format merchant secrets that did not open under this master key; left as they are
    /// (their merchant's requests fail until the operator rotates the key).
    pub merchant_secrets_unreadable: usize,
}

pub async fn reseal_unbound_secrets(store: &Store, key: &MasterKey) -> Result<Resealed, AppError> {
    let mut done = Resealed::default();
    for (name, sealed) in store.platform_secrets().await? {
        if SealFormat::of(&sealed) != SealFormat::Unbound {
            continue;
        }
        // The platform's own secrets not opening means the master key is wrong: refuse to start.
        let plain = key.unseal_unbound(&sealed).map_err(|e| {
            AppError::Internal(anyhow::anyhow!(
                "platform secret {name} does not open under this master key: {e}"
            ))
        })?;
        if store
            .reseal_platform_secret(&name, &sealed, &key.seal(&plain, &name))
            .await?
        {
            done.platform_secrets += 1;
        }
    }
    for (id, sealed) in store.merchant_secrets_with_prefix(UNBOUND_PREFIX).await? {
        let Ok(plain) = key.unseal_unbound(&sealed) else {
            tracing::warn!(merchant_id = %id, "merchant secret does not open under this master key; left as it is");
            done.merchant_secrets_unreadable += 1;
            continue;
        };
        if store
            .reseal_merchant_secret(&id, &sealed, &key.seal(&plain, id.as_str()))
            .await?
        {
            done.merchant_secrets += 1;
        }
    }
    if done != Resealed::default() {
        tracing::info!(?done, "re-sealed secrets bound to their owners");
    }
    Ok(done)
}

/// What one run of `seal_clear_card_numbers` changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SealedCardNos {
    pub sealed: usize,
    /// Clear values that are not card numbers; left as they are (their payouts do not read
    /// until an operator repairs the row).
    pub malformed: usize,
}

/// Seals every payout card number still in the clear, in batches of the store's size.
pub async fn seal_clear_card_numbers(
    store: &Store,
    key: &MasterKey,
) -> Result<SealedCardNos, AppError> {
    let mut done = SealedCardNos::default();
    let mut after = None;
    loop {
        let batch = store.payouts_with_clear_card_no(after.as_ref()).await?;
        let Some(last) = batch.last() else {
            break;
        };
        after = Some(last.payout_no.clone());
        for clear in &batch {
            let Ok(card) = CardNo::parse(&clear.card_no) else {
                tracing::warn!(payout_no = %clear.payout_no, "payout card number is malformed; left as it is");
                done.malformed += 1;
                continue;
            };
            if store
                .seal_payout_card_no(clear, &card.seal(key, &clear.payout_no))
                .await?
            {
                done.sealed += 1;
            }
        }
        if i64::try_from(batch.len()).unwrap_or(i64::MAX) < CLEAR_CARD_NOS_BATCH_MAX {
            break;
        }
    }
    if done != SealedCardNos::default() {
        tracing::info!(?done, "sealed payout card numbers kept in the clear");
    }
    Ok(done)
}
