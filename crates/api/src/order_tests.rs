use super::*;
use paygate_domain::{Amount, Currency};
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
        "fee_amount": "0.06", "net_amount": "9.94",
        "pay_time": "2026-11-23T12:34:56+08:00", "expire_time": 1795000000, "attach": "cart=7", "something_new": {"x": 1}
    }))
}

#[test]
fn a_paid_order_parses_into_domain_types() {
    let view = Order::from_fields(paid_order()).unwrap();
    assert_eq!(view.trade_no.as_str(), "P20261123123456789abcdefghij");
    assert_eq!(view.trade_status, OrderStatus::Success);
    assert_eq!(
        view.total_amount,
        Money::parse("10", Currency::Cny).unwrap()
    );
    assert_eq!(view.receipt_amount, Some(view.total_amount));
    assert_eq!(view.refunded_amount.map(|m| m.amount), Some(Amount::ZERO));
    assert_eq!(
        view.fee_amount,
        Some(Money::parse("0.06", Currency::Cny).unwrap())
    );
    assert_eq!(
        view.net_amount,
        Some(Money::parse("9.94", Currency::Cny).unwrap())
    );
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
    let view = Order::from_fields(body).unwrap();
    assert_eq!(
        view.total_amount,
        Money::parse("100", Currency::Jpy).unwrap()
    );
    assert_eq!(view.receipt_amount, None);
    assert_eq!((view.fee_amount, view.net_amount), (None, None));
    assert_eq!(view.pay_time, DateTime::from_timestamp(1_795_000_000, 0));
}

#[test]
fn a_malformed_or_missing_field_is_a_decode_error() {
    for (key, value) in [
        ("trade_status", json!("PAID_MAYBE")),
        ("total_amount", json!("1.001")),
        ("fee_amount", json!("-0.06")),
        ("net_amount", json!("9.944")),
        ("currency", json!("XXX")),
        ("pay_time", json!("yesterday")),
        ("trade_no", json!("")),
    ] {
        let mut body = paid_order();
        body.insert(key.into(), value);
        assert!(Order::from_fields(body).is_err(), "{key}");
    }
}

#[test]
fn what_the_server_writes_the_client_reads_back() {
    let mut body = paid_order();
    body.insert("merchant_id".into(), "M100000000001".into());
    body.insert("pay_type".into(), "wallet".into());
    body.insert("subject".into(), "tea".into());
    body.insert("channel_trade_no".into(), "W1".into());
    let order = Order::from_fields(body).unwrap();
    let written = order.to_fields();
    assert_eq!(written["pay_time"], "2026-11-23T12:34:56+08:00");
    assert_eq!(written["expire_time"], 1_795_000_000);
    assert_eq!(
        (&written["fee_amount"], &written["net_amount"]),
        (&json!("0.06"), &json!("9.94"))
    );
    assert!(written.get("pay_url").is_none(), "empty text is left out");
    let read = Order::from_fields(written.clone()).unwrap();
    assert_eq!(
        Order {
            raw: Map::new(),
            ..read
        },
        Order {
            raw: Map::new(),
            ..order
        }
    );
}

#[test]
fn serde_reads_and_writes_the_same_fields() {
    let order = Order::from_fields(paid_order()).unwrap();
    let through_serde: Order = serde_json::from_value(Value::Object(paid_order())).unwrap();
    assert_eq!(through_serde, order);
    assert_eq!(
        serde_json::to_value(&order).unwrap(),
        Value::Object(order.to_fields())
    );
}
