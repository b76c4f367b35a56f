//! An order as the API shows it: the answer to create, query and close, and the body of the
//! payment notification. The server writes it with `to_fields`; the client reads it back with
//! `from_fields`, leniently about shape and strictly about meaning.

use crate::envelope::success_schema;
use crate::field;
use crate::fields::{balance, format_time, insert_opt, serde_via_fields, Answer};
use crate::schema::{enum_prop, int_prop, opt_text_prop, text_prop, values};
use crate::DecodeError;
use chrono::{DateTime, Utc};
use paygate_domain::{MerchantId, Money, OrderStatus, OutTradeNo, PayType, TradeNo};
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
            view.insert(field::MERCHANT_ID.into(), id.as_str().into());
        }
        view.insert(field::TRADE_NO.into(), self.trade_no.as_str().into());
        view.insert(
            field::OUT_TRADE_NO.into(),
            self.out_trade_no.as_str().into(),
        );
        view.insert(
            field::TRADE_STATUS.into(),
            self.trade_status.as_str().into(),
        );
        insert_opt(
            &mut view,
            field::PAY_TYPE,
            self.pay_type.map(PayType::as_str),
        );
        insert_opt(&mut view, field::SUBJECT, self.subject.as_deref());
        view.insert(field::TOTAL_AMOUNT.into(), money(self.total_amount));
        view.insert(
            field::CURRENCY.into(),
            self.total_amount.currency.as_str().into(),
        );
        if let Some(receipt) = self.receipt_amount {
            view.insert(field::RECEIPT_AMOUNT.into(), money(receipt));
        }
        if let Some(refunded) = self.refunded_amount {
            view.insert(field::REFUNDED_AMOUNT.into(), money(refunded));
        }
        insert_opt(&mut view, field::PAY_URL, self.pay_url.as_deref());
        if let Some(at) = self.expire_time {
            view.insert(field::EXPIRE_TIME.into(), at.timestamp().into());
        }
        if let Some(at) = self.pay_time {
            view.insert(
                field::PAY_TIME.into(),
                format_time(at.timestamp_millis()).into(),
            );
        }
        insert_opt(
            &mut view,
            field::CHANNEL_TRADE_NO,
            self.channel_trade_no.as_deref(),
        );
        insert_opt(&mut view, field::ATTACH, self.attach.as_deref());
        view
    }

    /// Reads a body whose signature has already been checked.
    pub fn from_fields(body: Map<String, Value>) -> Result<Order, DecodeError> {
        let fields = Answer(&body);
        let currency = fields.currency()?;
        Ok(Order {
            merchant_id: fields.parse_opt(field::MERCHANT_ID, MerchantId::parse)?,
            trade_no: fields.parse(field::TRADE_NO, TradeNo::parse)?,
            out_trade_no: fields.parse(field::OUT_TRADE_NO, OutTradeNo::parse)?,
            trade_status: fields.parse(field::TRADE_STATUS, str::parse::<OrderStatus>)?,
            pay_type: fields.parse_opt(field::PAY_TYPE, str::parse::<PayType>)?,
            subject: fields.text(field::SUBJECT),
            total_amount: fields.parse(field::TOTAL_AMOUNT, |t| balance(t, currency))?,
            receipt_amount: fields.parse_opt(field::RECEIPT_AMOUNT, |t| balance(t, currency))?,
            refunded_amount: fields.parse_opt(field::REFUNDED_AMOUNT, |t| balance(t, currency))?,
            pay_url: fields.text(field::PAY_URL),
            expire_time: fields.time_opt(field::EXPIRE_TIME)?,
            pay_time: fields.time_opt(field::PAY_TIME)?,
            channel_trade_no: fields.text(field::CHANNEL_TRADE_NO),
            attach: fields.text(field::ATTACH),
            raw: body,
        })
    }
}

serde_via_fields!(Order);

impl utoipa::PartialSchema for Order {
    fn schema() -> RefOr<Schema> {
        let trade_status = values(
            OrderStatus::ALL.map(OrderStatus::as_str),
            "The order's state.",
        );
        success_schema(vec![
            text_prop(field::MERCHANT_ID, None),
            text_prop(field::TRADE_NO, None),
            text_prop(field::OUT_TRADE_NO, None),
            enum_prop(field::TRADE_STATUS, trade_status),
            text_prop(field::PAY_TYPE, None),
            text_prop(field::SUBJECT, None),
            text_prop(field::TOTAL_AMOUNT, None),
            text_prop(field::CURRENCY, None),
            opt_text_prop(field::RECEIPT_AMOUNT, None),
            opt_text_prop(field::REFUNDED_AMOUNT, None),
            opt_text_prop(
                field::PAY_URL,
                Some("The cashier link, while the order is payable."),
            ),
            int_prop(field::EXPIRE_TIME, None),
            opt_text_prop(field::PAY_TIME, Some("RFC 3339, China Standard Time.")),
            opt_text_prop(field::CHANNEL_TRADE_NO, None),
            opt_text_prop(field::ATTACH, None),
        ])
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
