//! The operator API, behind its own bearer token (`PAYGATE_ADMIN_TOKEN`); without a token set
//! (or with an empty one) it does not exist. Merchant credentials never open it.

use crate::bearer;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use paygate_app::App;
use paygate_domain::TradeNo;
use serde_json::json;

/// Proof that the request carried the admin token.
pub struct Admin;

impl FromRequestParts<App> for Admin {
    type Rejection = Response;

    /// An unset or empty token means the admin API is off (404); otherwise only the exact bearer
    /// token passes, and a missing header is a 401 like a wrong one.
    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let expected = app.settings().admin_token.as_deref().unwrap_or("");
        if expected.is_empty() {
            return Err(StatusCode::NOT_FOUND.into_response());
        }
        if bearer::matches(&parts.headers, expected) {
            Ok(Admin)
        } else {
            Err(bearer::unauthorized("admin token required"))
        }
    }
}

fn failure(error: paygate_app::AppError) -> Response {
    let status = crate::error::status_of(error.code());
    if let paygate_app::AppError::Internal(cause) = &error {
        tracing::error!(error = ?cause, "admin request failed");
    }
    (
        status,
        Json(json!({"error_code": error.code().code(), "msg": error.public_message()})),
    )
        .into_response()
}

/// Every notification of an order, with every delivery attempt.
#[utoipa::path(get, path = "/admin/orders/{trade_no}/notifications", tag = "admin",
    params(("trade_no" = String, Path, description = "Our trade number")),
    security(("admin_token" = [])),
    responses((status = 200, description = "notifications with their attempt logs"),
              (status = 401, description = "admin token missing or wrong"),
              (status = 404, description = "admin API off (PAYGATE_ADMIN_TOKEN unset or empty)")))]
pub async fn order_notifications(
    _: Admin,
    State(app): State<App>,
    Path(trade_no): Path<String>,
) -> Response {
    let Ok(trade_no) = TradeNo::parse(&trade_no) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error_code": "1001", "msg": "trade_no is malformed"})),
        )
            .into_response();
    };
    match app.order_notifications(&trade_no).await {
        Ok(list) => {
            Json(json!({"trade_no": trade_no.as_str(), "notifications": list})).into_response()
        }
        Err(error) => failure(error),
    }
}

/// Make a notification due now, whatever its state.
#[utoipa::path(post, path = "/admin/notifications/{id}/resend", tag = "admin",
    params(("id" = i64, Path, description = "Notification id")),
    security(("admin_token" = [])),
    responses((status = 200, description = "the notification, queued"),
              (status = 400, description = "no such notification"),
              (status = 401, description = "admin token missing or wrong")))]
pub async fn resend(_: Admin, State(app): State<App>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return failure(paygate_app::AppError::param(
            "id",
            "must be a notification id",
        ));
    };
    match app.resend_notification(id).await {
        Ok(notification) => Json(notification).into_response(),
        Err(error) => failure(error),
    }
}

/// Open anomalies, such as a payment reported after the order was closed.
#[utoipa::path(get, path = "/admin/anomalies", tag = "admin",
    security(("admin_token" = [])),
    responses((status = 200, description = "open anomalies"),
              (status = 401, description = "admin token missing or wrong")))]
pub async fn anomalies(_: Admin, State(app): State<App>) -> Response {
    match app.anomalies().await {
        Ok(list) => Json(json!({"anomalies": list})).into_response(),
        Err(error) => failure(error),
    }
}
