//! The `Signed` extractor: a merchant request whose body is a flat JSON object with a valid
//! signature, fresh timestamp and unused nonce, read into its `paygate_api` type only once the
//! signature over the raw object holds. Handlers that take it never see anything else.

use crate::error::ApiError;
use crate::respond::sign_and_send;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use paygate_api::ApiRequest;
use paygate_app::auth::{RequestNonce, VerifiedRequest};
use paygate_app::{App, AppError, MerchantKeys};
use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, Visitor};
use serde_json::{Map, Value};
use std::fmt;
use std::sync::Arc;

/// A verified request of type `R`, and who sent it.
pub struct Signed<R> {
    pub caller: Caller,
    pub request: R,
}

/// The merchant a verified request came from: answers and refusals are signed for it.
pub struct Caller {
    pub app: App,
    pub merchant: Arc<MerchantKeys>,
}

impl Caller {
    pub fn fail(&self, error: AppError) -> ApiError {
        ApiError {
            error,
            app: self.app.clone(),
            merchant: Some(self.merchant.clone()),
        }
    }

    pub fn ok(&self, fields: Map<String, Value>) -> Response {
        let body = paygate_app::views::success(&self.app, fields);
        sign_and_send(&self.app, Some(&self.merchant), StatusCode::OK, body)
    }
}

/// Reads the body as one JSON object. A key given twice is refused rather than letting the last
/// one win: a proxy, a log or the merchant's own code could read the other value than the one we
/// act on, and the signature would not tell them apart.
fn parse_body(bytes: &[u8]) -> Result<Map<String, Value>, AppError> {
    let mut repeated = None;
    let mut json = serde_json::Deserializer::from_slice(bytes);
    let parsed = UniqueKeys(&mut repeated)
        .deserialize(&mut json)
        .and_then(|map| json.end().map(|()| map));
    match (parsed, repeated) {
        (Ok(map), _) => Ok(map),
        (Err(_), Some(key)) => Err(AppError::param(key, "appears more than once")),
        (Err(e), None) if e.is_data() => Err(AppError::param("body", "must be a flat JSON object")),
        (Err(e), None) => Err(AppError::param("body", format!("is not valid JSON: {e}"))),
    }
}

/// Builds the top-level object key by key, noting the first key that comes twice.
struct UniqueKeys<'a>(&'a mut Option<String>);

impl<'de> DeserializeSeed<'de> for UniqueKeys<'_> {
    type Value = Map<String, Value>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueKeys<'_> {
    type Value = Map<String, Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                *self.0 = Some(key);
                return Err(A::Error::custom("a key appears more than once"));
            }
            let value = access.next_value::<Value>()?;
            map.insert(key, value);
        }
        Ok(map)
    }
}

/// A verified create whose nonce is not yet recorded: the create records it in the order's own
/// transaction (`App::create_signed_order`), and the parse's result is kept so that a refused
/// request records it too (a replay is refused whatever became of the first request).
pub struct SignedDeferred<R> {
    pub caller: Caller,
    pub request: Result<R, AppError>,
    pub nonce: RequestNonce,
}

/// Reads, identifies and verifies a signed request; the nonce is recorded here unless `defer`.
async fn verify(
    request: Request,
    app: &App,
    defer: bool,
) -> Result<(Caller, VerifiedRequest), Response> {
    let unsigned = |error| {
        ApiError {
            error,
            app: app.clone(),
            merchant: None,
        }
        .into_response()
    };
    let bytes = Bytes::from_request(request, app)
        .await
        .map_err(|rejection| {
            // Over the limit is 413 (so a client knows to send less, not to fix a field), with
            // the same JSON body as every other refusal.
            let mut response = unsigned(AppError::param("body", rejection.body_text()));
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
            }
            response
        })?;
    let fields = parse_body(&bytes).map_err(unsigned)?;
    let merchant = paygate_app::auth::identify(app, &fields)
        .await
        .map_err(unsigned)?;
    let verified = if defer {
        app.verify_request_deferring_nonce(merchant.clone(), fields)
    } else {
        app.verify_request(merchant.clone(), fields).await
    };
    let verified = verified.map_err(|error| {
        ApiError {
            error,
            app: app.clone(),
            merchant: Some(merchant),
        }
        .into_response()
    })?;
    let caller = Caller {
        app: app.clone(),
        merchant: verified.merchant.clone(),
    };
    Ok((caller, verified))
}

fn parse<R: ApiRequest>(app: &App, verified: &VerifiedRequest) -> Result<R, AppError> {
    let now_secs = app.clock().now_ms() / 1000;
    R::parse(&verified.fields, now_secs).map_err(Into::into)
}

impl<R: ApiRequest + Send> FromRequest<App> for Signed<R> {
    type Rejection = Response;

    async fn from_request(request: Request, app: &App) -> Result<Self, Self::Rejection> {
        let (caller, verified) = verify(request, app, false).await?;
        match parse(app, &verified) {
            Ok(request) => Ok(Signed { caller, request }),
            Err(refused) => Err(caller.fail(refused).into_response()),
        }
    }
}

impl<R: ApiRequest + Send> FromRequest<App> for SignedDeferred<R> {
    type Rejection = Response;

    async fn from_request(request: Request, app: &App) -> Result<Self, Self::Rejection> {
        let (caller, verified) = verify(request, app, true).await?;
        Ok(SignedDeferred {
            request: parse(app, &verified),
            nonce: verified.nonce,
            caller,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused_field(body: &str) -> String {
        match parse_body(body.as_bytes()) {
            Err(AppError::Param { field, .. }) => field,
            other => panic!("{body}: {other:?}"),
        }
    }

    #[test]
    fn a_repeated_key_is_named_even_when_spelled_with_an_escape() {
        assert_eq!(refused_field(r#"{"a": "1", "b": 2, "a": "2"}"#), "a");
        assert_eq!(
            refused_field(r#"{"total_amount": "1", "total\u005famount": "2"}"#),
            "total_amount"
        );
    }

    #[test]
    fn keys_keep_their_order_and_nested_values_are_kept_for_the_type_check() {
        let map = parse_body(br#"{"z": 1, "a": {"x": 1, "x": 2}, "m": true}"#).unwrap();
        assert_eq!(map.keys().collect::<Vec<_>>(), ["z", "a", "m"]);
    }

    #[test]
    fn anything_but_one_object_is_a_body_error() {
        for body in [
            r#"[{"a": 1}]"#,
            "\"a\"",
            r#"{"a": 1"#,
            r#"{"a": 1} {"b": 2}"#,
            "",
        ] {
            assert_eq!(refused_field(body), "body", "{body}");
        }
    }
}
