//! The trade methods: precreate (QR code), pay (pay code or face), create (JSAPI), query, close
//! and cancel, with Alipay's answers and `sub_code`s.

use serde_json::{Map, Value};

use super::book::{BookError, CodePlan, Product, Recorded, Trade, TradeAsk, TradeStatus};
use super::gateway::{Call, Failure, Reply};
use super::money::yuan;
use super::{alipay_time, ids, notify, now_cst, App};

pub const OUT_TRADE_NO_CHARS_MAX: usize = 64;
pub const SUBJECT_CHARS_MAX: usize = 256;

impl From<BookError> for Failure {
    fn from(error: BookError) -> Failure {
        match error {
            BookError::NoTrade => Failure::business("ACQ.TRADE_NOT_EXIST", "交易不存在"),
            BookError::Closed => Failure::business("ACQ.TRADE_HAS_CLOSE", "交易已经关闭"),
            BookError::Paid => Failure::business("ACQ.TRADE_HAS_SUCCESS", "交易已被支付"),
            BookError::State => Failure::business("ACQ.TRADE_STATUS_ERROR", "交易状态不合法"),
            BookError::Inconsistent => {
                Failure::business("ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
            }
            BookError::RefundExceedsPaid => {
                Failure::business("ACQ.REASON_TRADE_REFUND_FEE_ERR", "退款金额无效")
            }
        }
    }
}

/// The trade a call (or a page's or app's signed parameters) asks to open.
pub fn ask_of(call: &Call, product: Product) -> Result<TradeAsk, Failure> {
    let out_trade_no = call.biz.required("out_trade_no")?;
    let well_formed = out_trade_no.len() <= OUT_TRADE_NO_CHARS_MAX
        && out_trade_no
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !well_formed {
        return Err(Failure::invalid_parameter("out_trade_no 格式错误"));
    }
    let subject = call.biz.required("subject")?;
    if subject.chars().count() > SUBJECT_CHARS_MAX {
        return Err(Failure::invalid_parameter("subject 过长"));
    }
    let param = |k: &str| call.params.get(k).filter(|v| !v.is_empty()).cloned();
    Ok(TradeAsk {
        total_cents: call.biz.amount("total_amount")?,
        out_trade_no,
        subject,
        product,
        notify_url: param("notify_url"),
        return_url: param("return_url"),
        buyer_id: call
            .biz
            .text("buyer_id")
            .or_else(|| call.biz.text("buyer_open_id")),
    })
}

/// Opens the trade, or finds the one the same ask opened before.
pub fn open(app: &App, ask: TradeAsk, with_qr: bool) -> Result<Trade, Failure> {
    let now = now_cst();
    let mut trade = Trade::opened(ask, ids::trade_no(now), now);
    if with_qr {
        trade.qr_code = Some(ids::qr_code());
    }
    match app.book().open(trade)? {
        Recorded::New(trade) | Recorded::Replay(trade) => Ok(trade),
    }
}

pub fn precreate(app: &App, call: &Call) -> Result<Reply, Failure> {
    let trade = open(app, ask_of(call, Product::Precreate)?, true)?;
    let mut fields = Map::new();
    fields.insert("out_trade_no".into(), trade.out_trade_no().into());
    fields.insert(
        "qr_code".into(),
        trade.qr_code.clone().unwrap_or_default().into(),
    );
    Ok(Reply::success(fields))
}

pub fn create(app: &App, call: &Call) -> Result<Reply, Failure> {
    let ask = ask_of(call, Product::Create)?;
    if ask.buyer_id.is_none() {
        return Err(Failure::business(
            "ACQ.INVALID_PARAMETER",
            "buyer_id 不能为空",
        ));
    }
    let trade = open(app, ask, false)?;
    let mut fields = Map::new();
    fields.insert("out_trade_no".into(), trade.out_trade_no().into());
    fields.insert("trade_no".into(), trade.trade_no.clone().into());
    Ok(Reply::success(fields))
}

/// A pay code is 16 to 24 digits starting 25 to 30 (Alipay's documented shape).
fn is_pay_code(code: &str) -> bool {
    (16..=24).contains(&code.len())
        && code.bytes().all(|b| b.is_ascii_digit())
        && matches!(&code[..2], "25" | "26" | "27" | "28" | "29" | "30")
}

pub fn pay(app: &App, call: &Call) -> Result<Reply, Failure> {
    let scene = call.biz.required("scene")?;
    let auth_code = call.biz.required("auth_code")?;
    match scene.as_str() {
        "bar_code" if !is_pay_code(&auth_code) => {
            return Err(Failure::business(
                "ACQ.PAYMENT_AUTH_CODE_INVALID",
                "支付失败，获取顾客账户信息失败，请顾客刷新付款码后重新收款",
            ))
        }
        "bar_code" | "security_code" => {}
        _ => return Err(Failure::invalid_parameter("scene 取值错误")),
    }
    let trade = open(app, ask_of(call, Product::BarCode)?, false)?;
    let plan = app.book().take_code_plan(&auth_code);
    match plan {
        Some(CodePlan::Userpaying) => Ok(Reply {
            code: "10003",
            msg: "Order success pay inprocess",
            fields: trade_fields(&trade),
        }),
        Some(CodePlan::Fail) => {
            let closed = app.book().close(trade.out_trade_no(), now_cst())?;
            notify::announce(app, &closed, None);
            Err(Failure::business(
                "ACQ.BUYER_BALANCE_NOT_ENOUGH",
                "买家余额不足",
            ))
        }
        None => {
            let paid = pay_now(app, trade.out_trade_no())?;
            Ok(Reply::success(trade_fields(&paid)))
        }
    }
}

/// The payer pays; the first time, the payment is announced.
pub fn pay_now(app: &App, out_trade_no: &str) -> Result<Trade, BookError> {
    let recorded = app.book().pay(out_trade_no, ids::buyer_id(), now_cst())?;
    match recorded {
        Recorded::New(trade) => {
            notify::announce(app, &trade, None);
            Ok(trade)
        }
        Recorded::Replay(trade) => Ok(trade),
    }
}

fn find(app: &App, call: &Call) -> Result<Trade, Failure> {
    let out_trade_no = call.biz.text("out_trade_no");
    let trade_no = call.biz.text("trade_no");
    if out_trade_no.is_none() && trade_no.is_none() {
        return Err(Failure::invalid_parameter(
            "out_trade_no 和 trade_no 不能同时为空",
        ));
    }
    app.book()
        .find(out_trade_no.as_deref(), trade_no.as_deref())
        .cloned()
        .ok_or_else(|| BookError::NoTrade.into())
}

pub fn query(app: &App, call: &Call) -> Result<Reply, Failure> {
    let trade = find(app, call)?;
    let mut fields = trade_fields(&trade);
    fields.insert("trade_status".into(), trade.status.as_str().into());
    Ok(Reply::success(fields))
}

pub fn close(app: &App, call: &Call) -> Result<Reply, Failure> {
    let trade = find(app, call)?;
    let closed = app.book().close(trade.out_trade_no(), now_cst())?;
    notify::announce(app, &closed, None);
    let mut fields = Map::new();
    fields.insert("trade_no".into(), closed.trade_no.into());
    fields.insert("out_trade_no".into(), closed.ask.out_trade_no.into());
    Ok(Reply::success(fields))
}

/// Cancel: an unpaid trade is closed, a paid one refunded whole (and so closed).
pub fn cancel(app: &App, call: &Call) -> Result<Reply, Failure> {
    let trade = find(app, call)?;
    let now = now_cst();
    let action = match trade.status {
        TradeStatus::WaitBuyerPay => {
            let closed = app.book().close(trade.out_trade_no(), now)?;
            notify::announce(app, &closed, None);
            "close"
        }
        TradeStatus::TradeSuccess if trade.refunded_cents == 0 => {
            let total = trade.ask.total_cents;
            let refunded =
                app.book()
                    .refund(trade.out_trade_no(), trade.out_trade_no(), total, now)?;
            if let Recorded::New((trade, refund)) = refunded {
                notify::announce(app, &trade, Some(&refund));
            }
            "refund"
        }
        TradeStatus::TradeClosed if trade.gmt_payment.is_none() => "close",
        TradeStatus::TradeSuccess | TradeStatus::TradeClosed => return Err(BookError::State.into()),
    };
    let mut fields = Map::new();
    fields.insert("trade_no".into(), trade.trade_no.into());
    fields.insert("out_trade_no".into(), trade.ask.out_trade_no.into());
    fields.insert("retry_flag".into(), "N".into());
    fields.insert("action".into(), action.into());
    Ok(Reply::success(fields))
}

/// A payer's logon id as Alipay shows it, masked.
pub fn buyer_logon_id(buyer_id: &str) -> String {
    let tail = &buyer_id[buyer_id.len().saturating_sub(4)..];
    format!("138****{tail}")
}

/// What pay and query answer about a trade.
fn trade_fields(trade: &Trade) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert("trade_no".into(), trade.trade_no.clone().into());
    fields.insert("out_trade_no".into(), trade.out_trade_no().into());
    fields.insert("total_amount".into(), yuan(trade.ask.total_cents).into());
    if let Some(buyer_id) = &trade.buyer_id {
        fields.insert("buyer_logon_id".into(), buyer_logon_id(buyer_id).into());
        fields.insert("buyer_user_id".into(), buyer_id.clone().into());
    }
    if let Some(paid_at) = trade.gmt_payment {
        fields.insert(
            "buyer_pay_amount".into(),
            yuan(trade.ask.total_cents).into(),
        );
        fields.insert("receipt_amount".into(), yuan(trade.ask.total_cents).into());
        fields.insert("gmt_payment".into(), alipay_time(paid_at).into());
        fields.insert("send_pay_date".into(), alipay_time(paid_at).into());
    }
    fields
}
