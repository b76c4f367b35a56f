//! `POST /api/balance/query` (issue #11): the merchant's balances in one currency, as the
//! ledger has them: unsettled (pending), available, and reserved for refunds and payouts in
//! flight.

use crate::envelope::success_schema;
use crate::field;
use crate::fields::{balance, serde_via_fields, Answer, Fields};
use crate::schema::{amount, enum_prop, object, one_of_values, request_schema, values, Property};
use crate::{paths, ApiRequest, DecodeError, FieldError};
use paygate_domain::{Currency, Money};
use serde_json::{Map, Value};
use std::borrow::Cow;
use utoipa::openapi::schema::{AllOfBuilder, Ref, Schema};
use utoipa::openapi::RefOr;

pub const PENDING: &str = "pending";
pub const AVAILABLE: &str = "available";
pub const RESERVED: &str = "reserved";

/// Which currency's balances the merchant asks for (CNY when not given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryBalance {
    pub currency: Currency,
}

impl ApiRequest for QueryBalance {
    const PATH: &'static str = paths::BALANCE_QUERY;

    fn parse(fields: &Map<String, Value>, _now_secs: i64) -> Result<Self, FieldError> {
        Ok(QueryBalance {
            currency: Fields(fields).currency()?,
        })
    }

    fn to_fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert(field::CURRENCY.into(), self.currency.as_str().into());
        fields
    }
}

request_schema!(
    QueryBalance,
    "BalanceQueryRequest",
    [crate::envelope::SignedFields],
    AllOfBuilder::new()
        .item(Ref::from_schema_name("SignedFields"))
        .item(object(
            vec![(
                field::CURRENCY,
                one_of_values(&["CNY", "HKD", "USD", "JPY"], "Default CNY.").into(),
            )],
            &[],
        ))
        .into()
);

/// The merchant's balances in one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalanceView {
    pub currency: Currency,
    pub pending: Money,
    pub available: Money,
    pub reserved: Money,
}

impl BalanceView {
    /// The answer's own fields, without `code`, `msg`, `timestamp` or the signature.
    pub fn to_fields(&self) -> Map<String, Value> {
        let mut view = Map::new();
        view.insert(field::CURRENCY.into(), self.currency.as_str().into());
        for (name, money) in [
            (PENDING, &self.pending),
            (AVAILABLE, &self.available),
            (RESERVED, &self.reserved),
        ] {
            view.insert(name.into(), money.to_major_string().into());
        }
        view
    }

    /// Reads a body whose signature has already been checked.
    pub fn from_fields(body: Map<String, Value>) -> Result<BalanceView, DecodeError> {
        let fields = Answer(&body);
        let currency = fields.currency()?;
        Ok(BalanceView {
            currency,
            pending: fields.parse(PENDING, |t| balance(t, currency))?,
            available: fields.parse(AVAILABLE, |t| balance(t, currency))?,
            reserved: fields.parse(RESERVED, |t| balance(t, currency))?,
        })
    }
}

serde_via_fields!(BalanceView);

fn amount_prop(name: &'static str, description: &str) -> Property {
    enum_prop(name, amount(description))
}

impl utoipa::PartialSchema for BalanceView {
    fn schema() -> RefOr<Schema> {
        success_schema(vec![
            enum_prop(
                field::CURRENCY,
                values(["CNY", "HKD", "USD", "JPY"], "The balances' currency."),
            ),
            amount_prop(
                PENDING,
                "Paid to the merchant less fees and refunds, not yet settled; decimal in the \
                 currency's major unit.",
            ),
            amount_prop(
                AVAILABLE,
                "Settled and free to pay out or withdraw; decimal in the major unit.",
            ),
            amount_prop(
                RESERVED,
                "Held for refunds and payouts in flight; decimal in the major unit.",
            ),
        ])
    }
}

impl utoipa::ToSchema for BalanceView {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("BalanceQueryResponse")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn balances_round_trip_as_yuan_strings() {
        let money = |text: &str| balance(text, Currency::Cny).unwrap();
        let view = BalanceView {
            currency: Currency::Cny,
            pending: money("9.94"),
            available: money("0.00"),
            reserved: money("120.50"),
        };
        let fields = view.to_fields();
        assert_eq!(
            Value::Object(fields.clone()),
            json!({"currency": "CNY", "pending": "9.94", "available": "0.00",
                   "reserved": "120.50"})
        );
        assert_eq!(BalanceView::from_fields(fields).unwrap(), view);
        let asked = QueryBalance::parse(&Map::new(), 0).unwrap();
        assert_eq!(asked.currency, Currency::Cny);
        let refused = QueryBalance::parse(json!({"currency": "EUR"}).as_object().unwrap(), 0);
        assert_eq!(refused.unwrap_err().field, "currency");
    }
}
