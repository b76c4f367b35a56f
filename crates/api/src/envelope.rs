//! What every signed request and answer carries besides its own fields (DESIGN §12): the
//! merchant, a timestamp, a nonce, the signature; on the way back `code`, `msg` and the answer's
//! timestamp. The string to sign itself is the domain's (`paygate_domain::sign`), since keys sign.

use crate::field;
use crate::schema::{
    answer, int_prop, integer_or_digits, object, one_of_values, request_schema, string, text_prop,
    values, Property, MERCHANT_ID, NONCE,
};
use crate::FieldError;
use paygate_domain::sign::SignType;
use paygate_domain::{MerchantId, Nonce};
use serde_json::{Map, Value};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;

/// Reads `timestamp`, Unix seconds: a JSON integer, or decimal text of ASCII digits with an
/// optional leading `-`. The form decides 1001 (a float, a boolean, `"12a"`); the value decides
/// 1002: any integer outside the window is stale, however large. An integer beyond i64 (a JSON
/// number above `i64::MAX`, or digit text of any length) is `None`: certainly outside the window.
/// A JSON number beyond u64 is read by the JSON parser as a float, and so answers 1001.
pub fn timestamp_secs(fields: &Map<String, Value>) -> Result<Option<i64>, FieldError> {
    const FORM: &str = "must be Unix seconds, as an integer or a string of digits";
    match fields.get(field::TIMESTAMP) {
        None | Some(Value::Null) => Err(FieldError::new(field::TIMESTAMP, "is required")),
        Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(n.as_i64()),
        Some(Value::String(s)) if is_integer_text(s) => Ok(s.parse().ok()),
        Some(_) => Err(FieldError::new(field::TIMESTAMP, FORM)),
    }
}

fn is_integer_text(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// `merchant_id`: who signed the request.
pub fn merchant_id(fields: &Map<String, Value>) -> Result<MerchantId, FieldError> {
    match fields.get(field::MERCHANT_ID) {
        None | Some(Value::Null) => Err(FieldError::new(field::MERCHANT_ID, "is required")),
        Some(Value::String(s)) => {
            MerchantId::parse(s).map_err(|e| FieldError::new(field::MERCHANT_ID, e.to_string()))
        }
        Some(_) => Err(FieldError::new(field::MERCHANT_ID, "must be a string")),
    }
}

/// The `sign_type` a request claims; absent or empty means MD5, the classic API's default.
pub fn sign_type(fields: &Map<String, Value>) -> Result<SignType, FieldError> {
    match fields.get(field::SIGN_TYPE) {
        None | Some(Value::Null) => Ok(SignType::Md5),
        Some(Value::String(s)) if s.is_empty() => Ok(SignType::Md5),
        Some(Value::String(s)) => s
            .parse()
            .map_err(|_| FieldError::new(field::SIGN_TYPE, "must be MD5, HMAC-SHA256 or RSA2")),
        Some(_) => Err(FieldError::new(field::SIGN_TYPE, "must be a string")),
    }
}

/// The request's `sign`, which must be non-empty text.
pub fn sign(fields: &Map<String, Value>) -> Result<&str, FieldError> {
    match fields.get(field::SIGN) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        None | Some(Value::Null) => Err(FieldError::new(field::SIGN, "is required")),
        Some(_) => Err(FieldError::new(field::SIGN, "must be a non-empty string")),
    }
}

/// The request's `nonce`.
pub fn nonce(fields: &Map<String, Value>) -> Result<Nonce, FieldError> {
    match fields.get(field::NONCE) {
        Some(Value::String(s)) => {
            Nonce::parse(s).map_err(|e| FieldError::new(field::NONCE, e.to_string()))
        }
        None | Some(Value::Null) => Err(FieldError::new(field::NONCE, "is required")),
        Some(_) => Err(FieldError::new(field::NONCE, "must be a string")),
    }
}

/// `code=SUCCESS` around an answer's own fields, with the answer's timestamp; the signature is
/// added last, over all of it.
pub fn success(fields: Map<String, Value>, now_secs: i64) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert(field::CODE.into(), Value::from("SUCCESS"));
    out.insert(field::MSG.into(), Value::from("OK"));
    out.extend(fields);
    out.insert(field::TIMESTAMP.into(), Value::from(now_secs));
    out
}

/// A signed answer's schema: its own `fields` inside what `success` and the signature add, in
/// the order they are written.
pub(crate) fn success_schema(fields: Vec<Property>) -> RefOr<Schema> {
    let mut properties = vec![
        Property {
            name: field::CODE,
            schema: values(["SUCCESS"], "The request succeeded.").into(),
            required: true,
        },
        text_prop(field::MSG, None),
    ];
    properties.extend(fields);
    properties.extend([
        int_prop(field::TIMESTAMP, None),
        text_prop(field::SIGN_TYPE, None),
        text_prop(field::SIGN, None),
    ]);
    answer(properties, None)
}

/// What every merchant request carries besides its own fields.
pub struct SignedFields;

request_schema!(
    SignedFields,
    "SignedFields",
    [],
    object(
        vec![
            (
                field::MERCHANT_ID,
                string(MERCHANT_ID, (2, 32), "The merchant's id.").into()
            ),
            (
                field::TIMESTAMP,
                integer_or_digits("Unix seconds; at most 300 s from the gateway's clock.").into(),
            ),
            (
                field::NONCE,
                string(
                    NONCE,
                    (8, 32),
                    "Never reused by this merchant within the timestamp window."
                )
                .into(),
            ),
            (
                field::SIGN_TYPE,
                one_of_values(
                    &SignType::ALL.map(SignType::as_str),
                    "Default MD5. Must be the merchant's configured type; it is signed too.",
                )
                .into(),
            ),
            (
                field::SIGN,
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .description(Some(
                        "Signature over every other non-empty field sorted by key (DESIGN §12).",
                    ))
                    .into(),
            ),
        ],
        &[
            field::MERCHANT_ID,
            field::TIMESTAMP,
            field::NONCE,
            field::SIGN
        ],
    )
    .into()
);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn timestamp_of(value: Value) -> Result<Option<i64>, FieldError> {
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
                Err(FieldError { field, .. }) => assert_eq!(field, "timestamp", "{value}"),
                other => panic!("{value}: {other:?}"),
            }
        }
    }
}
