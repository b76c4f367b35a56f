//! The payer simulator (`POST /sandbox/payer`), with the WeChat Pay sandbox's JSON: plays the
//! payer's side of a trade named by its `out_trade_no` or its precreate `qr_code` (sent as
//! `code_url`), or arranges how a pay code answers the next `alipay.trade.pay`. An app-pay
//! trade never reaches Alipay's server before the payer does, so `order_string` (what
//! `alipay.trade.app.pay` hands the app) opens it first, after checking its signature.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::book::{BookError, CodePlan, Product, Trade};
use super::gateway::{self, Method};
use super::{notify, now_cst, trade, App};

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
    #[serde(default)]
    order_string: Option<String>,
    action: Action,
}

#[derive(Debug, Clone, Serialize)]
struct PayerAnswer {
    out_trade_no: String,
    trade_status: &'static str,
    trade_no: String,
}

#[derive(Debug, Clone, Serialize)]
struct Arranged {
    auth_code: String,
    action: Action,
}

#[derive(Serialize)]
struct ErrorBody {
    code: &'static str,
    message: String,
}

fn refused(status: StatusCode, code: &'static str, message: impl Into<String>) -> Response {
    let body = ErrorBody {
        code,
        message: message.into(),
    };
    (status, Json(body)).into_response()
}

fn book_refusal(error: BookError) -> Response {
    match error {
        BookError::NoTrade => refused(StatusCode::NOT_FOUND, "TRADE_NOT_EXIST", "no such trade"),
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
    let out_trade_no = match (request.out_trade_no, request.code_url, request.order_string) {
        (Some(no), _, _) => no,
        (None, Some(url), _) => match app.book().out_trade_no_of_qr_code(&url) {
            Some(no) => no.to_owned(),
            None => return book_refusal(BookError::NoTrade),
        },
        (None, None, Some(order)) => match open_app_order(&app, &order) {
            Ok(trade) => trade.out_trade_no().to_owned(),
            Err(response) => return *response,
        },
        (None, None, None) => {
            return refused(
                StatusCode::BAD_REQUEST,
                "PARAM_ERROR",
                "out_trade_no, code_url, order_string or auth_code is required",
            )
        }
    };
    let outcome = match request.action {
        Action::Pay => trade::pay_now(&app, &out_trade_no),
        Action::Fail => app
            .book()
            .close(&out_trade_no, now_cst())
            .inspect(|closed| {
                notify::announce(&app, closed, None);
            }),
        Action::Userpaying => app
            .book()
            .find(Some(&out_trade_no), None)
            .cloned()
            .ok_or(BookError::NoTrade),
        Action::Abandon => app.book().abandon(&out_trade_no),
    };
    match outcome {
        Ok(trade) => Json(PayerAnswer {
            out_trade_no: trade.out_trade_no().to_owned(),
            trade_status: trade.status.as_str(),
            trade_no: trade.trade_no,
        })
        .into_response(),
        Err(error) => book_refusal(error),
    }
}

/// Opens the trade an app's signed order string describes, as Alipay does when the app pays.
fn open_app_order(app: &App, order_string: &str) -> Result<Trade, Box<Response>> {
    let params = gateway::collect(order_string, b"");
    let call = gateway::verify(app, params).map_err(|refusal| Box::new(refusal.into_response()))?;
    if call.method != Method::AppPay {
        return Err(Box::new(refused(
            StatusCode::BAD_REQUEST,
            "PARAM_ERROR",
            "order_string must be an alipay.trade.app.pay order",
        )));
    }
    trade::ask_of(&call, Product::App)
        .and_then(|ask| trade::open(app, ask, false))
        .map_err(|failure| {
            Box::new(refused(
                StatusCode::CONFLICT,
                failure.sub_code,
                failure.sub_msg,
            ))
        })
}
