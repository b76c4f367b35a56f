//! The HTTP edge: axum routers for the merchant API, the cashier and operations, the `Signed`
//! extractor that verifies merchant requests, and `ApiError`, which turns an `AppError` into an
//! HTTP status and a stable error code.

mod admin;
mod cashier;
mod error;
mod merchant_api;
pub mod openapi;
mod ops;
mod payer;
mod respond;
mod signed;

pub use error::ApiError;
pub use ops::metrics_handle;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::routing::{get, post};
use axum::Router;
use paygate_app::App;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

/// Merchant requests are small flat objects; anything larger is refused before parsing.
pub const BODY_BYTES_MAX: usize = 64 * 1024;
pub const REQUEST_TIMEOUT_MS: u64 = 30_000;

pub fn router(app: App) -> Router {
    metrics_handle();
    let request_id = HeaderName::from_static("x-request-id");
    let api = Router::new()
        .route("/api/payment/create", post(merchant_api::create))
        .route("/api/payment/query", post(merchant_api::query))
        .route("/api/payment/close", post(merchant_api::close))
        .route("/api/payment/refund", post(merchant_api::refund))
        .route(
            "/api/payment/refund/query",
            post(merchant_api::refund_query),
        )
        .route("/api/platform/public-key", get(ops::public_key))
        .route("/api/wallet/paycode", post(payer::paycode))
        .route("/cashier/{trade_no}", get(cashier::page))
        .route(
            "/admin/orders/{trade_no}/notifications",
            get(admin::order_notifications),
        )
        .route("/admin/notifications/{id}/resend", post(admin::resend))
        .route("/admin/anomalies", get(admin::anomalies))
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .with_state(app);
    Router::new()
        .merge(SwaggerUi::new("/docs").url("/openapi.json", openapi::ApiDoc::openapi()))
        .merge(api)
        .layer(axum::middleware::from_fn(ops::track_requests))
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_millis(REQUEST_TIMEOUT_MS),
        ))
        .layer(CatchPanicLayer::new())
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                let id = request
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", method = %request.method(), uri = %request.uri(), request_id = %id)
            }),
        )
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: App,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown)
        .await
}
