//! Notifications, the bill, the cashier page, app orders and restarts.

use paygate_channels::alipay::sign::{notify_content, verify_rsa2};
use paygate_sandbox::alipay::{start_alipay, AlipaySandboxConfig, ALIPAY_CALLBACK_DELAYS_MS};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::Read;
use std::time::Duration;

use crate::helpers::{start, Mode, Receiver};

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

#[tokio::test]
async fn the_wap_cashier_pays_and_sends_the_browser_back_with_a_signed_return() {
    let h = start(vec![]).await;
    let biz = json!({"out_trade_no": "W20261129001", "total_amount": "8.80", "subject": "tea", "product_code": "QUICK_WAP_WAY"});
    let mut params = h.params("alipay.trade.wap.pay", biz, Mode::PublicKey);
    params.insert("return_url".into(), "https://shop.example/back?x=1".into());
    let params = h.signed(params);
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&params)
        .finish();
    let gateway_url = &h.credentials.gateway_url;
    let page = h
        .http
        .get(format!("{gateway_url}?{query}"))
        .send()
        .await
        .unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains("action=\"/sandbox/cashier/pay\""), "{page}");
    assert!(page.contains("tea ¥8.80 (W20261129001)"), "{page}");
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let paid = browser
        .post(format!("{}/sandbox/cashier/pay", h.base()))
        .form(&[("out_trade_no", "W20261129001")])
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), reqwest::StatusCode::SEE_OTHER);
    let location = paid.headers()["location"].to_str().unwrap().to_owned();
    let back = url::Url::parse(&location).unwrap();
    assert_eq!(back.path(), "/back");
    let fields: BTreeMap<String, String> = back.query_pairs().into_owned().collect();
    assert_eq!(fields["x"], "1");
    let mut signed = fields.clone();
    signed.remove("x");
    assert!(verify_rsa2(
        &h.alipay_key,
        &notify_content(&signed),
        &fields["sign"]
    ));
    assert_eq!(fields["method"], "alipay.trade.wap.pay.return");
    assert_eq!(fields["total_amount"], "8.80");
    let queried = h
        .call(
            "alipay.trade.query",
            json!({"out_trade_no": "W20261129001"}),
        )
        .await;
    assert_eq!(queried["trade_status"], "TRADE_SUCCESS");
    assert_eq!(queried["trade_no"], fields["trade_no"].as_str());
}

#[tokio::test]
async fn an_app_order_string_is_opened_by_the_payer_only_when_its_signature_holds() {
    let h = start(vec![]).await;
    let biz = json!({"out_trade_no": "A20261129001", "total_amount": "5.00", "subject": "tea", "product_code": "QUICK_MSECURITY_PAY"});
    let params = h.signed(h.params("alipay.trade.app.pay", biz, Mode::PublicKey));
    let order_string = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&params)
        .finish();
    let payer = format!("{}/sandbox/payer", h.base());
    let tampered = order_string.replace("5.00", "0.01");
    let refused: Value = h
        .http
        .post(&payer)
        .json(&json!({"order_string": tampered, "action": "pay"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        refused["alipay_trade_app_pay_response"]["sub_code"],
        "isv.invalid-signature"
    );
    let paid: Value = h
        .http
        .post(&payer)
        .json(&json!({"order_string": order_string, "action": "pay"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(paid["trade_status"], "TRADE_SUCCESS");
    let queried = h
        .call(
            "alipay.trade.query",
            json!({"out_trade_no": "A20261129001"}),
        )
        .await;
    assert_eq!(
        (
            queried["trade_status"].as_str(),
            queried["total_amount"].as_str()
        ),
        (Some("TRADE_SUCCESS"), Some("5.00"))
    );
}
