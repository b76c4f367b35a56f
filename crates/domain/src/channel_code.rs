//! Pay codes other wallets issue (付款码), which a merchant scans and we only pass on to the
//! wallet that issued it: it checks and uses them up. Each wallet's codes have their own shape,
//! by which an aggregated micropay tells them apart (seed 004, DESIGN §6); ours are in `paycode`.

use std::fmt;

/// Whose wallet issued a scanned code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeIssuer {
    Wechat,
    Alipay,
    Unionpay,
}

macro_rules! channel_pay_code {
    ($(#[$doc:meta])* $name:ident, $error:ident, $message:literal, $issuer:expr, |$t:ident| $shape:expr) => {
        #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
        #[error($message)]
        pub struct $error;

        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub const ISSUER: CodeIssuer = $issuer;

            pub fn parse(text: &str) -> Result<$name, $error> {
                let $t = text;
                let digits = !$t.is_empty() && $t.bytes().all(|b| b.is_ascii_digit());
                if digits && $shape {
                    Ok($name(text.to_owned()))
                } else {
                    Err($error)
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        /// A credential for a minute: logs show only its last four digits.
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}(****{})", stringify!($name), &self.0[self.0.len() - 4..])
            }
        }
    };
}

fn prefix_in(text: &str, low: &str, high: &str) -> bool {
    (low..=high).contains(&&text[..2])
}

channel_pay_code!(
    /// WeChat Pay's code: 18 digits whose first two are 10 to 15 (micropay `auth_code`).
    WechatPayCode, WechatPayCodeError,
    "a WeChat Pay auth_code is 18 digits starting with 10 to 15",
    CodeIssuer::Wechat,
    |t| t.len() == 18 && prefix_in(t, "10", "15")
);

channel_pay_code!(
    /// Alipay's code: 16 to 24 digits whose first two are 25 to 30 (`alipay.trade.pay`
    /// `auth_code`, scene `bar_code`).
    AlipayPayCode, AlipayPayCodeError,
    "an Alipay auth_code is 16 to 24 digits starting with 25 to 30",
    CodeIssuer::Alipay,
    |t| (16..=24).contains(&t.len()) && prefix_in(t, "25", "30")
);

channel_pay_code!(
    /// UnionPay's (云闪付) code: 19 digits starting 62 (QR consume `qrNo`).
    UnionpayPayCode, UnionpayPayCodeError,
    "a UnionPay auth_code is 19 digits starting with 62",
    CodeIssuer::Unionpay,
    |t| t.len() == 19 && t.starts_with("62")
);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a face pay code is 1 to 128 characters of letters, digits, '_' and '-'")]
pub struct FaceCodeError;

const FACE_CODE_CHARS_MAX: usize = 128;

/// What a face-recognition SDK hands the merchant's terminal after the payer confirmed by face
/// (刷脸付, seed 004; Alipay's `ftoken`): a one-time code used like a pay code.
#[derive(Clone, PartialEq, Eq)]
pub struct FaceCode(String);

impl FaceCode {
    pub fn parse(text: &str) -> Result<FaceCode, FaceCodeError> {
        let shaped = (1..=FACE_CODE_CHARS_MAX).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if shaped {
            Ok(FaceCode(text.to_owned()))
        } else {
            Err(FaceCodeError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for FaceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FaceCode(****)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wechat_pay_code_is_eighteen_digits_starting_10_to_15() {
        for good in [
            "100000000000000001",
            "134567890123456789",
            "159999999999999999",
        ] {
            assert_eq!(WechatPayCode::parse(good).unwrap().as_str(), good);
        }
        for bad in [
            "880000000000000001",  // ours
            "160000000000000001",  // past 15
            "090000000000000001",  // before 10
            "13456789012345678",   // 17 digits
            "1345678901234567890", // 19 digits
            "13456789012345678a",
            "",
        ] {
            assert_eq!(
                WechatPayCode::parse(bad),
                Err(WechatPayCodeError),
                "{bad:?}"
            );
        }
        let code = WechatPayCode::parse("134567890123456789").unwrap();
        assert_eq!(format!("{code:?}"), "WechatPayCode(****6789)");
    }

    #[test]
    fn an_alipay_pay_code_is_16_to_24_digits_starting_25_to_30() {
        for good in [
            "2512345678901234",
            "287654321098765432",
            "301234567890123456789012",
        ] {
            assert_eq!(AlipayPayCode::parse(good).unwrap().as_str(), good);
        }
        for bad in [
            "251234567890123",           // 15 digits
            "3012345678901234567890123", // 25 digits
            "241234567890123456",        // before 25
            "311234567890123456",        // past 30
            "28123456789012345x",
        ] {
            assert_eq!(
                AlipayPayCode::parse(bad),
                Err(AlipayPayCodeError),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_unionpay_pay_code_is_nineteen_digits_starting_62() {
        assert!(UnionpayPayCode::parse("6225000000000000001").is_ok());
        for bad in [
            "622500000000000001",
            "62250000000000000012",
            "6325000000000000001",
        ] {
            assert_eq!(
                UnionpayPayCode::parse(bad),
                Err(UnionpayPayCodeError),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_face_code_is_an_opaque_token_never_logged() {
        let code = FaceCode::parse("fp_0a1B-2c3D").unwrap();
        assert_eq!(format!("{code:?}"), "FaceCode(****)");
        for bad in ["", "has space", "semi;colon", &"a".repeat(129)] {
            assert_eq!(FaceCode::parse(bad), Err(FaceCodeError), "{bad:?}");
        }
    }
}
