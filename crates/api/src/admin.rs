//! The operator API's answers (`/admin/...`): notifications with their delivery attempts, and
//! open anomalies. Unsigned JSON; times are RFC 3339 in China Standard Time.

use paygate_domain::payout_rules::PayoutLimits;
use paygate_domain::Amount;
use serde::{Deserialize, Serialize};
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
    pub posting_id: i64,
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
