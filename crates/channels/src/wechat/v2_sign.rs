//! WeChat Pay API v2 signing, still used by micropay (付款码): the parameters with a non-empty
//! value, except `sign`, sorted by name (ASCII), joined as `k=v&k=v`, then `&key=<v2 key>`
//! appended; the MD5 or HMAC-SHA256 (keyed with the v2 key) of that, in upper-case hex.

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use sha2::Sha256;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V2SignType {
    Md5,
    HmacSha256,
}

impl V2SignType {
    /// The `sign_type` parameter's value (`MD5` is also what an absent one means).
    pub fn as_str(self) -> &'static str {
        match self {
            V2SignType::Md5 => "MD5",
            V2SignType::HmacSha256 => "HMAC-SHA256",
        }
    }
}

/// The text a v2 signature covers, before the key is appended.
pub fn string_to_sign(params: &BTreeMap<String, String>) -> String {
    params
        .iter()
        .filter(|(name, value)| name.as_str() != "sign" && !value.is_empty())
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn sign(params: &BTreeMap<String, String>, key: &str, sign_type: V2SignType) -> String {
    let text = format!("{}&key={key}", string_to_sign(params));
    match sign_type {
        V2SignType::Md5 => hex::encode_upper(Md5::digest(text.as_bytes())),
        V2SignType::HmacSha256 => {
            let mut mac =
                Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
            mac.update(text.as_bytes());
            hex::encode_upper(mac.finalize().into_bytes())
        }
    }
}

/// Checks `params["sign"]` in constant time over the hex digits.
pub fn verify(params: &BTreeMap<String, String>, key: &str, sign_type: V2SignType) -> bool {
    let Some(given) = params.get("sign") else {
        return false;
    };
    let expected = sign(params, key, sign_type);
    given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}
