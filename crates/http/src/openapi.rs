//! The OpenAPI 3.1 document. The wire format is a flat signed JSON object (DESIGN §12), and its
//! types and schemas are `paygate_api`'s: the same types the handlers read and write. Request
//! schemas state every constraint the server enforces; responses every status and code.

use utoipa::OpenApi;

/// What the document says besides its paths, which `crate::api_routes` adds as it registers them.
#[derive(OpenApi)]
#[openapi(
    info(title = "Paygate merchant API", description = "One signed API over many payment channels. \
        Requests and responses are flat JSON objects signed as described in DESIGN §12."),
    modifiers(&AdminTokenScheme),
    tags((name = "payment"), (name = "refund"), (name = "platform"), (name = "cashier"),
         (name = "payer", description = "Called by the payer's own app, never by a merchant"),
         (name = "operations"), (name = "admin"),
         (name = "channels", description = "Called by payment channels, in their own protocols"),
         (name = "partner", description = "A partner's reports on the orders it fulfils"),
         (name = "balance", description = "The merchant's balances as the ledger keeps them"),
         (name = "split", description = "Profit sharing (分账) and its return (分账回退)"),
         (name = "settlement", description = "Settling and withdrawing a merchant's money"),
         (name = "payout", description = "Payouts (代付) from the merchant's available balance"))
)]
struct Base;

pub(crate) fn base() -> utoipa::openapi::OpenApi {
    Base::openapi()
}

/// The whole document, paths included, exactly as `/openapi.json` serves it.
pub struct ApiDoc;

impl OpenApi for ApiDoc {
    fn openapi() -> utoipa::openapi::OpenApi {
        crate::api_routes().split_for_parts().1
    }
}

/// The document as JSON, as `/openapi.json` serves it.
pub fn document() -> serde_json::Value {
    serde_json::to_value(ApiDoc::openapi()).expect("the document serialises")
}

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
            ("/api/partner/order-status", "post"),
            ("/api/platform/public-key", "get"),
            ("/api/wallet/paycode", "post"),
            ("/healthz", "get"),
            ("/metrics", "get"),
            ("/cashier/{trade_no}", "get"),
            ("/admin/orders/{trade_no}/notifications", "get"),
            ("/admin/notifications/{id}/resend", "post"),
            ("/admin/anomalies", "get"),
            ("/admin/merchants/{merchant_id}/union-login-key", "get"),
            ("/api/union-login", "post"),
            ("/cashier/login", "get"),
            ("/cashier/me", "get"),
            ("/cashier/{trade_no}/wallet", "get"),
            ("/cashier/{trade_no}/wallet", "post"),
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
                create[1]["properties"][field]["pattern"].is_string()
                    || create[1]["properties"][field]["enum"].is_array(),
                "create constrains {field}"
            );
        }
    }

    #[test]
    fn enforced_constraints_are_stated() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let schemas = &doc["components"]["schemas"];
        let signed = &schemas["SignedFields"]["properties"];
        assert_eq!(signed["nonce"]["pattern"], "^[0-9A-Za-z]{8,32}$");
        assert_eq!(
            signed["sign_type"]["enum"],
            serde_json::json!(["MD5", "HMAC-SHA256", "RSA2"])
        );
        assert_eq!(signed["timestamp"]["oneOf"][0]["type"], "integer");
        assert_eq!(signed["timestamp"]["oneOf"][1]["pattern"], "^[0-9]{1,19}$");
        let query = &schemas["OrderRefRequest"]["allOf"][2]["anyOf"];
        assert_eq!(query[0]["required"], serde_json::json!(["trade_no"]));
        assert_eq!(query[1]["required"], serde_json::json!(["out_trade_no"]));
        let error = &schemas["ErrorResponse"]["properties"];
        assert_eq!(error["code"]["enum"], serde_json::json!(["FAIL"]));
        assert_eq!(error["error_code"]["enum"][0], "1001");
        let resend = &doc["paths"]["/admin/notifications/{id}/resend"]["post"]["responses"];
        for status in ["400", "401"] {
            assert_eq!(
                resend[status]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ErrorResponse",
                "admin {status} has the error body"
            );
        }
    }
}
