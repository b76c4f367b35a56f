//! Operations endpoints: health, metrics, the platform public key, and the request metrics
//! middleware.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use paygate_api::platform::PublicKeyResponse;
use paygate_app::App;
use paygate_domain::sign::SignType;
use std::sync::OnceLock;
use std::time::Instant;

/// The recorder is process-global, so it is installed once however many apps a process runs.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets(&[
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                ])
                .expect("bucket list is not empty")
                .install_recorder()
                .expect("no other metrics recorder is installed")
        })
        .clone()
}

pub async fn track_requests(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("paygate_http_requests_total", "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("paygate_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// 200 when the database answers, 503 otherwise.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "database reachable"),
              (status = 503, description = "database unreachable")))]
pub async fn healthz(State(app): State<App>) -> Response {
    match app.ready().await {
        Ok(()) => (StatusCode::OK, "ok").into_response(),
        Err(error) => {
            tracing::warn!(%error, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

/// Prometheus text: requests by route and status, latency, orders by state, notifications by
/// delivery state and attempts by result. The order and notification gauges are what the last
/// background refresh counted (`paygate_app::gauges`): a scrape runs no query. With
/// `PAYGATE_METRICS_TOKEN` set it needs that bearer token.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain"),
              (status = 401, description = "PAYGATE_METRICS_TOKEN is set and the bearer token is missing or wrong", body = paygate_api::ErrorResponse)))]
pub async fn metrics(State(app): State<App>, headers: HeaderMap) -> Response {
    let expected = app
        .settings()
        .metrics_token
        .as_ref()
        .map_or("", |t| t.expose());
    if !expected.is_empty() && !crate::bearer::matches(&headers, expected) {
        return crate::bearer::unauthorized(&app, "metrics token required");
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics_handle().render(),
    )
        .into_response()
}

/// The platform's RSA public key, for verifying RSA2 responses and notifications.
#[utoipa::path(get, path = "/api/platform/public-key", tag = "platform",
    responses((status = 200, body = PublicKeyResponse)))]
pub async fn public_key(State(app): State<App>) -> Json<PublicKeyResponse> {
    Json(PublicKeyResponse {
        public_key: app.platform_public_key(),
        sign_type: SignType::Rsa2.as_str().into(),
    })
}
