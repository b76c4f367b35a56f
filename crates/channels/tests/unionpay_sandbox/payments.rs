//! Payments: web and WAP forms, APP `tn`, QR apply and pay codes.

use crate::support::*;

#[tokio::test]
async fn a_web_form_is_signed_by_the_merchant_and_its_payment_notified_and_queried() {
    let w = world().await;
    let trade_no = trade_no();
    let prepared = w
        .pay
        .prepare(&order(
            &trade_no,
            Scenario::Web,
            Some("https://shop.example/done"),
        ))
        .await
        .unwrap();
    let Prepared::Form { action, fields } = prepared else {
        panic!("a web payment is a form: {prepared:?}");
    };
    assert_eq!(action, w.sandbox.credentials.front_url);
    let merchant = sign::SigningCert::from_pem(&w.sandbox.credentials.sign_cert_pem).unwrap();
    assert_eq!(sign::verify(&merchant.public_key, &fields), Ok(()));
    assert_eq!(fields["certId"], w.sandbox.credentials.cert_id);
    assert_eq!(fields["channelType"], "07");
    assert_eq!(fields["bizType"], "000201");
    assert_eq!(
        (fields["txnType"].as_str(), fields["txnSubType"].as_str()),
        ("01", "01")
    );
    assert_eq!(fields["frontUrl"], "https://shop.example/done");
    assert_eq!(fields["txnAmt"], "1234");
    assert_eq!(fields["currencyCode"], "156");
    assert_eq!(fields["orderId"], trade_no.as_str());
    assert_eq!(
        fields["txnTime"],
        wire::txn_time_of_number(trade_no.as_str()).unwrap()
    );
    assert_eq!(
        fields["backUrl"],
        format!("{}/callback/unionpay/pay", w.receiver.uri())
    );

    // The payer's browser posts the form; the cashier page offers to pay.
    let http = reqwest::Client::new();
    let page = http
        .post(&action)
        .form(&fields)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("<button>pay</button>"), "{page}");
    assert_eq!(
        w.pay.query(&trade_no).await.unwrap(),
        TradeState::WaitingPayment
    );
    let paid = http
        .post(format!(
            "{}/sandbox/front/{}/pay",
            w.base_url,
            trade_no.as_str()
        ))
        .send()
        .await
        .unwrap();
    assert!(paid.status().is_success());

    let query_id = query_id_of(&w, &trade_no).await;
    let body = w.notification(trade_no.as_str(), 0).await;
    let CallbackEvent::Payment {
        trade_no: named,
        total,
        state,
    } = w.read(&body).unwrap()
    else {
        panic!("a payment notification");
    };
    assert_eq!(named, trade_no);
    assert_eq!(total, cny(1234));
    let TradeState::Paid {
        channel_trade_no,
        paid_at_ms,
    } = state
    else {
        panic!("paid: {state:?}");
    };
    assert_eq!(channel_trade_no, query_id);
    assert_eq!(
        paid_at_ms,
        wire::parse_beijing_time(&fields["txnTime"]).unwrap()
    );
    w.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_wap_form_goes_as_mobile_and_without_a_front_url_when_none_was_given() {
    let w = world().await;
    let prepared = w
        .pay
        .prepare(&order(&trade_no(), Scenario::H5, None))
        .await
        .unwrap();
    let Prepared::Form { fields, .. } = prepared else {
        panic!("a WAP payment is a form");
    };
    assert_eq!(fields["channelType"], "08");
    assert!(!fields.contains_key("frontUrl"));
    assert!(matches!(
        w.pay
            .prepare(&order(
                &trade_no(),
                Scenario::Jsapi { openid: "o".into() },
                None
            ))
            .await,
        Err(ChannelError::Unsupported)
    ));
    w.sandbox.shutdown().await;
}

#[tokio::test]
async fn an_app_payment_answers_a_tn_and_is_paid_when_the_payer_pays() {
    let w = world().await;
    let trade_no = trade_no();
    let Prepared::Params(params) = w
        .pay
        .prepare(&order(&trade_no, Scenario::App, None))
        .await
        .unwrap()
    else {
        panic!("an APP payment is a tn");
    };
    let tn = &params["tn"];
    assert_eq!(tn.len(), 21);
    assert!(tn.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(
        w.pay.query(&trade_no).await.unwrap(),
        TradeState::WaitingPayment
    );
    assert_eq!(w.pay.close(&trade_no).await, Ok(()));
    w.payer(json!({"out_trade_no": trade_no.as_str(), "action": "pay"}))
        .await;
    query_id_of(&w, &trade_no).await;
    assert!(matches!(
        w.pay.close(&trade_no).await,
        Err(ChannelError::Rejected(_))
    ));
    w.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_qr_code_is_applied_for_paid_by_the_payer_notified_and_queried_paid() {
    let w = world().await;
    let trade_no = trade_no();
    let Prepared::CodeUrl(code) = w
        .pay
        .prepare(&order(&trade_no, Scenario::Native, None))
        .await
        .unwrap()
    else {
        panic!("a Native payment is a QR code");
    };
    assert!(code.starts_with("https://qr.95516.com/"), "{code}");
    assert_eq!(
        w.pay
            .query(&TradeNo::parse("P20261129000000000nosuchtrd").unwrap())
            .await
            .unwrap(),
        TradeState::NotFound
    );
    w.payer(json!({"code_url": code, "action": "pay"})).await;
    let body = w.notification(trade_no.as_str(), 0).await;
    let event = w.read(&body).unwrap();
    let query_id = query_id_of(&w, &trade_no).await;
    assert!(
        matches!(event, CallbackEvent::Payment { state: TradeState::Paid { ref channel_trade_no, .. }, .. } if *channel_trade_no == query_id)
    );
    w.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_pay_code_pays_at_once_or_is_declined_when_the_payer_arranged_it() {
    let w = world().await;
    let paid = trade_no();
    let query_id = w.paid_by_code(&paid, 500).await;
    assert_eq!(query_id, query_id_of(&w, &paid).await);
    w.payer(json!({"auth_code": PAY_CODE, "action": "fail"}))
        .await;
    let declined = trade_no();
    let outcome = w.pay.pay(&pay_request(&declined, 500)).await.unwrap();
    assert!(
        matches!(outcome, PayOutcome::Declined(DeclineReason::Other(ref why)) if why.starts_with("61:")),
        "{outcome:?}"
    );
    assert_eq!(w.pay.query(&declined).await.unwrap(), TradeState::Closed);
    w.sandbox.shutdown().await;
}
