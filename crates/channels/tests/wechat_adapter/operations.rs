//! Each operation sends the documented request and maps the documented answer exactly.

use std::collections::BTreeMap;

use paygate_channels::wechat::v3_auth::{app_pay_message, jsapi_pay_message};
use paygate_channels::{
    Channel, ChannelError, PrepareRequest, Prepared, RefundOutcome, RefundRequest, Scenario,
    TradeState,
};
use paygate_domain::sign::VerifyKey;
use paygate_domain::{MerchantId, TradeNo};
use serde_json::{json, Value};

use crate::support::*;

/// 2026-11-29T12:00:00Z, which WeChat Pay reads as 20:00 in Beijing.
const EXPIRE_AT_MS: i64 = 1_795_953_600_000;
const PREPAY_ID: &str = "wx201410272009395522657a690389285100";
const REFUND_ID: &str = "50000000382019052709732678859";

fn prepare(scenario: Scenario) -> PrepareRequest {
    PrepareRequest {
        trade_no: trade_no(),
        merchant_id: MerchantId::parse("M100000000001").unwrap(),
        money: cny(1234),
        subject: "绿茶 green tea".into(),
        scenario,
        expire_at_ms: EXPIRE_AT_MS,
        client_ip: Some("203.0.113.7".into()),
        notify_url: format!("{NOTIFY_BASE}/pay"),
        return_url: None,
        payer_options: Default::default(),
    }
}

fn order_body(extra: Value) -> Value {
    let mut body = json!({
        "appid": APPID, "mchid": MCHID, "description": "绿茶 green tea",
        "out_trade_no": TRADE_NO, "time_expire": "2026-11-29T20:00:00+08:00",
        "notify_url": "https://gw.example/callback/wechat/pay",
        "amount": {"total": 1234, "currency": "CNY"}
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

fn params(prepared: Prepared) -> BTreeMap<String, String> {
    match prepared {
        Prepared::Params(params) => params,
        other => panic!("expected parameters, got {other:?}"),
    }
}

#[tokio::test]
async fn native_sends_the_documented_order_and_answers_its_code_url() {
    let fx = Fixture::new(Mode::PublicKeyId).await;
    let code_url = "weixin://wxpay/bizpayurl?pr=p4lpSuKzz";
    fx.answer(
        "POST",
        "/v3/pay/transactions/native",
        200,
        json!({"code_url": code_url}),
        Signing::Good,
    )
    .await;
    let prepared = fx.pay.prepare(&prepare(Scenario::Native)).await.unwrap();
    assert_eq!(prepared, Prepared::CodeUrl(code_url.into()));
    let (url, headers, body) = fx.only_request().await;
    assert_eq!(url, "/v3/pay/transactions/native");
    assert_eq!(headers["accept"], "application/json");
    assert_eq!(headers["content-type"], "application/json");
    assert!(headers["user-agent"].starts_with("paygate/"));
    assert_eq!(body, order_body(json!({})));
}

#[tokio::test]
async fn jsapi_answers_the_bridge_parameters_signed_with_the_merchant_key() {
    let fx = Fixture::new(Mode::PublicKeyId).await;
    fx.answer(
        "POST",
        "/v3/pay/transactions/jsapi",
        200,
        json!({"prepay_id": PREPAY_ID}),
        Signing::Good,
    )
    .await;
    let openid = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o";
    let scenario = Scenario::Jsapi {
        openid: openid.into(),
    };
    let params = params(fx.pay.prepare(&prepare(scenario)).await.unwrap());
    let names: Vec<&str> = params.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "appId",
            "nonceStr",
            "package",
            "paySign",
            "signType",
            "timeStamp"
        ]
    );
    assert_eq!(params["appId"], APPID);
    assert_eq!(params["package"], format!("prepay_id={PREPAY_ID}"));
    assert_eq!(params["signType"], "RSA");
    assert_eq!(params["nonceStr"].len(), 32);
    let timestamp: i64 = params["timeStamp"].parse().unwrap();
    assert!(now_secs().abs_diff(timestamp) <= 5);
    let message = jsapi_pay_message(APPID, timestamp, &params["nonceStr"], PREPAY_ID);
    let merchant = VerifyKey::Rsa2(merchant_key().public_key());
    assert_eq!(merchant.verify_string(&message, &params["paySign"]), Ok(()));
    let (_, _, body) = fx.only_request().await;
    assert_eq!(body, order_body(json!({"payer": {"openid": openid}})));
}

#[tokio::test]
async fn app_answers_the_sdk_parameters_signed_with_the_merchant_key() {
    let fx = Fixture::new(Mode::PublicKeyId).await;
    fx.answer(
        "POST",
        "/v3/pay/transactions/app",
        200,
        json!({"prepay_id": PREPAY_ID}),
        Signing::Good,
    )
    .await;
    let params = params(fx.pay.prepare(&prepare(Scenario::App)).await.unwrap());
    let names: Vec<&str> = params.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "appid",
            "noncestr",
            "package",
            "partnerid",
            "prepayid",
            "sign",
            "timestamp"
        ]
    );
    assert_eq!(params["appid"], APPID);
    assert_eq!(params["partnerid"], MCHID);
    assert_eq!(params["prepayid"], PREPAY_ID);
    assert_eq!(params["package"], "Sign=WXPay");
    let timestamp: i64 = params["timestamp"].parse().unwrap();
    let message = app_pay_message(APPID, timestamp, &params["noncestr"], PREPAY_ID);
    let merchant = VerifyKey::Rsa2(merchant_key().public_key());
    assert_eq!(merchant.verify_string(&message, &params["sign"]), Ok(()));
    let (_, _, body) = fx.only_request().await;
    assert_eq!(body, order_body(json!({})));
}

#[tokio::test]
async fn h5_sends_the_payer_ip_as_a_wap_scene_and_answers_the_redirect() {
    let fx = Fixture::new(Mode::PublicKeyId).await;
    let h5_url = "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx2916263004719461949c84457c735b0000&package=2150917749";
    fx.answer(
        "POST",
        "/v3/pay/transactions/h5",
        200,
        json!({"h5_url": h5_url}),
        Signing::Good,
    )
    .await;
    let prepared = fx.pay.prepare(&prepare(Scenario::H5)).await.unwrap();
    assert_eq!(prepared, Prepared::RedirectUrl(h5_url.into()));
    let (_, _, body) = fx.only_request().await;
    let scene =
        json!({"scene_info": {"payer_client_ip": "203.0.113.7", "h5_info": {"type": "Wap"}}});
    assert_eq!(body, order_body(scene));
}

#[tokio::test]
async fn h5_without_the_payer_ip_is_refused_before_any_call() {
    let fx = Fixture::new(Mode::PublicKeyId).await;
    let request = PrepareRequest {
        client_ip: None,
        ..prepare(Scenario::H5)
    };
    let refused = fx.pay.prepare(&request).await;
    assert!(matches!(refused, Err(ChannelError::Rejected(why)) if why.contains("client_ip")));
    assert!(fx.server.received_requests().await.unwrap().is_empty());
}

pub fn transaction(state: &str) -> Value {
    let mut tx = json!({
        "appid": APPID, "mchid": MCHID, "out_trade_no": TRADE_NO,
        "transaction_id": TRANSACTION_ID, "trade_type": "NATIVE",
        "trade_state": state, "trade_state_desc": "…", "bank_type": "OTHERS",
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "amount": {"total": 1234, "payer_total": 1234, "currency": "CNY", "payer_currency": "CNY"}
    });
    if matches!(state, "SUCCESS" | "REFUND") {
        tx["success_time"] = json!("2026-11-29T20:01:02+08:00");
    }
    tx
}

/// 2026-11-29T20:01:02+08:00.
const PAID_AT_MS: i64 = 1_795_953_662_000;

#[tokio::test]
async fn every_trade_state_maps_to_ours() {
    let paid = TradeState::Paid {
        channel_trade_no: TRANSACTION_ID.into(),
        paid_at_ms: PAID_AT_MS,
    };
    for (state, ours) in [
        ("SUCCESS", paid.clone()),
        ("REFUND", paid),
        ("NOTPAY", TradeState::WaitingPayment),
        ("PAYERROR", TradeState::WaitingPayment),
        ("USERPAYING", TradeState::PayerConfirming),
        ("CLOSED", TradeState::Closed),
        ("REVOKED", TradeState::Closed),
    ] {
        let fx = Fixture::new(Mode::PublicKeyId).await;
        let at = format!("/v3/pay/transactions/out-trade-no/{TRADE_NO}");
        fx.answer("GET", &at, 200, transaction(state), Signing::Good)
            .await;
        assert_eq!(fx.pay.query(&trade_no()).await, Ok(ours), "{state}");
        let (url, _, body) = fx.only_request().await;
        assert_eq!(url, format!("{at}?mchid={MCHID}"));
        assert_eq!(body, Value::Null);
    }
}

#[tokio::test]
async fn a_signed_order_not_exist_is_not_found_and_an_unsigned_one_only_a_refusal() {
    let fx = Fixture::new(Mode::PublicKeyId).await;
    let at = format!("/v3/pay/transactions/out-trade-no/{TRADE_NO}");
    let error = json!({"code": "ORDER_NOT_EXIST", "message": "订单不存在"});
    fx.answer("GET", &at, 404, error.clone(), Signing::Good)
        .await;
    assert_eq!(fx.pay.query(&trade_no()).await, Ok(TradeState::NotFound));

    let fx = Fixture::new(Mode::PublicKeyId).await;
    fx.answer("GET", &at, 404, error, Signing::Unsigned).await;
    assert_eq!(
        fx.pay.query(&trade_no()).await,
        Err(ChannelError::Rejected("ORDER_NOT_EXIST: 订单不存在".into()))
    );
}

#[tokio::test]
async fn a_query_by_transaction_id_uses_its_path_and_checks_the_answer_names_it() {
    let fx = Fixture::new(Mode::PublicKeyId).await;
    let at = format!("/v3/pay/transactions/id/{TRANSACTION_ID}");
    fx.answer("GET", &at, 200, transaction("NOTPAY"), Signing::Good)
        .await;
    assert_eq!(
        fx.pay.query_by_channel_no(TRANSACTION_ID).await,
        Ok(TradeState::WaitingPayment)
    );
    let (url, _, _) = fx.only_request().await;
    assert_eq!(url, format!("{at}?mchid={MCHID}"));

    let other = "4200002620202611290000000002";
    let fx = Fixture::new(Mode::PublicKeyId).await;
    fx.answer(
        "GET",
        &format!("/v3/pay/transactions/id/{other}"),
        200,
        transaction("NOTPAY"),
        Signing::Good,
    )
    .await;
    assert!(matches!(
        fx.pay.query_by_channel_no(other).await,
        Err(ChannelError::Unknown(_))
    ));
}

#[tokio::test]
async fn close_posts_the_merchant_number_and_closing_twice_is_fine() {
    let at = format!("/v3/pay/transactions/out-trade-no/{TRADE_NO}/close");
    let fx = Fixture::new(Mode::PublicKeyId).await;
    fx.answer("POST", &at, 204, Value::Null, Signing::Good)
        .await;
    assert_eq!(fx.pay.close(&trade_no()).await, Ok(()));
    let (url, _, body) = fx.only_request().await;
    assert_eq!(url, at);
    assert_eq!(body, json!({"mchid": MCHID}));

    let fx = Fixture::new(Mode::PublicKeyId).await;
    fx.answer(
        "POST",
        &at,
        400,
        json!({"code": "ORDER_CLOSED", "message": "订单已关闭"}),
        Signing::Good,
    )
    .await;
    assert_eq!(fx.pay.close(&trade_no()).await, Ok(()));

    let fx = Fixture::new(Mode::PublicKeyId).await;
    fx.answer(
        "POST",
        &at,
        400,
        json!({"code": "ORDERPAID", "message": "订单已支付"}),
        Signing::Good,
    )
    .await;
    assert_eq!(
        fx.pay.close(&trade_no()).await,
        Err(ChannelError::Rejected("ORDERPAID: 订单已支付".into()))
    );
}

pub fn refund_answer(status: &str) -> Value {
    json!({
        "refund_id": REFUND_ID, "out_refund_no": REFUND_NO,
        "transaction_id": TRANSACTION_ID, "out_trade_no": TRADE_NO,
        "channel": "ORIGINAL", "user_received_account": "招商银行信用卡0403",
        "create_time": "2026-11-29T21:00:00+08:00", "status": status,
        "amount": {"total": 1234, "refund": 500, "payer_total": 1234, "payer_refund": 500, "currency": "CNY"}
    })
}

#[tokio::test]
async fn a_refund_sends_fen_and_our_refund_callback_and_maps_its_status() {
    let fx = Fixture::new(Mode::PublicKeyId).await;
    fx.answer(
        "POST",
        "/v3/refund/domestic/refunds",
        200,
        refund_answer("PROCESSING"),
        Signing::Good,
    )
    .await;
    let request = RefundRequest {
        refund_no: refund_no(),
        trade_no: trade_no(),
        refund: cny(500),
        total: cny(1234),
        reason: "out of stock".into(),
    };
    assert_eq!(fx.pay.refund(&request).await, Ok(RefundOutcome::Processing));
    let (_, _, body) = fx.only_request().await;
    assert_eq!(
        body,
        json!({
            "out_trade_no": TRADE_NO, "out_refund_no": REFUND_NO, "reason": "out of stock",
            "notify_url": "https://gw.example/callback/wechat/refund",
            "amount": {"refund": 500, "total": 1234, "currency": "CNY"}
        })
    );
}

#[tokio::test]
async fn every_refund_status_maps_to_ours() {
    for (status, ours) in [
        (
            "SUCCESS",
            RefundOutcome::Succeeded {
                channel_refund_no: Some(REFUND_ID.into()),
            },
        ),
        ("PROCESSING", RefundOutcome::Processing),
        (
            "CLOSED",
            RefundOutcome::Failed("CLOSED: the refund was closed".into()),
        ),
        (
            "ABNORMAL",
            RefundOutcome::Failed(
                "ABNORMAL: the payer's account or card could not take the refund".into(),
            ),
        ),
    ] {
        let fx = Fixture::new(Mode::PublicKeyId).await;
        let at = format!("/v3/refund/domestic/refunds/{REFUND_NO}");
        fx.answer("GET", &at, 200, refund_answer(status), Signing::Good)
            .await;
        assert_eq!(
            fx.pay
                .query_refund(&refund_no(), &TradeNo::parse(TRADE_NO).unwrap())
                .await,
            Ok(ours),
            "{status}"
        );
    }
}

#[tokio::test]
async fn an_amount_in_another_currency_is_refused_before_any_call() {
    let fx = Fixture::new(Mode::PublicKeyId).await;
    let usd = paygate_domain::Money::new(cny(1234).amount, paygate_domain::Currency::Usd);
    let request = PrepareRequest {
        money: usd,
        ..prepare(Scenario::Native)
    };
    let refused = fx.pay.prepare(&request).await;
    assert_eq!(
        refused,
        Err(ChannelError::Rejected(
            "WeChat Pay takes CNY only, not USD".into()
        ))
    );
    assert!(fx.server.received_requests().await.unwrap().is_empty());
}
