//! An order as the API shows it: the answer to create, query and close, and the body of the
//! payment notification. The server writes it with `to_fields`; the client reads it back with
//! `from_fields`, leniently about shape and strictly about meaning.

use crate::envelope::success_schema;
use crate::field;
use crate::fields::{balance, format_time, insert_opt, serde_via_fields, Answer};
use crate::schema::{enum_prop, int_prop, opt_text_prop, text_prop, values};
use crate::split_rules::OrderSplitView;
use crate::DecodeError;
use chrono::{DateTime, Utc};
use paygate_domain::{
    MerchantId, Money, OrderRecord, OrderStatus, OutTradeNo, PayData, PayType, TradeNo,
};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::BTreeMap;
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
    /// The merchant's fee on the payment, snapshotted when it was paid: sent with
    /// `receipt_amount` (for an order paid since fees are snapshotted). Refunds do not change it.
    pub fee_amount: Option<Money>,
    /// What the payment brought the merchant before any refund: `total_amount - fee_amount`,
    /// sent with `fee_amount`.
    pub net_amount: Option<Money>,
    /// The cashier link, while the order is payable.
    pub pay_url: Option<String>,
    /// Sent as Unix seconds; read from seconds or RFC 3339.
    pub expire_time: Option<DateTime<Utc>>,
    /// Sent as RFC 3339 in China Standard Time; read from seconds or RFC 3339.
    pub pay_time: Option<DateTime<Utc>>,
    pub channel_trade_no: Option<String>,
    pub attach: Option<String>,
    /// What the payer's device needs to start a prepared trade, while it is payable: sent as
    /// `code_url` (Native), `h5_url` (H5) or `pay_params` (JSAPI, APP: JSON text of the
    /// parameters the wallet's bridge or SDK is invoked with).
    pub pay_data: Option<PayData>,
    /// The share rules given at create and where they stand; shown by create and query (not
    /// in notifications).
    pub split: Option<OrderSplitView>,
    /// The whole verified body as received, for fields this type does not name; empty when the
    /// order was built to be sent.
    pub raw: Map<String, Value>,
}

/// The names only this answer carries (the rest are shared, in `field`).
pub const CODE_URL: &str = "code_url";
pub const H5_URL: &str = "h5_url";
pub const PAY_PARAMS: &str = "pay_params";
pub const PAY_FORM: &str = "pay_form";

/// The cashier link of an order, under the platform's public URL.
pub fn pay_url(public_url: &str, trade_no: &TradeNo) -> String {
    format!("{public_url}/cashier/{trade_no}")
}

impl Order {
    /// The order as the API shows it; `public_url` is the base of its cashier link.
    pub fn of(order: &OrderRecord, public_url: &str) -> Order {
        let money = |amount| Money::new(amount, order.currency);
        let paid = order.status.is_paid();
        let fee = order.fee.filter(|_| paid);
        let net = fee.map(|fee| {
            order
                .total_amount
                .checked_sub(fee)
                .expect("a fee never exceeds its payment")
        });
        Order {
            merchant_id: Some(order.merchant_id.clone()),
            trade_no: order.trade_no.clone(),
            out_trade_no: order.out_trade_no.clone(),
            trade_status: order.status,
            pay_type: Some(order.pay_type),
            subject: Some(order.subject.clone()),
            total_amount: money(order.total_amount),
            receipt_amount: paid.then(|| money(order.total_amount)),
            refunded_amount: paid.then(|| money(order.refunded_amount)),
            fee_amount: fee.map(money),
            net_amount: net.map(money),
            pay_url: order
                .status
                .is_unpaid_open()
                .then(|| pay_url(public_url, &order.trade_no)),
            expire_time: DateTime::from_timestamp_millis(order.expire_at_ms),
            pay_time: order.paid_at_ms.and_then(DateTime::from_timestamp_millis),
            channel_trade_no: order.channel_trade_no.clone(),
            attach: order.attach.clone(),
            pay_data: order
                .status
                .is_unpaid_open()
                .then(|| order.pay_data.clone())
                .flatten(),
            split: None,
            raw: Map::new(),
        }
    }

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
        if let Some(fee) = self.fee_amount {
            view.insert(field::FEE_AMOUNT.into(), money(fee));
        }
        if let Some(net) = self.net_amount {
            view.insert(field::NET_AMOUNT.into(), money(net));
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
        match &self.pay_data {
            Some(PayData::CodeUrl(url)) => view.insert(CODE_URL.into(), url.as_str().into()),
            Some(PayData::RedirectUrl(url)) => view.insert(H5_URL.into(), url.as_str().into()),
            Some(PayData::Params(params)) => view.insert(
                PAY_PARAMS.into(),
                serde_json::to_string(params)
                    .expect("string pairs serialize")
                    .into(),
            ),
            Some(form @ PayData::Form { .. }) => view.insert(
                PAY_FORM.into(),
                serde_json::to_string(&FormView::of(form))
                    .expect("string pairs serialize")
                    .into(),
            ),
            None => None,
        };
        if let Some(split) = &self.split {
            split.insert_into(&mut view, self.total_amount.currency);
        }
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
            fee_amount: fields.parse_opt(field::FEE_AMOUNT, |t| balance(t, currency))?,
            net_amount: fields.parse_opt(field::NET_AMOUNT, |t| balance(t, currency))?,
            pay_url: fields.text(field::PAY_URL),
            expire_time: fields.time_opt(field::EXPIRE_TIME)?,
            pay_time: fields.time_opt(field::PAY_TIME)?,
            channel_trade_no: fields.text(field::CHANNEL_TRADE_NO),
            attach: fields.text(field::ATTACH),
            pay_data: pay_data(&fields)?,
            split: OrderSplitView::read(&fields, currency)?,
            raw: body,
        })
    }
}

/// `pay_form` on the wire: the form's target and its fields, to post from the payer's browser.
#[derive(serde::Serialize, serde::Deserialize)]
struct FormView {
    action: String,
    fields: BTreeMap<String, String>,
}

impl FormView {
    fn of(data: &PayData) -> FormView {
        match data {
            PayData::Form { action, fields } => FormView {
                action: action.clone(),
                fields: fields.clone(),
            },
            _ => unreachable!("only a form is shown as pay_form"),
        }
    }
}

/// Whichever of `code_url`, `h5_url`, `pay_form` and `pay_params` the answer carries.
fn pay_data(fields: &Answer<'_>) -> Result<Option<PayData>, DecodeError> {
    if let Some(url) = fields.text(CODE_URL) {
        return Ok(Some(PayData::CodeUrl(url)));
    }
    if let Some(url) = fields.text(H5_URL) {
        return Ok(Some(PayData::RedirectUrl(url)));
    }
    if let Some(form) = fields.parse_opt(PAY_FORM, |text| {
        serde_json::from_str::<FormView>(text)
            .map(|f| PayData::Form {
                action: f.action,
                fields: f.fields,
            })
            .map_err(|e| e.to_string())
    })? {
        return Ok(Some(form));
    }
    fields.parse_opt(PAY_PARAMS, |text| {
        serde_json::from_str::<BTreeMap<String, String>>(text)
            .map(PayData::Params)
            .map_err(|e| e.to_string())
    })
}

serde_via_fields!(Order);

impl utoipa::PartialSchema for Order {
    fn schema() -> RefOr<Schema> {
        let trade_status = values(
            OrderStatus::ALL.map(OrderStatus::as_str),
            "The order's state.",
        );
        let mut properties = vec![
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
                field::FEE_AMOUNT,
                Some(
                    "The merchant's fee on the payment (its rate for the pay type plus any fixed \
                     part), fixed when the order was paid; refunds do not change it. Sent with \
                     receipt_amount, in yuan like every amount.",
                ),
            ),
            opt_text_prop(
                field::NET_AMOUNT,
                Some(
                    "total_amount - fee_amount: what the payment brought the merchant before any \
                     refund. Sent with fee_amount.",
                ),
            ),
            opt_text_prop(
                field::PAY_URL,
                Some("The cashier link, while the order is payable."),
            ),
            int_prop(field::EXPIRE_TIME, None),
            opt_text_prop(field::PAY_TIME, Some("RFC 3339, China Standard Time.")),
            opt_text_prop(field::CHANNEL_TRADE_NO, None),
            opt_text_prop(field::ATTACH, None),
            opt_text_prop(
                CODE_URL,
                Some(
                    "wechat_native, alipay_native, unionpay_native, auto (scene native): the QR \
                     code's content, while the order is payable.",
                ),
            ),
            opt_text_prop(
                H5_URL,
                Some(
                    "wechat_h5, alipay_h5, alipay_pc: where to send the payer's browser, while \
                     the order is payable.",
                ),
            ),
            opt_text_prop(
                PAY_FORM,
                Some(
                    "unionpay_web, unionpay_h5: JSON text {\"action\": URL, \"fields\": {...}} \
                     of the signed form the payer's browser posts (auto-submitted) to the \
                     channel's payment page, while the order is payable.",
                ),
            ),
            opt_text_prop(
                PAY_PARAMS,
                Some(
                    "wechat_jsapi, wechat_app, alipay_jsapi, alipay_app, unionpay_app: JSON \
                     text of the signed parameters to invoke the wallet's JS bridge (WeChat: \
                     appId, timeStamp, nonceStr, package, signType, paySign; Alipay: tradeNO) or \
                     app SDK (WeChat: appid, partnerid, prepayid, package, noncestr, timestamp, \
                     sign; Alipay: order_string; UnionPay: tn) with, while the order is payable.",
                ),
            ),
        ];
        properties.extend(crate::split_rules::answer_properties());
        success_schema(properties)
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
