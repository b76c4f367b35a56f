//! The layers every route sits behind. Each `.layer` wraps the ones before it, so the list reads
//! inside out; the request counter comes last, outermost, so it counts what the client actually
//! received, including the timeout's 503 and the panic catcher's 500.

use crate::ops;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request, StatusCode};
use axum::Router;
use paygate_domain::Untrusted;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub(crate) fn edge(routes: Router, body_bytes_max: usize, request_timeout: Duration) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    routes
        .layer(DefaultBodyLimit::max(body_bytes_max))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            request_timeout,
        ))
        .layer(CatchPanicLayer::new())
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(axum::middleware::from_fn(ops::track_requests))
}

/// The URI and the request id come from the client, so they are escaped in the log.
fn request_span<B>(request: &Request<B>) -> tracing::Span {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        method = %request.method(),
        uri = %Untrusted(request.uri()),
        request_id = %Untrusted(id),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::routing::get;
    use tower::ServiceExt;

    async fn slow() -> &'static str {
        tokio::time::sleep(Duration::from_secs(10)).await;
        "too late"
    }

    async fn panics() -> &'static str {
        panic!("a handler bug")
    }

    async fn status_of(router: &Router, path: &str) -> StatusCode {
        let request = Request::get(path).body(Body::empty()).expect("a request");
        router
            .clone()
            .oneshot(request)
            .await
            .expect("an answer")
            .status()
    }

    #[tokio::test]
    async fn a_timed_out_and_a_panicking_request_are_counted_with_the_status_sent() {
        let metrics = ops::metrics_handle();
        let routes = Router::new()
            .route("/layers-test/slow", get(slow))
            .route("/layers-test/panic", get(panics));
        let router = edge(routes, 1024, Duration::from_millis(50));

        assert_eq!(
            status_of(&router, "/layers-test/slow").await,
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            status_of(&router, "/layers-test/panic").await,
            StatusCode::INTERNAL_SERVER_ERROR
        );

        let text = metrics.render();
        for counted in [
            r#"paygate_http_requests_total{route="/layers-test/slow",status="503"} 1"#,
            r#"paygate_http_requests_total{route="/layers-test/panic",status="500"} 1"#,
        ] {
            assert!(text.contains(counted), "{counted} missing from:\n{text}");
        }
    }
}
