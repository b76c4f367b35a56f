//! An order as the API shows it: the answer to create, query and close, and the body of the
//! payment notification. The server writes it with `to_fields`; the client reads it back with
//! `from_fields`, leniently about shape and strictly about meaning.

use crate::envelope::success_properties;
use crate::fields::{balance, format_time, insert_opt, Answer};
use crate::schema::{answer, enum_prop, int_prop, opt_text_prop, text_prop, values};
use crate::DecodeError;
use chrono::{DateTime, Utc};
use paygate_domain::{MerchantId, Money, OrderStatus, OutTradeNo, PayType, TradeNo};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use std::borrow::Cow;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::RefOr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// Always sent; optional only so an old or partial body still reads.
    pub merchant_id: Option<MerchantId>,
    pub trade_no: TradeNo,
    pub out_trade_no: OutTradeNo,
    pub trade_status: OrderStatus,
    pub pay_type: Option<PayType>,
    pub subject: Option<String>,
    /// `total_amount` in `currency` (CNY when the body names none, the API's default).
    pub total_amount: Money,
    /// Sent once the order is paid, with `refunded_amount`.
    pub receipt_amount: Option<Money>,
    pub refunded_amount: Option<Money>,
    /// The cashier link, while the order is payable.
    pub pay_url: Option<String>,
    /// Sent as Unix seconds; read from seconds or RFC 3339.
    pub expire_time: Option<DateTime<Utc>>,
    /// Sent as RFC 3339 in China Standard Time; read from seconds or RFC 3339.
    pub pay_time: Option<DateTime<Utc>>,
    pub channel_trade_no: Option<String>,
    pub attach: Option<String>,
    /// The whole verified body as received, for fields this type does not name; empty when the
    /// order was built to be sent.
    pub raw: Map<String, Value>,
}

impl Order {
    /// The order's own fields, without `code`, `msg`, `timestamp` or the signature.
    pub fn to_fields(&self) -> Map<String, Value> {
        let money = |m: Money| Value::from(m.to_major_string());
        let mut view = Map::new();
        if let Some(id) = &self.merchant_id {
            view.insert("merchant_id".into(), id.as_str().into());
        }
        view.insert("trade_no".into(), self.trade_no.as_str().into());
        view.insert("out_trade_no".into(), self.out_trade_no.as_str().into());
        view.insert("trade_status".into(), self.trade_status.as_str().into());
        insert_opt(&mut view, "pay_type", self.pay_type.map(PayType::as_str));
        insert_opt(&mut view, "subject", self.subject.as_deref());
        view.insert("total_amount".into(), money(self.total_amount));
        view.insert(
            "currency".into(),
            self.total_amount.currency.as_str().into(),
        );
        if let Some(receipt) = self.receipt_amount {
            view.insert("receipt_amount".into(), money(receipt));
        }
        if let Some(refunded) = self.refunded_amount {
            view.insert("refunded_amount".into(), money(refunded));
        }
        insert_opt(&mut view, "pay_url", self.pay_url.as_deref());
        if let Some(at) = self.expire_time {
            view.insert("expire_time".into(), at.timestamp().into());
        }
        if let Some(at) = self.pay_time {
            view.insert("pay_time".into(), format_time(at.timestamp_millis()).into());
        }
        insert_opt(
            &mut view,
            "channel_trade_no",
            self.channel_trade_no.as_deref(),
        );
        insert_opt(&mut view, "attach", self.attach.as_deref());
        view
    }

    /// Reads a body whose signature has already been checked.
    pub fn from_fields(body: Map<String, Value>) -> Result<Order, DecodeError> {
        let fields = Answer(&body);
        let currency = fields.currency()?;
        Ok(Order {
            merchant_id: fields.parse_opt("merchant_id", MerchantId::parse)?,
            trade_no: fields.parse("trade_no", TradeNo::parse)?,
            out_trade_no: fields.parse("out_trade_no", OutTradeNo::parse)?,
            trade_status: fields.parse("trade_status", str::parse::<OrderStatus>)?,
            pay_type: fields.parse_opt("pay_type", str::parse::<PayType>)?,
            subject: fields.text("subject"),
            total_amount: fields.parse("total_amount", |t| balance(t, currency))?,
            receipt_amount: fields.parse_opt("receipt_amount", |t| balance(t, currency))?,
            refunded_amount: fields.parse_opt("refunded_amount", |t| balance(t, currency))?,
            pay_url: fields.text("pay_url"),
            expire_time: fields.time_opt("expire_time")?,
            pay_time: fields.time_opt("pay_time")?,
            channel_trade_no: fields.text("channel_trade_no"),
            attach: fields.text("attach"),
            raw: body,
        })
    }
}

impl Serialize for Order {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_fields().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Order {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Order, D::Error> {
        let body = Map::deserialize(deserializer)?;
        Order::from_fields(body).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for Order {
    fn schema() -> RefOr<Schema> {
        let trade_status = values(
            OrderStatus::ALL.map(OrderStatus::as_str),
            "The order's state.",
        );
        let mut properties = success_properties();
        properties.extend([
            text_prop("merchant_id", None),
            text_prop("trade_no", None),
            text_prop("out_trade_no", None),
            enum_prop("trade_status", trade_status),
            text_prop("pay_type", None),
            text_prop("subject", None),
            text_prop("total_amount", None),
            text_prop("currency", None),
            opt_text_prop("receipt_amount", None),
            opt_text_prop("refunded_amount", None),
            opt_text_prop(
                "pay_url",
                Some("The cashier link, while the order is payable."),
            ),
            int_prop("expire_time", None),
            opt_text_prop("pay_time", Some("RFC 3339, China Standard Time.")),
            opt_text_prop("channel_trade_no", None),
            opt_text_prop("attach", None),
        ]);
        answer(properties, None)
    }
}

impl utoipa::ToSchema for Order {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("OrderResponse")
    }
}

#[cfg(test)]
#[path = "order_tests.rs"]
mod tests;
