//! Alipay's asynchronous notifications (`trade_status_sync`), all sent to our `notify_url`:
//! checked in the order that makes a forgery cost nothing (signature with Alipay's key, then
//! the app and seller), and answered with the text Alipay looks for: `success` stops the
//! retries, anything else has the notification sent again. There is no freshness check:
//! Alipay resends a notification for a day and more, and each one states a fact that stays
//! true, so a late one changes nothing.

use std::collections::BTreeMap;

use paygate_domain::{RefundNo, TradeNo};

use super::adapter::AlipayPay;
use super::mapping::{self, MappingError};
use super::sign;
use crate::{
    CallbackEvent, CallbackRefusal, CallbackReply, CallbackRequest, RefundAmount, RefundOutcome,
};

const NOTIFY_TYPE: &str = "trade_status_sync";

fn malformed(why: impl std::fmt::Display) -> CallbackRefusal {
    CallbackRefusal::Malformed(why.to_string())
}

impl From<MappingError> for CallbackRefusal {
    fn from(error: MappingError) -> CallbackRefusal {
        malformed(error)
    }
}

/// A notification's form fields. Alipay leaves out what does not apply; an empty value is the
/// same as none.
struct Fields(BTreeMap<String, String>);

impl Fields {
    fn optional(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn required(&self, name: &'static str) -> Result<&str, CallbackRefusal> {
        self.optional(name)
            .ok_or_else(|| malformed(format!("{name} is missing")))
    }
}

pub(crate) fn parse(
    pay: &AlipayPay,
    request: &CallbackRequest<'_>,
) -> Result<CallbackEvent, CallbackRefusal> {
    if request.kind != "pay" {
        return Err(CallbackRefusal::Unsupported);
    }
    let fields = Fields(
        url::form_urlencoded::parse(request.body)
            .into_owned()
            .collect(),
    );
    verify(pay, &fields)?;
    check_account(pay, &fields)?;
    let trade_no = TradeNo::parse(fields.required("out_trade_no")?).map_err(|_| {
        CallbackRefusal::Mismatch(format!("no order {:?}", fields.optional("out_trade_no")))
    })?;
    // A notification naming a refund request is that refund's, whatever the trade's status
    // (TRADE_CLOSED once fully refunded): never "closed unpaid".
    if let Some(refund_no) = fields.optional("out_biz_no") {
        return Ok(CallbackEvent::Refund {
            refund_no: RefundNo::parse(refund_no)
                .map_err(|_| CallbackRefusal::Mismatch(format!("no refund {refund_no:?}")))?,
            trade_no,
            // Alipay states only the total refunded on the trade so far.
            refund: RefundAmount::TradeTotal(mapping::from_yuan(fields.required("refund_fee")?)?),
            outcome: RefundOutcome::Succeeded {
                channel_refund_no: None,
            },
        });
    }
    Ok(CallbackEvent::Payment {
        trade_no,
        total: mapping::from_yuan(fields.required("total_amount")?)?,
        state: mapping::trade_state(
            fields.required("trade_status")?,
            fields.optional("trade_no"),
            fields.optional("gmt_payment"),
        )?,
    })
}

/// Signed by Alipay, over every field but `sign` and `sign_type`.
fn verify(pay: &AlipayPay, fields: &Fields) -> Result<(), CallbackRefusal> {
    let signature = fields
        .optional("sign")
        .ok_or_else(|| CallbackRefusal::Forged("no sign".into()))?;
    if fields.optional("sign_type").is_some_and(|t| t != "RSA2") {
        return Err(CallbackRefusal::Forged("sign_type is not RSA2".into()));
    }
    let content = sign::notify_content(&fields.0);
    if !sign::verify_rsa2(pay.gateway.alipay_key(), &content, signature) {
        return Err(CallbackRefusal::Forged(
            "does not verify with Alipay's key".into(),
        ));
    }
    Ok(())
}

/// Genuine, but is it about our app (and seller, when we know it)?
fn check_account(pay: &AlipayPay, fields: &Fields) -> Result<(), CallbackRefusal> {
    let app_id = fields.required("app_id")?;
    if app_id != pay.config.app_id {
        return Err(CallbackRefusal::WrongAccount(format!(
            "app_id {app_id:?} is not ours"
        )));
    }
    if let (Some(ours), Some(theirs)) = (&pay.config.seller_id, fields.optional("seller_id")) {
        if theirs != ours {
            return Err(CallbackRefusal::WrongAccount(format!(
                "seller_id {theirs:?} is not ours"
            )));
        }
    }
    let notify_type = fields.required("notify_type")?;
    if notify_type != NOTIFY_TYPE {
        return Err(malformed(format!("notify_type {notify_type}")));
    }
    Ok(())
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
