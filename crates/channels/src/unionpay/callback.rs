//! UnionPay's back notifications (后台通知): a signed form posted to `backUrl`, checked in the
//! order that makes a forgery cost nothing (UnionPay's certificate and signature, then the
//! account), and answered with HTTP 200 to stop the retries; anything else has it sent again.

use paygate_domain::{RefundNo, TradeNo};

use super::adapter::UnionPay;
use super::http::check_signed;
use super::wire::{self, Resp, WireError};
use crate::{
    CallbackEvent, CallbackRefusal, CallbackReply, CallbackRequest, RefundAmount, RefundOutcome,
    TradeState,
};

fn malformed(why: impl std::fmt::Display) -> CallbackRefusal {
    CallbackRefusal::Malformed(why.to_string())
}

impl From<WireError> for CallbackRefusal {
    fn from(error: WireError) -> CallbackRefusal {
        malformed(error)
    }
}

pub(crate) fn parse(
    pay: &UnionPay,
    request: &CallbackRequest<'_>,
) -> Result<CallbackEvent, CallbackRefusal> {
    let fields = wire::parse_form(request.body);
    check_signed(&pay.client.unionpay, &fields).map_err(CallbackRefusal::Forged)?;
    let mer_id = wire::required(&fields, "merId")?;
    if mer_id != pay.config.mer_id {
        return Err(CallbackRefusal::WrongAccount(format!(
            "merId {mer_id:?} is not ours"
        )));
    }
    let mismatch =
        |what: &str, value: &str| CallbackRefusal::Mismatch(format!("no {what} {value:?}"));
    let code = wire::required(&fields, "respCode")?;
    let amount = wire::from_fen(wire::required(&fields, "txnAmt")?)?;
    match wire::required(&fields, "txnType")? {
        wire::TXN_CONSUME => {
            let order_id = wire::required(&fields, "orderId")?;
            let trade_no = TradeNo::parse(order_id).map_err(|_| mismatch("order", order_id))?;
            let state = match Resp::of(code) {
                Resp::Succeeded => TradeState::Paid {
                    channel_trade_no: wire::required(&fields, "queryId")?.to_owned(),
                    paid_at_ms: wire::parse_beijing_time(wire::required(&fields, "txnTime")?)?,
                },
                Resp::Pending => TradeState::WaitingPayment,
                Resp::Failed => TradeState::Closed,
            };
            Ok(CallbackEvent::Payment {
                trade_no,
                total: amount,
                state,
            })
        }
        wire::TXN_REFUND => {
            let order_id = wire::required(&fields, "orderId")?;
            let reserved = wire::required(&fields, "reqReserved")?;
            let outcome = match Resp::of(code) {
                Resp::Succeeded => RefundOutcome::Succeeded {
                    channel_refund_no: Some(wire::required(&fields, "queryId")?.to_owned()),
                },
                Resp::Pending => RefundOutcome::Processing,
                Resp::Failed => RefundOutcome::Failed(format!(
                    "{code}: {}",
                    fields.get("respMsg").map_or("", String::as_str)
                )),
            };
            Ok(CallbackEvent::Refund {
                refund_no: RefundNo::parse(order_id).map_err(|_| mismatch("refund", order_id))?,
                trade_no: TradeNo::parse(reserved).map_err(|_| mismatch("order", reserved))?,
                refund: RefundAmount::This(amount),
                outcome,
            })
        }
        wire::TXN_VOID => {
            let reserved = wire::required(&fields, "reqReserved")?;
            let trade_no = TradeNo::parse(reserved).map_err(|_| mismatch("order", reserved))?;
            if Resp::of(code) != Resp::Succeeded {
                return Err(malformed(format!(
                    "a void notification with respCode {code}"
                )));
            }
            Ok(CallbackEvent::Payment {
                trade_no,
                total: amount,
                state: TradeState::Closed,
            })
        }
        other => Err(malformed(format!("txnType {other}"))),
    }
}

pub(crate) fn reply(accepted: Result<(), &CallbackRefusal>) -> CallbackReply {
    match accepted {
        Ok(()) => CallbackReply::text(200, "ok"),
        Err(CallbackRefusal::Unavailable) => CallbackReply::text(500, "retry"),
        Err(refusal) => CallbackReply::text(400, &refusal.to_string()),
    }
}
