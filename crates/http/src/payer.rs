//! The payer's own API: a payer's app, authenticated with the bearer token its wallet account
//! was given (`paygate wallet token`), asks for a one-time pay code to show a merchant. It is
//! never a merchant credential, and a refusal never says whether an account exists.

use crate::error::ApiError;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use paygate_api::payer::PayCodeResponse;
use paygate_api::ErrorResponse;
use paygate_app::App;

/// Issue a one-time pay code (18 digits starting 88, valid 60 s) for the token's account.
#[utoipa::path(post, path = "/api/wallet/paycode", tag = "payer",
    security(("payer_token" = [])),
    responses((status = 200, body = PayCodeResponse,
               description = "a fresh pay code; show it to the merchant, who sends it as auth_code"),
              (status = 401, body = ErrorResponse,
               description = "payer token missing or wrong (error_code 1002)")))]
pub async fn paycode(State(app): State<App>, headers: HeaderMap) -> Result<Response, ApiError> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let issued = app
        .pay_code_for_token(presented)
        .await
        .map_err(|error| ApiError {
            error,
            app: app.clone(),
            merchant: None,
        })?;
    let body = PayCodeResponse::from(&issued);
    // A credential: no cache may keep it.
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(body)).into_response())
}
