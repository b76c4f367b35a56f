//! What channels send us on their own: callbacks about trades and refunds, and daily bills.

use crate::{RefundOutcome, TradeState};
use paygate_domain::{Money, RefundNo, TradeNo};
use std::collections::BTreeMap;

/// A callback as it reached `/callback/{channel}/{kind}`.
#[derive(Debug, Clone)]
pub struct CallbackRequest<'a> {
    /// `pay` or `refund`.
    pub kind: &'a str,
    /// Header names in lower case.
    pub headers: &'a BTreeMap<String, String>,
    pub body: &'a [u8],
    /// Now, for the freshness check of signed timestamps.
    pub now_ms: i64,
}

/// A verified callback's meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackEvent {
    Payment {
        /// Our number, as the channel echoes it.
        trade_no: TradeNo,
        /// What the channel says the payer was charged for: the order's total.
        total: Money,
        state: TradeState,
    },
    Refund {
        refund_no: RefundNo,
        trade_no: TradeNo,
        refund: RefundAmount,
        outcome: RefundOutcome,
    },
}

/// The amount a refund callback states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundAmount {
    /// This refund's own amount (WeChat Pay, UnionPay).
    This(Money),
    /// What the trade has been refunded in all, this refund included (Alipay's `refund_fee`):
    /// the refund's own amount only for a trade's first refund.
    TradeTotal(Money),
}

/// Why a callback was not taken. Every refusal is logged with its reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackRefusal {
    /// The signature does not verify, or names a key we do not know.
    #[error("signature invalid: {0}")]
    Forged(String),
    /// Signed too long ago (or in the future): a replay.
    #[error("callback timestamp outside the accepted window")]
    Stale,
    /// Signed by the channel, but for another account (merchant number, app id).
    #[error("callback is for another account: {0}")]
    WrongAccount(String),
    /// Signed and ours, but naming an order or amount we do not have.
    #[error("callback does not match our order: {0}")]
    Mismatch(String),
    #[error("callback unreadable: {0}")]
    Malformed(String),
    #[error("this channel sends no such callback")]
    Unsupported,
    /// We could not record it just now (a database error): the channel should send it again.
    #[error("temporarily unable to take the callback")]
    Unavailable,
}

/// The answer to a callback, in the channel's expected format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackReply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl CallbackReply {
    pub fn text(status: u16, body: &str) -> CallbackReply {
        CallbackReply {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.into(),
        }
    }

    pub fn json(status: u16, body: String) -> CallbackReply {
        CallbackReply {
            status,
            content_type: "application/json",
            body,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BillLineKind {
    Payment,
    Refund,
}

/// One line of a channel's trade bill, amounts exact in the currency's minor unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillLine {
    pub kind: BillLineKind,
    /// When the trade (or refund) happened, Unix milliseconds.
    pub at_ms: i64,
    /// Our number as the channel knows it (`out_trade_no`).
    pub trade_no: String,
    pub channel_trade_no: String,
    /// For refunds: ours and the channel's refund numbers.
    pub refund_no: Option<String>,
    pub channel_refund_no: Option<String>,
    /// The order amount for a payment, the refunded amount for a refund.
    pub amount: Money,
    /// The channel's fee: charged on a payment, given back (as a positive amount) on a refund.
    pub fee: Money,
    /// The channel's own status text (`SUCCESS`, `REFUND`, ...).
    pub status: String,
}
