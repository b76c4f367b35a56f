//! The gateway's checks and refunds: signatures in either mode, Alipay's error shapes,
//! idempotent and over-refunds.

use paygate_channels::alipay::sign::{request_content, sign_rsa2};
use paygate_domain::sign::RsaPrivateKey;
use serde_json::{json, Value};
use std::time::Duration;

use crate::helpers::{start, Mode, Receiver};

#[tokio::test]
async fn a_request_signed_with_another_key_is_refused_unsigned_in_alipays_shape() {
    let h = start(vec![]).await;
    let mut params = h.params(
        "alipay.trade.query",
        json!({"out_trade_no": "T1"}),
        Mode::PublicKey,
    );
    let content = request_content(&params);
    let stranger = RsaPrivateKey::generate().unwrap();
    params.insert("sign".into(), sign_rsa2(&stranger, &content));
    let body: Value = serde_json::from_str(&h.post(&params).await).unwrap();
    let expected = json!({"alipay_trade_query_response": {
        "code": "40002",
        "msg": "Invalid Arguments",
        "sub_code": "isv.invalid-signature",
        "sub_msg": format!("验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：{content}"),
    }});
    assert_eq!(body, expected);
}

#[tokio::test]
async fn certificate_mode_is_answered_with_alipays_cert_sn_and_a_wrong_app_sn_is_refused() {
    let h = start(vec![]).await;
    let (inner, whole) = h
        .call_in(
            "alipay.trade.query",
            json!({"out_trade_no": "NOPE"}),
            Mode::Certificate,
        )
        .await;
    assert_eq!(inner["sub_code"], "ACQ.TRADE_NOT_EXIST");
    assert_eq!(
        whole["alipay_cert_sn"],
        h.credentials.alipay_cert_sn.as_str()
    );
    let mut params = h.params(
        "alipay.trade.query",
        json!({"out_trade_no": "T1"}),
        Mode::Certificate,
    );
    params.insert(
        "app_cert_sn".into(),
        "0123456789abcdef0123456789abcdef".into(),
    );
    params.insert(
        "sign".into(),
        sign_rsa2(&h.app_key, &request_content(&params)),
    );
    let body: Value = serde_json::from_str(&h.post(&params).await).unwrap();
    assert_eq!(
        body["alipay_trade_query_response"]["sub_code"],
        "isv.app-cert-not-exist"
    );
    assert!(body.get("sign").is_none());
}

#[tokio::test]
async fn a_refund_repeated_under_its_out_request_no_moves_money_once() {
    let h = start(vec![]).await;
    let receiver = Receiver::start(0).await;
    h.paid_trade("T20261129001", "100.00", &receiver.url).await;
    let refund =
        json!({"out_trade_no": "T20261129001", "refund_amount": "30.00", "out_request_no": "R1"});
    let first = h.call("alipay.trade.refund", refund.clone()).await;
    let again = h.call("alipay.trade.refund", refund).await;
    assert_eq!(
        (first["code"].as_str(), first["fund_change"].as_str()),
        (Some("10000"), Some("Y"))
    );
    assert_eq!(
        (again["code"].as_str(), again["fund_change"].as_str()),
        (Some("10000"), Some("N"))
    );
    assert_eq!(
        (first["refund_fee"].as_str(), again["refund_fee"].as_str()),
        (Some("30.00"), Some("30.00"))
    );
    let deliveries = receiver.wait_for(2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refunds = receiver
        .deliveries
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, f)| f.contains_key("out_biz_no"))
        .count();
    assert_eq!(refunds, 1, "one refund notification: {deliveries:?}");
}

#[tokio::test]
async fn a_refund_beyond_what_is_left_is_refused_and_signed() {
    let h = start(vec![]).await;
    let receiver = Receiver::start(0).await;
    h.paid_trade("T20261129002", "100.00", &receiver.url).await;
    let first = h
        .call("alipay.trade.refund", json!({"out_trade_no": "T20261129002", "refund_amount": "70.00", "out_request_no": "R1"}))
        .await;
    assert_eq!(first["refund_fee"], "70.00");
    let over = h
        .call("alipay.trade.refund", json!({"out_trade_no": "T20261129002", "refund_amount": "30.01", "out_request_no": "R2"}))
        .await;
    assert_eq!(
        over,
        json!({"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.REASON_TRADE_REFUND_FEE_ERR", "sub_msg": "退款金额无效"})
    );
    let found = h
        .call(
            "alipay.trade.fastpay.refund.query",
            json!({"out_trade_no": "T20261129002", "out_request_no": "R2"}),
        )
        .await;
    assert_eq!(found["code"], "10000");
    assert!(
        found.get("refund_status").is_none(),
        "no such refund: {found}"
    );
}

#[tokio::test]
async fn a_pay_code_arranged_to_wait_answers_10003_until_the_payer_pays() {
    let h = start(vec![]).await;
    let payer = format!("{}/sandbox/payer", h.base());
    let code = "281234567890123456";
    h.http
        .post(&payer)
        .json(&json!({"auth_code": code, "action": "userpaying"}))
        .send()
        .await
        .unwrap();
    let biz = json!({"out_trade_no": "B20261129001", "total_amount": "3.00", "subject": "tea", "scene": "bar_code", "auth_code": code});
    let waiting = h.call("alipay.trade.pay", biz.clone()).await;
    assert_eq!(
        (waiting["code"].as_str(), waiting["msg"].as_str()),
        (Some("10003"), Some("Order success pay inprocess"))
    );
    let paid: Value = h
        .http
        .post(&payer)
        .json(&json!({"out_trade_no": "B20261129001", "action": "pay"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(paid["trade_status"], "TRADE_SUCCESS");
    let again = h.call("alipay.trade.pay", biz).await;
    assert_eq!(again["sub_code"], "ACQ.TRADE_HAS_SUCCESS");
    let bad_code = json!({"out_trade_no": "B20261129002", "total_amount": "3.00", "subject": "tea", "scene": "bar_code", "auth_code": "134567890123456789"});
    let refused = h.call("alipay.trade.pay", bad_code).await;
    assert_eq!(refused["sub_code"], "ACQ.PAYMENT_AUTH_CODE_INVALID");
}

#[tokio::test]
async fn a_server_error_fault_answers_20000_signed_and_does_nothing() {
    let h = start(vec![]).await;
    let faults = format!("{}/sandbox/faults", h.base());
    let armed = h
        .http
        .post(&faults)
        .json(&json!({"fault": "server_error", "out_trade_no": "F20261129001"}))
        .send()
        .await
        .unwrap();
    assert_eq!(armed.status(), reqwest::StatusCode::CREATED);
    let biz = json!({"out_trade_no": "F20261129001", "total_amount": "1.00", "subject": "tea"});
    let failed = h.call("alipay.trade.precreate", biz.clone()).await;
    assert_eq!(
        failed,
        json!({"code": "20000", "msg": "Service Currently Unavailable", "sub_code": "isp.unknow-error", "sub_msg": "系统繁忙"})
    );
    let queried = h
        .call(
            "alipay.trade.query",
            json!({"out_trade_no": "F20261129001"}),
        )
        .await;
    assert_eq!(queried["sub_code"], "ACQ.TRADE_NOT_EXIST");
    let created = h.call("alipay.trade.precreate", biz).await;
    assert_eq!(created["code"], "10000");
}
