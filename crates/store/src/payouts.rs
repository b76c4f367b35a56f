//! Payouts (DESIGN §8): accepted under the merchant's ledger lock, so the limit sums, the call
//! rate and the balance each payout checks are the ones it changes; every later status change is
//! a compare-and-set with its posting and notification in the same transaction.
//!
//! A payee's card number reaches the store already sealed by the app (`SealedCardNo`); the store
//! never holds the master key. Rows written before card numbers were sealed keep the number in
//! `card_no` until the app's start-up seals them (`payout_cards`).

use crate::ledger::{lock_merchant, post_checked, Posted};
use crate::outbox::{write_outbox_about, Outbox};
use crate::rows::{get_amount, get_i64, get_id, get_opt_i64, get_opt_string, get_parsed};
use crate::{Ctx, Store, StoreError, StoreResult};
use paygate_domain::ledger::LedgerName;
use paygate_domain::payout::{
    BankCard, MaskedCard, Payee, PayeeType, PayoutEvent, PayoutStatus, SealedCardNo, SealedPayee,
};
use paygate_domain::payout_rules::{
    china_day_start_ms, china_month_start_ms, LimitRefusal, MerchantHistory, PayoutLimits,
    PayoutUsage, DAY_MS,
};
use paygate_domain::{MerchantId, Money, OutPayoutNo, PayoutNo, WalletAccountId};
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

pub use paygate_domain::payout::PayoutRecord;

const CALL_WINDOW_MS: i64 = 60_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayoutRef {
    PayoutNo(PayoutNo),
    OutPayoutNo(OutPayoutNo),
}

/// What became of a payout offered to `accept_payout`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayoutAcceptance {
    /// Recorded, with its amount and fee held.
    New(PayoutRecord),
    /// The merchant's payout number was used before; this is that payout.
    Existing(PayoutRecord),
    /// A limit refuses it; nothing was written.
    Refused(LimitRefusal),
    /// The available balance (`available`) cannot cover amount and fee; nothing was written.
    Overdraft { available: i64 },
}

const PAYOUT_COLUMNS: &str = "payout_no, merchant_id, out_payout_no, currency, amount, fee, \
    payee_type, wallet_account_id, card_no_sealed, card_no_hmac, card_no_masked, account_name, \
    bank_code, rail, remark, notify_url, status, reason, created_at, finished_at, returned_at";

fn required(row: &AnyRow, column: &str) -> StoreResult<String> {
    get_opt_string(row, column)?
        .ok_or_else(|| StoreError::Corrupt(format!("payout without {column}")))
}

fn payee_from_row(row: &AnyRow) -> StoreResult<SealedPayee> {
    let payee_type: PayeeType = get_parsed(row, "payee_type")?;
    Ok(match payee_type {
        PayeeType::Wallet => Payee::Wallet(
            WalletAccountId::parse(&required(row, "wallet_account_id")?)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        ),
        PayeeType::BankCard => {
            // A row from before card numbers were sealed has no sealed number until the next
            // start of the app seals it: it reads as missing its sealed card number.
            let card_no = SealedCardNo::from_stored(
                required(row, "card_no_sealed")?,
                required(row, "card_no_hmac")?,
                required(row, "card_no_masked")?,
            )
            .map_err(|e| StoreError::Corrupt(format!("payout payee: {e}")))?;
            Payee::BankCard(
                BankCard::with_card_no(
                    card_no,
                    &required(row, "account_name")?,
                    &required(row, "bank_code")?,
                )
                .map_err(|e| StoreError::Corrupt(format!("payout payee: {e}")))?,
            )
        }
    })
}

fn payout_from_row(row: &AnyRow) -> StoreResult<PayoutRecord> {
    let payout = PayoutRecord {
        payout_no: get_id(row, "payout_no", PayoutNo::parse)?,
        merchant_id: get_id(row, "merchant_id", MerchantId::parse)?,
        out_payout_no: get_id(row, "out_payout_no", OutPayoutNo::parse)?,
        currency: get_parsed(row, "currency")?,
        amount: get_amount(row, "amount")?,
        fee: get_amount(row, "fee")?,
        payee: payee_from_row(row)?,
        rail: LedgerName::parse(&required(row, "rail")?)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        remark: get_opt_string(row, "remark")?,
        notify_url: get_opt_string(row, "notify_url")?,
        status: get_parsed(row, "status")?,
        reason: get_opt_string(row, "reason")?,
        created_at_ms: get_i64(row, "created_at")?,
        finished_at_ms: get_opt_i64(row, "finished_at")?,
        returned_at_ms: get_opt_i64(row, "returned_at")?,
    };
    debug_assert!(
        !payout.amount.is_zero()
            && (payout.status == PayoutStatus::Processing) == payout.finished_at_ms.is_none(),
        "payout {} is {} for {:?} with finish time {:?}",
        payout.payout_no,
        payout.status,
        payout.amount,
        payout.finished_at_ms
    );
    Ok(payout)
}

async fn find_in(
    tx: &mut Transaction<'static, Any>,
    merchant: &MerchantId,
    out_payout_no: &OutPayoutNo,
) -> StoreResult<Option<PayoutRecord>> {
    let row = sqlx::query(&format!(
        "SELECT {PAYOUT_COLUMNS} FROM payouts WHERE merchant_id = $1 AND out_payout_no = $2"
    ))
    .bind(merchant.as_str())
    .bind(out_payout_no.as_str())
    .fetch_optional(&mut **tx)
    .await
    .ctx("find payout")?;
    row.as_ref().map(payout_from_row).transpose()
}

/// What the merchant has paid out today, this month (China time; failed payouts do not count)
/// and how many payouts it made in the last minute.
async fn usage_in(
    tx: &mut Transaction<'static, Any>,
    payout: &PayoutRecord,
) -> StoreResult<PayoutUsage> {
    let now = payout.created_at_ms;
    let month_start = china_month_start_ms(now);
    let calls_since = now - CALL_WINDOW_MS;
    let row = sqlx::query(
        "SELECT
           CAST(COALESCE(SUM(CASE WHEN created_at >= $3 AND status <> $6 THEN amount ELSE 0 END), 0) AS BIGINT) AS day_total,
           CAST(COALESCE(SUM(CASE WHEN created_at >= $4 AND status <> $6 THEN amount ELSE 0 END), 0) AS BIGINT) AS month_total,
           CAST(COALESCE(SUM(CASE WHEN created_at > $5 THEN 1 ELSE 0 END), 0) AS BIGINT) AS calls
         FROM payouts WHERE merchant_id = $1 AND currency = $2 AND created_at >= $7",
    )
    .bind(payout.merchant_id.as_str())
    .bind(payout.currency.as_str())
    .bind(china_day_start_ms(now))
    .bind(month_start)
    .bind(calls_since)
    .bind(PayoutStatus::Failed.as_str())
    .bind(month_start.min(calls_since))
    .fetch_one(&mut **tx)
    .await
    .ctx("payout usage")?;
    Ok(PayoutUsage {
        day_total: get_i64(&row, "day_total")?,
        month_total: get_i64(&row, "month_total")?,
        calls_last_minute: u32::try_from(get_i64(&row, "calls")?).unwrap_or(u32::MAX),
    })
}

async fn insert_payout(
    tx: &mut Transaction<'static, Any>,
    payout: &PayoutRecord,
) -> StoreResult<()> {
    let (wallet, card) = match &payout.payee {
        Payee::Wallet(account) => (Some(account.as_str()), None),
        Payee::BankCard(card) => (None, Some(card)),
    };
    sqlx::query(
        "INSERT INTO payouts (payout_no, merchant_id, out_payout_no, currency, amount, fee,
                              payee_type, wallet_account_id, card_no, card_no_sealed,
                              card_no_hmac, card_no_masked, account_name, bank_code,
                              rail, remark, notify_url, status, reason, created_at, finished_at,
                              returned_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, $10, $11, $12, $13, $14, $15, $16,
                 $17, NULL, $18, NULL, NULL)",
    )
    .bind(payout.payout_no.as_str())
    .bind(payout.merchant_id.as_str())
    .bind(payout.out_payout_no.as_str())
    .bind(payout.currency.as_str())
    .bind(payout.amount.minor())
    .bind(payout.fee.minor())
    .bind(payout.payee.payee_type().as_str())
    .bind(wallet)
    .bind(card.map(|c| c.card_no.sealed()))
    .bind(card.map(|c| c.card_no.digest()))
    .bind(card.map(|c| c.card_no.masked()))
    .bind(card.map(|c| c.account_name.as_str()))
    .bind(card.map(|c| c.bank_code.as_str()))
    .bind(payout.rail.as_str())
    .bind(payout.remark.as_deref())
    .bind(payout.notify_url.as_deref())
    .bind(PayoutStatus::Processing.as_str())
    .bind(payout.created_at_ms)
    .execute(&mut **tx)
    .await
    .ctx("insert payout")?;
    Ok(())
}

impl Store {
    /// Accepts a PROCESSING payout: under the merchant's ledger lock, a replay of its
    /// `out_payout_no` returns the first payout; otherwise the limits are checked against what
    /// was already paid out, amount and fee are held (available → reserved) unless that would
    /// overdraw, and the row is inserted, all in one transaction. A refusal writes nothing.
    pub async fn accept_payout(
        &self,
        payout: &PayoutRecord,
        limits: &PayoutLimits,
    ) -> StoreResult<PayoutAcceptance> {
        debug_assert_eq!(payout.status, PayoutStatus::Processing);
        let mut tx = self.pool.begin().await.ctx("begin accept payout")?;
        lock_merchant(&mut tx, &payout.merchant_id, payout.currency).await?;
        if let Some(existing) = find_in(&mut tx, &payout.merchant_id, &payout.out_payout_no).await?
        {
            tx.rollback().await.ctx("rollback replayed payout")?;
            return Ok(PayoutAcceptance::Existing(existing));
        }
        let usage = usage_in(&mut tx, payout).await?;
        if let Err(refusal) = limits.check(payout.amount, &usage) {
            tx.rollback().await.ctx("rollback limited payout")?;
            return Ok(PayoutAcceptance::Refused(refusal));
        }
        insert_payout(&mut tx, payout).await?;
        match post_checked(&mut tx, &payout.money().hold(), payout.created_at_ms).await? {
            Posted::Posted => {}
            Posted::Overdraft { balance, .. } => {
                tx.rollback().await.ctx("rollback overdrawn payout")?;
                return Ok(PayoutAcceptance::Overdraft { available: balance });
            }
            Posted::AlreadyPosted => {
                return Err(StoreError::Corrupt(format!(
                    "new payout {} was already held",
                    payout.payout_no
                )))
            }
        }
        tx.commit().await.ctx("commit accept payout")?;
        Ok(PayoutAcceptance::New(payout.clone()))
    }

    /// Moves a payout by `event` (compare-and-set on the status the event leaves) and appends
    /// that step's posting and `outbox`, in one transaction. `None` when the payout was not in
    /// that status any more (another process finished it first).
    pub async fn finish_payout(
        &self,
        payout_no: &PayoutNo,
        event: PayoutEvent,
        reason: Option<&str>,
        at_ms: i64,
        outbox: Option<&Outbox>,
    ) -> StoreResult<Option<PayoutRecord>> {
        let from = match event {
            PayoutEvent::Succeeded | PayoutEvent::Failed => PayoutStatus::Processing,
            PayoutEvent::Returned => PayoutStatus::Success,
        };
        let to = from
            .apply(event)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let at_column = match event {
            PayoutEvent::Returned => "returned_at",
            PayoutEvent::Succeeded | PayoutEvent::Failed => "finished_at",
        };
        let mut tx = self.pool.begin().await.ctx("begin finish payout")?;
        let row = sqlx::query(&format!(
            "UPDATE payouts SET status = $1, {at_column} = $2, reason = COALESCE($3, reason)
             WHERE payout_no = $4 AND status = $5
             RETURNING {PAYOUT_COLUMNS}"
        ))
        .bind(to.as_str())
        .bind(at_ms)
        .bind(reason)
        .bind(payout_no.as_str())
        .bind(from.as_str())
        .fetch_optional(&mut *tx)
        .await
        .ctx("finish payout")?;
        let Some(row) = row else {
            tx.rollback().await.ctx("rollback finished payout")?;
            return Ok(None);
        };
        let payout = payout_from_row(&row)?;
        lock_merchant(&mut tx, &payout.merchant_id, payout.currency).await?;
        let posted = post_checked(&mut tx, &payout.money().step(event), at_ms).await?;
        if posted != Posted::Posted {
            tx.rollback().await.ctx("rollback unpostable payout")?;
            return Err(StoreError::Corrupt(format!(
                "payout {payout_no} {event:?} could not post: {posted:?}"
            )));
        }
        if let Some(outbox) = outbox {
            write_outbox_about(
                &mut tx,
                &payout.merchant_id,
                payout.payout_no.as_str(),
                outbox,
                at_ms,
            )
            .await?;
        }
        tx.commit().await.ctx("commit finish payout")?;
        Ok(Some(payout))
    }

    pub async fn get_payout(&self, payout_no: &PayoutNo) -> StoreResult<Option<PayoutRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {PAYOUT_COLUMNS} FROM payouts WHERE payout_no = $1"
        ))
        .bind(payout_no.as_str())
        .fetch_optional(&self.pool)
        .await
        .ctx("get payout")?;
        row.as_ref().map(payout_from_row).transpose()
    }

    pub async fn find_payout(
        &self,
        merchant: &MerchantId,
        by: &PayoutRef,
    ) -> StoreResult<Option<PayoutRecord>> {
        let (column, value) = match by {
            PayoutRef::PayoutNo(no) => ("payout_no", no.as_str()),
            PayoutRef::OutPayoutNo(no) => ("out_payout_no", no.as_str()),
        };
        let row = sqlx::query(&format!(
            "SELECT {PAYOUT_COLUMNS} FROM payouts WHERE merchant_id = $1 AND {column} = $2"
        ))
        .bind(merchant.as_str())
        .bind(value)
        .fetch_optional(&self.pool)
        .await
        .ctx("find payout")?;
        row.as_ref().map(payout_from_row).transpose()
    }

    /// The merchant's own limits, if an operator set them.
    pub async fn payout_limits(&self, merchant: &MerchantId) -> StoreResult<Option<PayoutLimits>> {
        let row = sqlx::query(
            "SELECT per_payout_max, daily_max, monthly_max, calls_per_minute_max
             FROM merchant_payout_limits WHERE merchant_id = $1",
        )
        .bind(merchant.as_str())
        .fetch_optional(&self.pool)
        .await
        .ctx("get payout limits")?;
        row.map(|row| {
            Ok(PayoutLimits {
                per_payout_max: get_amount(&row, "per_payout_max")?,
                daily_max: get_amount(&row, "daily_max")?,
                monthly_max: get_amount(&row, "monthly_max")?,
                calls_per_minute_max: u32::try_from(get_i64(&row, "calls_per_minute_max")?)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            })
        })
        .transpose()
    }

    pub async fn set_payout_limits(
        &self,
        merchant: &MerchantId,
        limits: &PayoutLimits,
        at_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO merchant_payout_limits (merchant_id, per_payout_max, daily_max,
                                                 monthly_max, calls_per_minute_max, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (merchant_id) DO UPDATE SET
                per_payout_max = excluded.per_payout_max, daily_max = excluded.daily_max,
                monthly_max = excluded.monthly_max,
                calls_per_minute_max = excluded.calls_per_minute_max,
                updated_at = excluded.updated_at",
        )
        .bind(merchant.as_str())
        .bind(limits.per_payout_max.minor())
        .bind(limits.daily_max.minor())
        .bind(limits.monthly_max.minor())
        .bind(i64::from(limits.calls_per_minute_max))
        .bind(at_ms)
        .execute(&self.pool)
        .await
        .ctx("set payout limits")?;
        Ok(())
    }

    /// When the merchant was created and on how many China-time days of the last
    /// `window_days` it had a paid order; `None` for an unknown merchant.
    pub async fn merchant_history(
        &self,
        merchant: &MerchantId,
        window_days: u32,
        now_ms: i64,
    ) -> StoreResult<Option<MerchantHistory>> {
        let Some(row) = sqlx::query("SELECT created_at FROM merchants WHERE id = $1")
            .bind(merchant.as_str())
            .fetch_optional(&self.pool)
            .await
            .ctx("merchant created at")?
        else {
            return Ok(None);
        };
        let since = china_day_start_ms(now_ms) - i64::from(window_days) * DAY_MS;
        let days = sqlx::query(
            "SELECT CAST(COUNT(DISTINCT (paid_at + $3) / $4) AS BIGINT) AS days FROM orders
             WHERE merchant_id = $1 AND paid_at IS NOT NULL AND paid_at >= $2",
        )
        .bind(merchant.as_str())
        .bind(since)
        .bind(8 * 3_600_000_i64)
        .bind(DAY_MS)
        .fetch_one(&self.pool)
        .await
        .ctx("merchant trade days")?;
        Ok(Some(MerchantHistory {
            created_at_ms: get_i64(&row, "created_at")?,
            trade_days: u32::try_from(get_i64(&days, "days")?).unwrap_or(u32::MAX),
        }))
    }

    /// Credits a wallet account with a payout, once per payout number. The credit is also
    /// recorded as a top-up, so the wallet's own books still balance (money came in from
    /// outside the wallet). `false` when the account does not exist or holds another currency.
    pub async fn wallet_credit_payout(
        &self,
        payout_no: &PayoutNo,
        account: &WalletAccountId,
        money: Money,
        at_ms: i64,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await.ctx("begin wallet payout")?;
        let new = sqlx::query(
            "INSERT INTO wallet_payout_credits (payout_no, account_id, amount, at)
             VALUES ($1, $2, $3, $4) ON CONFLICT (payout_no) DO NOTHING",
        )
        .bind(payout_no.as_str())
        .bind(account.as_str())
        .bind(money.amount.minor())
        .bind(at_ms)
        .execute(&mut *tx)
        .await
        .ctx("record wallet payout")?
        .rows_affected();
        if new == 0 {
            tx.rollback().await.ctx("end replayed wallet payout")?;
            return Ok(true);
        }
        let credited = sqlx::query(
            "UPDATE wallet_accounts SET balance = balance + $1, updated_at = $2
             WHERE id = $3 AND currency = $4",
        )
        .bind(money.amount.minor())
        .bind(at_ms)
        .bind(account.as_str())
        .bind(money.currency.as_str())
        .execute(&mut *tx)
        .await
        .ctx("credit wallet payout")?
        .rows_affected();
        if credited == 0 {
            tx.rollback().await.ctx("rollback wallet payout")?;
            return Ok(false);
        }
        sqlx::query("INSERT INTO wallet_topups (account_id, amount, at) VALUES ($1, $2, $3)")
            .bind(account.as_str())
            .bind(money.amount.minor())
            .bind(at_ms)
            .execute(&mut *tx)
            .await
            .ctx("record wallet payout top-up")?;
        tx.commit().await.ctx("commit wallet payout")?;
        Ok(true)
    }
}
