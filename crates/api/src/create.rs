//! `POST /api/payment/create`: create an order, idempotent on `out_trade_no`.

use crate::fields::{insert_opt, Fields, AMOUNT_CHARS_MAX, URL_CHARS_MAX};
use crate::schema::{
    amount, integer_or_digits, object, one_of_values, request_schema, string, text, AMOUNT_CENTS,
    AMOUNT_WHOLE, OUT_NO, PAY_CODE, TEXT_CHARS_MAX_ID, URL,
};
use crate::{paths, ApiRequest, FieldError};
use chrono::{DateTime, Utc};
use paygate_domain::{Money, OutTradeNo, PayCode, PayType, WalletAccountId};
use serde_json::{Map, Value};
use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, OneOfBuilder, Ref, Schema};

pub const SUBJECT_CHARS_MAX: usize = 128;
pub const BODY_CHARS_MAX: usize = 512;
pub const ATTACH_CHARS_MAX: usize = 128;
/// An order may stay payable at most this long (WeChat and Alipay cap near this too).
pub const EXPIRE_SECS_MAX: i64 = 7 * 24 * 3600;
pub const EXPIRE_SECS_MIN: i64 = 60;

/// Build with `new` and set optional fields by struct update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOrder {
    pub out_trade_no: OutTradeNo,
    /// On the wire as `total_amount` (major-unit decimal text) and `currency`.
    pub amount: Money,
    pub subject: String,
    pub body: Option<String>,
    pub pay_type: PayType,
    pub notify_url: String,
    pub return_url: Option<String>,
    pub attach: Option<String>,
    /// When the order stops being payable, if the merchant says; sent as Unix seconds.
    pub expire_time: Option<DateTime<Utc>>,
    /// A wallet account the merchant knows the payer by. Recorded with the order, but it never
    /// charges: without `auth_code` the order waits for the payer (the cashier).
    pub buyer_id: Option<WalletAccountId>,
    /// The payer's one-time pay code (18 digits starting 88, valid 60 s), scanned from the
    /// payer's wallet: the payer's consent to be charged now (micropay).
    pub auth_code: Option<PayCode>,
}

impl CreateOrder {
    /// A wallet order with no optional fields set.
    pub fn new(
        out_trade_no: OutTradeNo,
        amount: Money,
        subject: impl Into<String>,
        notify_url: impl Into<String>,
    ) -> CreateOrder {
        CreateOrder {
            out_trade_no,
            amount,
            subject: subject.into(),
            body: None,
            pay_type: PayType::Wallet,
            notify_url: notify_url.into(),
            return_url: None,
            attach: None,
            expire_time: None,
            buyer_id: None,
            auth_code: None,
        }
    }
}

/// `auth_code`, the payer's pay code: its shape is checked here (1001), its validity by the
/// wallet that issued it (1011).
fn pay_code(f: &Fields<'_>) -> Result<Option<PayCode>, FieldError> {
    f.text("auth_code", 32)?
        .map(|text| PayCode::parse(text).map_err(|e| FieldError::new("auth_code", e.to_string())))
        .transpose()
}

/// `expire_time`, which must lie between one minute and seven days after `now_secs`.
fn expire_time(f: &Fields<'_>, now_secs: i64) -> Result<Option<DateTime<Utc>>, FieldError> {
    let Some(at) = f.integer("expire_time")? else {
        return Ok(None);
    };
    let refused = || {
        FieldError::new(
            "expire_time",
            "must be Unix seconds between 1 minute and 7 days from now",
        )
    };
    if at < now_secs + EXPIRE_SECS_MIN || at > now_secs + EXPIRE_SECS_MAX {
        return Err(refused());
    }
    DateTime::from_timestamp(at, 0)
        .map(Some)
        .ok_or_else(refused)
}

impl ApiRequest for CreateOrder {
    const PATH: &'static str = paths::CREATE;

    fn parse(fields: &Map<String, Value>, now_secs: i64) -> Result<CreateOrder, FieldError> {
        let f = Fields(fields);
        let out_trade_no = f
            .id("out_trade_no", OutTradeNo::parse)?
            .ok_or_else(|| FieldError::new("out_trade_no", "is required"))?;
        let currency = f.currency()?;
        let amount = f.money("total_amount", currency)?;
        let subject = f.required("subject", SUBJECT_CHARS_MAX)?.to_owned();
        let pay_type = f
            .required("pay_type", 32)?
            .parse::<PayType>()
            .map_err(|e| FieldError::new("pay_type", e))?;
        let notify_url = f
            .url("notify_url")?
            .ok_or_else(|| FieldError::new("notify_url", "is required"))?;
        let expire_time = expire_time(&f, now_secs)?;
        Ok(CreateOrder {
            out_trade_no,
            amount,
            subject,
            body: f.text("body", BODY_CHARS_MAX)?.map(str::to_owned),
            pay_type,
            notify_url,
            return_url: f.url("return_url")?,
            attach: f.text("attach", ATTACH_CHARS_MAX)?.map(str::to_owned),
            expire_time,
            buyer_id: f.id("buyer_id", WalletAccountId::parse)?,
            auth_code: pay_code(&f)?,
        })
    }

    fn to_fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert("out_trade_no".into(), self.out_trade_no.as_str().into());
        fields.insert("total_amount".into(), self.amount.to_major_string().into());
        fields.insert("currency".into(), self.amount.currency.as_str().into());
        fields.insert("subject".into(), self.subject.as_str().into());
        insert_opt(&mut fields, "body", self.body.as_deref());
        fields.insert("pay_type".into(), self.pay_type.as_str().into());
        fields.insert("notify_url".into(), self.notify_url.as_str().into());
        insert_opt(&mut fields, "return_url", self.return_url.as_deref());
        insert_opt(&mut fields, "attach", self.attach.as_deref());
        if let Some(at) = self.expire_time {
            fields.insert("expire_time".into(), at.timestamp().into());
        }
        let buyer_id = self.buyer_id.as_ref().map(WalletAccountId::as_str);
        insert_opt(&mut fields, "buyer_id", buyer_id);
        insert_opt(
            &mut fields,
            "auth_code",
            self.auth_code.as_ref().map(PayCode::as_str),
        );
        fields
    }
}

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
    CreateOrder,
    "CreateOrderRequest",
    [crate::envelope::SignedFields],
    AllOfBuilder::new()
        .item(Ref::from_schema_name("SignedFields"))
        .item(create_fields())
        .item(amount_by_pay_type_and_currency())
        .into()
);

#[cfg(test)]
#[path = "create_tests.rs"]
mod tests;
