//! Bearer tokens of the operator surfaces (`/admin`, and `/metrics` when protected). Tokens are
//! compared in constant time, and a missing, malformed or empty `Authorization` header never
//! matches anything, whatever is configured.

use crate::ApiError;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use paygate_app::{App, AppError};
use subtle::ConstantTimeEq;

/// True when the request carries `Authorization: Bearer <expected>`. `expected` is never empty:
/// an empty configured token means the surface is off or open, decided by the caller.
pub fn matches(headers: &HeaderMap, expected: &str) -> bool {
    assert!(!expected.is_empty(), "an empty token is never compared");
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(given) if !given.is_empty() => bool::from(given.as_bytes().ct_eq(expected.as_bytes())),
        _ => false,
    }
}

/// 401 with the API's error body (credentials that do not hold are a 1002, as for merchants)
/// and the challenge naming the scheme.
pub fn unauthorized(app: &App, msg: &str) -> Response {
    let refusal = ApiError {
        error: AppError::Sign(msg.into()),
        app: app.clone(),
        merchant: None,
    };
    let mut response = refusal.into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_authorization(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn only_the_exact_bearer_token_matches() {
        let token = "t".repeat(32);
        assert!(matches(
            &with_authorization(&format!("Bearer {token}")),
            &token
        ));
        assert!(!matches(&HeaderMap::new(), &token));
        assert!(!matches(&with_authorization("Bearer "), &token));
        assert!(!matches(&with_authorization(&token), &token));
        assert!(!matches(
            &with_authorization(&format!("Basic {token}")),
            &token
        ));
        assert!(!matches(
            &with_authorization(&format!("Bearer {token}x")),
            &token
        ));
        assert!(!matches(
            &with_authorization(&format!("Bearer {}", &token[1..])),
            &token
        ));
    }
}
