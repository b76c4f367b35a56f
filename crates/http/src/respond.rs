use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use paygate_api::ErrorResponse;
use paygate_app::{App, AppError, MerchantKeys};
use paygate_domain::ErrorCode;
use serde_json::{Map, Value};

/// Signs the body for the merchant (when known) and sends it as JSON. When signing fails the
/// merchant gets a 1006 instead (logged), never the answer unsigned.
pub fn sign_and_send(
    app: &App,
    merchant: Option<&MerchantKeys>,
    status: StatusCode,
    body: Map<String, Value>,
) -> Response {
    let (status, body) = match merchant {
        Some(merchant) => signed_or_refused(status, body, app.clock().now_ms() / 1000, |body| {
            app.sign_for(merchant, body)
        }),
        None => (status, body),
    };
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        Value::Object(body).to_string(),
    )
        .into_response()
}

/// The signed body, or a 1006 refusal when `sign` fails. The refusal is signed if it can be; if
/// not it goes unsigned, which is safe because it carries nothing but the error code.
fn signed_or_refused(
    status: StatusCode,
    mut body: Map<String, Value>,
    now_secs: i64,
    sign: impl Fn(&mut Map<String, Value>) -> Result<(), AppError>,
) -> (StatusCode, Map<String, Value>) {
    let Err(error) = sign(&mut body) else {
        return (status, body);
    };
    tracing::error!(%error, "signing an answer failed; answering 1006 instead");
    let mut refusal = signing_failed(now_secs);
    if sign(&mut refusal).is_err() {
        refusal = signing_failed(now_secs);
    }
    let status = crate::error::status_of(ErrorCode::SystemBusy);
    (status, refusal)
}

fn signing_failed(now_secs: i64) -> Map<String, Value> {
    let code = ErrorCode::SystemBusy;
    ErrorResponse::new(code, code.default_message(), None, now_secs).to_fields()
}

#[cfg(test)]
mod tests {
    use super::*;
    use paygate_domain::sign::{SignKey, VerifyKey};
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().expect("an object").clone()
    }

    fn md5_signer(body: &mut Map<String, Value>) -> Result<(), AppError> {
        Ok(SignKey::Md5("secret".into()).sign_in_place(body)?)
    }

    #[test]
    fn a_body_that_cannot_be_signed_becomes_a_signed_1006_without_its_fields() {
        // A nested value has no string-to-sign, so signing this body fails.
        let body = object(json!({"code": "SUCCESS", "trade_no": "P1", "nested": {"a": 1}}));
        let (status, sent) = signed_or_refused(StatusCode::OK, body, 1_700_000_000, md5_signer);
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(sent["code"], "FAIL");
        assert_eq!(sent["error_code"], "1006");
        assert!(sent.get("trade_no").is_none(), "{sent:?}");
        VerifyKey::Md5("secret".into())
            .verify(&sent)
            .expect("the refusal is signed");
    }

    #[test]
    fn when_no_signature_is_possible_the_1006_goes_out_with_nothing_else() {
        let failing = |_: &mut Map<String, Value>| -> Result<(), AppError> {
            Err(AppError::Internal(anyhow::anyhow!("RSA signing failed")))
        };
        let body = object(json!({"code": "SUCCESS", "trade_no": "P1"}));
        let (status, sent) = signed_or_refused(StatusCode::OK, body, 1_700_000_000, failing);
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            Value::Object(sent),
            json!({"code": "FAIL", "error_code": "1006",
                   "msg": ErrorCode::SystemBusy.default_message(), "timestamp": 1_700_000_000})
        );
    }

    #[test]
    fn a_signable_body_is_sent_signed_with_its_status() {
        let body = object(json!({"code": "SUCCESS", "trade_no": "P1"}));
        let (status, sent) = signed_or_refused(StatusCode::OK, body, 1_700_000_000, md5_signer);
        assert_eq!(status, StatusCode::OK);
        assert_eq!(sent["trade_no"], "P1");
        VerifyKey::Md5("secret".into()).verify(&sent).unwrap();
    }
}
