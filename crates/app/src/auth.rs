//! Checking a signed merchant request (DESIGN §3, §12): known merchant, the configured sign
//! type and no other (no algorithm substitution), a fresh timestamp, a valid signature, and a
//! nonce never seen before. The nonce is recorded only after the signature holds, so a forger
//! cannot burn a merchant's nonces. A create records it in the order's own transaction
//! (`verify_request_deferring_nonce`, then `App::create_signed_order`); every other request, at
//! once (`verify_request`).

use crate::{App, AppError, MerchantKeys};
use paygate_domain::sign::{SignError, SignType};
use paygate_domain::{MerchantId, Nonce};
use paygate_store::NonceOutcome;
pub use paygate_store::RequestNonce;
use serde_json::{Map, Value};
use std::sync::Arc;

/// A request whose signature, timestamp and nonce have been checked.
#[derive(Debug)]
pub struct VerifiedRequest {
    pub merchant: Arc<MerchantKeys>,
    pub fields: Map<String, Value>,
    /// Recorded already, unless the request came from `verify_request_deferring_nonce`.
    pub nonce: RequestNonce,
}

/// The answer to a nonce used before, whichever way its first request went.
pub(crate) fn nonce_replayed() -> AppError {
    AppError::Sign("nonce was already used".into())
}

/// The merchant a request names, once it is known to exist (so errors can be signed to it).
pub async fn identify(
    app: &App,
    fields: &Map<String, Value>,
) -> Result<Arc<MerchantKeys>, AppError> {
    let id = match fields.get("merchant_id") {
        None | Some(Value::Null) => return Err(AppError::param("merchant_id", "is required")),
        Some(Value::String(s)) => {
            MerchantId::parse(s).map_err(|e| AppError::param("merchant_id", e.to_string()))?
        }
        Some(_) => return Err(AppError::param("merchant_id", "must be a string")),
    };
    app.merchant_keys(&id)
        .await?
        .ok_or_else(|| AppError::param("merchant_id", "unknown merchant"))
}

/// Reads `timestamp`, Unix seconds: a JSON integer, or decimal text of ASCII digits with an
/// optional leading `-`. The form decides 1001 (a float, a boolean, `"12a"`); the value decides
/// 1002: any integer outside the window is stale, however large. An integer beyond i64 (a JSON
/// number above `i64::MAX`, or digit text of any length) is `None`: certainly outside the window.
/// A JSON number beyond u64 is read by the JSON parser as a float, and so answers 1001.
fn timestamp_secs(fields: &Map<String, Value>) -> Result<Option<i64>, AppError> {
    const FORM: &str = "must be Unix seconds, as an integer or a string of digits";
    match fields.get("timestamp") {
        None | Some(Value::Null) => Err(AppError::param("timestamp", "is required")),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(n.as_i64()),
        Some(Value::String(s)) if is_integer_text(s) => Ok(s.parse().ok()),
        Some(_) => Err(AppError::param("timestamp", FORM)),
    }
}

fn is_integer_text(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// The `sign_type` a request claims; absent or empty means MD5, the classic API's default.
fn claimed_sign_type(fields: &Map<String, Value>) -> Result<SignType, AppError> {
    match fields.get("sign_type") {
        None | Some(Value::Null) => Ok(SignType::Md5),
        Some(Value::String(s)) if s.is_empty() => Ok(SignType::Md5),
        Some(Value::String(s)) => s
            .parse()
            .map_err(|_| AppError::param("sign_type", "must be MD5, HMAC-SHA256 or RSA2")),
        Some(_) => Err(AppError::param("sign_type", "must be a string")),
    }
}

/// `S` of the request; a value that is not a string, integer or boolean is a 1001 naming its key.
fn request_string_to_sign(fields: &Map<String, Value>) -> Result<String, AppError> {
    paygate_domain::sign::string_to_sign(fields).map_err(|error| match error {
        SignError::NotFlat(key) => AppError::param(key, "must be a string, integer or boolean"),
        other => AppError::param("body", other.to_string()),
    })
}

impl App {
    pub async fn verify_request(
        &self,
        merchant: Arc<MerchantKeys>,
        fields: Map<String, Value>,
    ) -> Result<VerifiedRequest, AppError> {
        let verified = self.verify_request_deferring_nonce(merchant, fields)?;
        self.record_nonce(&verified.nonce).await?;
        Ok(verified)
    }

    /// Every check but the nonce's freshness, which the caller must then record: a create does
    /// so in the order's own transaction (`create_signed_order`).
    pub fn verify_request_deferring_nonce(
        &self,
        merchant: Arc<MerchantKeys>,
        fields: Map<String, Value>,
    ) -> Result<VerifiedRequest, AppError> {
        let sign_type = claimed_sign_type(&fields)?;
        if sign_type != merchant.record.sign_type {
            return Err(AppError::Sign(format!(
                "sign_type {sign_type} is not the merchant's configured {}",
                merchant.record.sign_type
            )));
        }
        let sign = match fields.get("sign") {
            Some(Value::String(s)) if !s.is_empty() => s.as_str(),
            None | Some(Value::Null) => return Err(AppError::param("sign", "is required")),
            Some(_) => return Err(AppError::param("sign", "must be a non-empty string")),
        };
        let nonce = match fields.get("nonce") {
            Some(Value::String(s)) => {
                Nonce::parse(s).map_err(|e| AppError::param("nonce", e.to_string()))?
            }
            None | Some(Value::Null) => return Err(AppError::param("nonce", "is required")),
            Some(_) => return Err(AppError::param("nonce", "must be a string")),
        };
        let timestamp = self.fresh_timestamp(&fields)?;
        let signed_text = request_string_to_sign(&fields)?;
        merchant
            .verify
            .verify_string(&signed_text, sign)
            .map_err(|_| AppError::Sign("signature does not match".into()))?;
        // The nonce must outlive every moment at which this timestamp is still accepted.
        let window = self.settings().timestamp_window_secs;
        let expires_at_ms = timestamp
            .saturating_add(window)
            .saturating_mul(1000)
            .saturating_add(1000);
        let nonce = RequestNonce {
            merchant_id: merchant.record.id.clone(),
            nonce,
            expires_at_ms,
        };
        Ok(VerifiedRequest {
            merchant,
            fields,
            nonce,
        })
    }

    /// Records a verified request's nonce on its own; a second use is refused (1002).
    pub async fn record_nonce(&self, nonce: &RequestNonce) -> Result<(), AppError> {
        match self.store().record_nonce(nonce).await? {
            NonceOutcome::Fresh => Ok(()),
            NonceOutcome::Replayed => Err(nonce_replayed()),
        }
    }

    /// The request's timestamp, once it is known to lie within the window of the gateway's clock.
    fn fresh_timestamp(&self, fields: &Map<String, Value>) -> Result<i64, AppError> {
        let window = self.settings().timestamp_window_secs;
        let now_secs = self.clock().now_ms().div_euclid(1000);
        match timestamp_secs(fields)? {
            Some(t) if paygate_domain::sign::timestamp_in_window(now_secs, t, window) => Ok(t),
            _ => Err(AppError::Sign(format!(
                "timestamp is more than {window} seconds from the gateway's clock"
            ))),
        }
    }

    /// Signs a response or notification body for this merchant (adds sign_type and sign). A
    /// failure is an error for the caller to answer or record: nothing unsigned goes out.
    pub fn sign_for(
        &self,
        merchant: &MerchantKeys,
        body: &mut Map<String, Value>,
    ) -> Result<(), AppError> {
        merchant.respond.sign_in_place(body).map_err(|error| {
            AppError::Internal(anyhow::anyhow!(
                "signing for merchant {} failed: {error}",
                merchant.record.id
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn timestamp_of(value: Value) -> Result<Option<i64>, AppError> {
        let fields = json!({ "timestamp": value });
        timestamp_secs(fields.as_object().expect("an object"))
    }

    #[test]
    fn the_i64_extremes_are_read_as_numbers_and_as_digit_text() {
        for (value, expected) in [
            (json!(i64::MAX), i64::MAX),
            (json!(i64::MIN), i64::MIN),
            (json!("9223372036854775807"), i64::MAX),
            (json!("-9223372036854775808"), i64::MIN),
            (json!("0001795000000"), 1_795_000_000),
        ] {
            assert_eq!(
                timestamp_of(value.clone()).unwrap(),
                Some(expected),
                "{value}"
            );
        }
    }

    #[test]
    fn an_integer_beyond_i64_is_a_timestamp_outside_any_window() {
        for value in [
            json!(u64::MAX),
            json!("9223372036854775808"),
            json!("-9223372036854775809"),
            json!("99999999999999999999999999999999"),
        ] {
            assert_eq!(timestamp_of(value.clone()).unwrap(), None, "{value}");
        }
    }

    #[test]
    fn a_timestamp_that_is_not_an_integer_is_a_parameter_error() {
        for value in [
            json!(1.5),
            json!(1e20),
            json!(true),
            json!("+1795000000"),
            json!("1795000000.0"),
            json!("-"),
            json!(""),
            json!(" 1795000000"),
            json!([1795000000]),
        ] {
            match timestamp_of(value.clone()) {
                Err(AppError::Param { field, .. }) => assert_eq!(field, "timestamp", "{value}"),
                other => panic!("{value}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_value_of_the_wrong_type_is_named_by_its_key() {
        let fields = json!({"merchant_id": "M1", "total_amount": 10.5, "attach": {"a": 1}});
        match request_string_to_sign(fields.as_object().expect("an object")) {
            Err(AppError::Param { field, .. }) => assert_eq!(field, "total_amount"),
            other => panic!("{other:?}"),
        }
    }
}
