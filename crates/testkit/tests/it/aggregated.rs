//! Aggregated payment (聚合支付, issue #9): one merchant call for every wallet. A micropay with
//! `pay_type=auto` goes to the wallet whose pay code the merchant scanned (acceptance 4), and an
//! aggregated QR code lets the payer's own app choose the way, once.

use crate::support::{assert_param_error, create_fields, create_raw, query_order};
use paygate_domain::{OrderStatus, PayType, TradeNo};
use paygate_sandbox::{AlipaySandboxConfig, UnionpaySandboxConfig, WechatSandboxConfig};
use paygate_testkit::{both_databases, spawn_app_with, DbBackend, TestApp, TestOptions};
use serde_json::{json, Map, Value};

const ALIPAY_APP: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) \
    AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 AlipayClient/10.5.36.6000";
const UNIONPAY_APP: &str = "Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 (KHTML, like \
    Gecko) Mobile Safari/537.36 (com.unionpay.uppay) UnionPay/1.0 CloudPay";

/// The app with the three channels' sandboxes and the platform wallet.
async fn every_wallet(backend: DbBackend) -> TestApp {
    spawn_app_with(
        backend,
        TestOptions {
            wechat_sandbox: Some(WechatSandboxConfig::default()),
            alipay_sandbox: Some(AlipaySandboxConfig::default()),
            unionpay_sandbox: Some(UnionpaySandboxConfig::default()),
            ..TestOptions::default()
        },
    )
    .await
}

fn auto_create(number: &str, scene: &str, extra: Value) -> Map<String, Value> {
    let mut fields = create_fields(number, "12.34");
    fields.insert("pay_type".into(), "auto".into());
    fields.insert("scene".into(), scene.into());
    for (name, value) in extra.as_object().expect("an object") {
        fields.insert(name.clone(), value.clone());
    }
    fields
}

async fn an_auto_micropay_goes_to_the_wallet_that_issued_the_code(backend: DbBackend) {
    let t = every_wallet(backend).await;
    t.fund_wallet("alice", "100.00").await;
    let ours = t.pay_code("alice").await;
    let codes = [
        (ours.as_str(), PayType::Wallet),
        ("134567890123456789", PayType::WechatMicropay),
        ("2812345678901234", PayType::AlipayMicropay),
        ("6225000000000000001", PayType::UnionpayMicropay),
    ];
    for (i, (code, pay_type)) in codes.into_iter().enumerate() {
        let fields = auto_create(
            &format!("AUTO-{i}"),
            "micropay",
            json!({"auth_code": code, "client_ip": "198.51.100.20"}),
        );
        let (status, answer) = create_raw(&t, fields).await;
        assert_eq!(
            (status, &answer["code"]),
            (200, &json!("SUCCESS")),
            "{answer:?}"
        );
        assert_eq!(answer["pay_type"], pay_type.as_str(), "{code}");
        // Charged at once by that wallet: only the issuer accepts its own codes.
        assert_eq!(answer["trade_status"], "SUCCESS", "{code}: {answer:?}");
        let trade_no = TradeNo::parse(answer["trade_no"].as_str().unwrap()).unwrap();
        let order = query_order(&t, &trade_no).await;
        assert_eq!(order.pay_type, Some(pay_type));
        assert_eq!(order.trade_status, OrderStatus::Success);
        if pay_type != PayType::Wallet {
            assert!(order.channel_trade_no.is_some(), "{pay_type}");
        }
    }
    for (i, code) in ["160000000000000001", "2412345678901234", "99"]
        .iter()
        .enumerate()
    {
        let fields = auto_create(
            &format!("AUTO-BAD-{i}"),
            "micropay",
            json!({"auth_code": code}),
        );
        assert_eq!(
            assert_param_error(&create_raw(&t, fields).await),
            "auth_code"
        );
    }
    let fields = auto_create(
        "AUTO-NO-SCENE",
        "micropay",
        json!({"auth_code": ours.as_str()}),
    );
    let mut no_scene = fields;
    no_scene.remove("scene");
    assert_eq!(assert_param_error(&create_raw(&t, no_scene).await), "scene");
}
both_databases!(an_auto_micropay_goes_to_the_wallet_that_issued_the_code);

/// Opens the cashier link as a wallet app's browser would; the status and where it sends us.
async fn open_in_app(link: &str, user_agent: &str) -> (u16, Option<String>, String) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client");
    let answer = client
        .get(link)
        .header("User-Agent", user_agent)
        .send()
        .await
        .expect("the cashier answers");
    let status = answer.status().as_u16();
    let location =
        (answer.headers().get("location")).map(|v| v.to_str().expect("a text header").to_owned());
    (status, location, answer.text().await.expect("a body"))
}

async fn the_payers_app_chooses_the_way_of_an_aggregated_qr_code_once(backend: DbBackend) {
    let t = every_wallet(backend).await;
    let (status, answer) = create_raw(&t, auto_create("AUTO-QR", "native", json!({}))).await;
    assert_eq!(status, 200, "{answer:?}");
    assert_eq!(answer["pay_type"], "auto");
    let trade_no = TradeNo::parse(answer["trade_no"].as_str().unwrap()).unwrap();
    // The code's content is the order's cashier link.
    let link = answer["code_url"].as_str().expect("a code_url").to_owned();
    assert_eq!(link, format!("{}/cashier/{trade_no}", t.base_url));

    let alipay = t.alipay.clone().expect("the Alipay sandbox runs");
    let (status, to, _) = open_in_app(&link, ALIPAY_APP).await;
    assert_eq!(status, 303);
    let to = to.expect("a redirect");
    assert!(to.starts_with(&alipay.gateway_url), "{to}");
    assert!(to.contains("method=alipay.trade.wap.pay"), "{to}");
    // Opened again in Alipay: the same trade; in another app: told, and nothing opened there.
    assert_eq!(open_in_app(&link, ALIPAY_APP).await.1, Some(to.clone()));
    let (status, to_other, page) = open_in_app(&link, UNIONPAY_APP).await;
    assert_eq!((status, to_other), (200, None));
    assert!(page.contains("alipay_h5"), "{page}");

    // The payer's Alipay opens the payment page, which opens the trade at Alipay.
    let page = reqwest::get(&to).await.expect("Alipay's payment page");
    assert_eq!(page.status().as_u16(), 200);
    let base = alipay.gateway_url.trim_end_matches("/gateway.do");
    let paid = reqwest::Client::new()
        .post(format!("{base}/sandbox/payer"))
        .json(&json!({"out_trade_no": trade_no.as_str(), "action": "pay"}))
        .send()
        .await
        .expect("the payer pays");
    assert_eq!(paid.status().as_u16(), 200);
    for _ in 0..200 {
        if query_order(&t, &trade_no).await.trade_status == OrderStatus::Success {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let order = query_order(&t, &trade_no).await;
    assert_eq!(order.trade_status, OrderStatus::Success);
    assert_eq!(order.pay_type, Some(PayType::Auto));
    assert!(order.channel_trade_no.is_some());
}
both_databases!(the_payers_app_chooses_the_way_of_an_aggregated_qr_code_once);
