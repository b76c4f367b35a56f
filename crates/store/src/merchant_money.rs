//! A merchant's money settings (`merchant_money`), read with their defaults, and its fee
//! schedules per channel product (`merchant_fee_schedules`).

use crate::rows::{get_amount, get_i64, get_parsed, get_string};
use crate::{Ctx, Store, StoreError, StoreResult};
use paygate_domain::fee::{FeeRate, FeeSchedule};
use paygate_domain::merchant_money::{MerchantCategory, MerchantMoney, SettlementCycle};
use paygate_domain::{MerchantId, PayType};
use sqlx::any::AnyRow;

fn from_row(row: &AnyRow) -> StoreResult<MerchantMoney> {
    let days = get_i64(row, "settle_days")?;
    let cycle = match get_i64(row, "settle_manual")? {
        1 => SettlementCycle::Manual,
        0 => SettlementCycle::Auto {
            days: u32::try_from(days)
                .map_err(|_| StoreError::Corrupt(format!("settle_days={days}")))?,
            minimum: get_amount(row, "settle_minimum")?,
        },
        other => return Err(StoreError::Corrupt(format!("settle_manual={other}"))),
    };
    let qualifications = get_string(row, "qualifications")?;
    Ok(MerchantMoney {
        category: get_parsed(row, "category")?,
        settlement_mode: get_parsed(row, "settlement_mode")?,
        fee_bearer: get_parsed(row, "fee_bearer")?,
        cycle,
        withdraw_on_settlement: get_i64(row, "withdraw_on_settlement")? == 1,
        qualifications: serde_json::from_str(&qualifications)
            .map_err(|e| StoreError::Corrupt(format!("qualifications: {e}")))?,
    })
}

impl Store {
    /// The merchant's money settings; a merchant onboarding never configured gets the
    /// physical-goods defaults.
    pub async fn merchant_money(&self, merchant: &MerchantId) -> StoreResult<MerchantMoney> {
        let row = sqlx::query(
            "SELECT category, settlement_mode, fee_bearer, settle_manual, settle_days,
                    settle_minimum, withdraw_on_settlement, qualifications
             FROM merchant_money WHERE merchant_id = $1",
        )
        .bind(merchant.as_str())
        .fetch_optional(&self.pool)
        .await
        .ctx("get merchant money")?;
        match row {
            Some(row) => from_row(&row),
            None => Ok(MerchantMoney::for_category(MerchantCategory::PhysicalGoods)),
        }
    }

    /// Records the merchant's money settings, replacing earlier ones.
    pub async fn set_merchant_money(
        &self,
        merchant: &MerchantId,
        money: &MerchantMoney,
        now_ms: i64,
    ) -> StoreResult<()> {
        let (manual, days, minimum) = match money.cycle {
            SettlementCycle::Manual => (1, 0, 0),
            SettlementCycle::Auto { days, minimum } => (0, i64::from(days), minimum.minor()),
        };
        let qualifications = serde_json::to_string(&money.qualifications)
            .map_err(|e| StoreError::Corrupt(format!("qualifications: {e}")))?;
        sqlx::query(
            "INSERT INTO merchant_money (merchant_id, category, settlement_mode, fee_bearer,
                    settle_manual, settle_days, settle_minimum, withdraw_on_settlement,
                    qualifications, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (merchant_id) DO UPDATE SET category = $2, settlement_mode = $3,
                    fee_bearer = $4, settle_manual = $5, settle_days = $6, settle_minimum = $7,
                    withdraw_on_settlement = $8, qualifications = $9, updated_at = $10",
        )
        .bind(merchant.as_str())
        .bind(money.category.as_str())
        .bind(money.settlement_mode.as_str())
        .bind(money.fee_bearer.as_str())
        .bind(manual)
        .bind(days)
        .bind(minimum)
        .bind(i64::from(money.withdraw_on_settlement))
        .bind(qualifications)
        .bind(now_ms)
        .execute(&self.pool)
        .await
        .ctx("set merchant money")?;
        Ok(())
    }

    /// The merchant's own fee schedules, one per channel product that has one.
    pub async fn merchant_fee_schedules(
        &self,
        merchant: &MerchantId,
    ) -> StoreResult<Vec<(PayType, FeeSchedule)>> {
        let rows = sqlx::query(
            "SELECT pay_type, rate_ppm, fixed_minor FROM merchant_fee_schedules
             WHERE merchant_id = $1 ORDER BY pay_type",
        )
        .bind(merchant.as_str())
        .fetch_all(&self.pool)
        .await
        .ctx("list fee schedules")?;
        rows.iter()
            .map(|row| Ok((get_parsed(row, "pay_type")?, schedule_from_row(row)?)))
            .collect()
    }

    /// Replaces all of the merchant's fee schedules with `schedules` in one transaction.
    pub async fn set_merchant_fee_schedules(
        &self,
        merchant: &MerchantId,
        schedules: &[(PayType, FeeSchedule)],
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.ctx("begin set fee schedules")?;
        sqlx::query("DELETE FROM merchant_fee_schedules WHERE merchant_id = $1")
            .bind(merchant.as_str())
            .execute(&mut *tx)
            .await
            .ctx("clear fee schedules")?;
        for (pay_type, schedule) in schedules {
            sqlx::query(
                "INSERT INTO merchant_fee_schedules
                        (merchant_id, pay_type, rate_ppm, fixed_minor, updated_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(merchant.as_str())
            .bind(pay_type.as_str())
            .bind(i64::from(schedule.rate.ppm()))
            .bind(schedule.fixed.minor())
            .bind(now_ms)
            .execute(&mut *tx)
            .await
            .ctx("insert fee schedule")?;
        }
        tx.commit().await.ctx("commit fee schedules")?;
        Ok(())
    }
}

fn schedule_from_row(row: &AnyRow) -> StoreResult<FeeSchedule> {
    let ppm = get_i64(row, "rate_ppm")?;
    let rate = u32::try_from(ppm)
        .ok()
        .and_then(|ppm| FeeRate::from_ppm(ppm).ok())
        .ok_or_else(|| StoreError::Corrupt(format!("rate_ppm={ppm}")))?;
    Ok(FeeSchedule {
        rate,
        fixed: get_amount(row, "fixed_minor")?,
    })
}
