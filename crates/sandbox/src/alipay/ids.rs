//! The identifiers Alipay mints, in the shapes its clients expect.

use chrono::{DateTime, FixedOffset};
use rand::RngCore;

use crate::ids::{alnum, digits};

/// 28 digits: the CST date, `2200`, 16 more (`2026112922001412345678901234`).
pub fn trade_no(now: DateTime<FixedOffset>) -> String {
    format!("{}2200{}", now.format("%Y%m%d"), digits(16))
}

/// A payer's Alipay user id: `2088` and 12 digits.
pub fn buyer_id() -> String {
    format!("2088{}", digits(12))
}

/// What a precreate answers as `qr_code`.
pub fn qr_code() -> String {
    format!("https://qr.alipay.com/bax0{}", alnum(20).to_lowercase())
}

pub fn notify_id() -> String {
    format!("2026{}", alnum(30).to_lowercase())
}

pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; n];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn trade_numbers_have_alipays_shape() {
        let at = FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .with_ymd_and_hms(2026, 11, 29, 20, 1, 2)
            .unwrap();
        let no = trade_no(at);
        assert_eq!(no.len(), 28);
        assert!(no.starts_with("202611292200"));
        assert!(no.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(buyer_id().len(), 16);
    }
}
