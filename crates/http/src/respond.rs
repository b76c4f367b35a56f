use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use paygate_app::{App, MerchantKeys};
use serde_json::{Map, Value};

/// Signs the body for the merchant (when known) and sends it as JSON.
pub fn sign_and_send(
    app: &App,
    merchant: Option<&MerchantKeys>,
    status: StatusCode,
    mut body: Map<String, Value>,
) -> Response {
    if let Some(merchant) = merchant {
        app.sign_for(merchant, &mut body);
    }
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        Value::Object(body).to_string(),
    )
        .into_response()
}
