//! An order and a refund as they stand: what the store reads back and the API answers from.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::{
    Amount, Currency, MerchantId, OrderStatus, OutRefundNo, OutTradeNo, PayType, RefundNo,
    RefundStatus, TradeNo, WalletAccountId,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRecord {
    pub trade_no: TradeNo,
    pub merchant_id: MerchantId,
    pub out_trade_no: OutTradeNo,
    pub pay_type: PayType,
    pub status: OrderStatus,
    pub currency: Currency,
    pub total_amount: Amount,
    /// Refunds accepted (processing or succeeded): what the refundable check counts.
    pub refund_reserved: Amount,
    /// Refunds that succeeded.
    pub refunded_amount: Amount,
    /// The merchant's fee on the payment, as snapshotted in the transaction that made the
    /// order paid (`FeeSnapshot::fee`); refunds never change it. `None` before the order is
    /// paid, and for an order paid before fees were snapshotted.
    pub fee: Option<Amount>,
    pub subject: String,
    pub body: Option<String>,
    pub notify_url: String,
    pub return_url: Option<String>,
    pub attach: Option<String>,
    /// The wallet account the merchant named; recorded, never charged on its own.
    pub buyer_id: Option<WalletAccountId>,
    /// SHA-256 of the pay code the order was created with, for comparing retries.
    pub auth_code_sha256: Option<String>,
    pub channel_trade_no: Option<String>,
    pub expire_at_ms: i64,
    /// `expire_time` exactly as the merchant sent it (Unix seconds), for comparing retries.
    pub requested_expire_at_secs: Option<i64>,
    pub paid_at_ms: Option<i64>,
    pub closed_at_ms: Option<i64>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// What the payer's device needs to start a prepared trade, once the channel answered.
    pub pay_data: Option<PayData>,
    /// For an aggregated (`auto`) order, the way the payer's app chose in the cashier: the
    /// order is paid, queried, closed and refunded through that way's channel.
    pub chosen_pay_type: Option<PayType>,
    /// When the merchant asked to close the order, if it did.
    pub close_requested_at_ms: Option<i64>,
    /// The merchant's `disable_credit`: no credit or installments for this order's payer.
    pub disable_credit: bool,
}

impl OrderRecord {
    /// The pay type whose channel carries the order: an aggregated order's chosen way.
    pub fn channel_pay_type(&self) -> PayType {
        self.chosen_pay_type.unwrap_or(self.pay_type)
    }
}

/// What the payer's device needs to start a trade the channel prepared (DESIGN §6), exactly as
/// the channel answered it, so a retried create answers the same.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayData {
    /// The QR code's content (WeChat Native `code_url`).
    CodeUrl(String),
    /// Where the payer's browser is sent (WeChat H5 `h5_url`).
    RedirectUrl(String),
    /// Signed parameters the wallet's JS bridge or app SDK is invoked with (JSAPI, APP).
    Params(BTreeMap<String, String>),
    /// A form the payer's browser posts to the channel's payment page (UnionPay front consume).
    Form {
        action: String,
        fields: BTreeMap<String, String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRecord {
    pub refund_no: RefundNo,
    pub merchant_id: MerchantId,
    pub out_refund_no: OutRefundNo,
    pub trade_no: TradeNo,
    pub currency: Currency,
    pub amount: Amount,
    pub reason: String,
    pub status: RefundStatus,
    pub channel_refund_no: Option<String>,
    pub created_at_ms: i64,
    pub finished_at_ms: Option<i64>,
}
