//! Typed requests and the flat fields each one puts on the wire (DESIGN §3, §12). The envelope
//! (`merchant_id`, `timestamp`, `nonce`, signature) is added by the client, not here.

use crate::paths;
use chrono::{DateTime, Utc};
use paygate_domain::{
    Money, OutRefundNo, OutTradeNo, PayCode, PayType, RefundNo, TradeNo, WalletAccountId,
};
use serde_json::{Map, Value};

/// A request to one endpoint of the merchant API.
pub trait ApiRequest {
    const PATH: &'static str;

    /// The endpoint's own fields. Absent optional values are left out rather than sent empty,
    /// so the server never has to guess whether `""` means "not given".
    fn to_fields(&self) -> Map<String, Value>;
}

/// How a merchant names an order: its own number or ours. Exactly one goes on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderRef {
    OutTradeNo(OutTradeNo),
    TradeNo(TradeNo),
}

impl OrderRef {
    fn insert_into(&self, fields: &mut Map<String, Value>) {
        let (key, value) = match self {
            OrderRef::OutTradeNo(no) => ("out_trade_no", no.as_str()),
            OrderRef::TradeNo(no) => ("trade_no", no.as_str()),
        };
        fields.insert(key.into(), value.into());
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

fn insert_opt(fields: &mut Map<String, Value>, key: &str, value: Option<&str>) {
    if let Some(text) = value.filter(|t| !t.is_empty()) {
        fields.insert(key.into(), text.into());
    }
}

/// `POST /api/payment/create`. Build with `new` and set optional fields by struct update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOrder {
    pub out_trade_no: OutTradeNo,
    /// Sent as `total_amount` (major-unit decimal text) and `currency`.
    pub amount: Money,
    pub subject: String,
    pub body: Option<String>,
    pub pay_type: PayType,
    pub notify_url: String,
    pub return_url: Option<String>,
    pub attach: Option<String>,
    /// Sent as Unix seconds.
    pub expire_time: Option<DateTime<Utc>>,
    /// A wallet account you know the payer by. Recorded with the order, but it never charges:
    /// without `auth_code` the order waits for the payer (the cashier).
    pub buyer_id: Option<WalletAccountId>,
    /// The payer's one-time pay code (18 digits starting 88, valid 60 s), scanned from the
    /// payer's wallet: with `pay_type = wallet` the order is charged at once.
    pub auth_code: Option<PayCode>,
}

impl CreateOrder {
    /// A wallet order with no optional fields set.
    pub fn new(
        out_trade_no: OutTradeNo,
        amount: Money,
        subject: impl Into<String>,
        notify_url: impl Into<String>,
    ) -> CreateOrder {
        CreateOrder {
            out_trade_no,
            amount,
            subject: subject.into(),
            body: None,
            pay_type: PayType::Wallet,
            notify_url: notify_url.into(),
            return_url: None,
            attach: None,
            expire_time: None,
            buyer_id: None,
            auth_code: None,
        }
    }
}

impl ApiRequest for CreateOrder {
    const PATH: &'static str = paths::CREATE;

    fn to_fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert("out_trade_no".into(), self.out_trade_no.as_str().into());
        fields.insert("total_amount".into(), self.amount.to_major_string().into());
        fields.insert("currency".into(), self.amount.currency.as_str().into());
        fields.insert("subject".into(), self.subject.as_str().into());
        insert_opt(&mut fields, "body", self.body.as_deref());
        fields.insert("pay_type".into(), self.pay_type.as_str().into());
        fields.insert("notify_url".into(), self.notify_url.as_str().into());
        insert_opt(&mut fields, "return_url", self.return_url.as_deref());
        insert_opt(&mut fields, "attach", self.attach.as_deref());
        if let Some(at) = self.expire_time {
            fields.insert("expire_time".into(), at.timestamp().into());
        }
        insert_opt(
            &mut fields,
            "buyer_id",
            self.buyer_id.as_ref().map(WalletAccountId::as_str),
        );
        insert_opt(
            &mut fields,
            "auth_code",
            self.auth_code.as_ref().map(PayCode::as_str),
        );
        fields
    }
}

/// `POST /api/payment/query`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryOrder {
    pub order: OrderRef,
}

impl From<OrderRef> for QueryOrder {
    fn from(order: OrderRef) -> QueryOrder {
        QueryOrder { order }
    }
}

impl ApiRequest for QueryOrder {
    const PATH: &'static str = paths::QUERY;

    fn to_fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        self.order.insert_into(&mut fields);
        fields
    }
}

/// `POST /api/payment/close`: closes an unpaid order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseOrder {
    pub order: OrderRef,
}

impl From<OrderRef> for CloseOrder {
    fn from(order: OrderRef) -> CloseOrder {
        CloseOrder { order }
    }
}

impl ApiRequest for CloseOrder {
    const PATH: &'static str = paths::CLOSE;

    fn to_fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        self.order.insert_into(&mut fields);
        fields
    }
}

/// `POST /api/payment/refund`. `out_refund_no` is the idempotency key of the refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub order: OrderRef,
    pub out_refund_no: OutRefundNo,
    /// Sent as `refund_amount` only: the order fixes the currency.
    pub refund_amount: Money,
    /// Required by the gateway, shown to the payer; at most 256 characters.
    pub refund_reason: String,
}

impl ApiRequest for Refund {
    const PATH: &'static str = paths::REFUND;

    fn to_fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        self.order.insert_into(&mut fields);
        fields.insert("out_refund_no".into(), self.out_refund_no.as_str().into());
        fields.insert(
            "refund_amount".into(),
            self.refund_amount.to_major_string().into(),
        );
        insert_opt(
            &mut fields,
            "refund_reason",
            Some(self.refund_reason.as_str()),
        );
        fields
    }
}

/// `POST /api/payment/refund/query`, naming the refund by the merchant's number or ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryRefund {
    OutRefundNo(OutRefundNo),
    RefundNo(RefundNo),
}

impl ApiRequest for QueryRefund {
    const PATH: &'static str = paths::REFUND_QUERY;

    fn to_fields(&self) -> Map<String, Value> {
        let (key, value) = match self {
            QueryRefund::OutRefundNo(no) => ("out_refund_no", no.as_str()),
            QueryRefund::RefundNo(no) => ("refund_no", no.as_str()),
        };
        let mut fields = Map::new();
        fields.insert(key.into(), value.into());
        fields
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paygate_domain::Currency;
    use serde_json::json;

    fn yuan(text: &str) -> Money {
        Money::parse(text, Currency::Cny).unwrap()
    }

    fn minimal_order() -> CreateOrder {
        CreateOrder::new(
            OutTradeNo::parse("ORDER-1").unwrap(),
            yuan("0.01"),
            "A pen",
            "http://127.0.0.1:9/notify",
        )
    }

    fn keys(fields: &Map<String, Value>) -> Vec<&str> {
        let mut keys: Vec<&str> = fields.keys().map(String::as_str).collect();
        keys.sort_unstable();
        keys
    }

    #[test]
    fn create_sends_only_the_fields_that_are_set() {
        let fields = minimal_order().to_fields();
        assert_eq!(
            Value::Object(fields),
            json!({
                "out_trade_no": "ORDER-1", "total_amount": "0.01", "currency": "CNY",
                "subject": "A pen", "pay_type": "wallet", "notify_url": "http://127.0.0.1:9/notify"
            })
        );
    }

    #[test]
    fn create_sends_every_optional_field_when_set_and_empty_text_as_absent() {
        let order = CreateOrder {
            body: Some("blue ink".into()),
            return_url: Some(String::new()),
            attach: Some("cart=7".into()),
            expire_time: DateTime::from_timestamp(1_795_000_000, 0),
            buyer_id: Some(WalletAccountId::parse("W42").unwrap()),
            auth_code: Some(PayCode::parse("880000000000000042").unwrap()),
            ..minimal_order()
        };
        let fields = order.to_fields();
        assert_eq!(fields["expire_time"], json!(1_795_000_000));
        assert_eq!(fields["buyer_id"], "W42");
        assert_eq!(fields["auth_code"], "880000000000000042");
        assert_eq!(
            keys(&fields),
            [
                "attach",
                "auth_code",
                "body",
                "buyer_id",
                "currency",
                "expire_time",
                "notify_url",
                "out_trade_no",
                "pay_type",
                "subject",
                "total_amount"
            ]
        );
    }

    #[test]
    fn amounts_use_the_currency_minor_digits() {
        let order = CreateOrder {
            amount: Money::parse("100", Currency::Jpy).unwrap(),
            ..minimal_order()
        };
        let fields = order.to_fields();
        assert_eq!(
            (&fields["total_amount"], &fields["currency"]),
            (&json!("100"), &json!("JPY"))
        );
        let order = CreateOrder {
            amount: yuan("100.5"),
            ..minimal_order()
        };
        assert_eq!(order.to_fields()["total_amount"], "100.50");
    }

    #[test]
    fn an_order_is_named_by_exactly_one_number() {
        let out = OrderRef::OutTradeNo(OutTradeNo::parse("ORDER-1").unwrap());
        let ours = OrderRef::TradeNo(TradeNo::mint(1_795_000_000_000));
        let query = QueryOrder::from(out.clone()).to_fields();
        assert_eq!(Value::Object(query), json!({"out_trade_no": "ORDER-1"}));
        let close = CloseOrder::from(ours.clone()).to_fields();
        assert_eq!(keys(&close), ["trade_no"]);
        let refund = Refund {
            order: ours,
            out_refund_no: OutRefundNo::parse("RF-1").unwrap(),
            refund_amount: yuan("0.01"),
            refund_reason: "damaged".into(),
        };
        assert_eq!(
            keys(&refund.to_fields()),
            [
                "out_refund_no",
                "refund_amount",
                "refund_reason",
                "trade_no"
            ]
        );
    }

    #[test]
    fn refund_sends_amount_and_reason() {
        let refund = Refund {
            order: OrderRef::OutTradeNo(OutTradeNo::parse("ORDER-1").unwrap()),
            out_refund_no: OutRefundNo::parse("RF-1").unwrap(),
            refund_amount: yuan("12.3"),
            refund_reason: "damaged".into(),
        };
        assert_eq!(
            Value::Object(refund.to_fields()),
            json!({
                "out_trade_no": "ORDER-1", "out_refund_no": "RF-1",
                "refund_amount": "12.30", "refund_reason": "damaged"
            })
        );
    }

    #[test]
    fn a_refund_is_queried_by_exactly_one_number() {
        let by_out = QueryRefund::OutRefundNo(OutRefundNo::parse("RF-1").unwrap());
        assert_eq!(
            Value::Object(by_out.to_fields()),
            json!({"out_refund_no": "RF-1"})
        );
        let by_ours = QueryRefund::RefundNo(RefundNo::mint(1_795_000_000_000));
        assert_eq!(keys(&by_ours.to_fields()), ["refund_no"]);
    }
}
