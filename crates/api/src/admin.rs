//! The operator API's answers (`/admin/...`): notifications with their delivery attempts, and
//! open anomalies. Unsigned JSON; times are RFC 3339 in China Standard Time.

use paygate_domain::fee::{FeeRate, FeeSchedule};
use paygate_domain::merchant_money::{MerchantMoney, SettlementCycle};
use paygate_domain::payout_rules::PayoutLimits;
use paygate_domain::{Amount, AmountError, Currency, PayType};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// One delivery attempt of a notification.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema, Serialize, Deserialize)]
pub struct Attempt {
    pub attempt_no: i64,
    pub at: String,
    /// The merchant's HTTP status, when it answered at all.
    pub http_status: Option<i64>,
    pub latency_ms: i64,
    pub outcome: String,
    pub response_excerpt: Option<String>,
    /// The notifier process that made the attempt.
    pub worker: String,
}

/// A notification to a merchant and every attempt to deliver it.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema, Serialize, Deserialize)]
pub struct Notification {
    pub id: i64,
    pub trade_no: String,
    pub merchant_id: String,
    /// What it announces, e.g. TRADE_SUCCESS or REFUND_SUCCESS.
    pub kind: String,
    pub notify_url: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    pub created_at: String,
    pub finished_at: Option<String>,
    pub attempt_log: Vec<Attempt>,
}

/// `GET /admin/orders/{trade_no}/notifications`.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema, Serialize, Deserialize)]
pub struct OrderNotifications {
    pub trade_no: String,
    pub notifications: Vec<Notification>,
}

/// Something that needs an operator, such as a payment reported after the order was closed.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema, Serialize, Deserialize)]
pub struct Anomaly {
    pub trade_no: String,
    pub kind: String,
    pub detail: String,
    pub detected_at: String,
}

/// `GET /admin/anomalies`.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema, Serialize, Deserialize)]
pub struct Anomalies {
    pub anomalies: Vec<Anomaly>,
}

/// A merchant's union-login key, for the operator to hand to the merchant.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema, Serialize, Deserialize)]
pub struct UnionLoginKeyView {
    pub merchant_id: String,
    /// 64 hex characters: the AES-256-GCM key that decrypts `encrypted_url` of
    /// `POST /api/union-login`.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub union_login_key: String,
}

/// One settlement of a merchant's cleared money (pending → available, and on to the
/// merchant's own account when `withdrawn` is not zero).
#[derive(Debug, Clone, PartialEq, Eq, ToSchema, Serialize, Deserialize)]
pub struct SettlementView {
    /// `ST` + business day + currency + merchant id: one per merchant, currency and day.
    #[schema(pattern = "^ST[0-9A-Za-z_-]{1,46}$", max_length = 48)]
    pub settlement_no: String,
    pub merchant_id: String,
    #[schema(pattern = "^[A-Z]{3}$")]
    pub currency: String,
    /// The business day (China time) whose run settled it.
    #[schema(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub business_date: String,
    /// `auto` (the daily T+N run) or `request` (a manual-cycle merchant asked).
    #[schema(pattern = "^(auto|request)$")]
    pub trigger: String,
    /// In the currency's major unit, e.g. `"100.50"`.
    pub amount: String,
    /// What went on to the merchant's own account in the same step, `"0"` when none did.
    pub withdrawn: String,
    /// Money posted before this instant was settled.
    pub settles_before: String,
    pub created_at: String,
}

/// `GET /admin/settlements`.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema, Serialize, Deserialize)]
pub struct Settlements {
    pub settlements: Vec<SettlementView>,
}

/// `POST /admin/settlements/run`: what one business day's run did, merchant by merchant.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema, Serialize, Deserialize)]
pub struct SettlementRunView {
    #[schema(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub business_date: String,
    pub settled: u64,
    /// Merchants whose day was settled before (by an earlier run or another process).
    pub already_settled: u64,
    /// Merchants short of their minimum; their money carries over.
    pub below_minimum: u64,
    /// Merchants that failed; running the day again retries them.
    pub failed: u64,
}

/// One ledger account's totals, in minor units (fen).
#[derive(Debug, Clone, PartialEq, Eq, ToSchema, Serialize, Deserialize)]
pub struct AccountBalanceView {
    /// `merchant:{id}:pending|available|reserved|external`, `receiver:{merchant}:{receiver}`,
    /// `platform:fee_income`, `channel:{name}:fee_expense|clearing` or `rail:{name}`.
    pub account: String,
    pub currency: String,
    pub debits: i64,
    pub credits: i64,
    /// As shown: credits − debits for what is owed to merchants and receivers and for the
    /// platform's income, debits − credits for the rest.
    pub balance: i64,
}

/// Debits minus credits over every entry of a currency: always 0.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema, Serialize, Deserialize)]
pub struct CurrencyImbalance {
    pub currency: String,
    pub imbalance: i64,
}

/// `GET /admin/ledger/balances`.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema, Serialize, Deserialize)]
pub struct LedgerBalancesView {
    pub accounts: Vec<AccountBalanceView>,
    /// Over the whole ledger, whatever `merchant_id` selected.
    pub imbalance: Vec<CurrencyImbalance>,
}

/// One entry of an account's statement, in minor units (fen).
#[derive(Debug, Clone, PartialEq, Eq, ToSchema, Serialize, Deserialize)]
pub struct StatementLineView {
    pub entry_id: i64,
    /// The business event: payment, refund_accepted, refund_succeeded, refund_failed, ...
    pub posting_kind: String,
    /// What the event belongs to: a trade number, a refund number...
    pub reference: String,
    /// What the entry records: payment, fee, channel_fee, refund_hold, refund, fee_refund, ...
    pub kind: String,
    pub debit: i64,
    pub credit: i64,
    pub at: String,
}

/// `GET /admin/ledger/statement`.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema, Serialize, Deserialize)]
pub struct StatementView {
    pub account: String,
    pub currency: String,
    pub lines: Vec<StatementLineView>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next_after: Option<i64>,
}

/// A merchant's payout limits as the operator sets them, in minor units (fen for CNY) of the
/// payout's currency. Sums count accepted payouts that did not fail, per China-time day and
/// month; the call rate counts payouts accepted in the last 60 seconds.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PayoutLimitsInput {
    #[schema(minimum = 1, maximum = 1_000_000_000_000_000_i64)]
    pub per_payout_max_minor: i64,
    #[schema(minimum = 1, maximum = 1_000_000_000_000_000_i64)]
    pub daily_max_minor: i64,
    #[schema(minimum = 1, maximum = 1_000_000_000_000_000_i64)]
    pub monthly_max_minor: i64,
    #[schema(minimum = 1, maximum = 100_000)]
    pub calls_per_minute_max: u32,
}

impl PayoutLimitsInput {
    pub const CALLS_PER_MINUTE_MAX: u32 = 100_000;

    pub fn of(limits: &PayoutLimits) -> PayoutLimitsInput {
        PayoutLimitsInput {
            per_payout_max_minor: limits.per_payout_max.minor(),
            daily_max_minor: limits.daily_max.minor(),
            monthly_max_minor: limits.monthly_max.minor(),
            calls_per_minute_max: limits.calls_per_minute_max,
        }
    }

    /// The limits, refusing the first value out of range (naming it).
    pub fn to_limits(&self) -> Result<PayoutLimits, crate::FieldError> {
        let amount = |name: &str, minor: i64| {
            Amount::from_minor(minor)
                .ok()
                .filter(|a| !a.is_zero())
                .ok_or_else(|| crate::FieldError::new(name, "must be 1 to 10^15 minor units"))
        };
        if !(1..=Self::CALLS_PER_MINUTE_MAX).contains(&self.calls_per_minute_max) {
            return Err(crate::FieldError::new(
                "calls_per_minute_max",
                "must be 1 to 100000",
            ));
        }
        Ok(PayoutLimits {
            per_payout_max: amount("per_payout_max_minor", self.per_payout_max_minor)?,
            daily_max: amount("daily_max_minor", self.daily_max_minor)?,
            monthly_max: amount("monthly_max_minor", self.monthly_max_minor)?,
            calls_per_minute_max: self.calls_per_minute_max,
        })
    }
}

/// A merchant's payout limits in force: its own, or the configured defaults.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema, Serialize, Deserialize)]
pub struct PayoutLimitsView {
    pub merchant_id: String,
    pub limits: PayoutLimitsInput,
}

/// When a merchant's unsettled money becomes available: `auto` settles payments of
/// `settle_days` days ago (T+N, 0 to 30) once they add up to `settle_minimum` yuan ("0" for no
/// minimum); `manual` only when the merchant asks.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SettlementCycleInput {
    Auto {
        #[schema(minimum = 0, maximum = 30)]
        settle_days: u32,
        /// Yuan with at most two decimals, no sign: `"0"`, `"100.00"`.
        #[schema(pattern = r"^(0|[1-9][0-9]{0,15})(\.[0-9]{1,2})?$", example = "100.00")]
        settle_minimum: String,
    },
    Manual,
}

/// How a merchant's money is handled, as the operator sets it.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MerchantMoneyInput {
    /// Selects the default fee rate, settlement cycle and required qualifications.
    #[schema(pattern = "^(physical_goods|virtual_goods|public_institution)$")]
    pub category: String,
    /// `platform` needs every qualification of the category on record.
    #[schema(pattern = "^(direct|platform)$")]
    pub settlement_mode: String,
    /// Who bears the part of a fee the channel keeps on a refund.
    #[schema(pattern = "^(merchant|platform)$")]
    pub fee_bearer: String,
    pub cycle: SettlementCycleInput,
    /// Whether each settlement also pays the settled sum out to the merchant's own account.
    pub withdraw_on_settlement: bool,
    /// Qualification documents: name (1 to 64 characters) → reference such as a licence
    /// number (1 to 128 characters). Categories need: physical_goods `business_licence`;
    /// virtual_goods `business_licence`, `internet_culture_licence`; public_institution
    /// `public_institution_certificate`. At most 32 documents.
    pub qualifications: BTreeMap<String, String>,
}

/// At most this many qualification documents per merchant.
const QUALIFICATIONS_MAX: usize = 32;
const QUALIFICATION_NAME_MAX: usize = 64;
const QUALIFICATION_REFERENCE_MAX: usize = 128;
/// The longest T+N cycle an operator may set.
pub const SETTLE_DAYS_MAX: u32 = 30;

/// A yuan amount that may be zero (a minimum, a fixed fee part).
fn yuan_or_zero(field: &str, text: &str) -> Result<Amount, crate::FieldError> {
    match Amount::parse_major(text, Currency::Cny) {
        Ok(amount) => Ok(amount),
        Err(AmountError::NotPositive) => Ok(Amount::ZERO),
        Err(_) => Err(crate::FieldError::new(
            field,
            "must be yuan with at most two decimals, e.g. 100.00",
        )),
    }
}

fn parsed<T: std::str::FromStr<Err = String>>(
    field: &str,
    text: &str,
) -> Result<T, crate::FieldError> {
    text.parse()
        .map_err(|e: String| crate::FieldError::new(field, e))
}

impl MerchantMoneyInput {
    pub fn of(money: &MerchantMoney) -> MerchantMoneyInput {
        MerchantMoneyInput {
            category: money.category.as_str().into(),
            settlement_mode: money.settlement_mode.as_str().into(),
            fee_bearer: money.fee_bearer.as_str().into(),
            cycle: match money.cycle {
                SettlementCycle::Manual => SettlementCycleInput::Manual,
                SettlementCycle::Auto { days, minimum } => SettlementCycleInput::Auto {
                    settle_days: days,
                    settle_minimum: minimum.to_major_string(Currency::Cny),
                },
            },
            withdraw_on_settlement: money.withdraw_on_settlement,
            qualifications: money.qualifications.clone(),
        }
    }

    /// The settings, refusing the first value out of range (naming it).
    pub fn to_money(&self) -> Result<MerchantMoney, crate::FieldError> {
        let cycle = match &self.cycle {
            SettlementCycleInput::Manual => SettlementCycle::Manual,
            SettlementCycleInput::Auto {
                settle_days,
                settle_minimum,
            } => {
                if *settle_days > SETTLE_DAYS_MAX {
                    return Err(crate::FieldError::new("settle_days", "must be 0 to 30"));
                }
                SettlementCycle::Auto {
                    days: *settle_days,
                    minimum: yuan_or_zero("settle_minimum", settle_minimum)?,
                }
            }
        };
        if self.qualifications.len() > QUALIFICATIONS_MAX {
            return Err(crate::FieldError::new(
                "qualifications",
                "at most 32 documents",
            ));
        }
        let bad = self.qualifications.iter().find(|(name, reference)| {
            !(1..=QUALIFICATION_NAME_MAX).contains(&name.chars().count())
                || !(1..=QUALIFICATION_REFERENCE_MAX).contains(&reference.chars().count())
        });
        if bad.is_some() {
            return Err(crate::FieldError::new(
                "qualifications",
                "names must be 1 to 64 characters and references 1 to 128",
            ));
        }
        Ok(MerchantMoney {
            category: parsed("category", &self.category)?,
            settlement_mode: parsed("settlement_mode", &self.settlement_mode)?,
            fee_bearer: parsed("fee_bearer", &self.fee_bearer)?,
            cycle,
            withdraw_on_settlement: self.withdraw_on_settlement,
            qualifications: self.qualifications.clone(),
        })
    }
}

/// A merchant's money settings, with what its category still needs for `platform` mode.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema, Serialize, Deserialize)]
pub struct MerchantMoneyView {
    pub merchant_id: String,
    pub money: MerchantMoneyInput,
    pub missing_qualifications: Vec<String>,
}

/// One channel product's fee for a merchant: `rate_ppm` parts per million of the payment
/// (0 to 100000, i.e. up to 10%) plus `fixed` yuan per payment.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeScheduleInput {
    #[schema(value_type = String, example = "wallet")]
    pub pay_type: PayType,
    #[schema(minimum = 0, maximum = 100_000)]
    pub rate_ppm: u32,
    /// Yuan with at most two decimals, no sign: `"0"`, `"0.10"`.
    #[schema(pattern = r"^(0|[1-9][0-9]{0,15})(\.[0-9]{1,2})?$", example = "0.10")]
    pub fixed: String,
}

impl FeeScheduleInput {
    pub fn of(pay_type: PayType, schedule: &FeeSchedule) -> FeeScheduleInput {
        FeeScheduleInput {
            pay_type,
            rate_ppm: schedule.rate.ppm(),
            fixed: schedule.fixed.to_major_string(Currency::Cny),
        }
    }

    pub fn to_schedule(&self) -> Result<(PayType, FeeSchedule), crate::FieldError> {
        let rate = FeeRate::from_ppm(self.rate_ppm)
            .map_err(|_| crate::FieldError::new("rate_ppm", "must be 0 to 100000"))?;
        Ok((
            self.pay_type,
            FeeSchedule {
                rate,
                fixed: yuan_or_zero("fixed", &self.fixed)?,
            },
        ))
    }
}

/// `PUT /admin/merchants/{merchant_id}/fees`: the merchant's whole set of fee schedules, at
/// most one per pay type; a pay type left out falls back to the category's default rate.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeSchedulesInput {
    #[schema(max_items = 64)]
    pub schedules: Vec<FeeScheduleInput>,
}

/// A pay type's fee when the merchant has no schedule of its own: its category's rate.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema, Serialize, Deserialize)]
pub struct DefaultFeeView {
    #[schema(value_type = String, example = "wallet")]
    pub pay_type: PayType,
    pub rate_ppm: u32,
    /// Whether this default applies (the merchant has no schedule for the pay type).
    pub in_force: bool,
}

/// A merchant's fee schedules and, for reference, each pay type's default.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema, Serialize, Deserialize)]
pub struct FeeSchedulesView {
    pub merchant_id: String,
    pub category: String,
    pub schedules: Vec<FeeScheduleInput>,
    pub defaults: Vec<DefaultFeeView>,
}

impl FeeSchedulesView {
    pub fn of(
        merchant_id: &str,
        money: &MerchantMoney,
        schedules: &[(PayType, FeeSchedule)],
    ) -> FeeSchedulesView {
        let rate_ppm = money.category.default_fee_rate().ppm();
        FeeSchedulesView {
            merchant_id: merchant_id.into(),
            category: money.category.as_str().into(),
            schedules: schedules
                .iter()
                .map(|(pay_type, s)| FeeScheduleInput::of(*pay_type, s))
                .collect(),
            defaults: PayType::ALL
                .iter()
                .map(|pay_type| DefaultFeeView {
                    pay_type: *pay_type,
                    rate_ppm,
                    in_force: !schedules.iter().any(|(p, _)| p == pay_type),
                })
                .collect(),
        }
    }
}
