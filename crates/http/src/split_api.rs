//! The profit-sharing endpoints (分账, issue #11): signed like the rest of the merchant API,
//! each a thin call of one use case answered with a signed view.

use crate::signed::Signed;
use crate::ApiError;
use axum::response::Response;
use paygate_api::split::{
    AddReceiver, ApplySplit, FinishSplit, QuerySplit, ReceiverView, RemoveReceiver, ReturnSplit,
    ReturnView, SplitView,
};
use paygate_api::ErrorResponse;

/// Register a receiver the merchant may share to (WeChat `receivers/add`, Alipay
/// `royalty.relation.bind`); registering it again updates it.
#[utoipa::path(post, path = "/api/split/receiver/add", tag = "split",
    request_body = AddReceiver,
    responses((status = 200, body = ReceiverView),
              (status = "4XX", body = ErrorResponse),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn receiver_add(
    Signed { caller, request }: Signed<AddReceiver>,
) -> Result<Response, ApiError> {
    let view = caller
        .app
        .add_receiver(&caller.merchant, request)
        .await
        .map_err(|e| caller.fail(e))?;
    Ok(caller.ok(view.to_fields()))
}

/// Remove a receiver: no more shares to it (1014 if it is not registered); what it holds stays
/// its own.
#[utoipa::path(post, path = "/api/split/receiver/remove", tag = "split",
    request_body = RemoveReceiver,
    responses((status = 200, body = ReceiverView),
              (status = "4XX", body = ErrorResponse),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn receiver_remove(
    Signed { caller, request }: Signed<RemoveReceiver>,
) -> Result<Response, ApiError> {
    let view = caller
        .app
        .remove_receiver(&caller.merchant, request)
        .await
        .map_err(|e| caller.fail(e))?;
    Ok(caller.ok(view.to_fields()))
}

/// Share a paid order with registered receivers; idempotent on `out_split_no`. 1014: a receiver
/// not registered or over the channel's cap; 1015: over the shareable amount; 1016: the order is
/// not paid or its sharing was finished; 1005: the merchant's balance no longer covers it.
#[utoipa::path(post, path = "/api/split/apply", tag = "split",
    request_body = ApplySplit,
    responses((status = 200, body = SplitView),
              (status = "4XX", body = ErrorResponse),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn apply(Signed { caller, request }: Signed<ApplySplit>) -> Result<Response, ApiError> {
    let view = caller
        .app
        .apply_split(&caller.merchant, request)
        .await
        .map_err(|e| caller.fail(e))?;
    Ok(caller.ok(view.to_fields()))
}

/// End the order's sharing (WeChat `orders/unfreeze`): later shares answer 1016; idempotent on
/// `out_split_no`.
#[utoipa::path(post, path = "/api/split/finish", tag = "split",
    request_body = FinishSplit,
    responses((status = 200, body = SplitView),
              (status = "4XX", body = ErrorResponse),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn finish(Signed { caller, request }: Signed<FinishSplit>) -> Result<Response, ApiError> {
    let view = caller
        .app
        .finish_split(&caller.merchant, request)
        .await
        .map_err(|e| caller.fail(e))?;
    Ok(caller.ok(view.to_fields()))
}

/// Query a split request (a share or a finish) by `out_split_no`, with what each receiver was
/// given and what came back.
#[utoipa::path(post, path = "/api/split/query", tag = "split", operation_id = "split_query",
    request_body = QuerySplit,
    responses((status = 200, body = SplitView),
              (status = "4XX", body = ErrorResponse),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn query(Signed { caller, request }: Signed<QuerySplit>) -> Result<Response, ApiError> {
    let view = caller
        .app
        .query_split(&caller.merchant, request)
        .await
        .map_err(|e| caller.fail(e))?;
    Ok(caller.ok(view.to_fields()))
}

/// Take part of a share back from its receiver into the merchant's unsettled balance (分账回退,
/// WeChat `return-orders`); idempotent on `out_return_no`. 1015: more than the receiver holds
/// of the share; 1005: the receiver's account no longer holds it.
#[utoipa::path(post, path = "/api/split/return", tag = "split",
    request_body = ReturnSplit,
    responses((status = 200, body = ReturnView),
              (status = "4XX", body = ErrorResponse),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn split_return(
    Signed { caller, request }: Signed<ReturnSplit>,
) -> Result<Response, ApiError> {
    let view = caller
        .app
        .return_split(&caller.merchant, request)
        .await
        .map_err(|e| caller.fail(e))?;
    Ok(caller.ok(view.to_fields()))
}
