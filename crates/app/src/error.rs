use paygate_channels::rules::RuleViolation;
use paygate_domain::secret::SecretError;
use paygate_domain::sign::SignError;
use paygate_domain::{ErrorCode, PayType};
use paygate_store::StoreError;

/// Everything a use case can refuse or fail with. `code()` is the merchant-facing number;
/// `Internal` keeps its cause for the log and shows the caller only a generic message.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{field}: {reason}")]
    Param { field: String, reason: String },
    #[error("{0}")]
    Sign(String),
    #[error("order not found")]
    OrderNotFound,
    #[error("{0}")]
    OrderStatus(String),
    /// An idempotency key (`out_trade_no`, `out_refund_no`) reused with another value of
    /// `field`: answered as 1004 naming the field.
    #[error("{key} was already used with a different {field}")]
    KeyReused {
        key: &'static str,
        field: &'static str,
    },
    #[error("insufficient balance")]
    InsufficientBalance,
    #[error("refund amount exceeds the refundable amount {refundable}")]
    RefundExceeded { refundable: String },
    #[error("pay_type {0} is not enabled for this merchant")]
    PayTypeNotEnabled(&'static str),
    #[error("the channel rejected the request: {0}")]
    ChannelRejected(String),
    #[error("refund not found")]
    RefundNotFound,
    #[error("pay code invalid or expired")]
    PayCodeInvalid,
    #[error("refund window of {window} after payment has closed")]
    RefundWindowClosed {
        window: paygate_channels::rules::RefundWindow,
    },
    #[error("an order of this channel may be refunded at most {max} times")]
    RefundCountExceeded { max: u32 },
    /// 1014: a receiver not registered, or more receivers than the channel allows.
    #[error("{0}")]
    SplitReceiver(String),
    /// 1015: a share beyond what the order may still share, or a return beyond the share.
    #[error("{0}")]
    SplitExceeded(String),
    /// 1016: the order is not paid, or its sharing was finished.
    #[error("{0}")]
    SplitNotAllowed(String),
    /// 1003: no split request has the merchant's number.
    #[error("split not found")]
    SplitNotFound,
    /// 1005: a refund must first take shares back and a receiver's account cannot cover it.
    #[error("the refund must first take shares back, and {account} no longer holds its share")]
    ShareReturnShort { account: String },
    #[error("{0}")]
    WithdrawalNotAllowed(String),
    #[error("payout limit exceeded: {0}")]
    PayoutLimitExceeded(String),
    #[error("not eligible for this payout: {0}")]
    PayoutNotEligible(String),
    #[error("at most {max} payouts a minute; retry later")]
    PayoutTooFrequent { max: u32 },
    #[error("payout not found")]
    PayoutNotFound,
    #[error("system busy, retry later")]
    Busy(String),
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
}

impl AppError {
    pub fn param(field: impl Into<String>, reason: impl Into<String>) -> AppError {
        AppError::Param {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub fn pay_type_not_enabled(pay_type: PayType) -> AppError {
        AppError::PayTypeNotEnabled(pay_type.as_str())
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            AppError::Param { .. } => ErrorCode::ParamError,
            AppError::Sign(_) => ErrorCode::SignError,
            AppError::OrderNotFound | AppError::SplitNotFound => ErrorCode::OrderNotFound,
            AppError::OrderStatus(_) | AppError::KeyReused { .. } => ErrorCode::OrderStatusError,
            AppError::InsufficientBalance | AppError::ShareReturnShort { .. } => {
                ErrorCode::InsufficientBalance
            }
            AppError::SplitReceiver(_) => ErrorCode::SplitReceiverInvalid,
            AppError::SplitExceeded(_) => ErrorCode::SplitAmountExceeded,
            AppError::SplitNotAllowed(_) => ErrorCode::SplitNotAllowed,
            AppError::RefundExceeded { .. } => ErrorCode::RefundAmountExceeded,
            AppError::PayTypeNotEnabled(_) => ErrorCode::PayTypeNotEnabled,
            AppError::ChannelRejected(_) => ErrorCode::ChannelRejected,
            AppError::RefundNotFound => ErrorCode::RefundNotFound,
            AppError::PayCodeInvalid => ErrorCode::PayCodeInvalid,
            AppError::RefundWindowClosed { .. } => ErrorCode::RefundWindowClosed,
            AppError::RefundCountExceeded { .. } => ErrorCode::RefundCountExceeded,
            AppError::WithdrawalNotAllowed(_) => ErrorCode::WithdrawalNotAllowed,
            AppError::PayoutLimitExceeded(_) => ErrorCode::PayoutLimitExceeded,
            AppError::PayoutNotEligible(_) => ErrorCode::PayoutNotEligible,
            AppError::PayoutTooFrequent { .. } => ErrorCode::PayoutTooFrequent,
            AppError::PayoutNotFound => ErrorCode::PayoutNotFound,
            AppError::Busy(_) | AppError::Internal(_) => ErrorCode::SystemBusy,
        }
    }

    /// The field a refusal is about, shown as `error_field` (1001 and a reused key's 1004).
    pub fn field(&self) -> Option<&str> {
        match self {
            AppError::Param { field, .. } => Some(field),
            AppError::KeyReused { field, .. } => Some(field),
            _ => None,
        }
    }

    /// The message safe to show the caller.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Internal(_) | AppError::Busy(_) => self.code().default_message().into(),
            other => other.to_string(),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> AppError {
        if error.is_transient() {
            AppError::Busy(error.to_string())
        } else {
            AppError::Internal(error.into())
        }
    }
}

/// A channel rule the request breaks, found before the channel is called.
impl From<RuleViolation> for AppError {
    fn from(violation: RuleViolation) -> AppError {
        match violation {
            RuleViolation::Field { field, why } => AppError::param(field, why),
            RuleViolation::RefundWindowClosed { window } => AppError::RefundWindowClosed { window },
            RuleViolation::TooManyRefunds { max } => AppError::RefundCountExceeded { max },
        }
    }
}

impl From<SignError> for AppError {
    fn from(error: SignError) -> AppError {
        AppError::Internal(error.into())
    }
}

impl From<SecretError> for AppError {
    fn from(error: SecretError) -> AppError {
        AppError::Internal(error.into())
    }
}
