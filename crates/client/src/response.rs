//! Verified response bodies parsed into domain types. Parsing is lenient about shape (unknown
//! fields are ignored, numbers may come as text and back, empty text counts as absent) and strict
//! about meaning: an id, status or amount that does not parse is an error, never a default.

use crate::ClientError;
use chrono::{DateTime, Utc};
use paygate_domain::{
    Amount, AmountError, Currency, Money, OrderStatus, OutRefundNo, OutTradeNo, RefundNo,
    RefundStatus, TradeNo,
};
use serde_json::{Map, Value};
use std::fmt::Display;

/// An order as the API shows it (create, query, and the payment notification).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderView {
    pub trade_no: TradeNo,
    pub out_trade_no: OutTradeNo,
    pub trade_status: OrderStatus,
    /// `total_amount` in `currency` (CNY when the body names none, the API's default).
    pub total_amount: Money,
    pub pay_url: Option<String>,
    pub receipt_amount: Option<Money>,
    pub refunded_amount: Option<Money>,
    /// Times arrive as RFC 3339 or Unix seconds; both read as UTC instants.
    pub pay_time: Option<DateTime<Utc>>,
    pub expire_time: Option<DateTime<Utc>>,
    pub attach: Option<String>,
    /// The whole verified body, for fields this view does not type.
    pub raw: Map<String, Value>,
}

/// A refund as the API shows it (refund, refund query, and the refund notification).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundView {
    pub refund_no: RefundNo,
    pub out_refund_no: OutRefundNo,
    pub trade_no: TradeNo,
    pub out_trade_no: OutTradeNo,
    pub refund_amount: Money,
    pub refund_status: RefundStatus,
    pub refund_reason: Option<String>,
    /// When the refund reached a final state.
    pub success_time: Option<DateTime<Utc>>,
    /// The whole verified body, for fields this view does not type.
    pub raw: Map<String, Value>,
}

impl OrderView {
    /// Parses a body whose signature has already been checked.
    pub fn from_fields(body: Map<String, Value>) -> Result<OrderView, ClientError> {
        let fields = Fields(&body);
        let currency = fields.currency()?;
        Ok(OrderView {
            trade_no: fields.parse("trade_no", TradeNo::parse)?,
            out_trade_no: fields.parse("out_trade_no", OutTradeNo::parse)?,
            trade_status: fields.parse("trade_status", str::parse::<OrderStatus>)?,
            total_amount: fields.parse("total_amount", |t| money(t, currency))?,
            pay_url: fields.text("pay_url"),
            receipt_amount: fields.parse_opt("receipt_amount", |t| money(t, currency))?,
            refunded_amount: fields.parse_opt("refunded_amount", |t| money(t, currency))?,
            pay_time: fields.time_opt("pay_time")?,
            expire_time: fields.time_opt("expire_time")?,
            attach: fields.text("attach"),
            raw: body,
        })
    }
}

impl RefundView {
    /// Parses a body whose signature has already been checked.
    pub fn from_fields(body: Map<String, Value>) -> Result<RefundView, ClientError> {
        let fields = Fields(&body);
        let currency = fields.currency()?;
        Ok(RefundView {
            refund_no: fields.parse("refund_no", RefundNo::parse)?,
            out_refund_no: fields.parse("out_refund_no", OutRefundNo::parse)?,
            trade_no: fields.parse("trade_no", TradeNo::parse)?,
            out_trade_no: fields.parse("out_trade_no", OutTradeNo::parse)?,
            refund_amount: fields.parse("refund_amount", |t| money(t, currency))?,
            refund_status: fields.parse("refund_status", str::parse::<RefundStatus>)?,
            refund_reason: fields.text("refund_reason"),
            success_time: fields.time_opt("success_time")?,
            raw: body,
        })
    }
}

/// Like `Money::parse`, but zero is a valid balance here (`refunded_amount` of an unrefunded
/// order), even though it is never a valid amount to pay.
fn money(text: &str, currency: Currency) -> Result<Money, AmountError> {
    match Money::parse(text, currency) {
        Err(AmountError::NotPositive) => Ok(Money::new(Amount::ZERO, currency)),
        other => other,
    }
}

/// Unix seconds (as a number or digits), or RFC 3339 text.
fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let secs: i64 = text.parse().map_err(|_| "out of range".to_owned())?;
        return DateTime::from_timestamp(secs, 0).ok_or_else(|| "out of range".to_owned());
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| e.to_string())
}

struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    /// A string or integer field as text; absent, null and empty all read as `None`.
    fn text(&self, key: &str) -> Option<String> {
        match self.0.get(key)? {
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    fn parse_opt<T, E: Display>(
        &self,
        key: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<Option<T>, ClientError> {
        self.text(key)
            .map(|text| {
                parse(&text).map_err(|e| ClientError::Decode(format!("{key} = {text:?}: {e}")))
            })
            .transpose()
    }

    fn parse<T, E: Display>(
        &self,
        key: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, ClientError> {
        self.parse_opt(key, parse)?
            .ok_or_else(|| ClientError::Decode(format!("missing field {key}")))
    }

    fn currency(&self) -> Result<Currency, ClientError> {
        Ok(self
            .parse_opt("currency", str::parse::<Currency>)?
            .unwrap_or(Currency::Cny))
    }

    fn time_opt(&self, key: &str) -> Result<Option<DateTime<Utc>>, ClientError> {
        self.parse_opt(key, parse_time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(value: Value) -> Map<String, Value> {
        value.as_object().expect("an object").clone()
    }

    fn paid_order() -> Map<String, Value> {
        obj(json!({
            "code": "SUCCESS", "msg": "OK", "sign_type": "MD5", "sign": "X",
            "trade_no": "P20261123123456789abcdefghij", "out_trade_no": "ORDER-1",
            "trade_status": "SUCCESS", "total_amount": "10.00", "currency": "CNY",
            "pay_url": "", "receipt_amount": "10.00", "refunded_amount": "0.00",
            "pay_time": "2026-11-23T12:34:56+08:00", "expire_time": 1795000000, "attach": "cart=7", "something_new": {"x": 1}
        }))
    }

    #[test]
    fn a_paid_order_parses_into_domain_types() {
        let view = OrderView::from_fields(paid_order()).unwrap();
        assert_eq!(view.trade_no.as_str(), "P20261123123456789abcdefghij");
        assert_eq!(view.trade_status, OrderStatus::Success);
        assert_eq!(
            view.total_amount,
            Money::parse("10", Currency::Cny).unwrap()
        );
        assert_eq!(view.receipt_amount, Some(view.total_amount));
        assert_eq!(view.refunded_amount.map(|m| m.amount), Some(Amount::ZERO));
        assert_eq!(view.pay_url, None, "empty text reads as absent");
        assert_eq!(view.pay_time.map(|t| t.timestamp()), Some(1_795_408_496));
        assert_eq!(view.expire_time, DateTime::from_timestamp(1_795_000_000, 0));
        assert_eq!(view.attach.as_deref(), Some("cart=7"));
        assert!(view.raw.contains_key("something_new"));
    }

    #[test]
    fn an_unpaid_order_needs_only_the_core_fields() {
        let body = obj(json!({
            "trade_no": "P20261123123456789abcdefghij", "out_trade_no": "ORDER-1",
            "trade_status": "WAIT_PAY", "total_amount": "100", "currency": "JPY",
            "pay_time": "1795000000"
        }));
        let view = OrderView::from_fields(body).unwrap();
        assert_eq!(
            view.total_amount,
            Money::parse("100", Currency::Jpy).unwrap()
        );
        assert_eq!(view.receipt_amount, None);
        assert_eq!(view.pay_time, DateTime::from_timestamp(1_795_000_000, 0));
    }

    #[test]
    fn a_malformed_or_missing_field_is_a_decode_error() {
        for (key, value) in [
            ("trade_status", json!("PAID_MAYBE")),
            ("total_amount", json!("1.001")),
            ("currency", json!("XXX")),
            ("pay_time", json!("yesterday")),
            ("trade_no", json!("")),
        ] {
            let mut body = paid_order();
            body.insert(key.into(), value);
            let err = OrderView::from_fields(body).unwrap_err();
            assert!(matches!(err, ClientError::Decode(_)), "{key}: {err:?}");
        }
    }

    #[test]
    fn a_refund_parses_with_the_default_currency() {
        let body = obj(json!({
            "refund_no": "R20261123123456789abcdefghij", "out_refund_no": "RF-1",
            "trade_no": "P20261123123456789abcdefghij", "out_trade_no": "ORDER-1",
            "refund_amount": "0.5", "refund_status": "SUCCESS", "refund_reason": "damaged",
            "success_time": "1970-01-01T08:00:00+08:00"
        }));
        let view = RefundView::from_fields(body).unwrap();
        assert_eq!(
            view.refund_amount,
            Money::parse("0.50", Currency::Cny).unwrap()
        );
        assert_eq!(view.refund_status, RefundStatus::Success);
        assert_eq!(view.success_time, DateTime::from_timestamp(0, 0));
        assert_eq!(view.refund_reason.as_deref(), Some("damaged"));
    }
}
