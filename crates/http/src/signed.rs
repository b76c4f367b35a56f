//! The `Signed` extractor: a merchant request whose body is a flat JSON object with a valid
//! signature, fresh timestamp and unused nonce. Handlers that take it never see anything else.

use crate::error::ApiError;
use crate::respond::sign_and_send;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::Response;
use paygate_app::{App, AppError, MerchantKeys};
use serde_json::{Map, Value};
use std::sync::Arc;

pub struct Signed {
    pub app: App,
    pub merchant: Arc<MerchantKeys>,
    pub fields: Map<String, Value>,
}

impl Signed {
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

fn parse_body(bytes: &[u8]) -> Result<Map<String, Value>, AppError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| AppError::param("body", format!("is not valid JSON: {e}")))?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(AppError::param("body", "must be a flat JSON object")),
    }
}

impl FromRequest<App> for Signed {
    type Rejection = ApiError;

    async fn from_request(request: Request, app: &App) -> Result<Self, Self::Rejection> {
        let unsigned = |error| ApiError {
            error,
            app: app.clone(),
            merchant: None,
        };
        let bytes = Bytes::from_request(request, app)
            .await
            .map_err(|e| unsigned(AppError::param("body", e.body_text())))?;
        let fields = parse_body(&bytes).map_err(unsigned)?;
        let merchant = paygate_app::auth::identify(app, &fields)
            .await
            .map_err(unsigned)?;
        let verified = app
            .verify_request(merchant.clone(), fields)
            .await
            .map_err(|error| ApiError {
                error,
                app: app.clone(),
                merchant: Some(merchant),
            })?;
        Ok(Signed {
            app: app.clone(),
            merchant: verified.merchant,
            fields: verified.fields,
        })
    }
}
