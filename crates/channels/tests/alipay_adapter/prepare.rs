//! Trades the payer completes on their own device: QR codes and JSAPI are created at Alipay;
//! WAP, desktop and app pay are signed requests the payer's browser or app sends.

use std::collections::BTreeMap;

use paygate_channels::{Channel, ChannelError, PrepareRequest, Prepared, Scenario};
use paygate_domain::MerchantId;
use serde_json::{json, Value};

use crate::support::*;

/// Leaves a little over 90 minutes, so the request says `90m` however long the test takes.
fn prepare_request(scenario: Scenario) -> PrepareRequest {
    PrepareRequest {
        trade_no: trade_no(),
        merchant_id: MerchantId::mint(),
        money: cny(8_888),
        subject: "绿茶 & green tea".into(),
        scenario,
        expire_at_ms: chrono::Utc::now().timestamp_millis() + 90 * 60_000 + 30_000,
        client_ip: Some("203.0.113.7".into()),
        notify_url: NOTIFY_URL.into(),
        return_url: Some("https://shop.example/paid?order=1".into()),
        payer_options: Default::default(),
    }
}

fn order_content(product_code: &str) -> Value {
    json!({"out_trade_no": TRADE_NO, "total_amount": "88.88", "subject": "绿茶 & green tea",
        "product_code": product_code, "timeout_express": "90m"})
}

#[tokio::test]
async fn a_native_trade_is_precreated_and_answers_the_qr_code() {
    let f = Fixture::new().await;
    let answer = json!({"code": "10000", "msg": "Success", "out_trade_no": TRADE_NO,
        "qr_code": "https://qr.alipay.com/bax03431ljhokirwl38f00a7"});
    f.answer("alipay.trade.precreate", answer, Signing::Alipay)
        .await;

    let prepared = f.pay.prepare(&prepare_request(Scenario::Native)).await;

    assert_eq!(
        prepared,
        Ok(Prepared::CodeUrl(
            "https://qr.alipay.com/bax03431ljhokirwl38f00a7".into()
        ))
    );
    let (params, biz) = f.only_request().await;
    assert_eq!(params["method"], "alipay.trade.precreate");
    assert_eq!(params["notify_url"], NOTIFY_URL);
    assert_eq!(biz, order_content("FACE_TO_FACE_PAYMENT"));
}

#[tokio::test]
async fn a_jsapi_trade_is_created_for_the_buyer_and_answers_its_trade_no() {
    let f = Fixture::new().await;
    let answer = json!({"code": "10000", "msg": "Success", "out_trade_no": TRADE_NO,
        "trade_no": ALIPAY_TRADE_NO});
    f.answer("alipay.trade.create", answer, Signing::Alipay)
        .await;
    let scenario = Scenario::Jsapi {
        openid: "2088102177846880".into(),
    };

    let prepared = f.pay.prepare(&prepare_request(scenario)).await;

    assert_eq!(
        prepared,
        Ok(Prepared::Params(BTreeMap::from([(
            "tradeNO".to_owned(),
            ALIPAY_TRADE_NO.to_owned()
        )])))
    );
    let (_, biz) = f.only_request().await;
    let mut expected = order_content("JSAPI_PAY");
    expected["buyer_id"] = json!("2088102177846880");
    assert_eq!(biz, expected);
}

/// The params of a signed page address or order string, its signature checked.
fn signed_params(query: &str) -> BTreeMap<String, String> {
    let params = form(query.as_bytes());
    assert!(request_verifies(&params), "signed by the app");
    params
}

async fn page_params(scenario: Scenario, method: &str) -> BTreeMap<String, String> {
    let f = Fixture::new().await;
    let Ok(Prepared::RedirectUrl(url)) = f.pay.prepare(&prepare_request(scenario)).await else {
        panic!("a redirect address");
    };
    let prefix = format!("{}?", f.gateway_url());
    let query = url.strip_prefix(&prefix).expect("the gateway's address");
    let params = signed_params(query);
    assert_eq!(params["method"], method);
    assert_eq!(f.requests_sent().await, 0, "the payer's browser sends it");
    params
}

#[tokio::test]
async fn h5_sends_the_browser_to_a_signed_wap_pay_address() {
    let params = page_params(Scenario::H5, "alipay.trade.wap.pay").await;

    assert_eq!(params["notify_url"], NOTIFY_URL);
    assert_eq!(params["return_url"], "https://shop.example/paid?order=1");
    let biz: Value = serde_json::from_str(&params["biz_content"]).unwrap();
    assert_eq!(biz, order_content("QUICK_WAP_WAY"));
}

#[tokio::test]
async fn web_sends_the_browser_to_a_signed_page_pay_address() {
    let params = page_params(Scenario::Web, "alipay.trade.page.pay").await;

    assert_eq!(params["return_url"], "https://shop.example/paid?order=1");
    let biz: Value = serde_json::from_str(&params["biz_content"]).unwrap();
    assert_eq!(biz, order_content("FAST_INSTANT_TRADE_PAY"));
}

#[tokio::test]
async fn app_pay_hands_the_sdk_a_signed_order_string() {
    let f = Fixture::new().await;
    let Ok(Prepared::Params(fields)) = f.pay.prepare(&prepare_request(Scenario::App)).await else {
        panic!("params");
    };

    assert_eq!(fields.keys().collect::<Vec<_>>(), ["order_string"]);
    let params = signed_params(&fields["order_string"]);
    assert_eq!(params["method"], "alipay.trade.app.pay");
    assert_eq!(params["app_id"], APP_ID);
    assert_eq!(params["notify_url"], NOTIFY_URL);
    assert!(!params.contains_key("return_url"));
    let biz: Value = serde_json::from_str(&params["biz_content"]).unwrap();
    assert_eq!(biz, order_content("QUICK_MSECURITY_PAY"));
    assert_eq!(f.requests_sent().await, 0);
}

#[tokio::test]
async fn an_expired_order_is_not_offered_to_alipay() {
    let f = Fixture::new().await;
    let mut request = prepare_request(Scenario::Native);
    request.expire_at_ms = chrono::Utc::now().timestamp_millis() - 1;

    assert_eq!(
        f.pay.prepare(&request).await,
        Err(ChannelError::Rejected(
            "the order has already expired".into()
        ))
    );
    assert_eq!(f.requests_sent().await, 0);
}

#[tokio::test]
async fn installments_and_disabled_credit_are_told_to_alipay() {
    use paygate_channels::{Credit, PayerOptions};
    let cases = [
        (
            PayerOptions {
                installments: Some(6),
                credit: Credit::Allowed,
            },
            json!({"extend_params": {"hb_fq_num": "6", "hb_fq_seller_percent": "0"}}),
        ),
        (
            PayerOptions {
                installments: None,
                credit: Credit::Disabled,
            },
            json!({"disable_pay_channels": "credit_group"}),
        ),
    ];
    for (options, extra) in cases {
        let f = Fixture::new().await;
        let answer = json!({"code": "10000", "msg": "Success", "out_trade_no": TRADE_NO,
            "qr_code": "https://qr.alipay.com/bax03431ljhokirwl38f00a7"});
        f.answer("alipay.trade.precreate", answer, Signing::Alipay)
            .await;
        let request = PrepareRequest {
            payer_options: options,
            ..prepare_request(Scenario::Native)
        };

        assert!(f.pay.prepare(&request).await.is_ok());

        let (_, biz) = f.only_request().await;
        let mut expected = order_content("FACE_TO_FACE_PAYMENT");
        for (name, value) in extra.as_object().unwrap() {
            expected[name] = value.clone();
        }
        assert_eq!(biz, expected, "{options:?}");
    }
}
