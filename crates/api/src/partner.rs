//! `POST /api/partner/order-status` (issue #10): the partner reports an order's fulfilment,
//! the user's receipt or its after-sale close, and the answer shows where the order stands.

use crate::envelope::success_schema;
use crate::field;
use crate::fields::{serde_via_fields, Answer, Fields};
use crate::order_ref::{names_an_order, order_ref_fields, OrderRef};
use crate::schema::{enum_prop, object, request_schema, text_prop, values};
use crate::{paths, ApiRequest, DecodeError, FieldError};
use paygate_domain::{OrderRecord, OrderStatus, OutTradeNo, PartnerStatus, TradeNo};
use serde_json::{Map, Value};
use std::borrow::Cow;
use utoipa::openapi::schema::{
    AllOfBuilder, KnownFormat, ObjectBuilder, OneOfBuilder, Ref, Schema, SchemaFormat, Type,
};
use utoipa::openapi::RefOr;

pub const PARTNER_STATUS: &str = "partner_status";
pub const STATUS_TIME: &str = "status_time";

/// The steps a partner may report; `NONE` is where every order starts, never a report.
const REPORTABLE: [PartnerStatus; 3] = [
    PartnerStatus::Fulfilled,
    PartnerStatus::Received,
    PartnerStatus::AfterSaleClosed,
];

/// A partner's report on one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerOrderStatus {
    pub order: OrderRef,
    pub partner_status: PartnerStatus,
    /// When it happened at the partner, in Unix seconds.
    pub status_time: Option<i64>,
}

impl ApiRequest for PartnerOrderStatus {
    const PATH: &'static str = paths::PARTNER_ORDER_STATUS;

    fn parse(fields: &Map<String, Value>, _now_secs: i64) -> Result<Self, FieldError> {
        let f = Fields(fields);
        let order = OrderRef::read(&f)?;
        let partner_status = f
            .required(PARTNER_STATUS, 32)?
            .parse::<PartnerStatus>()
            .ok()
            .filter(|status| REPORTABLE.contains(status))
            .ok_or_else(|| {
                FieldError::new(
                    PARTNER_STATUS,
                    "must be FULFILLED, RECEIVED or AFTER_SALE_CLOSED",
                )
            })?;
        let status_time = f.integer(STATUS_TIME)?;
        if status_time.is_some_and(|secs| secs < 0) {
            return Err(FieldError::new(STATUS_TIME, "must not be negative"));
        }
        Ok(PartnerOrderStatus {
            order,
            partner_status,
            status_time,
        })
    }

    fn to_fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        self.order.insert_into(&mut fields);
        fields.insert(PARTNER_STATUS.into(), self.partner_status.as_str().into());
        if let Some(secs) = self.status_time {
            fields.insert(STATUS_TIME.into(), secs.into());
        }
        fields
    }
}

/// Unix seconds, as an integer or at most 18 digits (both always fit the server's integer).
fn status_time_schema() -> RefOr<Schema> {
    let integer = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(0));
    let digits = crate::schema::string("^[0-9]{1,18}$", (1, 18), "the same, as decimal digits");
    OneOfBuilder::new()
        .item(integer)
        .item(digits)
        .description(Some("When it happened at the partner, in Unix seconds."))
        .into()
}

request_schema!(
    PartnerOrderStatus,
    "PartnerOrderStatusRequest",
    [crate::envelope::SignedFields],
    AllOfBuilder::new()
        .item(Ref::from_schema_name("SignedFields"))
        .item({
            let mut properties = order_ref_fields();
            properties.push((
                PARTNER_STATUS,
                values(
                    REPORTABLE.map(PartnerStatus::as_str),
                    "The step the partner reports.",
                )
                .into(),
            ));
            properties.push((STATUS_TIME, status_time_schema()));
            object(properties, &[PARTNER_STATUS])
        })
        .item(names_an_order())
        .into()
);

/// Where an order stands after a partner's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerOrderView {
    pub trade_no: TradeNo,
    pub out_trade_no: OutTradeNo,
    pub trade_status: OrderStatus,
    pub partner_status: PartnerStatus,
}

impl PartnerOrderView {
    pub fn of(order: &OrderRecord, partner_status: PartnerStatus) -> PartnerOrderView {
        PartnerOrderView {
            trade_no: order.trade_no.clone(),
            out_trade_no: order.out_trade_no.clone(),
            trade_status: order.status,
            partner_status,
        }
    }

    /// The answer's own fields, without `code`, `msg`, `timestamp` or the signature.
    pub fn to_fields(&self) -> Map<String, Value> {
        let mut view = Map::new();
        view.insert(field::TRADE_NO.into(), self.trade_no.as_str().into());
        let out_trade_no = self.out_trade_no.as_str();
        view.insert(field::OUT_TRADE_NO.into(), out_trade_no.into());
        view.insert(
            field::TRADE_STATUS.into(),
            self.trade_status.as_str().into(),
        );
        view.insert(PARTNER_STATUS.into(), self.partner_status.as_str().into());
        view
    }

    /// Reads a body whose signature has already been checked.
    pub fn from_fields(body: Map<String, Value>) -> Result<PartnerOrderView, DecodeError> {
        let fields = Answer(&body);
        Ok(PartnerOrderView {
            trade_no: fields.parse(field::TRADE_NO, TradeNo::parse)?,
            out_trade_no: fields.parse(field::OUT_TRADE_NO, OutTradeNo::parse)?,
            trade_status: fields.parse(field::TRADE_STATUS, str::parse::<OrderStatus>)?,
            partner_status: fields.parse(PARTNER_STATUS, str::parse::<PartnerStatus>)?,
        })
    }
}

serde_via_fields!(PartnerOrderView);

impl utoipa::PartialSchema for PartnerOrderView {
    fn schema() -> RefOr<Schema> {
        success_schema(vec![
            text_prop(field::TRADE_NO, None),
            text_prop(field::OUT_TRADE_NO, None),
            enum_prop(
                field::TRADE_STATUS,
                values(
                    OrderStatus::ALL.map(OrderStatus::as_str),
                    "The order's state.",
                ),
            ),
            enum_prop(
                PARTNER_STATUS,
                values(
                    PartnerStatus::ALL.map(PartnerStatus::as_str),
                    "The last step the partner reported.",
                ),
            ),
        ])
    }
}

impl utoipa::ToSchema for PartnerOrderView {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("PartnerOrderStatusResponse")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(body: Value) -> Result<PartnerOrderStatus, FieldError> {
        PartnerOrderStatus::parse(body.as_object().unwrap(), 0)
    }

    #[test]
    fn a_report_round_trips_through_the_wire() {
        let report = PartnerOrderStatus {
            order: OrderRef::OutTradeNo(OutTradeNo::parse("ORDER-1").unwrap()),
            partner_status: PartnerStatus::Received,
            status_time: Some(1_795_000_000),
        };
        let fields = report.to_fields();
        assert_eq!(
            Value::Object(fields.clone()),
            json!({"out_trade_no": "ORDER-1", "partner_status": "RECEIVED",
                   "status_time": 1_795_000_000})
        );
        assert_eq!(PartnerOrderStatus::parse(&fields, 0).unwrap(), report);
        let digits = parse(
            json!({"out_trade_no": "ORDER-1", "partner_status": "RECEIVED",
                                  "status_time": "1795000000"}),
        );
        assert_eq!(digits.unwrap(), report);
    }

    #[test]
    fn unknown_or_unreportable_statuses_are_refused_naming_the_field() {
        for status in ["SHIPPED", "NONE", ""] {
            let refused = parse(json!({"trade_no": "P20261123123456789abcdefghij",
                                       "partner_status": status}))
            .unwrap_err();
            assert_eq!(refused.field, "partner_status", "{status:?}");
        }
        let negative = parse(json!({"out_trade_no": "O-1", "partner_status": "FULFILLED",
                                    "status_time": -1}));
        assert_eq!(negative.unwrap_err().field, "status_time");
    }
}
