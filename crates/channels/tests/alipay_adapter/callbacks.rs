//! Notifications: verified with Alipay's key over every field but `sign` and `sign_type`,
//! refused when forged or for another app or seller, and read as a payment or a refund.

use std::collections::BTreeMap;

use paygate_channels::{
    CallbackEvent, CallbackRefusal, CallbackReply, CallbackRequest, Channel, RefundAmount,
    RefundOutcome, TradeState,
};

use crate::support::*;

fn parse(f: &Fixture, body: &[u8]) -> Result<CallbackEvent, CallbackRefusal> {
    let headers = BTreeMap::from([(
        "content-type".to_owned(),
        "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
    )]);
    f.pay.parse_callback(&CallbackRequest {
        kind: "pay",
        headers: &headers,
        body,
        now_ms: PAID_AT_MS + 5_000,
    })
}

#[tokio::test]
async fn a_payment_notification_reads_as_paid() {
    let f = Fixture::new().await;
    let (_, body) = notification(&[], &alipay_key());

    assert_eq!(
        parse(&f, &body),
        Ok(CallbackEvent::Payment {
            trade_no: trade_no(),
            total: cny(8_888),
            state: TradeState::Paid {
                channel_trade_no: ALIPAY_TRADE_NO.into(),
                paid_at_ms: PAID_AT_MS
            }
        })
    );
}

#[tokio::test]
async fn waiting_and_closed_unpaid_trades_read_as_such() {
    let f = Fixture::new().await;
    let (_, waiting) = notification(
        &[("trade_status", "WAIT_BUYER_PAY"), ("gmt_payment", "")],
        &alipay_key(),
    );
    let (_, closed) = notification(
        &[
            ("trade_status", "TRADE_CLOSED"),
            ("gmt_payment", ""),
            ("gmt_close", "2026-11-29 21:30:00"),
        ],
        &alipay_key(),
    );

    let state = |body: &[u8]| match parse(&f, body) {
        Ok(CallbackEvent::Payment { state, .. }) => state,
        other => panic!("a payment, not {other:?}"),
    };
    assert_eq!(state(&waiting), TradeState::WaitingPayment);
    assert_eq!(state(&closed), TradeState::Closed);
}

#[tokio::test]
async fn a_notification_naming_a_refund_is_that_refunds_even_when_the_trade_closed() {
    let f = Fixture::new().await;
    for status in ["TRADE_SUCCESS", "TRADE_CLOSED"] {
        let (_, body) = notification(
            &[
                ("trade_status", status),
                ("out_biz_no", REFUND_NO),
                ("refund_fee", "30.00"),
                ("gmt_refund", "2026-11-29 20:10:00.123"),
            ],
            &alipay_key(),
        );

        assert_eq!(
            parse(&f, &body),
            Ok(CallbackEvent::Refund {
                refund_no: refund_no(),
                trade_no: trade_no(),
                refund: RefundAmount::TradeTotal(cny(3_000)),
                outcome: RefundOutcome::Succeeded {
                    channel_refund_no: None
                }
            })
        );
    }
}

#[tokio::test]
async fn a_forged_or_altered_notification_is_refused() {
    let f = Fixture::new().await;
    let (_, forged) = notification(&[], &other_key());
    assert!(matches!(
        parse(&f, &forged),
        Err(CallbackRefusal::Forged(_))
    ));

    let (fields, _) = notification(&[], &alipay_key());
    let mut altered = fields.clone();
    altered.insert("total_amount".into(), "0.01".into());
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&altered)
        .finish();
    assert_eq!(
        parse(&f, body.as_bytes()),
        Err(CallbackRefusal::Forged(
            "does not verify with Alipay's key".into()
        ))
    );

    let mut unsigned = fields;
    unsigned.remove("sign");
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&unsigned)
        .finish();
    assert_eq!(
        parse(&f, body.as_bytes()),
        Err(CallbackRefusal::Forged("no sign".into()))
    );
}

#[tokio::test]
async fn a_genuine_notification_for_another_app_or_seller_is_refused() {
    let f = Fixture::new().await;
    let (_, other_app) = notification(&[("app_id", "2021000000000001")], &alipay_key());
    assert_eq!(
        parse(&f, &other_app),
        Err(CallbackRefusal::WrongAccount(
            "app_id \"2021000000000001\" is not ours".into()
        ))
    );

    let (_, other_seller) = notification(&[("seller_id", "2088000000000001")], &alipay_key());
    assert_eq!(
        parse(&f, &other_seller),
        Err(CallbackRefusal::WrongAccount(
            "seller_id \"2088000000000001\" is not ours".into()
        ))
    );
}

#[tokio::test]
async fn a_notification_with_a_bad_amount_or_status_is_malformed() {
    let f = Fixture::new().await;
    let (_, bad_amount) = notification(&[("total_amount", "88.888")], &alipay_key());
    assert!(matches!(
        parse(&f, &bad_amount),
        Err(CallbackRefusal::Malformed(_))
    ));
    let (_, bad_status) = notification(&[("trade_status", "TRADE_PENDING")], &alipay_key());
    assert_eq!(
        parse(&f, &bad_status),
        Err(CallbackRefusal::Malformed(
            "unknown trade_status \"TRADE_PENDING\"".into()
        ))
    );
}

#[tokio::test]
async fn alipay_is_answered_success_or_fail_as_plain_text() {
    let f = Fixture::new().await;
    assert_eq!(
        f.pay.callback_reply(Ok(())),
        CallbackReply::text(200, "success")
    );
    let forged = CallbackRefusal::Forged("x".into());
    assert_eq!(
        f.pay.callback_reply(Err(&forged)),
        CallbackReply::text(401, "fail")
    );
    assert_eq!(
        f.pay.callback_reply(Err(&CallbackRefusal::Unavailable)),
        CallbackReply::text(500, "fail")
    );
}
