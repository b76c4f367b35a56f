//! Secrets at rest: merchant secrets and private keys are sealed with AES-256-GCM under the
//! operator's master key before they reach the database.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use std::fmt;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const VERSION_PREFIX: &str = "v1:";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("master key must be 32 bytes written as 64 hex characters")]
    BadMasterKey,
    #[error("sealed value is malformed or was sealed under another master key")]
    Unseal,
}

#[derive(Clone)]
pub struct MasterKey(Aes256Gcm);

impl MasterKey {
    pub fn generate_hex() -> String {
        hex::encode(rand::random::<[u8; 32]>())
    }

    pub fn from_hex(text: &str) -> Result<MasterKey, SecretError> {
        let bytes = hex::decode(text.trim()).map_err(|_| SecretError::BadMasterKey)?;
        let key = Aes256Gcm::new_from_slice(&bytes).map_err(|_| SecretError::BadMasterKey)?;
        Ok(MasterKey(key))
    }

    /// `v1:` + base64(nonce ‖ ciphertext ‖ tag); a fresh random nonce each time.
    pub fn seal(&self, plaintext: &str) -> String {
        let nonce_bytes: [u8; 12] = rand::random();
        let ciphertext = self
            .0
            .encrypt(Nonce::from_slice(&nonce_bytes), plaintext.as_bytes())
            .expect("AES-GCM encryption of an in-memory buffer cannot fail");
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&ciphertext);
        format!("{VERSION_PREFIX}{}", B64.encode(out))
    }

    pub fn unseal(&self, sealed: &str) -> Result<String, SecretError> {
        let body = sealed
            .strip_prefix(VERSION_PREFIX)
            .ok_or(SecretError::Unseal)?;
        let bytes = B64.decode(body).map_err(|_| SecretError::Unseal)?;
        if bytes.len() < 12 {
            return Err(SecretError::Unseal);
        }
        let (nonce, ciphertext) = bytes.split_at(12);
        let plain = self
            .0
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| SecretError::Unseal)?;
        String::from_utf8(plain).map_err(|_| SecretError::Unseal)
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_under_the_same_master_key() {
        let key = MasterKey::from_hex(&MasterKey::generate_hex()).unwrap();
        let other = MasterKey::from_hex(&MasterKey::generate_hex()).unwrap();
        let sealed = key.seal("merchant-secret");
        assert!(!sealed.contains("merchant-secret"));
        assert_eq!(key.unseal(&sealed).unwrap(), "merchant-secret");
        assert_eq!(other.unseal(&sealed), Err(SecretError::Unseal));
        assert_ne!(key.seal("x"), key.seal("x"), "nonces are fresh");
    }

    #[test]
    fn master_keys_must_be_32_bytes_of_hex() {
        assert!(MasterKey::from_hex("abcd").is_err());
        assert!(MasterKey::from_hex(&"zz".repeat(32)).is_err());
    }
}
