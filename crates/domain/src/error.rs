//! The merchant API's stable error codes (DESIGN §3). Numbers are never reused; new ones are
//! appended.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorCode {
    /// A parameter is missing, malformed or out of range.
    ParamError,
    /// The signature, timestamp, nonce or sign type is not acceptable.
    SignError,
    /// No order (or refund) matches what was named.
    OrderNotFound,
    /// The order's state forbids the operation, or an idempotency key was reused with other values.
    OrderStatusError,
    /// The payer's or merchant's balance cannot cover the amount.
    InsufficientBalance,
    /// A transient failure on our side or the channel's; the call may be retried as is.
    SystemBusy,
    /// The refunds of an order would exceed what was paid.
    RefundAmountExceeded,
    /// The merchant has not enabled the requested pay type.
    PayTypeNotEnabled,
    /// The channel refused the request for a business reason.
    ChannelRejected,
    /// No refund matches what was named.
    RefundNotFound,
    /// The payer's pay code is unknown, expired, or already used for another trade.
    PayCodeInvalid,
    /// The channel's refund window for this order has closed (WeChat Pay: one year).
    RefundWindowClosed,
    /// The order has had as many refunds as its channel allows (WeChat Pay: 50).
    RefundCountExceeded,
    /// Profit sharing names a receiver the merchant has not registered (or has removed), or
    /// more receivers than the order's channel allows (WeChat Pay 5, Alipay 10).
    SplitReceiverInvalid,
    /// A share exceeds what the order may still share (paid − fee − refunded − shared), or a
    /// share return exceeds what its receiver still holds of that share.
    SplitAmountExceeded,
    /// The order cannot be shared: not paid (or fully refunded), or its sharing was finished.
    SplitNotAllowed,
    /// The merchant's settlement cycle does not allow this withdrawal or settlement request.
    WithdrawalNotAllowed,
    /// A payout would exceed the merchant's limit per payout, per day or per month.
    PayoutLimitExceeded,
    /// The merchant does not meet the eligibility rules for payouts of this payee type.
    PayoutNotEligible,
    /// The merchant has made as many payouts this minute as its limit allows.
    PayoutTooFrequent,
    /// No payout matches what was named.
    PayoutNotFound,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 21] = [
        ErrorCode::ParamError,
        ErrorCode::SignError,
        ErrorCode::OrderNotFound,
        ErrorCode::OrderStatusError,
        ErrorCode::InsufficientBalance,
        ErrorCode::SystemBusy,
        ErrorCode::RefundAmountExceeded,
        ErrorCode::PayTypeNotEnabled,
        ErrorCode::ChannelRejected,
        ErrorCode::RefundNotFound,
        ErrorCode::PayCodeInvalid,
        ErrorCode::RefundWindowClosed,
        ErrorCode::RefundCountExceeded,
        ErrorCode::SplitReceiverInvalid,
        ErrorCode::SplitAmountExceeded,
        ErrorCode::SplitNotAllowed,
        ErrorCode::PayoutLimitExceeded,
        ErrorCode::PayoutNotEligible,
        ErrorCode::PayoutTooFrequent,
        ErrorCode::PayoutNotFound,
        ErrorCode::WithdrawalNotAllowed,
    ];

    /// The number merchants see in `error_code`.
    pub fn code(self) -> &'static str {
        match self {
            ErrorCode::ParamError => "1001",
            ErrorCode::SignError => "1002",
            ErrorCode::OrderNotFound => "1003",
            ErrorCode::OrderStatusError => "1004",
            ErrorCode::InsufficientBalance => "1005",
            ErrorCode::SystemBusy => "1006",
            ErrorCode::RefundAmountExceeded => "1007",
            ErrorCode::PayTypeNotEnabled => "1008",
            ErrorCode::ChannelRejected => "1009",
            ErrorCode::RefundNotFound => "1010",
            ErrorCode::PayCodeInvalid => "1011",
            ErrorCode::RefundWindowClosed => "1012",
            ErrorCode::RefundCountExceeded => "1013",
            ErrorCode::SplitReceiverInvalid => "1014",
            ErrorCode::SplitAmountExceeded => "1015",
            ErrorCode::SplitNotAllowed => "1016",
            ErrorCode::WithdrawalNotAllowed => "1021",
            ErrorCode::PayoutLimitExceeded => "1017",
            ErrorCode::PayoutNotEligible => "1018",
            ErrorCode::PayoutTooFrequent => "1019",
            ErrorCode::PayoutNotFound => "1020",
        }
    }

    pub fn default_message(self) -> &'static str {
        match self {
            ErrorCode::ParamError => "parameter error",
            ErrorCode::SignError => "signature verification failed",
            ErrorCode::OrderNotFound => "order not found",
            ErrorCode::OrderStatusError => "order status error",
            ErrorCode::InsufficientBalance => "insufficient balance",
            ErrorCode::SystemBusy => "system busy, retry later",
            ErrorCode::RefundAmountExceeded => "refund amount exceeds the refundable amount",
            ErrorCode::PayTypeNotEnabled => "pay type not enabled for this merchant",
            ErrorCode::ChannelRejected => "the channel rejected the request",
            ErrorCode::RefundNotFound => "refund not found",
            ErrorCode::PayCodeInvalid => "pay code invalid or expired",
            ErrorCode::RefundWindowClosed => {
                "the channel's refund window for this order has closed"
            }
            ErrorCode::RefundCountExceeded => {
                "the order has reached its channel's refund count limit"
            }
            ErrorCode::SplitReceiverInvalid => {
                "receiver not registered, or too many receivers for the channel"
            }
            ErrorCode::SplitAmountExceeded => "share exceeds the shareable amount",
            ErrorCode::SplitNotAllowed => "the order cannot be shared",
            ErrorCode::WithdrawalNotAllowed => "withdrawal not allowed",
            ErrorCode::PayoutLimitExceeded => "the payout exceeds the merchant's payout limit",
            ErrorCode::PayoutNotEligible => "the merchant is not eligible for this payout",
            ErrorCode::PayoutTooFrequent => "payout calls too frequent, retry later",
            ErrorCode::PayoutNotFound => "payout not found",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_the_first_six_match_the_gateway_article() {
        let codes: HashSet<_> = ErrorCode::ALL.iter().map(|c| c.code()).collect();
        assert_eq!(codes.len(), ErrorCode::ALL.len());
        let first: Vec<_> = ErrorCode::ALL[..6].iter().map(|c| c.code()).collect();
        assert_eq!(first, ["1001", "1002", "1003", "1004", "1005", "1006"]);
    }

    #[test]
    fn numbers_are_appended_in_order_and_never_reused() {
        let all: Vec<_> = ErrorCode::ALL.iter().map(|c| c.code()).collect();
        let expected: Vec<String> = (1001..=1021).map(|n| n.to_string()).collect();
        assert_eq!(all, expected);
        assert_eq!(ErrorCode::PayoutLimitExceeded.code(), "1017");
        assert_eq!(ErrorCode::PayoutNotFound.code(), "1020");
        assert_eq!(ErrorCode::PayCodeInvalid.code(), "1011");
        assert_eq!(ErrorCode::RefundCountExceeded.code(), "1013");
        assert_eq!(ErrorCode::SplitReceiverInvalid.code(), "1014");
        assert_eq!(ErrorCode::SplitAmountExceeded.code(), "1015");
        assert_eq!(ErrorCode::SplitNotAllowed.code(), "1016");
        assert_eq!(
            ErrorCode::PayCodeInvalid.default_message(),
            "pay code invalid or expired"
        );
    }
}
