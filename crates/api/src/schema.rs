//! Builders for the hand-written request schemas: each states every rule the server enforces
//! (`fields`, the domain's id and amount parsers), so a client generated from the document sends
//! nothing the server refuses for its form. The integration test `openapi_requests` holds the
//! document to that.

use utoipa::openapi::schema::{
    KnownFormat, Object, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type,
};
use utoipa::openapi::RefOr;

/// `MerchantId`, `OutTradeNo`, `OutRefundNo` and `WalletAccountId`: letters, digits, `_` and `-`.
pub(crate) const MERCHANT_ID: &str = "^[0-9A-Za-z_-]{2,32}$";
pub(crate) const OUT_NO: &str = "^[0-9A-Za-z_-]{1,64}$";
/// The payer's one-time wallet pay code (`PayCode`).
pub(crate) const PAY_CODE: &str = "^[0-9A-Za-z_-]{1,128}$";
/// Our `TradeNo` and `RefundNo`, and the nonce: letters and digits only.
pub(crate) const OUR_NO: &str = "^[0-9A-Za-z]{8,32}$";
pub(crate) const NONCE: &str = "^[0-9A-Za-z]{8,32}$";
/// Free text: any characters but controls (Unicode Cc, which `char::is_control` refuses).
const TEXT: &str = "^[^\\x00-\\x1f\\x7f-\\x9f]*$";
/// An amount with up to two decimals (CNY, HKD, USD): positive, no sign, exponent or leading
/// zero, at most 10^15 minor units.
pub(crate) const AMOUNT_CENTS: &str =
    "^([1-9][0-9]{0,12}(\\.[0-9]{1,2})?|0\\.([1-9][0-9]?|0[1-9]))$";
/// An amount without decimals (JPY), at most 10^15 minor units.
pub(crate) const AMOUNT_WHOLE: &str = "^[1-9][0-9]{0,14}$";
/// An http(s) URL. The server accepts any such URL without whitespace; this pattern is a little
/// narrower (a DNS host name, no port), so a literal loopback or private address, which delivery
/// refuses, cannot be generated from it.
pub(crate) const URL: &str =
    "^https?://[a-z][a-z0-9-]{0,30}(\\.[a-z][a-z0-9-]{0,30}){0,4}(/[0-9A-Za-z._~%/-]{0,120})?$";
/// Unix seconds sent as a string.
const DIGITS: &str = "^[0-9]{1,19}$";

pub(crate) const TEXT_CHARS_MAX_ID: usize = 64;

pub(crate) fn string(pattern: &str, length: (usize, usize), description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .min_length(Some(length.0))
        .max_length(Some(length.1))
        .description(Some(description))
        .build()
}

pub(crate) fn text(chars_max: usize, description: &str) -> Object {
    string(TEXT, (1, chars_max), description)
}

pub(crate) fn one_of_values(values: &[&str], description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .description(Some(description))
        .build()
}

/// A boolean, or the same as the text `true` / `false` (both are signed alike).
pub(crate) fn boolean(description: &str) -> Schema {
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Boolean))
        .item(one_of_values(&["true", "false"], "the same, as text"))
        .description(Some(description))
        .into()
}

/// An integer, or the same integer as a string of digits (both are signed alike).
pub(crate) fn integer_or_digits(description: &str) -> Schema {
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
pub(crate) fn object(properties: Vec<(&str, RefOr<Schema>)>, required: &[&str]) -> Schema {
    let mut builder = ObjectBuilder::new().schema_type(Type::Object);
    for (name, schema) in properties {
        builder = builder.property(name, schema);
    }
    for name in required {
        builder = builder.required(*name);
    }
    builder.into()
}

pub(crate) fn requires(field: &str) -> RefOr<Schema> {
    ObjectBuilder::new().required(field).into()
}

pub(crate) fn amount(description: &str) -> Object {
    string(
        AMOUNT_CENTS,
        (1, crate::fields::AMOUNT_CHARS_MAX),
        description,
    )
}

/// Implements `ToSchema` for a type whose schema `$body` builds under the component name
/// `$name`; `$deps` are the components it refers to.
macro_rules! request_schema {
    ($ty:ty, $name:literal, [$($dep:ty),*], $body:expr) => {
        impl utoipa::PartialSchema for $ty {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $body
            }
        }

        impl utoipa::ToSchema for $ty {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed($name)
            }

            fn schemas(
                schemas: &mut Vec<(
                    String,
                    utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
                )>,
            ) {
                let deps: Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)> =
                    vec![$((
                        <$dep as utoipa::ToSchema>::name().into_owned(),
                        <$dep as utoipa::PartialSchema>::schema(),
                    )),*];
                schemas.extend(deps);
            }
        }
    };
}
pub(crate) use request_schema;

/// A string property with an enum of `values`.
pub(crate) fn values(values: impl IntoIterator<Item = &'static str>, description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values))
        .description(Some(description))
        .build()
}

/// A property of an answer: its schema and whether every answer carries it.
pub(crate) struct Property {
    pub(crate) name: &'static str,
    pub(crate) schema: RefOr<Schema>,
    pub(crate) required: bool,
}

fn plain(schema_type: Type, format: Option<KnownFormat>, description: Option<&str>) -> Object {
    ObjectBuilder::new()
        .schema_type(schema_type)
        .format(format.map(SchemaFormat::KnownFormat))
        .description(description)
        .build()
}

/// A string every answer carries.
pub(crate) fn text_prop(name: &'static str, description: Option<&str>) -> Property {
    Property {
        name,
        schema: plain(Type::String, None, description).into(),
        required: true,
    }
}

/// A string some answers leave out.
pub(crate) fn opt_text_prop(name: &'static str, description: Option<&str>) -> Property {
    let types = utoipa::openapi::schema::SchemaType::from_iter([Type::String, Type::Null]);
    Property {
        name,
        schema: ObjectBuilder::new()
            .schema_type(types)
            .description(description)
            .build()
            .into(),
        required: false,
    }
}

/// A 64-bit integer every answer carries.
pub(crate) fn int_prop(name: &'static str, description: Option<&str>) -> Property {
    Property {
        name,
        schema: plain(Type::Integer, Some(KnownFormat::Int64), description).into(),
        required: true,
    }
}

pub(crate) fn enum_prop(name: &'static str, schema: Object) -> Property {
    Property {
        name,
        schema: schema.into(),
        required: true,
    }
}

/// An answer object with `properties` in order, and its description.
pub(crate) fn answer(properties: Vec<Property>, description: Option<&str>) -> RefOr<Schema> {
    let mut builder = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(description);
    for property in properties {
        if property.required {
            builder = builder.required(property.name);
        }
        builder = builder.property(property.name, property.schema);
    }
    builder.into()
}
