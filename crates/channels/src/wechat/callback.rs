//! WeChat Pay's callbacks: checked in the order that makes a forgery cost nothing (signature,
//! freshness, then decryption with the APIv3 key, then the account), and answered as its
//! current documentation asks: a 2xx with no body to stop the retries, or a 4xx/5xx with
//! `{"code":"FAIL","message":...}` to have the callback sent again.

use paygate_domain::{RefundNo, TradeNo};
use serde::de::DeserializeOwned;

use super::adapter::WechatPay;
use super::mapping::{self, MappingError};
use super::v3_auth::open_resource;
use super::v3_wire::{CallbackAnswer, Notification, RefundNotice, Transaction};
use super::verify::SignedHeaders;
use crate::{CallbackEvent, CallbackRefusal, CallbackReply, CallbackRequest, RefundAmount};

const ALGORITHM: &str = "AEAD_AES_256_GCM";
const EVENT_PAID: &str = "TRANSACTION.SUCCESS";
const EVENTS_REFUND: [&str; 3] = ["REFUND.SUCCESS", "REFUND.ABNORMAL", "REFUND.CLOSED"];

fn malformed(why: impl std::fmt::Display) -> CallbackRefusal {
    CallbackRefusal::Malformed(why.to_string())
}

impl From<MappingError> for CallbackRefusal {
    fn from(error: MappingError) -> CallbackRefusal {
        malformed(error)
    }
}

pub(crate) fn parse(
    pay: &WechatPay,
    request: &CallbackRequest<'_>,
) -> Result<CallbackEvent, CallbackRefusal> {
    let signed = SignedHeaders::from_map(request.headers)
        .map_err(|e| CallbackRefusal::Forged(e.to_string()))?;
    let body = std::str::from_utf8(request.body).map_err(|_| malformed("body is not UTF-8"))?;
    pay.platform
        .verify(&signed, body)
        .map_err(|e| CallbackRefusal::Forged(e.to_string()))?;
    if !signed.is_fresh(request.now_ms.div_euclid(1000)) {
        return Err(CallbackRefusal::Stale);
    }
    let notification: Notification = serde_json::from_str(body).map_err(malformed)?;
    let resource = &notification.resource;
    if resource.algorithm != ALGORITHM {
        return Err(malformed(format!("algorithm {}", resource.algorithm)));
    }
    let plain = open_resource(
        pay.config.apiv3_key.expose(),
        &resource.nonce,
        &resource.associated_data,
        &resource.ciphertext,
    )
    .map_err(|e| malformed(format!("resource: {e}")))?;
    let event = notification.event_type.as_str();
    match (request.kind, event) {
        ("pay", EVENT_PAID) => payment(pay, &read(&plain)?),
        ("refund", e) if EVENTS_REFUND.contains(&e) => refund(pay, &read(&plain)?),
        (kind, event) => Err(malformed(format!("event {event} at the {kind} callback"))),
    }
}

fn read<T: DeserializeOwned>(plain: &str) -> Result<T, CallbackRefusal> {
    serde_json::from_str(plain).map_err(|e| malformed(format!("resource: {e}")))
}

fn same_account(field: &str, theirs: &str, ours: &str) -> Result<(), CallbackRefusal> {
    if theirs == ours {
        Ok(())
    } else {
        Err(CallbackRefusal::WrongAccount(format!(
            "{field} {theirs:?} is not ours"
        )))
    }
}

fn payment(pay: &WechatPay, tx: &Transaction) -> Result<CallbackEvent, CallbackRefusal> {
    same_account("mchid", &tx.mchid, &pay.config.mchid)?;
    same_account("appid", &tx.appid, &pay.config.appid)?;
    let trade_no = TradeNo::parse(&tx.out_trade_no)
        .map_err(|_| CallbackRefusal::Mismatch(format!("no order {:?}", tx.out_trade_no)))?;
    let total = tx
        .amount
        .as_ref()
        .and_then(|amount| amount.total)
        .ok_or_else(|| malformed("amount.total is missing"))?;
    Ok(CallbackEvent::Payment {
        trade_no,
        total: mapping::from_fen(total)?,
        state: mapping::trade_state(tx)?,
    })
}

fn refund(pay: &WechatPay, notice: &RefundNotice) -> Result<CallbackEvent, CallbackRefusal> {
    same_account("mchid", &notice.mchid, &pay.config.mchid)?;
    let mismatch =
        |field: &str, value: &str| CallbackRefusal::Mismatch(format!("no {field} {value:?}"));
    Ok(CallbackEvent::Refund {
        refund_no: RefundNo::parse(&notice.out_refund_no)
            .map_err(|_| mismatch("refund", &notice.out_refund_no))?,
        trade_no: TradeNo::parse(&notice.out_trade_no)
            .map_err(|_| mismatch("order", &notice.out_trade_no))?,
        refund: RefundAmount::This(mapping::from_fen(notice.amount.refund)?),
        outcome: mapping::refund_outcome(notice.refund_status, &notice.refund_id),
    })
}

pub(crate) fn reply(accepted: Result<(), &CallbackRefusal>) -> CallbackReply {
    let refusal = match accepted {
        Ok(()) => return CallbackReply::text(204, ""),
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
    let answer = CallbackAnswer {
        code: "FAIL".into(),
        message: refusal.to_string(),
    };
    CallbackReply::json(
        status,
        serde_json::to_string(&answer).expect("two strings serialise"),
    )
}
