//! Answers that cannot be trusted leave the outcome unknown; requests Alipay refuses are
//! rejected; a configuration that cannot work is refused at start. Certificate mode names the
//! certificates in every request and checks which certificate signed each answer.

use paygate_channels::alipay::{cert, AlipayKey, AlipayPay, ConfigError};
use paygate_channels::{Channel, ChannelError, TradeState};
use paygate_domain::sign::RsaPrivateKey;
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair};
use serde_json::json;

use crate::support::*;

fn waiting() -> serde_json::Value {
    json!({"code": "10000", "msg": "Success", "trade_no": ALIPAY_TRADE_NO,
        "out_trade_no": TRADE_NO, "trade_status": "WAIT_BUYER_PAY"})
}

async fn query_unknown(f: &Fixture) -> String {
    match f.pay.query(&trade_no()).await {
        Err(ChannelError::Unknown(why)) => why,
        other => panic!("expected an unknown outcome, got {other:?}"),
    }
}

#[tokio::test]
async fn a_success_signed_by_another_key_or_unsigned_is_not_believed() {
    let f = Fixture::new().await;
    f.answer("alipay.trade.query", waiting(), Signing::Forged)
        .await;
    assert_eq!(
        query_unknown(&f).await,
        "Alipay's alipay.trade.query answer does not verify with Alipay's key"
    );

    let f = Fixture::new().await;
    f.answer("alipay.trade.query", waiting(), Signing::Unsigned)
        .await;
    assert_eq!(
        query_unknown(&f).await,
        "Alipay's alipay.trade.query answer claims success without a signature"
    );
}

#[tokio::test]
async fn service_unavailable_and_unknown_codes_are_unknown_outcomes() {
    let f = Fixture::new().await;
    let answer = json!({"code": "20000", "msg": "Service Currently Unavailable",
        "sub_code": "isp.unknow-error", "sub_msg": "系统繁忙"});
    f.answer("alipay.trade.query", answer, Signing::Alipay)
        .await;
    assert_eq!(
        query_unknown(&f).await,
        "Alipay's alipay.trade.query answer is 20000 系统繁忙"
    );

    let f = Fixture::new().await;
    f.answer(
        "alipay.trade.query",
        json!({"code": "55555", "msg": "?"}),
        Signing::Alipay,
    )
    .await;
    assert_eq!(
        query_unknown(&f).await,
        "Alipay's alipay.trade.query answer has the unknown code \"55555\""
    );
}

#[tokio::test]
async fn http_errors_and_bodies_that_are_not_answers_are_unknown_outcomes() {
    let f = Fixture::new().await;
    f.answer_raw(502, "Bad Gateway").await;
    assert_eq!(
        query_unknown(&f).await,
        "Alipay answered HTTP 502 Bad Gateway"
    );

    let f = Fixture::new().await;
    f.answer_raw(200, "<html>maintenance</html>").await;
    assert_eq!(
        query_unknown(&f).await,
        "Alipay's alipay.trade.query answer has no response"
    );
}

#[tokio::test]
async fn a_timeout_or_a_refused_connection_is_an_unknown_outcome() {
    let f = Fixture::with_config(|c| c.http_timeout_ms = 200).await;
    f.answer_with(
        "alipay.trade.query",
        waiting(),
        Signing::Alipay,
        None,
        1_000,
    )
    .await;
    assert!(query_unknown(&f).await.contains("timed out"));

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap();
    drop(closed);
    let pay = AlipayPay::new(config(&format!("http://{address}/gateway.do"))).unwrap();
    assert!(matches!(
        pay.query(&trade_no()).await,
        Err(ChannelError::Unknown(why)) if why.contains("failed")
    ));
}

#[tokio::test]
async fn a_request_signed_with_the_wrong_key_is_rejected_as_alipay_says() {
    let f = Fixture::with_config(|c| c.app_private_key = other_key()).await;
    f.answer("alipay.trade.query", waiting(), Signing::Alipay)
        .await;

    assert_eq!(
        f.pay.query(&trade_no()).await,
        Err(ChannelError::Rejected(
            "isv.invalid-signature: 验签出错".into()
        ))
    );
}

/// A certificate for `key`, issued by a made-up Alipay CA.
fn certificate_of(key: &RsaPrivateKey) -> String {
    let mut name = DistinguishedName::new();
    name.push(DnType::CountryName, "CN");
    name.push(DnType::OrganizationName, "Paygate Test");
    name.push(DnType::CommonName, "Alipay (test)");
    let mut params = CertificateParams::default();
    params.distinguished_name = name;
    let pair = KeyPair::from_pem(&key.to_pem()).unwrap();
    params.self_signed(&pair).unwrap().pem()
}

const APP_CERT_SN: &str = "866efef280dec9137a87d047ac446315";
const ROOT_CERT_SN: &str = "687b59193f3f462dd5336e5abf83c5d8_02941eef3187dddf3d3b83462e1dfcf6";

async fn certificate_fixture() -> (Fixture, String) {
    let alipay_cert_pem = certificate_of(&alipay_key());
    let sn = cert::cert_sn(&alipay_cert_pem).unwrap();
    let pem = alipay_cert_pem.clone();
    let f = Fixture::with_config(move |c| {
        c.alipay_key = AlipayKey::Certificate {
            app_cert_sn: APP_CERT_SN.into(),
            alipay_root_cert_sn: ROOT_CERT_SN.into(),
            alipay_cert_pem: pem,
        }
    })
    .await;
    (f, sn)
}

#[tokio::test]
async fn certificate_mode_names_both_certificates_and_verifies_with_alipays() {
    let (f, sn) = certificate_fixture().await;
    f.answer_with(
        "alipay.trade.query",
        waiting(),
        Signing::Alipay,
        Some(&sn),
        0,
    )
    .await;

    assert_eq!(
        f.pay.query(&trade_no()).await,
        Ok(TradeState::WaitingPayment)
    );
    let (params, _) = f.only_request().await;
    assert_eq!(params["app_cert_sn"], APP_CERT_SN);
    assert_eq!(params["alipay_root_cert_sn"], ROOT_CERT_SN);
}

#[tokio::test]
async fn an_answer_signed_under_a_certificate_we_do_not_hold_is_not_believed() {
    let (f, sn) = certificate_fixture().await;
    f.answer_with(
        "alipay.trade.query",
        waiting(),
        Signing::Alipay,
        Some("0123456789abcdef0123456789abcdef"),
        0,
    )
    .await;

    assert_eq!(
        query_unknown(&f).await,
        format!(
            "Alipay's alipay.trade.query answer is signed by certificate \
             0123456789abcdef0123456789abcdef, not ours ({sn})"
        )
    );
}

#[test]
fn a_configuration_that_cannot_work_is_refused() {
    let refused = |edit: fn(&mut paygate_channels::alipay::AlipayConfig)| {
        let mut c = config("https://openapi.alipay.com/gateway.do");
        edit(&mut c);
        AlipayPay::new(c).err()
    };
    assert_eq!(
        refused(|c| c.gateway_url = "ftp://x/gateway.do".into()),
        Some(ConfigError::GatewayUrl("ftp://x/gateway.do".into()))
    );
    assert_eq!(
        refused(|c| c.notify_url = "https://gw.example/cb?x=1".into()),
        Some(ConfigError::NotifyUrl("https://gw.example/cb?x=1".into()))
    );
    assert_eq!(
        refused(|c| c.app_id = " ".into()),
        Some(ConfigError::Empty("app_id"))
    );
    assert_eq!(
        refused(|c| c.seller_id = Some(String::new())),
        Some(ConfigError::Empty("seller_id"))
    );
    assert_eq!(
        refused(|c| c.http_timeout_ms = 0),
        Some(ConfigError::Timeout)
    );
    assert!(matches!(
        refused(|c| c.alipay_key = AlipayKey::Certificate {
            app_cert_sn: APP_CERT_SN.into(),
            alipay_root_cert_sn: ROOT_CERT_SN.into(),
            alipay_cert_pem: "not a certificate".into(),
        }),
        Some(ConfigError::AlipayCert(_))
    ));
    assert_eq!(refused(|_| {}), None);
}
