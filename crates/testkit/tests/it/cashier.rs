//! The hosted cashier (issue #10): a cashier order (`pay_type=auto`, no scene) opens nothing at
//! any channel until its payer chooses among the ways that fit their client; the choice is
//! settled once, re-entry lands on the same trade, the page escapes whatever the merchant wrote,
//! never takes the amount from the browser, and sends the payer back with a signed result.

use crate::support::{create_fields, create_raw, query_order, NOTIFY_URL};
use paygate_app::ManualClock;
use paygate_domain::sign::VerifyKey;
use paygate_domain::{OrderStatus, PayData, PayType, TradeNo};
use paygate_sandbox::{AlipaySandboxConfig, UnionpaySandboxConfig, WechatSandboxConfig};
use paygate_testkit::{both_databases, spawn_app, spawn_app_with, DbBackend, TestApp, TestOptions};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

const DESKTOP: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
    Chrome/126.0 Safari/537.36";
const PHONE: &str = "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like \
    Gecko) Chrome/126.0 Mobile Safari/537.36";
const WECHAT_APP: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) \
    AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.44 NetType/WIFI";
const ALIPAY_APP: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) \
    AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 AlipayClient/10.5.36.6000";
const RETURN_URL: &str = "https://shop.example/return?from=cashier";

/// The app with the three channels' sandboxes and the platform wallet, at a manual clock.
async fn every_wallet(backend: DbBackend) -> (TestApp, Arc<ManualClock>) {
    let (options, clock) = TestOptions::with_manual_clock();
    let t = spawn_app_with(
        backend,
        TestOptions {
            wechat_sandbox: Some(WechatSandboxConfig::default()),
            alipay_sandbox: Some(AlipaySandboxConfig::default()),
            unionpay_sandbox: Some(UnionpaySandboxConfig::default()),
            ..options
        },
    )
    .await;
    (t, clock)
}

fn cashier_fields(number: &str, amount: &str, extra: Value) -> Map<String, Value> {
    let mut fields = create_fields(number, amount);
    fields.insert("pay_type".into(), "auto".into());
    fields.insert("return_url".into(), RETURN_URL.into());
    for (name, value) in extra.as_object().expect("an object") {
        fields.insert(name.clone(), value.clone());
    }
    fields
}

/// Creates a cashier order through the signed API; its trade number.
async fn cashier_order(t: &TestApp, number: &str, amount: &str, extra: Value) -> TradeNo {
    let (status, answer) = create_raw(t, cashier_fields(number, amount, extra)).await;
    assert_eq!(
        (status, &answer["code"]),
        (200, &json!("SUCCESS")),
        "{answer:?}"
    );
    TradeNo::parse(answer["trade_no"].as_str().expect("a trade_no")).expect("our trade_no")
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a client")
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Answer {
    fn location(&self) -> Option<&str> {
        self.headers
            .get("location")
            .map(|v| v.to_str().expect("text"))
    }

    fn header(&self, name: &str) -> &str {
        (self.headers.get(name))
            .map(|v| v.to_str().expect("text"))
            .unwrap_or_else(|| panic!("no {name} header"))
    }

    /// The values of `attribute` on the page, in order.
    fn attributes(&self, attribute: &str) -> Vec<String> {
        let needle = format!("{attribute}=\"");
        self.body
            .match_indices(&needle)
            .map(|(at, _)| {
                let rest = &self.body[at + needle.len()..];
                rest[..rest.find('"').expect("a closing quote")].to_owned()
            })
            .collect()
    }

    fn ways(&self) -> Vec<String> {
        self.attributes("data-way")
    }
}

async fn get(t: &TestApp, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = browser().get(format!("{}{path}", t.base_url));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    answer_of(request).await
}

async fn post_form(t: &TestApp, path: &str, form: &[(&str, &str)]) -> Answer {
    answer_of(
        browser()
            .post(format!("{}{path}", t.base_url))
            .header("User-Agent", DESKTOP)
            .form(form),
    )
    .await
}

async fn answer_of(request: reqwest::RequestBuilder) -> Answer {
    let answer = request.send().await.expect("the cashier answers");
    Answer {
        status: answer.status().as_u16(),
        headers: answer.headers().clone(),
        body: answer.text().await.expect("a body"),
    }
}

async fn a_cashier_order_opens_nothing_and_shows_the_ways_of_each_client(backend: DbBackend) {
    let (t, _clock) = every_wallet(backend).await;
    let (status, answer) = create_raw(&t, cashier_fields("CASHIER-1", "12.34", json!({}))).await;
    assert_eq!(status, 200, "{answer:?}");
    let trade_no = answer["trade_no"].as_str().expect("a trade_no").to_owned();
    assert_eq!(
        answer["pay_url"],
        json!(format!("{}/cashier/{trade_no}", t.base_url))
    );
    assert_eq!(answer.get("code_url"), None);
    let page_path = format!("/cashier/{trade_no}");
    let desktop = [
        "wechat_native",
        "alipay_native",
        "unionpay_native",
        "wallet",
    ];
    let mobile = ["wechat_h5", "alipay_h5", "unionpay_h5", "wallet"];
    let cases: [(&str, &str, &[&str], &str); 7] = [
        (DESKTOP, "", &desktop, "desktop"),
        (PHONE, "", &mobile, "mobile"),
        (WECHAT_APP, "", &["wechat_jsapi"], "wechat"),
        (DESKTOP, "?client=mobile", &mobile, "mobile"),
        (PHONE, "?client=desktop", &desktop, "desktop"),
        (DESKTOP, "?client=wechat", &["wechat_jsapi"], "wechat"),
        (PHONE, "?client=nonsense", &mobile, "mobile"),
    ];
    for (user_agent, query, ways, client) in cases {
        let page = get(
            &t,
            &format!("{page_path}{query}"),
            &[("User-Agent", user_agent)],
        )
        .await;
        assert_eq!(page.status, 200, "{query}: {}", page.body);
        assert_eq!(page.ways(), ways, "{user_agent} {query}");
        assert_eq!(page.attributes("data-client"), [client]);
        assert_eq!(page.attributes("data-status"), ["WAIT_PAY"]);
        assert_eq!(page.attributes("data-trade-no"), [trade_no.as_str()]);
    }
    // WeChat's JSAPI starts with the payer's sign-in at WeChat, which settles nothing yet: a
    // payer who never comes back may still choose another way.
    let jsapi = post_form(&t, &format!("{page_path}/way"), &[("way", "wechat_jsapi")]).await;
    assert_eq!(jsapi.status, 303);
    assert!(
        jsapi
            .location()
            .is_some_and(|to| to.contains("/connect/oauth2/authorize?appid=")),
        "{:?}",
        jsapi.location()
    );
    // Nothing was opened anywhere by looking or by the sign-in.
    let order = t
        .store()
        .get_order(&TradeNo::parse(&trade_no).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((order.pay_data, order.chosen_pay_type), (None, None));

    // A concrete order shows only its own way, whatever the client.
    let mut fields = create_fields("CASHIER-NATIVE", "12.34");
    fields.insert("pay_type".into(), "wechat_native".into());
    let (_, answer) = create_raw(&t, fields).await;
    let own = format!("/cashier/{}", answer["trade_no"].as_str().unwrap());
    for user_agent in [DESKTOP, PHONE] {
        let page = get(&t, &own, &[("User-Agent", user_agent)]).await;
        assert_eq!(page.ways(), ["wechat_native"], "{user_agent}");
    }
}
both_databases!(a_cashier_order_opens_nothing_and_shows_the_ways_of_each_client);

async fn merchant_text_is_escaped_everywhere_on_the_page(backend: DbBackend) {
    let (t, _clock) = every_wallet(backend).await;
    let merchant = t
        .app
        .create_merchant(paygate_app::NewMerchantInput {
            id: None,
            name: "<script>alert(\"m\")</script> Tom's & Jerry's".into(),
            sign_type: paygate_domain::sign::SignType::Md5,
            rsa_public_key: None,
            pay_types: PayType::ALL.to_vec(),
            notify_delays_secs: None,
            private_targets: paygate_domain::address::PrivateTargets::Allowed,
        })
        .await
        .expect("create merchant");
    let order = t
        .create_order_for(
            &merchant.id,
            json!({
                "out_trade_no": "ESCAPE-1", "total_amount": "1.00", "pay_type": "auto",
                "subject": "<script>alert(1)</script>\"quoted\" 'single'",
                "body": "<img src=x onerror=alert(2)>",
                "notify_url": NOTIFY_URL,
            }),
        )
        .await
        .expect("create");
    let page = get(
        &t,
        &format!("/cashier/{}", order.trade_no),
        &[("User-Agent", DESKTOP)],
    )
    .await;
    assert_eq!(page.status, 200);
    for raw in [
        "<script>alert",
        "<img src=x",
        "\"quoted\"",
        "'single'",
        "Tom's",
    ] {
        assert!(!page.body.contains(raw), "{raw} came out raw");
    }
    for escaped in [
        "&#60;script&#62;alert(1)&#60;/script&#62;&#34;quoted&#34; &#39;single&#39;",
        "&#60;img src=x onerror=alert(2)&#62;",
        "&#60;script&#62;alert(&#34;m&#34;)&#60;/script&#62; Tom&#39;s &#38; Jerry&#39;s",
    ] {
        assert!(
            page.body.contains(escaped),
            "{escaped} missing:\n{}",
            page.body
        );
    }
    // The only scripts are our own asset.
    assert_eq!(page.body.matches("<script").count(), 1);
    assert!(page
        .body
        .contains("<script src=\"/assets/cashier.js\" defer></script>"));
}
both_databases!(merchant_text_is_escaped_everywhere_on_the_page);

async fn choosing_again_or_reopening_lands_on_the_same_trade(backend: DbBackend) {
    let (t, _clock) = every_wallet(backend).await;
    let trade_no = cashier_order(&t, "REENTER-1", "12.34", json!({})).await;
    let way_path = format!("/cashier/{trade_no}/way");
    let first = post_form(&t, &way_path, &[("way", "alipay_native")]).await;
    assert_eq!(
        (first.status, first.location()),
        (303, Some(format!("/cashier/{trade_no}").as_str()))
    );
    let order = t.store().get_order(&trade_no).await.unwrap().unwrap();
    assert_eq!(order.chosen_pay_type, Some(PayType::AlipayNative));
    let Some(PayData::CodeUrl(code_url)) = order.pay_data.clone() else {
        panic!("no code_url: {order:?}");
    };
    let qr = get(&t, &format!("/cashier/{trade_no}/qr.svg"), &[]).await;
    assert_eq!(
        (qr.status, qr.header("content-type")),
        (200, "image/svg+xml")
    );
    assert!(
        qr.body.starts_with("<?xml") && qr.body.contains("<svg"),
        "{}",
        qr.body
    );

    let second = post_form(&t, &way_path, &[("way", "alipay_native")]).await;
    assert_eq!(second.status, 303);
    let again = t.store().get_order(&trade_no).await.unwrap().unwrap();
    assert_eq!(again.pay_data, Some(PayData::CodeUrl(code_url.clone())));
    assert_eq!(
        get(&t, &format!("/cashier/{trade_no}/qr.svg"), &[])
            .await
            .body,
        qr.body
    );
    // Another way after the first: refused, the first stands.
    let other = post_form(&t, &way_path, &[("way", "wechat_native")]).await;
    assert_eq!(other.status, 200);
    assert!(
        other.body.contains("being paid with alipay_native"),
        "{}",
        other.body
    );
    let reopened = get(
        &t,
        &format!("/cashier/{trade_no}"),
        &[("User-Agent", PHONE)],
    )
    .await;
    assert_eq!(reopened.ways(), ["alipay_native"]);
    assert!(reopened
        .body
        .contains(&format!("id=\"qr\" src=\"/cashier/{trade_no}/qr.svg\"")));
    let after = t.store().get_order(&trade_no).await.unwrap().unwrap();
    assert_eq!(
        (after.chosen_pay_type, after.pay_data),
        (
            Some(PayType::AlipayNative),
            Some(PayData::CodeUrl(code_url))
        )
    );
}
both_databases!(choosing_again_or_reopening_lands_on_the_same_trade);

async fn the_sandbox_pays_as_the_payer_and_the_result_returns_signed(backend: DbBackend) {
    let (t, _clock) = every_wallet(backend).await;
    let trade_no = cashier_order(&t, "SANDBOX-1", "12.34", json!({})).await;
    // Before a way is chosen there is nothing to pay.
    let early = post_form(&t, &format!("/cashier/{trade_no}/sandbox-pay"), &[]).await;
    assert_eq!(early.status, 404);
    post_form(
        &t,
        &format!("/cashier/{trade_no}/way"),
        &[("way", "wechat_native")],
    )
    .await;
    let page = get(
        &t,
        &format!("/cashier/{trade_no}"),
        &[("User-Agent", DESKTOP)],
    )
    .await;
    assert!(
        page.body.contains("id=\"sandbox-pay-form\""),
        "{}",
        page.body
    );
    assert!(page
        .body
        .contains("<noscript><meta http-equiv=\"refresh\" content=\"5\"></noscript>"));
    let unpaid = get(&t, &format!("/cashier/{trade_no}/result"), &[]).await;
    assert_eq!(
        (unpaid.status, unpaid.location()),
        (303, Some(format!("/cashier/{trade_no}").as_str()))
    );

    let paid = post_form(&t, &format!("/cashier/{trade_no}/sandbox-pay"), &[]).await;
    assert_eq!(paid.status, 303, "{}", paid.body);
    for _ in 0..200 {
        if query_order(&t, &trade_no).await.trade_status == OrderStatus::Success {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let status = get(&t, &format!("/cashier/{trade_no}/status"), &[]).await;
    assert_eq!(status.header("cache-control"), "no-store");
    let status: Value = serde_json::from_str(&status.body).unwrap();
    assert_eq!(status, json!({"status": "SUCCESS", "paid": true}));

    let result = get(&t, &format!("/cashier/{trade_no}/result"), &[]).await;
    assert_eq!(result.status, 200);
    assert_eq!(result.attributes("data-status"), ["SUCCESS", "SUCCESS"]);
    let href = result
        .attributes("href")
        .into_iter()
        .find(|h| h.starts_with("https://shop.example"));
    // askama escapes `&` in attributes as `&#38;`.
    let link = href.expect("a return link").replace("&#38;", "&");
    let url = url::Url::parse(&link).unwrap();
    assert_eq!(
        (url.host_str(), url.path()),
        (Some("shop.example"), "/return")
    );
    let mut fields: Map<String, Value> = url
        .query_pairs()
        .filter(|(name, _)| name != "from")
        .map(|(name, value)| (name.into_owned(), Value::String(value.into_owned())))
        .collect();
    let names: Vec<&str> = fields.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "merchant_id",
            "out_trade_no",
            "trade_no",
            "total_amount",
            "currency",
            "trade_status",
            "timestamp",
            "nonce",
            "sign_type",
            "sign"
        ]
    );
    assert_eq!(fields["total_amount"], "12.34");
    assert_eq!(fields["trade_status"], "SUCCESS");
    assert_eq!(fields["out_trade_no"], "SANDBOX-1");
    let key = VerifyKey::Md5(t.merchant.secret.clone());
    assert!(key.verify(&fields).is_ok());
    fields.insert("total_amount".into(), "0.01".into());
    assert!(key.verify(&fields).is_err());
}
both_databases!(the_sandbox_pays_as_the_payer_and_the_result_returns_signed);

async fn without_a_sandbox_there_is_no_pay_as_the_payer(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let (status, answer) = create_raw(&t, create_fields("NO-SANDBOX", "1.00")).await;
    assert_eq!(status, 200, "{answer:?}");
    let trade_no = answer["trade_no"].as_str().unwrap();
    let page = get(
        &t,
        &format!("/cashier/{trade_no}"),
        &[("User-Agent", DESKTOP)],
    )
    .await;
    assert_eq!(page.ways(), ["wallet"]);
    assert!(!page.body.contains("sandbox-pay"));
    let refused = post_form(&t, &format!("/cashier/{trade_no}/sandbox-pay"), &[]).await;
    assert_eq!(refused.status, 404);
    let unknown = TradeNo::mint(1_795_000_000_000);
    for path in ["", "/status", "/qr.svg", "/result"] {
        let answer = get(&t, &format!("/cashier/{unknown}{path}"), &[]).await;
        assert_eq!(answer.status, 404, "{path}");
    }
    let chosen = post_form(
        &t,
        &format!("/cashier/{unknown}/way"),
        &[("way", "alipay_h5")],
    )
    .await;
    assert_eq!(chosen.status, 404);
}
both_databases!(without_a_sandbox_there_is_no_pay_as_the_payer);

async fn expired_and_closed_orders_say_so_and_offer_the_way_back(backend: DbBackend) {
    let (t, clock) = every_wallet(backend).await;
    let expiring = t
        .create_order_at_app_time(Value::Object(cashier_fields("EXPIRE-1", "1.00", json!({}))))
        .await;
    let closing = t
        .create_order_at_app_time(Value::Object(cashier_fields("CLOSE-1", "1.00", json!({}))))
        .await;
    let keys = t.app.merchant_keys(t.merchant_id()).await.unwrap().unwrap();
    let by = paygate_store::OrderRef::TradeNo(closing.trade_no.clone());
    t.app.close_order(&keys, &by).await.expect("close");
    clock.advance_ms(31 * 60 * 1000);
    for (order, reason) in [(&expiring, "expired"), (&closing, "closed")] {
        let page = get(
            &t,
            &format!("/cashier/{}", order.trade_no),
            &[("User-Agent", DESKTOP)],
        )
        .await;
        assert_eq!(page.status, 200);
        assert_eq!(page.attributes("data-reason"), [reason]);
        assert!(page.ways().is_empty(), "{reason}: {:?}", page.ways());
        let back = format!("id=\"return-link\" href=\"{}\"", RETURN_URL);
        assert!(page.body.contains(&back), "{}", page.body);
        let way = post_form(
            &t,
            &format!("/cashier/{}/way", order.trade_no),
            &[("way", "alipay_native")],
        )
        .await;
        assert_eq!(way.status, 200);
        let stored = t.store().get_order(&order.trade_no).await.unwrap().unwrap();
        assert_eq!(stored.chosen_pay_type, None, "{reason}");
    }
}
both_databases!(expired_and_closed_orders_say_so_and_offer_the_way_back);

async fn the_page_speaks_english_when_asked_and_sends_its_security_headers(backend: DbBackend) {
    let (t, _clock) = every_wallet(backend).await;
    let trade_no = cashier_order(&t, "LANG-1", "1.00", json!({})).await;
    let path = format!("/cashier/{trade_no}");
    let zh = get(&t, &path, &[("User-Agent", DESKTOP)]).await;
    assert!(zh.body.contains("<html lang=\"zh-CN\">") && zh.body.contains("选择支付方式"));
    let en = get(
        &t,
        &path,
        &[("Accept-Language", "fr;q=0.9, en-GB;q=0.8, zh;q=0.3")],
    )
    .await;
    assert!(en.body.contains("<html lang=\"en\">") && en.body.contains("Choose how to pay"));
    let forced = get(&t, &format!("{path}?lang=zh"), &[("Accept-Language", "en")]).await;
    assert!(forced.body.contains("<html lang=\"zh-CN\">"));
    for (name, value) in [
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
        ("x-content-type-options", "nosniff"),
    ] {
        assert_eq!(zh.header(name), value, "{name}");
    }
    let csp = zh.header("content-security-policy");
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let script = get(&t, "/assets/cashier.js", &[]).await;
    assert_eq!(
        (script.status, script.header("content-type")),
        (200, "text/javascript; charset=utf-8")
    );
    assert_eq!(get(&t, "/assets/other.js", &[]).await.status, 404);
}
both_databases!(the_page_speaks_english_when_asked_and_sends_its_security_headers);

async fn installments_are_offered_in_exact_fen_unless_credit_is_disabled(backend: DbBackend) {
    let (t, _clock) = every_wallet(backend).await;
    let open = cashier_order(&t, "HB-1", "100.00", json!({})).await;
    let page = get(
        &t,
        &format!("/cashier/{open}?lang=en"),
        &[("User-Agent", DESKTOP)],
    )
    .await;
    assert_eq!(
        page.attributes("value")
            .iter()
            .filter(|v| ["3", "6", "12"].contains(&v.as_str()))
            .count(),
        3
    );
    for text in [
        "3 payments of ¥33.33 (first ¥33.34)",
        "6 payments of ¥16.66 (first ¥16.70)",
        "12 payments of ¥8.33 (first ¥8.37)",
    ] {
        assert!(page.body.contains(text), "{text} missing");
    }
    // Only Alipay offers them.
    assert_eq!(page.body.matches("class=\"installments\"").count(), 1);

    let closed = cashier_order(&t, "HB-2", "100.00", json!({"disable_credit": true})).await;
    let page = get(
        &t,
        &format!("/cashier/{closed}"),
        &[("User-Agent", DESKTOP)],
    )
    .await;
    assert_eq!(
        page.ways(),
        [
            "wechat_native",
            "alipay_native",
            "unionpay_native",
            "wallet"
        ]
    );
    assert!(!page.body.contains("installments"), "{}", page.body);
    let stored = t.store().get_order(&closed).await.unwrap().unwrap();
    assert!(stored.disable_credit);
    // Installments asked for anyway are refused, and nothing is opened.
    let way = post_form(
        &t,
        &format!("/cashier/{closed}/way"),
        &[("way", "alipay_native"), ("installments", "3")],
    )
    .await;
    assert_eq!(way.status, 200);
    assert_eq!(
        t.store()
            .get_order(&closed)
            .await
            .unwrap()
            .unwrap()
            .pay_data,
        None
    );
    // The flag is part of the order: a retry without it is refused naming it.
    let (_, answer) = create_raw(&t, cashier_fields("HB-2", "100.00", json!({}))).await;
    assert_eq!(
        (&answer["code"], &answer["error_field"]),
        (&json!("FAIL"), &json!("disable_credit")),
        "{answer:?}"
    );
}
both_databases!(installments_are_offered_in_exact_fen_unless_credit_is_disabled);

async fn the_browser_cannot_change_the_amount(backend: DbBackend) {
    let (t, _clock) = every_wallet(backend).await;
    let trade_no = cashier_order(&t, "AMOUNT-1", "12.34", json!({})).await;
    let way = post_form(
        &t,
        &format!("/cashier/{trade_no}/way"),
        &[
            ("way", "alipay_native"),
            ("amount", "0.01"),
            ("total_amount", "0.01"),
        ],
    )
    .await;
    assert_eq!(way.status, 303);
    let order = t.store().get_order(&trade_no).await.unwrap().unwrap();
    assert_eq!(order.total_amount.minor(), 12_34);
    let page = get(
        &t,
        &format!("/cashier/{trade_no}?amount=0.01"),
        &[("User-Agent", DESKTOP)],
    )
    .await;
    assert!(
        page.body.contains("<span id=\"amount\">12.34</span>"),
        "{}",
        page.body
    );
    assert_eq!(
        query_order(&t, &trade_no)
            .await
            .total_amount
            .to_major_string(),
        "12.34"
    );
}
both_databases!(the_browser_cannot_change_the_amount);

async fn an_alipay_browser_goes_straight_to_alipay_on_a_cashier_order(backend: DbBackend) {
    let (t, _clock) = every_wallet(backend).await;
    let trade_no = cashier_order(&t, "INAPP-1", "12.34", json!({})).await;
    let alipay = t.alipay.clone().expect("the Alipay sandbox runs");
    let first = get(
        &t,
        &format!("/cashier/{trade_no}"),
        &[("User-Agent", ALIPAY_APP)],
    )
    .await;
    assert_eq!(first.status, 303);
    let to = first.location().expect("a redirect").to_owned();
    assert!(to.starts_with(&alipay.gateway_url), "{to}");
    // The channel's page returns the payer to our result page.
    let result = format!("{}/cashier/{trade_no}/result", t.base_url);
    let encoded: String = url::form_urlencoded::byte_serialize(result.as_bytes()).collect();
    assert!(to.contains(&encoded), "{to}");
    let again = get(
        &t,
        &format!("/cashier/{trade_no}"),
        &[("User-Agent", ALIPAY_APP)],
    )
    .await;
    assert_eq!(again.location(), Some(to.as_str()));
}
both_databases!(an_alipay_browser_goes_straight_to_alipay_on_a_cashier_order);

/// WeChat's browser pays by JSAPI, which needs the payer's openid: choosing the way sends the
/// browser to WeChat's web authorisation, which comes back with a one-time code; the cashier
/// trades it for the openid, opens the JSAPI trade for that payer and offers WeChat's bridge.
async fn a_wechat_payer_signs_in_and_pays_by_jsapi(backend: DbBackend) {
    let (t, _clock) = every_wallet(backend).await;
    let trade_no = cashier_order(&t, "JSAPI-1", "8.88", json!({})).await;
    let wechat = t.wechat.clone().expect("the WeChat sandbox runs");
    let page = get(
        &t,
        &format!("/cashier/{trade_no}"),
        &[("User-Agent", WECHAT_APP)],
    )
    .await;
    assert_eq!(page.ways(), ["wechat_jsapi"]);

    let chosen = post_form(
        &t,
        &format!("/cashier/{trade_no}/way"),
        &[("way", "wechat_jsapi")],
    )
    .await;
    assert_eq!(chosen.status, 303, "{}", chosen.body);
    let sign_in = chosen.location().expect("to WeChat's sign-in").to_owned();
    let back = format!(
        "{}/cashier/{trade_no}/signed-in?way=wechat_jsapi",
        t.base_url
    );
    let encoded: String = url::form_urlencoded::byte_serialize(back.as_bytes()).collect();
    assert_eq!(
        sign_in,
        format!(
            "{}/connect/oauth2/authorize?appid={}&redirect_uri={encoded}&response_type=code\
             &scope=snsapi_base&state={trade_no}#wechat_redirect",
            wechat.base_url, wechat.appid
        )
    );
    // Nothing is opened at WeChat Pay before the payer is known.
    assert_eq!(
        query_order(&t, &trade_no).await.trade_status,
        OrderStatus::WaitPay
    );
    let store_order = t.store().get_order(&trade_no).await.unwrap().unwrap();
    assert_eq!(store_order.pay_data, None);

    let authorised = answer_of(browser().get(&sign_in)).await;
    assert_eq!(authorised.status, 302);
    let returned = authorised
        .location()
        .expect("back to the cashier")
        .to_owned();
    assert!(
        returned.starts_with(&format!("{back}&code="))
            && returned.ends_with(&format!("&state={trade_no}")),
        "{returned}"
    );
    let opened = answer_of(browser().get(&returned)).await;
    assert_eq!(
        (opened.status, opened.location()),
        (303, Some(format!("/cashier/{trade_no}").as_str())),
        "{}",
        opened.body
    );
    let order = t.store().get_order(&trade_no).await.unwrap().unwrap();
    assert_eq!(order.chosen_pay_type, Some(PayType::WechatJsapi));
    let Some(PayData::Params(params)) = &order.pay_data else {
        panic!(
            "a JSAPI trade's invoke parameters, got {:?}",
            order.pay_data
        );
    };
    assert_eq!(params["appId"], wechat.appid);
    assert!(params["package"].starts_with("prepay_id=wx"), "{params:?}");
    assert_eq!(params["signType"], "RSA");

    let page = get(
        &t,
        &format!("/cashier/{trade_no}"),
        &[("User-Agent", WECHAT_APP)],
    )
    .await;
    assert!(page.body.contains("id=\"jsapi-pay\""), "{}", page.body);
    assert!(
        page.body.contains("id=\"sandbox-pay-form\""),
        "{}",
        page.body
    );
    // askama writes the JSON's quotes as `&#34;`.
    let shown = page
        .attributes("data-params")
        .pop()
        .expect("the bridge's parameters");
    let shown: BTreeMap<String, String> =
        serde_json::from_str(&shown.replace("&#34;", "\"")).unwrap();
    assert_eq!(&shown, params);

    // The code is single use: coming back with it again opens nothing new.
    let again = answer_of(browser().get(&returned)).await;
    assert_eq!(again.status, 200);
    assert!(again.body.contains("id=\"error\""), "{}", again.body);
    let same = t.store().get_order(&trade_no).await.unwrap().unwrap();
    assert_eq!(same.pay_data, order.pay_data);
    // A code meant for another order is not taken.
    let forged = get(
        &t,
        &format!("/cashier/{trade_no}/signed-in?way=wechat_jsapi&code=x&state=P0"),
        &[],
    )
    .await;
    assert_eq!(forged.status, 200);
    assert!(forged.body.contains("id=\"error\""));

    let paid = post_form(&t, &format!("/cashier/{trade_no}/sandbox-pay"), &[]).await;
    assert_eq!(paid.status, 303, "{}", paid.body);
    for _ in 0..200 {
        if query_order(&t, &trade_no).await.trade_status == OrderStatus::Success {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        query_order(&t, &trade_no).await.trade_status,
        OrderStatus::Success
    );
    // Back on the page, a paid order shows its result.
    let after = get(
        &t,
        &format!("/cashier/{trade_no}"),
        &[("User-Agent", WECHAT_APP)],
    )
    .await;
    assert_eq!(
        (after.status, after.location()),
        (303, Some(format!("/cashier/{trade_no}/result").as_str()))
    );
}

both_databases!(a_wechat_payer_signs_in_and_pays_by_jsapi);
