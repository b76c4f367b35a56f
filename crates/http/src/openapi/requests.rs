//! Merchant request schemas, written with utoipa's builders rather than derived, so each states
//! every rule the server enforces (`paygate_app::commands`, `paygate_app::auth`, the domain's id
//! and amount parsers): a client generated from them sends nothing the server refuses for its
//! form. The integration test `openapi_requests` holds the document to that.

use paygate_app::commands::{
    ATTACH_CHARS_MAX, BODY_CHARS_MAX, EXPIRE_SECS_MAX, EXPIRE_SECS_MIN, REASON_CHARS_MAX,
    SUBJECT_CHARS_MAX, URL_CHARS_MAX,
};
use paygate_domain::sign::SignType;
use paygate_domain::PayType;
use std::borrow::Cow;
use utoipa::openapi::schema::{
    AllOfBuilder, AnyOfBuilder, KnownFormat, Object, ObjectBuilder, OneOfBuilder, Ref, Schema,
    SchemaFormat, Type,
};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// `MerchantId`, `OutTradeNo`, `OutRefundNo` and `WalletAccountId`: letters, digits, `_` and `-`.
const MERCHANT_ID: &str = "^[0-9A-Za-z_-]{2,32}$";
const OUT_NO: &str = "^[0-9A-Za-z_-]{1,64}$";
/// The payer's one-time wallet pay code (`PayCode`).
const PAY_CODE: &str = "^88[0-9]{16}$";
/// Our `TradeNo` and `RefundNo`, and the nonce: letters and digits only.
const OUR_NO: &str = "^[0-9A-Za-z]{8,32}$";
const NONCE: &str = "^[0-9A-Za-z]{8,32}$";
/// Free text: any characters but controls (Unicode Cc, which `char::is_control` refuses).
const TEXT: &str = "^[^\\x00-\\x1f\\x7f-\\x9f]*$";
/// An amount with up to two decimals (CNY, HKD, USD): positive, no sign, exponent or leading
/// zero, at most 10^15 minor units.
const AMOUNT_CENTS: &str = "^([1-9][0-9]{0,12}(\\.[0-9]{1,2})?|0\\.([1-9][0-9]?|0[1-9]))$";
/// An amount without decimals (JPY), at most 10^15 minor units.
const AMOUNT_WHOLE: &str = "^[1-9][0-9]{0,14}$";
/// An http(s) URL. The server accepts any such URL without whitespace; this pattern is a little
/// narrower (a DNS host name, no port), so a literal loopback or private address, which delivery
/// refuses, cannot be generated from it.
const URL: &str =
    "^https?://[a-z][a-z0-9-]{0,30}(\\.[a-z][a-z0-9-]{0,30}){0,4}(/[0-9A-Za-z._~%/-]{0,120})?$";
/// Unix seconds sent as a string.
const DIGITS: &str = "^[0-9]{1,19}$";

const TEXT_CHARS_MAX_ID: usize = 64;
const AMOUNT_CHARS_MAX: usize = 32;

fn string(pattern: &str, length: (usize, usize), description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .min_length(Some(length.0))
        .max_length(Some(length.1))
        .description(Some(description))
        .build()
}

fn text(chars_max: usize, description: &str) -> Object {
    string(TEXT, (1, chars_max), description)
}

fn one_of_values(values: &[&str], description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .description(Some(description))
        .build()
}

/// An integer, or the same integer as a string of digits (both are signed alike).
fn integer_or_digits(description: &str) -> Schema {
    let integer = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(0));
    OneOfBuilder::new()
        .item(integer)
        .item(string(DIGITS, (1, 19), "the same, as decimal digits"))
        .description(Some(description))
        .into()
}

/// An object with `properties`, of which `required` must be present.
fn object(properties: Vec<(&str, RefOr<Schema>)>, required: &[&str]) -> Schema {
    let mut builder = ObjectBuilder::new().schema_type(Type::Object);
    for (name, schema) in properties {
        builder = builder.property(name, schema);
    }
    for name in required {
        builder = builder.required(*name);
    }
    builder.into()
}

fn requires(field: &str) -> RefOr<Schema> {
    ObjectBuilder::new().required(field).into()
}

fn amount(description: &str) -> Object {
    string(AMOUNT_CENTS, (1, AMOUNT_CHARS_MAX), description)
}

/// Declares a schema type whose name is the struct's and whose schema `$body` builds; `$deps`
/// are the components it refers to.
macro_rules! request_schema {
    ($(#[$doc:meta])* $name:ident, [$($dep:ty),*], $body:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                $body
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }

            #[allow(unused_variables)]
            fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
                $(schemas.push((<$dep>::name().into_owned(), <$dep>::schema()));)*
            }
        }
    };
}

request_schema!(
    /// What every merchant request carries besides its own fields.
    SignedFields,
    [],
    object(
        vec![
            ("merchant_id", string(MERCHANT_ID, (2, 32), "The merchant's id.").into()),
            (
                "timestamp",
                integer_or_digits("Unix seconds; at most 300 s from the gateway's clock.").into(),
            ),
            (
                "nonce",
                string(NONCE, (8, 32), "Never reused by this merchant within the timestamp window.")
                    .into(),
            ),
            (
                "sign_type",
                one_of_values(
                    &SignType::ALL.map(SignType::as_str),
                    "Default MD5. Must be the merchant's configured type; it is signed too.",
                )
                .into(),
            ),
            (
                "sign",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .description(Some(
                        "Signature over every other non-empty field sorted by key (DESIGN §12).",
                    ))
                    .into(),
            ),
        ],
        &["merchant_id", "timestamp", "nonce", "sign"],
    )
    .into()
);

fn create_fields() -> Schema {
    let url = |what: &str| string(URL, (9, URL_CHARS_MAX), what);
    object(
        vec![
            (
                "out_trade_no",
                string(OUT_NO, (1, TEXT_CHARS_MAX_ID), "The idempotency key.").into(),
            ),
            (
                "total_amount",
                amount("Decimal string in the major unit, e.g. \"0.01\"; see the currency rules.")
                    .into(),
            ),
            (
                "currency",
                one_of_values(&["CNY", "HKD", "USD", "JPY"], "Default CNY.").into(),
            ),
            (
                "subject",
                text(SUBJECT_CHARS_MAX, "What is paid for.").into(),
            ),
            ("body", text(BODY_CHARS_MAX, "A longer description.").into()),
            (
                "pay_type",
                one_of_values(&PayType::ALL.map(PayType::as_str), "The payment method.").into(),
            ),
            (
                "notify_url",
                url("Where the payment notification is sent.").into(),
            ),
            (
                "return_url",
                url("Where the cashier sends the payer afterwards.").into(),
            ),
            (
                "attach",
                text(ATTACH_CHARS_MAX, "Echoed in notifications.").into(),
            ),
            (
                "expire_time",
                integer_or_digits(&format!(
                    "Unix seconds, between {EXPIRE_SECS_MIN} s and {EXPIRE_SECS_MAX} s (7 days) \
                     after the request; default 30 minutes after creation."
                ))
                .into(),
            ),
            (
                "buyer_id",
                string(
                    OUT_NO,
                    (1, TEXT_CHARS_MAX_ID),
                    "A wallet account the merchant knows the payer by. Recorded only: it never \
                     charges.",
                )
                .into(),
            ),
            (
                "auth_code",
                string(
                    PAY_CODE,
                    (18, 18),
                    "The payer's one-time pay code (micropay, B scans C): 18 digits starting 88, \
                     issued by the payer's wallet and valid 60 s. With pay_type=wallet the order \
                     is charged at once; an unknown, expired or already used code answers 1011.",
                )
                .into(),
            ),
        ],
        &[
            "out_trade_no",
            "total_amount",
            "subject",
            "pay_type",
            "notify_url",
        ],
    )
}

/// The currencies each pay type's channel accepts (`ChannelInfo::currencies`); anything else
/// is refused with 1001 naming `currency`.
const PAY_TYPE_CURRENCIES: &[(PayType, &[&str])] = &[(PayType::Wallet, &["CNY"])];

/// Which currencies go with which pay type, and the amount's decimals with the currency: two
/// for CNY (the default), HKD and USD, none for JPY. Exactly one branch holds for any request.
fn amount_by_pay_type_and_currency() -> Schema {
    let mut branches = OneOfBuilder::new();
    for (pay_type, accepted) in PAY_TYPE_CURRENCIES {
        let groups: [(&[&str], &str, &str); 2] = [
            (&["CNY", "HKD", "USD"], AMOUNT_CENTS, "Up to two decimals."),
            (&["JPY"], AMOUNT_WHOLE, "A whole number."),
        ];
        for (group, pattern, description) in groups {
            let currencies: Vec<&str> = group
                .iter()
                .copied()
                .filter(|c| accepted.contains(c))
                .collect();
            if currencies.is_empty() {
                continue;
            }
            let mut branch = ObjectBuilder::new()
                .property(
                    "pay_type",
                    one_of_values(&[pay_type.as_str()], "This pay type."),
                )
                .property("currency", one_of_values(&currencies, "Accepted with it."))
                .property(
                    "total_amount",
                    string(pattern, (1, AMOUNT_CHARS_MAX), description),
                )
                .required("pay_type");
            if !currencies.contains(&"CNY") {
                branch = branch.required("currency");
            }
            branches = branches.item(branch);
        }
    }
    branches.into()
}

request_schema!(
    /// Create an order.
    CreateOrderRequest,
    [SignedFields],
    AllOfBuilder::new()
        .item(Ref::from_schema_name("SignedFields"))
        .item(create_fields())
        .item(amount_by_pay_type_and_currency())
        .into()
);

fn order_ref_fields() -> Vec<(&'static str, RefOr<Schema>)> {
    vec![
        (
            "trade_no",
            string(
                OUR_NO,
                (8, 32),
                "Our trade number; wins when both are given.",
            )
            .into(),
        ),
        (
            "out_trade_no",
            string(
                OUT_NO,
                (1, TEXT_CHARS_MAX_ID),
                "The merchant's order number.",
            )
            .into(),
        ),
    ]
}

/// `trade_no` or `out_trade_no`, at least one.
fn names_an_order() -> Schema {
    AnyOfBuilder::new()
        .item(requires("trade_no"))
        .item(requires("out_trade_no"))
        .into()
}

request_schema!(
    /// Name an order by `trade_no` (preferred) or `out_trade_no`.
    OrderRefRequest,
    [SignedFields],
    AllOfBuilder::new()
        .item(Ref::from_schema_name("SignedFields"))
        .item(object(order_ref_fields(), &[]))
        .item(names_an_order())
        .into()
);

request_schema!(
    /// Refund a paid order.
    RefundRequest,
    [SignedFields],
    {
        let mut fields = order_ref_fields();
        fields.extend([
            (
                "out_refund_no",
                string(OUT_NO, (1, TEXT_CHARS_MAX_ID), "The refund's idempotency key.").into(),
            ),
            (
                "refund_amount",
                amount("In the order's currency: up to two decimals, a whole number for JPY.")
                    .into(),
            ),
            ("refund_reason", text(REASON_CHARS_MAX, "Why the money goes back.").into()),
        ]);
        AllOfBuilder::new()
            .item(Ref::from_schema_name("SignedFields"))
            .item(object(fields, &["out_refund_no", "refund_amount", "refund_reason"]))
            .item(names_an_order())
            .into()
    }
);

request_schema!(
    /// Name a refund by `refund_no` (preferred) or `out_refund_no`.
    RefundRefRequest,
    [SignedFields],
    AllOfBuilder::new()
        .item(Ref::from_schema_name("SignedFields"))
        .item(object(
            vec![
                ("refund_no", string(OUR_NO, (8, 32), "Our refund number; wins when both are given.").into()),
                (
                    "out_refund_no",
                    string(OUT_NO, (1, TEXT_CHARS_MAX_ID), "The merchant's refund number.").into(),
                ),
            ],
            &[],
        ))
        .item(
            AnyOfBuilder::new()
                .item(requires("refund_no"))
                .item(requires("out_refund_no")),
        )
        .into()
);
