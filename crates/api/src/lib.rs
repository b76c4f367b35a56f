//! The wire of the merchant, admin and payer APIs, defined once (DESIGN §3, §12). Each operation
//! has one file holding its request or answer type, how the server reads it from a verified flat
//! JSON object, how the client writes it, and its OpenAPI schema, so the three cannot drift
//! (mini-redis keeps a command's parse and encode together the same way).
//!
//! `envelope` is what every signed request and answer carries; `create`, `order_ref`, `refund`,
//! `refund_query` and `partner` are the merchant requests; `order` and `refund_view` the answers
//! they get (and the notifications), `partner` its own; `failure` the refusal every API
//! shares; `admin`, `payer` and `platform` the rest. `field` spells every field name once;
//! `fields` and `schema` are the flat-format readers and schema builders the operations share.
//!
//! Requests are read by hand rather than derived, so the server refuses the first bad field in
//! a fixed order with a message naming it (error 1001), exactly as the schema describes.

mod fields;
mod schema;

pub mod admin;
pub mod balance;
pub mod create;
pub mod envelope;
pub mod failure;
pub mod field;
pub mod order;
pub mod order_ref;
pub mod partner;
pub mod payer;
pub mod payout;
pub mod platform;
pub mod refund;
pub mod refund_query;
pub mod refund_view;
pub mod split;
pub mod split_rules;
pub mod union_login;
pub mod withdraw;

pub use balance::{BalanceView, QueryBalance};
pub use create::CreateOrder;
pub use failure::ErrorResponse;
pub use fields::format_time;
pub use order::Order;
pub use order_ref::{CloseOrder, OrderRef, QueryOrder};
pub use partner::{PartnerOrderStatus, PartnerOrderView};
pub use payout::{CreatePayout, PayoutView, QueryPayout};
pub use refund::Refund;
pub use refund_query::QueryRefund;
pub use refund_view::RefundView;

use serde_json::{Map, Value};
use std::fmt;

/// A request field the server refuses: answered as 1001 naming `field`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for FieldError {}

/// An answer that is not what the wire format promises (a missing or malformed field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DecodeError {}

/// A signed merchant request: where it goes, how the server reads it from the verified flat
/// object, and the fields the client puts on the wire (the envelope aside).
pub trait ApiRequest: Sized {
    const PATH: &'static str;

    /// Reads the request's own fields, refusing the first bad one in a fixed order. `now_secs`
    /// is the gateway's clock, for fields bounded relative to it.
    fn parse(fields: &Map<String, Value>, now_secs: i64) -> Result<Self, FieldError>;

    /// The endpoint's own fields. Absent optional values are left out rather than sent empty,
    /// so the server never has to guess whether `""` means "not given".
    fn to_fields(&self) -> Map<String, Value>;
}

/// Endpoint paths, relative to the base URL.
pub mod paths {
    pub const CREATE: &str = "/api/payment/create";
    pub const QUERY: &str = "/api/payment/query";
    pub const CLOSE: &str = "/api/payment/close";
    pub const REFUND: &str = "/api/payment/refund";
    pub const REFUND_QUERY: &str = "/api/payment/refund/query";
    pub const PLATFORM_PUBLIC_KEY: &str = "/api/platform/public-key";
    pub const WALLET_PAYCODE: &str = "/api/wallet/paycode";
    pub const PARTNER_ORDER_STATUS: &str = "/api/partner/order-status";
    pub const UNION_LOGIN: &str = "/api/union-login";
    pub const BALANCE_QUERY: &str = "/api/balance/query";
    pub const SPLIT_RECEIVER_ADD: &str = "/api/split/receiver/add";
    pub const SPLIT_RECEIVER_REMOVE: &str = "/api/split/receiver/remove";
    pub const SPLIT_APPLY: &str = "/api/split/apply";
    pub const SPLIT_FINISH: &str = "/api/split/finish";
    pub const SPLIT_QUERY: &str = "/api/split/query";
    pub const SPLIT_RETURN: &str = "/api/split/return";
    pub const WITHDRAW_CREATE: &str = "/api/withdraw/create";
    pub const WITHDRAW_QUERY: &str = "/api/withdraw/query";
    pub const SETTLEMENT_REQUEST: &str = "/api/settlement/request";
    pub const PAYOUT_CREATE: &str = "/api/payout/create";
    pub const PAYOUT_QUERY: &str = "/api/payout/query";
}
