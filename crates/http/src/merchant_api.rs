//! The merchant API (DESIGN §3): thin handlers that take a verified request, call one use case
//! and answer with a signed view.

use crate::signed::{Signed, SignedDeferred};
use crate::ApiError;
use axum::response::Response;
use paygate_api::{CloseOrder, CreateOrder, ErrorResponse, Order, QueryOrder, QueryRefund};
use paygate_api::{CreatePayout, PayoutView, QueryPayout};
use paygate_api::{PartnerOrderStatus, PartnerOrderView, Refund, RefundView};
use paygate_app::commands::{order_ref, payout_ref, refund_ref};
use paygate_app::partner::PartnerReport;

/// Create an order; idempotent on `out_trade_no`.
#[utoipa::path(post, path = "/api/payment/create", tag = "payment",
    request_body = CreateOrder,
    responses((status = 200, body = Order),
              (status = "4XX", body = ErrorResponse),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn create(
    SignedDeferred {
        caller,
        request,
        nonce,
    }: SignedDeferred<CreateOrder>,
) -> Result<Response, ApiError> {
    let order = caller
        .app
        .create_signed_order(&caller.merchant, request, &nonce)
        .await
        .map_err(|e| caller.fail(e))?;
    Ok(caller.ok(caller.app.order_view(&order)))
}

/// Query an order by `trade_no` (preferred) or `out_trade_no`.
#[utoipa::path(post, path = "/api/payment/query", tag = "payment",
    request_body = paygate_api::order_ref::OrderRefRequest,
    responses((status = 200, body = Order),
              (status = "4XX", body = ErrorResponse),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn query(Signed { caller, request }: Signed<QueryOrder>) -> Result<Response, ApiError> {
    let order = caller
        .app
        .find_order(&caller.merchant, &order_ref(&request.order))
        .await
        .map_err(|e| caller.fail(e))?;
    Ok(caller.ok(caller.app.order_view(&order)))
}

/// Close an unpaid order; a paid order answers 1004.
#[utoipa::path(post, path = "/api/payment/close", tag = "payment",
    request_body = paygate_api::order_ref::OrderRefRequest,
    responses((status = 200, body = Order),
              (status = "4XX", body = ErrorResponse),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn close(Signed { caller, request }: Signed<CloseOrder>) -> Result<Response, ApiError> {
    let order = caller
        .app
        .close_order(&caller.merchant, &order_ref(&request.order))
        .await
        .map_err(|e| caller.fail(e))?;
    Ok(caller.ok(caller.app.order_view(&order)))
}

/// Refund all or part of a paid order; idempotent on `out_refund_no`.
#[utoipa::path(post, path = "/api/payment/refund", tag = "refund",
    request_body = Refund,
    responses((status = 200, body = RefundView),
              (status = "4XX", body = ErrorResponse),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn refund(Signed { caller, request }: Signed<Refund>) -> Result<Response, ApiError> {
    let (refund, order) = caller
        .app
        .refund_order(&caller.merchant, request)
        .await
        .map_err(|e| caller.fail(e))?;
    Ok(caller.ok(caller.app.refund_view(&refund, &order)))
}

/// Query a refund by `refund_no` (preferred) or `out_refund_no`.
#[utoipa::path(post, path = "/api/payment/refund/query", tag = "refund",
    request_body = QueryRefund,
    responses((status = 200, body = RefundView),
              (status = "4XX", body = ErrorResponse),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn refund_query(
    Signed { caller, request }: Signed<QueryRefund>,
) -> Result<Response, ApiError> {
    let (refund, order) = caller
        .app
        .find_refund(&caller.merchant, &refund_ref(&request))
        .await
        .map_err(|e| caller.fail(e))?;
    Ok(caller.ok(caller.app.refund_view(&refund, &order)))
}

/// The partner reports an order's fulfilment, receipt or after-sale close; a step the order's
/// state does not allow answers 1004.
#[utoipa::path(post, path = "/api/partner/order-status", tag = "partner",
    request_body = PartnerOrderStatus,
    responses((status = 200, body = PartnerOrderView),
              (status = "4XX", body = ErrorResponse),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn partner_order_status(
    Signed { caller, request }: Signed<PartnerOrderStatus>,
) -> Result<Response, ApiError> {
    let report = PartnerReport {
        status: request.partner_status,
        reported_at_secs: request.status_time,
    };
    let (order, partner_status) = caller
        .app
        .report_partner_status(&caller.merchant, &order_ref(&request.order), report)
        .await
        .map_err(|e| caller.fail(e))?;
    Ok(caller.ok(PartnerOrderView::of(&order, partner_status).to_fields()))
}

/// Pay out from the merchant's available balance to a wallet account (free, at once) or a
/// bank card (a fixed fee, asynchronous); idempotent on `out_payout_no`.
#[utoipa::path(post, path = "/api/payout/create", tag = "payout",
    request_body = CreatePayout,
    responses((status = 200, body = PayoutView),
              (status = "4XX", description = "1001 a bad field; 1004 out_payout_no reused with other values; 1005 insufficient available balance; 1017 a limit per payout, day or month; 1018 not eligible; 1019 too many payouts this minute", body = ErrorResponse),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn payout_create(
    Signed { caller, request }: Signed<CreatePayout>,
) -> Result<Response, ApiError> {
    let payout = caller
        .app
        .create_payout(&caller.merchant, request)
        .await
        .map_err(|e| caller.fail(e))?;
    Ok(caller.ok(caller.app.payout_view(&payout)))
}

/// Query a payout by `payout_no` (preferred) or `out_payout_no`.
#[utoipa::path(post, path = "/api/payout/query", tag = "payout",
    request_body = QueryPayout,
    responses((status = 200, body = PayoutView),
              (status = "4XX", description = "1020: no such payout", body = ErrorResponse),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn payout_query(
    Signed { caller, request }: Signed<QueryPayout>,
) -> Result<Response, ApiError> {
    let payout = caller
        .app
        .find_payout(&caller.merchant, &payout_ref(&request))
        .await
        .map_err(|e| caller.fail(e))?;
    Ok(caller.ok(caller.app.payout_view(&payout)))
}
