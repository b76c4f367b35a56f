//! The identifiers and random strings WeChat Pay mints, in the shapes its clients expect.

use chrono::{DateTime, FixedOffset};
use rand::distributions::{Alphanumeric, DistString};
use rand::Rng;

pub fn digits(n: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
        .collect()
}

pub fn alnum(n: usize) -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), n)
}

pub fn lower_hex(n: usize) -> String {
    upper_hex(n).to_lowercase()
}

pub fn upper_hex(n: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| char::from(b"0123456789ABCDEF"[rng.gen_range(0..16)]))
        .collect()
}

/// 28 digits: `4200`, the CST date, 16 more.
pub fn transaction_id(now: DateTime<FixedOffset>) -> String {
    format!("4200{}{}", now.format("%Y%m%d"), digits(16))
}

/// 29 digits, as WeChat Pay's refund ids are.
pub fn refund_id() -> String {
    format!("50{}", digits(27))
}

/// `wx`, the CST time to the second, 20 more characters.
pub fn prepay_id(now: DateTime<FixedOffset>) -> String {
    format!(
        "wx{}{}",
        now.format("%Y%m%d%H%M%S"),
        alnum(20).to_lowercase()
    )
}

pub fn code_url() -> String {
    format!("weixin://wxpay/bizpayurl?pr={}", alnum(7))
}

/// The payer WeChat Pay would name: an `o` followed by 27 characters.
pub fn openid() -> String {
    format!("o{}", alnum(27))
}

/// The nonce of a signature or of a callback's AES-GCM seal (12 characters, used as bytes).
pub fn nonce() -> String {
    alnum(32)
}

pub fn aead_nonce() -> String {
    alnum(12)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn ids_have_wechat_shapes() {
        let at = FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .with_ymd_and_hms(2026, 11, 29, 20, 1, 2)
            .unwrap();
        let transaction = transaction_id(at);
        assert_eq!(transaction.len(), 28);
        assert!(transaction.starts_with("420020261129"));
        assert!(transaction.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(refund_id().len(), 29);
        assert!(prepay_id(at).starts_with("wx20261129200102"));
        assert_eq!(prepay_id(at).len(), 36);
        assert_eq!(openid().len(), 28);
        assert_eq!(aead_nonce().len(), 12);
    }
}
