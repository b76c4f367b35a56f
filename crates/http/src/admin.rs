//! The operator API, behind its own bearer token (`PAYGATE_ADMIN_TOKEN`); without a token set
//! (or with an empty one) it does not exist. Merchant credentials never open it.

use crate::bearer;
use crate::ApiError;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use paygate_api::admin::{Anomalies, Notification, OrderNotifications, UnionLoginKeyView};
use paygate_api::admin::{PayoutLimitsInput, PayoutLimitsView};
use paygate_api::ErrorResponse;
use paygate_app::{App, AppError};
use paygate_domain::payout_rules::PayoutLimits;
use paygate_domain::{MerchantId, TradeNo};

/// Proof that the request carried the admin token.
pub struct Admin;

impl FromRequestParts<App> for Admin {
    type Rejection = Response;

    /// An unset or empty token means the admin API is off (404); otherwise only the exact bearer
    /// token passes, and a missing header is a 401 like a wrong one.
    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let expected = app
            .settings()
            .admin_token
            .as_ref()
            .map_or("", |t| t.expose());
        if expected.is_empty() {
            return Err(StatusCode::NOT_FOUND.into_response());
        }
        if bearer::matches(&parts.headers, expected) {
            Ok(Admin)
        } else {
            let refused = AppError::Sign("admin token missing or wrong".into());
            Err(failure(app, refused))
        }
    }
}

/// The merchant API's error body (`code`, `error_code`, `msg`, `error_field`), unsigned: the
/// operator is no merchant.
fn failure(app: &App, error: AppError) -> Response {
    ApiError {
        error,
        app: app.clone(),
        merchant: None,
    }
    .into_response()
}

/// Every notification of an order, with every delivery attempt.
#[utoipa::path(get, path = "/admin/orders/{trade_no}/notifications", tag = "admin",
    params(("trade_no" = String, Path, description = "Our trade number",
             pattern = "^[0-9A-Za-z]{8,32}$", min_length = 8, max_length = 32)),
    security(("admin_token" = [])),
    responses((status = 200, description = "notifications with their attempt logs", body = OrderNotifications),
              (status = 400, description = "1001: trade_no is malformed", body = ErrorResponse),
              (status = 401, description = "1002: admin token missing or wrong", body = ErrorResponse),
              (status = 404, description = "admin API off (PAYGATE_ADMIN_TOKEN unset or empty): no body"),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn order_notifications(
    _: Admin,
    State(app): State<App>,
    Path(trade_no): Path<String>,
) -> Response {
    let trade_no = match TradeNo::parse(&trade_no) {
        Ok(trade_no) => trade_no,
        Err(error) => return failure(&app, AppError::param("trade_no", error.to_string())),
    };
    match app.order_notifications(&trade_no).await {
        Ok(notifications) => Json(OrderNotifications {
            trade_no: trade_no.as_str().into(),
            notifications,
        })
        .into_response(),
        Err(error) => failure(&app, error),
    }
}

/// Make a notification due now, whatever its state.
#[utoipa::path(post, path = "/admin/notifications/{id}/resend", tag = "admin",
    params(("id" = i64, Path, description = "Notification id", minimum = 1)),
    security(("admin_token" = [])),
    responses((status = 200, description = "the notification, queued", body = Notification),
              (status = 400, description = "1001 naming `id`: not a notification id, or no such notification", body = ErrorResponse),
              (status = 401, description = "1002: admin token missing or wrong", body = ErrorResponse),
              (status = 404, description = "admin API off (no PAYGATE_ADMIN_TOKEN): no body"),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn resend(_: Admin, State(app): State<App>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return failure(&app, AppError::param("id", "must be a notification id"));
    };
    match app.resend_notification(id).await {
        Ok(notification) => Json(notification).into_response(),
        Err(error) => failure(&app, error),
    }
}

/// Open anomalies, such as a payment reported after the order was closed.
#[utoipa::path(get, path = "/admin/anomalies", tag = "admin",
    security(("admin_token" = [])),
    responses((status = 200, description = "open anomalies", body = Anomalies),
              (status = 401, description = "1002: admin token missing or wrong", body = ErrorResponse),
              (status = 404, description = "admin API off (no PAYGATE_ADMIN_TOKEN): no body"),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn anomalies(_: Admin, State(app): State<App>) -> Response {
    match app.anomalies().await {
        Ok(anomalies) => Json(Anomalies { anomalies }).into_response(),
        Err(error) => failure(&app, error),
    }
}

/// A merchant's union-login key (created now if the merchant has none yet), for the operator
/// to hand over: it decrypts the merchant's `POST /api/union-login` links.
#[utoipa::path(get, path = "/admin/merchants/{merchant_id}/union-login-key", tag = "admin",
    params(("merchant_id" = String, Path, description = "The merchant's id",
             pattern = "^[0-9A-Za-z_-]{2,32}$", min_length = 2, max_length = 32)),
    security(("admin_token" = [])),
    responses((status = 200, description = "the key", body = UnionLoginKeyView),
              (status = 400, description = "1001 naming `merchant_id`: malformed or unknown", body = ErrorResponse),
              (status = 401, description = "1002: admin token missing or wrong", body = ErrorResponse),
              (status = 404, description = "admin API off (no PAYGATE_ADMIN_TOKEN): no body"),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn union_login_key(
    _: Admin,
    State(app): State<App>,
    Path(merchant_id): Path<String>,
) -> Response {
    let merchant = match MerchantId::parse(&merchant_id) {
        Ok(merchant) => merchant,
        Err(error) => return failure(&app, AppError::param("merchant_id", error.to_string())),
    };
    match app.union_login_key(&merchant).await {
        Ok(key) => Json(UnionLoginKeyView {
            merchant_id: merchant.as_str().into(),
            union_login_key: key.to_hex(),
        })
        .into_response(),
        Err(error) => failure(&app, error),
    }
}

fn merchant_of(text: &str) -> Result<MerchantId, AppError> {
    MerchantId::parse(text).map_err(|error| AppError::param("merchant_id", error.to_string()))
}

fn limits_view(merchant: &MerchantId, limits: &PayoutLimits) -> Response {
    Json(PayoutLimitsView {
        merchant_id: merchant.as_str().into(),
        limits: PayoutLimitsInput::of(limits),
    })
    .into_response()
}

/// A merchant's payout limits in force: its own, or the configured defaults.
#[utoipa::path(get, path = "/admin/merchants/{merchant_id}/payout-limits", tag = "admin",
    params(("merchant_id" = String, Path, description = "The merchant's id",
             pattern = "^[0-9A-Za-z_-]{2,32}$", min_length = 2, max_length = 32)),
    security(("admin_token" = [])),
    responses((status = 200, description = "the limits", body = PayoutLimitsView),
              (status = 400, description = "1001 naming `merchant_id`: malformed", body = ErrorResponse),
              (status = 401, description = "1002: admin token missing or wrong", body = ErrorResponse),
              (status = 404, description = "admin API off (no PAYGATE_ADMIN_TOKEN): no body"),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn payout_limits(
    _: Admin,
    State(app): State<App>,
    Path(merchant_id): Path<String>,
) -> Response {
    let merchant = match merchant_of(&merchant_id) {
        Ok(merchant) => merchant,
        Err(error) => return failure(&app, error),
    };
    match app.payout_limits(&merchant).await {
        Ok(limits) => limits_view(&merchant, &limits),
        Err(error) => failure(&app, error),
    }
}

/// Set a merchant's payout limits.
#[utoipa::path(put, path = "/admin/merchants/{merchant_id}/payout-limits", tag = "admin",
    params(("merchant_id" = String, Path, description = "The merchant's id",
             pattern = "^[0-9A-Za-z_-]{2,32}$", min_length = 2, max_length = 32)),
    request_body = PayoutLimitsInput,
    security(("admin_token" = [])),
    responses((status = 200, description = "the limits now in force", body = PayoutLimitsView),
              (status = 400, description = "1001 naming the field: malformed body, a value out of range, or an unknown merchant", body = ErrorResponse),
              (status = 401, description = "1002: admin token missing or wrong", body = ErrorResponse),
              (status = 404, description = "admin API off (no PAYGATE_ADMIN_TOKEN): no body"),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn set_payout_limits(
    _: Admin,
    State(app): State<App>,
    Path(merchant_id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let merchant = match merchant_of(&merchant_id) {
        Ok(merchant) => merchant,
        Err(error) => return failure(&app, error),
    };
    let limits = serde_json::from_slice::<PayoutLimitsInput>(&body)
        .map_err(|e| AppError::param("body", e.to_string()))
        .and_then(|input| input.to_limits().map_err(AppError::from));
    let limits = match limits {
        Ok(limits) => limits,
        Err(error) => return failure(&app, error),
    };
    match app.set_payout_limits(&merchant, &limits).await {
        Ok(limits) => limits_view(&merchant, &limits),
        Err(error) => failure(&app, error),
    }
}
