//! The WeChat Pay v2 micropay client against a mock WeChat that checks each request's
//! HMAC-SHA256 sign and answers signed (or forged) XML.

use chrono::NaiveDate;
use paygate_channels::wechat::micropay::{Micropay, REVERSE_ATTEMPTS_MAX};
use paygate_channels::wechat::v2_sign::{self, V2SignType};
use paygate_channels::wechat::v2_xml;
use paygate_channels::{ChannelError, DeclineReason, PayOutcome, PayRequest, Payer, TradeState};
use paygate_domain::secret::Secret;
use paygate_domain::{Amount, Currency, MerchantId, Money, PayCode, TradeNo, WechatPayCode};
use std::collections::BTreeMap;
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Match, Mock, MockServer, Request, Respond, ResponseTemplate};

const KEY: &str = "8934e7d15453e97507ef794cf7b0519d";
const OTHER_KEY: &str = "00000000000000000000000000000000";
const APPID: &str = "wx2421b1c4370ec43b";
const MCH_ID: &str = "10000100";
const TRADE_NO: &str = "P20261129101530000ABCDEFGHIJ";
const AUTH_CODE: &str = "134567890123456789";

fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// What we send on a call: our app and merchant, HMAC-SHA256, then the call's own fields.
fn sent_by_us(fields: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut sent = params(&[
        ("appid", APPID),
        ("mch_id", MCH_ID),
        ("sign_type", "HMAC-SHA256"),
    ]);
    sent.extend(params(fields));
    sent
}

/// Matches only a request signed with HMAC-SHA256 under `KEY` and saying so.
struct SignedWithOurKey;

impl Match for SignedWithOurKey {
    fn matches(&self, request: &Request) -> bool {
        let Ok(sent) = v2_xml::from_xml(&String::from_utf8_lossy(&request.body)) else {
            return false;
        };
        sent.get("sign_type").map(String::as_str) == Some("HMAC-SHA256")
            && v2_sign::verify(&sent, KEY, V2SignType::HmacSha256)
    }
}

/// WeChat's answer: our account's ids, `return_code` SUCCESS, the given fields, signed.
#[derive(Clone)]
struct Answer {
    fields: BTreeMap<String, String>,
    key: Option<&'static str>,
}

fn answer(pairs: &[(&str, &str)]) -> Answer {
    let mut fields = params(&[
        ("return_code", "SUCCESS"),
        ("return_msg", "OK"),
        ("appid", APPID),
        ("mch_id", MCH_ID),
        ("nonce_str", "IITRi8Iabbblz1Jc"),
    ]);
    fields.extend(params(pairs));
    Answer {
        fields,
        key: Some(KEY),
    }
}

impl Answer {
    fn signed_with(mut self, key: Option<&'static str>) -> Answer {
        self.key = key;
        self
    }
}

impl Respond for Answer {
    fn respond(&self, _request: &Request) -> ResponseTemplate {
        let mut fields = self.fields.clone();
        if let Some(key) = self.key {
            let sign = v2_sign::sign(&fields, key, V2SignType::HmacSha256);
            fields.insert("sign".into(), sign);
        }
        ResponseTemplate::new(200).set_body_string(v2_xml::to_xml(&fields))
    }
}

async fn wechat_answering(endpoint: &str, reply: Answer) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(endpoint))
        .and(SignedWithOurKey)
        .respond_with(reply)
        .mount(&server)
        .await;
    server
}

fn client(server: &MockServer) -> Micropay {
    Micropay::new(&server.uri(), APPID, MCH_ID, Secret::from(KEY), 2_000).with_reverse_pause_ms(1)
}

fn trade_no() -> TradeNo {
    TradeNo::parse(TRADE_NO).unwrap()
}

fn pay_request(payer: Payer) -> PayRequest {
    PayRequest {
        trade_no: trade_no(),
        merchant_id: MerchantId::parse("M100000000001").unwrap(),
        money: Money::new(Amount::from_minor(1_999).unwrap(), Currency::Cny),
        subject: "可乐 2 瓶".into(),
        payer,
        client_ip: Some("203.0.113.7".into()),
    }
}

fn wechat_code() -> Payer {
    Payer::WechatAuthCode(WechatPayCode::parse(AUTH_CODE).unwrap())
}

fn paid_answer() -> Answer {
    answer(&[
        ("result_code", "SUCCESS"),
        ("openid", "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"),
        ("trade_type", "MICROPAY"),
        ("bank_type", "OTHERS"),
        ("total_fee", "1999"),
        ("transaction_id", "4200000008201711292345678901"),
        ("out_trade_no", TRADE_NO),
        ("time_end", "20261129101530"),
    ])
}

fn failed_with(err_code: &str) -> Answer {
    answer(&[
        ("result_code", "FAIL"),
        ("err_code", err_code),
        ("err_code_des", "as WeChat says"),
    ])
}

fn utc_ms(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> i64 {
    NaiveDate::from_ymd_opt(y, mo, d)
        .unwrap()
        .and_hms_opt(h, mi, s)
        .unwrap()
        .and_utc()
        .timestamp_millis()
}

async fn sent_fields(server: &MockServer) -> Vec<BTreeMap<String, String>> {
    let requests = server.received_requests().await.unwrap();
    requests
        .iter()
        .map(|r| v2_xml::from_xml(&String::from_utf8_lossy(&r.body)).unwrap())
        .collect()
}

#[tokio::test]
async fn micropay_sends_exactly_the_signed_fields_and_a_success_is_paid_at_time_end() {
    let server = wechat_answering("/pay/micropay", paid_answer()).await;
    let outcome = client(&server).pay(&pay_request(wechat_code())).await;
    assert_eq!(
        outcome,
        Ok(PayOutcome::Paid {
            channel_trade_no: "4200000008201711292345678901".into(),
            // 10:15:30 in China Standard Time.
            paid_at_ms: utc_ms(2026, 11, 29, 2, 15, 30),
        })
    );
    let mut sent = sent_fields(&server).await.remove(0);
    assert!(v2_sign::verify(&sent, KEY, V2SignType::HmacSha256));
    sent.remove("sign");
    let nonce = sent.remove("nonce_str").unwrap();
    assert_eq!(nonce.len(), 32);
    assert_eq!(
        sent,
        sent_by_us(&[
            ("body", "可乐 2 瓶"),
            ("out_trade_no", TRADE_NO),
            ("total_fee", "1999"),
            ("auth_code", AUTH_CODE),
            ("spbill_create_ip", "203.0.113.7"),
        ])
    );
}

#[tokio::test]
async fn a_payer_entering_the_password_is_confirming() {
    let server = wechat_answering("/pay/micropay", failed_with("USERPAYING")).await;
    let outcome = client(&server).pay(&pay_request(wechat_code())).await;
    assert_eq!(outcome, Ok(PayOutcome::PayerConfirming));
}

#[tokio::test]
async fn business_failures_map_to_declines_rejections_or_unknown_outcomes() {
    let declined = |reason| Ok(PayOutcome::Declined(reason));
    let cases = [
        ("AUTH_CODE_INVALID", declined(DeclineReason::PayCodeInvalid)),
        ("AUTHCODEEXPIRE", declined(DeclineReason::PayCodeInvalid)),
        ("NOTENOUGH", declined(DeclineReason::InsufficientBalance)),
        (
            "ORDERCLOSED",
            declined(DeclineReason::Other("ORDERCLOSED".into())),
        ),
        (
            "PARAM_ERROR",
            Err(ChannelError::Rejected(
                "PARAM_ERROR \"as WeChat says\"".into(),
            )),
        ),
        (
            "SYSTEMERROR",
            Err(ChannelError::Unknown(
                "SYSTEMERROR \"as WeChat says\"".into(),
            )),
        ),
        (
            "BANKERROR",
            Err(ChannelError::Unknown("BANKERROR \"as WeChat says\"".into())),
        ),
        (
            "ORDERPAID",
            Err(ChannelError::Unknown("ORDERPAID \"as WeChat says\"".into())),
        ),
    ];
    for (err_code, expected) in cases {
        let server = wechat_answering("/pay/micropay", failed_with(err_code)).await;
        let outcome = client(&server).pay(&pay_request(wechat_code())).await;
        assert_eq!(outcome, expected, "{err_code}");
    }
}

#[tokio::test]
async fn a_forged_or_unsigned_answer_is_an_unknown_outcome() {
    for (key, why) in [
        (
            Some(OTHER_KEY),
            "/pay/micropay: the answer's sign does not verify",
        ),
        (None, "/pay/micropay: the answer's sign does not verify"),
    ] {
        let server = wechat_answering("/pay/micropay", paid_answer().signed_with(key)).await;
        let outcome = client(&server).pay(&pay_request(wechat_code())).await;
        assert_eq!(outcome, Err(ChannelError::Unknown(why.into())), "{key:?}");
    }
}

#[tokio::test]
async fn a_signed_answer_for_another_trade_account_or_amount_is_not_trusted() {
    let edits: [(&str, &str, &str); 3] = [
        (
            "out_trade_no",
            "P20261129101530000ZZZZZZZZZZ",
            "the answer is about another trade",
        ),
        (
            "mch_id",
            "10000999",
            "/pay/micropay: the answer is for another account",
        ),
        (
            "total_fee",
            "1",
            "the answer's total_fee is not the order's",
        ),
    ];
    for (field, value, why) in edits {
        let mut reply = paid_answer();
        reply.fields.insert(field.into(), value.into());
        let server = wechat_answering("/pay/micropay", reply).await;
        let outcome = client(&server).pay(&pay_request(wechat_code())).await;
        assert_eq!(outcome, Err(ChannelError::Unknown(why.into())), "{field}");
    }
}

#[tokio::test]
async fn a_communication_failure_or_a_timeout_is_an_unknown_outcome() {
    let mut refused = answer(&[]);
    refused.fields.insert("return_code".into(), "FAIL".into());
    refused
        .fields
        .insert("return_msg".into(), "签名失败".into());
    let server = wechat_answering("/pay/micropay", refused.signed_with(None)).await;
    let outcome = client(&server).pay(&pay_request(wechat_code())).await;
    assert_eq!(
        outcome,
        Err(ChannelError::Unknown(
            "/pay/micropay: return_code \"FAIL\" \"签名失败\"".into()
        ))
    );

    let slow = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&slow)
        .await;
    let impatient = Micropay::new(&slow.uri(), APPID, MCH_ID, Secret::from(KEY), 200);
    let outcome = impatient.pay(&pay_request(wechat_code())).await;
    assert!(
        matches!(&outcome, Err(ChannelError::Unknown(why)) if why.starts_with("/pay/micropay: ")),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_wallet_pay_code_is_never_sent_to_wechat() {
    let server = wechat_answering("/pay/micropay", paid_answer()).await;
    let ours = Payer::AuthCode(PayCode::parse("880000000000000042").unwrap());
    let outcome = client(&server).pay(&pay_request(ours)).await;
    assert_eq!(
        outcome,
        Ok(PayOutcome::Declined(DeclineReason::PayCodeInvalid))
    );
    assert!(sent_fields(&server).await.is_empty());
}

#[tokio::test]
async fn order_query_maps_each_trade_state() {
    let paid = TradeState::Paid {
        channel_trade_no: "4200000008201711292345678901".into(),
        paid_at_ms: utc_ms(2026, 11, 29, 2, 15, 30),
    };
    let cases = [
        ("SUCCESS", paid.clone()),
        ("REFUND", paid),
        ("NOTPAY", TradeState::WaitingPayment),
        ("PAYERROR", TradeState::WaitingPayment),
        ("USERPAYING", TradeState::PayerConfirming),
        ("CLOSED", TradeState::Closed),
        ("REVOKED", TradeState::Closed),
    ];
    for (trade_state, expected) in cases {
        let mut reply = paid_answer();
        reply
            .fields
            .insert("trade_state".into(), trade_state.into());
        let server = wechat_answering("/pay/orderquery", reply).await;
        let state = client(&server).query(&trade_no()).await;
        assert_eq!(state, Ok(expected), "{trade_state}");
        let mut sent = sent_fields(&server).await.remove(0);
        sent.remove("sign");
        sent.remove("nonce_str");
        assert_eq!(sent, sent_by_us(&[("out_trade_no", TRADE_NO),]));
    }
}

#[tokio::test]
async fn order_query_of_an_order_wechat_never_saw_is_not_found() {
    let server = wechat_answering("/pay/orderquery", failed_with("ORDERNOTEXIST")).await;
    assert_eq!(
        client(&server).query(&trade_no()).await,
        Ok(TradeState::NotFound)
    );
    let server = wechat_answering("/pay/orderquery", failed_with("SYSTEMERROR")).await;
    assert_eq!(
        client(&server).query(&trade_no()).await,
        Err(ChannelError::Unknown(
            "SYSTEMERROR \"as WeChat says\"".into()
        ))
    );
}

#[tokio::test]
async fn reverse_is_sent_again_while_wechat_asks_to_recall_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/secapi/pay/reverse"))
        .and(SignedWithOurKey)
        .respond_with(answer(&[
            ("result_code", "FAIL"),
            ("err_code", "SYSTEMERROR"),
            ("recall", "Y"),
        ]))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/secapi/pay/reverse"))
        .and(SignedWithOurKey)
        .respond_with(answer(&[("result_code", "SUCCESS"), ("recall", "N")]))
        .mount(&server)
        .await;
    assert_eq!(client(&server).reverse(&trade_no()).await, Ok(()));
    let sent = sent_fields(&server).await;
    assert_eq!(sent.len(), 3);
    assert!(sent
        .iter()
        .all(|s| s.get("out_trade_no").map(String::as_str) == Some(TRADE_NO)));
}

#[tokio::test]
async fn a_reverse_wechat_keeps_asking_to_recall_is_given_up_as_unknown() {
    let recall = answer(&[("result_code", "SUCCESS"), ("recall", "Y")]);
    let server = wechat_answering("/secapi/pay/reverse", recall).await;
    assert_eq!(
        client(&server).reverse(&trade_no()).await,
        Err(ChannelError::Unknown(format!(
            "reverse unsettled after {REVERSE_ATTEMPTS_MAX} attempts: recall=Y"
        )))
    );
    assert_eq!(
        sent_fields(&server).await.len(),
        REVERSE_ATTEMPTS_MAX as usize
    );
}

#[tokio::test]
async fn a_reverse_wechat_refuses_is_rejected_at_once() {
    let server = wechat_answering("/secapi/pay/reverse", failed_with("REVERSE_EXPIRE")).await;
    assert_eq!(
        client(&server).reverse(&trade_no()).await,
        Err(ChannelError::Rejected(
            "REVERSE_EXPIRE \"as WeChat says\"".into()
        ))
    );
    assert_eq!(sent_fields(&server).await.len(), 1);
}
