//! A refund as the API shows it: the answer to refund and refund query, and the body of the
//! refund notification. Written by the server with `to_fields`, read by the client with
//! `from_fields`.

use crate::envelope::success_schema;
use crate::field;
use crate::fields::{balance, format_time, insert_opt, serde_via_fields, Answer};
use crate::schema::{enum_prop, opt_text_prop, text_prop, values};
use crate::DecodeError;
use chrono::{DateTime, Utc};
use paygate_domain::{
    MerchantId, Money, OrderRecord, OutRefundNo, OutTradeNo, RefundNo, RefundRecord, RefundStatus,
    TradeNo,
};
use serde_json::{Map, Value};
use std::borrow::Cow;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::RefOr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundView {
    /// Always sent; optional only so an old or partial body still reads.
    pub merchant_id: Option<MerchantId>,
    pub refund_no: RefundNo,
    pub out_refund_no: OutRefundNo,
    pub trade_no: TradeNo,
    pub out_trade_no: OutTradeNo,
    /// `refund_amount` in `currency` (CNY when the body names none).
    pub refund_amount: Money,
    pub refund_status: RefundStatus,
    pub refund_reason: Option<String>,
    /// When the refund reached a final state.
    pub success_time: Option<DateTime<Utc>>,
    /// The whole verified body as received; empty when the refund was built to be sent.
    pub raw: Map<String, Value>,
}

impl RefundView {
    /// A refund of `order` as the API shows it.
    pub fn of(refund: &RefundRecord, order: &OrderRecord) -> RefundView {
        RefundView {
            merchant_id: Some(refund.merchant_id.clone()),
            refund_no: refund.refund_no.clone(),
            out_refund_no: refund.out_refund_no.clone(),
            trade_no: refund.trade_no.clone(),
            out_trade_no: order.out_trade_no.clone(),
            refund_amount: Money::new(refund.amount, refund.currency),
            refund_status: refund.status,
            refund_reason: Some(refund.reason.clone()),
            success_time: refund
                .finished_at_ms
                .and_then(DateTime::from_timestamp_millis),
            raw: Map::new(),
        }
    }

    /// The refund's own fields, without `code`, `msg`, `timestamp` or the signature.
    pub fn to_fields(&self) -> Map<String, Value> {
        let mut view = Map::new();
        if let Some(id) = &self.merchant_id {
            view.insert(field::MERCHANT_ID.into(), id.as_str().into());
        }
        view.insert(field::REFUND_NO.into(), self.refund_no.as_str().into());
        view.insert(
            field::OUT_REFUND_NO.into(),
            self.out_refund_no.as_str().into(),
        );
        view.insert(field::TRADE_NO.into(), self.trade_no.as_str().into());
        view.insert(
            field::OUT_TRADE_NO.into(),
            self.out_trade_no.as_str().into(),
        );
        let amount = self.refund_amount.to_major_string();
        view.insert(field::REFUND_AMOUNT.into(), amount.into());
        view.insert(
            field::CURRENCY.into(),
            self.refund_amount.currency.as_str().into(),
        );
        view.insert(
            field::REFUND_STATUS.into(),
            self.refund_status.as_str().into(),
        );
        insert_opt(
            &mut view,
            field::REFUND_REASON,
            self.refund_reason.as_deref(),
        );
        if let Some(at) = self.success_time {
            view.insert(
                field::SUCCESS_TIME.into(),
                format_time(at.timestamp_millis()).into(),
            );
        }
        view
    }

    /// Reads a body whose signature has already been checked.
    pub fn from_fields(body: Map<String, Value>) -> Result<RefundView, DecodeError> {
        let fields = Answer(&body);
        let currency = fields.currency()?;
        Ok(RefundView {
            merchant_id: fields.parse_opt(field::MERCHANT_ID, MerchantId::parse)?,
            refund_no: fields.parse(field::REFUND_NO, RefundNo::parse)?,
            out_refund_no: fields.parse(field::OUT_REFUND_NO, OutRefundNo::parse)?,
            trade_no: fields.parse(field::TRADE_NO, TradeNo::parse)?,
            out_trade_no: fields.parse(field::OUT_TRADE_NO, OutTradeNo::parse)?,
            refund_amount: fields.parse(field::REFUND_AMOUNT, |t| balance(t, currency))?,
            refund_status: fields.parse(field::REFUND_STATUS, str::parse::<RefundStatus>)?,
            refund_reason: fields.text(field::REFUND_REASON),
            success_time: fields.time_opt(field::SUCCESS_TIME)?,
            raw: body,
        })
    }
}

serde_via_fields!(RefundView);

impl utoipa::PartialSchema for RefundView {
    fn schema() -> RefOr<Schema> {
        let refund_status = values(
            RefundStatus::ALL.map(RefundStatus::as_str),
            "The refund's state.",
        );
        success_schema(vec![
            text_prop(field::MERCHANT_ID, None),
            text_prop(field::REFUND_NO, None),
            text_prop(field::OUT_REFUND_NO, None),
            text_prop(field::TRADE_NO, None),
            text_prop(field::OUT_TRADE_NO, None),
            text_prop(field::REFUND_AMOUNT, None),
            text_prop(field::CURRENCY, None),
            enum_prop(field::REFUND_STATUS, refund_status),
            text_prop(field::REFUND_REASON, None),
            opt_text_prop(field::SUCCESS_TIME, None),
        ])
    }
}

impl utoipa::ToSchema for RefundView {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("RefundResponse")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paygate_domain::Currency;
    use serde_json::json;

    #[test]
    fn a_refund_parses_with_the_default_currency() {
        let body = json!({
            "refund_no": "R20261123123456789abcdefghij", "out_refund_no": "RF-1",
            "trade_no": "P20261123123456789abcdefghij", "out_trade_no": "ORDER-1",
            "refund_amount": "0.5", "refund_status": "SUCCESS", "refund_reason": "damaged",
            "success_time": "1970-01-01T08:00:00+08:00"
        });
        let view = RefundView::from_fields(body.as_object().unwrap().clone()).unwrap();
        assert_eq!(
            view.refund_amount,
            Money::parse("0.50", Currency::Cny).unwrap()
        );
        assert_eq!(view.refund_status, RefundStatus::Success);
        assert_eq!(view.success_time, DateTime::from_timestamp(0, 0));
        assert_eq!(view.refund_reason.as_deref(), Some("damaged"));
        let written = view.to_fields();
        assert_eq!(written["refund_amount"], "0.50");
        assert_eq!(written["success_time"], "1970-01-01T08:00:00+08:00");
    }
}
