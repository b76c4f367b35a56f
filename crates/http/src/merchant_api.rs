//! The merchant API (DESIGN §3): thin handlers that take a verified request, call one use case
//! and answer with a signed view.

use crate::signed::{Signed, SignedDeferred};
use crate::ApiError;
use axum::response::Response;
use paygate_api::withdraw::{
    CreateWithdraw, QueryWithdraw, RequestSettlement, SettlementRequestView, WithdrawView,
};
use paygate_api::{BalanceView, QueryBalance};
use paygate_api::{CloseOrder, CreateOrder, ErrorResponse, Order, QueryOrder, QueryRefund};
use paygate_api::{CreatePayout, PayoutView, QueryPayout};
use paygate_api::{PartnerOrderStatus, PartnerOrderView, Refund, RefundView};
use paygate_app::commands::{order_ref, payout_ref, refund_ref};
use paygate_app::partner::PartnerReport;
use paygate_app::settlement::{settlement_request_view, withdraw_view, Withdraw};

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
    // A create without rules has an order without rules (a retry that differs is refused), so
    // only one with rules reads them back.
    let with_rules = request.as_ref().is_ok_and(|r| r.split.is_some());
    let order = caller
        .app
        .create_signed_order(&caller.merchant, request, &nonce)
        .await
        .map_err(|e| caller.fail(e))?;
    if !with_rules {
        return Ok(caller.ok(caller.app.order_view(&order)));
    }
    let view = caller
        .app
        .order_answer(&order)
        .await
        .map_err(|e| caller.fail(e))?;
    Ok(caller.ok(view))
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
    let view = caller
        .app
        .order_answer(&order)
        .await
        .map_err(|e| caller.fail(e))?;
    Ok(caller.ok(view))
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

/// The merchant's balances in one currency: unsettled (pending), available, and reserved for
/// refunds and payouts in flight.
#[utoipa::path(post, path = "/api/balance/query", tag = "balance",
    request_body = QueryBalance,
    responses((status = 200, body = BalanceView),
              (status = "4XX", body = ErrorResponse),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn balance_query(
    Signed { caller, request }: Signed<QueryBalance>,
) -> Result<Response, ApiError> {
    let view = caller
        .app
        .merchant_balance(&caller.merchant, request.currency)
        .await
        .map_err(|e| caller.fail(e))?;
    Ok(caller.ok(view.to_fields()))
}

/// Withdraw available (settled) money to the merchant's own account; idempotent on
/// `out_withdraw_no`. Short of available money: 1005 and nothing is written.
#[utoipa::path(post, path = "/api/withdraw/create", tag = "settlement",
    request_body = CreateWithdraw,
    responses((status = 200, body = WithdrawView),
              (status = "4XX", description = "1001 a bad field; 1004 out_withdraw_no reused with another amount; 1005 available balance short", body = ErrorResponse),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn withdraw(
    Signed { caller, request }: Signed<CreateWithdraw>,
) -> Result<Response, ApiError> {
    let record = caller
        .app
        .withdraw(
            &caller.merchant.record.id,
            Withdraw {
                out_withdraw_no: request.out_withdraw_no,
                amount: request.amount,
            },
        )
        .await
        .map_err(|e| caller.fail(e))?;
    Ok(caller.ok(withdraw_view(&record).to_fields()))
}

/// Query a withdrawal by `out_withdraw_no`; an unknown number answers 1003.
#[utoipa::path(post, path = "/api/withdraw/query", tag = "settlement",
    request_body = QueryWithdraw,
    responses((status = 200, body = WithdrawView),
              (status = "4XX", body = ErrorResponse),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn withdraw_query(
    Signed { caller, request }: Signed<QueryWithdraw>,
) -> Result<Response, ApiError> {
    let record = caller
        .app
        .withdrawal(&caller.merchant.record.id, &request.out_withdraw_no)
        .await
        .map_err(|e| caller.fail(e))?;
    Ok(caller.ok(withdraw_view(&record).to_fields()))
}

/// A manual-cycle merchant settles everything posted before the latest cut-off (02:00 China
/// time by default) from pending to available; at most once a business day, a repeat answers
/// the day's settlement. A merchant on automatic T+N settlement answers 1021.
#[utoipa::path(post, path = "/api/settlement/request", tag = "settlement",
    request_body = RequestSettlement,
    responses((status = 200, body = SettlementRequestView),
              (status = "4XX", description = "1001 a bad field; 1021 the merchant settles automatically", body = ErrorResponse),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn settlement_request(
    Signed { caller, request }: Signed<RequestSettlement>,
) -> Result<Response, ApiError> {
    let settled = caller
        .app
        .request_settlement(&caller.merchant.record.id, request.currency)
        .await
        .map_err(|e| caller.fail(e))?;
    Ok(caller.ok(settlement_request_view(&settled, request.currency).to_fields()))
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
