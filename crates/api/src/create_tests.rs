use super::*;
use paygate_domain::Currency;
use serde_json::json;

fn create(overrides: Value) -> Result<CreateOrder, FieldError> {
    let mut fields = json!({
        "out_trade_no": "T1", "total_amount": "10.00", "subject": "tea",
        "pay_type": "wallet", "notify_url": "https://shop.example/notify"
    })
    .as_object()
    .unwrap()
    .clone();
    for (k, v) in overrides.as_object().unwrap() {
        fields.insert(k.clone(), v.clone());
    }
    CreateOrder::parse(&fields, 1_795_000_000)
}

fn refused_field(result: Result<CreateOrder, FieldError>) -> String {
    match result {
        Err(FieldError { field, .. }) => field,
        other => panic!("expected a parameter error, got {other:?}"),
    }
}

#[test]
fn a_complete_create_request_parses() {
    let cmd = create(json!({})).unwrap();
    assert_eq!(cmd.amount.amount.minor(), 1000);
    assert_eq!(cmd.amount.currency, Currency::Cny);
}

#[test]
fn each_bad_field_is_named() {
    for (overrides, field) in [
        (json!({"total_amount": "1.001"}), "total_amount"),
        (json!({"total_amount": 10}), "total_amount"),
        (json!({"subject": null}), "subject"),
        (json!({"subject": "x".repeat(129)}), "subject"),
        (json!({"pay_type": "cash"}), "pay_type"),
        (json!({"notify_url": "ftp://x"}), "notify_url"),
        (json!({"currency": "XYZ"}), "currency"),
        (json!({"out_trade_no": "a b"}), "out_trade_no"),
        (json!({"expire_time": 1}), "expire_time"),
        (json!({"attach": true}), "attach"),
        (json!({"auth_code": 880000000000000001_i64}), "auth_code"),
    ] {
        assert_eq!(
            refused_field(create(overrides.clone())),
            field,
            "{overrides}"
        );
    }
    for bad_code in [
        "12345",
        "310000000000000001",
        "88000000000000000x",
        "8800000000000000001",
    ] {
        assert_eq!(
            refused_field(create(json!({"auth_code": bad_code}))),
            "auth_code"
        );
    }
}

#[test]
fn a_pay_code_parses_and_is_optional() {
    let code = "880000000000000001";
    let plain = create(json!({"auth_code": code})).unwrap();
    assert_eq!(plain.auth_code.unwrap().as_str(), code);
    assert!(create(json!({})).unwrap().auth_code.is_none());
}

#[test]
fn a_url_without_a_host_is_refused() {
    assert_eq!(
        refused_field(create(json!({"notify_url": "http://:80/"}))),
        "notify_url"
    );
}

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
        auth_code: Some(AuthCode::parse("880000000000000042").unwrap()),
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
fn what_the_client_writes_the_server_reads_back() {
    let order = CreateOrder {
        body: Some("blue ink".into()),
        expire_time: DateTime::from_timestamp(1_795_000_600, 0),
        auth_code: Some(AuthCode::parse("880000000000000042").unwrap()),
        ..minimal_order()
    };
    assert_eq!(
        CreateOrder::parse(&order.to_fields(), 1_795_000_000),
        Ok(order)
    );
}

fn auto(scene: &str, code: &str) -> Result<CreateOrder, FieldError> {
    create(json!({"pay_type": "auto", "scene": scene, "auth_code": code}))
}

#[test]
fn an_aggregated_micropay_is_routed_by_the_shape_of_the_pay_code() {
    for (code, pay_type) in [
        ("880000000000000042", PayType::Wallet),
        ("134567890123456789", PayType::WechatMicropay),
        ("2812345678901234", PayType::AlipayMicropay),
        ("301234567890123456789012", PayType::AlipayMicropay),
        ("6225000000000000001", PayType::UnionpayMicropay),
    ] {
        let cmd = auto("micropay", code).unwrap();
        assert_eq!(
            (cmd.pay_type, cmd.auth_code.unwrap().as_str()),
            (pay_type, code)
        );
        assert_eq!(cmd.scene, Some(PayScene::Micropay));
    }
}

#[test]
fn an_aggregated_micropay_refuses_a_code_of_no_known_shape() {
    for code in [
        "160000000000000001",
        "2412345678901234",
        "622500000000000001",
        "99",
        "abc",
    ] {
        let Err(refused) = auto("micropay", code) else {
            panic!("{code} routed");
        };
        assert_eq!(refused.field, "auth_code", "{code}");
        assert!(refused.reason.contains("25 to 30"), "{}", refused.reason);
    }
}

#[test]
fn a_face_code_makes_an_alipay_micropay_and_auto_needs_a_fitting_scene() {
    let cmd = auto("face", "fp_0a1B-2c3D").unwrap();
    assert_eq!(cmd.pay_type, PayType::AlipayMicropay);
    assert!(matches!(cmd.auth_code, Some(AuthCode::Face(_))));
    let qr = create(json!({"pay_type": "auto", "scene": "native"})).unwrap();
    assert_eq!((qr.pay_type, qr.auth_code), (PayType::Auto, None));
    for (overrides, field) in [
        (
            json!({"pay_type": "auto", "auth_code": "880000000000000042"}),
            "scene",
        ),
        (
            json!({"pay_type": "auto", "scene": "cashier", "auth_code": "880000000000000042"}),
            "auth_code",
        ),
        (
            json!({"pay_type": "wechat_native", "scene": "cashier"}),
            "scene",
        ),
        (
            json!({"pay_type": "auto", "disable_credit": "yes"}),
            "disable_credit",
        ),
        (
            json!({"pay_type": "auto", "scene": "micropay"}),
            "auth_code",
        ),
        (json!({"pay_type": "auto", "scene": "walk-in"}), "scene"),
        (
            json!({"pay_type": "wechat_micropay", "scene": "face", "auth_code": "fp1"}),
            "scene",
        ),
        (
            json!({"pay_type": "wechat_jsapi", "scene": "native"}),
            "scene",
        ),
        (
            json!({"pay_type": "alipay_native", "scene": "micropay"}),
            "scene",
        ),
    ] {
        assert_eq!(
            refused_field(create(overrides.clone())),
            field,
            "{overrides}"
        );
    }
}

#[test]
fn auto_without_a_scene_is_a_cashier_order_and_disable_credit_round_trips() {
    for scene in [json!(null), json!("cashier")] {
        let cmd = create(json!({"pay_type": "auto", "scene": scene})).unwrap();
        assert_eq!((cmd.pay_type, cmd.auth_code), (PayType::Auto, None));
        assert!(!cmd.disable_credit);
    }
    for (sent, read) in [
        (json!(true), true),
        (json!("true"), true),
        (json!(false), false),
    ] {
        let cmd = create(json!({"pay_type": "auto", "disable_credit": sent})).unwrap();
        assert_eq!(cmd.disable_credit, read, "{sent}");
    }
    let order = CreateOrder {
        pay_type: PayType::Auto,
        disable_credit: true,
        ..minimal_order()
    };
    assert_eq!(order.to_fields()["disable_credit"], true);
    assert_eq!(
        CreateOrder::parse(&order.to_fields(), 1_795_000_000),
        Ok(order)
    );
}

#[test]
fn the_scene_is_sent_when_set() {
    let order = CreateOrder {
        pay_type: PayType::Auto,
        scene: Some(PayScene::Native),
        ..minimal_order()
    };
    assert_eq!(order.to_fields()["scene"], "native");
    assert_eq!(
        CreateOrder::parse(&order.to_fields(), 1_795_000_000),
        Ok(order)
    );
}
