//! The refusal every API answers with, merchant and admin alike: `code=FAIL`, a stable
//! `error_code`, a message and, for 1001 and a reused key's 1004, the field.

use crate::field;
use crate::fields::Answer;
use crate::schema::values;
use paygate_domain::ErrorCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::openapi::schema::Object;
use utoipa::ToSchema;

fn fail() -> Object {
    values(["FAIL"], "The request was refused; see error_code.")
}

fn error_code() -> Object {
    let meanings: Vec<String> = ErrorCode::ALL
        .iter()
        .map(|code| format!("{} {}", code.code(), code.default_message()))
        .collect();
    values(
        ErrorCode::ALL.map(ErrorCode::code),
        &format!("Stable code: {}.", meanings.join("; ")),
    )
}

/// A refusal, from the merchant API and the admin API alike. Signed when the merchant is known;
/// the admin API's are never signed.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema, Serialize, Deserialize)]
pub struct ErrorResponse {
    #[schema(schema_with = fail)]
    pub code: String,
    #[schema(schema_with = error_code)]
    pub error_code: String,
    pub msg: String,
    /// The offending field, for 1001; for 1004 the first field that differs from the order
    /// or refund stored under a reused out_trade_no or out_refund_no.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_field: Option<String>,
    pub timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign: Option<String>,
}

impl ErrorResponse {
    /// An unsigned refusal; the signature, when there is one, is added over `to_fields`.
    pub fn new(
        code: ErrorCode,
        msg: impl Into<String>,
        error_field: Option<&str>,
        now_secs: i64,
    ) -> ErrorResponse {
        ErrorResponse {
            code: "FAIL".into(),
            error_code: code.code().into(),
            msg: msg.into(),
            error_field: error_field.map(str::to_owned),
            timestamp: now_secs,
            sign_type: None,
            sign: None,
        }
    }

    pub fn to_fields(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(fields)) => fields,
            _ => unreachable!("a struct of strings and integers serialises to an object"),
        }
    }
}

/// What a merchant makes of an answer before trusting it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `code=SUCCESS`: to be verified before it is believed.
    Success,
    /// Any other `code`, with the `error_code` and `msg` it gave (as text; empty when absent).
    Refused { error_code: String, msg: String },
    /// No string `code` at all.
    Unknown,
}

/// Reads an answer's `code`, and a refusal's `error_code` and `msg` leniently: a numeric code
/// reads as text.
pub fn outcome(body: &Map<String, Value>) -> Outcome {
    match body.get(field::CODE).and_then(Value::as_str) {
        Some("SUCCESS") => Outcome::Success,
        Some(_) => {
            let answer = Answer(body);
            let text = |key| match body.get(key) {
                Some(Value::String(_) | Value::Number(_)) => answer.text(key).unwrap_or_default(),
                _ => String::new(),
            };
            Outcome::Refused {
                error_code: text(field::ERROR_CODE),
                msg: text(field::MSG),
            }
        }
        None => Outcome::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_refusal_names_its_field_only_when_it_has_one() {
        let named = ErrorResponse::new(ErrorCode::ParamError, "x: bad", Some("x"), 7);
        assert_eq!(
            Value::Object(named.to_fields()),
            json!({"code": "FAIL", "error_code": "1001", "msg": "x: bad", "error_field": "x",
                   "timestamp": 7})
        );
        let plain = ErrorResponse::new(ErrorCode::SystemBusy, "busy", None, 7);
        assert!(plain.to_fields().get("error_field").is_none());
    }

    #[test]
    fn a_numeric_error_code_is_read_as_text() {
        let body = json!({"code": "FAIL", "msg": "x", "error_code": 1004});
        assert_eq!(
            outcome(body.as_object().unwrap()),
            Outcome::Refused {
                error_code: "1004".into(),
                msg: "x".into()
            }
        );
    }
}
