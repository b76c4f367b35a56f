//! Alipay's fields to ours and back: yuan strings, China Standard Time, trade statuses, and
//! what an answer's `code` / `sub_code` mean. The only place in Paygate that converts an amount
//! to or from Alipay's unit.

use chrono::{DateTime, FixedOffset, NaiveDateTime};
use paygate_domain::{Amount, Currency, Money};

use crate::{DeclineReason, TradeState};

/// Every Alipay time is `yyyy-MM-dd HH:mm:ss` in UTC+08:00.
const CST_OFFSET_SECS: i32 = 8 * 3600;
const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";
/// Alipay takes amounts from 0.01 to 100000000.00 yuan.
const FEN_MIN: i64 = 1;
const FEN_MAX: i64 = 10_000_000_000;
/// `timeout_express` runs from 1 minute to 15 days.
const TIMEOUT_MINUTES_MAX: i64 = 15 * 24 * 60;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum MappingError {
    #[error("Alipay takes CNY only, not {}", .0.as_str())]
    Currency(Currency),
    #[error("{0} fen is outside Alipay's 0.01 to 100000000.00 yuan")]
    OutOfRange(i64),
    #[error("{0:?} is not an amount in yuan with two decimals")]
    Yuan(String),
    #[error("{0:?} is not a yyyy-MM-dd HH:mm:ss time")]
    Time(String),
    #[error("the order has already expired")]
    Expired,
    #[error("{0} is missing")]
    Missing(&'static str),
    #[error("unknown trade_status {0:?}")]
    Status(String),
}

/// Our money as Alipay's `total_amount` / `refund_amount`: yuan with exactly two decimals.
pub(crate) fn to_yuan(money: Money) -> Result<String, MappingError> {
    if money.currency != Currency::Cny {
        return Err(MappingError::Currency(money.currency));
    }
    let fen = money.amount.minor();
    if !(FEN_MIN..=FEN_MAX).contains(&fen) {
        return Err(MappingError::OutOfRange(fen));
    }
    Ok(format!("{}.{:02}", fen / 100, fen % 100))
}

/// Alipay's yuan text (`88.88`; a sign where a bill says money went out) as signed fen.
pub(crate) fn signed_fen(text: &str) -> Result<i64, MappingError> {
    let bad = || MappingError::Yuan(text.to_owned());
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int_part.is_empty() || int_part.len() > 12 || frac_part.len() > 2 {
        return Err(bad());
    }
    if !all_digits(int_part) || !all_digits(frac_part) {
        return Err(bad());
    }
    let int: i64 = int_part.parse().map_err(|_| bad())?;
    let frac: i64 = format!("{frac_part:0<2}").parse().map_err(|_| bad())?;
    let fen = int * 100 + frac;
    Ok(if negative { -fen } else { fen })
}

/// A non-negative yuan amount from an answer, as our money.
pub(crate) fn from_yuan(text: &str) -> Result<Money, MappingError> {
    let fen = signed_fen(text)?;
    let amount = Amount::from_minor(fen).map_err(|_| MappingError::Yuan(text.to_owned()))?;
    Ok(Money::new(amount, Currency::Cny))
}

fn cst() -> FixedOffset {
    FixedOffset::east_opt(CST_OFFSET_SECS).expect("+08:00 is a valid offset")
}

/// `timestamp` and `bill_date` style: China Standard Time.
pub(crate) fn cst_time(at_ms: i64) -> Result<String, MappingError> {
    let at = DateTime::from_timestamp_millis(at_ms)
        .ok_or_else(|| MappingError::Time(at_ms.to_string()))?;
    Ok(at.with_timezone(&cst()).format(TIME_FORMAT).to_string())
}

pub(crate) fn parse_cst_ms(text: &str) -> Result<i64, MappingError> {
    let local = NaiveDateTime::parse_from_str(text, TIME_FORMAT)
        .map_err(|_| MappingError::Time(text.to_owned()))?;
    Ok(local.and_utc().timestamp_millis() - i64::from(CST_OFFSET_SECS) * 1000)
}

/// `timeout_express` for an order expiring at `expire_at_ms`: whole minutes left, at least one
/// (Alipay counts from the trade's creation, which is now).
pub(crate) fn timeout_express(now_ms: i64, expire_at_ms: i64) -> Result<String, MappingError> {
    let left_ms = expire_at_ms - now_ms;
    if left_ms <= 0 {
        return Err(MappingError::Expired);
    }
    let minutes = (left_ms / 60_000).clamp(1, TIMEOUT_MINUTES_MAX);
    Ok(format!("{minutes}m"))
}

/// The trade layer of a `trade_status`. A closed trade that was paid (`paid_at` known: fully
/// refunded, which Alipay also calls TRADE_CLOSED) stays paid: refunds are ours to track.
pub(crate) fn trade_state(
    status: &str,
    trade_no: Option<&str>,
    paid_at: Option<&str>,
) -> Result<TradeState, MappingError> {
    let paid = || -> Result<TradeState, MappingError> {
        Ok(TradeState::Paid {
            channel_trade_no: trade_no
                .ok_or(MappingError::Missing("trade_no"))?
                .to_owned(),
            paid_at_ms: parse_cst_ms(paid_at.ok_or(MappingError::Missing("paid time"))?)?,
        })
    };
    match status {
        "TRADE_SUCCESS" | "TRADE_FINISHED" => paid(),
        "WAIT_BUYER_PAY" => Ok(TradeState::WaitingPayment),
        "TRADE_CLOSED" if paid_at.is_some() => paid(),
        "TRADE_CLOSED" => Ok(TradeState::Closed),
        other => Err(MappingError::Status(other.to_owned())),
    }
}

/// What a business failure (`code` 40004) of `alipay.trade.pay` means: a decline (nothing was
/// charged), a refusal of the request (nothing was sent on), or, for anything else, an unknown
/// outcome (the payer may have been charged: a query tells).
pub(crate) enum PayFailure {
    Declined(DeclineReason),
    Refused,
    Unknown,
}

pub(crate) fn pay_failure(sub_code: &str) -> PayFailure {
    match sub_code {
        "ACQ.PAYMENT_AUTH_CODE_INVALID" | "ACQ.AUTH_CODE_INVALID" => {
            PayFailure::Declined(DeclineReason::PayCodeInvalid)
        }
        "ACQ.BUYER_BALANCE_NOT_ENOUGH" | "ACQ.BUYER_BANKCARD_BALANCE_NOT_ENOUGH" => {
            PayFailure::Declined(DeclineReason::InsufficientBalance)
        }
        "ACQ.TRADE_HAS_CLOSE"
        | "ACQ.BUYER_ENABLE_STATUS_FORBID"
        | "ACQ.BUYER_PAYMENT_AMOUNT_DAY_LIMIT_ERROR"
        | "ACQ.BUYER_PAYMENT_AMOUNT_MONTH_LIMIT_ERROR"
        | "ACQ.PAYMENT_FAIL"
        | "ACQ.ERROR_BUYER_CERTIFY_LEVEL_LIMIT" => {
            PayFailure::Declined(DeclineReason::Other(sub_code.to_owned()))
        }
        "ACQ.INVALID_PARAMETER"
        | "ACQ.ACCESS_FORBIDDEN"
        | "ACQ.EXIST_FORBIDDEN_WORD"
        | "ACQ.PARTNER_ERROR"
        | "ACQ.TOTAL_FEE_EXCEED"
        | "ACQ.CONTEXT_INCONSISTENT"
        | "ACQ.TRADE_BUYER_NOT_MATCH"
        | "ACQ.SELLER_BEEN_BLOCKED"
        | "ACQ.TRADE_STATUS_ERROR" => PayFailure::Refused,
        // ACQ.SYSTEM_ERROR, ACQ.TRADE_HAS_SUCCESS (paid before: a query tells when) and any
        // sub_code we do not know.
        _ => PayFailure::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cny(fen: i64) -> Money {
        Money::new(Amount::from_minor(fen).unwrap(), Currency::Cny)
    }

    #[test]
    fn yuan_strings_have_exactly_two_decimals_within_alipays_range() {
        assert_eq!(to_yuan(cny(1)).unwrap(), "0.01");
        assert_eq!(to_yuan(cny(10)).unwrap(), "0.10");
        assert_eq!(to_yuan(cny(8_888)).unwrap(), "88.88");
        assert_eq!(to_yuan(cny(10_000_000_000)).unwrap(), "100000000.00");
        assert_eq!(to_yuan(cny(0)), Err(MappingError::OutOfRange(0)));
        assert_eq!(
            to_yuan(cny(10_000_000_001)),
            Err(MappingError::OutOfRange(10_000_000_001))
        );
        let usd = Money::new(Amount::from_minor(100).unwrap(), Currency::Usd);
        assert_eq!(to_yuan(usd), Err(MappingError::Currency(Currency::Usd)));
    }

    #[test]
    fn yuan_text_reads_back_exactly() {
        assert_eq!(signed_fen("88.88"), Ok(8_888));
        assert_eq!(signed_fen("0.1"), Ok(10));
        assert_eq!(signed_fen("3"), Ok(300));
        assert_eq!(signed_fen("-30.00"), Ok(-3_000));
        assert_eq!(signed_fen("0.00"), Ok(0));
        for bad in ["", "1.234", "1e2", "+1.00", "1,00", ".5", "--1", "1.-1"] {
            assert!(signed_fen(bad).is_err(), "{bad:?}");
        }
        assert_eq!(from_yuan("100000000.00"), Ok(cny(10_000_000_000)));
        assert!(from_yuan("-0.01").is_err());
    }

    #[test]
    fn times_are_china_standard_time() {
        // 2026-11-29T12:00:00.999Z
        assert_eq!(cst_time(1_795_953_600_999).unwrap(), "2026-11-29 20:00:00");
        assert_eq!(parse_cst_ms("2026-11-29 20:00:00"), Ok(1_795_953_600_000));
        assert!(parse_cst_ms("2026-11-29T20:00:00+08:00").is_err());
    }

    #[test]
    fn timeout_express_is_whole_minutes_left_at_least_one() {
        let now = 1_795_953_600_000;
        assert_eq!(
            timeout_express(now, now + 90 * 60_000 + 59_999).unwrap(),
            "90m"
        );
        assert_eq!(timeout_express(now, now + 1).unwrap(), "1m");
        assert_eq!(
            timeout_express(now, now + 30 * 24 * 3_600_000).unwrap(),
            "21600m"
        );
        assert_eq!(timeout_express(now, now), Err(MappingError::Expired));
    }

    #[test]
    fn a_fully_refunded_trade_is_still_paid() {
        let paid = TradeState::Paid {
            channel_trade_no: "2026112922001412345678901234".into(),
            paid_at_ms: 1_795_953_600_000,
        };
        let no = Some("2026112922001412345678901234");
        let at = Some("2026-11-29 20:00:00");
        assert_eq!(trade_state("TRADE_SUCCESS", no, at), Ok(paid.clone()));
        assert_eq!(trade_state("TRADE_FINISHED", no, at), Ok(paid.clone()));
        assert_eq!(trade_state("TRADE_CLOSED", no, at), Ok(paid));
        assert_eq!(
            trade_state("TRADE_CLOSED", no, None),
            Ok(TradeState::Closed)
        );
        assert_eq!(
            trade_state("WAIT_BUYER_PAY", None, None),
            Ok(TradeState::WaitingPayment)
        );
        assert_eq!(
            trade_state("TRADE_SUCCESS", no, None),
            Err(MappingError::Missing("paid time"))
        );
        assert!(trade_state("TRADE_PENDING", no, at).is_err());
    }
}
