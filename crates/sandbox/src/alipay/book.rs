//! The Alipay trade book: every trade and refund the sandbox has seen, and the rules Alipay
//! applies to them. In memory only. Functions are pure: time comes in as an argument and ids are
//! minted by the caller, so the rules are tested without a server.

use chrono::{DateTime, FixedOffset};
use std::collections::HashMap;

/// Alipay keeps at most this many refunds under one trade.
pub const REFUNDS_PER_TRADE_MAX: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TradeStatus {
    WaitBuyerPay,
    TradeClosed,
    TradeSuccess,
}

impl TradeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TradeStatus::WaitBuyerPay => "WAIT_BUYER_PAY",
            TradeStatus::TradeClosed => "TRADE_CLOSED",
            TradeStatus::TradeSuccess => "TRADE_SUCCESS",
        }
    }
}

/// Which API opened the trade (the bill and the payment page tell them apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Product {
    Precreate,
    BarCode,
    Create,
    Wap,
    Page,
    App,
}

/// A trade as an API call asks to open it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeAsk {
    pub out_trade_no: String,
    pub total_cents: i64,
    pub subject: String,
    pub product: Product,
    pub notify_url: Option<String>,
    pub return_url: Option<String>,
    pub buyer_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trade {
    pub ask: TradeAsk,
    pub trade_no: String,
    pub qr_code: Option<String>,
    pub status: TradeStatus,
    /// The payer walked away: the trade waits for good.
    pub abandoned: bool,
    pub buyer_id: Option<String>,
    pub gmt_create: DateTime<FixedOffset>,
    pub gmt_payment: Option<DateTime<FixedOffset>>,
    pub gmt_close: Option<DateTime<FixedOffset>>,
    /// `out_request_no`s in the order they were refunded.
    pub refund_nos: Vec<String>,
    pub refunded_cents: i64,
}

impl Trade {
    pub fn opened(ask: TradeAsk, trade_no: String, now: DateTime<FixedOffset>) -> Trade {
        Trade {
            buyer_id: ask.buyer_id.clone(),
            ask,
            trade_no,
            qr_code: None,
            status: TradeStatus::WaitBuyerPay,
            abandoned: false,
            gmt_create: now,
            gmt_payment: None,
            gmt_close: None,
            refund_nos: Vec::new(),
            refunded_cents: 0,
        }
    }

    pub fn out_trade_no(&self) -> &str {
        &self.ask.out_trade_no
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub out_trade_no: String,
    pub out_request_no: String,
    pub amount_cents: i64,
    pub at: DateTime<FixedOffset>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded<T> {
    New(T),
    /// The same request again: nothing moved, the first outcome is answered.
    Replay(T),
}

/// How the next `alipay.trade.pay` presenting a pay code goes (payer simulator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodePlan {
    /// Answer 10003: the payer is confirming on the phone.
    Userpaying,
    /// Answer `ACQ.BUYER_BALANCE_NOT_ENOUGH`.
    Fail,
}

/// Why the book refuses; each maps to one of Alipay's `sub_code`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BookError {
    #[error("no such trade")]
    NoTrade,
    #[error("the trade is closed")]
    Closed,
    #[error("the trade is paid")]
    Paid,
    #[error("the trade's state does not allow this")]
    State,
    #[error("the order number was used with other parameters")]
    Inconsistent,
    #[error("the refunds would exceed the amount paid")]
    RefundExceedsPaid,
}

#[derive(Default)]
pub struct Book {
    trades: HashMap<String, Trade>,
    by_trade_no: HashMap<String, String>,
    by_qr_code: HashMap<String, String>,
    /// Keyed by `(out_trade_no, out_request_no)`: Alipay scopes a refund number to its trade.
    refunds: HashMap<(String, String), Refund>,
    code_plans: HashMap<String, CodePlan>,
}

impl Book {
    /// Records a new trade, or answers the same ask again with the trade it opened.
    pub fn open(&mut self, trade: Trade) -> Result<Recorded<Trade>, BookError> {
        if let Some(known) = self.trades.get(trade.out_trade_no()) {
            return match known.status {
                TradeStatus::TradeClosed => Err(BookError::Closed),
                TradeStatus::TradeSuccess => Err(BookError::Paid),
                TradeStatus::WaitBuyerPay if known.ask != trade.ask => Err(BookError::Inconsistent),
                TradeStatus::WaitBuyerPay => Ok(Recorded::Replay(known.clone())),
            };
        }
        let no = trade.out_trade_no().to_owned();
        if let Some(qr) = &trade.qr_code {
            self.by_qr_code.insert(qr.clone(), no.clone());
        }
        self.by_trade_no.insert(trade.trade_no.clone(), no.clone());
        self.trades.insert(no, trade.clone());
        Ok(Recorded::New(trade))
    }

    pub fn trade(&self, out_trade_no: &str) -> Option<&Trade> {
        self.trades.get(out_trade_no)
    }

    /// The trade named by either number (`out_trade_no` wins when both are given).
    pub fn find(&self, out_trade_no: Option<&str>, trade_no: Option<&str>) -> Option<&Trade> {
        let no = match (out_trade_no, trade_no) {
            (Some(no), _) => no,
            (None, Some(id)) => self.by_trade_no.get(id)?,
            (None, None) => return None,
        };
        self.trades.get(no)
    }

    pub fn out_trade_no_of_qr_code(&self, qr_code: &str) -> Option<&str> {
        self.by_qr_code.get(qr_code).map(String::as_str)
    }

    fn trade_mut(&mut self, out_trade_no: &str) -> Result<&mut Trade, BookError> {
        self.trades.get_mut(out_trade_no).ok_or(BookError::NoTrade)
    }

    /// The payer pays: WAIT_BUYER_PAY becomes TRADE_SUCCESS; paying a paid trade is a replay.
    pub fn pay(
        &mut self,
        out_trade_no: &str,
        buyer_id: String,
        now: DateTime<FixedOffset>,
    ) -> Result<Recorded<Trade>, BookError> {
        let trade = self.trade_mut(out_trade_no)?;
        match trade.status {
            TradeStatus::TradeSuccess => return Ok(Recorded::Replay(trade.clone())),
            TradeStatus::TradeClosed => return Err(BookError::Closed),
            TradeStatus::WaitBuyerPay if trade.abandoned => return Err(BookError::State),
            TradeStatus::WaitBuyerPay => {}
        }
        trade.status = TradeStatus::TradeSuccess;
        trade.gmt_payment = Some(now);
        trade.buyer_id.get_or_insert(buyer_id);
        Ok(Recorded::New(trade.clone()))
    }

    /// The payer walks away: the trade can no longer be paid (it waits until closed).
    pub fn abandon(&mut self, out_trade_no: &str) -> Result<Trade, BookError> {
        let trade = self.trade_mut(out_trade_no)?;
        if trade.status != TradeStatus::WaitBuyerPay {
            return Err(BookError::State);
        }
        trade.abandoned = true;
        Ok(trade.clone())
    }

    /// Closes an unpaid trade (`alipay.trade.close`, or a failed payment).
    pub fn close(
        &mut self,
        out_trade_no: &str,
        now: DateTime<FixedOffset>,
    ) -> Result<Trade, BookError> {
        let trade = self.trade_mut(out_trade_no)?;
        match trade.status {
            TradeStatus::WaitBuyerPay => {
                trade.status = TradeStatus::TradeClosed;
                trade.gmt_close = Some(now);
                Ok(trade.clone())
            }
            // Alipay refuses to close a closed or paid trade alike.
            TradeStatus::TradeClosed | TradeStatus::TradeSuccess => Err(BookError::State),
        }
    }

    /// Checks and records a refund (refunds settle at once); the same `out_request_no` under
    /// the same trade with the same amount is a replay.
    pub fn refund(
        &mut self,
        out_trade_no: &str,
        out_request_no: &str,
        amount_cents: i64,
        now: DateTime<FixedOffset>,
    ) -> Result<Recorded<(Trade, Refund)>, BookError> {
        let key = (out_trade_no.to_owned(), out_request_no.to_owned());
        let trade = self.trades.get(out_trade_no).ok_or(BookError::NoTrade)?;
        if let Some(known) = self.refunds.get(&key) {
            if known.amount_cents != amount_cents {
                return Err(BookError::Inconsistent);
            }
            return Ok(Recorded::Replay((trade.clone(), known.clone())));
        }
        if trade.gmt_payment.is_none() {
            return Err(BookError::State);
        }
        if trade.refund_nos.len() >= REFUNDS_PER_TRADE_MAX {
            return Err(BookError::State);
        }
        if amount_cents <= 0 || trade.refunded_cents + amount_cents > trade.ask.total_cents {
            return Err(BookError::RefundExceedsPaid);
        }
        let refund = Refund {
            out_trade_no: out_trade_no.to_owned(),
            out_request_no: out_request_no.to_owned(),
            amount_cents,
            at: now,
        };
        let trade = self.trade_mut(out_trade_no)?;
        trade.refunded_cents += amount_cents;
        trade.refund_nos.push(out_request_no.to_owned());
        if trade.refunded_cents == trade.ask.total_cents {
            trade.status = TradeStatus::TradeClosed;
            trade.gmt_close = Some(now);
        }
        assert!(
            trade.refunded_cents <= trade.ask.total_cents,
            "refunded more than paid"
        );
        let trade = trade.clone();
        self.refunds.insert(key, refund.clone());
        Ok(Recorded::New((trade, refund)))
    }

    pub fn refund_of(&self, out_trade_no: &str, out_request_no: &str) -> Option<&Refund> {
        self.refunds
            .get(&(out_trade_no.to_owned(), out_request_no.to_owned()))
    }

    pub fn trades(&self) -> impl Iterator<Item = &Trade> {
        self.trades.values()
    }

    pub fn refunds(&self) -> impl Iterator<Item = &Refund> {
        self.refunds.values()
    }

    pub fn arrange_code(&mut self, auth_code: &str, plan: CodePlan) {
        self.code_plans.insert(auth_code.to_owned(), plan);
    }

    pub fn take_code_plan(&mut self, auth_code: &str) -> Option<CodePlan> {
        self.code_plans.remove(auth_code)
    }
}

#[cfg(test)]
#[path = "book_tests.rs"]
mod tests;
