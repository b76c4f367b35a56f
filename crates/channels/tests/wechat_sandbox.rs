//! The adapter against the WeChat Pay sandbox, configured only from the credentials file the
//! sandbox writes: every v3 product is created, paid by the payer simulator, queried, called
//! back, refunded and closed, micropay waits and is paid or reversed, and the day's bill reads
//! back, each side checking the other's signatures.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use paygate_channels::wechat::{PlatformKey, WechatConfig, WechatPay};
use paygate_channels::{
    BillLineKind, CallbackEvent, CallbackRequest, Channel, PayOutcome, PayRequest, Payer,
    PrepareRequest, Prepared, RefundAmount, RefundOutcome, RefundRequest, Scenario, TradeState,
};
use paygate_domain::sign::{RsaPrivateKey, RsaPublicKey};
use paygate_domain::{Amount, Currency, MerchantId, Money, RefundNo, TradeNo, WechatPayCode};
use paygate_sandbox::{start_wechat, RunningWechatSandbox, WechatSandboxConfig};
use serde_json::{json, Value};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

struct World {
    sandbox: RunningWechatSandbox,
    pay: WechatPay,
    /// Where the sandbox delivers callbacks: it records them and answers 204, as we would.
    receiver: MockServer,
    _data_dir: tempfile::TempDir,
}

async fn world() -> World {
    let data_dir = tempfile::tempdir().unwrap();
    let sandbox = start_wechat(WechatSandboxConfig {
        data_dir: data_dir.path().to_path_buf(),
        callback_delays_ms: vec![100, 100],
        refund_delay_ms: 100,
        ..WechatSandboxConfig::default()
    })
    .await
    .unwrap();
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&receiver)
        .await;
    let c = &sandbox.credentials;
    let config = WechatConfig {
        base_url: c.base_url.clone(),
        mchid: c.mchid.clone(),
        appid: c.appid.clone(),
        merchant_serial_no: c.merchant_serial_no.clone(),
        merchant_private_key: RsaPrivateKey::from_text(&c.merchant_private_key_pem).unwrap(),
        apiv3_key: c.apiv3_key.as_str().into(),
        platform: vec![PlatformKey::PublicKey {
            id: c.platform_public_key_id.clone(),
            key: RsaPublicKey::from_text(&c.platform_public_key_pem).unwrap(),
        }],
        v2_key: Some(c.v2_key.as_str().into()),
        merchant_certificate_pem: None,
        notify_base_url: format!("{}/callback/wechat", receiver.uri()),
        http_timeout_ms: 5_000,
    };
    World {
        pay: WechatPay::new(config).unwrap(),
        sandbox,
        receiver,
        _data_dir: data_dir,
    }
}

fn cny(fen: i64) -> Money {
    Money::new(Amount::from_minor(fen).unwrap(), Currency::Cny)
}

fn order(w: &World, trade_no: &str, scenario: Scenario) -> PrepareRequest {
    PrepareRequest {
        trade_no: TradeNo::parse(trade_no).unwrap(),
        merchant_id: MerchantId::parse("M100000000001").unwrap(),
        money: cny(1234),
        subject: "绿茶 green tea".into(),
        scenario,
        expire_at_ms: chrono::Utc::now().timestamp_millis() + 30 * 60 * 1000,
        client_ip: Some("203.0.113.7".into()),
        notify_url: format!("{}/callback/wechat/pay", w.receiver.uri()),
        return_url: None,
        payer_options: Default::default(),
    }
}

impl World {
    async fn payer(&self, act: Value) -> Value {
        let url = format!("{}/sandbox/payer", self.sandbox.credentials.base_url);
        let answer = reqwest::Client::new()
            .post(url)
            .json(&act)
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{act}: {}", answer.status());
        answer.json().await.unwrap()
    }

    /// The `n`-th callback the sandbox delivered to `path`, read by the adapter.
    async fn callback(&self, path: &str, n: usize) -> CallbackEvent {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let received = self.receiver.received_requests().await.unwrap();
            let mut at_path = received.iter().filter(|r| r.url.path() == path);
            if let Some(request) = at_path.nth(n) {
                let headers: BTreeMap<String, String> = request
                    .headers
                    .iter()
                    .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
                    .collect();
                let kind = path.rsplit('/').next().unwrap();
                return self
                    .pay
                    .parse_callback(&CallbackRequest {
                        kind,
                        headers: &headers,
                        body: &request.body,
                        now_ms: chrono::Utc::now().timestamp_millis(),
                    })
                    .unwrap();
            }
            assert!(Instant::now() < deadline, "no callback at {path}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test]
async fn a_native_order_is_paid_called_back_queried_and_refunded_in_two_parts() {
    let w = world().await;
    let trade_no = TradeNo::parse("P20261129000000000NATIVE01").unwrap();
    let Prepared::CodeUrl(code_url) = w
        .pay
        .prepare(&order(&w, trade_no.as_str(), Scenario::Native))
        .await
        .unwrap()
    else {
        panic!("Native answers a code_url");
    };
    assert_eq!(w.pay.query(&trade_no).await, Ok(TradeState::WaitingPayment));

    let paid = w
        .payer(json!({"code_url": code_url, "action": "pay"}))
        .await;
    let transaction_id = paid["transaction_id"].as_str().unwrap().to_owned();
    let Ok(TradeState::Paid {
        channel_trade_no,
        paid_at_ms,
    }) = w.pay.query(&trade_no).await
    else {
        panic!("paid");
    };
    assert_eq!(channel_trade_no, transaction_id);
    assert_eq!(
        w.pay.query_by_channel_no(&transaction_id).await,
        Ok(TradeState::Paid {
            channel_trade_no: transaction_id.clone(),
            paid_at_ms
        })
    );
    assert_eq!(
        w.callback("/callback/wechat/pay", 0).await,
        CallbackEvent::Payment {
            trade_no: trade_no.clone(),
            total: cny(1234),
            state: TradeState::Paid {
                channel_trade_no: transaction_id.clone(),
                paid_at_ms
            },
        }
    );

    for (n, (refund_no, fen)) in [
        ("R20261129000000000REFUND01", 500),
        ("R20261129000000000REFUND02", 734),
    ]
    .into_iter()
    .enumerate()
    {
        let refund_no = RefundNo::parse(refund_no).unwrap();
        let request = RefundRequest {
            refund_no: refund_no.clone(),
            trade_no: trade_no.clone(),
            refund: cny(fen),
            total: cny(1234),
            reason: "out of stock".into(),
        };
        assert_eq!(w.pay.refund(&request).await, Ok(RefundOutcome::Processing));
        let CallbackEvent::Refund {
            refund_no: called,
            trade_no: of,
            refund,
            outcome,
        } = w.callback("/callback/wechat/refund", n).await
        else {
            panic!("a refund callback");
        };
        assert_eq!(
            (called, of, refund),
            (
                refund_no.clone(),
                trade_no.clone(),
                RefundAmount::This(cny(fen))
            )
        );
        let RefundOutcome::Succeeded {
            channel_refund_no: Some(refund_id),
        } = outcome
        else {
            panic!("refund {n} succeeds: {outcome:?}");
        };
        assert_eq!(
            w.pay.query_refund(&refund_no, &request.trade_no).await,
            Ok(RefundOutcome::Succeeded {
                channel_refund_no: Some(refund_id)
            })
        );
    }
    // Fully refunded, the trade still reads as paid: refunds are ours to track.
    assert!(matches!(
        w.pay.query(&trade_no).await,
        Ok(TradeState::Paid { .. })
    ));
}

#[tokio::test]
async fn jsapi_h5_and_app_orders_are_created_and_an_unpaid_one_closes() {
    let w = world().await;
    let jsapi = Scenario::Jsapi {
        openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into(),
    };
    let Prepared::Params(params) = w
        .pay
        .prepare(&order(&w, "P20261129000000000JSAPI001", jsapi))
        .await
        .unwrap()
    else {
        panic!("JSAPI answers parameters");
    };
    assert!(params["package"].starts_with("prepay_id="));
    let Prepared::Params(params) = w
        .pay
        .prepare(&order(&w, "P20261129000000000APP00001", Scenario::App))
        .await
        .unwrap()
    else {
        panic!("APP answers parameters");
    };
    assert_eq!(params["package"], "Sign=WXPay");
    let h5 = w
        .pay
        .prepare(&order(&w, "P20261129000000000H5000001", Scenario::H5))
        .await
        .unwrap();
    assert!(matches!(h5, Prepared::RedirectUrl(_)), "{h5:?}");

    let trade_no = TradeNo::parse("P20261129000000000JSAPI001").unwrap();
    assert_eq!(w.pay.close(&trade_no).await, Ok(()));
    assert_eq!(w.pay.close(&trade_no).await, Ok(()));
    assert_eq!(w.pay.query(&trade_no).await, Ok(TradeState::Closed));
    let never = TradeNo::parse("P20261129000000000NEVER001").unwrap();
    assert_eq!(w.pay.query(&never).await, Ok(TradeState::NotFound));
}

#[tokio::test]
async fn a_payer_in_the_middle_of_paying_reads_as_confirming_and_a_failed_one_as_waiting() {
    let w = world().await;
    let trade_no = TradeNo::parse("P20261129000000000USERPAY1").unwrap();
    w.pay
        .prepare(&order(&w, trade_no.as_str(), Scenario::Native))
        .await
        .unwrap();
    w.payer(json!({"out_trade_no": trade_no.as_str(), "action": "userpaying"}))
        .await;
    assert_eq!(
        w.pay.query(&trade_no).await,
        Ok(TradeState::PayerConfirming)
    );
    w.payer(json!({"out_trade_no": trade_no.as_str(), "action": "fail"}))
        .await;
    assert_eq!(w.pay.query(&trade_no).await, Ok(TradeState::WaitingPayment));
}

fn micropay(trade_no: &TradeNo, code: &str) -> PayRequest {
    PayRequest {
        trade_no: trade_no.clone(),
        merchant_id: MerchantId::parse("M100000000001").unwrap(),
        money: cny(1234),
        subject: "绿茶 green tea".into(),
        payer: Payer::WechatAuthCode(WechatPayCode::parse(code).unwrap()),
        client_ip: Some("203.0.113.7".into()),
    }
}

#[tokio::test]
async fn micropay_waits_for_the_payers_password_then_is_paid() {
    let w = world().await;
    assert!(w.pay.info().pays_at_once);
    let code = "134567890123456789";
    w.payer(json!({"auth_code": code, "action": "userpaying"}))
        .await;
    let trade_no = TradeNo::parse("P20261129000000000MICRO001").unwrap();
    assert_eq!(
        w.pay.pay(&micropay(&trade_no, code)).await,
        Ok(PayOutcome::PayerConfirming)
    );
    assert_eq!(
        w.pay.query(&trade_no).await,
        Ok(TradeState::PayerConfirming)
    );
    let paid = w
        .payer(json!({"out_trade_no": trade_no.as_str(), "action": "pay"}))
        .await;
    let Ok(TradeState::Paid {
        channel_trade_no, ..
    }) = w.pay.query(&trade_no).await
    else {
        panic!("paid");
    };
    assert_eq!(channel_trade_no, paid["transaction_id"].as_str().unwrap());
}

#[tokio::test]
async fn micropay_left_waiting_is_reversed_and_closed() {
    let w = world().await;
    let code = "134567890123456780";
    w.payer(json!({"auth_code": code, "action": "userpaying"}))
        .await;
    let trade_no = TradeNo::parse("P20261129000000000MICRO002").unwrap();
    assert_eq!(
        w.pay.pay(&micropay(&trade_no, code)).await,
        Ok(PayOutcome::PayerConfirming)
    );
    assert_eq!(w.pay.cancel(&trade_no).await, Ok(()));
    assert_eq!(w.pay.query(&trade_no).await, Ok(TradeState::Closed));
}

#[tokio::test]
async fn the_days_bill_reads_back_to_its_payments_and_refunds_with_exact_amounts_and_fees() {
    let w = world().await;
    let today = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .date_naive();
    assert_eq!(w.pay.bill(today).await, Ok(vec![]));
    let trade_no = TradeNo::parse("P20261129000000000BILL0001").unwrap();
    w.pay
        .prepare(&order(&w, trade_no.as_str(), Scenario::Native))
        .await
        .unwrap();
    let paid = w
        .payer(json!({"out_trade_no": trade_no.as_str(), "action": "pay"}))
        .await;
    let refund_no = RefundNo::parse("R20261129000000000BILL0001").unwrap();
    let request = RefundRequest {
        refund_no: refund_no.clone(),
        trade_no: trade_no.clone(),
        refund: cny(500),
        total: cny(1234),
        reason: String::new(),
    };
    w.pay.refund(&request).await.unwrap();
    let lines = w.pay.bill(today).await.unwrap();
    let summary: Vec<_> = lines
        .iter()
        .map(|l| {
            (
                l.kind,
                l.trade_no.as_str(),
                l.channel_trade_no.as_str(),
                l.refund_no.as_deref(),
                l.amount,
                l.fee,
            )
        })
        .collect();
    let transaction_id = paid["transaction_id"].as_str().unwrap();
    // The sandbox's rate is 0.60%: 1234 × 0.6% = 7.404 → 7 fen; 500 × 0.6% = 3 fen back.
    assert_eq!(
        summary,
        [
            (
                BillLineKind::Payment,
                trade_no.as_str(),
                transaction_id,
                None,
                cny(1234),
                cny(7)
            ),
            (
                BillLineKind::Refund,
                trade_no.as_str(),
                transaction_id,
                Some(refund_no.as_str()),
                cny(500),
                cny(3)
            ),
        ]
    );
}
