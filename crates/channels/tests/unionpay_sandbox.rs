//! The adapter against the UnionPay sandbox, configured only from the credentials file the
//! sandbox writes: web and WAP forms, APP `tn`, QR apply and pay codes are paid, queried and
//! notified; refunds and a same-day void go through; faults leave outcomes to queries and
//! forged notifications are refused; the reconciliation file of a clearing day (23:00 to 23:00)
//! holds exactly that day's transactions. Each side checks the other's signatures.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use paygate_channels::unionpay::{sign, wire, UnionPay, UnionpayConfig};
use paygate_channels::{
    BillLineKind, CallbackEvent, CallbackRefusal, CallbackRequest, Channel, ChannelError,
    DeclineReason, PayOutcome, PayRequest, Payer, PrepareRequest, Prepared, RefundOutcome,
    RefundRequest, Scenario, TradeState,
};
use paygate_domain::sign::RsaPrivateKey;
use paygate_domain::{Amount, Currency, MerchantId, Money, RefundNo, TradeNo, UnionpayPayCode};
use paygate_sandbox::{start_unionpay, RunningUnionpaySandbox, UnionpaySandboxConfig};
use serde_json::{json, Value};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const PAY_CODE: &str = "6225000000000000001";

struct World {
    sandbox: RunningUnionpaySandbox,
    pay: UnionPay,
    /// Where the sandbox posts notifications: it records them and answers 200, as we would.
    receiver: MockServer,
    base_url: String,
    _data_dir: tempfile::TempDir,
}

async fn world() -> World {
    let data_dir = tempfile::tempdir().unwrap();
    let sandbox = start_unionpay(UnionpaySandboxConfig {
        data_dir: data_dir.path().to_path_buf(),
        callback_delays_ms: vec![100, 100],
        ..UnionpaySandboxConfig::default()
    })
    .await
    .unwrap();
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .mount(&receiver)
        .await;
    // The credentials as a gateway would read them: from the file.
    let text = std::fs::read_to_string(&sandbox.credentials_path).unwrap();
    let c: Value = serde_json::from_str(&text).unwrap();
    let field = |name: &str| c[name].as_str().unwrap().to_owned();
    let config = UnionpayConfig {
        front_url: field("front_url"),
        back_url: field("back_url"),
        app_url: field("app_url"),
        query_url: field("query_url"),
        file_url: field("file_url"),
        mer_id: field("mer_id"),
        sign_key: RsaPrivateKey::from_text(&field("sign_key_pem")).unwrap(),
        cert_id: field("cert_id"),
        verify_cert_pem: field("verify_cert_pem"),
        notify_url: format!("{}/callback/unionpay/pay", receiver.uri()),
        http_timeout_ms: 1_000,
    };
    World {
        base_url: format!("http://{}", sandbox.local_addr),
        pay: UnionPay::new(config).unwrap(),
        sandbox,
        receiver,
        _data_dir: data_dir,
    }
}

fn cny(fen: i64) -> Money {
    Money::new(Amount::from_minor(fen).unwrap(), Currency::Cny)
}

/// A trade number made now, as the core mints them.
fn trade_no() -> TradeNo {
    TradeNo::mint(chrono::Utc::now().timestamp_millis())
}

/// A trade number whose embedded creation time is `utc` (`yyyyMMddHHmmss`): UnionPay sees it
/// sent at that moment.
fn trade_no_at(utc: &str) -> TradeNo {
    TradeNo::parse(&format!("P{utc}000{}", &trade_no().as_str()[18..])).unwrap()
}

fn refund_no_at(utc: &str) -> RefundNo {
    RefundNo::parse(&format!("R{utc}000abcdefghij")).unwrap()
}

fn order(trade_no: &TradeNo, scenario: Scenario, return_url: Option<&str>) -> PrepareRequest {
    PrepareRequest {
        trade_no: trade_no.clone(),
        merchant_id: MerchantId::parse("M100000000001").unwrap(),
        money: cny(1234),
        subject: "绿茶 green tea".into(),
        scenario,
        expire_at_ms: chrono::Utc::now().timestamp_millis() + 30 * 60 * 1000,
        client_ip: None,
        notify_url: "unused: UnionPay notifies the configured backUrl".into(),
        return_url: return_url.map(str::to_owned),
    }
}

fn pay_request(trade_no: &TradeNo, fen: i64) -> PayRequest {
    PayRequest {
        trade_no: trade_no.clone(),
        merchant_id: MerchantId::parse("M100000000001").unwrap(),
        money: cny(fen),
        subject: "绿茶".into(),
        payer: Payer::UnionpayAuthCode(UnionpayPayCode::parse(PAY_CODE).unwrap()),
        client_ip: None,
    }
}

fn refund_request(trade_no: &TradeNo, refund_no: &RefundNo, fen: i64) -> RefundRequest {
    RefundRequest {
        refund_no: refund_no.clone(),
        trade_no: trade_no.clone(),
        refund: cny(fen),
        total: cny(1234),
        reason: String::new(),
    }
}

impl World {
    async fn post_json(&self, path: &str, body: Value) -> Value {
        let answer = reqwest::Client::new()
            .post(format!("{}{path}", self.base_url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{body}: {}", answer.status());
        answer.json().await.unwrap()
    }

    async fn payer(&self, act: Value) -> Value {
        self.post_json("/sandbox/payer", act).await
    }

    /// The bodies of every notification received so far, as forms.
    async fn notifications(&self) -> Vec<Vec<u8>> {
        let received = self.receiver.received_requests().await.unwrap();
        received.into_iter().map(|r| r.body).collect()
    }

    /// The `n`-th notification whose `orderId` is `order_id`, waited for.
    async fn notification(&self, order_id: &str, n: usize) -> Vec<u8> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let found = self
                .notifications()
                .await
                .into_iter()
                .filter(|body| {
                    wire::parse_form(body).get("orderId").map(String::as_str) == Some(order_id)
                })
                .nth(n);
            if let Some(body) = found {
                return body;
            }
            assert!(
                Instant::now() < deadline,
                "no notification {n} for {order_id}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn read(&self, body: &[u8]) -> Result<CallbackEvent, CallbackRefusal> {
        self.pay.parse_callback(&CallbackRequest {
            kind: "pay",
            headers: &BTreeMap::new(),
            body,
            now_ms: chrono::Utc::now().timestamp_millis(),
        })
    }

    async fn paid_by_code(&self, trade_no: &TradeNo, fen: i64) -> String {
        match self.pay.pay(&pay_request(trade_no, fen)).await.unwrap() {
            PayOutcome::Paid {
                channel_trade_no, ..
            } => channel_trade_no,
            other => panic!("{trade_no} not paid: {other:?}"),
        }
    }
}

async fn query_id_of(w: &World, trade_no: &TradeNo) -> String {
    match w.pay.query(trade_no).await.unwrap() {
        TradeState::Paid {
            channel_trade_no, ..
        } => channel_trade_no,
        other => panic!("{trade_no} is {other:?}"),
    }
}

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
        (first.clone(), trade_no.clone(), cny(300))
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
async fn a_clearing_days_file_holds_exactly_its_transactions_and_23_30_belongs_to_the_next_day() {
    let w = world().await;
    // Beijing times: 19 Nov 23:30 and 20 Nov 10:00 are of the 20 Nov clearing day; 20 Nov 23:30
    // is of the 21st.
    let late_before = trade_no_at("20261119153000");
    let morning = trade_no_at("20261120020000");
    let late = trade_no_at("20261120153000");
    for (trade_no, fen) in [(&late_before, 1000), (&morning, 2000), (&late, 3000)] {
        w.paid_by_code(trade_no, fen).await;
    }
    let refund_no = refund_no_at("20261120030000");
    w.pay
        .refund(&refund_request(&morning, &refund_no, 500))
        .await
        .unwrap();

    let day = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    let lines = w.pay.bill(day).await.unwrap();
    let summary: Vec<(BillLineKind, String, Option<String>, i64, i64)> = lines
        .iter()
        .map(|l| {
            (
                l.kind,
                l.trade_no.clone(),
                l.refund_no.clone(),
                l.amount.amount.minor(),
                l.fee.amount.minor(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                BillLineKind::Payment,
                late_before.as_str().to_owned(),
                None,
                1000,
                6
            ),
            (
                BillLineKind::Payment,
                morning.as_str().to_owned(),
                None,
                2000,
                12
            ),
            // 500 × 0.6% is 3 fen, below the 0.08 yuan minimum: no fee comes back.
            (
                BillLineKind::Refund,
                morning.as_str().to_owned(),
                Some(refund_no.as_str().to_owned()),
                500,
                0
            ),
        ]
    );
    assert_eq!(
        lines[0].at_ms,
        wire::parse_beijing_time("20261119233000").unwrap()
    );
    assert_eq!(lines[1].channel_trade_no, query_id_of(&w, &morning).await);

    let next = w.pay.bill(day.succ_opt().unwrap()).await.unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(
        (
            next[0].trade_no.as_str(),
            next[0].amount.amount.minor(),
            next[0].fee.amount.minor()
        ),
        (late.as_str(), 3000, 18)
    );
    assert_eq!(
        w.pay
            .bill(NaiveDate::from_ymd_opt(2026, 11, 10).unwrap())
            .await
            .unwrap(),
        vec![]
    );
    w.sandbox.shutdown().await;
}
