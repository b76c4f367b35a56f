//! A callback is taken only when WeChat Pay signed it recently, for this account; the answer
//! follows WeChat Pay's current documentation.

use std::collections::BTreeMap;

use paygate_channels::wechat::v3_auth::response_message;
use paygate_channels::{
    CallbackEvent, CallbackRefusal, CallbackReply, CallbackRequest, Channel, RefundAmount,
    RefundOutcome, TradeState,
};
use paygate_domain::sign::{RsaPrivateKey, SignKey};
use serde_json::{json, Value};

use crate::operations::transaction;
use crate::support::*;

const REFUND_ID: &str = "50000000382019052709732678859";

fn receive(
    fx: &Fixture,
    kind: &str,
    (headers, body): &(BTreeMap<String, String>, String),
    now_secs: i64,
) -> Result<CallbackEvent, CallbackRefusal> {
    fx.pay.parse_callback(&CallbackRequest {
        kind,
        headers,
        body: body.as_bytes(),
        now_ms: now_secs * 1000 + 999,
    })
}

fn paid(resource: &Value, timestamp: i64) -> (BTreeMap<String, String>, String) {
    callback(
        "TRANSACTION.SUCCESS",
        "transaction",
        resource,
        PUB_KEY_ID,
        timestamp,
    )
}

fn refund_resource(status: &str, mchid: &str) -> Value {
    json!({
        "mchid": mchid, "out_trade_no": TRADE_NO, "transaction_id": TRANSACTION_ID,
        "out_refund_no": REFUND_NO, "refund_id": REFUND_ID, "refund_status": status,
        "success_time": "2026-11-29T21:00:05+08:00", "user_received_account": "招商银行信用卡0403",
        "amount": {"total": 1234, "refund": 500, "payer_total": 1234, "payer_refund": 500, "currency": "CNY"}
    })
}

const NOW: i64 = 1_795_953_700;

#[tokio::test]
async fn a_signed_payment_callback_reads_as_the_payment() {
    let fx = Fixture::new(Mode::PublicKeyId).await;
    let event = receive(&fx, "pay", &paid(&transaction("SUCCESS"), NOW), NOW);
    assert_eq!(
        event,
        Ok(CallbackEvent::Payment {
            trade_no: trade_no(),
            total: cny(1234),
            state: TradeState::Paid {
                channel_trade_no: TRANSACTION_ID.into(),
                paid_at_ms: 1_795_953_662_000
            },
        })
    );
}

#[tokio::test]
async fn signed_refund_callbacks_read_as_the_refund_and_its_outcome() {
    let fx = Fixture::new(Mode::PublicKeyId).await;
    for (event_type, status, outcome) in [
        (
            "REFUND.SUCCESS",
            "SUCCESS",
            RefundOutcome::Succeeded {
                channel_refund_no: Some(REFUND_ID.into()),
            },
        ),
        (
            "REFUND.CLOSED",
            "CLOSED",
            RefundOutcome::Failed("CLOSED: the refund was closed".into()),
        ),
        (
            "REFUND.ABNORMAL",
            "ABNORMAL",
            RefundOutcome::Failed(
                "ABNORMAL: the payer's account or card could not take the refund".into(),
            ),
        ),
    ] {
        let sent = callback(
            event_type,
            "refund",
            &refund_resource(status, MCHID),
            PUB_KEY_ID,
            NOW,
        );
        assert_eq!(
            receive(&fx, "refund", &sent, NOW),
            Ok(CallbackEvent::Refund {
                refund_no: refund_no(),
                trade_no: trade_no(),
                refund: RefundAmount::This(cny(500)),
                outcome,
            }),
            "{event_type}"
        );
    }
}

#[tokio::test]
async fn callbacks_verify_in_certificate_serial_mode() {
    let fx = Fixture::new(Mode::CertificateSerial).await;
    let sent = callback(
        "TRANSACTION.SUCCESS",
        "transaction",
        &transaction("SUCCESS"),
        CERT_SERIAL,
        NOW,
    );
    assert!(matches!(
        receive(&fx, "pay", &sent, NOW),
        Ok(CallbackEvent::Payment { .. })
    ));
    let under_public_key_id = paid(&transaction("SUCCESS"), NOW);
    assert!(matches!(
        receive(&fx, "pay", &under_public_key_id, NOW),
        Err(CallbackRefusal::Forged(_))
    ));
}

#[tokio::test]
async fn a_callback_not_signed_by_wechat_pay_is_forged() {
    let fx = Fixture::new(Mode::PublicKeyId).await;
    let (headers, body) = paid(&transaction("SUCCESS"), NOW);

    let altered = (
        headers.clone(),
        body.replace("TRANSACTION.SUCCESS", "TRANSACTION.SUCCES5"),
    );
    let mut by_another_key = headers.clone();
    let message = response_message(NOW, &headers["wechatpay-nonce"], &body);
    let impostor = SignKey::Rsa2(RsaPrivateKey::generate().unwrap());
    by_another_key.insert(
        "wechatpay-signature".into(),
        impostor.sign_string(&message).unwrap(),
    );
    // WeChat Pay probes that merchants verify by sending signatures like this one.
    let mut probe = headers.clone();
    probe.insert(
        "wechatpay-signature".into(),
        "WECHATPAY/SIGNTEST/ZHVtbXk=".into(),
    );
    let mut unknown_serial = headers.clone();
    unknown_serial.insert("wechatpay-serial".into(), "PUB_KEY_ID_NOT_OURS".into());
    let mut unsigned = headers.clone();
    unsigned.remove("wechatpay-signature");

    for (case, headers) in [
        ("altered body", altered.0),
        ("another key", by_another_key),
        ("signature probe", probe),
        ("unknown serial", unknown_serial),
        ("unsigned", unsigned),
    ] {
        let body = if case == "altered body" {
            altered.1.clone()
        } else {
            body.clone()
        };
        let refused = receive(&fx, "pay", &(headers, body), NOW);
        assert!(
            matches!(refused, Err(CallbackRefusal::Forged(_))),
            "{case}: {refused:?}"
        );
    }
}

#[tokio::test]
async fn a_callback_signed_more_than_five_minutes_from_now_is_stale() {
    let fx = Fixture::new(Mode::PublicKeyId).await;
    let resource = transaction("SUCCESS");
    assert_eq!(
        receive(&fx, "pay", &paid(&resource, NOW - 301), NOW),
        Err(CallbackRefusal::Stale)
    );
    assert_eq!(
        receive(&fx, "pay", &paid(&resource, NOW + 301), NOW),
        Err(CallbackRefusal::Stale)
    );
    assert!(receive(&fx, "pay", &paid(&resource, NOW - 300), NOW).is_ok());
    assert!(receive(&fx, "pay", &paid(&resource, NOW + 300), NOW).is_ok());
}

#[tokio::test]
async fn a_callback_for_another_merchant_or_app_is_for_the_wrong_account() {
    let fx = Fixture::new(Mode::PublicKeyId).await;
    let mut other_mchid = transaction("SUCCESS");
    other_mchid["mchid"] = json!("1900000002");
    let mut other_appid = transaction("SUCCESS");
    other_appid["appid"] = json!("wx0000000000000000");
    let other_refund = callback(
        "REFUND.SUCCESS",
        "refund",
        &refund_resource("SUCCESS", "1900000002"),
        PUB_KEY_ID,
        NOW,
    );
    for (case, refused) in [
        ("mchid", receive(&fx, "pay", &paid(&other_mchid, NOW), NOW)),
        ("appid", receive(&fx, "pay", &paid(&other_appid, NOW), NOW)),
        ("refund mchid", receive(&fx, "refund", &other_refund, NOW)),
    ] {
        assert!(
            matches!(refused, Err(CallbackRefusal::WrongAccount(_))),
            "{case}: {refused:?}"
        );
    }
}

#[tokio::test]
async fn a_refund_event_at_the_payment_address_is_refused() {
    let fx = Fixture::new(Mode::PublicKeyId).await;
    let sent = callback(
        "REFUND.SUCCESS",
        "refund",
        &refund_resource("SUCCESS", MCHID),
        PUB_KEY_ID,
        NOW,
    );
    assert!(matches!(
        receive(&fx, "pay", &sent, NOW),
        Err(CallbackRefusal::Malformed(_))
    ));
}

#[tokio::test]
async fn wechat_pay_is_answered_204_when_taken_and_a_fail_body_when_not() {
    let fx = Fixture::new(Mode::PublicKeyId).await;
    assert_eq!(
        fx.pay.callback_reply(Ok(())),
        CallbackReply {
            status: 204,
            content_type: "text/plain; charset=utf-8",
            body: String::new()
        }
    );
    let forged = CallbackRefusal::Forged("the signature does not verify".into());
    assert_eq!(
        fx.pay.callback_reply(Err(&forged)),
        CallbackReply::json(
            401,
            r#"{"code":"FAIL","message":"signature invalid: the signature does not verify"}"#
                .into()
        )
    );
    let mismatch = CallbackRefusal::Mismatch("amount".into());
    assert_eq!(fx.pay.callback_reply(Err(&mismatch)).status, 400);
    assert_eq!(
        fx.pay
            .callback_reply(Err(&CallbackRefusal::Unavailable))
            .status,
        500
    );
}
