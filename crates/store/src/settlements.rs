//! Settlements and withdrawals (DESIGN §8): each one's row and ledger posting written in one
//! transaction under the merchant's ledger lock, so the pending and available balances it reads
//! are the ones it changes. A settlement is unique per merchant, currency and business day; a
//! withdrawal per merchant and `out_withdraw_no`.

use crate::ledger::{account_filter, balance_in, bind_owner, lock_merchant, post_checked, Posted};
use crate::rows::{get_amount, get_i64, get_id, get_parsed, get_string};
use crate::{Ctx, Store, StoreError, StoreResult};
use paygate_domain::ledger::{Account, EntryKind};
use paygate_domain::settlement::{
    settlement_posting, withdrawal_posting, AfterSettling, BusinessDate, PendingFigures,
    SettleDecision, SettlementNo, SettlementTrigger,
};
use paygate_domain::{Amount, Currency, MerchantId, OutWithdrawNo, WithdrawNo};
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

/// One merchant's settlement of one currency for one business day.
#[derive(Debug, Clone)]
pub struct SettlementRequest {
    pub merchant: MerchantId,
    pub currency: Currency,
    pub date: BusinessDate,
    pub trigger: SettlementTrigger,
    /// Money posted to pending before this instant is cleared and may settle.
    pub settles_before_ms: i64,
    pub minimum: Amount,
    pub after: AfterSettling,
    pub now_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementRecord {
    pub settlement_no: SettlementNo,
    pub merchant_id: MerchantId,
    pub currency: Currency,
    pub business_date: BusinessDate,
    pub trigger: SettlementTrigger,
    pub amount: Amount,
    /// What went on to the merchant's own account in the same step (0 when it stayed).
    pub withdrawn: Amount,
    pub settles_before_ms: i64,
    pub created_at_ms: i64,
}

/// What a settlement request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    Settled(SettlementRecord),
    /// The day was settled before (by this or another process); nothing was written.
    AlreadySettled(SettlementRecord),
    /// Short of the minimum; nothing was written and it carries over.
    BelowMinimum(Amount),
    /// Nothing cleared is waiting.
    Nothing,
}

const SETTLEMENT_COLUMNS: &str = "settlement_no, merchant_id, currency, business_date, origin,
    amount, withdrawn, settles_before, created_at";

fn settlement_from_row(row: &AnyRow) -> StoreResult<SettlementRecord> {
    let number = get_string(row, "settlement_no")?;
    let date = get_string(row, "business_date")?;
    Ok(SettlementRecord {
        settlement_no: SettlementNo::parse(&number)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        merchant_id: get_id(row, "merchant_id", MerchantId::parse)?,
        currency: get_parsed(row, "currency")?,
        business_date: BusinessDate::parse(&date)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        trigger: get_parsed(row, "origin")?,
        amount: get_amount(row, "amount")?,
        withdrawn: get_amount(row, "withdrawn")?,
        settles_before_ms: get_i64(row, "settles_before")?,
        created_at_ms: get_i64(row, "created_at")?,
    })
}

/// The pending account's figures for a settlement cleared before `before_ms`.
async fn pending_figures(
    tx: &mut Transaction<'static, Any>,
    merchant: &MerchantId,
    currency: Currency,
    before_ms: i64,
) -> StoreResult<PendingFigures> {
    let pending = Account::MerchantPending(merchant.clone());
    let sql = format!(
        "SELECT CAST(COALESCE(SUM(CASE WHEN kind <> $3 AND at < $4 THEN credit - debit END), 0)
                     AS BIGINT) AS cleared,
                CAST(COALESCE(SUM(CASE WHEN kind = $3 THEN debit - credit END), 0)
                     AS BIGINT) AS settled
         FROM ledger_entries WHERE {}",
        account_filter(&pending, 5)
    );
    let query = sqlx::query(&sql)
        .bind(pending.to_string())
        .bind(currency.as_str())
        .bind(EntryKind::Settlement.as_str())
        .bind(before_ms);
    let row = bind_owner(query, &pending)
        .fetch_one(&mut **tx)
        .await
        .ctx("pending figures")?;
    Ok(PendingFigures {
        cleared: get_i64(&row, "cleared")?,
        settled: get_i64(&row, "settled")?,
        balance: balance_in(tx, &pending, currency).await?,
    })
}

async fn settlement_of_day(
    tx: &mut Transaction<'static, Any>,
    number: &SettlementNo,
) -> StoreResult<Option<SettlementRecord>> {
    let row = sqlx::query(&format!(
        "SELECT {SETTLEMENT_COLUMNS} FROM settlements WHERE settlement_no = $1"
    ))
    .bind(number.as_str())
    .fetch_optional(&mut **tx)
    .await
    .ctx("get settlement")?;
    row.as_ref().map(settlement_from_row).transpose()
}

async fn insert_settlement(
    tx: &mut Transaction<'static, Any>,
    record: &SettlementRecord,
) -> StoreResult<bool> {
    let inserted = sqlx::query(
        "INSERT INTO settlements (settlement_no, merchant_id, currency, business_date, origin,
                amount, withdrawn, settles_before, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING",
    )
    .bind(record.settlement_no.as_str())
    .bind(record.merchant_id.as_str())
    .bind(record.currency.as_str())
    .bind(record.business_date.to_string())
    .bind(record.trigger.as_str())
    .bind(record.amount.minor())
    .bind(record.withdrawn.minor())
    .bind(record.settles_before_ms)
    .bind(record.created_at_ms)
    .execute(&mut **tx)
    .await
    .ctx("insert settlement")?;
    Ok(inserted.rows_affected() == 1)
}

/// A merchant's withdrawal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawalRecord {
    pub withdraw_no: WithdrawNo,
    pub merchant_id: MerchantId,
    pub out_withdraw_no: OutWithdrawNo,
    pub currency: Currency,
    pub amount: Amount,
    pub created_at_ms: i64,
}

/// What a withdrawal request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Withdrawn {
    Created(WithdrawalRecord),
    /// The merchant used this `out_withdraw_no` before; its record is returned as it was.
    Replay(WithdrawalRecord),
    /// Available money is short of the amount; nothing was written.
    Insufficient {
        available: i64,
    },
}

fn withdrawal_from_row(row: &AnyRow) -> StoreResult<WithdrawalRecord> {
    Ok(WithdrawalRecord {
        withdraw_no: get_id(row, "withdraw_no", WithdrawNo::parse)?,
        merchant_id: get_id(row, "merchant_id", MerchantId::parse)?,
        out_withdraw_no: get_id(row, "out_withdraw_no", OutWithdrawNo::parse)?,
        currency: get_parsed(row, "currency")?,
        amount: get_amount(row, "amount")?,
        created_at_ms: get_i64(row, "created_at")?,
    })
}

impl Store {
    /// Settles one merchant's cleared pending money of one currency for one business day, at
    /// most once: the row and its posting are written together, under the merchant's lock.
    pub async fn settle(&self, request: &SettlementRequest) -> StoreResult<Settled> {
        let number = SettlementNo::for_day(&request.merchant, request.currency, request.date);
        let mut tx = self.pool.begin().await.ctx("begin settlement")?;
        lock_merchant(&mut tx, &request.merchant, request.currency).await?;
        if let Some(existing) = settlement_of_day(&mut tx, &number).await? {
            tx.rollback().await.ctx("rollback settled day")?;
            return Ok(Settled::AlreadySettled(existing));
        }
        let figures = pending_figures(
            &mut tx,
            &request.merchant,
            request.currency,
            request.settles_before_ms,
        )
        .await?;
        let amount = match figures.decide(request.minimum) {
            SettleDecision::Settle(amount) => amount,
            SettleDecision::BelowMinimum(amount) => return Ok(Settled::BelowMinimum(amount)),
            SettleDecision::Nothing => return Ok(Settled::Nothing),
        };
        let record = SettlementRecord {
            settlement_no: number,
            merchant_id: request.merchant.clone(),
            currency: request.currency,
            business_date: request.date,
            trigger: request.trigger,
            amount,
            withdrawn: match request.after {
                AfterSettling::Keep => Amount::ZERO,
                AfterSettling::Withdraw => amount,
            },
            settles_before_ms: request.settles_before_ms,
            created_at_ms: request.now_ms,
        };
        if !insert_settlement(&mut tx, &record).await? {
            // The lock above rules this out; should it happen, answer as a replay all the same.
            tx.rollback().await.ctx("rollback lost settlement")?;
            let mut tx = self.pool.begin().await.ctx("begin settlement read")?;
            let existing = settlement_of_day(&mut tx, &record.settlement_no).await?;
            tx.rollback().await.ctx("end settlement read")?;
            return existing.map(Settled::AlreadySettled).ok_or_else(|| {
                StoreError::Corrupt(format!("settlement {} vanished", record.settlement_no))
            });
        }
        let posting = settlement_posting(
            &record.settlement_no,
            &record.merchant_id,
            record.currency,
            amount,
            request.after,
        );
        match post_checked(&mut tx, &posting, request.now_ms).await? {
            Posted::Posted => {}
            other => {
                // The amount never exceeds the pending balance read under the lock.
                return Err(StoreError::Corrupt(format!(
                    "settlement {} could not post: {other:?}",
                    record.settlement_no
                )));
            }
        }
        tx.commit().await.ctx("commit settlement")?;
        Ok(Settled::Settled(record))
    }

    /// Settlements, newest first, optionally of one merchant only; at most `limit`.
    pub async fn settlements(
        &self,
        merchant: Option<&MerchantId>,
        limit: i64,
    ) -> StoreResult<Vec<SettlementRecord>> {
        const ORDER: &str = "ORDER BY business_date DESC, settlement_no";
        let rows = match merchant {
            Some(merchant) => {
                sqlx::query(&format!(
                    "SELECT {SETTLEMENT_COLUMNS} FROM settlements WHERE merchant_id = $1
                     {ORDER} LIMIT $2"
                ))
                .bind(merchant.as_str())
                .bind(limit)
                .fetch_all(&self.pool)
                .await
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {SETTLEMENT_COLUMNS} FROM settlements {ORDER} LIMIT $1"
                ))
                .bind(limit)
                .fetch_all(&self.pool)
                .await
            }
        }
        .ctx("list settlements")?;
        rows.iter().map(settlement_from_row).collect()
    }

    /// Every merchant and currency that has ever been paid: who a daily run looks at.
    pub async fn paid_merchant_currencies(&self) -> StoreResult<Vec<(MerchantId, Currency)>> {
        let (from, to) = Account::MERCHANTS_KEY_RANGE;
        let rows = sqlx::query(
            "SELECT DISTINCT account, currency FROM ledger_entries
             WHERE owner IS NOT NULL AND account >= $1 AND account < $2
             ORDER BY account, currency",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await
        .ctx("paid merchants")?;
        let mut paid = Vec::new();
        for row in &rows {
            if let Account::MerchantPending(merchant) = get_parsed(row, "account")? {
                paid.push((merchant, get_parsed(row, "currency")?));
            }
        }
        Ok(paid)
    }

    /// Takes the lease on running `date`'s settlements, unless the day is finished or another
    /// process holds an unexpired lease.
    pub async fn claim_settlement_run(
        &self,
        date: BusinessDate,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> StoreResult<bool> {
        let claimed = sqlx::query(
            "INSERT INTO settlement_runs (business_date, lease_owner, lease_until)
             VALUES ($1, $2, $3)
             ON CONFLICT (business_date) DO UPDATE SET lease_owner = $2, lease_until = $3
             WHERE settlement_runs.finished_at IS NULL AND settlement_runs.lease_until <= $4",
        )
        .bind(date.to_string())
        .bind(owner)
        .bind(now_ms + lease_ms)
        .bind(now_ms)
        .execute(&self.pool)
        .await
        .ctx("claim settlement run")?;
        Ok(claimed.rows_affected() == 1)
    }

    pub async fn finish_settlement_run(
        &self,
        date: BusinessDate,
        owner: &str,
        now_ms: i64,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE settlement_runs SET finished_at = $1
             WHERE business_date = $2 AND lease_owner = $3",
        )
        .bind(now_ms)
        .bind(date.to_string())
        .bind(owner)
        .execute(&self.pool)
        .await
        .ctx("finish settlement run")?;
        Ok(())
    }

    /// Withdraws available money to the merchant's own account, once per `out_withdraw_no`.
    pub async fn withdraw(&self, new: &WithdrawalRecord) -> StoreResult<Withdrawn> {
        let mut tx = self.pool.begin().await.ctx("begin withdrawal")?;
        lock_merchant(&mut tx, &new.merchant_id, new.currency).await?;
        let existing = sqlx::query(
            "SELECT withdraw_no, merchant_id, out_withdraw_no, currency, amount, created_at
             FROM withdrawals WHERE merchant_id = $1 AND out_withdraw_no = $2",
        )
        .bind(new.merchant_id.as_str())
        .bind(new.out_withdraw_no.as_str())
        .fetch_optional(&mut *tx)
        .await
        .ctx("find withdrawal")?;
        if let Some(row) = existing {
            tx.rollback().await.ctx("rollback replayed withdrawal")?;
            return Ok(Withdrawn::Replay(withdrawal_from_row(&row)?));
        }
        let posting =
            withdrawal_posting(&new.withdraw_no, &new.merchant_id, new.currency, new.amount);
        if let Posted::Overdraft { balance, .. } =
            post_checked(&mut tx, &posting, new.created_at_ms).await?
        {
            tx.rollback().await.ctx("rollback short withdrawal")?;
            return Ok(Withdrawn::Insufficient { available: balance });
        }
        sqlx::query(
            "INSERT INTO withdrawals (withdraw_no, merchant_id, out_withdraw_no, currency, amount,
                    created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(new.withdraw_no.as_str())
        .bind(new.merchant_id.as_str())
        .bind(new.out_withdraw_no.as_str())
        .bind(new.currency.as_str())
        .bind(new.amount.minor())
        .bind(new.created_at_ms)
        .execute(&mut *tx)
        .await
        .ctx("insert withdrawal")?;
        tx.commit().await.ctx("commit withdrawal")?;
        Ok(Withdrawn::Created(new.clone()))
    }

    /// A merchant's withdrawal by its own number.
    pub async fn get_withdrawal(
        &self,
        merchant: &MerchantId,
        out_withdraw_no: &OutWithdrawNo,
    ) -> StoreResult<Option<WithdrawalRecord>> {
        let row = sqlx::query(
            "SELECT withdraw_no, merchant_id, out_withdraw_no, currency, amount, created_at
             FROM withdrawals WHERE merchant_id = $1 AND out_withdraw_no = $2",
        )
        .bind(merchant.as_str())
        .bind(out_withdraw_no.as_str())
        .fetch_optional(&self.pool)
        .await
        .ctx("get withdrawal")?;
        row.as_ref().map(withdrawal_from_row).transpose()
    }
}
