//! The operator's view of a merchant's money settings and fee schedules (DESIGN §8). A change
//! forgets this process's cached fee terms of the merchant at once (`merchant_cache`); other
//! processes use theirs until its TTL runs out.

use crate::{App, AppError};
use paygate_domain::fee::FeeSchedule;
use paygate_domain::merchant_money::{MerchantMoney, SettlementMode};
use paygate_domain::{MerchantId, PayType};

impl App {
    /// The merchant's money settings, or `None` for a merchant that does not exist.
    pub async fn merchant_money(
        &self,
        merchant: &MerchantId,
    ) -> Result<Option<MerchantMoney>, AppError> {
        if self.store().get_merchant(merchant).await?.is_none() {
            return Ok(None);
        }
        Ok(Some(self.store().merchant_money(merchant).await?))
    }

    /// Records the merchant's money settings; `None` for a merchant that does not exist.
    /// `platform` mode moves real money through the platform, so the category's qualifications
    /// must all be on record first.
    pub async fn set_merchant_money(
        &self,
        merchant: &MerchantId,
        money: &MerchantMoney,
    ) -> Result<Option<MerchantMoney>, AppError> {
        let missing = money.missing_qualifications();
        if money.settlement_mode == SettlementMode::Platform && !missing.is_empty() {
            return Err(AppError::param(
                "qualifications",
                format!(
                    "platform settlement needs {} for {}",
                    missing.join(", "),
                    money.category
                ),
            ));
        }
        if self.store().get_merchant(merchant).await?.is_none() {
            return Ok(None);
        }
        let now = self.clock().now_ms();
        self.store()
            .set_merchant_money(merchant, money, now)
            .await?;
        self.forget_merchant(merchant);
        self.merchant_money(merchant).await
    }

    /// The merchant's settings and its own fee schedules, or `None` for an unknown merchant.
    pub async fn merchant_fees(
        &self,
        merchant: &MerchantId,
    ) -> Result<Option<(MerchantMoney, Vec<(PayType, FeeSchedule)>)>, AppError> {
        let Some(money) = self.merchant_money(merchant).await? else {
            return Ok(None);
        };
        let schedules = self.store().merchant_fee_schedules(merchant).await?;
        Ok(Some((money, schedules)))
    }

    /// Replaces the merchant's fee schedules; `None` for an unknown merchant.
    pub async fn set_merchant_fees(
        &self,
        merchant: &MerchantId,
        schedules: &[(PayType, FeeSchedule)],
    ) -> Result<Option<(MerchantMoney, Vec<(PayType, FeeSchedule)>)>, AppError> {
        let mut seen = std::collections::HashSet::new();
        if let Some((pay_type, _)) = schedules.iter().find(|(p, _)| !seen.insert(*p)) {
            return Err(AppError::param(
                "schedules",
                format!("pay_type {pay_type} appears twice"),
            ));
        }
        if self.store().get_merchant(merchant).await?.is_none() {
            return Ok(None);
        }
        let now = self.clock().now_ms();
        self.store()
            .set_merchant_fee_schedules(merchant, schedules, now)
            .await?;
        self.forget_merchant(merchant);
        self.merchant_fees(merchant).await
    }
}
