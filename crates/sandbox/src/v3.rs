//! API v3 orders: create (JSAPI, Native, H5, APP), query by either number, close. Requests are
//! checked as WeChat Pay checks them and refused in its error shape.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use paygate_channels::wechat::v3_wire::{
    CreateOrder, Created, ErrorBody, PaidAmount, Payer, TradeState, Transaction,
};
use serde::Deserialize;

use crate::auth::Verified;
use crate::book::{Book, BookError, Origin, Recorded, Trade, TradeType};
use crate::{ids, now_cst, rfc3339, App};

pub const OUT_TRADE_NO_CHARS_MIN: usize = 6;
pub const OUT_TRADE_NO_CHARS_MAX: usize = 32;
pub const DESCRIPTION_CHARS_MAX: usize = 127;

/// An error answer: `{"code": "...", "message": "..."}` with WeChat Pay's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V3Error {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl V3Error {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> V3Error {
        V3Error {
            status,
            code,
            message: message.into(),
        }
    }
    pub fn sign(message: &str) -> V3Error {
        V3Error::new(StatusCode::UNAUTHORIZED, "SIGN_ERROR", message)
    }
    pub fn param(message: impl Into<String>) -> V3Error {
        V3Error::new(StatusCode::BAD_REQUEST, "PARAM_ERROR", message)
    }
    pub fn invalid(message: impl Into<String>) -> V3Error {
        V3Error::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", message)
    }
    pub fn system() -> V3Error {
        V3Error::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "SYSTEM_ERROR",
            "系统错误",
        )
    }
    fn order_not_exist() -> V3Error {
        V3Error::new(StatusCode::NOT_FOUND, "ORDER_NOT_EXIST", "订单不存在")
    }
}

impl IntoResponse for V3Error {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code.to_owned(),
            message: self.message,
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<BookError> for V3Error {
    fn from(error: BookError) -> V3Error {
        let message = error.to_string();
        match error {
            BookError::NoTrade => V3Error::order_not_exist(),
            BookError::NoRefund => {
                V3Error::new(StatusCode::NOT_FOUND, "RESOURCE_NOT_EXISTS", message)
            }
            BookError::Closed => V3Error::new(StatusCode::BAD_REQUEST, "ORDER_CLOSED", message),
            BookError::Paid => V3Error::new(StatusCode::BAD_REQUEST, "ORDERPAID", message),
            // The over-refund text is WeChat Pay's own (as merchants report it); the other two
            // are the sandbox's, in the same style.
            BookError::RefundExceedsPaid => V3Error::invalid("申请退款金额超过订单可退金额"),
            BookError::TooManyRefunds => V3Error::invalid("订单已部分退款超过50次"),
            BookError::RefundWindowPassed => V3Error::invalid("订单已超过退款期限"),
            BookError::NumberReused | BookError::State(_) | BookError::TotalMismatch => {
                V3Error::invalid(message)
            }
        }
    }
}

pub fn parse_json<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, V3Error> {
    serde_json::from_str(body).map_err(|e| V3Error::param(format!("body does not parse: {e}")))
}

pub async fn create_jsapi(State(app): State<App>, request: Verified) -> Result<Response, V3Error> {
    create(&app, TradeType::Jsapi, &request.body)
}

pub async fn create_native(State(app): State<App>, request: Verified) -> Result<Response, V3Error> {
    create(&app, TradeType::Native, &request.body)
}

pub async fn create_h5(State(app): State<App>, request: Verified) -> Result<Response, V3Error> {
    create(&app, TradeType::Mweb, &request.body)
}

pub async fn create_app(State(app): State<App>, request: Verified) -> Result<Response, V3Error> {
    create(&app, TradeType::App, &request.body)
}

fn create(app: &App, trade_type: TradeType, body: &str) -> Result<Response, V3Error> {
    let order: CreateOrder = parse_json(body)?;
    check_order(app, trade_type, &order)?;
    let now = now_cst();
    let answer = match trade_type {
        TradeType::Native => Created {
            code_url: Some(ids::code_url()),
            ..Created::default()
        },
        TradeType::Mweb => Created {
            h5_url: Some(format!(
                "{}/sandbox/h5/{}",
                app.credentials.base_url, order.out_trade_no
            )),
            ..Created::default()
        },
        TradeType::Jsapi | TradeType::App | TradeType::Micropay => Created {
            prepay_id: Some(ids::prepay_id(now)),
            ..Created::default()
        },
    };
    let trade = Trade::opened(
        order.out_trade_no.clone(),
        Origin::V3(trade_type, order),
        answer,
    );
    let (Recorded::New(trade) | Recorded::Replay(trade)) = app.book().create(trade)?;
    Ok((StatusCode::OK, Json(trade.answer)).into_response())
}

fn check_order(app: &App, trade_type: TradeType, order: &CreateOrder) -> Result<(), V3Error> {
    if order.mchid != app.credentials.mchid {
        return Err(V3Error::new(
            StatusCode::BAD_REQUEST,
            "MCH_NOT_EXISTS",
            "商户号不存在",
        ));
    }
    if order.appid != app.credentials.appid {
        return Err(V3Error::new(
            StatusCode::BAD_REQUEST,
            "APPID_MCHID_NOT_MATCH",
            "appid和mch_id不匹配",
        ));
    }
    check_out_trade_no(&order.out_trade_no)?;
    let description_chars = order.description.chars().count();
    if description_chars == 0 || description_chars > DESCRIPTION_CHARS_MAX {
        return Err(V3Error::param("description must be 1 to 127 characters"));
    }
    if order.amount.total <= 0 {
        return Err(V3Error::param(
            "amount.total must be a positive number of fen",
        ));
    }
    if order.amount.currency.as_deref().is_some_and(|c| c != "CNY") {
        return Err(V3Error::param("amount.currency must be CNY"));
    }
    check_notify_url(&order.notify_url)?;
    match trade_type {
        TradeType::Jsapi if order.payer.as_ref().is_none_or(|p| p.openid.is_empty()) => {
            Err(V3Error::param("payer.openid is required for JSAPI"))
        }
        TradeType::Mweb
            if order
                .scene_info
                .as_ref()
                .is_none_or(|s| s.payer_client_ip.is_empty() || s.h5_info.is_none()) =>
        {
            Err(V3Error::param(
                "scene_info.payer_client_ip and scene_info.h5_info are required for H5",
            ))
        }
        _ => Ok(()),
    }
}

/// 6 to 32 characters of digits, letters, `_`, `-`, `*`.
pub fn check_out_trade_no(no: &str) -> Result<(), V3Error> {
    let valid = (OUT_TRADE_NO_CHARS_MIN..=OUT_TRADE_NO_CHARS_MAX).contains(&no.len())
        && no
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'*'));
    if valid {
        Ok(())
    } else {
        Err(V3Error::param(
            "out_trade_no must be 6 to 32 characters of [0-9A-Za-z_-*]",
        ))
    }
}

/// HTTPS, or HTTP to a loopback host (the sandbox's one leniency, for local gateways).
pub fn check_notify_url(text: &str) -> Result<(), V3Error> {
    let refused = || V3Error::param("notify_url must be an https URL");
    let url = url::Url::parse(text).map_err(|_| refused())?;
    let loopback = match url.host() {
        Some(url::Host::Domain(name)) => name == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(refused()),
    }
}

/// Optional, so a missing `mchid` is answered as WeChat Pay does (`PARAM_ERROR`).
#[derive(Debug, Deserialize)]
pub struct MchidQuery {
    #[serde(default)]
    mchid: Option<String>,
}

fn check_mchid(app: &App, mchid: Option<&str>) -> Result<(), V3Error> {
    match mchid {
        Some(id) if id == app.credentials.mchid => Ok(()),
        Some(_) => Err(V3Error::param("mchid does not match the signer")),
        None => Err(V3Error::param("mchid is required")),
    }
}

pub async fn query_by_out_trade_no(
    State(app): State<App>,
    Path(out_trade_no): Path<String>,
    Query(query): Query<MchidQuery>,
    _signed: Verified,
) -> Result<Json<Transaction>, V3Error> {
    query_trade(&app, &query, |book| book.trade(&out_trade_no))
}

pub async fn query_by_transaction_id(
    State(app): State<App>,
    Path(transaction_id): Path<String>,
    Query(query): Query<MchidQuery>,
    _signed: Verified,
) -> Result<Json<Transaction>, V3Error> {
    query_trade(&app, &query, |book| {
        book.out_trade_no_of_transaction(&transaction_id)
            .and_then(|no| book.trade(no))
    })
}

/// Both queries: the signer's own mchid, then the trade `find` picks from the book.
fn query_trade(
    app: &App,
    query: &MchidQuery,
    find: impl FnOnce(&Book) -> Option<&Trade>,
) -> Result<Json<Transaction>, V3Error> {
    check_mchid(app, query.mchid.as_deref())?;
    let book = app.book();
    let trade = find(&book).ok_or_else(V3Error::order_not_exist)?;
    Ok(Json(transaction(trade)))
}

#[derive(Debug, Deserialize)]
struct CloseBody {
    mchid: String,
}

pub async fn close(
    State(app): State<App>,
    Path(out_trade_no): Path<String>,
    request: Verified,
) -> Result<StatusCode, V3Error> {
    let body: CloseBody = parse_json(&request.body)?;
    check_mchid(&app, Some(&body.mchid))?;
    app.book().close(&out_trade_no)?;
    Ok(StatusCode::NO_CONTENT)
}

/// A trade as a query answers it and a payment callback carries it.
pub fn transaction(trade: &Trade) -> Transaction {
    let paid = trade.success_time.is_some();
    Transaction {
        appid: trade.appid.clone(),
        mchid: trade.mchid.clone(),
        out_trade_no: trade.out_trade_no.clone(),
        transaction_id: trade.transaction_id.clone(),
        trade_type: Some(trade.trade_type.as_str().to_owned()),
        trade_state: trade.state,
        trade_state_desc: state_desc(trade.state).to_owned(),
        bank_type: paid.then(|| "OTHERS".to_owned()),
        attach: trade.attach.clone().or_else(|| Some(String::new())),
        success_time: trade.success_time.map(rfc3339),
        payer: trade
            .openid
            .clone()
            .filter(|_| paid)
            .map(|openid| Payer { openid }),
        amount: Some(PaidAmount {
            total: Some(trade.total),
            payer_total: paid.then_some(trade.total),
            currency: Some("CNY".to_owned()),
            payer_currency: Some("CNY".to_owned()),
        }),
    }
}

fn state_desc(state: TradeState) -> &'static str {
    match state {
        TradeState::Success => "支付成功",
        TradeState::Refund => "转入退款",
        TradeState::Notpay => "未支付",
        TradeState::Closed => "已关闭",
        TradeState::Revoked => "已撤销（付款码支付）",
        TradeState::Userpaying => "用户支付中（付款码支付）",
        TradeState::Payerror => "支付失败",
    }
}
