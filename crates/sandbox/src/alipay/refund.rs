//! Refunds: `alipay.trade.refund` (synchronous, idempotent on `out_request_no` within its
//! trade) and `alipay.trade.fastpay.refund.query`.

use serde_json::Map;

use super::book::{BookError, Recorded};
use super::gateway::{Call, Failure, Reply};
use super::money::yuan;
use super::trade::buyer_logon_id;
use super::{alipay_time, notify, now_cst, App};

fn trade_of(app: &App, call: &Call) -> Result<String, Failure> {
    let out_trade_no = call.biz.text("out_trade_no");
    let trade_no = call.biz.text("trade_no");
    if out_trade_no.is_none() && trade_no.is_none() {
        return Err(Failure::invalid_parameter(
            "out_trade_no 和 trade_no 不能同时为空",
        ));
    }
    app.book()
        .find(out_trade_no.as_deref(), trade_no.as_deref())
        .map(|t| t.out_trade_no().to_owned())
        .ok_or_else(|| BookError::NoTrade.into())
}

pub fn refund(app: &App, call: &Call) -> Result<Reply, Failure> {
    let out_trade_no = trade_of(app, call)?;
    let amount_cents = call.biz.amount("refund_amount")?;
    // Without a request number Alipay takes the trade's own: one refund per trade.
    let out_request_no = call
        .biz
        .text("out_request_no")
        .unwrap_or_else(|| out_trade_no.clone());
    let recorded = app
        .book()
        .refund(&out_trade_no, &out_request_no, amount_cents, now_cst())?;
    let (fund_change, (trade, refund)) = match recorded {
        Recorded::New(done) => {
            notify::announce(app, &done.0, Some(&done.1));
            ("Y", done)
        }
        Recorded::Replay(done) => ("N", done),
    };
    let mut fields = Map::new();
    fields.insert("trade_no".into(), trade.trade_no.clone().into());
    fields.insert("out_trade_no".into(), out_trade_no.into());
    if let Some(buyer_id) = &trade.buyer_id {
        fields.insert("buyer_logon_id".into(), buyer_logon_id(buyer_id).into());
        fields.insert("buyer_user_id".into(), buyer_id.clone().into());
    }
    fields.insert("fund_change".into(), fund_change.into());
    fields.insert("refund_fee".into(), yuan(trade.refunded_cents).into());
    fields.insert("gmt_refund_pay".into(), alipay_time(refund.at).into());
    Ok(Reply::success(fields))
}

/// A refund not found is answered 10000 without `refund_status`, as Alipay does.
pub fn query(app: &App, call: &Call) -> Result<Reply, Failure> {
    let out_trade_no = trade_of(app, call)?;
    let out_request_no = call.biz.required("out_request_no")?;
    let book = app.book();
    let trade = book
        .trade(&out_trade_no)
        .ok_or(Failure::from(BookError::NoTrade))?;
    let mut fields = Map::new();
    fields.insert("trade_no".into(), trade.trade_no.clone().into());
    fields.insert("out_trade_no".into(), out_trade_no.clone().into());
    fields.insert("out_request_no".into(), out_request_no.clone().into());
    if let Some(refund) = book.refund_of(&out_trade_no, &out_request_no) {
        fields.insert("total_amount".into(), yuan(trade.ask.total_cents).into());
        fields.insert("refund_amount".into(), yuan(refund.amount_cents).into());
        fields.insert("refund_status".into(), "REFUND_SUCCESS".into());
        let options = call.biz.strings("query_options");
        if options.iter().any(|o| o == "gmt_refund_pay") {
            fields.insert("gmt_refund_pay".into(), alipay_time(refund.at).into());
        }
    }
    Ok(Reply::success(fields))
}
