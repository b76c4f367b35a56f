//! Typed identifiers. Ours are minted with a readable prefix; the merchant's are validated at the
//! edge so nothing inside handles a raw `String` id.

use rand::distributions::{Alphanumeric, DistString};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} must be {min}-{max} characters of {charset}")]
pub struct IdError {
    pub what: &'static str,
    pub min: usize,
    pub max: usize,
    pub charset: &'static str,
}

fn check(
    text: &str,
    what: &'static str,
    min: usize,
    max: usize,
    extra: &'static [u8],
    charset: &'static str,
) -> Result<(), IdError> {
    let ok_len = (min..=max).contains(&text.len());
    let ok_chars = text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b));
    if ok_len && ok_chars {
        Ok(())
    } else {
        Err(IdError {
            what,
            min,
            max,
            charset,
        })
    }
}

fn random_suffix(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), len)
}

/// Prefix + UTC time to the millisecond + random characters: unique without coordination between
/// processes and sortable by time (DESIGN §12).
fn mint_time_ordered(prefix: char, now_ms: i64, random_len: usize) -> String {
    let time = chrono::DateTime::from_timestamp_millis(now_ms)
        .unwrap_or_default()
        .format("%Y%m%d%H%M%S%3f");
    format!("{prefix}{time}{}", random_suffix(random_len))
}

/// One id type a row: its doc, name, field name in errors, length bounds, allowed punctuation
/// beyond ASCII letters and digits, and that charset as errors describe it.
macro_rules! id_types {
    ($($(#[$doc:meta])* $name:ident, $what:literal, $min:literal, $max:literal, $extra:expr, $charset:literal;)+) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(text: &str) -> Result<Self, IdError> {
                check(text, $what, $min, $max, $extra, $charset)?;
                Ok(Self(text.to_owned()))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, IdError> {
                check(&value, $what, $min, $max, $extra, $charset)?;
                Ok(Self(value))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    )+};
}

id_types! {
    /// A merchant's id, minted by us as `M` + 12 digits, or chosen by the operator.
    MerchantId, "merchant_id", 2, 32, b"_-", "[0-9A-Za-z_-]";
    /// Our trade number, `P` + yyyyMMddHHmmssSSS + 10 random characters (28 in all).
    TradeNo, "trade_no", 8, 32, b"", "[0-9A-Za-z]";
    /// The merchant's order number: its idempotency key (WeChat allows 32, Alipay 64).
    OutTradeNo, "out_trade_no", 1, 64, b"_-", "[0-9A-Za-z_-]";
    /// Our refund number, `R` + time + random.
    RefundNo, "refund_no", 8, 32, b"", "[0-9A-Za-z]";
    /// The merchant's refund number: the refund's idempotency key.
    OutRefundNo, "out_refund_no", 1, 64, b"_-", "[0-9A-Za-z_-]";
    /// Our withdrawal number, `W` + time + random.
    WithdrawNo, "withdraw_no", 8, 32, b"", "[0-9A-Za-z]";
    /// The merchant's withdrawal number: the withdrawal's idempotency key.
    OutWithdrawNo, "out_withdraw_no", 1, 64, b"_-", "[0-9A-Za-z_-]";
    /// A payer's stored-value wallet account.
    WalletAccountId, "buyer_id", 1, 64, b"_-", "[0-9A-Za-z_-]";
    /// Our payout number, `D` (代付) + time + random.
    PayoutNo, "payout_no", 8, 32, b"", "[0-9A-Za-z]";
    /// The merchant's payout number: the payout's idempotency key (WeChat's 商家转账 allows
    /// 6-32 letters, digits, `_` and `-`).
    OutPayoutNo, "out_payout_no", 6, 32, b"_-", "[0-9A-Za-z_-]";
    /// A replay-protection nonce (DESIGN §12).
    Nonce, "nonce", 8, 32, b"", "[0-9A-Za-z]";
    /// Our number of a profit-sharing request (分账单号).
    SplitNo, "split_no", 8, 32, b"", "[0-9A-Za-z]";
    /// The merchant's number of a profit-sharing request: its idempotency key.
    OutSplitNo, "out_split_no", 1, 64, b"_-", "[0-9A-Za-z_-]";
    /// Our number of a share return (分账回退单号).
    ReturnNo, "return_no", 8, 32, b"", "[0-9A-Za-z]";
    /// The merchant's number of a share return: its idempotency key.
    OutReturnNo, "out_return_no", 1, 64, b"_-", "[0-9A-Za-z_-]";
}

impl SplitNo {
    pub fn mint(now_ms: i64) -> SplitNo {
        SplitNo(mint_time_ordered('S', now_ms, 10))
    }
}

impl ReturnNo {
    pub fn mint(now_ms: i64) -> ReturnNo {
        ReturnNo(mint_time_ordered('B', now_ms, 10))
    }
}

impl MerchantId {
    pub fn mint() -> MerchantId {
        let digits: String = (0..12)
            .map(|_| char::from(b'0' + rand::random::<u8>() % 10))
            .collect();
        MerchantId(format!("M{digits}"))
    }
}

impl TradeNo {
    pub fn mint(now_ms: i64) -> TradeNo {
        TradeNo(mint_time_ordered('P', now_ms, 10))
    }
}

impl RefundNo {
    pub fn mint(now_ms: i64) -> RefundNo {
        RefundNo(mint_time_ordered('R', now_ms, 10))
    }
}

impl WithdrawNo {
    pub fn mint(now_ms: i64) -> WithdrawNo {
        WithdrawNo(mint_time_ordered('W', now_ms, 10))
    }
}

impl PayoutNo {
    pub fn mint(now_ms: i64) -> PayoutNo {
        PayoutNo(mint_time_ordered('D', now_ms, 10))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_trade_numbers_fit_every_channel_and_sort_by_time() {
        let earlier = TradeNo::mint(1_795_000_000_000);
        let later = TradeNo::mint(1_795_000_000_001);
        assert_eq!(earlier.as_str().len(), 28);
        assert!(TradeNo::parse(earlier.as_str()).is_ok());
        assert!(earlier.as_str().starts_with("P2026"));
        assert!(earlier < later);
    }

    #[test]
    fn merchant_order_numbers_are_bounded_and_plain() {
        assert!(OutTradeNo::parse("ORDER_2026-0001").is_ok());
        assert!(OutTradeNo::parse("").is_err());
        assert!(OutTradeNo::parse(&"a".repeat(65)).is_err());
        assert!(OutTradeNo::parse("with space").is_err());
        assert!(OutTradeNo::parse("订单").is_err());
    }

    #[test]
    fn nonces_are_eight_to_thirty_two_alphanumerics() {
        assert!(Nonce::parse("abcd1234").is_ok());
        assert!(Nonce::parse("abc").is_err());
        assert!(Nonce::parse("abcd-1234").is_err());
    }

    #[test]
    fn minted_merchant_ids_parse() {
        let id = MerchantId::mint();
        assert_eq!(MerchantId::parse(id.as_str()), Ok(id));
    }
}
