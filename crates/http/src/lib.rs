//! The HTTP edge: axum routers for the merchant API, the cashier and operations, the `Signed`
//! extractor that verifies merchant requests, and `ApiError`, which turns an `AppError` into an
//! HTTP status and a stable error code.

mod admin;
mod bearer;
mod callbacks;
mod cashier;
pub mod cashier_session;
mod cashier_view;
mod error;
mod layers;
mod merchant_api;
pub mod openapi;
mod ops;
mod payer;
mod payer_pages;
mod respond;
mod server;
mod signed;
mod split_api;
mod union_login;

pub use error::ApiError;
pub use ops::metrics_handle;
pub use server::{listen, ConnectionLimits};

use axum::Router;
use paygate_app::App;
use std::time::Duration;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

/// Merchant requests are small flat objects; anything larger is refused before parsing.
pub const BODY_BYTES_MAX: usize = 64 * 1024;
pub const REQUEST_TIMEOUT_MS: u64 = 30_000;

/// Every route of the API, each registered with its documentation by `routes!`: a handler
/// without `#[utoipa::path]` does not compile here, and the document is built from this list.
pub(crate) fn api_routes() -> OpenApiRouter<App> {
    OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(merchant_api::create))
        .routes(routes!(merchant_api::query))
        .routes(routes!(merchant_api::close))
        .routes(routes!(merchant_api::refund))
        .routes(routes!(merchant_api::refund_query))
        .routes(routes!(merchant_api::partner_order_status))
        .routes(routes!(merchant_api::balance_query))
        .routes(routes!(split_api::receiver_add))
        .routes(routes!(split_api::receiver_remove))
        .routes(routes!(split_api::apply))
        .routes(routes!(split_api::finish))
        .routes(routes!(split_api::query))
        .routes(routes!(split_api::split_return))
        .routes(routes!(merchant_api::withdraw))
        .routes(routes!(merchant_api::withdraw_query))
        .routes(routes!(merchant_api::settlement_request))
        .routes(routes!(merchant_api::payout_create))
        .routes(routes!(merchant_api::payout_query))
        .routes(routes!(union_login::union_login))
        .routes(routes!(ops::public_key))
        .routes(routes!(payer::paycode))
        .routes(routes!(cashier::page))
        .routes(routes!(cashier::choose))
        .routes(routes!(cashier::status))
        .routes(routes!(cashier::qr))
        .routes(routes!(cashier::result))
        .routes(routes!(cashier::sandbox_pay))
        .routes(routes!(cashier::signed_in))
        .routes(routes!(cashier::asset))
        .routes(routes!(union_login::login))
        .routes(routes!(
            cashier_session::wallet_get,
            cashier_session::wallet_post
        ))
        .routes(routes!(cashier_session::me))
        .routes(routes!(callbacks::receive))
        .routes(routes!(admin::order_notifications))
        .routes(routes!(admin::resend))
        .routes(routes!(admin::anomalies))
        .routes(routes!(admin::union_login_key))
        .routes(routes!(admin::settlements))
        .routes(routes!(admin::run_settlements))
        .routes(routes!(admin::ledger_balances))
        .routes(routes!(admin::ledger_statement))
        .routes(routes!(admin::payout_limits, admin::set_payout_limits))
        .routes(routes!(admin::merchant_money, admin::set_merchant_money))
        .routes(routes!(admin::merchant_fees, admin::set_merchant_fees))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::metrics))
}

/// The API and its document's own pages, before state and layers.
fn routes() -> Router<App> {
    let (api, doc) = api_routes().split_for_parts();
    Router::new()
        .merge(SwaggerUi::new("/docs").url("/openapi.json", doc))
        .merge(api)
}

pub fn router(app: App) -> Router {
    metrics_handle();
    layers::edge(
        routes().with_state(app),
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The document's own pages, the only routes it does not describe.
    const UNDOCUMENTED: [&str; 4] = ["/docs", "/docs/", "/docs/{*rest}", "/openapi.json"];

    /// The paths a router matches. axum has no public listing, but its `Debug` output names
    /// every registered path as a quoted string, before its own fallback routes.
    fn registered_paths(router: &Router<App>) -> BTreeSet<String> {
        let shown = format!("{router:?}");
        let (registered, _fallbacks) = shown
            .split_once("fallback_router")
            .expect("axum shows its fallback router after the routes");
        registered
            .split('"')
            .skip(1)
            .step_by(2)
            .filter(|text| text.starts_with('/'))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn every_registered_route_is_documented_and_every_documented_one_registered() {
        let registered = registered_paths(&routes());
        let document = openapi::document();
        let documented: BTreeSet<String> = document["paths"]
            .as_object()
            .expect("the document has paths")
            .keys()
            .cloned()
            .collect();
        assert!(registered.contains("/api/payment/create"), "{registered:?}");
        let undocumented: Vec<&String> = registered
            .iter()
            .filter(|path| !documented.contains(*path) && !UNDOCUMENTED.contains(&path.as_str()))
            .collect();
        assert!(
            undocumented.is_empty(),
            "registered without documentation: {undocumented:?}"
        );
        let unregistered: Vec<&String> = documented.difference(&registered).collect();
        assert!(
            unregistered.is_empty(),
            "documented but not registered: {unregistered:?}"
        );
    }
}
