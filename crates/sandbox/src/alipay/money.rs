//! Alipay writes amounts in yuan with two decimals (`"100.00"`); the book keeps cents.

/// Alipay's bounds on one trade: 0.01 to 100000000.00 yuan.
pub const TOTAL_CENTS_MIN: i64 = 1;
pub const TOTAL_CENTS_MAX: i64 = 10_000_000_000;

/// Parses `"12"`, `"12.3"` or `"12.30"` (as Alipay accepts them) into cents; `None` for anything
/// else, including a third decimal.
pub fn parse_yuan(text: &str) -> Option<i64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || whole.len() > 12
        || !digits(whole)
        || fraction.len() > 2
        || !digits(fraction)
    {
        return None;
    }
    if text.contains('.') && fraction.is_empty() {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let cents: i64 = format!("{fraction:0<2}").parse().ok()?;
    Some(whole * 100 + cents)
}

/// `1234` → `"12.34"`, `-3000` → `"-30.00"`.
pub fn yuan(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{sign}{}.{:02}", cents / 100, cents % 100)
}

/// Alipay's fee on an amount: round half up of amount × rate.
pub fn fee_of(cents: i64, fee_rate_ppm: u32) -> i64 {
    (cents * i64::from(fee_rate_ppm) + 500_000) / 1_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_text_round_trips_through_cents() {
        assert_eq!(parse_yuan("100.00"), Some(10_000));
        assert_eq!(parse_yuan("0.1"), Some(10));
        assert_eq!(parse_yuan("7"), Some(700));
        assert_eq!(parse_yuan("1.005"), None);
        assert_eq!(parse_yuan("1."), None);
        assert_eq!(parse_yuan("-1.00"), None);
        assert_eq!(parse_yuan(".5"), None);
        assert_eq!(yuan(10_000), "100.00");
        assert_eq!(yuan(-3_005), "-30.05");
        assert_eq!(fee_of(10_000, 6_000), 60);
        assert_eq!(fee_of(1_250, 6_000), 8);
    }
}
