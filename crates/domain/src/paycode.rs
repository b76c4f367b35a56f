//! The payer's consent to a wallet charge (DESIGN §3): a one-time pay code the payer's wallet
//! issues and the payer shows the merchant (micropay, B scans C), and the bearer token with which
//! a payer's own app asks for such a code.
//!
//! Neither is ever stored as issued: the store keeps their SHA-256 digests, so a read of the
//! database alone cannot charge anyone. (A pay code lives 60 s, far shorter than the time to
//! search its 10^16 values from a leaked digest.)

use rand::distributions::{Alphanumeric, DistString};
use rand::rngs::OsRng;
use rand::Rng;
use sha2::{Digest, Sha256};
use std::fmt;

use crate::channel_code::{AlipayPayCode, CodeIssuer, FaceCode, UnionpayPayCode, WechatPayCode};

/// WeChat uses 10-15, Alipay 25-30 and UnionPay 62: ours never collide with theirs.
pub const PAY_CODE_PREFIX: &str = "88";
pub const PAY_CODE_LEN: usize = 18;
/// How long a pay code may be bound to a trade after it is issued.
pub const PAY_CODE_TTL_SECS: i64 = 60;

const PAY_CODE_RANDOM_SPACE: u64 = 10_000_000_000_000_000; // 16 digits
const PAYER_TOKEN_PREFIX: &str = "pt_";
const PAYER_TOKEN_RANDOM_LEN: usize = 40;
const PAYER_TOKEN_CHARS_MAX: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("auth_code must be 18 digits starting with 88")]
pub struct PayCodeError;

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// A one-time pay code: exactly 18 ASCII digits starting `88`.
#[derive(Clone, PartialEq, Eq)]
pub struct PayCode(String);

impl PayCode {
    pub fn parse(text: &str) -> Result<PayCode, PayCodeError> {
        let shaped = text.len() == PAY_CODE_LEN
            && text.starts_with(PAY_CODE_PREFIX)
            && text.bytes().all(|b| b.is_ascii_digit());
        if shaped {
            Ok(PayCode(text.to_owned()))
        } else {
            Err(PayCodeError)
        }
    }

    /// A fresh code from the operating system's CSPRNG: `88` and 16 uniform digits.
    pub fn mint() -> PayCode {
        let random = OsRng.gen_range(0..PAY_CODE_RANDOM_SPACE);
        PayCode(format!("{PAY_CODE_PREFIX}{random:016}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the store keeps and looks the code up by.
    pub fn digest(&self) -> String {
        sha256_hex(&self.0)
    }
}

/// A pay code is a credential for up to a minute: logs show only its last four digits.
impl fmt::Debug for PayCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PayCode(****{})", &self.0[PAY_CODE_LEN - 4..])
    }
}

/// A pay code as the merchant scanned it, told apart by its issuer's shape: `88` ours, `10`-`15`
/// WeChat Pay's, `25`-`30` Alipay's, `62` UnionPay's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthCode {
    Wallet(PayCode),
    Wechat(WechatPayCode),
    Alipay(AlipayPayCode),
    Unionpay(UnionpayPayCode),
    /// A face-pay SDK's one-time code (scene `face`): opaque, so never told apart by shape but
    /// named by the merchant's `scene`.
    Face(FaceCode),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "auth_code must be a pay code: 18 digits starting with 88 (wallet) or 10 to 15 (WeChat Pay), \
     16 to 24 digits starting with 25 to 30 (Alipay), or 19 digits starting with 62 (UnionPay)"
)]
pub struct AuthCodeError;

impl From<PayCode> for AuthCode {
    fn from(code: PayCode) -> AuthCode {
        AuthCode::Wallet(code)
    }
}

impl AuthCode {
    pub fn parse(text: &str) -> Result<AuthCode, AuthCodeError> {
        PayCode::parse(text)
            .map(AuthCode::Wallet)
            .or_else(|_| WechatPayCode::parse(text).map(AuthCode::Wechat))
            .or_else(|_| AlipayPayCode::parse(text).map(AuthCode::Alipay))
            .or_else(|_| UnionpayPayCode::parse(text).map(AuthCode::Unionpay))
            .map_err(|_| AuthCodeError)
    }

    pub fn as_str(&self) -> &str {
        match self {
            AuthCode::Wallet(code) => code.as_str(),
            AuthCode::Wechat(code) => code.as_str(),
            AuthCode::Alipay(code) => code.as_str(),
            AuthCode::Unionpay(code) => code.as_str(),
            AuthCode::Face(code) => code.as_str(),
        }
    }

    /// Who issued the code: `None` for the platform's own wallet.
    pub fn issuer(&self) -> Option<CodeIssuer> {
        match self {
            AuthCode::Wallet(_) => None,
            AuthCode::Wechat(_) => Some(CodeIssuer::Wechat),
            AuthCode::Alipay(_) => Some(CodeIssuer::Alipay),
            AuthCode::Unionpay(_) => Some(CodeIssuer::Unionpay),
            // Face pay is offered through Alipay's face SDK (刷脸付).
            AuthCode::Face(_) => Some(CodeIssuer::Alipay),
        }
    }

    /// What an order keeps of the code, to compare a retried create with.
    pub fn digest(&self) -> String {
        sha256_hex(self.as_str())
    }
}

/// The bearer token of a payer's app: proves "I am the holder of this wallet account".
#[derive(Clone, PartialEq, Eq)]
pub struct PayerToken(String);

impl PayerToken {
    pub fn mint() -> PayerToken {
        let random = Alphanumeric.sample_string(&mut OsRng, PAYER_TOKEN_RANDOM_LEN);
        PayerToken(format!("{PAYER_TOKEN_PREFIX}{random}"))
    }

    /// A token as presented in a header; `None` when it cannot be one of ours, so nothing
    /// unbounded reaches the hash or the database.
    pub fn presented(text: &str) -> Option<PayerToken> {
        let plausible = !text.is_empty()
            && text.len() <= PAYER_TOKEN_CHARS_MAX
            && text.bytes().all(|b| b.is_ascii_graphic());
        plausible.then(|| PayerToken(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn digest(&self) -> String {
        sha256_hex(&self.0)
    }
}

impl fmt::Debug for PayerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PayerToken(****)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_scanned_code_is_told_apart_by_its_prefix() {
        let ours = "881234567890123456";
        let wechat = "134567890123456789";
        assert!(matches!(AuthCode::parse(ours), Ok(AuthCode::Wallet(_))));
        assert!(matches!(AuthCode::parse(wechat), Ok(AuthCode::Wechat(_))));
        let alipay = AuthCode::parse("287654321098765432").unwrap();
        assert_eq!(alipay.issuer(), Some(CodeIssuer::Alipay));
        let unionpay = AuthCode::parse("6225000000000000001").unwrap();
        assert_eq!(unionpay.issuer(), Some(CodeIssuer::Unionpay));
        assert_eq!(AuthCode::parse(ours).unwrap().issuer(), None);
        for bad in [
            "161234567890123456",
            "6225000000000000001234",
            "3112345678901234",
            "8812345678901234567",
            "88123456789012345x",
            "",
        ] {
            assert_eq!(AuthCode::parse(bad), Err(AuthCodeError), "{bad}");
        }
        assert_eq!(
            AuthCode::parse(ours).unwrap().digest(),
            PayCode::parse(ours).unwrap().digest()
        );
    }

    #[test]
    fn a_pay_code_is_eighteen_digits_starting_88() {
        assert!(PayCode::parse("880000000000000001").is_ok());
        for bad in [
            "",
            "88",
            "8800000000000000011",  // 19 digits
            "88000000000000001",    // 17 digits
            "134567890123456789",   // a WeChat code
            "280000000000000001",   // an Alipay code
            "88000000000000000a",   // not a digit
            "８８0000000000000001", // full-width digits
            " 880000000000000001",
        ] {
            assert_eq!(PayCode::parse(bad), Err(PayCodeError), "{bad:?}");
        }
    }

    #[test]
    fn minted_codes_parse_and_differ() {
        let a = PayCode::mint();
        let b = PayCode::mint();
        assert_eq!(PayCode::parse(a.as_str()), Ok(a.clone()));
        assert_ne!(a, b);
    }

    #[test]
    fn debug_output_hides_the_code_and_the_token() {
        let code = PayCode::parse("880000000000001234").unwrap();
        assert_eq!(format!("{code:?}"), "PayCode(****1234)");
        let token = PayerToken::mint();
        assert!(!format!("{token:?}").contains(token.as_str()));
    }

    #[test]
    fn digests_are_sha256_hex() {
        let code = PayCode::parse("880000000000000001").unwrap();
        assert_eq!(code.digest().len(), 64);
        assert_ne!(code.digest(), code.as_str());
    }

    #[test]
    fn presented_tokens_are_bounded() {
        assert!(PayerToken::presented("").is_none());
        assert!(PayerToken::presented(&"a".repeat(129)).is_none());
        assert!(PayerToken::presented("has space").is_none());
        let minted = PayerToken::mint();
        assert_eq!(PayerToken::presented(minted.as_str()), Some(minted));
    }

    proptest! {
        #[test]
        fn parse_accepts_exactly_the_shape(text in "\\PC{0,24}") {
            let shaped = text.len() == 18
                && text.starts_with("88")
                && text.bytes().all(|b| b.is_ascii_digit());
            prop_assert_eq!(PayCode::parse(&text).is_ok(), shaped);
        }
    }
}
