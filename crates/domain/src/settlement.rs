//! Settlement (DESIGN §8, seed 002 资金结算方式): when a merchant's unsettled money becomes
//! available. Business days are China days (+08:00). Day D closes at its cut-off, D at the
//! cut-off hour, once the channels have cleared the day before; the run of day D then settles,
//! for a T+N merchant, the payments of day D−N and earlier: everything posted to the merchant's
//! pending account before the cut-off of day D−N+1. Nothing here does I/O.

use crate::ledger::{Account, EntryKind, Posting, PostingKind};
use crate::{Amount, Currency, MerchantId, WithdrawNo};
use chrono::{Duration, NaiveDate, NaiveTime};
use std::fmt;

const CHINA_OFFSET_MS: i64 = 8 * 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// A business day, China time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BusinessDate(NaiveDate);

impl BusinessDate {
    /// `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Result<BusinessDate, SettlementError> {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()
            .filter(|date| date.format("%Y-%m-%d").to_string() == text)
            .map(BusinessDate)
            .ok_or_else(|| SettlementError::BadDate(text.to_owned()))
    }

    pub fn days_before(self, days: u32) -> BusinessDate {
        BusinessDate(self.0 - Duration::days(i64::from(days)))
    }

    pub fn next(self) -> BusinessDate {
        BusinessDate(self.0 + Duration::days(1))
    }

    /// Midnight starting this day, China time, as Unix ms.
    fn start_ms(self) -> i64 {
        self.0.and_time(NaiveTime::MIN).and_utc().timestamp_millis() - CHINA_OFFSET_MS
    }
}

impl fmt::Display for BusinessDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

/// The hour of the day (China time) at which the previous day's payments are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cutoff {
    hour: u32,
}

impl Default for Cutoff {
    /// 02:00 +08:00: late channel notifications of the day before have arrived by then.
    fn default() -> Cutoff {
        Cutoff { hour: 2 }
    }
}

impl Cutoff {
    pub fn at_hour(hour: u32) -> Result<Cutoff, SettlementError> {
        if hour > 23 {
            return Err(SettlementError::BadCutoffHour(hour));
        }
        Ok(Cutoff { hour })
    }

    pub fn hour(self) -> u32 {
        self.hour
    }

    /// The instant day `date`'s run may start, as Unix ms.
    pub fn instant_ms(self, date: BusinessDate) -> i64 {
        date.start_ms() + i64::from(self.hour) * 3_600_000
    }

    /// The latest day whose cut-off has passed at `now_ms`.
    pub fn due_date(self, now_ms: i64) -> BusinessDate {
        let shifted_ms = now_ms + CHINA_OFFSET_MS - i64::from(self.hour) * 3_600_000;
        let days = shifted_ms.div_euclid(DAY_MS);
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("the epoch is a date");
        BusinessDate(epoch + Duration::days(days))
    }

    /// What day `date`'s run settles for a `T+days` merchant: money posted before this instant.
    /// T+0 settles what the channels have cleared, which is the same as T+1: everything before
    /// the day's own cut-off.
    pub fn settles_before_ms(self, date: BusinessDate, days: u32) -> i64 {
        self.instant_ms(date.days_before(days.max(1) - 1))
    }
}

crate::text_enum! {
    /// Why a settlement happened.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum SettlementTrigger, unknown(text) => SettlementError::BadTrigger(text.to_owned()), SettlementError {
        /// The daily T+N run.
        Auto = "auto",
        /// A `Manual`-cycle merchant asked for it.
        Request = "request",
    }
}

/// Our number of a settlement: one per merchant, currency and business day, so two processes
/// running the same day compute the same number and the second one's insert is refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SettlementNo(String);

impl SettlementNo {
    pub fn for_day(merchant: &MerchantId, currency: Currency, date: BusinessDate) -> SettlementNo {
        SettlementNo(format!(
            "ST{}{}{}",
            date.0.format("%Y%m%d"),
            currency.as_str(),
            merchant
        ))
    }

    /// A number read back from the store.
    pub fn parse(text: &str) -> Result<SettlementNo, SettlementError> {
        let ok = text.starts_with("ST")
            && text.len() <= 48
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !ok {
            return Err(SettlementError::BadNumber(text.to_owned()));
        }
        Ok(SettlementNo(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SettlementNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a merchant's pending account says at a run, in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingFigures {
    /// Every non-settlement movement of pending money (payments less refunds, fees and
    /// shares) posted before the run's instant.
    pub cleared: i64,
    /// What all earlier settlements moved out of pending.
    pub settled: i64,
    /// The pending balance now, which later refunds may have lowered further.
    pub balance: i64,
}

/// What a run does for one merchant and currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettleDecision {
    Settle(Amount),
    /// Short of the merchant's minimum: it waits for a later day.
    BelowMinimum(Amount),
    Nothing,
}

impl PendingFigures {
    /// The cleared money not yet settled, never more than is still pending, if it reaches
    /// `minimum`.
    pub fn decide(self, minimum: Amount) -> SettleDecision {
        let due = (self.cleared - self.settled).min(self.balance);
        match Amount::from_minor(due) {
            _ if due <= 0 => SettleDecision::Nothing,
            Ok(amount) if amount < minimum => SettleDecision::BelowMinimum(amount),
            Ok(amount) => SettleDecision::Settle(amount),
            Err(_) => SettleDecision::Nothing,
        }
    }
}

/// Whether settled money stays available or goes on to the merchant's own account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterSettling {
    Keep,
    Withdraw,
}

/// A settlement's posting: pending to available, and on to the merchant's own account when it
/// is withdrawn in the same step.
pub fn settlement_posting(
    number: &SettlementNo,
    merchant: &MerchantId,
    currency: Currency,
    amount: Amount,
    after: AfterSettling,
) -> Posting {
    let posting = Posting::new(PostingKind::Settlement, number.as_str(), currency).transfer(
        EntryKind::Settlement,
        Account::MerchantPending(merchant.clone()),
        Account::MerchantAvailable(merchant.clone()),
        amount,
    );
    match after {
        AfterSettling::Keep => posting,
        AfterSettling::Withdraw => posting.transfer(
            EntryKind::Withdrawal,
            Account::MerchantAvailable(merchant.clone()),
            Account::MerchantExternal(merchant.clone()),
            amount,
        ),
    }
}

/// A withdrawal's posting: available money out to the merchant's own account.
pub fn withdrawal_posting(
    number: &WithdrawNo,
    merchant: &MerchantId,
    currency: Currency,
    amount: Amount,
) -> Posting {
    Posting::new(PostingKind::Withdrawal, number.as_str(), currency).transfer(
        EntryKind::Withdrawal,
        Account::MerchantAvailable(merchant.clone()),
        Account::MerchantExternal(merchant.clone()),
        amount,
    )
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettlementError {
    #[error("date {0:?} must be YYYY-MM-DD")]
    BadDate(String),
    #[error("cut-off hour {0} must be 0-23")]
    BadCutoffHour(u32),
    #[error("unknown settlement trigger {0:?}")]
    BadTrigger(String),
    #[error("bad settlement number {0:?}")]
    BadNumber(String),
}

#[cfg(test)]
// Fen amounts are grouped where the decimal point would be (`100_00` is 100.00 yuan).
#[allow(clippy::inconsistent_digit_grouping)]
mod tests {
    use super::*;

    fn date(text: &str) -> BusinessDate {
        BusinessDate::parse(text).unwrap()
    }

    fn china_ms(text: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(text)
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn a_day_is_due_from_its_cut_off_china_time() {
        let cutoff = Cutoff::default();
        assert_eq!(
            cutoff.instant_ms(date("2026-11-29")),
            china_ms("2026-11-29T02:00:00+08:00")
        );
        let before = china_ms("2026-11-29T01:59:59.999+08:00");
        assert_eq!(cutoff.due_date(before), date("2026-11-28"));
        assert_eq!(cutoff.due_date(before + 1), date("2026-11-29"));
    }

    #[test]
    fn t_plus_one_settles_the_day_before_and_earlier() {
        let cutoff = Cutoff::at_hour(2).unwrap();
        let today = date("2026-11-29");
        assert_eq!(
            cutoff.settles_before_ms(today, 1),
            china_ms("2026-11-29T02:00:00+08:00")
        );
        assert_eq!(
            cutoff.settles_before_ms(today, 3),
            china_ms("2026-11-27T02:00:00+08:00")
        );
        assert_eq!(
            cutoff.settles_before_ms(today, 0),
            cutoff.settles_before_ms(today, 1)
        );
        assert!(Cutoff::at_hour(24).is_err());
    }

    #[test]
    fn dates_parse_strictly() {
        assert_eq!(date("2026-02-28").to_string(), "2026-02-28");
        assert!(BusinessDate::parse("2026-2-28").is_err());
        assert!(BusinessDate::parse("2026-02-30").is_err());
        assert_eq!(date("2026-03-01").days_before(1), date("2026-02-28"));
    }

    #[test]
    fn earlier_settlements_refunds_and_the_minimum_shape_the_amount() {
        let minimum = Amount::from_minor(100_00).unwrap();
        let figures = |cleared, settled, balance| PendingFigures {
            cleared,
            settled,
            balance,
        };
        let fen = |minor| Amount::from_minor(minor).unwrap();
        assert_eq!(
            figures(300_00, 100_00, 250_00).decide(minimum),
            SettleDecision::Settle(fen(200_00))
        );
        assert_eq!(
            figures(300_00, 100_00, 150_00).decide(minimum),
            SettleDecision::Settle(fen(150_00)),
            "a later refund lowered what is still pending"
        );
        assert_eq!(
            figures(180_00, 100_00, 80_00).decide(minimum),
            SettleDecision::BelowMinimum(fen(80_00))
        );
        assert_eq!(
            figures(100_00, 100_00, 0).decide(minimum),
            SettleDecision::Nothing
        );
        assert_eq!(
            figures(90_00, 100_00, 0).decide(Amount::ZERO),
            SettleDecision::Nothing
        );
        let number = SettlementNo::for_day(
            &MerchantId::parse("M100001").unwrap(),
            Currency::Cny,
            date("2026-11-29"),
        );
        assert_eq!(number.as_str(), "ST20261129CNYM100001");
        assert_eq!(SettlementNo::parse(number.as_str()), Ok(number));
    }
}
