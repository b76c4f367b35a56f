//! What surrounds every call: the signature on the way out, and on the way back the decision
//! whether a body is a success to trust, an API error to surface, or something to refuse.

use crate::ClientError;
use paygate_api::failure::{outcome, Outcome};
use paygate_domain::sign::{SignError, SignKey, VerifyKey};
use rand::distributions::{Alphanumeric, DistString};
use serde_json::{Map, Value};

/// Length of the nonces we mint: inside DESIGN §12's 8–32, and 62^16 makes a repeat within the
/// server's replay window practically impossible.
const NONCE_LEN: usize = 16;

/// A fresh nonce of [0-9A-Za-z].
pub fn fresh_nonce() -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), NONCE_LEN)
}

/// Adds `sign_type` and `sign` over the given fields, exactly as DESIGN §12 says. It adds nothing
/// else, so callers decide every other field (tests rely on that to craft bad requests).
pub fn sign_request(
    key: &SignKey,
    mut fields: Map<String, Value>,
) -> Result<Map<String, Value>, SignError> {
    key.sign_in_place(&mut fields)?;
    Ok(fields)
}

/// Checks a response's own `sign` over the rest of it; a missing `sign` fails too.
pub fn verify_response(key: &VerifyKey, body: &Map<String, Value>) -> Result<(), ClientError> {
    key.verify(body)
        .map_err(|_| ClientError::BadResponseSignature)
}

/// Splits a decoded body into "success, still to be verified" and "API error".
///
/// Failures are surfaced without checking their signature: they change no state the merchant
/// would act on, and some are legitimately unsigned or signed under another key (an unknown
/// merchant, a refused `sign_type`). A success is only ever returned after `verify_response`.
pub(crate) fn classify(
    http_status: u16,
    body: Map<String, Value>,
) -> Result<Map<String, Value>, ClientError> {
    match outcome(&body) {
        Outcome::Success => Ok(body),
        Outcome::Refused { error_code, msg } => Err(ClientError::Api {
            error_code,
            msg,
            http_status,
        }),
        Outcome::Unknown => Err(ClientError::Decode(format!(
            "HTTP {http_status}: response has no string `code`"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paygate_domain::sign::RsaPrivateKey;
    use paygate_domain::Nonce;
    use serde_json::json;

    fn obj(value: Value) -> Map<String, Value> {
        value.as_object().expect("an object").clone()
    }

    fn key_pairs() -> Vec<(SignKey, VerifyKey)> {
        [
            SignKey::Md5("s3cret".into()),
            SignKey::HmacSha256("s3cret".into()),
            SignKey::Rsa2(RsaPrivateKey::generate().unwrap()),
        ]
        .into_iter()
        .map(|signer| {
            let verifier = signer.verify_key();
            (signer, verifier)
        })
        .collect()
    }

    #[test]
    fn signed_requests_verify_with_the_matching_key_for_every_algorithm() {
        for (signer, verifier) in key_pairs() {
            let fields = obj(json!({"merchant_id": "M1", "timestamp": 1795000000, "a": "1"}));
            let signed = sign_request(&signer, fields).unwrap();
            assert_eq!(signed["sign_type"], signer.sign_type().as_str());
            assert_eq!(verifier.verify(&signed), Ok(()), "{:?}", signer.sign_type());
        }
    }

    #[test]
    fn nested_values_cannot_be_signed() {
        let fields = obj(json!({"split_rules": [{"to": "C"}]}));
        let err = sign_request(&SignKey::Md5("k".into()), fields).unwrap_err();
        assert_eq!(err, SignError::NotFlat("split_rules".into()));
    }

    #[test]
    fn response_verification_accepts_a_signed_body_and_rejects_a_tampered_one() {
        for (signer, verifier) in key_pairs() {
            let body = obj(json!({"code": "SUCCESS", "msg": "OK", "total_amount": "10.00"}));
            let mut body = sign_request(&signer, body).unwrap();
            assert!(verify_response(&verifier, &body).is_ok());
            body.insert("total_amount".into(), "0.01".into());
            assert!(matches!(
                verify_response(&verifier, &body),
                Err(ClientError::BadResponseSignature)
            ));
        }
    }

    #[test]
    fn an_unsigned_success_is_refused() {
        let body = obj(json!({"code": "SUCCESS", "msg": "OK"}));
        let key = VerifyKey::Md5("k".into());
        assert!(matches!(
            verify_response(&key, &body),
            Err(ClientError::BadResponseSignature)
        ));
    }

    #[test]
    fn an_unsigned_failure_is_surfaced_as_the_api_error() {
        let body = obj(json!({"code": "FAIL", "msg": "unknown merchant", "error_code": "1002"}));
        match classify(401, body) {
            Err(ClientError::Api {
                error_code,
                msg,
                http_status,
            }) => {
                assert_eq!(
                    (error_code.as_str(), msg.as_str(), http_status),
                    ("1002", "unknown merchant", 401)
                );
            }
            other => panic!("expected an API error, got {other:?}"),
        }
    }

    #[test]
    fn a_numeric_error_code_is_read_as_text() {
        let body = obj(json!({"code": "FAIL", "msg": "x", "error_code": 1004}));
        let err = classify(200, body).unwrap_err();
        assert_eq!(err.error_code(), Some("1004"));
    }

    #[test]
    fn a_body_without_code_is_a_decode_error() {
        let err = classify(500, obj(json!({"error": "boom"}))).unwrap_err();
        assert!(matches!(err, ClientError::Decode(_)), "{err:?}");
    }

    #[test]
    fn nonces_are_fresh_and_valid() {
        let (a, b) = (fresh_nonce(), fresh_nonce());
        assert_eq!(a.len(), NONCE_LEN);
        assert!(Nonce::parse(&a).is_ok());
        assert_ne!(a, b);
    }
}
