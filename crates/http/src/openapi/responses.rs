//! Response schemas: what the gateway answers, with every status and code it can send.

#![allow(dead_code)]

use paygate_domain::{ErrorCode, OrderStatus, RefundStatus};
use serde::Serialize;
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa::ToSchema;

fn values(values: impl IntoIterator<Item = &'static str>, description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .description(Some(description))
        .build()
}

fn success() -> Object {
    values(["SUCCESS"], "The request succeeded.")
}

fn fail() -> Object {
    values(["FAIL"], "The request was refused; see error_code.")
}

fn trade_status() -> Object {
    values(
        OrderStatus::ALL.map(OrderStatus::as_str),
        "The order's state.",
    )
}

fn refund_status() -> Object {
    values(
        RefundStatus::ALL.map(RefundStatus::as_str),
        "The refund's state.",
    )
}

fn error_code() -> Object {
    let meanings: Vec<String> = ErrorCode::ALL
        .iter()
        .map(|code| format!("{} {}", code.code(), code.default_message()))
        .collect();
    values(
        ErrorCode::ALL.map(ErrorCode::code),
        &format!("Stable code: {}.", meanings.join("; ")),
    )
}

#[derive(ToSchema, Serialize)]
pub struct OrderResponse {
    #[schema(schema_with = success)]
    code: String,
    msg: String,
    merchant_id: String,
    trade_no: String,
    out_trade_no: String,
    #[schema(schema_with = trade_status)]
    trade_status: String,
    pay_type: String,
    subject: String,
    total_amount: String,
    currency: String,
    receipt_amount: Option<String>,
    refunded_amount: Option<String>,
    /// The cashier link, while the order is payable.
    pay_url: Option<String>,
    expire_time: i64,
    /// RFC 3339, China Standard Time.
    pay_time: Option<String>,
    channel_trade_no: Option<String>,
    attach: Option<String>,
    timestamp: i64,
    sign_type: String,
    sign: String,
}

#[derive(ToSchema, Serialize)]
pub struct RefundResponse {
    #[schema(schema_with = success)]
    code: String,
    msg: String,
    merchant_id: String,
    refund_no: String,
    out_refund_no: String,
    trade_no: String,
    out_trade_no: String,
    refund_amount: String,
    currency: String,
    #[schema(schema_with = refund_status)]
    refund_status: String,
    refund_reason: String,
    success_time: Option<String>,
    timestamp: i64,
    sign_type: String,
    sign: String,
}

/// A refusal, from the merchant API and the admin API alike. Signed when the merchant is known;
/// the admin API's are never signed.
#[derive(ToSchema, Serialize)]
pub struct ErrorResponse {
    #[schema(schema_with = fail)]
    code: String,
    #[schema(schema_with = error_code)]
    error_code: String,
    msg: String,
    /// The offending field, for 1001; for 1004 the first field that differs from the order
    /// or refund stored under a reused out_trade_no or out_refund_no.
    error_field: Option<String>,
    timestamp: i64,
    sign_type: Option<String>,
    sign: Option<String>,
}

/// A one-time pay code for the payer to show a merchant.
#[derive(ToSchema, Serialize)]
pub struct PayCodeResponse {
    /// 18 digits starting 88.
    auth_code: String,
    /// Seconds the code can still be used: 60.
    expires_in: i64,
}

#[derive(ToSchema, Serialize)]
pub struct PublicKeyResponse {
    /// Base64 X.509 SubjectPublicKeyInfo DER of the platform's RSA key.
    public_key: String,
    sign_type: String,
}
