//! How a merchant's money is handled (DESIGN §8, seed 002 §2): its category, which selects the
//! default fee rate, settlement cycle and the qualifications onboarding records; its settlement
//! mode; and who bears a fee the channel keeps on a refund.

use crate::fee::{FeeRate, FeeSchedule};
use crate::Amount;
use std::collections::BTreeMap;

crate::text_enum! {
    /// The merchant's business category (seed 002 行业准入).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum MerchantCategory, unknown(text) => format!("unknown category {text:?}"), String {
        /// Physical goods (实物类).
        PhysicalGoods = "physical_goods",
        /// Virtual goods: game items, memberships, top-ups (虚拟类).
        VirtualGoods = "virtual_goods",
        /// Government and public institutions: public hospitals and schools (政府/事业单位).
        PublicInstitution = "public_institution",
    }
}

impl MerchantCategory {
    /// The fee rate a merchant of this category pays unless its own schedule says otherwise:
    /// the channels' published standard rates (0.6% for goods, 0.2% for public services).
    pub fn default_fee_rate(self) -> FeeRate {
        let ppm = match self {
            MerchantCategory::PhysicalGoods | MerchantCategory::VirtualGoods => 6_000,
            MerchantCategory::PublicInstitution => 2_000,
        };
        FeeRate::from_ppm(ppm).expect("default rates are within range")
    }

    /// Days from a payment to its settlement (T+N) unless the merchant's own cycle says
    /// otherwise: virtual goods, whose disputes surface later, wait a week.
    pub fn default_settle_days(self) -> u32 {
        match self {
            MerchantCategory::PhysicalGoods | MerchantCategory::PublicInstitution => 1,
            MerchantCategory::VirtualGoods => 7,
        }
    }

    /// The qualification documents onboarding records for this category (seed 002: a special
    /// industry needs its licence before the channel opens the product).
    pub fn qualifications(self) -> &'static [&'static str] {
        match self {
            MerchantCategory::PhysicalGoods => &["business_licence"],
            MerchantCategory::VirtualGoods => &["business_licence", "internet_culture_licence"],
            MerchantCategory::PublicInstitution => &["public_institution_certificate"],
        }
    }
}

crate::text_enum! {
    /// Where a merchant's money goes (DESIGN §8).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum SettlementMode, unknown(text) => format!("unknown settlement_mode {text:?}"), String {
        /// The channel settles to the merchant's own channel account; our ledger shadows it.
        Direct = "direct",
        /// The platform collects; the ledger is the book of record and settlement and payouts
        /// move real money.
        Platform = "platform",
    }
}

crate::text_enum! {
    /// Who bears the part of a fee that the channel keeps when a payment is refunded.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum FeeBearer, unknown(text) => format!("unknown fee_bearer {text:?}"), String {
        /// The merchant gets back only what the channel gives back (the default).
        Merchant = "merchant",
        /// The platform returns the merchant's fee proportionally and absorbs what the channel
        /// keeps.
        Platform = "platform",
    }
}

/// When a merchant's unsettled money becomes available.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettlementCycle {
    /// Every day, payments of `days` days ago and before (T+N) settle, once they add up to
    /// `minimum`; a smaller sum waits for the next day.
    Auto { days: u32, minimum: Amount },
    /// Only when the merchant asks (a withdrawal request).
    Manual,
}

/// Everything about how a merchant's money is handled, as onboarding recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerchantMoney {
    pub category: MerchantCategory,
    pub settlement_mode: SettlementMode,
    pub fee_bearer: FeeBearer,
    pub cycle: SettlementCycle,
    /// Whether each settlement also pays the settled sum out to the merchant's own account
    /// (`platform` mode; in `direct` mode the channel already settles there).
    pub withdraw_on_settlement: bool,
    /// The qualification documents recorded at onboarding: name → reference (licence number).
    pub qualifications: BTreeMap<String, String>,
}

impl MerchantMoney {
    /// A new merchant of `category`: `direct` mode, the merchant bears channel-kept fees, the
    /// category's T+N cycle with no minimum, nothing paid out automatically.
    pub fn for_category(category: MerchantCategory) -> MerchantMoney {
        MerchantMoney {
            category,
            settlement_mode: SettlementMode::Direct,
            fee_bearer: FeeBearer::Merchant,
            cycle: SettlementCycle::Auto {
                days: category.default_settle_days(),
                minimum: Amount::ZERO,
            },
            withdraw_on_settlement: false,
            qualifications: BTreeMap::new(),
        }
    }

    /// What a payment is charged when the merchant has no schedule of its own for the product:
    /// its category's default rate and no fixed part.
    pub fn default_fee_schedule(&self) -> FeeSchedule {
        FeeSchedule {
            rate: self.category.default_fee_rate(),
            fixed: Amount::ZERO,
        }
    }

    /// The qualifications the category needs that onboarding has not recorded.
    pub fn missing_qualifications(&self) -> Vec<&'static str> {
        self.category
            .qualifications()
            .iter()
            .copied()
            .filter(|q| !self.qualifications.contains_key(*q))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_select_rates_cycles_and_qualifications() {
        assert_eq!(
            MerchantCategory::PhysicalGoods.default_fee_rate().ppm(),
            6_000
        );
        assert_eq!(
            MerchantCategory::PublicInstitution.default_fee_rate().ppm(),
            2_000
        );
        assert_eq!(MerchantCategory::VirtualGoods.default_settle_days(), 7);
        assert!(MerchantCategory::VirtualGoods
            .qualifications()
            .contains(&"internet_culture_licence"));
        assert_eq!(
            "platform".parse::<SettlementMode>(),
            Ok(SettlementMode::Platform)
        );
    }
}
