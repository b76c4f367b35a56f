//! The OpenAPI 3.1 document. The wire format is a flat signed JSON object (DESIGN §12); these
//! schema types exist to describe it, the handlers read the fields themselves.

#![allow(dead_code)]

use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

/// Fields every merchant request carries.
#[derive(ToSchema, Serialize)]
pub struct SignedFields {
    /// The merchant's id.
    merchant_id: String,
    /// Unix seconds; must be within 5 minutes of the gateway's clock.
    timestamp: i64,
    /// 8-32 characters of [0-9A-Za-z], never reused within the timestamp window.
    nonce: String,
    /// MD5 (default), HMAC-SHA256 or RSA2; must equal the merchant's configured type.
    sign_type: Option<String>,
    /// Signature over all other non-empty fields sorted by key (DESIGN §12).
    sign: String,
}

#[derive(ToSchema, Serialize)]
pub struct CreateOrderRequest {
    #[serde(flatten)]
    signed: SignedFields,
    /// The merchant's order number (1-64 of [0-9A-Za-z_-]): the idempotency key.
    out_trade_no: String,
    /// Decimal string in yuan, e.g. "0.01"; at most the currency's minor digits.
    total_amount: String,
    /// CNY (default), HKD, USD or JPY.
    currency: Option<String>,
    /// At most 128 characters.
    subject: String,
    body: Option<String>,
    /// Currently `wallet`.
    pay_type: String,
    notify_url: String,
    return_url: Option<String>,
    /// Echoed in notifications; at most 128 characters.
    attach: Option<String>,
    /// Unix seconds; default 30 minutes after creation.
    expire_time: Option<i64>,
    /// A wallet account the merchant knows the payer by. Recorded only: it never charges.
    buyer_id: Option<String>,
    /// The payer's one-time pay code (micropay, B scans C): 18 digits starting 88, issued by the
    /// payer's wallet and valid 60 s. With pay_type=wallet the order is charged at once; an
    /// unknown, expired or already used code answers 1011.
    #[schema(pattern = "^88[0-9]{16}$")]
    auth_code: Option<String>,
    /// Optional; only `micropay` (implied by auth_code), which then requires auth_code.
    scene: Option<String>,
}

#[derive(ToSchema, Serialize)]
pub struct OrderRefRequest {
    #[serde(flatten)]
    signed: SignedFields,
    /// Our trade number; wins over out_trade_no when both are given.
    trade_no: Option<String>,
    out_trade_no: Option<String>,
}

#[derive(ToSchema, Serialize)]
pub struct RefundRequest {
    #[serde(flatten)]
    signed: SignedFields,
    trade_no: Option<String>,
    out_trade_no: Option<String>,
    /// The merchant's refund number: the refund's idempotency key.
    out_refund_no: String,
    refund_amount: String,
    refund_reason: String,
}

#[derive(ToSchema, Serialize)]
pub struct RefundRefRequest {
    #[serde(flatten)]
    signed: SignedFields,
    refund_no: Option<String>,
    out_refund_no: Option<String>,
}

#[derive(ToSchema, Serialize)]
pub struct OrderResponse {
    /// SUCCESS
    code: String,
    msg: String,
    merchant_id: String,
    trade_no: String,
    out_trade_no: String,
    /// WAIT_PAY, USERPAYING, SUCCESS, PARTIAL_REFUND, REFUND or CLOSED.
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
    code: String,
    msg: String,
    merchant_id: String,
    refund_no: String,
    out_refund_no: String,
    trade_no: String,
    out_trade_no: String,
    refund_amount: String,
    currency: String,
    /// PROCESSING, SUCCESS or FAIL.
    refund_status: String,
    refund_reason: String,
    success_time: Option<String>,
    timestamp: i64,
    sign_type: String,
    sign: String,
}

/// A refusal. Signed when the merchant is known.
#[derive(ToSchema, Serialize)]
pub struct ErrorResponse {
    /// FAIL
    code: String,
    /// 1001 parameter, 1002 signature, 1003 order not found, 1004 order status, 1005 insufficient
    /// balance, 1006 system busy, 1007 refund exceeds refundable, 1008 pay type not enabled,
    /// 1009 channel rejected, 1010 refund not found, 1011 pay code invalid or expired.
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

#[derive(OpenApi)]
#[openapi(
    info(title = "Paygate merchant API", description = "One signed API over many payment channels. \
        Requests and responses are flat JSON objects signed as described in DESIGN §12."),
    paths(
        crate::merchant_api::create,
        crate::merchant_api::query,
        crate::merchant_api::close,
        crate::merchant_api::refund,
        crate::merchant_api::refund_query,
        crate::ops::public_key,
        crate::payer::paycode,
        crate::ops::healthz,
        crate::ops::metrics,
        crate::cashier::page,
        crate::admin::order_notifications,
        crate::admin::resend,
        crate::admin::anomalies,
    ),
    modifiers(&AdminTokenScheme),
    tags((name = "payment"), (name = "refund"), (name = "platform"), (name = "cashier"),
         (name = "payer", description = "Called by the payer's own app, never by a merchant"),
         (name = "operations"), (name = "admin"))
)]
pub struct ApiDoc;

/// The bearer tokens of the admin API and of payer apps, as security schemes.
struct AdminTokenScheme;

impl utoipa::Modify for AdminTokenScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        // The payer's app token from `paygate wallet token <account>`.
        components.add_security_scheme(
            "payer_token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_openapi_3_1_and_covers_every_endpoint() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        for (path, method) in [
            ("/api/payment/create", "post"),
            ("/api/payment/query", "post"),
            ("/api/payment/close", "post"),
            ("/api/payment/refund", "post"),
            ("/api/payment/refund/query", "post"),
            ("/api/platform/public-key", "get"),
            ("/api/wallet/paycode", "post"),
            ("/healthz", "get"),
            ("/metrics", "get"),
            ("/cashier/{trade_no}", "get"),
            ("/admin/orders/{trade_no}/notifications", "get"),
            ("/admin/notifications/{id}/resend", "post"),
            ("/admin/anomalies", "get"),
        ] {
            assert!(
                doc["paths"][path][method].is_object(),
                "{method} {path} is documented"
            );
        }
        let create = &doc["components"]["schemas"]["CreateOrderRequest"]["allOf"];
        assert_eq!(create[0]["$ref"], "#/components/schemas/SignedFields");
        for field in [
            "out_trade_no",
            "total_amount",
            "notify_url",
            "pay_type",
            "auth_code",
        ] {
            assert!(
                create[1]["properties"][field].is_object(),
                "create documents {field}"
            );
        }
    }
}
