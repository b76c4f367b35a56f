//! Union login (seed 000 §三): the partner's user reaches the cashier through a link we encrypt
//! with the merchant's own AES-256-GCM key; the link carries a one-time ticket that opens a
//! short cashier session, in which the payer pays from the wallet with a pay password.
//!
//! Tickets and session tokens are 256 random bits, shown once and stored only as SHA-256
//! digests; the pay password is stored only as an argon2 hash.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt;

/// A login ticket is good for this long after the partner asked for it.
pub const TICKET_TTL_SECS: i64 = 5 * 60;
/// A cashier session lasts this long after its login.
pub const SESSION_TTL_SECS: i64 = 15 * 60;
/// Wrong pay passwords in a row that lock the account's cashier payments.
pub const PAY_PASSWORD_FAILURES_MAX: i64 = 5;
/// How long such a lock lasts.
pub const PAY_LOCK_SECS: i64 = 15 * 60;
pub const PAY_PASSWORD_DIGITS: usize = 6;

const TOKEN_BYTES: usize = 32;
/// base64url without padding of 32 bytes.
const TOKEN_CHARS: usize = 43;
const NONCE_BYTES: usize = 12;
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const B64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn random_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    OsRng.fill_bytes(&mut bytes);
    B64URL.encode(bytes)
}

/// Only text shaped like one of our tokens reaches a hash or the database.
fn token_shaped(text: &str) -> bool {
    text.len() == TOKEN_CHARS
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The one-time ticket in a login link.
#[derive(Clone, PartialEq, Eq)]
pub struct LoginTicket(String);

impl LoginTicket {
    pub fn mint() -> LoginTicket {
        LoginTicket(random_token())
    }

    /// A ticket as it arrived in a URL; `None` when it cannot be one of ours.
    pub fn presented(text: &str) -> Option<LoginTicket> {
        token_shaped(text).then(|| LoginTicket(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn digest(&self) -> String {
        sha256_hex(&self.0)
    }
}

impl fmt::Debug for LoginTicket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LoginTicket(****)")
    }
}

/// The token in the cashier session cookie.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl SessionToken {
    pub fn mint() -> SessionToken {
        SessionToken(random_token())
    }

    pub fn presented(text: &str) -> Option<SessionToken> {
        token_shaped(text).then(|| SessionToken(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn digest(&self) -> String {
        sha256_hex(&self.0)
    }

    /// The session's anti-forgery token for its forms: derived from the cookie's secret, so a
    /// page of another site, which cannot read the cookie, cannot know it; and it is not the
    /// stored digest, so a read of the database does not yield it.
    pub fn csrf_token(&self) -> String {
        sha256_hex(&format!("csrf:{}", self.0))
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(****)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnionLoginKeyError {
    #[error("union-login key must be 32 bytes written as 64 hex characters")]
    BadKey,
    #[error("the encrypted link is malformed or was tampered with")]
    Decrypt,
}

/// A merchant's union-login key: AES-256-GCM, shared with the merchant as 64 hex characters.
#[derive(Clone)]
pub struct UnionLoginKey([u8; 32]);

impl UnionLoginKey {
    pub fn generate() -> UnionLoginKey {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        UnionLoginKey(bytes)
    }

    pub fn from_hex(text: &str) -> Result<UnionLoginKey, UnionLoginKeyError> {
        let bytes = hex::decode(text.trim()).map_err(|_| UnionLoginKeyError::BadKey)?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| UnionLoginKeyError::BadKey)?;
        Ok(UnionLoginKey(bytes))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new_from_slice(&self.0).expect("a 32-byte key")
    }

    /// base64 (standard alphabet, padded) of a fresh 12-byte nonce ‖ ciphertext ‖ 16-byte tag,
    /// with no associated data.
    pub fn encrypt(&self, plaintext: &str) -> String {
        let mut nonce = [0u8; NONCE_BYTES];
        OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher()
            .encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes())
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        B64.encode(out)
    }

    /// What a partner does with `encrypt`'s output.
    pub fn decrypt(&self, text: &str) -> Result<String, UnionLoginKeyError> {
        let bytes = B64.decode(text).map_err(|_| UnionLoginKeyError::Decrypt)?;
        if bytes.len() < NONCE_BYTES {
            return Err(UnionLoginKeyError::Decrypt);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_BYTES);
        let plain = self
            .cipher()
            .decrypt(Nonce::from_slice(nonce), sealed)
            .map_err(|_| UnionLoginKeyError::Decrypt)?;
        String::from_utf8(plain).map_err(|_| UnionLoginKeyError::Decrypt)
    }
}

impl fmt::Debug for UnionLoginKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UnionLoginKey(****)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("phone_md5 must be 32 lowercase hexadecimal characters (the MD5 of the phone number)")]
pub struct PhoneMd5Error;

/// The partner's MD5 of its user's phone number; never the number itself.
#[derive(Clone, PartialEq, Eq)]
pub struct PhoneMd5(String);

impl PhoneMd5 {
    pub fn parse(text: &str) -> Result<PhoneMd5, PhoneMd5Error> {
        let shaped = text.len() == 32
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        shaped
            .then(|| PhoneMd5(text.to_owned()))
            .ok_or(PhoneMd5Error)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Personal data stays out of logs.
impl fmt::Debug for PhoneMd5 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PhoneMd5(****)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the pay password must be exactly 6 digits")]
pub struct PayPasswordError;

/// A pay password as the payer typed it: exactly six ASCII digits.
#[derive(Clone, PartialEq, Eq)]
pub struct PayPassword(String);

impl PayPassword {
    pub fn parse(text: &str) -> Result<PayPassword, PayPasswordError> {
        let shaped = text.len() == PAY_PASSWORD_DIGITS && text.bytes().all(|b| b.is_ascii_digit());
        shaped
            .then(|| PayPassword(text.to_owned()))
            .ok_or(PayPasswordError)
    }

    /// An argon2id PHC string with a fresh salt.
    pub fn hash(&self) -> String {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(self.0.as_bytes(), &salt)
            .expect("argon2 with default parameters hashes any input")
            .to_string()
    }

    /// Whether this is the password `stored` was hashed from; a malformed hash matches nothing.
    pub fn verify(&self, stored: &str) -> bool {
        PasswordHash::new(stored)
            .map(|hash| {
                Argon2::default()
                    .verify_password(self.0.as_bytes(), &hash)
                    .is_ok()
            })
            .unwrap_or(false)
    }
}

impl fmt::Debug for PayPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PayPassword(******)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_are_256_bits_of_base64url_and_differ() {
        let a = LoginTicket::mint();
        let b = LoginTicket::mint();
        assert_eq!(a.as_str().len(), 43);
        assert_eq!(B64URL.decode(a.as_str()).unwrap().len(), 32);
        assert_ne!(a, b);
        assert_eq!(LoginTicket::presented(a.as_str()), Some(a.clone()));
        let token = SessionToken::mint();
        assert_eq!(SessionToken::presented(token.as_str()), Some(token.clone()));
    }

    #[test]
    fn presented_tokens_must_have_our_shape() {
        let good = LoginTicket::mint();
        let too_long = format!("{}A", good.as_str());
        let bad_char = format!("{}+", &good.as_str()[..42]);
        for bad in ["", "short", too_long.as_str(), bad_char.as_str()] {
            assert_eq!(LoginTicket::presented(bad), None, "{bad:?}");
            assert_eq!(SessionToken::presented(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn digests_and_csrf_tokens_are_sha256_hex_and_reveal_nothing() {
        let token = SessionToken::mint();
        assert_eq!(token.digest().len(), 64);
        assert_eq!(token.csrf_token().len(), 64);
        assert_ne!(token.digest(), token.csrf_token());
        assert_eq!(token.csrf_token(), token.clone().csrf_token());
        assert_ne!(token.csrf_token(), SessionToken::mint().csrf_token());
        assert!(!format!("{token:?}").contains(token.as_str()));
        let ticket = LoginTicket::mint();
        assert!(!format!("{ticket:?}").contains(ticket.as_str()));
    }

    #[test]
    fn a_link_decrypts_with_its_key_only_and_not_once_tampered() {
        let key = UnionLoginKey::generate();
        let url = "https://pay.example/cashier/login?ticket=abc";
        let sealed = key.encrypt(url);
        assert_eq!(key.decrypt(&sealed).unwrap(), url);
        assert_ne!(key.encrypt(url), sealed, "a fresh nonce each time");
        let other = UnionLoginKey::generate();
        assert_eq!(other.decrypt(&sealed), Err(UnionLoginKeyError::Decrypt));
        let mut bytes = B64.decode(&sealed).unwrap();
        bytes[NONCE_BYTES] ^= 1;
        let tampered = B64.encode(bytes);
        assert_eq!(key.decrypt(&tampered), Err(UnionLoginKeyError::Decrypt));
        let again = UnionLoginKey::from_hex(&key.to_hex()).unwrap();
        assert_eq!(again.decrypt(&sealed).unwrap(), url);
        assert!(UnionLoginKey::from_hex("abcd").is_err());
    }

    #[test]
    fn phone_md5_is_32_lowercase_hex() {
        assert!(PhoneMd5::parse("0123456789abcdef0123456789abcdef").is_ok());
        for bad in [
            "",
            "0123456789ABCDEF0123456789ABCDEF",
            "0123456789abcdef0123456789abcde",
            "0123456789abcdef0123456789abcdeg",
            "13800138000",
        ] {
            assert_eq!(PhoneMd5::parse(bad), Err(PhoneMd5Error), "{bad:?}");
        }
    }

    #[test]
    fn a_pay_password_is_six_digits_and_verifies_only_itself() {
        for bad in ["", "12345", "1234567", "12345a", "１２３４５６"] {
            assert_eq!(PayPassword::parse(bad), Err(PayPasswordError), "{bad:?}");
        }
        let password = PayPassword::parse("135790").unwrap();
        let hash = password.hash();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(password.verify(&hash));
        assert!(!PayPassword::parse("135791").unwrap().verify(&hash));
        assert!(!password.verify("not a hash"));
        assert_eq!(format!("{password:?}"), "PayPassword(******)");
    }
}
