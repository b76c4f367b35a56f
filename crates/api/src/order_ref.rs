//! `POST /api/payment/query` and `POST /api/payment/close`: each names an order and nothing
//! else, by our `trade_no` or the merchant's `out_trade_no`.

use crate::field;
use crate::fields::Fields;
use crate::schema::{object, request_schema, requires, string, OUR_NO, OUT_NO, TEXT_CHARS_MAX_ID};
use crate::{paths, ApiRequest, FieldError};
use paygate_domain::{OutTradeNo, TradeNo};
use serde_json::{Map, Value};
use utoipa::openapi::schema::{AllOfBuilder, AnyOfBuilder, Ref, Schema};
use utoipa::openapi::RefOr;

/// How a merchant names an order: its own number or ours. Exactly one goes on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderRef {
    OutTradeNo(OutTradeNo),
    TradeNo(TradeNo),
}

impl OrderRef {
    /// `trade_no` (ours) wins over `out_trade_no` when both are given.
    pub(crate) fn read(f: &Fields<'_>) -> Result<OrderRef, FieldError> {
        if let Some(trade_no) = f.id(field::TRADE_NO, TradeNo::parse)? {
            return Ok(OrderRef::TradeNo(trade_no));
        }
        f.id(field::OUT_TRADE_NO, OutTradeNo::parse)?
            .map(OrderRef::OutTradeNo)
            .ok_or_else(|| {
                FieldError::new(field::OUT_TRADE_NO, "out_trade_no or trade_no is required")
            })
    }

    /// The wire name of the number this names the order by.
    pub fn field(&self) -> &'static str {
        match self {
            OrderRef::OutTradeNo(_) => field::OUT_TRADE_NO,
            OrderRef::TradeNo(_) => field::TRADE_NO,
        }
    }

    pub(crate) fn insert_into(&self, fields: &mut Map<String, Value>) {
        let value = match self {
            OrderRef::OutTradeNo(no) => no.as_str(),
            OrderRef::TradeNo(no) => no.as_str(),
        };
        fields.insert(self.field().into(), value.into());
    }
}

impl From<OutTradeNo> for OrderRef {
    fn from(no: OutTradeNo) -> OrderRef {
        OrderRef::OutTradeNo(no)
    }
}

impl From<TradeNo> for OrderRef {
    fn from(no: TradeNo) -> OrderRef {
        OrderRef::TradeNo(no)
    }
}

/// `POST /api/payment/query`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryOrder {
    pub order: OrderRef,
}

/// `POST /api/payment/close`: closes an unpaid order; a paid one answers 1004.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseOrder {
    pub order: OrderRef,
}

macro_rules! names_an_order {
    ($request:ident, $path:expr) => {
        impl From<OrderRef> for $request {
            fn from(order: OrderRef) -> $request {
                $request { order }
            }
        }

        impl ApiRequest for $request {
            const PATH: &'static str = $path;

            fn parse(fields: &Map<String, Value>, _now_secs: i64) -> Result<Self, FieldError> {
                OrderRef::read(&Fields(fields)).map(Self::from)
            }

            fn to_fields(&self) -> Map<String, Value> {
                let mut fields = Map::new();
                self.order.insert_into(&mut fields);
                fields
            }
        }
    };
}

names_an_order!(QueryOrder, paths::QUERY);
names_an_order!(CloseOrder, paths::CLOSE);

pub(crate) fn order_ref_fields() -> Vec<(&'static str, RefOr<Schema>)> {
    vec![
        (
            field::TRADE_NO,
            string(
                OUR_NO,
                (8, 32),
                "Our trade number; wins when both are given.",
            )
            .into(),
        ),
        (
            field::OUT_TRADE_NO,
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
pub(crate) fn names_an_order() -> Schema {
    AnyOfBuilder::new()
        .item(requires(field::TRADE_NO))
        .item(requires(field::OUT_TRADE_NO))
        .into()
}

/// The schema of query and close: name an order by `trade_no` (preferred) or `out_trade_no`.
pub struct OrderRefRequest;

request_schema!(
    OrderRefRequest,
    "OrderRefRequest",
    [crate::envelope::SignedFields],
    AllOfBuilder::new()
        .item(Ref::from_schema_name("SignedFields"))
        .item(object(order_ref_fields(), &[]))
        .item(names_an_order())
        .into()
);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_order_is_named_by_exactly_one_number_and_ours_wins() {
        let out = OrderRef::OutTradeNo(OutTradeNo::parse("ORDER-1").unwrap());
        let query = QueryOrder::from(out.clone()).to_fields();
        assert_eq!(
            Value::Object(query.clone()),
            json!({"out_trade_no": "ORDER-1"})
        );
        assert_eq!(QueryOrder::parse(&query, 0).unwrap().order, out);
        let ours = OrderRef::TradeNo(TradeNo::mint(1_795_000_000_000));
        let close = CloseOrder::from(ours.clone()).to_fields();
        assert_eq!(close.keys().collect::<Vec<_>>(), ["trade_no"]);
        let mut both = close.clone();
        both.insert("out_trade_no".into(), "ORDER-1".into());
        assert_eq!(CloseOrder::parse(&both, 0).unwrap().order, ours);
    }

    #[test]
    fn naming_no_order_is_refused_naming_out_trade_no() {
        let refused = QueryOrder::parse(&Map::new(), 0).unwrap_err();
        assert_eq!(refused.field, "out_trade_no");
    }
}
