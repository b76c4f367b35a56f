//! Alipay's asynchronous notifications (`trade_status_sync`), all sent to our `notify_url`:
//! checked in the order that makes a forgery cost nothing (signature with Alipay's key, then
//! the app and seller), and answered with the text Alipay looks for: `success` stops the
//! retries, anything else has the notification sent again.

use std::collections::BTreeMap;

use paygate_domain::{RefundNo, TradeNo};

use super::adapter::AlipayPay;
use super::mapping::{self, MappingError};
use super::sign;
use crate::{CallbackEvent, CallbackRefusal, CallbackReply, CallbackRequest, RefundOutcome};

const NOTIFY_TYPE: &str = "trade_status_sync";

fn malformed(why: impl std::fmt::Display) -> CallbackRefusal {
    CallbackRefusal::Malformed(why.to_string())
}

impl From<MappingError> for CallbackRefusal {
    fn from(error: MappingError) -> CallbackRefusal {
        malformed(error)
    }
}

pub(crate) fn parse(
    pay: &AlipayPay,
    request: &CallbackRequest<'_>,
) -> Result<CallbackEvent, CallbackRefusal> {
    if request.kind != "pay" {
        return Err(CallbackRefusal::Unsupported);
    }
    let fields: BTreeMap<String, String> = url::form_urlencoded::parse(request.body)
        .into_owned()
        .collect();
    let signature = fields
        .get("sign")
        .ok_or_else(|| CallbackRefusal::Forged("no sign".into()))?;
    if fields.get("sign_type").is_some_and(|t| t != "RSA2") {
        return Err(CallbackRefusal::Forged("sign_type is not RSA2".into()));
    }
    let content = sign::notify_content(&fields);
    if !sign::verify_rsa2(pay.gateway.alipay_key(), &content, signature) {
        return Err(CallbackRefusal::Forged(
            "does not verify with Alipay's key".into(),
        ));
    }
    // Alipay leaves out what does not apply; an empty value is the same as none.
    let optional = |name: &str| {
        fields
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    let field =
        |name: &'static str| optional(name).ok_or_else(|| malformed(format!("{name} is missing")));
    if field("app_id")? != pay.config.app_id {
        return Err(CallbackRefusal::WrongAccount(format!(
            "app_id {:?} is not ours",
            field("app_id")?
        )));
    }
    if let (Some(ours), Some(theirs)) = (&pay.config.seller_id, optional("seller_id")) {
        if theirs != ours {
            return Err(CallbackRefusal::WrongAccount(format!(
                "seller_id {theirs:?} is not ours"
            )));
        }
    }
    if field("notify_type")? != NOTIFY_TYPE {
        return Err(malformed(format!("notify_type {}", field("notify_type")?)));
    }
    let trade_no = TradeNo::parse(field("out_trade_no")?)
        .map_err(|_| CallbackRefusal::Mismatch(format!("no order {:?}", fields["out_trade_no"])))?;
    // A notification naming a refund request is that refund's, whatever the trade's status
    // (TRADE_CLOSED once fully refunded): never "closed unpaid".
    if let Some(refund_no) = optional("out_biz_no") {
        return Ok(CallbackEvent::Refund {
            refund_no: RefundNo::parse(refund_no)
                .map_err(|_| CallbackRefusal::Mismatch(format!("no refund {refund_no:?}")))?,
            trade_no,
            refund: mapping::from_yuan(field("refund_fee")?)?,
            outcome: RefundOutcome::Succeeded {
                channel_refund_no: None,
            },
        });
    }
    Ok(CallbackEvent::Payment {
        trade_no,
        total: mapping::from_yuan(field("total_amount")?)?,
        state: mapping::trade_state(
            field("trade_status")?,
            optional("trade_no"),
            optional("gmt_payment"),
        )?,
    })
}

/// `success` as plain text is the only answer Alipay takes as received.
pub(crate) fn reply(accepted: Result<(), &CallbackRefusal>) -> CallbackReply {
    let refusal = match accepted {
        Ok(()) => return CallbackReply::text(200, "success"),
        Err(refusal) => refusal,
    };
    let status = match refusal {
        CallbackRefusal::Forged(_) | CallbackRefusal::Stale => 401,
        CallbackRefusal::Unavailable => 500,
        CallbackRefusal::WrongAccount(_)
        | CallbackRefusal::Mismatch(_)
        | CallbackRefusal::Malformed(_)
        | CallbackRefusal::Unsupported => 400,
    };
    CallbackReply::text(status, "fail")
}
