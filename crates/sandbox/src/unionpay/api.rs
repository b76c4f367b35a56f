//! The gateway's endpoints at their real paths. Every request is a signed form: its `certId`
//! must name the merchant's certificate and its signature verify, or the sandbox refuses it as
//! UnionPay does (`respCode` 11 验证签名失败). Answers are raw `k=v&k=v` signed with UnionPay's
//! key, its certificate in `signPubKeyCert`.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use paygate_channels::unionpay::{bill, sign, wire};

use super::book::{BookError, State as TxnState, Txn};
use super::{fee_of, App};
use crate::faults::ApiFault;
use crate::ids;

type Fields = BTreeMap<String, String>;

/// The request fields an answer repeats.
const ECHOED: [&str; 10] = [
    "version",
    "encoding",
    "signMethod",
    "txnType",
    "txnSubType",
    "bizType",
    "accessType",
    "merId",
    "orderId",
    "txnTime",
];

fn get<'a>(fields: &'a Fields, name: &str) -> &'a str {
    fields.get(name).map_or("", String::as_str)
}

/// A signed answer to `request` with `respCode`, `respMsg` and `extra`.
fn answer(app: &App, request: &Fields, code: &str, msg: &str, extra: Fields) -> Response {
    let mut fields: Fields = ECHOED
        .iter()
        .filter_map(|name| request.get(*name).map(|v| ((*name).to_owned(), v.clone())))
        .collect();
    fields.insert("respCode".into(), code.into());
    fields.insert("respMsg".into(), msg.into());
    fields.extend(extra);
    let body = wire::write_answer(&app.notifier.sign(fields));
    ([(header::CONTENT_TYPE, "text/plain;charset=UTF-8")], body).into_response()
}

fn refuse(app: &App, request: &Fields, error: &BookError) -> Response {
    let (code, msg) = error.resp();
    answer(app, request, &code, &msg, Fields::new())
}

/// An unsigned refusal of a request that is not the merchant's, as UnionPay answers one.
pub struct Unsigned {
    code: &'static str,
    msg: &'static str,
}

impl IntoResponse for Unsigned {
    fn into_response(self) -> Response {
        let text = format!("respCode={}&respMsg={}", self.code, self.msg);
        ([(header::CONTENT_TYPE, "text/plain;charset=UTF-8")], text).into_response()
    }
}

/// Checks a request as UnionPay does: its version, its certificate and signature, its merchant.
fn checked(app: &App, body: &[u8]) -> Result<Fields, Unsigned> {
    let fields = wire::parse_form(body);
    if get(&fields, "version") != wire::VERSION
        || get(&fields, "signMethod") != wire::SIGN_METHOD_CERT
    {
        return Err(Unsigned {
            code: "10",
            msg: "报文格式错误: version 5.1.0 and signMethod 01 only",
        });
    }
    if get(&fields, "certId") != app.merchant.cert_id
        || sign::verify(&app.merchant.public_key, &fields).is_err()
    {
        return Err(Unsigned {
            code: "11",
            msg: "验证签名失败",
        });
    }
    if get(&fields, "merId") != app.credentials.mer_id {
        return Err(Unsigned {
            code: "10",
            msg: "商户未开通",
        });
    }
    Ok(fields)
}

/// Runs `serve` under the API fault armed for this order, if any.
async fn with_faults(
    app: &App,
    order_id: &str,
    serve: impl std::future::Future<Output = Response>,
) -> Response {
    let fault = app.faults().take_api(Some(order_id));
    match fault {
        None => serve.await,
        Some(ApiFault::Down) => {
            (StatusCode::SERVICE_UNAVAILABLE, "service unavailable").into_response()
        }
        Some(ApiFault::ServerError) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "system error").into_response()
        }
        Some(ApiFault::Timeout { delay_ms }) => {
            let response = serve.await;
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(delay_ms)) => {}
                () = app.cancel.cancelled() => {}
            }
            response
        }
    }
}

fn new_txn(request: &Fields, state: TxnState) -> Txn {
    let txn_time = get(request, "txnTime").to_owned();
    Txn {
        txn_type: get(request, "txnType").to_owned(),
        txn_sub_type: get(request, "txnSubType").to_owned(),
        biz_type: get(request, "bizType").to_owned(),
        order_id: get(request, "orderId").to_owned(),
        query_id: format!("{txn_time}{}", ids::digits(7)),
        txn_time,
        amount_fen: get(request, "txnAmt").parse().unwrap_or(0),
        back_url: request.get("backUrl").cloned(),
        req_reserved: request.get("reqReserved").cloned(),
        state,
        orig_query_id: request.get("origQryId").cloned(),
        fee_fen: 0,
        refunded_fen: 0,
        qr_code: None,
    }
}

/// What a consume must carry for the book to take it.
fn consume_shape(request: &Fields) -> Result<(), BookError> {
    let order = get(request, "orderId");
    let order_ok =
        (8..=40).contains(&order.len()) && order.bytes().all(|b| b.is_ascii_alphanumeric());
    let amount_ok = get(request, "txnAmt").parse::<i64>().is_ok_and(|a| a > 0);
    let time_ok = wire::parse_beijing_time(get(request, "txnTime")).is_ok();
    if order_ok && amount_ok && time_ok && get(request, "currencyCode") == wire::CURRENCY_CNY {
        Ok(())
    } else {
        Err(BookError::Refused(
            "10: 报文格式错误 (orderId, txnAmt, txnTime or currencyCode)".into(),
        ))
    }
}

pub async fn back(State(app): State<App>, body: Bytes) -> Response {
    let request = match checked(&app, &body) {
        Ok(fields) => fields,
        Err(refusal) => return refusal.into_response(),
    };
    let order_id = get(&request, "orderId").to_owned();
    with_faults(&app, &order_id, async { serve_back(&app, &request) }).await
}

fn serve_back(app: &App, request: &Fields) -> Response {
    let outcome = match (get(request, "txnType"), get(request, "txnSubType")) {
        (wire::TXN_CONSUME, wire::SUB_QR_APPLY) => qr_apply(app, request),
        (wire::TXN_CONSUME, wire::SUB_QR_PAY_CODE) => pay_code(app, request),
        (wire::TXN_REFUND, _) => take_back(app, request, false),
        (wire::TXN_VOID, _) => take_back(app, request, true),
        (txn_type, sub) => Err(BookError::Refused(format!(
            "10: txnType {txn_type}/{sub} is not served here"
        ))),
    };
    match outcome {
        Ok(extra) => answer(app, request, wire::RESP_OK, "成功[0000000]", extra),
        Err(error) => refuse(app, request, &error),
    }
}

fn qr_apply(app: &App, request: &Fields) -> Result<Fields, BookError> {
    consume_shape(request)?;
    let mut txn = new_txn(request, TxnState::Pending);
    txn.qr_code = Some(format!("https://qr.95516.com/00010000/{}", ids::digits(20)));
    let txn = app.book().open(txn)?;
    Ok(Fields::from([(
        "qrCode".to_owned(),
        txn.qr_code.unwrap_or_default(),
    )]))
}

fn pay_code(app: &App, request: &Fields) -> Result<Fields, BookError> {
    consume_shape(request)?;
    let code = get(request, "qrNo");
    if code.len() != 19 || !code.starts_with("62") {
        return Err(BookError::Refused(
            "10: qrNo is not a UnionPay pay code".into(),
        ));
    }
    let plan = app.book().take_code_plan(code);
    let txn = app.book().open(new_txn(request, TxnState::Pending))?;
    match plan {
        Some(TxnState::Failed) => {
            app.book().settle(&txn.order_id, TxnState::Failed, 0)?;
            Err(BookError::Refused("61: 付款码无效或已过期".into()))
        }
        Some(_) => Ok(Fields::new()),
        None => super::pay(app, &txn.order_id).map(|_| Fields::new()),
    }
}

fn take_back(app: &App, request: &Fields, whole: bool) -> Result<Fields, BookError> {
    let order_id = get(request, "orderId");
    let shaped = (8..=40).contains(&order_id.len())
        && wire::parse_beijing_time(get(request, "txnTime")).is_ok();
    let amount = get(request, "txnAmt").parse::<i64>();
    if !shaped || (!whole && amount.is_err()) {
        return Err(BookError::Refused("10: 报文格式错误".into()));
    }
    let orig = get(request, "origQryId");
    let orig_txn = app
        .book()
        .by_query_id(orig)
        .cloned()
        .ok_or(BookError::NoTrade)?;
    let mut txn = new_txn(request, TxnState::Succeeded);
    txn.amount_fen = if whole {
        orig_txn.amount_fen
    } else {
        amount.unwrap_or(0)
    };
    txn.fee_fen = if whole {
        orig_txn.fee_fen
    } else {
        refund_fee(app, txn.amount_fen)
    };
    let txn = app.book().take_back(txn, whole)?;
    super::notify_settled(app, &txn, &orig_txn.order_id);
    Ok(Fields::from([("queryId".to_owned(), txn.query_id)]))
}

/// The fee given back with a refund: in proportion, rounded half up, nothing below 0.08 yuan.
fn refund_fee(app: &App, refund_fen: i64) -> i64 {
    let fee = fee_of(refund_fen, app.fee_rate_ppm);
    let minimum = match paygate_channels::rules::UNIONPAY.fee_refund {
        paygate_channels::rules::FeeRefund::ProportionalAboveMinimum { minimum_fen } => minimum_fen,
        _ => 0,
    };
    if fee < minimum {
        0
    } else {
        fee
    }
}

pub async fn app_trans(State(app): State<App>, body: Bytes) -> Response {
    let request = match checked(&app, &body) {
        Ok(fields) => fields,
        Err(refusal) => return refusal.into_response(),
    };
    let order_id = get(&request, "orderId").to_owned();
    with_faults(&app, &order_id, async {
        let opened = consume_shape(&request)
            .and_then(|()| app.book().open(new_txn(&request, TxnState::Pending)));
        match opened {
            Ok(_) => {
                let tn = Fields::from([("tn".to_owned(), ids::digits(21))]);
                answer(&app, &request, wire::RESP_OK, "成功[0000000]", tn)
            }
            Err(error) => refuse(&app, &request, &error),
        }
    })
    .await
}

/// The browser's form: the trade opens and the cashier page shows a "pay" button.
pub async fn front(State(app): State<App>, body: Bytes) -> Response {
    let request = match checked(&app, &body) {
        Ok(fields) => fields,
        Err(refusal) => return refusal.into_response(),
    };
    let opened = consume_shape(&request)
        .and_then(|()| app.book().open(new_txn(&request, TxnState::Pending)));
    match opened {
        Ok(txn) => Html(format!(
            "<!doctype html><meta charset=\"utf-8\"><title>UnionPay sandbox</title>\
             <p>UnionPay sandbox cashier: order {} for {} fen.</p>\
             <form method=\"post\" action=\"/sandbox/front/{}/pay\"><button>pay</button></form>",
            txn.order_id, txn.amount_fen, txn.order_id
        ))
        .into_response(),
        Err(error) => (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    }
}

pub async fn query(State(app): State<App>, body: Bytes) -> Response {
    let request = match checked(&app, &body) {
        Ok(fields) => fields,
        Err(refusal) => return refusal.into_response(),
    };
    let order_id = get(&request, "orderId").to_owned();
    with_faults(&app, &order_id, async {
        let found = app.book().get(&order_id).cloned();
        let txn = match found {
            Some(txn) if txn.txn_time == get(&request, "txnTime") => txn,
            _ => return refuse(&app, &request, &BookError::NoTrade),
        };
        let settle = wire::parse_beijing_time(&txn.txn_time)
            .ok()
            .and_then(wire::clearing_day);
        let mut extra = Fields::from([
            ("origRespCode".to_owned(), txn.state.code().to_owned()),
            ("origRespMsg".to_owned(), format!("{:?}", txn.state)),
            ("queryId".to_owned(), txn.query_id.clone()),
            ("txnAmt".to_owned(), txn.amount_fen.to_string()),
            ("bizType".to_owned(), txn.biz_type.clone()),
            ("traceTime".to_owned(), txn.txn_time[4..].to_owned()),
        ]);
        if let Some(day) = settle {
            extra.insert("settleDate".into(), wire::settle_date(day));
        }
        let mut echoed = request.clone();
        echoed.insert("bizType".into(), txn.biz_type.clone());
        answer(&app, &echoed, wire::RESP_OK, "成功[0000000]", extra)
    })
    .await
}

pub async fn file(State(app): State<App>, body: Bytes) -> Response {
    let request = match checked(&app, &body) {
        Ok(fields) => fields,
        Err(refusal) => return refusal.into_response(),
    };
    let Some(day) = settle_day(get(&request, "settleDate")) else {
        return refuse(
            &app,
            &request,
            &BookError::Refused("10: settleDate is MMDD".into()),
        );
    };
    let txns = app.book().of_clearing_day(day);
    if txns.is_empty() {
        return refuse(&app, &request, &BookError::Refused("98: 文件不存在".into()));
    }
    let text: String = txns
        .iter()
        .map(|t| format!("{}\r\n", super::file_line(&app, t).write()))
        .collect();
    let name = bill::trade_file_name(day, &app.credentials.mer_id);
    match bill::pack(&[(name.clone(), text)]) {
        Ok(content) => {
            let extra = Fields::from([
                ("fileContent".to_owned(), content),
                (
                    "fileName".to_owned(),
                    format!("{}_{}.zip", app.credentials.mer_id, day.format("%Y%m%d")),
                ),
                ("settleDate".to_owned(), wire::settle_date(day)),
                ("fileType".to_owned(), "00".to_owned()),
            ]);
            answer(&app, &request, wire::RESP_OK, "成功[0000000]", extra)
        }
        Err(error) => refuse(&app, &request, &BookError::Refused(format!("01: {error}"))),
    }
}

/// `MMDD` as the date of that day nearest to today (Beijing time).
fn settle_day(mmdd: &str) -> Option<chrono::NaiveDate> {
    use chrono::Datelike;
    let today = chrono::Utc::now()
        .with_timezone(&wire::beijing())
        .date_naive();
    let month: u32 = mmdd.get(..2)?.parse().ok()?;
    let day: u32 = mmdd.get(2..4)?.parse().ok()?;
    (today.year() - 1..=today.year() + 1)
        .filter_map(|year| chrono::NaiveDate::from_ymd_opt(year, month, day))
        .min_by_key(|date| (*date - today).num_days().abs())
}
