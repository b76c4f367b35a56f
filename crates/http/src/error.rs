//! `ApiError`: an `AppError` at the edge, with its HTTP status and stable code. Errors to a known
//! merchant are signed like any other response, so a merchant can trust a refusal too.

use crate::respond::sign_and_send;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use paygate_api::ErrorResponse;
use paygate_app::{App, AppError, MerchantKeys};
use paygate_domain::{ErrorCode, Untrusted};
use std::sync::Arc;

pub struct ApiError {
    pub error: AppError,
    pub app: App,
    pub merchant: Option<Arc<MerchantKeys>>,
}

pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::ParamError => StatusCode::BAD_REQUEST,
        ErrorCode::SignError => StatusCode::UNAUTHORIZED,
        ErrorCode::OrderNotFound | ErrorCode::RefundNotFound | ErrorCode::PayoutNotFound => {
            StatusCode::NOT_FOUND
        }
        ErrorCode::OrderStatusError
        | ErrorCode::PayoutLimitExceeded
        | ErrorCode::RefundAmountExceeded
        | ErrorCode::RefundWindowClosed
        | ErrorCode::RefundCountExceeded
        | ErrorCode::SplitReceiverInvalid
        | ErrorCode::SplitAmountExceeded
        | ErrorCode::SplitNotAllowed => StatusCode::CONFLICT,
        ErrorCode::InsufficientBalance => StatusCode::PAYMENT_REQUIRED,
        // A pay code that is not (or no longer) the payer's consent: forbidden, like a pay type
        // the merchant may not use. Never 404, which would hint at an account's existence.
        ErrorCode::PayTypeNotEnabled
        | ErrorCode::PayCodeInvalid
        | ErrorCode::WithdrawalNotAllowed
        | ErrorCode::PayoutNotEligible => StatusCode::FORBIDDEN,
        ErrorCode::PayoutTooFrequent => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::ChannelRejected => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::SystemBusy => StatusCode::SERVICE_UNAVAILABLE,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.error.code();
        // A refusal can quote what the caller sent (a field name, a value), and an internal
        // error can quote a database or channel: all of it is escaped before it reaches a log.
        match &self.error {
            AppError::Internal(cause) => {
                tracing::error!(error = %Untrusted(format!("{cause:?}")), "internal error")
            }
            AppError::Busy(cause) => tracing::warn!(cause = %Untrusted(cause), "transient failure"),
            other => {
                tracing::info!(error_code = code.code(), other = %Untrusted(other), "request refused")
            }
        }
        let body = ErrorResponse::new(
            code,
            self.error.public_message(),
            self.error.field(),
            self.app.clock().now_ms() / 1000,
        );
        let body = body.to_fields();
        sign_and_send(&self.app, self.merchant.as_deref(), status_of(code), body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_client_or_server_error_status() {
        for code in ErrorCode::ALL {
            let status = status_of(code);
            assert!(
                status.is_client_error() || status.is_server_error(),
                "{code:?}"
            );
        }
        assert_eq!(
            status_of(ErrorCode::SystemBusy),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(status_of(ErrorCode::PayCodeInvalid), StatusCode::FORBIDDEN);
    }
}
