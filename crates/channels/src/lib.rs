//! The one trait every payment channel implements, and the vocabulary of its answers.
//!
//! A channel's answer has three layers (DESIGN §4, seed 002): did the call return at all
//! (`ChannelError::Unknown` when it did not), did the request succeed as a business matter
//! (`Declined`, `ChannelError::Rejected`), and what state the trade is in (`TradeState`). Only the
//! trade layer may change an order's state; an unknown outcome leaves the order waiting and is
//! settled later by a status query.

pub mod alipay;
pub mod callback;
pub mod payout;
pub mod prepare;
pub mod rules;
pub mod unionpay;
pub mod wechat;

use async_trait::async_trait;
use paygate_domain::{
    AlipayPayCode, Currency, FaceCode, MerchantId, Money, PayCode, RefundNo, TradeNo,
    UnionpayPayCode, WechatPayCode,
};

pub use callback::{
    BillLine, BillLineKind, CallbackEvent, CallbackRefusal, CallbackReply, CallbackRequest,
    RefundAmount,
};
pub use prepare::{Credit, PayerOptions, PrepareRequest, Prepared, Scenario};

/// The payer's consent to be charged, as the channel takes it. Naming an account is not
/// consent (DESIGN §3): only a credential the payer's own wallet or app issued is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payer {
    /// A one-time pay code the payer showed the merchant (micropay, B scans C). The channel
    /// that issued it checks it and uses it up.
    AuthCode(PayCode),
    /// A pay code the payer's WeChat showed (WeChat Pay micropay).
    WechatAuthCode(WechatPayCode),
    /// A pay code the payer's Alipay showed (`alipay.trade.pay`, scene `bar_code`).
    AlipayAuthCode(AlipayPayCode),
    /// A code a face-pay SDK issued after the payer confirmed by face (`alipay.trade.pay`,
    /// scene `security_code`).
    AlipayFaceCode(FaceCode),
    /// A pay code the payer's UnionPay app showed (QR consume with `qrNo`).
    UnionpayAuthCode(UnionpayPayCode),
}

/// What we ask a channel to charge at once (wallet, micropay): the payer has consented.
#[derive(Debug, Clone)]
pub struct PayRequest {
    pub trade_no: TradeNo,
    pub merchant_id: MerchantId,
    pub money: Money,
    pub subject: String,
    pub payer: Payer,
    /// The payer's device address as the merchant reported it (WeChat's `spbill_create_ip`).
    pub client_ip: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeclineReason {
    /// Only ever said after a valid pay code was presented.
    InsufficientBalance,
    UnknownPayer,
    /// The pay code is unknown, expired, or already used by another trade.
    PayCodeInvalid,
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayOutcome {
    Paid {
        channel_trade_no: String,
        paid_at_ms: i64,
    },
    /// The payer is confirming (micropay password); poll until it settles.
    PayerConfirming,
    /// Definitively not paid; nothing moved.
    Declined(DeclineReason),
}

/// The trade layer of a status query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TradeState {
    NotFound,
    WaitingPayment,
    PayerConfirming,
    Paid {
        channel_trade_no: String,
        paid_at_ms: i64,
    },
    Closed,
}

#[derive(Debug, Clone)]
pub struct RefundRequest {
    pub refund_no: RefundNo,
    pub trade_no: TradeNo,
    pub refund: Money,
    pub total: Money,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundOutcome {
    Succeeded {
        channel_refund_no: Option<String>,
    },
    /// Accepted; the result comes by notification or refund query.
    Processing,
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    /// The call's outcome is unknown (timeout, connection reset): never assume either way.
    #[error("channel outcome unknown: {0}")]
    Unknown(String),
    /// The channel answered and refused the request (or the adapter refused to send it). Where
    /// the channel has error codes the text starts with it, as in `ORDER_CLOSED: 订单已关闭`.
    #[error("channel rejected the request: {0}")]
    Rejected(String),
    /// This channel has no such operation for this product.
    #[error("operation not supported by this channel")]
    Unsupported,
}

/// Static facts about a channel that the core needs to route and to validate.
#[derive(Debug, Clone)]
pub struct ChannelInfo {
    /// The channel's name in callback paths (`/callback/{name}/{kind}`) and logs.
    pub name: &'static str,
    pub currencies: &'static [Currency],
    /// Whether `create` can charge at once when the payer presents a pay code.
    pub pays_at_once: bool,
    /// The channel's rules, checked before any call (`None`: the platform's own wallet).
    pub rules: Option<&'static rules::ChannelRules>,
}

/// How a payer signs in to a wallet's app from its in-app browser, so the cashier learns the
/// payer's id there (WeChat's `openid` for JSAPI): the browser goes to `authorize_url`, the
/// wallet sends it back to `redirect_uri` with a code and `state`, and `payer_id` trades the
/// code for the id.
#[async_trait]
pub trait PayerSignIn: Send + Sync {
    fn authorize_url(&self, redirect_uri: &str, state: &str) -> String;

    async fn payer_id(&self, code: &str) -> Result<String, ChannelError>;
}

#[async_trait]
pub trait Channel: Send + Sync {
    fn info(&self) -> ChannelInfo;

    /// The payer sign-in of the channel's in-app browser, when the account has one set up.
    fn payer_sign_in(&self) -> Option<&dyn PayerSignIn> {
        None
    }

    /// Charges a payer who has consented (a pay code); idempotent on the trade number.
    async fn pay(&self, request: &PayRequest) -> Result<PayOutcome, ChannelError>;

    async fn query(&self, trade_no: &TradeNo) -> Result<TradeState, ChannelError>;

    /// Closes an unpaid trade at the channel so it can no longer be paid.
    async fn close(&self, trade_no: &TradeNo) -> Result<(), ChannelError>;

    async fn refund(&self, request: &RefundRequest) -> Result<RefundOutcome, ChannelError>;

    /// A refund's outcome, named by our refund number and the trade it refunds (some channels
    /// find refunds only under their trade).
    async fn query_refund(
        &self,
        refund_no: &RefundNo,
        trade_no: &TradeNo,
    ) -> Result<RefundOutcome, ChannelError>;

    /// Opens a trade the payer completes on their own device (JSAPI, Native, H5, APP) and
    /// answers what the merchant's page or app needs to start it. Idempotent on the trade
    /// number: asked again with the same request, the channel answers the same trade.
    async fn prepare(&self, _request: &PrepareRequest) -> Result<Prepared, ChannelError> {
        Err(ChannelError::Unsupported)
    }

    /// A status query naming the trade by the channel's own number.
    async fn query_by_channel_no(
        &self,
        _channel_trade_no: &str,
    ) -> Result<TradeState, ChannelError> {
        Err(ChannelError::Unsupported)
    }

    /// Cancels a charge-at-once trade whose outcome is still open (micropay reverse): whatever
    /// the payer paid goes back and the trade is closed at the channel. `Ok` means it is done.
    async fn cancel(&self, _trade_no: &TradeNo) -> Result<(), ChannelError> {
        Err(ChannelError::Unsupported)
    }

    /// Verifies and reads a callback the channel sent to `/callback/{channel}/{kind}`. The
    /// adapter checks the signature, the freshness, and that it is meant for this channel
    /// account (merchant number, app id); the order number and amount are the caller's to
    /// check against its own order.
    fn parse_callback(
        &self,
        _request: &CallbackRequest<'_>,
    ) -> Result<CallbackEvent, CallbackRefusal> {
        Err(CallbackRefusal::Unsupported)
    }

    /// The answer the channel expects to a callback: accepted, or refused (it will retry).
    fn callback_reply(&self, accepted: Result<(), &CallbackRefusal>) -> CallbackReply {
        match accepted {
            Ok(()) => CallbackReply::text(200, "success"),
            Err(refusal) => CallbackReply::text(400, &refusal.to_string()),
        }
    }

    /// The channel's trade bill for one clearing day, parsed to its lines with exact amounts.
    async fn bill(&self, _day: chrono::NaiveDate) -> Result<Vec<BillLine>, ChannelError> {
        Err(ChannelError::Unsupported)
    }
}
