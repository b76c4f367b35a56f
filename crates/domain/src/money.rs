//! Money as integer minor units. The API's decimal strings in the major unit are parsed exactly
//! (DESIGN §12); nothing here ever touches a float.

use serde::{Deserialize, Serialize};

crate::text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    pub enum Currency, unknown(_text) => AmountError::UnknownCurrency, AmountError {
        #[serde(rename = "CNY")]
        Cny = "CNY",
        #[serde(rename = "HKD")]
        Hkd = "HKD",
        #[serde(rename = "USD")]
        Usd = "USD",
        #[serde(rename = "JPY")]
        Jpy = "JPY",
    }
}

impl Currency {
    /// Digits after the decimal point of the major unit (ISO 4217 exponent).
    pub fn minor_digits(self) -> u32 {
        match self {
            Currency::Jpy => 0,
            Currency::Cny | Currency::Hkd | Currency::Usd => 2,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error(
        "amount must be a decimal number like \"12.34\" with at most the currency's minor digits"
    )]
    Malformed,
    #[error("amount must be greater than zero")]
    NotPositive,
    #[error("amount is larger than the maximum allowed")]
    TooLarge,
    #[error("unknown currency")]
    UnknownCurrency,
    #[error("arithmetic on amounts overflowed or went negative")]
    Overflow,
}

/// A non-negative count of a currency's minor units (fen for CNY).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Amount(i64);

impl Amount {
    pub const ZERO: Amount = Amount(0);
    /// One trillion minor units: far above any single payment, and far enough below `i64::MAX`
    /// that sums over many orders cannot overflow.
    pub const MAX_MINOR: i64 = 1_000_000_000_000_000;

    pub fn from_minor(minor: i64) -> Result<Amount, AmountError> {
        if minor < 0 {
            return Err(AmountError::Overflow);
        }
        if minor > Self::MAX_MINOR {
            return Err(AmountError::TooLarge);
        }
        Ok(Amount(minor))
    }

    pub fn minor(self) -> i64 {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub fn checked_add(self, other: Amount) -> Result<Amount, AmountError> {
        let sum = self.0.checked_add(other.0).ok_or(AmountError::Overflow)?;
        Amount::from_minor(sum)
    }

    pub fn checked_sub(self, other: Amount) -> Result<Amount, AmountError> {
        let diff = self.0.checked_sub(other.0).ok_or(AmountError::Overflow)?;
        Amount::from_minor(diff)
    }

    /// Parses the API's decimal string in the major unit: digits, optionally a point and at most
    /// `minor_digits` digits; no sign, exponent, spaces or leading zeros; strictly positive.
    pub fn parse_major(text: &str, currency: Currency) -> Result<Amount, AmountError> {
        let digits_max = currency.minor_digits() as usize;
        let (int_part, frac_part) = match text.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (text, None),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(int_part) || (int_part.len() > 1 && int_part.starts_with('0')) {
            return Err(AmountError::Malformed);
        }
        let frac = match frac_part {
            None => "",
            Some(f) if all_digits(f) && f.len() <= digits_max => f,
            Some(_) => return Err(AmountError::Malformed),
        };
        if int_part.len() > 18 {
            return Err(AmountError::TooLarge);
        }
        let int_value: i64 = int_part.parse().map_err(|_| AmountError::Malformed)?;
        let scale = 10i64.pow(digits_max as u32);
        let frac_value: i64 = if frac.is_empty() {
            0
        } else {
            let padded = format!("{frac:0<digits_max$}");
            padded.parse().map_err(|_| AmountError::Malformed)?
        };
        let minor = int_value
            .checked_mul(scale)
            .and_then(|v| v.checked_add(frac_value))
            .ok_or(AmountError::TooLarge)?;
        if minor == 0 {
            return Err(AmountError::NotPositive);
        }
        Amount::from_minor(minor)
    }

    /// The major-unit text with exactly the currency's minor digits, e.g. `"100.50"`.
    pub fn to_major_string(self, currency: Currency) -> String {
        let digits = currency.minor_digits();
        if digits == 0 {
            return self.0.to_string();
        }
        let scale = 10i64.pow(digits);
        format!(
            "{}.{:0width$}",
            self.0 / scale,
            self.0 % scale,
            width = digits as usize
        )
    }
}

/// An amount together with its currency; arithmetic across currencies is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub amount: Amount,
    pub currency: Currency,
}

impl Money {
    pub fn new(amount: Amount, currency: Currency) -> Money {
        Money { amount, currency }
    }

    pub fn parse(text: &str, currency: Currency) -> Result<Money, AmountError> {
        Ok(Money::new(Amount::parse_major(text, currency)?, currency))
    }

    pub fn to_major_string(self) -> String {
        self.amount.to_major_string(self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cny(text: &str) -> Result<i64, AmountError> {
        Amount::parse_major(text, Currency::Cny).map(Amount::minor)
    }

    #[test]
    fn well_formed_yuan_strings_parse_to_exact_fen() {
        assert_eq!(cny("0.01"), Ok(1));
        assert_eq!(cny("100"), Ok(10_000));
        assert_eq!(cny("100.5"), Ok(10_050));
        assert_eq!(cny("100.50"), Ok(10_050));
        assert_eq!(cny("0.1"), Ok(10));
        assert_eq!(cny("19.99"), Ok(1_999));
    }

    #[test]
    fn malformed_amounts_are_refused() {
        for bad in [
            "1.001", "-1", "1e2", " 1", "1 ", "+1", "", ".", "1.", ".5", "01", "1,00", "abc", "١",
            "0x10", "NaN",
        ] {
            assert_eq!(cny(bad), Err(AmountError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn zero_is_not_a_payable_amount() {
        assert_eq!(cny("0"), Err(AmountError::NotPositive));
        assert_eq!(cny("0.00"), Err(AmountError::NotPositive));
    }

    #[test]
    fn amounts_beyond_the_limit_are_refused_not_wrapped() {
        assert_eq!(cny("99999999999999999999"), Err(AmountError::TooLarge));
        assert_eq!(cny("92233720368547758.07"), Err(AmountError::TooLarge));
        assert_eq!(cny("10000000000000.01"), Err(AmountError::TooLarge));
        assert_eq!(cny("10000000000000"), Ok(Amount::MAX_MINOR));
    }

    #[test]
    fn yen_has_no_minor_digits() {
        assert_eq!(
            Amount::parse_major("100", Currency::Jpy).map(Amount::minor),
            Ok(100)
        );
        assert_eq!(
            Amount::parse_major("100.5", Currency::Jpy),
            Err(AmountError::Malformed)
        );
        assert_eq!(
            Amount::from_minor(100)
                .unwrap()
                .to_major_string(Currency::Jpy),
            "100"
        );
    }

    #[test]
    fn arithmetic_never_goes_negative() {
        let one = Amount::from_minor(1).unwrap();
        assert_eq!(Amount::ZERO.checked_sub(one), Err(AmountError::Overflow));
        assert_eq!(one.checked_add(one), Amount::from_minor(2));
    }

    proptest! {
        #[test]
        fn formatting_then_parsing_returns_the_same_amount(minor in 1i64..=Amount::MAX_MINOR) {
            let amount = Amount::from_minor(minor).unwrap();
            let text = amount.to_major_string(Currency::Cny);
            prop_assert_eq!(Amount::parse_major(&text, Currency::Cny), Ok(amount));
        }

        #[test]
        fn parsing_arbitrary_text_never_panics(text in ".{0,24}") {
            let _ = Amount::parse_major(&text, Currency::Cny);
        }
    }
}
