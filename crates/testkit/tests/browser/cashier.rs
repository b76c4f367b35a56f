//! The payer's flows through the hosted cashier, by the DOM contract of issue #10.

use crate::harness::{self, js_string, DESKTOP, MOBILE, WECHAT};
use crate::support::{
    cashier_request, create, pay_url, query_fields, sandboxed, trade_no, until_paid,
    with_sandboxes, ReturnSite, AMOUNT,
};
use paygate_domain::PayType;
use paygate_testkit::{both_databases, spawn_app_with, DbBackend, TestOptions};

const DESKTOP_WAYS: [&str; 3] = ["alipay_native", "unionpay_native", "wechat_native"];
const MOBILE_WAYS: [&str; 3] = ["alipay_h5", "unionpay_h5", "wechat_h5"];

fn way_button(way: &str) -> String {
    format!("ul#ways > li.way[data-way=\"{way}\"] button")
}

/// The ways the page offers, sorted, leaving out the platform wallet (shown or not depending
/// on the payer's session).
async fn channel_ways(b: &harness::Session) -> Vec<String> {
    let mut ways = b.attrs("ul#ways > li.way", "data-way").await;
    ways.retain(|way| way != "wallet");
    ways.sort();
    ways
}

async fn a_desktop_payer_scans_the_qr_code_and_the_page_follows_to_success(backend: DbBackend) {
    let t = sandboxed(backend).await;
    let Some(b) = harness::open(DESKTOP).await else {
        return;
    };
    let site = ReturnSite::start().await;
    let order = create(&t, &cashier_request("BRDESK0001", Some(site.url.clone()))).await;
    let trade_no = trade_no(&order);
    b.goto(&pay_url(&order)).await;
    b.wait_for("main#cashier").await;
    let main = "main#cashier";
    assert_eq!(
        b.attr(main, "data-trade-no").await.as_deref(),
        Some(trade_no.as_str())
    );
    assert_eq!(
        b.attr(main, "data-status").await.as_deref(),
        Some("WAIT_PAY")
    );
    assert_eq!(
        b.attr(main, "data-client").await.as_deref(),
        Some("desktop")
    );
    assert!(b.text("#amount").await.contains(AMOUNT));
    assert!(b.text("#subject").await.contains("Browser mug"));
    let expire_at: Option<String> = b.attr("#countdown", "data-expire-at-ms").await;
    let expire_at: i64 = expire_at
        .expect("a countdown")
        .parse()
        .expect("milliseconds");
    assert!(expire_at > chrono::Utc::now().timestamp_millis());
    assert_eq!(channel_ways(&b).await, DESKTOP_WAYS);

    b.click(&way_button("wechat_native")).await;
    b.wait_visible("#qr").await;
    // The code is drawn by the server.
    let svg = reqwest::get(format!("{}/cashier/{trade_no}/qr.svg", t.base_url))
        .await
        .expect("the QR code answers");
    assert_eq!(svg.status().as_u16(), 200);
    assert!(svg.text().await.expect("a body").contains("<svg"));
    let stored = t.app.cashier_order(&trade_no).await.unwrap().unwrap();
    assert_eq!(stored.chosen_pay_type, Some(PayType::WechatNative));

    // The payer pays on the phone; the page polls and moves on by itself.
    b.click("form#sandbox-pay-form button#sandbox-pay").await;
    b.wait_for("#result[data-status=\"SUCCESS\"]").await;
    let status = reqwest::get(format!("{}/cashier/{trade_no}/status", t.base_url))
        .await
        .expect("the status answers");
    assert_eq!(
        status.headers()["cache-control"].to_str().unwrap(),
        "no-store"
    );
    let status: serde_json::Value = status.json().await.expect("JSON");
    assert_eq!(
        status,
        serde_json::json!({"status": "SUCCESS", "paid": true})
    );

    // The way back to the merchant carries signed parameters the merchant can check.
    let link = b
        .attr("a#return-link", "href")
        .await
        .expect("a return link");
    assert!(link.starts_with(&format!("{}?", site.url)), "{link}");
    let fields = query_fields(&link);
    t.client
        .verify(&fields)
        .await
        .expect("signed by the gateway");
    assert_eq!(fields["out_trade_no"], "BRDESK0001");
    assert_eq!(fields["trade_no"], trade_no.as_str());
    assert_eq!(fields["total_amount"], AMOUNT);
    assert_eq!(fields["trade_status"], "SUCCESS");
    assert_eq!(fields["merchant_id"], t.merchant_id().as_str());
    // And the page takes the payer there by itself.
    b.wait_for("main#merchant-return").await;
    assert_eq!(b.url().await, link);
    b.close().await;
}
both_databases!(a_desktop_payer_scans_the_qr_code_and_the_page_follows_to_success);

async fn a_mobile_payer_pays_on_the_channels_h5_page_and_comes_back(backend: DbBackend) {
    let t = sandboxed(backend).await;
    let Some(b) = harness::open(MOBILE).await else {
        return;
    };
    let site = ReturnSite::start().await;
    let order = create(&t, &cashier_request("BRMOBI0001", Some(site.url.clone()))).await;
    let trade_no = trade_no(&order);
    b.goto(&pay_url(&order)).await;
    b.wait_for("main#cashier").await;
    assert_eq!(
        b.attr("main#cashier", "data-client").await.as_deref(),
        Some("mobile")
    );
    assert_eq!(channel_ways(&b).await, MOBILE_WAYS);

    b.click(&way_button("alipay_h5")).await;
    // Alipay's (sandbox) payment page, where the payer confirms.
    let alipay = t.alipay.clone().expect("the Alipay sandbox runs");
    let alipay_root = alipay
        .gateway_url
        .trim_end_matches("/gateway.do")
        .to_owned();
    let pay_button = "form[action=\"/sandbox/cashier/pay\"] button";
    b.wait_for(pay_button).await;
    assert!(b.url().await.starts_with(&alipay_root), "{}", b.url().await);
    b.click(pay_button).await;
    // Back from Alipay, off its pages.
    b.wait_until(&format!(
        "!location.href.startsWith({})",
        js_string(&alipay_root)
    ))
    .await;
    until_paid(&t, &trade_no).await;
    b.goto(&format!("{}/cashier/{trade_no}/result", t.base_url))
        .await;
    b.wait_for("#result[data-status=\"SUCCESS\"]").await;
    let stored = t.app.cashier_order(&trade_no).await.unwrap().unwrap();
    assert_eq!(stored.chosen_pay_type, Some(PayType::AlipayH5));
    b.close().await;
}
both_databases!(a_mobile_payer_pays_on_the_channels_h5_page_and_comes_back);

async fn wechats_browser_is_offered_wechat_only(backend: DbBackend) {
    let t = sandboxed(backend).await;
    let Some(b) = harness::open(WECHAT).await else {
        return;
    };
    let order = create(&t, &cashier_request("BRWECH0001", None)).await;
    b.goto(&pay_url(&order)).await;
    b.wait_for("main#cashier").await;
    assert_eq!(
        b.attr("main#cashier", "data-client").await.as_deref(),
        Some("wechat")
    );
    assert_eq!(
        b.attrs("ul#ways > li.way", "data-way").await,
        ["wechat_jsapi"]
    );
    b.close().await;
}
both_databases!(wechats_browser_is_offered_wechat_only);

async fn an_expired_order_says_so_and_offers_the_way_back(backend: DbBackend) {
    let (options, clock) = TestOptions::with_manual_clock();
    let t = spawn_app_with(backend, with_sandboxes(options)).await;
    let Some(b) = harness::open(DESKTOP).await else {
        return;
    };
    let return_url = "https://shop.example/orders/BREXPI0001".to_owned();
    let mut request = cashier_request("BREXPI0001", Some(return_url.clone()));
    request.expire_time = Some(chrono::Utc::now() + chrono::Duration::minutes(2));
    let order = create(&t, &request).await;
    clock.advance_ms(3 * 60 * 1000);
    b.goto(&pay_url(&order)).await;
    b.wait_for("#notice").await;
    assert_eq!(
        b.attr("#notice", "data-reason").await.as_deref(),
        Some("expired")
    );
    assert_eq!(b.count("ul#ways > li.way").await, 0);
    assert_eq!(
        b.attr("a#return-link", "href").await.as_deref(),
        Some(return_url.as_str())
    );
    b.close().await;
}
both_databases!(an_expired_order_says_so_and_offers_the_way_back);

async fn reopening_the_link_lands_on_the_same_order_and_channel_trade(backend: DbBackend) {
    let t = sandboxed(backend).await;
    let Some(first) = harness::open(DESKTOP).await else {
        return;
    };
    let order = create(&t, &cashier_request("BRREEN0001", None)).await;
    let trade_no = trade_no(&order);
    let link = pay_url(&order);
    first.goto(&link).await;
    first.click(&way_button("wechat_native")).await;
    first.wait_visible("#qr").await;
    let qr_url = format!("{}/cashier/{trade_no}/qr.svg", t.base_url);
    let qr = reqwest::get(&qr_url).await.unwrap().text().await.unwrap();
    let chosen = t.app.cashier_order(&trade_no).await.unwrap().unwrap();
    assert!(chosen.pay_data.is_some());
    first.close().await;

    // The payer opens the same link again, in another browser: no new choice, no new trade.
    let again = harness::open(DESKTOP).await.expect("the browser runs");
    again.goto(&link).await;
    again.wait_visible("#qr").await;
    assert_eq!(
        again.attr("main#cashier", "data-trade-no").await.as_deref(),
        Some(trade_no.as_str())
    );
    assert_eq!(
        reqwest::get(&qr_url).await.unwrap().text().await.unwrap(),
        qr
    );
    let reopened = t.app.cashier_order(&trade_no).await.unwrap().unwrap();
    assert_eq!(reopened.pay_data, chosen.pay_data);
    assert_eq!(reopened.chosen_pay_type, Some(PayType::WechatNative));
    assert_eq!(reopened.updated_at_ms, chosen.updated_at_ms);
    again.close().await;
}
both_databases!(reopening_the_link_lands_on_the_same_order_and_channel_trade);

async fn merchant_text_is_shown_as_text_and_never_run(backend: DbBackend) {
    let t = sandboxed(backend).await;
    let Some(b) = harness::open(DESKTOP).await else {
        return;
    };
    let subject = "Mug <script>window.pwned = 1</script> \"big\" 'red'";
    let body = "<img src=x onerror=\"window.pwned = 2\"> & more";
    let mut request = cashier_request("BRESCA0001", None);
    request.subject = subject.into();
    request.body = Some(body.into());
    let order = create(&t, &request).await;
    b.goto(&pay_url(&order)).await;
    b.wait_for("main#cashier").await;
    assert_eq!(b.text("#subject").await, subject);
    assert!(b.text("main#cashier").await.contains(body));
    assert_eq!(b.eval::<Option<i64>>("window.pwned").await, None);
    assert_eq!(
        b.count("main#cashier script, main#cashier img[src=x]")
            .await,
        0
    );
    b.close().await;
}
both_databases!(merchant_text_is_shown_as_text_and_never_run);
