//! The trade book: every trade and refund the sandbox has seen, and the rules WeChat Pay applies
//! to them. It lives in memory (a restart forgets it). Functions here are pure: time comes in as
//! an argument and ids are minted by the caller, so the rules are tested without a server.

use chrono::{DateTime, Duration, FixedOffset};
use paygate_channels::wechat::v3_wire::{CreateOrder, Created, RefundStatus, TradeState};
use std::collections::HashMap;

use crate::callbacks::Callback;

pub const REFUNDS_PER_TRADE_MAX: usize = 50;
pub const REFUND_WINDOW_DAYS: i64 = 365;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TradeType {
    Jsapi,
    Native,
    Mweb,
    App,
    Micropay,
}

impl TradeType {
    pub fn as_str(self) -> &'static str {
        match self {
            TradeType::Jsapi => "JSAPI",
            TradeType::Native => "NATIVE",
            TradeType::Mweb => "MWEB",
            TradeType::App => "APP",
            TradeType::Micropay => "MICROPAY",
        }
    }
}

/// What created a trade, to tell a retried create from a different one under the same number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    V3(TradeType, CreateOrder),
    Micropay(MicropayOrder),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MicropayOrder {
    pub appid: String,
    pub mchid: String,
    pub body: String,
    pub total_fee: i64,
    pub auth_code: String,
    pub attach: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Trade {
    pub out_trade_no: String,
    pub trade_type: TradeType,
    pub origin: Origin,
    pub appid: String,
    pub mchid: String,
    pub total: i64,
    pub attach: Option<String>,
    pub notify_url: Option<String>,
    pub answer: Created,
    pub state: TradeState,
    /// The payer walked away: the trade stays NOTPAY for good.
    pub abandoned: bool,
    pub transaction_id: Option<String>,
    pub openid: Option<String>,
    pub success_time: Option<DateTime<FixedOffset>>,
    pub refund_nos: Vec<String>,
    /// A payment callback held back (fault `out_of_order`) until the first refund's.
    pub held_callback: Option<Callback>,
}

impl Trade {
    /// A trade as the channel opens it: NOTPAY, not yet paid, called back or refunded; what the
    /// order names (app, merchant, amount, attach, notify URL, payer) is taken from it.
    pub fn opened(out_trade_no: String, origin: Origin, answer: Created) -> Trade {
        let (trade_type, appid, mchid, total, attach, notify_url, openid) = match &origin {
            Origin::V3(trade_type, order) => (
                *trade_type,
                &order.appid,
                &order.mchid,
                order.amount.total,
                &order.attach,
                Some(order.notify_url.clone()),
                order.payer.as_ref().map(|p| p.openid.clone()),
            ),
            Origin::Micropay(order) => (
                TradeType::Micropay,
                &order.appid,
                &order.mchid,
                order.total_fee,
                &order.attach,
                None,
                None,
            ),
        };
        Trade {
            out_trade_no,
            trade_type,
            appid: appid.clone(),
            mchid: mchid.clone(),
            total,
            attach: attach.clone(),
            notify_url,
            answer,
            state: TradeState::Notpay,
            abandoned: false,
            transaction_id: None,
            openid,
            success_time: None,
            refund_nos: Vec::new(),
            held_callback: None,
            origin,
        }
    }

    /// What the order said it sells (`description`, micropay's `body`).
    pub fn description(&self) -> &str {
        match &self.origin {
            Origin::V3(_, order) => &order.description,
            Origin::Micropay(order) => &order.body,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRecord {
    pub refund_id: String,
    pub out_refund_no: String,
    pub out_trade_no: String,
    pub transaction_id: String,
    pub total: i64,
    pub refund: i64,
    pub status: RefundStatus,
    pub reason: Option<String>,
    pub notify_url: Option<String>,
    pub create_time: DateTime<FixedOffset>,
    pub success_time: Option<DateTime<FixedOffset>>,
}

/// A refund as asked for, before the book checks it.
#[derive(Debug, Clone)]
pub struct RefundAsk {
    pub out_trade_no: String,
    pub out_refund_no: String,
    pub refund: i64,
    pub total: i64,
    pub reason: Option<String>,
    pub notify_url: Option<String>,
    pub refund_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded<T> {
    New(T),
    /// The same request again: the first answer.
    Replay(T),
}

/// How the next micropay presenting a pay code goes (payer simulator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodePlan {
    Userpaying,
    Fail,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookError {
    #[error("no such trade")]
    NoTrade,
    #[error("no such refund")]
    NoRefund,
    #[error("the trade is closed")]
    Closed,
    #[error("the trade is paid")]
    Paid,
    #[error("the order number was used with other parameters")]
    NumberReused,
    #[error("{0}")]
    State(&'static str),
    #[error("the refunds would exceed the amount paid")]
    RefundExceedsPaid,
    #[error("at most 50 refunds per trade")]
    TooManyRefunds,
    #[error("the trade was paid more than a year ago")]
    RefundWindowPassed,
    #[error("amount.total differs from the trade's total")]
    TotalMismatch,
}

#[derive(Default)]
pub struct Book {
    trades: HashMap<String, Trade>,
    by_transaction_id: HashMap<String, String>,
    by_code_url: HashMap<String, String>,
    refunds: HashMap<String, RefundRecord>,
    code_plans: HashMap<String, CodePlan>,
}

impl Book {
    /// Records a new trade, or answers a retried create with its first answer.
    pub fn create(&mut self, trade: Trade) -> Result<Recorded<Trade>, BookError> {
        if let Some(known) = self.trades.get(&trade.out_trade_no) {
            return match known.state {
                TradeState::Closed | TradeState::Revoked => Err(BookError::Closed),
                _ if known.origin != trade.origin => Err(BookError::NumberReused),
                _ => Ok(Recorded::Replay(known.clone())),
            };
        }
        if let Some(code_url) = &trade.answer.code_url {
            self.by_code_url
                .insert(code_url.clone(), trade.out_trade_no.clone());
        }
        self.trades
            .insert(trade.out_trade_no.clone(), trade.clone());
        Ok(Recorded::New(trade))
    }

    pub fn trade(&self, out_trade_no: &str) -> Option<&Trade> {
        self.trades.get(out_trade_no)
    }

    pub fn trade_mut(&mut self, out_trade_no: &str) -> Result<&mut Trade, BookError> {
        self.trades.get_mut(out_trade_no).ok_or(BookError::NoTrade)
    }

    pub fn out_trade_no_of_transaction(&self, transaction_id: &str) -> Option<&str> {
        self.by_transaction_id
            .get(transaction_id)
            .map(String::as_str)
    }

    pub fn out_trade_no_of_code_url(&self, code_url: &str) -> Option<&str> {
        self.by_code_url.get(code_url).map(String::as_str)
    }

    /// The payer pays: NOTPAY or USERPAYING becomes SUCCESS. Paying a paid trade changes nothing.
    pub fn pay(
        &mut self,
        out_trade_no: &str,
        transaction_id: String,
        now: DateTime<FixedOffset>,
    ) -> Result<Recorded<Trade>, BookError> {
        let trade = self.trade_mut(out_trade_no)?;
        match trade.state {
            TradeState::Success | TradeState::Refund => return Ok(Recorded::Replay(trade.clone())),
            TradeState::Notpay if trade.abandoned => return Err(BookError::State("abandoned")),
            TradeState::Notpay | TradeState::Userpaying => {}
            TradeState::Closed | TradeState::Revoked => return Err(BookError::Closed),
            TradeState::Payerror => return Err(BookError::State("the payment failed")),
        }
        trade.state = TradeState::Success;
        trade.success_time = Some(now);
        trade.transaction_id = Some(transaction_id.clone());
        if trade.openid.is_none() {
            trade.openid = Some(crate::ids::openid());
        }
        let paid = trade.clone();
        self.by_transaction_id
            .insert(transaction_id, out_trade_no.to_owned());
        Ok(Recorded::New(paid))
    }

    /// Moves an unpaid trade to `to` (PAYERROR, USERPAYING) or marks it abandoned.
    pub fn set_unpaid(&mut self, out_trade_no: &str, to: UnpaidMove) -> Result<Trade, BookError> {
        let trade = self.trade_mut(out_trade_no)?;
        if !matches!(trade.state, TradeState::Notpay | TradeState::Userpaying) || trade.abandoned {
            return Err(BookError::State(
                "the trade is no longer waiting for the payer",
            ));
        }
        match to {
            UnpaidMove::Fail => trade.state = TradeState::Payerror,
            UnpaidMove::Userpaying => trade.state = TradeState::Userpaying,
            UnpaidMove::Abandon => trade.abandoned = true,
        }
        Ok(trade.clone())
    }

    /// Closes an unpaid trade; closing a closed trade again is fine.
    pub fn close(&mut self, out_trade_no: &str) -> Result<(), BookError> {
        let trade = self.trade_mut(out_trade_no)?;
        match trade.state {
            TradeState::Success | TradeState::Refund => Err(BookError::Paid),
            TradeState::Revoked => Err(BookError::Closed),
            _ => {
                trade.state = TradeState::Closed;
                Ok(())
            }
        }
    }

    /// Micropay reverse: whatever the trade's state, it ends REVOKED (a paid one is refunded).
    pub fn reverse(&mut self, out_trade_no: &str) -> Result<(), BookError> {
        let trade = self.trade_mut(out_trade_no)?;
        if trade.state == TradeState::Refund {
            return Err(BookError::State("a refunded trade cannot be reversed"));
        }
        trade.state = TradeState::Revoked;
        Ok(())
    }

    /// Checks and records a refund (PROCESSING); the same `out_refund_no` again is a replay.
    pub fn refund(
        &mut self,
        ask: RefundAsk,
        now: DateTime<FixedOffset>,
    ) -> Result<Recorded<RefundRecord>, BookError> {
        if let Some(known) = self.refunds.get(&ask.out_refund_no) {
            if known.out_trade_no == ask.out_trade_no && known.refund == ask.refund {
                return Ok(Recorded::Replay(known.clone()));
            }
            return Err(BookError::NumberReused);
        }
        let trade = self
            .trades
            .get(&ask.out_trade_no)
            .ok_or(BookError::NoTrade)?;
        let (Some(transaction_id), Some(paid_at)) = (&trade.transaction_id, trade.success_time)
        else {
            return Err(BookError::State("the trade is not paid"));
        };
        if !matches!(trade.state, TradeState::Success | TradeState::Refund) {
            return Err(BookError::State("the trade is not paid"));
        }
        if ask.total != trade.total {
            return Err(BookError::TotalMismatch);
        }
        if now - paid_at > Duration::days(REFUND_WINDOW_DAYS) {
            return Err(BookError::RefundWindowPassed);
        }
        if trade.refund_nos.len() >= REFUNDS_PER_TRADE_MAX {
            return Err(BookError::TooManyRefunds);
        }
        let refunded: i64 = trade
            .refund_nos
            .iter()
            .filter_map(|no| self.refunds.get(no))
            .filter(|r| r.status != RefundStatus::Closed && r.status != RefundStatus::Abnormal)
            .map(|r| r.refund)
            .sum();
        if ask.refund <= 0 || refunded + ask.refund > trade.total {
            return Err(BookError::RefundExceedsPaid);
        }
        let record = RefundRecord {
            refund_id: ask.refund_id,
            out_refund_no: ask.out_refund_no.clone(),
            out_trade_no: ask.out_trade_no.clone(),
            transaction_id: transaction_id.clone(),
            total: trade.total,
            refund: ask.refund,
            status: RefundStatus::Processing,
            reason: ask.reason,
            notify_url: ask.notify_url,
            create_time: now,
            success_time: None,
        };
        let trade = self.trade_mut(&ask.out_trade_no)?;
        trade.refund_nos.push(ask.out_refund_no.clone());
        trade.state = TradeState::Refund;
        self.refunds.insert(ask.out_refund_no, record.clone());
        Ok(Recorded::New(record))
    }

    /// A PROCESSING refund ends: SUCCESS, or ABNORMAL (then it no longer counts against the
    /// amount paid, so the merchant may refund again).
    pub fn settle_refund(
        &mut self,
        out_refund_no: &str,
        end: RefundEnd,
        now: DateTime<FixedOffset>,
    ) -> Result<RefundRecord, BookError> {
        let refund = self
            .refunds
            .get_mut(out_refund_no)
            .ok_or(BookError::NoRefund)?;
        if refund.status == RefundStatus::Processing {
            match end {
                RefundEnd::Success => {
                    refund.status = RefundStatus::Success;
                    refund.success_time = Some(now);
                }
                RefundEnd::Abnormal => refund.status = RefundStatus::Abnormal,
            }
        }
        Ok(refund.clone())
    }

    pub fn refund_record(&self, out_refund_no: &str) -> Option<&RefundRecord> {
        self.refunds.get(out_refund_no)
    }

    pub fn trades(&self) -> impl Iterator<Item = &Trade> {
        self.trades.values()
    }

    pub fn refund_records(&self) -> impl Iterator<Item = &RefundRecord> {
        self.refunds.values()
    }

    pub fn arrange_code(&mut self, auth_code: &str, plan: CodePlan) {
        self.code_plans.insert(auth_code.to_owned(), plan);
    }

    pub fn take_code_plan(&mut self, auth_code: &str) -> Option<CodePlan> {
        self.code_plans.remove(auth_code)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundEnd {
    Success,
    Abnormal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnpaidMove {
    Fail,
    Userpaying,
    Abandon,
}

#[cfg(test)]
#[path = "book_tests.rs"]
mod tests;
