//! A channel whose answers a test writes in advance, implementing the same `Channel` trait as
//! the real ones, so the jobs can be tested before (and beside) the sandbox channels. Each call
//! takes the next scripted answer for its operation; with none left it answers as configured by
//! `default_*`. Every call is counted.

use async_trait::async_trait;
use paygate_channels::{
    Channel, ChannelError, ChannelInfo, PayOutcome, PayRequest, RefundOutcome, RefundRequest,
    TradeState,
};
use paygate_domain::{Currency, RefundNo, TradeNo};
use std::collections::VecDeque;
use std::sync::Mutex;

#[derive(Default)]
struct Script {
    pay: VecDeque<Result<PayOutcome, ChannelError>>,
    query: VecDeque<Result<TradeState, ChannelError>>,
    close: VecDeque<Result<(), ChannelError>>,
    refund: VecDeque<Result<RefundOutcome, ChannelError>>,
    query_refund: VecDeque<Result<RefundOutcome, ChannelError>>,
    calls: Vec<String>,
}

#[derive(Default)]
pub struct ScriptedChannel {
    script: Mutex<Script>,
}

impl ScriptedChannel {
    pub fn new() -> ScriptedChannel {
        ScriptedChannel::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut Script) -> T) -> T {
        f(&mut self.script.lock().expect("script lock"))
    }

    pub fn on_pay(&self, answer: Result<PayOutcome, ChannelError>) -> &Self {
        self.with(|s| s.pay.push_back(answer));
        self
    }

    pub fn on_query(&self, answer: Result<TradeState, ChannelError>) -> &Self {
        self.with(|s| s.query.push_back(answer));
        self
    }

    pub fn on_close(&self, answer: Result<(), ChannelError>) -> &Self {
        self.with(|s| s.close.push_back(answer));
        self
    }

    pub fn on_refund(&self, answer: Result<RefundOutcome, ChannelError>) -> &Self {
        self.with(|s| s.refund.push_back(answer));
        self
    }

    pub fn on_query_refund(&self, answer: Result<RefundOutcome, ChannelError>) -> &Self {
        self.with(|s| s.query_refund.push_back(answer));
        self
    }

    /// The operations called so far, in order (`pay`, `query`, `close`, ...).
    pub fn calls(&self) -> Vec<String> {
        self.with(|s| s.calls.clone())
    }

    fn called(&self, name: &str) {
        self.with(|s| s.calls.push(name.to_owned()));
    }
}

fn unscripted(op: &str) -> ChannelError {
    ChannelError::Unknown(format!("no scripted answer left for {op}"))
}

#[async_trait]
impl Channel for ScriptedChannel {
    fn info(&self) -> ChannelInfo {
        ChannelInfo {
            name: "scripted",
            currencies: &[Currency::Cny],
            pays_at_once: true,
            rules: None,
        }
    }

    async fn pay(&self, _request: &PayRequest) -> Result<PayOutcome, ChannelError> {
        self.called("pay");
        self.with(|s| s.pay.pop_front())
            .unwrap_or_else(|| Err(unscripted("pay")))
    }

    async fn query(&self, _trade_no: &TradeNo) -> Result<TradeState, ChannelError> {
        self.called("query");
        self.with(|s| s.query.pop_front())
            .unwrap_or_else(|| Err(unscripted("query")))
    }

    async fn close(&self, _trade_no: &TradeNo) -> Result<(), ChannelError> {
        self.called("close");
        self.with(|s| s.close.pop_front()).unwrap_or(Ok(()))
    }

    async fn refund(&self, _request: &RefundRequest) -> Result<RefundOutcome, ChannelError> {
        self.called("refund");
        self.with(|s| s.refund.pop_front())
            .unwrap_or_else(|| Err(unscripted("refund")))
    }

    async fn query_refund(
        &self,
        _refund_no: &RefundNo,
        _trade_no: &TradeNo,
    ) -> Result<RefundOutcome, ChannelError> {
        self.called("query_refund");
        self.with(|s| s.query_refund.pop_front())
            .unwrap_or_else(|| Err(unscripted("query_refund")))
    }
}
