//! Secrets at rest: merchant secrets and private keys are sealed with AES-256-GCM under the
//! operator's master key before they reach the database.
//!
//! A sealed value is bound to its owner: the owner's id (a merchant id, or a platform secret's
//! name) is the AES-GCM associated data, so a value copied into another owner's row does not
//! open. Values sealed before that binding (`v1:`) open only through `unseal_unbound`, which the
//! start-up migration uses to re-seal them once.
//!
//! A value that must be recognised without being kept in the clear (a payout's card number, on a
//! replayed request) also gets a keyed digest: HMAC-SHA256 under a key derived from the master
//! key, with the owner bound in. A plain hash would not do: every card number can be tried.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
/// Sealed without associated data (before owners were bound).
pub const UNBOUND_PREFIX: &str = "v1:";
/// Sealed with the owner's id as associated data.
const BOUND_PREFIX: &str = "v2:";
const NONCE_BYTES: usize = 12;
/// What the digest key is derived for; changing it changes every digest.
const DIGEST_KEY_LABEL: &[u8] = b"paygate digest key v1";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("master key must be 32 bytes written as 64 hex characters")]
    BadMasterKey,
    #[error("sealed value is malformed, was sealed under another master key or for another owner")]
    Unseal,
}

/// How a stored sealed value was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealFormat {
    /// `v1:`, not bound to an owner; to be re-sealed.
    Unbound,
    /// `v2:`, bound to its owner.
    Bound,
    Unknown,
}

impl SealFormat {
    pub fn of(sealed: &str) -> SealFormat {
        if sealed.starts_with(BOUND_PREFIX) {
            SealFormat::Bound
        } else if sealed.starts_with(UNBOUND_PREFIX) {
            SealFormat::Unbound
        } else {
            SealFormat::Unknown
        }
    }
}

#[derive(Clone)]
pub struct MasterKey {
    cipher: Aes256Gcm,
    /// HMAC-SHA256(master key, `DIGEST_KEY_LABEL`): digests never use the sealing key itself.
    digest_key: [u8; 32],
}

impl MasterKey {
    pub fn generate_hex() -> String {
        hex::encode(rand::random::<[u8; 32]>())
    }

    pub fn from_hex(text: &str) -> Result<MasterKey, SecretError> {
        let bytes = hex::decode(text.trim()).map_err(|_| SecretError::BadMasterKey)?;
        let cipher = Aes256Gcm::new_from_slice(&bytes).map_err(|_| SecretError::BadMasterKey)?;
        let mut derive = <Hmac<Sha256> as Mac>::new_from_slice(&bytes)
            .expect("HMAC-SHA256 takes a key of any length");
        derive.update(DIGEST_KEY_LABEL);
        Ok(MasterKey {
            cipher,
            digest_key: derive.finalize().into_bytes().into(),
        })
    }

    /// base64(HMAC-SHA256(digest key, owner ‖ 0 ‖ plaintext)): the same for the same value and
    /// owner, so a stored value can be recognised; another owner's digest of it differs.
    pub fn digest(&self, plaintext: &str, owner: &str) -> String {
        B64.encode(self.digest_mac(plaintext, owner).finalize().into_bytes())
    }

    /// Whether `digest` is this key's digest of `plaintext` for `owner` (in constant time).
    pub fn digest_matches(&self, digest: &str, plaintext: &str, owner: &str) -> bool {
        B64.decode(digest).is_ok_and(|bytes| {
            self.digest_mac(plaintext, owner)
                .verify_slice(&bytes)
                .is_ok()
        })
    }

    fn digest_mac(&self, plaintext: &str, owner: &str) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.digest_key)
            .expect("HMAC-SHA256 takes a key of any length");
        mac.update(owner.as_bytes());
        mac.update(&[0]);
        mac.update(plaintext.as_bytes());
        mac
    }

    /// `v2:` + base64(nonce ‖ ciphertext ‖ tag), with `owner` as associated data; a fresh random
    /// nonce each time.
    pub fn seal(&self, plaintext: &str, owner: &str) -> String {
        self.seal_with(BOUND_PREFIX, plaintext, owner.as_bytes())
    }

    /// Opens a value sealed for `owner`; a value sealed for anyone else does not open.
    pub fn unseal(&self, sealed: &str, owner: &str) -> Result<String, SecretError> {
        let body = sealed
            .strip_prefix(BOUND_PREFIX)
            .ok_or(SecretError::Unseal)?;
        self.open(body, owner.as_bytes())
    }

    /// Opens a `v1:` value, sealed before owners were bound. Only the migration that re-seals
    /// such values calls this.
    pub fn unseal_unbound(&self, sealed: &str) -> Result<String, SecretError> {
        let body = sealed
            .strip_prefix(UNBOUND_PREFIX)
            .ok_or(SecretError::Unseal)?;
        self.open(body, b"")
    }

    /// Writes the old `v1:` format, so tests can make the rows an older release left behind.
    #[doc(hidden)]
    pub fn seal_unbound_for_tests(&self, plaintext: &str) -> String {
        self.seal_with(UNBOUND_PREFIX, plaintext, b"")
    }

    fn seal_with(&self, prefix: &str, plaintext: &str, aad: &[u8]) -> String {
        let nonce_bytes: [u8; NONCE_BYTES] = rand::random();
        let payload = Payload {
            msg: plaintext.as_bytes(),
            aad,
        };
        let ciphertext = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce_bytes), payload)
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&ciphertext);
        format!("{prefix}{}", B64.encode(out))
    }

    fn open(&self, body: &str, aad: &[u8]) -> Result<String, SecretError> {
        let bytes = B64.decode(body).map_err(|_| SecretError::Unseal)?;
        if bytes.len() < NONCE_BYTES {
            return Err(SecretError::Unseal);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let payload = Payload {
            msg: ciphertext,
            aad,
        };
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), payload)
            .map_err(|_| SecretError::Unseal)?;
        String::from_utf8(plain).map_err(|_| SecretError::Unseal)
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

/// A secret held in memory: a merchant's shared signing key, a bearer token, the master key's
/// text. Its `Debug` never shows it, so no log line, panic message or error can carry it;
/// `expose()` reads it at the one place it is used.
#[derive(Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(text: String) -> Secret {
        Secret(text)
    }
}

impl From<&str> for Secret {
    fn from(text: &str) -> Secret {
        Secret(text.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_shows_in_debug_output() {
        let secret = Secret::from("k3y-th4t-must-n0t-leak");
        assert_eq!(format!("{secret:?}"), "Secret(..)");
        assert_eq!(format!("{:?}", Some(&secret)), "Some(Secret(..))");
        assert_eq!(secret.expose(), "k3y-th4t-must-n0t-leak");
    }

    fn fresh_key() -> MasterKey {
        MasterKey::from_hex(&MasterKey::generate_hex()).unwrap()
    }

    #[test]
    fn sealed_secrets_open_only_under_the_same_master_key() {
        let key = fresh_key();
        let other = fresh_key();
        let sealed = key.seal("merchant-secret", "M1");
        assert!(sealed.starts_with("v2:"));
        assert!(!sealed.contains("merchant-secret"));
        assert_eq!(key.unseal(&sealed, "M1").unwrap(), "merchant-secret");
        assert_eq!(other.unseal(&sealed, "M1"), Err(SecretError::Unseal));
        assert_ne!(key.seal("x", "M1"), key.seal("x", "M1"), "nonces are fresh");
    }

    #[test]
    fn a_secret_copied_to_another_owner_does_not_open() {
        let key = fresh_key();
        let sealed = key.seal("merchant-a-secret", "M100000000001");
        assert_eq!(
            key.unseal(&sealed, "M100000000002"),
            Err(SecretError::Unseal)
        );
        assert_eq!(key.unseal(&sealed, ""), Err(SecretError::Unseal));
        assert_eq!(
            key.unseal_unbound(&sealed),
            Err(SecretError::Unseal),
            "a bound value never opens as an unbound one"
        );
    }

    #[test]
    fn unbound_values_open_only_through_the_migration_path() {
        let key = fresh_key();
        let old = key.seal_unbound_for_tests("legacy");
        assert_eq!(SealFormat::of(&old), SealFormat::Unbound);
        assert_eq!(key.unseal(&old, "M1"), Err(SecretError::Unseal));
        assert_eq!(key.unseal_unbound(&old).unwrap(), "legacy");
        let resealed = key.seal(&key.unseal_unbound(&old).unwrap(), "M1");
        assert_eq!(SealFormat::of(&resealed), SealFormat::Bound);
        assert_eq!(key.unseal(&resealed, "M1").unwrap(), "legacy");
        assert_eq!(SealFormat::of("garbage"), SealFormat::Unknown);
    }

    #[test]
    fn malformed_sealed_values_are_errors_not_panics() {
        let key = fresh_key();
        for bad in ["", "v2:", "v2:!!!", "v2:AAAA", "v1:AAAA", "v3:AAAA"] {
            assert_eq!(key.unseal(bad, "M1"), Err(SecretError::Unseal), "{bad}");
            assert_eq!(key.unseal_unbound(bad), Err(SecretError::Unseal), "{bad}");
        }
    }

    #[test]
    fn digests_recognise_a_value_only_under_the_same_key_and_owner() {
        let key = fresh_key();
        let digest = key.digest("6222020200112233", "PO1");
        assert_eq!(digest, key.digest("6222020200112233", "PO1"));
        assert_eq!(digest.len(), 44, "32 bytes in base64");
        assert!(key.digest_matches(&digest, "6222020200112233", "PO1"));
        assert!(!key.digest_matches(&digest, "6222020200112234", "PO1"));
        assert!(!key.digest_matches(&digest, "6222020200112233", "PO2"));
        assert!(!fresh_key().digest_matches(&digest, "6222020200112233", "PO1"));
        assert!(!key.digest_matches("not base64!", "6222020200112233", "PO1"));
        assert_ne!(
            key.digest("12", "3"),
            key.digest("1", "23"),
            "owner and value stay apart"
        );
    }

    #[test]
    fn master_keys_must_be_32_bytes_of_hex() {
        assert!(MasterKey::from_hex("abcd").is_err());
        assert!(MasterKey::from_hex(&"zz".repeat(32)).is_err());
    }
}
