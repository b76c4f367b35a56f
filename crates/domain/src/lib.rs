//! Paygate's domain: the pure types and rules every other crate builds on.
//!
//! Money is integer minor units (`money`), identifiers are validated newtypes (`ids`), order and
//! refund lifecycles are enums whose transitions live in one function each (`order`, `refund`),
//! and the merchant API's signing rules (`sign`) and at-rest encryption (`secret`) are plain
//! functions. Nothing here does I/O or knows about async, HTTP or SQL.

pub mod address;
pub mod channel_code;
pub mod concurrency;
pub mod error;
pub mod fee;
pub mod ids;
pub mod ledger;
pub mod merchant_money;
pub mod money;
pub mod order;
pub mod partner;
pub mod paycode;
pub mod payout;
mod payout_card;
pub mod payout_rules;
pub mod records;
pub mod refund;
pub mod schedule;
pub mod secret;
pub mod settlement;
pub mod sign;
pub mod split;
pub mod split_rules;
mod text_enum;
pub mod union_login;
pub mod untrusted;

pub use channel_code::{
    AlipayPayCode, AlipayPayCodeError, CodeIssuer, FaceCode, FaceCodeError, UnionpayPayCode,
    UnionpayPayCodeError, WechatPayCode, WechatPayCodeError,
};
pub use error::ErrorCode;
pub use ids::*;
pub use money::{Amount, AmountError, Currency, Money};
pub use order::{OrderEvent, OrderStatus, PayFlow, PayType, Scene, TransitionError};
pub use partner::{OrderEffect, PartnerStatus, PartnerStep, PartnerStepError};
pub use paycode::{AuthCode, AuthCodeError, PayCode, PayCodeError, PayerToken};
pub use records::{OrderRecord, PayData, RefundRecord};
pub use refund::{RefundEvent, RefundStatus};
pub use untrusted::Untrusted;
