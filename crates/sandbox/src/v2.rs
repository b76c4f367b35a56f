//! API v2 micropay (付款码, B scans C): `/pay/micropay`, `/pay/orderquery`,
//! `/secapi/pay/reverse`, in flat XML signed with the v2 key (MD5, or HMAC-SHA256 when
//! `sign_type` says so). Answers carry `return_code` (the call) and `result_code` /
//! `err_code` (the business), as WeChat Pay's do. Micropay trades share the trade book, so the
//! v3 query and refund serve them too.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use paygate_channels::wechat::v2_sign::{self, V2SignType};
use paygate_channels::wechat::v2_xml::{from_xml, to_xml};
use paygate_channels::wechat::v3_wire::{Created, TradeState};
use std::collections::BTreeMap;

use crate::book::{
    BookError, CodePlan, MicropayOrder, Origin, Recorded, Trade, TradeType, UnpaidMove,
};
use crate::v3::check_out_trade_no;
use crate::{ids, now_cst, App};

type Params = BTreeMap<String, String>;

/// A request that passed the call layer: parsed, signed with our key, for our merchant.
struct Call {
    params: Params,
    sign_type: V2SignType,
}

/// A business refusal: `result_code` FAIL with this `err_code`.
struct Refusal {
    err_code: &'static str,
    err_code_des: String,
}

fn refuse(err_code: &'static str, err_code_des: impl Into<String>) -> Refusal {
    Refusal {
        err_code,
        err_code_des: err_code_des.into(),
    }
}

impl From<BookError> for Refusal {
    fn from(error: BookError) -> Refusal {
        let code = match error {
            BookError::NoTrade => "ORDERNOTEXIST",
            BookError::Closed => "ORDERCLOSED",
            BookError::Paid => "ORDERPAID",
            BookError::NumberReused => "OUT_TRADE_NO_USED",
            _ => "TRADE_STATE_ERROR",
        };
        refuse(code, error.to_string())
    }
}

pub fn system_error() -> Response {
    let mut params = Params::new();
    params.insert("return_code".into(), "FAIL".into());
    params.insert("return_msg".into(), "SYSTEMERROR".into());
    (StatusCode::INTERNAL_SERVER_ERROR, xml(&params)).into_response()
}

fn xml(params: &Params) -> Response {
    (
        [("Content-Type", "text/xml; charset=utf-8")],
        to_xml(params),
    )
        .into_response()
}

fn call_failure(return_msg: &str) -> Response {
    let mut params = Params::new();
    params.insert("return_code".into(), "FAIL".into());
    params.insert("return_msg".into(), return_msg.into());
    xml(&params)
}

/// The call layer: XML, sign type, signature, account. A failure is the `return_msg`.
fn open_call(app: &App, body: &str) -> Result<Call, &'static str> {
    let params = from_xml(body).map_err(|_| "XML格式错误")?;
    let sign_type = match params.get("sign_type").map(String::as_str) {
        None | Some("MD5") => V2SignType::Md5,
        Some("HMAC-SHA256") => V2SignType::HmacSha256,
        Some(_) => return Err("签名类型错误"),
    };
    if !v2_sign::verify(&params, &app.credentials.v2_key, sign_type) {
        tracing::info!("sandbox refused a v2 request: signature mismatch");
        return Err("签名错误");
    }
    if params.get("mch_id") != Some(&app.credentials.mchid) {
        return Err("mch_id参数错误");
    }
    if params.get("appid") != Some(&app.credentials.appid) {
        return Err("appid和mch_id不匹配");
    }
    Ok(Call { params, sign_type })
}

/// Signs an answer in the request's sign type, the business layer as `outcome` says.
fn answer(app: &App, call: &Call, outcome: Result<Params, Refusal>) -> Response {
    let mut params = match outcome {
        Ok(fields) => {
            let mut params = fields;
            params.insert("result_code".into(), "SUCCESS".into());
            params
        }
        Err(refusal) => {
            let mut params = Params::new();
            params.insert("result_code".into(), "FAIL".into());
            params.insert("err_code".into(), refusal.err_code.into());
            params.insert("err_code_des".into(), refusal.err_code_des);
            params
        }
    };
    params.insert("return_code".into(), "SUCCESS".into());
    params.insert("return_msg".into(), "OK".into());
    params.insert("appid".into(), app.credentials.appid.clone());
    params.insert("mch_id".into(), app.credentials.mchid.clone());
    params.insert("nonce_str".into(), ids::alnum(32));
    if call.sign_type == V2SignType::HmacSha256 {
        params.insert("sign_type".into(), "HMAC-SHA256".into());
    }
    let sign = v2_sign::sign(&params, &app.credentials.v2_key, call.sign_type);
    params.insert("sign".into(), sign);
    xml(&params)
}

fn required<'a>(params: &'a Params, name: &str) -> Result<&'a str, Refusal> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| refuse("PARAM_ERROR", format!("{name} is required")))
}

/// A pay code is 18 digits starting 10 to 15.
fn check_auth_code(code: &str) -> Result<(), Refusal> {
    let valid = code.len() == 18
        && code.bytes().all(|b| b.is_ascii_digit())
        && (b"10".as_slice()..=b"15".as_slice()).contains(&&code.as_bytes()[..2]);
    if valid {
        Ok(())
    } else {
        Err(refuse("AUTH_CODE_INVALID", "付款码无效，请重新扫码"))
    }
}

pub async fn micropay(State(app): State<App>, body: String) -> Response {
    let call = match open_call(&app, &body) {
        Ok(call) => call,
        Err(return_msg) => return call_failure(return_msg),
    };
    let outcome = micropay_outcome(&app, &call.params);
    answer(&app, &call, outcome)
}

fn micropay_outcome(app: &App, params: &Params) -> Result<Params, Refusal> {
    let out_trade_no = required(params, "out_trade_no")?;
    check_out_trade_no(out_trade_no).map_err(|e| refuse("PARAM_ERROR", e.message))?;
    let auth_code = required(params, "auth_code")?;
    check_auth_code(auth_code)?;
    let body = required(params, "body")?;
    let total_fee: i64 = required(params, "total_fee")?
        .parse()
        .ok()
        .filter(|fen| *fen > 0)
        .ok_or_else(|| refuse("PARAM_ERROR", "total_fee must be a positive number of fen"))?;
    required(params, "spbill_create_ip")?;
    let order = MicropayOrder {
        appid: app.credentials.appid.clone(),
        mchid: app.credentials.mchid.clone(),
        body: body.to_owned(),
        total_fee,
        auth_code: auth_code.to_owned(),
        attach: params.get("attach").cloned(),
    };
    let now = now_cst();
    let mut book = app.book();
    let trade = Trade::opened(
        out_trade_no.to_owned(),
        Origin::Micropay(order),
        Created::default(),
    );
    let trade = match book.create(trade)? {
        Recorded::Replay(known) => known,
        Recorded::New(_) => run_code_plan(&mut book, out_trade_no, auth_code, now)?,
    };
    match trade.state {
        TradeState::Success => Ok(paid_fields(&trade)),
        TradeState::Userpaying | TradeState::Notpay => {
            Err(refuse("USERPAYING", "需要用户输入支付密码"))
        }
        TradeState::Payerror => Err(refuse("NOTENOUGH", "用户余额不足")),
        TradeState::Refund => Err(refuse("ORDERPAID", "订单已支付")),
        TradeState::Closed | TradeState::Revoked => Err(refuse("ORDERREVERSED", "订单已撤销")),
    }
}

/// A new micropay trade meets its pay code: paid at once unless the payer simulator arranged
/// USERPAYING or a failure for that code.
fn run_code_plan(
    book: &mut crate::book::Book,
    out_trade_no: &str,
    auth_code: &str,
    now: chrono::DateTime<chrono::FixedOffset>,
) -> Result<Trade, Refusal> {
    match book.take_code_plan(auth_code) {
        None => match book.pay(out_trade_no, ids::transaction_id(now), now)? {
            Recorded::New(paid) | Recorded::Replay(paid) => Ok(paid),
        },
        Some(CodePlan::Userpaying) => Ok(book.set_unpaid(out_trade_no, UnpaidMove::Userpaying)?),
        Some(CodePlan::Fail) => Ok(book.set_unpaid(out_trade_no, UnpaidMove::Fail)?),
    }
}

/// What a paid micropay or a query of a paid trade answers besides the codes.
fn paid_fields(trade: &Trade) -> Params {
    let mut params = Params::new();
    let mut put = |name: &str, value: String| {
        params.insert(name.to_owned(), value);
    };
    put("out_trade_no", trade.out_trade_no.clone());
    put("trade_type", TradeType::Micropay.as_str().to_owned());
    put("total_fee", trade.total.to_string());
    put("fee_type", "CNY".to_owned());
    put("cash_fee", trade.total.to_string());
    put("cash_fee_type", "CNY".to_owned());
    put("bank_type", "OTHERS".to_owned());
    put("is_subscribe", "N".to_owned());
    if let Some(id) = &trade.transaction_id {
        put("transaction_id", id.clone());
    }
    if let Some(openid) = &trade.openid {
        put("openid", openid.clone());
    }
    if let Some(at) = trade.success_time {
        put("time_end", at.format("%Y%m%d%H%M%S").to_string());
    }
    if let Some(attach) = &trade.attach {
        put("attach", attach.clone());
    }
    params
}

pub async fn orderquery(State(app): State<App>, body: String) -> Response {
    let call = match open_call(&app, &body) {
        Ok(call) => call,
        Err(return_msg) => return call_failure(return_msg),
    };
    let outcome = trade_of(&app, &call.params).map(|trade| {
        let mut params = if trade.success_time.is_some() {
            paid_fields(&trade)
        } else {
            let mut params = Params::new();
            params.insert("out_trade_no".into(), trade.out_trade_no.clone());
            params
        };
        let state = serde_json::to_value(trade.state).expect("a state serialises");
        let state = state.as_str().expect("states are strings").to_owned();
        params.insert("trade_state".into(), state);
        let desc = crate::v3::transaction(&trade).trade_state_desc;
        params.insert("trade_state_desc".into(), desc);
        params
    });
    answer(&app, &call, outcome)
}

fn trade_of(app: &App, params: &Params) -> Result<Trade, Refusal> {
    let book = app.book();
    let out_trade_no = match (params.get("out_trade_no"), params.get("transaction_id")) {
        (Some(no), _) => no.clone(),
        (None, Some(id)) => book
            .out_trade_no_of_transaction(id)
            .map(str::to_owned)
            .ok_or(BookError::NoTrade)?,
        (None, None) => return Err(refuse("PARAM_ERROR", "out_trade_no is required")),
    };
    Ok(book.trade(&out_trade_no).ok_or(BookError::NoTrade)?.clone())
}

pub async fn reverse(State(app): State<App>, body: String) -> Response {
    let call = match open_call(&app, &body) {
        Ok(call) => call,
        Err(return_msg) => return call_failure(return_msg),
    };
    let outcome = trade_of(&app, &call.params).and_then(|trade| {
        app.book().reverse(&trade.out_trade_no)?;
        let mut params = Params::new();
        // "N": nothing more to do, the reversal is final.
        params.insert("recall".into(), "N".into());
        Ok(params)
    });
    answer(&app, &call, outcome)
}
