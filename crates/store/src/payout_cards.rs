//! Payout card numbers left in the clear by rows written before they were sealed (migration
//! 0019). The app's start-up reads them in batches and replaces each by its sealed form with a
//! compare-and-set on the clear value, so processes starting together seal each row once; the
//! store itself never sees the master key.

use crate::rows::{get_id, get_string};
use crate::{Ctx, Store, StoreResult};
use paygate_domain::payout::{MaskedCard, SealedCardNo};
use paygate_domain::PayoutNo;

/// How many clear card numbers one call of `payouts_with_clear_card_no` returns at most.
pub const CLEAR_CARD_NOS_BATCH_MAX: i64 = 500;

/// A payout whose card number is still in the clear, as its row holds it (it may not even be a
/// valid card number).
#[derive(Clone, PartialEq, Eq)]
pub struct ClearCardNo {
    pub payout_no: PayoutNo,
    pub card_no: String,
}

impl std::fmt::Debug for ClearCardNo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ClearCardNo({}, ..)", self.payout_no)
    }
}

impl Store {
    /// Payouts whose card number is still in the clear, after `after` in payout-number order,
    /// at most `CLEAR_CARD_NOS_BATCH_MAX` of them.
    pub async fn payouts_with_clear_card_no(
        &self,
        after: Option<&PayoutNo>,
    ) -> StoreResult<Vec<ClearCardNo>> {
        let rows = sqlx::query(
            "SELECT payout_no, card_no FROM payouts
             WHERE card_no IS NOT NULL AND payout_no > $1
             ORDER BY payout_no LIMIT $2",
        )
        .bind(after.map_or("", PayoutNo::as_str))
        .bind(CLEAR_CARD_NOS_BATCH_MAX)
        .fetch_all(&self.pool)
        .await
        .ctx("payouts with clear card numbers")?;
        rows.iter()
            .map(|row| {
                Ok(ClearCardNo {
                    payout_no: get_id(row, "payout_no", PayoutNo::parse)?,
                    card_no: get_string(row, "card_no")?,
                })
            })
            .collect()
    }

    /// Replaces a payout's clear card number by its sealed form, if the row still holds `clear`
    /// (compare-and-set); `false` when another process sealed it first.
    pub async fn seal_payout_card_no(
        &self,
        clear: &ClearCardNo,
        sealed: &SealedCardNo,
    ) -> StoreResult<bool> {
        let changed = sqlx::query(
            "UPDATE payouts SET card_no = NULL, card_no_sealed = $1, card_no_hmac = $2,
                                card_no_masked = $3
             WHERE payout_no = $4 AND card_no = $5",
        )
        .bind(sealed.sealed())
        .bind(sealed.digest())
        .bind(sealed.masked())
        .bind(clear.payout_no.as_str())
        .bind(clear.card_no.as_str())
        .execute(&self.pool)
        .await
        .ctx("seal payout card number")?
        .rows_affected();
        Ok(changed == 1)
    }
}
