//! What cannot be trusted is an unknown outcome, never a refusal and never a state; both ways
//! WeChat Pay names its key verify; the bill download is checked by its hash.

use paygate_channels::wechat::{PlatformKey, WechatConfig, WechatPay};
use paygate_channels::{Channel, ChannelError, TradeState};
use paygate_domain::sign::RsaPrivateKey;
use serde_json::json;

use crate::operations::transaction;
use crate::support::*;

fn query_path() -> String {
    format!("/v3/pay/transactions/out-trade-no/{TRADE_NO}")
}

async fn query_answered(status: u16, signing: Signing) -> Result<TradeState, ChannelError> {
    let fx = Fixture::new(Mode::PublicKeyId).await;
    let body = if status == 200 {
        transaction("SUCCESS")
    } else {
        json!({"code": "SYSTEM_ERROR", "message": "系统错误"})
    };
    fx.answer("GET", &query_path(), status, body, signing).await;
    fx.pay.query(&trade_no()).await
}

/// WeChat Pay answers the query with the paid transaction, genuinely signed.
async fn answer_paid(fx: &Fixture) {
    let body = transaction("SUCCESS");
    fx.answer("GET", &query_path(), 200, body, Signing::Good)
        .await;
}

fn is_unknown(outcome: &Result<TradeState, ChannelError>) -> bool {
    matches!(outcome, Err(ChannelError::Unknown(_)))
}

#[tokio::test]
async fn an_answer_that_is_not_signed_by_wechat_pay_is_an_unknown_outcome() {
    for signing in [
        Signing::Tampered,
        Signing::Unsigned,
        Signing::UnknownSerial,
        Signing::Stale,
    ] {
        let outcome = query_answered(200, signing).await;
        assert!(is_unknown(&outcome), "{signing:?}: {outcome:?}");
    }
    assert!(matches!(
        query_answered(200, Signing::Good).await,
        Ok(TradeState::Paid { .. })
    ));
}

#[tokio::test]
async fn a_server_error_is_an_unknown_outcome_even_when_signed() {
    assert!(is_unknown(&query_answered(500, Signing::Good).await));
    assert!(is_unknown(&query_answered(503, Signing::Unsigned).await));
}

#[tokio::test]
async fn a_refusal_keeps_wechat_pays_error_code() {
    let fx = Fixture::new(Mode::PublicKeyId).await;
    let error = json!({"code": "PARAM_ERROR", "message": "mchid参数错误"});
    fx.answer("GET", &query_path(), 400, error, Signing::Good)
        .await;
    assert_eq!(
        fx.pay.query(&trade_no()).await,
        Err(ChannelError::Rejected("PARAM_ERROR: mchid参数错误".into()))
    );
}

#[tokio::test]
async fn a_timeout_is_an_unknown_outcome() {
    let fx = Fixture::new(Mode::PublicKeyId).await;
    let body = transaction("SUCCESS").to_string();
    let late_ms = HTTP_TIMEOUT_MS + 1_000;
    fx.answer_text("GET", &query_path(), 200, body, Signing::Good, late_ms)
        .await;
    let outcome = fx.pay.query(&trade_no()).await;
    assert!(
        matches!(&outcome, Err(ChannelError::Unknown(why)) if why.contains("timed out")),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn no_server_at_all_is_an_unknown_outcome() {
    // Port 1 (tcpmux) has no listener on any machine these tests run on.
    let pay = WechatPay::new(config("http://127.0.0.1:1", &[Mode::PublicKeyId])).unwrap();
    assert!(is_unknown(&pay.query(&trade_no()).await));
}

#[tokio::test]
async fn a_request_signed_with_another_key_is_refused_by_wechat_pay_as_sign_error() {
    let fx = Fixture::new(Mode::PublicKeyId).await;
    answer_paid(&fx).await;
    let impostor = WechatConfig {
        merchant_private_key: RsaPrivateKey::generate().unwrap(),
        ..config(&fx.server.uri(), &[Mode::PublicKeyId])
    };
    let pay = WechatPay::new(impostor).unwrap();
    assert_eq!(
        pay.query(&trade_no()).await,
        Err(ChannelError::Rejected("SIGN_ERROR: 签名错误".into()))
    );
}

#[tokio::test]
async fn answers_verify_in_certificate_serial_mode_and_in_public_key_id_mode() {
    let paid = Ok(TradeState::Paid {
        channel_trade_no: TRANSACTION_ID.into(),
        paid_at_ms: 1_795_953_662_000,
    });
    for (known, signer) in [
        (vec![Mode::CertificateSerial], Mode::CertificateSerial),
        (vec![Mode::PublicKeyId], Mode::PublicKeyId),
        // While moving from certificates to the public key both are in force.
        (
            vec![Mode::CertificateSerial, Mode::PublicKeyId],
            Mode::CertificateSerial,
        ),
        (
            vec![Mode::CertificateSerial, Mode::PublicKeyId],
            Mode::PublicKeyId,
        ),
    ] {
        let fx = Fixture::with_keys(&known, signer).await;
        answer_paid(&fx).await;
        assert_eq!(
            fx.pay.query(&trade_no()).await,
            paid,
            "{known:?} {signer:?}"
        );
    }
    let fx = Fixture::with_keys(&[Mode::PublicKeyId], Mode::CertificateSerial).await;
    answer_paid(&fx).await;
    assert!(is_unknown(&fx.pay.query(&trade_no()).await));
}

#[test]
fn a_configuration_without_a_platform_key_or_with_a_short_apiv3_key_is_refused() {
    let base = config("https://api.mch.weixin.qq.com", &[Mode::PublicKeyId]);
    let no_keys = WechatConfig {
        platform: vec![PlatformKey::Certificates(vec![])],
        ..base.clone()
    };
    assert!(WechatPay::new(no_keys).is_err());
    let short = WechatConfig {
        apiv3_key: "too short".into(),
        ..base.clone()
    };
    assert!(WechatPay::new(short).is_err());
    let notify = WechatConfig {
        notify_base_url: "gw.example/callback".into(),
        ..base.clone()
    };
    assert!(WechatPay::new(notify).is_err());
    assert!(WechatPay::new(base).is_ok());
}

#[tokio::test]
async fn a_refusal_with_a_bad_signature_is_an_unknown_outcome_not_a_refusal() {
    let fx = Fixture::new(Mode::PublicKeyId).await;
    let error = json!({"code": "ORDER_NOT_EXIST", "message": "订单不存在"});
    fx.answer("GET", &query_path(), 404, error, Signing::Tampered)
        .await;
    assert!(is_unknown(&fx.pay.query(&trade_no()).await));
}

#[tokio::test]
async fn without_a_v2_key_the_channel_does_not_charge_at_once() {
    let fx = Fixture::new(Mode::PublicKeyId).await;
    let info = fx.pay.info();
    assert_eq!(info.name, "wechat");
    assert_eq!(info.currencies, [paygate_domain::Currency::Cny]);
    assert!(!info.pays_at_once);
    assert_eq!(info.rules, Some(&paygate_channels::rules::WECHAT));
    assert_eq!(
        fx.pay.cancel(&trade_no()).await,
        Err(ChannelError::Unsupported)
    );
}
