//! UnionPay's wire formats and vocabulary: requests go as `application/x-www-form-urlencoded`;
//! answers come back as raw `k=v&k=v` whose values are not percent-encoded and may hold `&` and
//! `=` inside `{...}` (UnionPay's SDKs split them brace-aware, and so does `parse_answer`);
//! times are Beijing time `yyyyMMddHHmmss`; amounts are integer fen. The only place in Paygate
//! that converts an amount to or from UnionPay's unit.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone};
use paygate_domain::{Amount, Currency, Money};

pub const PATH_FRONT: &str = "/gateway/api/frontTransReq.do";
pub const PATH_BACK: &str = "/gateway/api/backTransReq.do";
pub const PATH_APP: &str = "/gateway/api/appTransReq.do";
pub const PATH_QUERY: &str = "/gateway/api/queryTrans.do";
pub const PATH_FILE: &str = "/gateway/api/fileTransfer.do";

pub const VERSION: &str = "5.1.0";
pub const ENCODING: &str = "UTF-8";
pub const SIGN_METHOD_CERT: &str = "01";
pub const CURRENCY_CNY: &str = "156";
/// `accessType=0`: a merchant connecting directly.
pub const ACCESS_MERCHANT: &str = "0";
pub const CHANNEL_PC: &str = "07";
pub const CHANNEL_MOBILE: &str = "08";

pub const TXN_QUERY: &str = "00";
pub const TXN_CONSUME: &str = "01";
pub const TXN_REFUND: &str = "04";
pub const TXN_VOID: &str = "31";
pub const TXN_FILE: &str = "76";

/// Consume through the gateway (front form, app `tn`).
pub const SUB_CONSUME: &str = "01";
/// QR consume with the payer's pay code (B scans C).
pub const SUB_QR_PAY_CODE: &str = "06";
/// QR apply: UnionPay answers a code the payer scans (C scans B).
pub const SUB_QR_APPLY: &str = "07";
pub const SUB_NONE: &str = "00";

pub const BIZ_GATEWAY: &str = "000201";
pub const BIZ_GENERIC: &str = "000000";

/// `respCode` / `origRespCode` values with a meaning of their own.
pub const RESP_OK: &str = "00";
/// 查无此交易: the trade (or refund) does not exist.
pub const RESP_NO_SUCH_TRADE: &str = "34";
/// The outcome is not known yet: ask again later.
pub const RESP_PENDING: [&str; 3] = ["03", "04", "05"];

const BEIJING_OFFSET_SECS: i32 = 8 * 3600;
const TIME_FORMAT: &str = "%Y%m%d%H%M%S";

/// How UnionPay answered, in the three ways its codes fall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resp {
    Succeeded,
    Pending,
    Failed,
}

impl Resp {
    pub fn of(code: &str) -> Resp {
        if code == RESP_OK {
            Resp::Succeeded
        } else if RESP_PENDING.contains(&code) {
            Resp::Pending
        } else {
            Resp::Failed
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("UnionPay takes CNY only, not {}", .0.as_str())]
    Currency(Currency),
    #[error("{0:?} is not an amount in fen")]
    Fen(String),
    #[error("{0:?} is not a yyyyMMddHHmmss time")]
    Time(String),
    #[error("{0} carries no creation time")]
    Number(String),
    #[error("{0} is missing")]
    Missing(&'static str),
}

pub fn beijing() -> FixedOffset {
    FixedOffset::east_opt(BEIJING_OFFSET_SECS).expect("+08:00 is a valid offset")
}

/// Our money as `txnAmt`: integer fen.
pub fn to_fen(money: Money) -> Result<String, WireError> {
    match money.currency {
        Currency::Cny => Ok(money.amount.minor().to_string()),
        other => Err(WireError::Currency(other)),
    }
}

pub fn from_fen(text: &str) -> Result<Money, WireError> {
    let fen: i64 = text
        .trim()
        .parse()
        .map_err(|_| WireError::Fen(text.to_owned()))?;
    let amount = Amount::from_minor(fen).map_err(|_| WireError::Fen(text.to_owned()))?;
    Ok(Money::new(amount, Currency::Cny))
}

/// A Unix time in ms as UnionPay's Beijing `yyyyMMddHHmmss`.
pub fn beijing_time(at_ms: i64) -> Result<String, WireError> {
    DateTime::from_timestamp_millis(at_ms)
        .map(|at| at.with_timezone(&beijing()).format(TIME_FORMAT).to_string())
        .ok_or_else(|| WireError::Time(at_ms.to_string()))
}

/// UnionPay's Beijing `yyyyMMddHHmmss` as a Unix time in ms.
pub fn parse_beijing_time(text: &str) -> Result<i64, WireError> {
    let naive = NaiveDateTime::parse_from_str(text, TIME_FORMAT)
        .map_err(|_| WireError::Time(text.to_owned()))?;
    beijing()
        .from_local_datetime(&naive)
        .single()
        .map(|at| at.timestamp_millis())
        .ok_or_else(|| WireError::Time(text.to_owned()))
}

/// The Beijing `txnTime` a trade or refund was sent with, read back from its number: ours embed
/// their UTC creation time (`P`/`R` + `yyyyMMddHHmmssSSS` + random), and a query must name the
/// same `orderId` and `txnTime` the trade was opened with.
pub fn txn_time_of_number(number: &str) -> Result<String, WireError> {
    let stamp = number
        .get(1..18)
        .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| WireError::Number(number.to_owned()))?;
    let utc = NaiveDateTime::parse_from_str(stamp, "%Y%m%d%H%M%S%3f")
        .map_err(|_| WireError::Number(number.to_owned()))?;
    beijing_time(utc.and_utc().timestamp_millis())
}

/// The clearing day (`settleDate`'s day) of a moment: UnionPay's day runs from 23:00 Beijing
/// time the day before to 23:00 (seed 002), so 23:30 already belongs to the next day.
pub fn clearing_day(at_ms: i64) -> Option<chrono::NaiveDate> {
    let shifted = DateTime::from_timestamp_millis(at_ms + 3_600_000)?;
    Some(shifted.with_timezone(&beijing()).date_naive())
}

/// `settleDate` (`MMDD`) of a clearing day.
pub fn settle_date(day: chrono::NaiveDate) -> String {
    day.format("%m%d").to_string()
}

/// Form-encodes a request (UTF-8, as a browser posts a form).
pub fn encode_form(fields: &BTreeMap<String, String>) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields.iter())
        .finish()
}

/// Reads a form-encoded body (requests, back notifications).
pub fn parse_form(body: &[u8]) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

/// Writes an answer as UnionPay does: raw `k=v&k=v`, values as they are.
pub fn write_answer(fields: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.join("&")
}

/// Reads a raw answer. A `&` or `=` inside `{...}` belongs to the value.
pub fn parse_answer(text: &str) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    let mut depth = 0usize;
    let mut start = 0;
    let text = text.trim();
    for (at, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            '&' if depth == 0 => {
                insert_pair(&mut fields, &text[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    insert_pair(&mut fields, &text[start..]);
    fields
}

fn insert_pair(fields: &mut BTreeMap<String, String>, pair: &str) {
    if let Some((name, value)) = pair.split_once('=') {
        if !name.is_empty() {
            fields.insert(name.to_owned(), value.to_owned());
        }
    }
}

/// A field that must be there and not empty.
pub fn required<'a>(
    fields: &'a BTreeMap<String, String>,
    name: &'static str,
) -> Result<&'a str, WireError> {
    fields
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or(WireError::Missing(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trade_number_gives_back_its_beijing_send_time() {
        assert_eq!(
            txn_time_of_number("P20261129153000123abcdefghij").unwrap(),
            "20261129233000"
        );
        assert!(txn_time_of_number("Pabc").is_err());
    }

    #[test]
    fn the_clearing_day_turns_at_23_beijing_time() {
        let at = |text: &str| parse_beijing_time(text).unwrap();
        let day = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(clearing_day(at("20261129225959")), Some(day(2026, 11, 29)));
        assert_eq!(clearing_day(at("20261129230000")), Some(day(2026, 11, 30)));
        assert_eq!(clearing_day(at("20261231233000")), Some(day(2027, 1, 1)));
    }

    #[test]
    fn answers_keep_braced_values_and_raw_characters_whole() {
        let fields = parse_answer("a=1&reserved={x=1&y=2}&cert=AB+/==\n&b=");
        assert_eq!(fields["a"], "1");
        assert_eq!(fields["reserved"], "{x=1&y=2}");
        assert_eq!(fields["cert"], "AB+/==\n");
        assert_eq!(fields["b"], "");
    }
}
