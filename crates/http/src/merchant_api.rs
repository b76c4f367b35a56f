//! The merchant API (DESIGN §3): thin handlers that parse a command, call one use case and
//! answer with a signed view.

use crate::signed::{Signed, SignedCreate};
use crate::ApiError;
use axum::response::Response;
use paygate_app::commands::{parse_order_ref, parse_refund_ref, CreateOrder, RefundOrder};

/// Create an order; idempotent on `out_trade_no`.
#[utoipa::path(post, path = "/api/payment/create", tag = "payment",
    request_body = crate::openapi::CreateOrderRequest,
    responses((status = 200, body = crate::openapi::OrderResponse),
              (status = "4XX", body = crate::openapi::ErrorResponse),
              (status = 503, description = "1006: retry later", body = crate::openapi::ErrorResponse)))]
pub async fn create(SignedCreate(req): SignedCreate) -> Result<Response, ApiError> {
    let now_secs = req.app.clock().now_ms() / 1000;
    let cmd = CreateOrder::parse(&req.fields, now_secs);
    let order = req
        .app
        .create_signed_order(&req.merchant, cmd, &req.nonce)
        .await
        .map_err(|e| req.fail(e))?;
    Ok(req.ok(req.app.order_view(&order)))
}

/// Query an order by `trade_no` (preferred) or `out_trade_no`.
#[utoipa::path(post, path = "/api/payment/query", tag = "payment",
    request_body = crate::openapi::OrderRefRequest,
    responses((status = 200, body = crate::openapi::OrderResponse),
              (status = "4XX", body = crate::openapi::ErrorResponse),
              (status = 503, description = "1006: retry later", body = crate::openapi::ErrorResponse)))]
pub async fn query(req: Signed) -> Result<Response, ApiError> {
    let by = parse_order_ref(&req.fields).map_err(|e| req.fail(e))?;
    let order = req
        .app
        .find_order(&req.merchant, &by)
        .await
        .map_err(|e| req.fail(e))?;
    Ok(req.ok(req.app.order_view(&order)))
}

/// Close an unpaid order; a paid order answers 1004.
#[utoipa::path(post, path = "/api/payment/close", tag = "payment",
    request_body = crate::openapi::OrderRefRequest,
    responses((status = 200, body = crate::openapi::OrderResponse),
              (status = "4XX", body = crate::openapi::ErrorResponse),
              (status = 503, description = "1006: retry later", body = crate::openapi::ErrorResponse)))]
pub async fn close(req: Signed) -> Result<Response, ApiError> {
    let by = parse_order_ref(&req.fields).map_err(|e| req.fail(e))?;
    let order = req
        .app
        .close_order(&req.merchant, &by)
        .await
        .map_err(|e| req.fail(e))?;
    Ok(req.ok(req.app.order_view(&order)))
}

/// Refund all or part of a paid order; idempotent on `out_refund_no`.
#[utoipa::path(post, path = "/api/payment/refund", tag = "refund",
    request_body = crate::openapi::RefundRequest,
    responses((status = 200, body = crate::openapi::RefundResponse),
              (status = "4XX", body = crate::openapi::ErrorResponse),
              (status = 503, description = "1006: retry later", body = crate::openapi::ErrorResponse)))]
pub async fn refund(req: Signed) -> Result<Response, ApiError> {
    let cmd = RefundOrder::parse(&req.fields).map_err(|e| req.fail(e))?;
    let (refund, order) = req
        .app
        .refund_order(&req.merchant, cmd)
        .await
        .map_err(|e| req.fail(e))?;
    Ok(req.ok(req.app.refund_view(&refund, &order)))
}

/// Query a refund by `refund_no` (preferred) or `out_refund_no`.
#[utoipa::path(post, path = "/api/payment/refund/query", tag = "refund",
    request_body = crate::openapi::RefundRefRequest,
    responses((status = 200, body = crate::openapi::RefundResponse),
              (status = "4XX", body = crate::openapi::ErrorResponse),
              (status = 503, description = "1006: retry later", body = crate::openapi::ErrorResponse)))]
pub async fn refund_query(req: Signed) -> Result<Response, ApiError> {
    let by = parse_refund_ref(&req.fields).map_err(|e| req.fail(e))?;
    let (refund, order) = req
        .app
        .find_refund(&req.merchant, &by)
        .await
        .map_err(|e| req.fail(e))?;
    Ok(req.ok(req.app.refund_view(&refund, &order)))
}
