//! The payer simulator (`POST /sandbox/payer`): plays the payer's side of a trade, named by its
//! `out_trade_no` or its Native `code_url`, or arranges how a pay code will answer the next
//! micropay that presents it. No signature: it stands for a person, not a merchant.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use paygate_channels::wechat::v3_wire::{ErrorBody, TradeState};
use serde::{Deserialize, Serialize};

use crate::book::{BookError, CodePlan, Recorded, Trade, UnpaidMove};
use crate::callbacks::{Callback, Event, Kind};
use crate::{ids, now_cst, App};

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
    trade_state: TradeState,
    #[serde(skip_serializing_if = "Option::is_none")]
    transaction_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Arranged {
    auth_code: String,
    action: Action,
}

fn refused(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = ErrorBody {
        code: code.to_owned(),
        message: message.into(),
    };
    (status, Json(body)).into_response()
}

fn book_refusal(error: BookError) -> Response {
    match error {
        BookError::NoTrade => refused(StatusCode::NOT_FOUND, "ORDER_NOT_EXIST", "no such trade"),
        other => refused(StatusCode::CONFLICT, "INVALID_STATE", other.to_string()),
    }
}

pub async fn act(State(app): State<App>, Json(request): Json<PayerRequest>) -> Response {
    if let Some(auth_code) = request.auth_code {
        let plan = match request.action {
            Action::Userpaying => CodePlan::Userpaying,
            Action::Fail => CodePlan::Fail,
            Action::Pay | Action::Abandon => {
                return refused(
                    StatusCode::BAD_REQUEST,
                    "PARAM_ERROR",
                    "a pay code can be arranged to answer userpaying or fail",
                )
            }
        };
        app.book().arrange_code(&auth_code, plan);
        let arranged = Arranged {
            auth_code,
            action: request.action,
        };
        return Json(arranged).into_response();
    }
    let out_trade_no = {
        let book = app.book();
        match (request.out_trade_no, request.code_url) {
            (Some(no), _) => Some(no),
            (None, Some(url)) => book.out_trade_no_of_code_url(&url).map(str::to_owned),
            (None, None) => {
                return refused(
                    StatusCode::BAD_REQUEST,
                    "PARAM_ERROR",
                    "out_trade_no, code_url or auth_code is required",
                )
            }
        }
    };
    let Some(out_trade_no) = out_trade_no else {
        return book_refusal(BookError::NoTrade);
    };
    let outcome = match request.action {
        Action::Pay => pay(&app, &out_trade_no),
        Action::Fail => app.book().set_unpaid(&out_trade_no, UnpaidMove::Fail),
        Action::Userpaying => app.book().set_unpaid(&out_trade_no, UnpaidMove::Userpaying),
        Action::Abandon => app.book().set_unpaid(&out_trade_no, UnpaidMove::Abandon),
    };
    match outcome {
        Ok(trade) => Json(PayerAnswer {
            out_trade_no: trade.out_trade_no,
            trade_state: trade.state,
            transaction_id: trade.transaction_id,
        })
        .into_response(),
        Err(error) => book_refusal(error),
    }
}

/// Pays the trade and, the first time, sends its TRANSACTION.SUCCESS callback as the faults say.
fn pay(app: &App, out_trade_no: &str) -> Result<Trade, BookError> {
    let now = now_cst();
    let mut book = app.book();
    let paid = match book.pay(out_trade_no, ids::transaction_id(now), now)? {
        Recorded::Replay(trade) => return Ok(trade),
        Recorded::New(trade) => trade,
    };
    let Some(url) = &paid.notify_url else {
        return Ok(paid);
    };
    let json =
        serde_json::to_string(&crate::v3::transaction(&paid)).expect("a transaction serialises");
    let callback = Callback::seal(
        &app.credentials.apiv3_key,
        url,
        Kind::TransactionSuccess,
        &json,
        now,
    );
    let plan = app.faults().take_callback(out_trade_no, Event::Payment);
    if plan.hold_until_refund {
        book.trade_mut(out_trade_no)?.held_callback = Some(callback);
    } else {
        app.callbacks.dispatch(callback, plan, None);
    }
    Ok(paid)
}

/// Where an H5 order's `h5_url` leads: a page naming the trade (the payer acts through
/// `/sandbox/payer`).
pub async fn h5_page(State(app): State<App>, Path(out_trade_no): Path<String>) -> Response {
    match app.book().trade(&out_trade_no) {
        Some(trade) => format!(
            "WeChat Pay sandbox: H5 cashier for {} ({} fen). POST /sandbox/payer to act.\n",
            trade.out_trade_no, trade.total
        )
        .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
