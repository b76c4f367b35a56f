//! What a merchant may pay out, as data (seed 002 商家付款 ② 限额 and the WeChat rule): limits per
//! payout, per China-time day and month, and per minute of calls; and eligibility rules per
//! payee type, such as WeChat's "open 90 days, with trades on 30 of them".

use crate::payout::PayeeType;
use crate::Amount;
use chrono::{Datelike, FixedOffset, TimeZone};

pub const DAY_MS: i64 = 86_400_000;
const CHINA_OFFSET_MS: i64 = 8 * 3_600_000;

/// A merchant's payout limits. Sums count accepted payouts that did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PayoutLimits {
    pub per_payout_max: Amount,
    pub daily_max: Amount,
    pub monthly_max: Amount,
    /// Payouts accepted in the last 60 seconds, this one included.
    pub calls_per_minute_max: u32,
}

impl Default for PayoutLimits {
    /// Generous defaults for a new merchant: 50,000 per payout, 200,000 a day, 1,000,000 a
    /// month (in major units of the payout's currency), 60 payouts a minute.
    fn default() -> Self {
        let major = |n: i64| Amount::from_minor(n * 100).expect("default limits are in range");
        PayoutLimits {
            per_payout_max: major(50_000),
            daily_max: major(200_000),
            monthly_max: major(1_000_000),
            calls_per_minute_max: 60,
        }
    }
}

/// What a merchant has already paid out, counted when a new payout is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PayoutUsage {
    pub day_total: i64,
    pub month_total: i64,
    pub calls_last_minute: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitRefusal {
    #[error("amount exceeds the per-payout limit of {max} (minor units)")]
    PerPayout { max: i64 },
    #[error("today's payouts would reach {would_be}, over the daily limit of {max} (minor units)")]
    Daily { max: i64, would_be: i64 },
    #[error("this month's payouts would reach {would_be}, over the monthly limit of {max} (minor units)")]
    Monthly { max: i64, would_be: i64 },
    #[error("at most {max} payouts a minute")]
    CallRate { max: u32 },
}

impl PayoutLimits {
    /// Checks the call rate first (it says nothing about the amount), then the amounts.
    pub fn check(&self, amount: Amount, usage: &PayoutUsage) -> Result<(), LimitRefusal> {
        if usage.calls_last_minute >= self.calls_per_minute_max {
            return Err(LimitRefusal::CallRate {
                max: self.calls_per_minute_max,
            });
        }
        if amount > self.per_payout_max {
            return Err(LimitRefusal::PerPayout {
                max: self.per_payout_max.minor(),
            });
        }
        let day = usage.day_total + amount.minor();
        if day > self.daily_max.minor() {
            return Err(LimitRefusal::Daily {
                max: self.daily_max.minor(),
                would_be: day,
            });
        }
        let month = usage.month_total + amount.minor();
        if month > self.monthly_max.minor() {
            return Err(LimitRefusal::Monthly {
                max: self.monthly_max.minor(),
                would_be: month,
            });
        }
        Ok(())
    }
}

/// When the China-time day holding `now_ms` began, in Unix ms.
pub fn china_day_start_ms(now_ms: i64) -> i64 {
    (now_ms + CHINA_OFFSET_MS).div_euclid(DAY_MS) * DAY_MS - CHINA_OFFSET_MS
}

/// When the China-time month holding `now_ms` began, in Unix ms.
pub fn china_month_start_ms(now_ms: i64) -> i64 {
    let cst = FixedOffset::east_opt(8 * 3600).expect("+08:00 is a valid offset");
    let local = cst
        .timestamp_millis_opt(now_ms)
        .single()
        .expect("a fixed offset maps every instant once");
    cst.with_ymd_and_hms(local.year(), local.month(), 1, 0, 0, 0)
        .single()
        .expect("the first of a month exists at a fixed offset")
        .timestamp_millis()
}

/// A rule a merchant must meet to pay out to `payee_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EligibilityRule {
    pub payee_type: PayeeType,
    /// Days since the merchant was created.
    pub days_open_min: u32,
    /// China-time days with at least one paid order, within the last `trade_window_days`.
    pub trade_days_min: u32,
    pub trade_window_days: u32,
}

impl EligibilityRule {
    /// WeChat Pay's rule for 企业付款 (seed 002): open 90 days, with trades on 30 of them.
    pub fn wechat(payee_type: PayeeType) -> EligibilityRule {
        EligibilityRule {
            payee_type,
            days_open_min: 90,
            trade_days_min: 30,
            trade_window_days: 90,
        }
    }

    /// Reads `payee_type:days_open_min:trade_days_min:trade_window_days`, e.g.
    /// `bank_card:90:30:90` (the configuration's form).
    pub fn parse(text: &str) -> Result<EligibilityRule, String> {
        let parts: Vec<&str> = text.split(':').collect();
        let [payee_type, open, trades, window] = parts.as_slice() else {
            return Err(format!(
                "eligibility rule {text:?} must be payee_type:days_open:trade_days:window_days"
            ));
        };
        let number = |t: &str| {
            t.parse::<u32>()
                .ok()
                .filter(|n| *n <= 3_650)
                .ok_or_else(|| format!("eligibility rule {text:?}: {t:?} is not 0-3650"))
        };
        let rule = EligibilityRule {
            payee_type: payee_type.parse()?,
            days_open_min: number(open)?,
            trade_days_min: number(trades)?,
            trade_window_days: number(window)?,
        };
        if rule.trade_days_min > rule.trade_window_days {
            return Err(format!(
                "eligibility rule {text:?}: more trade days than the window holds"
            ));
        }
        Ok(rule)
    }
}

/// What eligibility is judged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MerchantHistory {
    pub created_at_ms: i64,
    /// Days with a paid order within the rule's window.
    pub trade_days: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Ineligible {
    #[error("payouts to {payee_type} need the merchant open {min} days; it has been {days}")]
    TooNew {
        payee_type: PayeeType,
        min: u32,
        days: i64,
    },
    #[error("payouts to {payee_type} need paid orders on {min} of the last {window} days; there were {days}")]
    TooFewTradeDays {
        payee_type: PayeeType,
        min: u32,
        window: u32,
        days: u32,
    },
}

impl EligibilityRule {
    pub fn check(&self, history: &MerchantHistory, now_ms: i64) -> Result<(), Ineligible> {
        let days = (now_ms - history.created_at_ms).div_euclid(DAY_MS);
        if days < i64::from(self.days_open_min) {
            return Err(Ineligible::TooNew {
                payee_type: self.payee_type,
                min: self.days_open_min,
                days,
            });
        }
        if history.trade_days < self.trade_days_min {
            return Err(Ineligible::TooFewTradeDays {
                payee_type: self.payee_type,
                min: self.trade_days_min,
                window: self.trade_window_days,
                days: history.trade_days,
            });
        }
        Ok(())
    }
}

/// The platform's payout settings: the bank-card fee, default limits and eligibility rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutPolicy {
    /// Fixed fee per bank-card payout, in minor units of the payout's currency (seed 002:
    /// 1-2 yuan); wallet payouts are free.
    pub bank_card_fee: Amount,
    /// For merchants without a row in `merchant_payout_limits`.
    pub default_limits: PayoutLimits,
    /// None by default, so a new (demo) merchant can pay out at once; production sets e.g.
    /// `bank_card:90:30:90` (WeChat's rule).
    pub eligibility: Vec<EligibilityRule>,
}

impl Default for PayoutPolicy {
    fn default() -> Self {
        PayoutPolicy {
            bank_card_fee: Amount::from_minor(100).expect("1.00 is in range"),
            default_limits: PayoutLimits::default(),
            eligibility: Vec::new(),
        }
    }
}

impl PayoutPolicy {
    pub fn fee(&self, payee_type: PayeeType) -> Amount {
        match payee_type {
            PayeeType::Wallet => Amount::ZERO,
            PayeeType::BankCard => self.bank_card_fee,
        }
    }

    pub fn rules_for(&self, payee_type: PayeeType) -> impl Iterator<Item = &EligibilityRule> {
        self.eligibility
            .iter()
            .filter(move |r| r.payee_type == payee_type)
    }
}

// Amounts in fen are written with the separator where the decimal point would be (`100_00`
// is 100.00 yuan), which reads as money.
#[cfg(test)]
#[allow(clippy::inconsistent_digit_grouping)]
mod tests {
    use super::*;

    fn fen(n: i64) -> Amount {
        Amount::from_minor(n).unwrap()
    }

    fn limits() -> PayoutLimits {
        PayoutLimits {
            per_payout_max: fen(100_00),
            daily_max: fen(300_00),
            monthly_max: fen(500_00),
            calls_per_minute_max: 3,
        }
    }

    #[test]
    fn each_limit_refuses_on_its_own() {
        let idle = PayoutUsage::default();
        assert_eq!(limits().check(fen(100_00), &idle), Ok(()));
        assert_eq!(
            limits().check(fen(100_01), &idle),
            Err(LimitRefusal::PerPayout { max: 100_00 })
        );
        let busy_day = PayoutUsage {
            day_total: 250_00,
            month_total: 250_00,
            calls_last_minute: 0,
        };
        assert!(matches!(
            limits().check(fen(50_01), &busy_day),
            Err(LimitRefusal::Daily { .. })
        ));
        let busy_month = PayoutUsage {
            day_total: 0,
            month_total: 450_00,
            calls_last_minute: 0,
        };
        assert!(matches!(
            limits().check(fen(50_01), &busy_month),
            Err(LimitRefusal::Monthly { .. })
        ));
        let hurried = PayoutUsage {
            calls_last_minute: 3,
            ..idle
        };
        assert_eq!(
            limits().check(fen(1), &hurried),
            Err(LimitRefusal::CallRate { max: 3 })
        );
    }

    #[test]
    fn days_and_months_are_china_time() {
        // 2026-11-30T15:59:59.999Z is 23:59:59.999 in Beijing; one ms later is the next day.
        let last = 1_796_054_399_999;
        assert_eq!(china_day_start_ms(last), 1_795_968_000_000);
        assert_eq!(china_day_start_ms(last + 1), 1_796_054_400_000);
        // December begins at 2026-11-30T16:00Z.
        assert_eq!(china_month_start_ms(last + 1), 1_796_054_400_000);
        assert_eq!(china_month_start_ms(last), 1_793_462_400_000);
    }

    #[test]
    fn the_wechat_rule_needs_ninety_days_and_thirty_trade_days() {
        let rule = EligibilityRule::parse("bank_card:90:30:90").unwrap();
        assert_eq!(rule, EligibilityRule::wechat(PayeeType::BankCard));
        let now = 200 * DAY_MS;
        let young = MerchantHistory {
            created_at_ms: now - 89 * DAY_MS,
            trade_days: 60,
        };
        assert!(matches!(
            rule.check(&young, now),
            Err(Ineligible::TooNew { .. })
        ));
        let quiet = MerchantHistory {
            created_at_ms: 0,
            trade_days: 29,
        };
        assert!(matches!(
            rule.check(&quiet, now),
            Err(Ineligible::TooFewTradeDays { .. })
        ));
        let ready = MerchantHistory {
            created_at_ms: now - 90 * DAY_MS,
            trade_days: 30,
        };
        assert_eq!(rule.check(&ready, now), Ok(()));
        assert!(EligibilityRule::parse("bank_card:90:91:90").is_err());
        assert!(EligibilityRule::parse("card:1:1:1").is_err());
    }
}
