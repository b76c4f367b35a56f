//! `POST /api/payment/refund`: refund all or part of a paid order, idempotent on
//! `out_refund_no`.

use crate::field;
use crate::fields::{insert_opt, Fields, AMOUNT_CHARS_MAX};
use crate::order_ref::{names_an_order, order_ref_fields, OrderRef};
use crate::schema::{amount, object, request_schema, string, text, OUT_NO, TEXT_CHARS_MAX_ID};
use crate::{paths, ApiRequest, FieldError};
use paygate_domain::{AmountError, Currency, Money, OutRefundNo};
use serde_json::{Map, Value};
use utoipa::openapi::schema::{AllOfBuilder, Ref};

pub const REASON_CHARS_MAX: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub order: OrderRef,
    /// The refund's idempotency key.
    pub out_refund_no: OutRefundNo,
    /// On the wire as `refund_amount` only: the order fixes the currency. Read by the server
    /// before the order is known, so its currency there is provisional (`in_currency`).
    pub refund_amount: Money,
    /// Required by the gateway, shown to the payer; at most 256 characters.
    pub refund_reason: String,
}

impl Refund {
    /// The amount in the order's currency, read from the same text the merchant sent.
    pub fn amount_in(&self, currency: Currency) -> Result<Money, AmountError> {
        Money::parse(&self.refund_amount.to_major_string(), currency)
    }
}

/// The amount's shape, before the order (and so its currency) is known: anything some currency
/// accepts. A whole number reads as yen and anything with decimals as yuan, so the text written
/// back by `to_major_string` is the text that was sent; a refusal quotes the yen rule, which
/// every accepted form must pass but for its decimals.
fn provisional_amount(f: &Fields<'_>) -> Result<Money, FieldError> {
    let text = f.required(field::REFUND_AMOUNT, AMOUNT_CHARS_MAX)?;
    Money::parse(text, Currency::Jpy)
        .or_else(|jpy| Money::parse(text, Currency::Cny).map_err(|_| jpy))
        .map_err(|e| FieldError::new(field::REFUND_AMOUNT, e.to_string()))
}

impl ApiRequest for Refund {
    const PATH: &'static str = paths::REFUND;

    fn parse(fields: &Map<String, Value>, _now_secs: i64) -> Result<Refund, FieldError> {
        let f = Fields(fields);
        let order = OrderRef::read(&f)?;
        let out_refund_no = f
            .id(field::OUT_REFUND_NO, OutRefundNo::parse)?
            .ok_or_else(|| FieldError::new(field::OUT_REFUND_NO, "is required"))?;
        let refund_amount = provisional_amount(&f)?;
        let refund_reason = f
            .required(field::REFUND_REASON, REASON_CHARS_MAX)?
            .to_owned();
        Ok(Refund {
            order,
            out_refund_no,
            refund_amount,
            refund_reason,
        })
    }

    fn to_fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        self.order.insert_into(&mut fields);
        fields.insert(
            field::OUT_REFUND_NO.into(),
            self.out_refund_no.as_str().into(),
        );
        let amount = self.refund_amount.to_major_string();
        fields.insert(field::REFUND_AMOUNT.into(), amount.into());
        insert_opt(&mut fields, field::REFUND_REASON, Some(&self.refund_reason));
        fields
    }
}

request_schema!(Refund, "RefundRequest", [crate::envelope::SignedFields], {
    let mut fields = order_ref_fields();
    fields.extend([
        (
            field::OUT_REFUND_NO,
            string(
                OUT_NO,
                (1, TEXT_CHARS_MAX_ID),
                "The refund's idempotency key.",
            )
            .into(),
        ),
        (
            field::REFUND_AMOUNT,
            amount("In the order's currency: up to two decimals, a whole number for JPY.").into(),
        ),
        (
            field::REFUND_REASON,
            text(REASON_CHARS_MAX, "Why the money goes back.").into(),
        ),
    ]);
    AllOfBuilder::new()
        .item(Ref::from_schema_name("SignedFields"))
        .item(object(
            fields,
            &[
                field::OUT_REFUND_NO,
                field::REFUND_AMOUNT,
                field::REFUND_REASON,
            ],
        ))
        .item(names_an_order())
        .into()
});

#[cfg(test)]
mod tests {
    use super::*;
    use paygate_domain::OutTradeNo;
    use serde_json::json;

    fn refund(amount: &str) -> Refund {
        Refund {
            order: OrderRef::OutTradeNo(OutTradeNo::parse("ORDER-1").unwrap()),
            out_refund_no: OutRefundNo::parse("RF-1").unwrap(),
            refund_amount: Money::parse(amount, Currency::Cny).unwrap(),
            refund_reason: "damaged".into(),
        }
    }

    #[test]
    fn refund_sends_amount_and_reason() {
        assert_eq!(
            Value::Object(refund("12.3").to_fields()),
            json!({
                "out_trade_no": "ORDER-1", "out_refund_no": "RF-1",
                "refund_amount": "12.30", "refund_reason": "damaged"
            })
        );
    }

    fn parsed_amount(text: &str, currency: Currency) -> Result<Money, String> {
        let mut fields = refund("1").to_fields();
        fields.insert("refund_amount".into(), text.into());
        let parsed = Refund::parse(&fields, 0).map_err(|e| e.reason)?;
        parsed.amount_in(currency).map_err(|e| e.to_string())
    }

    #[test]
    fn the_amount_is_read_in_the_orders_currency_as_if_from_the_text_sent() {
        for (text, currency) in [
            ("12.3", Currency::Cny),
            ("12.3", Currency::Jpy),
            ("100", Currency::Jpy),
            ("100", Currency::Cny),
            ("1000000000000000", Currency::Jpy),
            ("1000000000000000", Currency::Cny),
            ("0.01", Currency::Usd),
        ] {
            let direct = Money::parse(text, currency).map_err(|e| e.to_string());
            assert_eq!(parsed_amount(text, currency), direct, "{text} {currency:?}");
        }
    }

    #[test]
    fn an_amount_no_currency_accepts_is_refused_before_any_lookup() {
        for text in ["1.001", "-1", "1e2", "0", "99999999999999999999"] {
            assert!(parsed_amount(text, Currency::Cny).is_err(), "{text}");
        }
    }
}
