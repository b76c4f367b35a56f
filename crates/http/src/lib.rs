//! The HTTP edge: axum routers for the merchant API, the cashier and operations, the `Signed`
//! extractor that verifies merchant requests, and `ApiError`, which turns an `AppError` into an
//! HTTP status and a stable error code.

mod admin;
mod bearer;
mod cashier;
mod error;
mod layers;
mod merchant_api;
pub mod openapi;
mod ops;
mod payer;
mod respond;
mod server;
mod signed;

pub use error::ApiError;
pub use ops::metrics_handle;
pub use server::{listen, ConnectionLimits};

use axum::routing::{get, post};
use axum::Router;
use paygate_app::App;
use std::time::Duration;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

/// Merchant requests are small flat objects; anything larger is refused before parsing.
pub const BODY_BYTES_MAX: usize = 64 * 1024;
pub const REQUEST_TIMEOUT_MS: u64 = 30_000;

pub fn router(app: App) -> Router {
    metrics_handle();
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
    let routes = Router::new()
        .merge(SwaggerUi::new("/docs").url("/openapi.json", openapi::ApiDoc::openapi()))
        .merge(api);
    layers::edge(
        routes,
        BODY_BYTES_MAX,
        Duration::from_millis(REQUEST_TIMEOUT_MS),
    )
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish; `limits` bound the
/// connections it holds (see `server`).
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: App,
    limits: ConnectionLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    server::serve_router(listener, router(app), limits, shutdown).await
}
