//! The Alipay adapter against the Alipay sandbox, in public-key and in certificate mode: every
//! flow end to end, notifications received on a loopback `notify_url` and read by the adapter.

use std::time::{Duration, Instant};

use paygate_channels::alipay::{AlipayConfig, AlipayKey, AlipayPay};
use paygate_channels::{
    BillLineKind, CallbackEvent, CallbackRequest, Channel, ChannelError, PayOutcome, PayRequest,
    Payer, PrepareRequest, Prepared, RefundAmount, RefundOutcome, RefundRequest, Scenario,
    TradeState,
};
use paygate_domain::sign::{RsaPrivateKey, RsaPublicKey};
use paygate_domain::{AlipayPayCode, Amount, Currency, MerchantId, Money, RefundNo, TradeNo};
use paygate_sandbox::alipay::{start_alipay, AlipaySandboxConfig, RunningAlipaySandbox};
use serde_json::{json, Value};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const NOTIFY_PATH: &str = "/callback/alipay/pay";
const WAIT_MS_MAX: u64 = 5_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    PublicKey,
    Certificate,
}

struct Harness {
    sandbox: RunningAlipaySandbox,
    /// Our `notify_url`: answers `success` and keeps what it got.
    notify: MockServer,
    pay: AlipayPay,
    _data_dir: tempfile::TempDir,
}

fn cny(fen: i64) -> Money {
    Money::new(Amount::from_minor(fen).unwrap(), Currency::Cny)
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Trade and refund numbers unique across the tests sharing a sandbox day.
fn trade_no() -> TradeNo {
    TradeNo::mint(now_ms())
}

fn refund_no() -> RefundNo {
    RefundNo::mint(now_ms())
}

async fn start(mode: Mode) -> Harness {
    let data_dir = tempfile::tempdir().unwrap();
    let sandbox = start_alipay(AlipaySandboxConfig {
        data_dir: data_dir.path().to_path_buf(),
        callback_delays_ms: vec![50; 7],
        ..AlipaySandboxConfig::default()
    })
    .await
    .unwrap();
    let notify = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("success"))
        .mount(&notify)
        .await;
    let c = &sandbox.credentials;
    let alipay_key = match mode {
        Mode::PublicKey => {
            AlipayKey::PublicKey(RsaPublicKey::from_text(&c.alipay_public_key_pem).unwrap())
        }
        Mode::Certificate => AlipayKey::Certificate {
            app_cert_sn: c.app_cert_sn.clone(),
            alipay_root_cert_sn: c.alipay_root_cert_sn.clone(),
            alipay_cert_pem: c.alipay_cert_pem.clone(),
        },
    };
    let pay = AlipayPay::new(AlipayConfig {
        gateway_url: c.gateway_url.clone(),
        app_id: c.app_id.clone(),
        seller_id: Some(c.seller_id.clone()),
        app_private_key: RsaPrivateKey::from_text(&c.app_private_key_pem).unwrap(),
        alipay_key,
        notify_url: format!("{}{NOTIFY_PATH}", notify.uri()),
        http_timeout_ms: 5_000,
    })
    .unwrap();
    Harness {
        sandbox,
        notify,
        pay,
        _data_dir: data_dir,
    }
}

impl Harness {
    async fn payer(&self, body: Value) -> Value {
        let url = format!("http://{}/sandbox/payer", self.sandbox.local_addr);
        let response = reqwest::Client::new()
            .post(url)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "payer: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    /// The `count`th notification received, read by the adapter (waits for it to arrive).
    async fn notification(&self, count: usize) -> CallbackEvent {
        let started = Instant::now();
        loop {
            let received = self.notify.received_requests().await.unwrap();
            if received.len() >= count {
                let request = &received[count - 1];
                assert_eq!(request.url.path(), NOTIFY_PATH);
                let headers = Default::default();
                return self
                    .pay
                    .parse_callback(&CallbackRequest {
                        kind: "pay",
                        headers: &headers,
                        body: &request.body,
                        now_ms: now_ms(),
                    })
                    .unwrap();
            }
            assert!(
                started.elapsed() < Duration::from_millis(WAIT_MS_MAX),
                "notification {count} never came"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn micropay(&self, trade_no: &TradeNo, fen: i64, code: &str) -> PayOutcome {
        let request = PayRequest {
            trade_no: trade_no.clone(),
            merchant_id: MerchantId::mint(),
            money: cny(fen),
            subject: "绿茶".into(),
            payer: Payer::AlipayAuthCode(AlipayPayCode::parse(code).unwrap()),
            client_ip: None,
        };
        self.pay.pay(&request).await.unwrap()
    }

    async fn refund(
        &self,
        trade_no: &TradeNo,
        refund_no: &RefundNo,
        fen: i64,
    ) -> Result<RefundOutcome, ChannelError> {
        let request = RefundRequest {
            refund_no: refund_no.clone(),
            trade_no: trade_no.clone(),
            refund: cny(fen),
            total: cny(10_000),
            reason: "退货".into(),
        };
        self.pay.refund(&request).await
    }
}

fn native(trade_no: &TradeNo, fen: i64) -> PrepareRequest {
    PrepareRequest {
        trade_no: trade_no.clone(),
        merchant_id: MerchantId::mint(),
        money: cny(fen),
        subject: "绿茶 & green tea".into(),
        scenario: Scenario::Native,
        expire_at_ms: now_ms() + 30 * 60_000,
        client_ip: None,
        notify_url: String::new(),
        return_url: None,
        payer_options: Default::default(),
    }
}

async fn qr_code_paid_notified_and_queried(mode: Mode) {
    let h = start(mode).await;
    let trade = trade_no();

    let Prepared::CodeUrl(code_url) = h.pay.prepare(&native(&trade, 8_888)).await.unwrap() else {
        panic!("a QR code");
    };
    assert_eq!(h.pay.query(&trade).await, Ok(TradeState::WaitingPayment));
    let paid = h
        .payer(json!({"code_url": code_url, "action": "pay"}))
        .await;

    let alipay_no = paid["trade_no"].as_str().unwrap().to_owned();
    let CallbackEvent::Payment {
        trade_no: notified,
        total,
        state,
    } = h.notification(1).await
    else {
        panic!("a payment notification");
    };
    assert_eq!((notified, total), (trade.clone(), cny(8_888)));
    let TradeState::Paid {
        channel_trade_no,
        paid_at_ms,
    } = state.clone()
    else {
        panic!("paid, not {state:?}");
    };
    assert_eq!(channel_trade_no, alipay_no);
    assert!((now_ms() - paid_at_ms).abs() < 60_000);
    assert_eq!(h.pay.query(&trade).await, Ok(state.clone()));
    assert_eq!(h.pay.query_by_channel_no(&alipay_no).await, Ok(state));
}

#[tokio::test]
async fn a_qr_code_is_paid_notified_and_queried_in_public_key_mode() {
    qr_code_paid_notified_and_queried(Mode::PublicKey).await;
}

#[tokio::test]
async fn a_qr_code_is_paid_notified_and_queried_in_certificate_mode() {
    qr_code_paid_notified_and_queried(Mode::Certificate).await;
}

#[tokio::test]
async fn a_pay_code_is_charged_at_once_and_a_confirming_one_is_cancelled() {
    for mode in [Mode::PublicKey, Mode::Certificate] {
        let h = start(mode).await;
        let trade = trade_no();
        let PayOutcome::Paid {
            channel_trade_no, ..
        } = h.micropay(&trade, 10_000, "287951669891795468").await
        else {
            panic!("paid at once");
        };
        assert!(matches!(
            h.pay.query(&trade).await,
            Ok(TradeState::Paid { channel_trade_no: no, .. }) if no == channel_trade_no
        ));

        let confirming = trade_no();
        let code = "281234567890123456";
        h.payer(json!({"auth_code": code, "action": "userpaying"}))
            .await;
        assert_eq!(
            h.micropay(&confirming, 2_000, code).await,
            PayOutcome::PayerConfirming
        );
        assert_eq!(
            h.pay.query(&confirming).await,
            Ok(TradeState::WaitingPayment)
        );
        assert_eq!(h.pay.cancel(&confirming).await, Ok(()));
        assert_eq!(h.pay.query(&confirming).await, Ok(TradeState::Closed));
    }
}

#[tokio::test]
async fn a_trade_is_refunded_in_part_twice_and_each_refund_is_found_and_notified() {
    let h = start(Mode::Certificate).await;
    let trade = trade_no();
    assert!(matches!(
        h.micropay(&trade, 10_000, "287951669891795468").await,
        PayOutcome::Paid { .. }
    ));
    let (first, second) = (refund_no(), RefundNo::mint(now_ms() + 1));
    let succeeded = Ok(RefundOutcome::Succeeded {
        channel_refund_no: None,
    });

    assert_eq!(h.refund(&trade, &first, 3_000).await, succeeded);
    assert_eq!(h.refund(&trade, &second, 2_000).await, succeeded);
    // The same refund asked again is the same refund, not a third.
    assert_eq!(h.refund(&trade, &first, 3_000).await, succeeded);
    assert!(matches!(
        h.refund(&trade, &refund_no(), 6_000).await,
        Err(ChannelError::Rejected(why)) if why.starts_with("ACQ.REASON_TRADE_REFUND_FEE_ERR")
    ));

    assert_eq!(h.pay.query_refund(&first, &trade).await, succeeded);
    assert_eq!(h.pay.query_refund(&second, &trade).await, succeeded);
    assert!(matches!(
        h.pay.query_refund(&refund_no(), &trade).await,
        Ok(RefundOutcome::Failed(_))
    ));
    // Micropay's payment notification, then one per refund; refund_fee is the trade's total.
    let refunded = |event: CallbackEvent| match event {
        CallbackEvent::Refund {
            refund_no, refund, ..
        } => (refund_no, refund),
        other => panic!("a refund notification, not {other:?}"),
    };
    assert_eq!(
        refunded(h.notification(2).await),
        (first, RefundAmount::TradeTotal(cny(3_000)))
    );
    assert_eq!(
        refunded(h.notification(3).await),
        (second, RefundAmount::TradeTotal(cny(5_000)))
    );
}

#[tokio::test]
async fn an_unpaid_trade_is_closed_and_stays_closed() {
    let h = start(Mode::PublicKey).await;
    let trade = trade_no();
    h.pay.prepare(&native(&trade, 100)).await.unwrap();

    assert_eq!(h.pay.close(&trade).await, Ok(()));
    assert_eq!(h.pay.query(&trade).await, Ok(TradeState::Closed));
    assert_eq!(h.pay.close(&trade).await, Ok(()));
    let CallbackEvent::Payment { state, .. } = h.notification(1).await else {
        panic!("a payment notification");
    };
    assert_eq!(state, TradeState::Closed);
}

#[tokio::test]
async fn the_days_bill_reads_back_the_days_payments_and_refunds() {
    let h = start(Mode::PublicKey).await;
    let (paid, refunded, refund) = (trade_no(), TradeNo::mint(now_ms() + 1), refund_no());
    h.micropay(&paid, 10_000, "287951669891795468").await;
    h.micropay(&refunded, 8_888, "287951669891795469").await;
    h.refund(&refunded, &refund, 3_000).await.unwrap();
    let today = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .date_naive();

    let lines = h.pay.bill(today).await.unwrap();

    let summary: Vec<_> = lines
        .iter()
        .map(|l| {
            (
                l.kind,
                l.trade_no.clone(),
                l.refund_no.clone(),
                l.amount,
                l.fee,
            )
        })
        .collect();
    // The sandbox keeps 0.60% (half up) of a payment and gives none back on a refund.
    assert_eq!(
        summary,
        vec![
            (
                BillLineKind::Payment,
                paid.as_str().to_owned(),
                None,
                cny(10_000),
                cny(60)
            ),
            (
                BillLineKind::Payment,
                refunded.as_str().to_owned(),
                None,
                cny(8_888),
                cny(53)
            ),
            (
                BillLineKind::Refund,
                refunded.as_str().to_owned(),
                Some(refund.as_str().to_owned()),
                cny(3_000),
                cny(0)
            ),
        ]
    );
}
