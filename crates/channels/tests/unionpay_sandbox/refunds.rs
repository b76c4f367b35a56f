//! Money back (partial refunds, a same-day void) and what faults do.

use crate::support::*;

#[tokio::test]
async fn two_partial_refunds_go_through_and_are_queried_and_notified_and_a_third_beyond_is_refused()
{
    let w = world().await;
    let trade_no = trade_no();
    w.paid_by_code(&trade_no, 1234).await;
    let first = RefundNo::mint(chrono::Utc::now().timestamp_millis());
    let second = RefundNo::mint(chrono::Utc::now().timestamp_millis() + 1);
    assert_eq!(
        w.pay.refund(&refund_request(&trade_no, &first, 300)).await,
        Ok(RefundOutcome::Processing)
    );
    assert_eq!(
        w.pay.refund(&refund_request(&trade_no, &second, 900)).await,
        Ok(RefundOutcome::Processing)
    );
    for refund_no in [&first, &second] {
        let outcome = w.pay.query_refund(refund_no, &trade_no).await.unwrap();
        assert!(
            matches!(
                outcome,
                RefundOutcome::Succeeded {
                    channel_refund_no: Some(_)
                }
            ),
            "{outcome:?}"
        );
    }
    let body = w.notification(first.as_str(), 0).await;
    let CallbackEvent::Refund {
        refund_no,
        trade_no: named,
        refund,
        outcome,
    } = w.read(&body).unwrap()
    else {
        panic!("a refund notification");
    };
    assert_eq!(
        (refund_no, named, refund),
        (
            first.clone(),
            trade_no.clone(),
            RefundAmount::This(cny(300))
        )
    );
    assert!(matches!(outcome, RefundOutcome::Succeeded { .. }));
    let third = RefundNo::mint(chrono::Utc::now().timestamp_millis() + 2);
    let beyond = w.pay.refund(&refund_request(&trade_no, &third, 35)).await;
    assert!(
        matches!(beyond, Err(ChannelError::Rejected(ref why)) if why.starts_with("30:")),
        "{beyond:?}"
    );
    w.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_trade_of_the_day_is_voided_and_then_reads_closed() {
    let w = world().await;
    let trade_no = trade_no();
    w.paid_by_code(&trade_no, 800).await;
    assert_eq!(w.pay.cancel(&trade_no).await, Ok(()));
    assert_eq!(w.pay.query(&trade_no).await.unwrap(), TradeState::Closed);
    let void_order = format!("V{}", trade_no.as_str());
    let event = w.read(&w.notification(&void_order, 0).await).unwrap();
    assert!(
        matches!(event, CallbackEvent::Payment { state: TradeState::Closed, ref trade_no, .. } if *trade_no == trade_no.clone())
    );
    w.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_timeout_is_an_unknown_outcome_that_a_query_settles() {
    let w = world().await;
    let trade_no = trade_no();
    w.post_json(
        "/sandbox/faults",
        json!({"fault": "timeout", "out_trade_no": trade_no.as_str(), "delay_ms": 3000}),
    )
    .await;
    let outcome = w.pay.pay(&pay_request(&trade_no, 700)).await;
    assert!(
        matches!(outcome, Err(ChannelError::Unknown(_))),
        "{outcome:?}"
    );
    query_id_of(&w, &trade_no).await;
    w.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_forged_notification_is_refused_and_the_genuine_one_after_it_taken() {
    let w = world().await;
    let trade_no = trade_no();
    w.post_json(
        "/sandbox/faults",
        json!({"fault": "forged_callback", "out_trade_no": trade_no.as_str()}),
    )
    .await;
    w.paid_by_code(&trade_no, 600).await;
    let forged = w.notification(trade_no.as_str(), 0).await;
    assert!(matches!(w.read(&forged), Err(CallbackRefusal::Forged(_))));
    let genuine = w.notification(trade_no.as_str(), 1).await;
    assert!(matches!(
        w.read(&genuine),
        Ok(CallbackEvent::Payment { .. })
    ));
    // A notification signed by a certificate that is not UnionPay's is forged too.
    let mut fields = wire::parse_form(&genuine);
    fields.insert(
        "signPubKeyCert".into(),
        w.sandbox.credentials.sign_cert_pem.clone(),
    );
    assert!(matches!(
        w.read(wire::encode_form(&fields).as_bytes()),
        Err(CallbackRefusal::Forged(_))
    ));
    assert_eq!(w.pay.callback_reply(Ok(())).body, "ok");
    w.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_server_error_is_an_unknown_outcome_and_the_trade_was_not_opened() {
    let w = world().await;
    let trade_no = trade_no();
    w.post_json(
        "/sandbox/faults",
        json!({"fault": "server_error", "out_trade_no": trade_no.as_str()}),
    )
    .await;
    let outcome = w.pay.pay(&pay_request(&trade_no, 700)).await;
    assert!(
        matches!(outcome, Err(ChannelError::Unknown(ref why)) if why.contains("500")),
        "{outcome:?}"
    );
    assert_eq!(w.pay.query(&trade_no).await.unwrap(), TradeState::NotFound);
    w.sandbox.shutdown().await;
}

#[tokio::test]
async fn an_answer_signed_with_any_certificate_but_unionpays_is_not_believed() {
    let w = world().await;
    let trade_no = trade_no();
    // A server that answers "paid" signed with the merchant's own certificate and key.
    let c = &w.sandbox.credentials;
    let key = paygate_domain::sign::RsaPrivateKey::from_text(&c.sign_key_pem).unwrap();
    let mut fields: std::collections::BTreeMap<String, String> = [
        ("respCode", "00"),
        ("origRespCode", "00"),
        ("orderId", trade_no.as_str()),
        ("merId", &c.mer_id),
        ("queryId", "201511291000000000001"),
        ("txnTime", "20261129100000"),
        ("signPubKeyCert", &c.sign_cert_pem),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let signature = sign::sign(&key, &fields).unwrap();
    fields.insert("signature".into(), signature);
    let impostor = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_body_string(wire::write_answer(&fields)),
        )
        .mount(&impostor)
        .await;
    let mut config = w.pay.config().clone();
    config.query_url = format!("{}/gateway/api/queryTrans.do", impostor.uri());
    let fooled = paygate_channels::unionpay::UnionPay::new(config).unwrap();
    let answer = fooled.query(&trade_no).await;
    assert!(
        matches!(answer, Err(ChannelError::Unknown(ref why)) if why.contains("not trusted")),
        "{answer:?}"
    );
    w.sandbox.shutdown().await;
}
