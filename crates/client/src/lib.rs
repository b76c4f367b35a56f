//! Paygate's merchant SDK: the client that integration tests, examples and the benchmark use to
//! talk to the merchant API exactly as a merchant's server would (DESIGN §3, §12).
//!
//! The requests and answers are `paygate_api`'s, the very types the server reads and writes, so
//! the SDK cannot drift from the gateway. `envelope` adds the signature and decides what a
//! response means (success, API error, forged), and `client` does the HTTP. `Client::call_raw` and
//! `Client::send_unsigned` step around the typed layer so tests can send what a merchant should
//! not.

mod client;
mod envelope;

pub use client::{Client, ClientBuilder};
pub use envelope::{fresh_nonce, sign_request, verify_response};
/// The profit-sharing requests and answers.
pub use paygate_api::split;
pub use paygate_api::withdraw::{
    CreateWithdraw, QueryWithdraw, RequestSettlement, SettlementRequestView, WithdrawView,
};
pub use paygate_api::{
    paths, ApiRequest, BalanceView, CloseOrder, CreateOrder, Order, Order as OrderView, OrderRef,
    PartnerOrderStatus, PartnerOrderView, QueryBalance, QueryOrder, QueryRefund, Refund,
    RefundView,
};
pub use paygate_api::{CreatePayout, PayoutView, QueryPayout};

use paygate_api::DecodeError;
use paygate_domain::sign::SignError;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered `code=FAIL` (or an HTTP error with a JSON body).
    #[error("API error {error_code} (HTTP {http_status}): {msg}")]
    Api {
        error_code: String,
        msg: String,
        http_status: u16,
    },
    /// A success answer whose signature is missing or does not verify: it must not be trusted.
    #[error("response signature missing or invalid")]
    BadResponseSignature,
    /// The request never got an answer: connection, timeout, TLS.
    #[error("transport: {0}")]
    Transport(#[from] reqwest::Error),
    /// The answer was not what the wire format promises (not JSON, a missing or malformed field).
    #[error("undecodable response: {0}")]
    Decode(String),
    /// The request itself could not be signed (a nested or float value, an RSA failure).
    #[error("cannot sign request: {0}")]
    Sign(#[from] SignError),
}

impl From<DecodeError> for ClientError {
    fn from(error: DecodeError) -> ClientError {
        ClientError::Decode(error.0)
    }
}

impl ClientError {
    /// The API's `error_code` when this is an API error, for terse assertions.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            ClientError::Api { error_code, .. } => Some(error_code),
            _ => None,
        }
    }
}
