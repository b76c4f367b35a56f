//! Alipay's RSA2 signing: the string a request or notification is signed over, SHA256withRSA
//! over it, and the raw `..._response` text an answer's signature covers. Shared by the adapter
//! and the sandbox that plays Alipay's gateway, so both sides build the same bytes.

use std::collections::BTreeMap;

use paygate_domain::sign::{RsaPrivateKey, RsaPublicKey, SignKey, VerifyKey};

/// The string a request is signed over: every parameter but `sign` with a non-empty value,
/// sorted by key, as raw `k=v` joined by `&` (`sign_type` included).
pub fn request_content(params: &BTreeMap<String, String>) -> String {
    join_sorted(params, &["sign"])
}

/// The string a notification is verified over: as for a request, but `sign_type` is left out
/// too (Alipay's notification rule differs from its request rule here).
pub fn notify_content(params: &BTreeMap<String, String>) -> String {
    join_sorted(params, &["sign", "sign_type"])
}

fn join_sorted(params: &BTreeMap<String, String>, excluded: &[&str]) -> String {
    // A BTreeMap of Strings iterates in byte order of the keys, which is Alipay's order.
    params
        .iter()
        .filter(|(k, v)| !v.is_empty() && !excluded.contains(&k.as_str()))
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// SHA256withRSA over `content`, base64 (standard alphabet, padded).
pub fn sign_rsa2(key: &RsaPrivateKey, content: &str) -> String {
    SignKey::Rsa2(key.clone())
        .sign_string(content)
        .expect("RSA signing with a parsed key does not fail")
}

pub fn verify_rsa2(key: &RsaPublicKey, content: &str, sign: &str) -> bool {
    VerifyKey::Rsa2(key.clone())
        .verify_string(content, sign)
        .is_ok()
}

/// The raw JSON text of the `<method_with_underscores>_response` (or `error_response`) value in an answer body.
///
/// The signature covers these exact bytes as Alipay wrote them, so the value is cut out of the
/// body rather than re-serialised.
pub fn response_content<'a>(body: &'a str, method: &str) -> Option<&'a str> {
    let key = format!("{}_response", method.replace('.', "_"));
    top_level_value(body, &key).or_else(|| top_level_value(body, "error_response"))
}

/// The raw text of the value under `key` in a JSON object `body`, looking at top-level keys only.
fn top_level_value<'a>(body: &'a str, key: &str) -> Option<&'a str> {
    let bytes = body.as_bytes();
    let mut i = skip_ws(bytes, 0);
    if bytes.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    loop {
        i = skip_ws(bytes, i);
        match bytes.get(i)? {
            b'}' => return None,
            b',' => {
                i += 1;
                continue;
            }
            b'"' => {}
            _ => return None,
        }
        let key_end = string_end(bytes, i)?;
        let name: String = serde_json::from_str(&body[i..key_end]).ok()?;
        i = skip_ws(bytes, key_end);
        if bytes.get(i) != Some(&b':') {
            return None;
        }
        let start = skip_ws(bytes, i + 1);
        let end = value_end(bytes, start)?;
        if name == key {
            return Some(&body[start..end]);
        }
        i = end;
    }
}

fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while matches!(bytes.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// The index just past the string starting with the quote at `start`.
fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    loop {
        match bytes.get(i)? {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
}

/// The index just past the JSON value starting at `start` (object, array, string or scalar).
fn value_end(bytes: &[u8], start: usize) -> Option<usize> {
    match bytes.get(start)? {
        b'"' => string_end(bytes, start),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = start;
            loop {
                match bytes.get(i)? {
                    b'"' => {
                        i = string_end(bytes, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        _ => {
            let mut i = start;
            while !matches!(
                bytes.get(i),
                None | Some(b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t')
            ) {
                i += 1;
            }
            (i > start).then_some(i)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn request_content_sorts_and_drops_sign_and_empty_values() {
        let p = params(&[
            ("b", "2"),
            ("sign", "x"),
            ("a", "1"),
            ("c", ""),
            ("sign_type", "RSA2"),
        ]);
        assert_eq!(request_content(&p), "a=1&b=2&sign_type=RSA2");
    }

    #[test]
    fn notify_content_also_drops_sign_type() {
        let p = params(&[("b", "2"), ("sign", "x"), ("a", "1"), ("sign_type", "RSA2")]);
        assert_eq!(notify_content(&p), "a=1&b=2");
    }

    #[test]
    fn response_content_is_the_raw_value_text() {
        let body = r#"{"alipay_trade_query_response": {"code":"10000","msg":"Success","x":{"a":"}\""}},"sign":"abc"}"#;
        assert_eq!(
            response_content(body, "alipay.trade.query"),
            Some(r#"{"code":"10000","msg":"Success","x":{"a":"}\""}}"#)
        );
    }

    #[test]
    fn response_content_falls_back_to_error_response() {
        let body = r#"{"error_response":{"code":"40001","msg":"Missing Required Arguments"}}"#;
        assert_eq!(
            response_content(body, "alipay.trade.query"),
            Some(r#"{"code":"40001","msg":"Missing Required Arguments"}"#)
        );
        assert_eq!(response_content("not json", "alipay.trade.query"), None);
    }

    #[test]
    fn a_signature_verifies_only_over_the_same_content() {
        let key = RsaPrivateKey::generate().unwrap();
        let sign = sign_rsa2(&key, "a=1&b=2");
        assert!(verify_rsa2(&key.public_key(), "a=1&b=2", &sign));
        assert!(!verify_rsa2(&key.public_key(), "a=1&b=3", &sign));
        assert!(!verify_rsa2(&key.public_key(), "a=1&b=2", "not base64!"));
    }
}
