//! `POST /api/payment/refund/query`: a refund named by our `refund_no` or the merchant's
//! `out_refund_no`.

use crate::field;
use crate::fields::Fields;
use crate::schema::{object, request_schema, requires, string, OUR_NO, OUT_NO, TEXT_CHARS_MAX_ID};
use crate::{paths, ApiRequest, FieldError};
use paygate_domain::{OutRefundNo, RefundNo};
use serde_json::{Map, Value};
use utoipa::openapi::schema::{AllOfBuilder, AnyOfBuilder, Ref};

/// Exactly one number goes on the wire; `refund_no` (ours) wins when a request gives both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryRefund {
    OutRefundNo(OutRefundNo),
    RefundNo(RefundNo),
}

impl ApiRequest for QueryRefund {
    const PATH: &'static str = paths::REFUND_QUERY;

    fn parse(fields: &Map<String, Value>, _now_secs: i64) -> Result<QueryRefund, FieldError> {
        let f = Fields(fields);
        if let Some(refund_no) = f.id(field::REFUND_NO, RefundNo::parse)? {
            return Ok(QueryRefund::RefundNo(refund_no));
        }
        f.id(field::OUT_REFUND_NO, OutRefundNo::parse)?
            .map(QueryRefund::OutRefundNo)
            .ok_or_else(|| {
                FieldError::new(
                    field::OUT_REFUND_NO,
                    "out_refund_no or refund_no is required",
                )
            })
    }

    fn to_fields(&self) -> Map<String, Value> {
        let (key, value) = match self {
            QueryRefund::OutRefundNo(no) => (field::OUT_REFUND_NO, no.as_str()),
            QueryRefund::RefundNo(no) => (field::REFUND_NO, no.as_str()),
        };
        let mut fields = Map::new();
        fields.insert(key.into(), value.into());
        fields
    }
}

request_schema!(
    QueryRefund,
    "RefundRefRequest",
    [crate::envelope::SignedFields],
    AllOfBuilder::new()
        .item(Ref::from_schema_name("SignedFields"))
        .item(object(
            vec![
                (
                    field::REFUND_NO,
                    string(
                        OUR_NO,
                        (8, 32),
                        "Our refund number; wins when both are given."
                    )
                    .into(),
                ),
                (
                    field::OUT_REFUND_NO,
                    string(
                        OUT_NO,
                        (1, TEXT_CHARS_MAX_ID),
                        "The merchant's refund number."
                    )
                    .into(),
                ),
            ],
            &[],
        ))
        .item(
            AnyOfBuilder::new()
                .item(requires(field::REFUND_NO))
                .item(requires(field::OUT_REFUND_NO)),
        )
        .into()
);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_refund_is_queried_by_exactly_one_number() {
        let by_out = QueryRefund::OutRefundNo(OutRefundNo::parse("RF-1").unwrap());
        let fields = by_out.to_fields();
        assert_eq!(
            Value::Object(fields.clone()),
            json!({"out_refund_no": "RF-1"})
        );
        assert_eq!(QueryRefund::parse(&fields, 0), Ok(by_out));
        let by_ours = QueryRefund::RefundNo(RefundNo::mint(1_795_000_000_000));
        let fields = by_ours.to_fields();
        assert_eq!(fields.keys().collect::<Vec<_>>(), ["refund_no"]);
        assert_eq!(QueryRefund::parse(&fields, 0), Ok(by_ours));
    }
}
