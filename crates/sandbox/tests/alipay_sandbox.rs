//! The Alipay sandbox over HTTP, as a merchant's client meets it: requests signed with the app's
//! key (`paygate_channels::alipay::sign`), answers and notifications verified with Alipay's.

use paygate_channels::alipay::sign::{
    notify_content, request_content, response_content, sign_rsa2, verify_rsa2,
};
use paygate_domain::sign::{RsaPrivateKey, RsaPublicKey};
use paygate_sandbox::alipay::{
    start_alipay, AlipayCredentials, AlipaySandboxConfig, RunningAlipaySandbox,
    ALIPAY_CALLBACK_DELAYS_MS,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Harness {
    sandbox: RunningAlipaySandbox,
    credentials: AlipayCredentials,
    http: reqwest::Client,
    app_key: RsaPrivateKey,
    alipay_key: RsaPublicKey,
    _data_dir: tempfile::TempDir,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    PublicKey,
    Certificate,
}

async fn start(callback_delays_ms: Vec<u64>) -> Harness {
    let data_dir = tempfile::tempdir().unwrap();
    let sandbox = start_alipay(AlipaySandboxConfig {
        data_dir: data_dir.path().to_path_buf(),
        callback_delays_ms,
        ..AlipaySandboxConfig::default()
    })
    .await
    .unwrap();
    let credentials = sandbox.credentials.clone();
    Harness {
        app_key: RsaPrivateKey::from_text(&credentials.app_private_key_pem).unwrap(),
        alipay_key: RsaPublicKey::from_text(&credentials.alipay_public_key_pem).unwrap(),
        credentials,
        sandbox,
        http: reqwest::Client::new(),
        _data_dir: data_dir,
    }
}

impl Harness {
    fn base(&self) -> String {
        format!("http://{}", self.sandbox.local_addr)
    }

    fn params(&self, method: &str, biz: Value, mode: Mode) -> BTreeMap<String, String> {
        let now =
            chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap());
        let mut params: BTreeMap<String, String> = [
            ("app_id", self.credentials.app_id.as_str()),
            ("method", method),
            ("format", "JSON"),
            ("charset", "utf-8"),
            ("sign_type", "RSA2"),
            ("version", "1.0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        params.insert(
            "timestamp".into(),
            now.format("%Y-%m-%d %H:%M:%S").to_string(),
        );
        params.insert("biz_content".into(), biz.to_string());
        if mode == Mode::Certificate {
            params.insert("app_cert_sn".into(), self.credentials.app_cert_sn.clone());
            params.insert(
                "alipay_root_cert_sn".into(),
                self.credentials.alipay_root_cert_sn.clone(),
            );
        }
        params
    }

    async fn post(&self, params: &BTreeMap<String, String>) -> String {
        self.http
            .post(&self.credentials.gateway_url)
            .form(params)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Signs and sends a call; returns the verified inner answer and the whole body.
    async fn call_in(&self, method: &str, biz: Value, mode: Mode) -> (Value, Value) {
        let mut params = self.params(method, biz, mode);
        let sign = sign_rsa2(&self.app_key, &request_content(&params));
        params.insert("sign".into(), sign);
        let body = self.post(&params).await;
        let inner = response_content(&body, method).expect("an answer under its method");
        let whole: Value = serde_json::from_str(&body).unwrap();
        let sign = whole["sign"].as_str().expect("a signed answer");
        assert!(
            verify_rsa2(&self.alipay_key, inner, sign),
            "answer signed by Alipay's key"
        );
        (serde_json::from_str(inner).unwrap(), whole)
    }

    async fn call(&self, method: &str, biz: Value) -> Value {
        self.call_in(method, biz, Mode::PublicKey).await.0
    }

    /// A trade of `total` yuan, paid by the payer simulator, notifying `notify_url`.
    async fn paid_trade(&self, out_trade_no: &str, total: &str, notify_url: &str) -> Value {
        let mut params = self.params(
            "alipay.trade.precreate",
            json!({"out_trade_no": out_trade_no, "total_amount": total, "subject": "绿茶"}),
            Mode::PublicKey,
        );
        params.insert("notify_url".into(), notify_url.into());
        let sign = sign_rsa2(&self.app_key, &request_content(&params));
        params.insert("sign".into(), sign);
        let body = self.post(&params).await;
        assert!(body.contains("\"code\":\"10000\""), "{body}");
        self.http
            .post(format!("{}/sandbox/payer", self.base()))
            .json(&json!({"out_trade_no": out_trade_no, "action": "pay"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// A notify_url that answers `fail` to its first `refusals` deliveries, then `success`.
#[derive(Clone)]
struct Receiver {
    url: String,
    deliveries: Arc<Mutex<Vec<(Instant, BTreeMap<String, String>)>>>,
}

impl Receiver {
    async fn start(refusals: usize) -> Receiver {
        let deliveries: Arc<Mutex<Vec<(Instant, BTreeMap<String, String>)>>> = Arc::default();
        let kept = deliveries.clone();
        let app = axum::Router::new().route(
            "/notify",
            axum::routing::post(move |body: String| {
                let kept = kept.clone();
                async move {
                    let fields = url::form_urlencoded::parse(body.as_bytes())
                        .into_owned()
                        .collect();
                    let mut kept = kept.lock().unwrap();
                    kept.push((Instant::now(), fields));
                    if kept.len() <= refusals {
                        "fail"
                    } else {
                        "success"
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/notify", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, deliveries }
    }

    async fn wait_for(&self, n: usize) -> Vec<(Instant, BTreeMap<String, String>)> {
        for _ in 0..200 {
            if self.deliveries.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        self.deliveries.lock().unwrap().clone()
    }
}

#[tokio::test]
async fn a_request_signed_with_another_key_is_refused_unsigned_in_alipays_shape() {
    let h = start(vec![]).await;
    let mut params = h.params(
        "alipay.trade.query",
        json!({"out_trade_no": "T1"}),
        Mode::PublicKey,
    );
    let content = request_content(&params);
    let stranger = RsaPrivateKey::generate().unwrap();
    params.insert("sign".into(), sign_rsa2(&stranger, &content));
    let body: Value = serde_json::from_str(&h.post(&params).await).unwrap();
    let expected = json!({"alipay_trade_query_response": {
        "code": "40002",
        "msg": "Invalid Arguments",
        "sub_code": "isv.invalid-signature",
        "sub_msg": format!("验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配，网关生成的验签字符串为：{content}"),
    }});
    assert_eq!(body, expected);
}

#[tokio::test]
async fn certificate_mode_is_answered_with_alipays_cert_sn_and_a_wrong_app_sn_is_refused() {
    let h = start(vec![]).await;
    let (inner, whole) = h
        .call_in(
            "alipay.trade.query",
            json!({"out_trade_no": "NOPE"}),
            Mode::Certificate,
        )
        .await;
    assert_eq!(inner["sub_code"], "ACQ.TRADE_NOT_EXIST");
    assert_eq!(
        whole["alipay_cert_sn"],
        h.credentials.alipay_cert_sn.as_str()
    );
    let mut params = h.params(
        "alipay.trade.query",
        json!({"out_trade_no": "T1"}),
        Mode::Certificate,
    );
    params.insert(
        "app_cert_sn".into(),
        "0123456789abcdef0123456789abcdef".into(),
    );
    params.insert(
        "sign".into(),
        sign_rsa2(&h.app_key, &request_content(&params)),
    );
    let body: Value = serde_json::from_str(&h.post(&params).await).unwrap();
    assert_eq!(
        body["alipay_trade_query_response"]["sub_code"],
        "isv.app-cert-not-exist"
    );
    assert!(body.get("sign").is_none());
}

#[tokio::test]
async fn a_refund_repeated_under_its_out_request_no_moves_money_once() {
    let h = start(vec![]).await;
    let receiver = Receiver::start(0).await;
    h.paid_trade("T20261129001", "100.00", &receiver.url).await;
    let refund =
        json!({"out_trade_no": "T20261129001", "refund_amount": "30.00", "out_request_no": "R1"});
    let first = h.call("alipay.trade.refund", refund.clone()).await;
    let again = h.call("alipay.trade.refund", refund).await;
    assert_eq!(
        (first["code"].as_str(), first["fund_change"].as_str()),
        (Some("10000"), Some("Y"))
    );
    assert_eq!(
        (again["code"].as_str(), again["fund_change"].as_str()),
        (Some("10000"), Some("N"))
    );
    assert_eq!(
        (first["refund_fee"].as_str(), again["refund_fee"].as_str()),
        (Some("30.00"), Some("30.00"))
    );
    let deliveries = receiver.wait_for(2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let refunds = receiver
        .deliveries
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, f)| f.contains_key("out_biz_no"))
        .count();
    assert_eq!(refunds, 1, "one refund notification: {deliveries:?}");
}

#[tokio::test]
async fn a_refund_beyond_what_is_left_is_refused_and_signed() {
    let h = start(vec![]).await;
    let receiver = Receiver::start(0).await;
    h.paid_trade("T20261129002", "100.00", &receiver.url).await;
    let first = h
        .call("alipay.trade.refund", json!({"out_trade_no": "T20261129002", "refund_amount": "70.00", "out_request_no": "R1"}))
        .await;
    assert_eq!(first["refund_fee"], "70.00");
    let over = h
        .call("alipay.trade.refund", json!({"out_trade_no": "T20261129002", "refund_amount": "30.01", "out_request_no": "R2"}))
        .await;
    assert_eq!(
        over,
        json!({"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.REASON_TRADE_REFUND_FEE_ERR", "sub_msg": "退款金额无效"})
    );
    let found = h
        .call(
            "alipay.trade.fastpay.refund.query",
            json!({"out_trade_no": "T20261129002", "out_request_no": "R2"}),
        )
        .await;
    assert_eq!(found["code"], "10000");
    assert!(
        found.get("refund_status").is_none(),
        "no such refund: {found}"
    );
}

#[tokio::test]
async fn a_notification_is_retried_on_the_schedule_until_success_and_verifies() {
    let h = start(vec![200, 400, 800]).await;
    let receiver = Receiver::start(2).await;
    let paid = h.paid_trade("T20261129003", "12.34", &receiver.url).await;
    let deliveries = receiver.wait_for(3).await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(
        receiver.deliveries.lock().unwrap().len(),
        3,
        "taken at the third try"
    );
    assert!(deliveries[1].0 - deliveries[0].0 >= Duration::from_millis(200));
    assert!(deliveries[2].0 - deliveries[1].0 >= Duration::from_millis(400));
    let fields = &deliveries[2].1;
    assert_eq!(fields["sign_type"], "RSA2");
    assert!(verify_rsa2(
        &h.alipay_key,
        &notify_content(fields),
        &fields["sign"]
    ));
    assert_eq!(fields["trade_status"], "TRADE_SUCCESS");
    assert_eq!(fields["trade_no"], paid["trade_no"].as_str().unwrap());
    assert_eq!(
        (
            fields["total_amount"].as_str(),
            fields["receipt_amount"].as_str()
        ),
        ("12.34", "12.34")
    );
    assert_eq!(fields["seller_id"], h.credentials.seller_id);
    assert_eq!(
        deliveries[0].1["notify_id"], fields["notify_id"],
        "one notification, retried"
    );
}

#[test]
fn alipays_schedule_is_the_default() {
    let minutes: Vec<u64> = AlipaySandboxConfig::default()
        .callback_delays_ms
        .iter()
        .map(|ms| ms / 60_000)
        .collect();
    assert_eq!(minutes, vec![4, 10, 10, 60, 120, 360, 900]);
    assert_eq!(ALIPAY_CALLBACK_DELAYS_MS.len(), 7);
}

#[tokio::test]
async fn the_bill_zip_holds_the_days_payments_and_refunds_in_gbk() {
    let h = start(vec![]).await;
    let receiver = Receiver::start(0).await;
    let paid = h.paid_trade("T20261129004", "100.00", &receiver.url).await;
    h.call(
        "alipay.trade.refund",
        json!({"out_trade_no": "T20261129004", "refund_amount": "30.00", "out_request_no": "R1"}),
    )
    .await;
    let today = chrono::Utc::now()
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap())
        .date_naive();
    let located = h
        .call(
            "alipay.data.dataservice.bill.downloadurl.query",
            json!({"bill_type": "trade", "bill_date": today.format("%Y-%m-%d").to_string()}),
        )
        .await;
    let url = located["bill_download_url"].as_str().unwrap();
    let bytes = h.http.get(url).send().await.unwrap().bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let day = today.format("%Y%m%d");
    let name = format!("{}_{day}_业务明细.csv", h.credentials.seller_id);
    let mut gbk = Vec::new();
    zip.by_name(&name).unwrap().read_to_end(&mut gbk).unwrap();
    assert!(zip
        .by_name(&format!(
            "{}_{day}_业务明细(汇总).csv",
            h.credentials.seller_id
        ))
        .is_ok());
    let (text, _, malformed) = encoding_rs::GBK.decode(&gbk);
    assert!(!malformed);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "#支付宝业务明细查询");
    assert_eq!(lines[1], format!("#账号：[{}]", h.credentials.seller_id));
    assert!(lines[4].starts_with("支付宝交易号\t,商户订单号\t,业务类型\t,"));
    let cells = |line: &str| -> Vec<String> {
        line.split(',')
            .map(|c| c.trim_end_matches('\t').to_owned())
            .collect()
    };
    let payment = cells(lines[5]);
    let refund = cells(lines[6]);
    let trade_no = paid["trade_no"].as_str().unwrap();
    assert_eq!(payment.len(), 25);
    assert_eq!(
        (
            payment[0].as_str(),
            payment[1].as_str(),
            payment[2].as_str()
        ),
        (trade_no, "T20261129004", "交易")
    );
    assert_eq!(
        (
            payment[11].as_str(),
            payment[12].as_str(),
            payment[22].as_str()
        ),
        ("100.00", "100.00", "-0.60")
    );
    assert_eq!(
        (
            refund[2].as_str(),
            refund[11].as_str(),
            refund[21].as_str(),
            refund[22].as_str()
        ),
        ("退款", "-30.00", "R1", "0.00")
    );
    assert_eq!(
        lines[8],
        "#交易合计：1笔，商家实收共100.00元，商家优惠共0.00元"
    );
    assert_eq!(
        lines[9],
        "#退款合计：1笔，商家实收退款共-30.00元，商家优惠退款共0.00元"
    );
}

#[tokio::test]
async fn a_restart_keeps_the_keys_and_certificates() {
    let data_dir = tempfile::tempdir().unwrap();
    let config = AlipaySandboxConfig {
        data_dir: data_dir.path().to_path_buf(),
        ..AlipaySandboxConfig::default()
    };
    let first = start_alipay(config.clone()).await.unwrap();
    let before = first.credentials.clone();
    first.shutdown().await;
    let second = start_alipay(config).await.unwrap();
    assert_eq!(
        second.credentials.app_private_key_pem,
        before.app_private_key_pem
    );
    assert_eq!(second.credentials.alipay_cert_sn, before.alipay_cert_sn);
    assert_eq!(
        second.credentials.alipay_root_cert_sn,
        before.alipay_root_cert_sn
    );
    second.shutdown().await;
}
