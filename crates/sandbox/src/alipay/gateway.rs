//! `/gateway.do`: every call's parameters (query string and form body alike, as Alipay takes
//! them from either) are checked as Alipay checks them, the app's RSA2 signature verified in
//! public-key or certificate mode, and the method answered as `{"<method>_response": {...},
//! "sign": "..."}` signed with Alipay's key over the exact text of the inner object.
//! A call that fails before its signature is verified is answered unsigned.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDateTime;
use paygate_channels::alipay::sign::{request_content, sign_rsa2, verify_rsa2};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;

use super::faults::ApiFault;
use super::{money, page, refund, trade, App};

/// No call's parameters are longer.
const PARAMS_BYTES_MAX: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Precreate,
    Pay,
    Create,
    WapPay,
    PagePay,
    AppPay,
    Query,
    Close,
    Cancel,
    Refund,
    RefundQuery,
    BillUrl,
}

impl Method {
    pub fn parse(name: &str) -> Option<Method> {
        Some(match name {
            "alipay.trade.precreate" => Method::Precreate,
            "alipay.trade.pay" => Method::Pay,
            "alipay.trade.create" => Method::Create,
            "alipay.trade.wap.pay" => Method::WapPay,
            "alipay.trade.page.pay" => Method::PagePay,
            "alipay.trade.app.pay" => Method::AppPay,
            "alipay.trade.query" => Method::Query,
            "alipay.trade.close" => Method::Close,
            "alipay.trade.cancel" => Method::Cancel,
            "alipay.trade.refund" => Method::Refund,
            "alipay.trade.fastpay.refund.query" => Method::RefundQuery,
            "alipay.data.dataservice.bill.downloadurl.query" => Method::BillUrl,
            _ => return None,
        })
    }
}

/// How the app signs: with its bare key pair, or with certificates named by their SNs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    PublicKey,
    Certificate,
}

/// A verified call.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: Method,
    /// `alipay_trade_query_response`.
    pub response_key: String,
    pub params: BTreeMap<String, String>,
    pub biz: Biz,
    pub mode: Mode,
}

/// `biz_content`, parsed.
#[derive(Debug, Clone, Default)]
pub struct Biz(Map<String, Value>);

impl Biz {
    /// A field as text; SDKs send amounts as JSON numbers or strings alike.
    pub fn text(&self, key: &str) -> Option<String> {
        match self.0.get(key)? {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    pub fn required(&self, key: &str) -> Result<String, Failure> {
        self.text(key)
            .ok_or_else(|| Failure::invalid_parameter(format!("缺少必选参数 {key}")))
    }

    /// A yuan amount within Alipay's bounds, in cents.
    pub fn amount(&self, key: &str) -> Result<i64, Failure> {
        let text = self.required(key)?;
        money::parse_yuan(&text)
            .filter(|c| (money::TOTAL_CENTS_MIN..=money::TOTAL_CENTS_MAX).contains(c))
            .ok_or_else(|| Failure::invalid_parameter(format!("{key} 金额格式错误: {text}")))
    }

    pub fn strings(&self, key: &str) -> Vec<String> {
        match self.0.get(key) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// A method's answer other than a failure: 10000, or 10003 while the payer confirms.
#[derive(Debug, Clone)]
pub struct Reply {
    pub code: &'static str,
    pub msg: &'static str,
    pub fields: Map<String, Value>,
}

impl Reply {
    pub fn success(fields: Map<String, Value>) -> Reply {
        Reply {
            code: "10000",
            msg: "Success",
            fields,
        }
    }
}

/// An answer with a `sub_code`, in Alipay's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: &'static str,
    pub msg: &'static str,
    pub sub_code: &'static str,
    pub sub_msg: String,
}

impl Failure {
    pub fn business(sub_code: &'static str, sub_msg: impl Into<String>) -> Failure {
        Failure {
            code: "40004",
            msg: "Business Failed",
            sub_code,
            sub_msg: sub_msg.into(),
        }
    }
    pub fn invalid(sub_code: &'static str, sub_msg: impl Into<String>) -> Failure {
        Failure {
            code: "40002",
            msg: "Invalid Arguments",
            sub_code,
            sub_msg: sub_msg.into(),
        }
    }
    fn missing(sub_code: &'static str, sub_msg: &str) -> Failure {
        Failure {
            code: "40001",
            msg: "Missing Required Arguments",
            sub_code,
            sub_msg: sub_msg.to_owned(),
        }
    }
    pub fn invalid_parameter(sub_msg: impl Into<String>) -> Failure {
        Failure::business("ACQ.INVALID_PARAMETER", sub_msg)
    }
    fn unavailable() -> Failure {
        Failure {
            code: "20000",
            msg: "Service Currently Unavailable",
            sub_code: "isp.unknow-error",
            sub_msg: "系统繁忙".to_owned(),
        }
    }
}

/// A call refused before its signature was verified: answered unsigned under `key`.
#[derive(Debug)]
pub struct Refusal {
    pub key: String,
    pub failure: Failure,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let inner = failure_fields(&self.failure);
        json_text(format!(
            "{{{}:{}}}",
            Value::String(self.key),
            Value::Object(inner)
        ))
    }
}

pub async fn serve(State(app): State<App>, uri: Uri, body: Bytes) -> Response {
    if body.len() > PARAMS_BYTES_MAX {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    let params = collect(uri.query().unwrap_or_default(), &body);
    let call = match verify(&app, params) {
        Ok(call) => call,
        Err(refusal) => return refusal.into_response(),
    };
    if matches!(call.method, Method::WapPay | Method::PagePay) {
        return page::show(&app, &call);
    }
    let fault = app
        .faults()
        .take_api(call.biz.text("out_trade_no").as_deref());
    match fault {
        None => answer(&app, &call, dispatch(&app, &call)),
        Some(ApiFault::Down) => {
            (StatusCode::SERVICE_UNAVAILABLE, "service unavailable").into_response()
        }
        Some(ApiFault::ServerError) => answer(&app, &call, Err(Failure::unavailable())),
        Some(ApiFault::Timeout { delay_ms }) => {
            let answered = answer(&app, &call, dispatch(&app, &call));
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(delay_ms)) => {}
                () = app.cancel.cancelled() => {}
            }
            answered
        }
    }
}

/// The query string's parameters and the form body's, the body's winning.
pub fn collect(query: &str, body: &[u8]) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(query.as_bytes())
        .chain(url::form_urlencoded::parse(body))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Alipay's checks, in its order: method, app, signature's presence and type, timestamp,
/// certificates, then the signature itself.
pub fn verify(app: &App, params: BTreeMap<String, String>) -> Result<Call, Refusal> {
    let error_response = |failure| Refusal {
        key: "error_response".to_owned(),
        failure,
    };
    let name = params
        .get("method")
        .filter(|m| !m.is_empty())
        .ok_or_else(|| error_response(Failure::missing("isv.missing-method", "缺少方法名参数")))?;
    let method = Method::parse(name)
        .ok_or_else(|| error_response(Failure::invalid("isv.invalid-method", "不存在的方法名")))?;
    let key = format!("{}_response", name.replace('.', "_"));
    let refuse = |failure| Refusal {
        key: key.clone(),
        failure,
    };
    let get = |k: &str| params.get(k).map(String::as_str).filter(|v| !v.is_empty());
    if get("app_id") != Some(app.credentials.app_id.as_str()) {
        return Err(refuse(Failure::invalid(
            "isv.invalid-app-id",
            "无效的AppID参数",
        )));
    }
    let sign = get("sign")
        .ok_or_else(|| refuse(Failure::missing("isv.missing-signature", "缺少签名参数")))?;
    if get("sign_type") != Some("RSA2") {
        return Err(refuse(Failure::invalid(
            "isv.invalid-signature-type",
            "无效的签名类型参数",
        )));
    }
    let timestamp = get("timestamp")
        .ok_or_else(|| refuse(Failure::missing("isv.missing-timestamp", "缺少时间戳参数")))?;
    if NaiveDateTime::parse_from_str(timestamp, "%Y-%m-%d %H:%M:%S").is_err() {
        return Err(refuse(Failure::invalid(
            "isv.invalid-timestamp",
            "非法的时间戳参数",
        )));
    }
    let mode = match (get("app_cert_sn"), get("alipay_root_cert_sn")) {
        (None, None) => Mode::PublicKey,
        (Some(app_sn), _) if app_sn != app.credentials.app_cert_sn => {
            return Err(refuse(Failure::invalid(
                "isv.app-cert-not-exist",
                "应用公钥证书不存在",
            )))
        }
        (_, Some(root_sn)) if root_sn == app.credentials.alipay_root_cert_sn => Mode::Certificate,
        _ => {
            return Err(refuse(Failure::invalid(
                "isv.invalid-alipay-root-cert-sn",
                "无效支付宝根证书序列号",
            )))
        }
    };
    let content = request_content(&params);
    if !verify_rsa2(&app.app_public, &content, sign) {
        let sub_msg = format!(
            "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：{content}"
        );
        return Err(refuse(Failure::invalid("isv.invalid-signature", sub_msg)));
    }
    let biz = match get("biz_content") {
        None => Biz::default(),
        Some(text) => match serde_json::from_str::<Map<String, Value>>(text) {
            Ok(map) => Biz(map),
            Err(_) => {
                return Err(refuse(Failure::invalid(
                    "isv.invalid-parameter",
                    "biz_content 不是 JSON 对象",
                )))
            }
        },
    };
    Ok(Call {
        method,
        response_key: key,
        params,
        biz,
        mode,
    })
}

fn dispatch(app: &App, call: &Call) -> Result<Reply, Failure> {
    match call.method {
        Method::Precreate => trade::precreate(app, call),
        Method::Pay => trade::pay(app, call),
        Method::Create => trade::create(app, call),
        Method::Query => trade::query(app, call),
        Method::Close => trade::close(app, call),
        Method::Cancel => trade::cancel(app, call),
        Method::Refund => refund::refund(app, call),
        Method::RefundQuery => refund::query(app, call),
        Method::BillUrl => super::bill::download_url(app, call),
        // These open no server call at Alipay: the app SDK or the browser carries them.
        Method::WapPay | Method::PagePay | Method::AppPay => Err(Failure::invalid(
            "isv.invalid-method",
            "该方法不支持服务端调用",
        )),
    }
}

fn failure_fields(failure: &Failure) -> Map<String, Value> {
    let mut inner = Map::new();
    inner.insert("code".into(), failure.code.into());
    inner.insert("msg".into(), failure.msg.into());
    inner.insert("sub_code".into(), failure.sub_code.into());
    inner.insert("sub_msg".into(), failure.sub_msg.clone().into());
    inner
}

/// The signed answer: the inner object is written once and the signature covers those bytes.
pub fn answer(app: &App, call: &Call, outcome: Result<Reply, Failure>) -> Response {
    let inner = match outcome {
        Ok(reply) => {
            let mut inner = Map::new();
            inner.insert("code".into(), reply.code.into());
            inner.insert("msg".into(), reply.msg.into());
            inner.extend(reply.fields);
            inner
        }
        Err(failure) => failure_fields(&failure),
    };
    let inner = Value::Object(inner).to_string();
    let sign = sign_rsa2(&app.alipay_private, &inner);
    let cert_sn = match call.mode {
        Mode::PublicKey => String::new(),
        Mode::Certificate => format!(
            ",\"alipay_cert_sn\":{}",
            Value::String(app.credentials.alipay_cert_sn.clone())
        ),
    };
    json_text(format!(
        "{{{}:{inner}{cert_sn},\"sign\":{}}}",
        Value::String(call.response_key.clone()),
        Value::String(sign)
    ))
}

fn json_text(body: String) -> Response {
    ([("Content-Type", "application/json;charset=utf-8")], body).into_response()
}
