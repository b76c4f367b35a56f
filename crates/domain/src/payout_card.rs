//! A payout's bank card number, in the two forms it takes (issue #11, PCI DSS 3.4): `CardNo`,
//! whole, as the merchant sends it and the bank rail needs it; `SealedCardNo`, as it is kept at
//! rest: sealed under the master key for its payout (the payout number is the associated data),
//! beside a keyed digest that recognises the same number on a replayed request and the masked
//! form views show. Only the app, which holds the master key, turns one into the other.

use crate::secret::{MasterKey, SealFormat, SecretError};
use crate::PayoutNo;
use std::fmt;

/// The digits kept in the clear, at the end of the number.
const SHOWN_DIGITS: usize = 4;
const DIGITS_MIN: usize = 12;
const DIGITS_MAX: usize = 19;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be 12-19 digits")]
pub struct CardNoError;

/// A bank card number: 12–19 digits (no Luhn check: some corporate accounts fail it). Its
/// `Debug` and `Display` show only the last four digits, so it cannot reach a log whole.
#[derive(Clone, PartialEq, Eq)]
pub struct CardNo(String);

impl CardNo {
    pub fn parse(text: &str) -> Result<CardNo, CardNoError> {
        if (DIGITS_MIN..=DIGITS_MAX).contains(&text.len())
            && text.bytes().all(|b| b.is_ascii_digit())
        {
            Ok(CardNo(text.to_owned()))
        } else {
            Err(CardNoError)
        }
    }

    /// The whole number, for the bank and the merchant's own request only.
    pub fn digits(&self) -> &str {
        &self.0
    }

    pub fn ends_with(&self, suffix: &str) -> bool {
        self.0.ends_with(suffix)
    }

    /// Seals the number for payout `owner`: a fresh nonce each time, the same digest each time.
    pub fn seal(&self, key: &MasterKey, owner: &PayoutNo) -> SealedCardNo {
        SealedCardNo {
            sealed: key.seal(&self.0, owner.as_str()),
            digest: key.digest(&self.0, owner.as_str()),
            masked: self.masked(),
        }
    }
}

/// What views, logs and notifications show of a card number: every digit but the last four as
/// `*`.
pub trait MaskedCard {
    fn masked(&self) -> String;
}

impl MaskedCard for CardNo {
    fn masked(&self) -> String {
        let keep = self.0.len() - SHOWN_DIGITS;
        format!("{}{}", "*".repeat(keep), &self.0[keep..])
    }
}

impl fmt::Debug for CardNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardNo({})", self.masked())
    }
}

impl fmt::Display for CardNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stored card number is malformed: {0}")]
pub struct StoredCardError(&'static str);

/// A card number as the store keeps it. It never holds the number in the clear, and only the
/// master key opens it, for the payout it was sealed for.
#[derive(Clone)]
pub struct SealedCardNo {
    /// `v2:` sealed, with the payout number as associated data.
    sealed: String,
    /// The master key's keyed digest of the number for the payout.
    digest: String,
    /// As `MaskedCard::masked` writes it.
    masked: String,
}

impl SealedCardNo {
    /// Reads the three stored columns back, checking their shape (not their content, which only
    /// the master key can).
    pub fn from_stored(
        sealed: String,
        digest: String,
        masked: String,
    ) -> Result<SealedCardNo, StoredCardError> {
        if SealFormat::of(&sealed) != SealFormat::Bound {
            return Err(StoredCardError("not sealed for its payout"));
        }
        if digest.is_empty() {
            return Err(StoredCardError("no digest"));
        }
        let stars = masked.len().saturating_sub(SHOWN_DIGITS);
        let (hidden, shown) = masked.as_bytes().split_at(stars);
        let masked_ok = (DIGITS_MIN..=DIGITS_MAX).contains(&masked.len())
            && hidden.iter().all(|b| *b == b'*')
            && shown.iter().all(u8::is_ascii_digit);
        if !masked_ok {
            return Err(StoredCardError(
                "masked form must be stars and the last four digits",
            ));
        }
        Ok(SealedCardNo {
            sealed,
            digest,
            masked,
        })
    }

    pub fn sealed(&self) -> &str {
        &self.sealed
    }

    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Opens the number sealed for payout `owner`; a value copied from another payout's row, or
    /// sealed under another master key, does not open.
    pub fn open(&self, key: &MasterKey, owner: &PayoutNo) -> Result<CardNo, SecretError> {
        let digits = key.unseal(&self.sealed, owner.as_str())?;
        let card = CardNo::parse(&digits).map_err(|_| SecretError::Unseal)?;
        debug_assert_eq!(card.masked(), self.masked, "masked form of payout {owner}");
        Ok(card)
    }

    /// Whether this is `card`, sealed for payout `owner`, without opening it.
    pub fn is(&self, card: &CardNo, key: &MasterKey, owner: &PayoutNo) -> bool {
        key.digest_matches(&self.digest, card.digits(), owner.as_str())
    }
}

impl MaskedCard for SealedCardNo {
    fn masked(&self) -> String {
        self.masked.clone()
    }
}

/// Two sealed numbers are the same number for the same payout when their digests are equal;
/// the sealed text differs every time by its nonce.
impl PartialEq for SealedCardNo {
    fn eq(&self, other: &Self) -> bool {
        self.digest == other.digest && self.masked == other.masked
    }
}

impl Eq for SealedCardNo {}

impl fmt::Debug for SealedCardNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealedCardNo({})", self.masked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CARD: &str = "6222020200112233";

    fn key() -> MasterKey {
        MasterKey::from_hex(&MasterKey::generate_hex()).unwrap()
    }

    #[test]
    fn a_card_number_never_shows_more_than_its_last_four_digits() {
        let card = CardNo::parse(CARD).unwrap();
        assert_eq!(card.masked(), "************2233");
        assert_eq!(format!("{card:?}"), "CardNo(************2233)");
        assert_eq!(card.to_string(), "************2233");
        for bad in [
            "12345678901",
            "12345678901234567890",
            "6222 0202 0011",
            "62220a0200112233",
        ] {
            assert_eq!(CardNo::parse(bad), Err(CardNoError), "{bad}");
        }
    }

    #[test]
    fn a_sealed_card_number_holds_no_digit_but_the_last_four_and_opens_for_its_payout_only() {
        let key = key();
        let payout = PayoutNo::mint(1_795_000_000_000);
        let card = CardNo::parse(CARD).unwrap();

        let sealed = card.seal(&key, &payout);

        assert!(!sealed.sealed().contains("622202"));
        assert_eq!(sealed.masked(), "************2233");
        assert_eq!(format!("{sealed:?}"), "SealedCardNo(************2233)");
        assert_eq!(sealed.open(&key, &payout), Ok(card.clone()));
        let other = PayoutNo::mint(1_795_000_000_001);
        assert_eq!(sealed.open(&key, &other), Err(SecretError::Unseal));
        assert_eq!(sealed.open(&self::key(), &payout), Err(SecretError::Unseal));
    }

    #[test]
    fn a_sealed_card_number_is_recognised_by_its_digest_for_its_payout() {
        let key = key();
        let payout = PayoutNo::mint(1_795_000_000_000);
        let card = CardNo::parse(CARD).unwrap();
        let sealed = card.seal(&key, &payout);
        let again = card.seal(&key, &payout);

        assert_ne!(sealed.sealed(), again.sealed(), "a fresh nonce each time");
        assert_eq!(sealed, again);
        assert!(sealed.is(&card, &key, &payout));
        assert!(!sealed.is(&CardNo::parse("6222020200112234").unwrap(), &key, &payout));
        let other = PayoutNo::mint(1_795_000_000_001);
        assert!(!sealed.is(&card, &key, &other));
        assert_ne!(sealed, card.seal(&key, &other));
    }

    #[test]
    fn stored_forms_are_checked_when_read_back() {
        let key = key();
        let payout = PayoutNo::mint(1_795_000_000_000);
        let sealed = CardNo::parse(CARD).unwrap().seal(&key, &payout);
        let read = |s: &str, d: &str, m: &str| {
            SealedCardNo::from_stored(s.to_owned(), d.to_owned(), m.to_owned())
        };
        assert_eq!(
            read(sealed.sealed(), sealed.digest(), "************2233"),
            Ok(sealed.clone())
        );
        assert!(read(CARD, sealed.digest(), "************2233").is_err());
        assert!(read(sealed.sealed(), "", "************2233").is_err());
        for masked in ["6222020200112233", "**2233", "************22a3", ""] {
            assert!(
                read(sealed.sealed(), sealed.digest(), masked).is_err(),
                "{masked}"
            );
        }
    }
}
