//! The payer simulator (`POST /sandbox/payer`) and faults (`POST|DELETE /sandbox/faults`), with
//! the WeChat Pay sandbox's JSON: a trade named by `out_trade_no` (UnionPay's `orderId`) or by
//! its QR `code_url`, or a pay code (`auth_code`) arranged to answer `fail` or `userpaying`
//! the next time it is presented. No signature: it stands for a person, not a merchant.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::book::{BookError, State as TxnState};
use super::App;
use crate::faults::{FaultRequest, ARMED_MAX};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Pay,
    Fail,
    Userpaying,
    Abandon,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PayerRequest {
    #[serde(default)]
    out_trade_no: Option<String>,
    #[serde(default)]
    code_url: Option<String>,
    #[serde(default)]
    auth_code: Option<String>,
    action: Action,
}

#[derive(Debug, Clone, Serialize)]
pub struct PayerAnswer {
    out_trade_no: String,
    /// `origRespCode` the trade now has.
    orig_resp_code: String,
    query_id: String,
}

fn refused(status: StatusCode, message: impl Into<String>) -> Response {
    (
        status,
        Json(serde_json::json!({ "code": "PARAM_ERROR", "message": message.into() })),
    )
        .into_response()
}

pub async fn act(State(app): State<App>, Json(request): Json<PayerRequest>) -> Response {
    if let Some(code) = request.auth_code {
        let fail = match request.action {
            Action::Fail => true,
            Action::Userpaying => false,
            Action::Pay | Action::Abandon => {
                return refused(
                    StatusCode::BAD_REQUEST,
                    "a pay code can be arranged to answer userpaying or fail",
                )
            }
        };
        app.book().arrange_code(&code, fail);
        return Json(serde_json::json!({ "auth_code": code, "action": request.action }))
            .into_response();
    }
    let order_id = match (request.out_trade_no, request.code_url) {
        (Some(no), _) => Some(no),
        (None, Some(url)) => app.book().by_qr_code(&url).map(|t| t.order_id.clone()),
        (None, None) => {
            return refused(
                StatusCode::BAD_REQUEST,
                "out_trade_no, code_url or auth_code is required",
            )
        }
    };
    let Some(order_id) = order_id else {
        return refused(StatusCode::NOT_FOUND, "no such trade");
    };
    let outcome = match request.action {
        Action::Pay => super::pay(&app, &order_id),
        Action::Fail | Action::Abandon => app
            .book()
            .settle(&order_id, TxnState::Failed, 0)
            .and_then(|_| app.book().get(&order_id).cloned().ok_or(BookError::NoTrade)),
        Action::Userpaying => app.book().get(&order_id).cloned().ok_or(BookError::NoTrade),
    };
    match outcome {
        Ok(txn) => Json(PayerAnswer {
            out_trade_no: txn.order_id,
            orig_resp_code: txn.state.code().to_owned(),
            query_id: txn.query_id,
        })
        .into_response(),
        Err(BookError::NoTrade) => refused(StatusCode::NOT_FOUND, "no such trade"),
        Err(error) => refused(StatusCode::CONFLICT, error.to_string()),
    }
}

/// The cashier page's "pay" button.
pub async fn front_pay(State(app): State<App>, Path(order_id): Path<String>) -> Response {
    match super::pay(&app, &order_id) {
        Ok(txn) => Html(format!(
            "<p>Paid: order {} ({} fen).</p>",
            txn.order_id, txn.amount_fen
        ))
        .into_response(),
        Err(error) => (StatusCode::NOT_FOUND, error.to_string()).into_response(),
    }
}

pub async fn arm(State(app): State<App>, Json(request): Json<FaultRequest>) -> Response {
    if !app.faults().arm(request.clone()) {
        return refused(
            StatusCode::BAD_REQUEST,
            format!("at most {ARMED_MAX} faults are armed at once"),
        );
    }
    tracing::info!(?request, "UnionPay sandbox fault armed");
    (StatusCode::CREATED, Json(request)).into_response()
}

pub async fn clear(State(app): State<App>) -> StatusCode {
    app.faults().clear();
    StatusCode::NO_CONTENT
}
