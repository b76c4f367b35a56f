//! Union login and the payer's wallet in the cashier (issue #10, seed 000 §三): the partner
//! decrypts the link as any partner would (AES-256-GCM, straight from the `aes-gcm` crate); the
//! link's ticket logs in once, within five minutes; and the session pays from the wallet only
//! with the payer's pay password.

use crate::support::{balance_fen, unpaid_order, wallet_order};
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use paygate_app::AppSettings;
use paygate_domain::sign::SignType;
use paygate_domain::{Currency, Money, OrderStatus, PayCode, PayType, TradeNo, WalletAccountId};
use paygate_testkit::{both_databases, create_merchant, spawn_app, spawn_app_with, DbBackend};
use paygate_testkit::{TestApp, TestOptions};
use reqwest::header::{CACHE_CONTROL, LOCATION, REFERRER_POLICY, SET_COOKIE};
use serde_json::{json, Map, Value};

const PHONE_MD5: &str = "e10adc3949ba59abbe56e057f20f883e";
const PAY_PASSWORD: &str = "246810";

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client")
}

async fn union_login_raw(t: &TestApp, fields: Value) -> (u16, Map<String, Value>) {
    let mut fields = fields.as_object().expect("an object").clone();
    // At the app's clock, which some tests move past the signature's time window.
    let now_secs = t.app.clock().now_ms() / 1000;
    fields.insert("timestamp".into(), now_secs.into());
    t.client
        .call_raw(paygate_api::paths::UNION_LOGIN, fields)
        .await
        .expect("an answer")
}

/// What a partner does: decrypt `encrypted_url` with the 32-byte key (hex) the operator gave it.
fn partner_decrypts(key_hex: &str, encrypted_url: &str) -> Result<String, aes_gcm::Error> {
    let key = hex::decode(key_hex).expect("hex key");
    let cipher = Aes256Gcm::new_from_slice(&key).expect("32-byte key");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encrypted_url)
        .expect("base64");
    let (nonce, sealed) = bytes.split_at(12);
    let plain = cipher.decrypt(Nonce::from_slice(nonce), sealed)?;
    Ok(String::from_utf8(plain).expect("a UTF-8 URL"))
}

async fn key_hex(t: &TestApp) -> String {
    let key = t.app.union_login_key(t.merchant_id()).await;
    key.expect("union-login key").to_hex()
}

/// The login URL the partner gets for `user`, opening `out_trade_no` if given.
async fn login_url(t: &TestApp, user: &str, out_trade_no: Option<&str>) -> String {
    let mut fields = json!({"partner_user_id": user, "phone_md5": PHONE_MD5, "nickname": "小明"});
    if let Some(number) = out_trade_no {
        fields["out_trade_no"] = number.into();
    }
    let (status, body) = union_login_raw(t, fields).await;
    assert_eq!(status, 200, "{body:?}");
    t.client.verify(&body).await.expect("a signed answer");
    assert_eq!(body["expires_in"], 300);
    let encrypted = body["encrypted_url"].as_str().expect("encrypted_url");
    partner_decrypts(&key_hex(t).await, encrypted).expect("the partner decrypts the link")
}

/// The payer's browser after following a login URL: its session cookie.
struct Payer {
    cookie: String,
    account: WalletAccountId,
}

async fn follow(url: &str) -> reqwest::Response {
    browser().get(url).send().await.expect("login answer")
}

async fn logged_in(t: &TestApp, user: &str, out_trade_no: Option<&str>) -> Payer {
    let answer = follow(&login_url(t, user, out_trade_no).await).await;
    assert_eq!(answer.status(), 303);
    let set_cookie = answer.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let account = t
        .store()
        .union_user_account(t.merchant_id(), user)
        .await
        .expect("read union user")
        .expect("the user has an account");
    Payer { cookie, account }
}

async fn top_up(t: &TestApp, payer: &Payer, yuan: &str) {
    let money = Money::parse(yuan, Currency::Cny).unwrap();
    t.app
        .wallet_topup(&payer.account, money)
        .await
        .expect("top up");
}

async fn get_page(t: &TestApp, payer: Option<&Payer>, path: &str) -> (u16, String) {
    let mut request = browser().get(format!("{}{path}", t.base_url));
    if let Some(payer) = payer {
        request = request.header("Cookie", &payer.cookie);
    }
    let answer = request.send().await.expect("page");
    (answer.status().as_u16(), answer.text().await.unwrap())
}

fn csrf_of(html: &str) -> String {
    let re = regex::Regex::new(r#"name="csrf" value="([0-9a-f]{64})""#).unwrap();
    re.captures(html).expect("a csrf field")[1].to_owned()
}

/// Posts the wallet form with the anti-forgery token of the order's page; answers (status,
/// Location, body).
async fn post_wallet(
    t: &TestApp,
    payer: &Payer,
    trade_no: &TradeNo,
    fields: &[(&str, &str)],
) -> (u16, Option<String>, String) {
    let (_, page) = get_page(t, Some(payer), &format!("/cashier/{trade_no}/wallet")).await;
    post_wallet_with(t, payer, trade_no, &csrf_of(&page), fields).await
}

async fn post_wallet_with(
    t: &TestApp,
    payer: &Payer,
    trade_no: &TradeNo,
    csrf: &str,
    fields: &[(&str, &str)],
) -> (u16, Option<String>, String) {
    let mut form: Vec<(&str, &str)> = vec![("csrf", csrf)];
    form.extend_from_slice(fields);
    let answer = browser()
        .post(format!("{}/cashier/{trade_no}/wallet", t.base_url))
        .header("Cookie", &payer.cookie)
        .form(&form)
        .send()
        .await
        .expect("wallet answer");
    let location = answer
        .headers()
        .get(LOCATION)
        .map(|v| v.to_str().unwrap().to_owned());
    (
        answer.status().as_u16(),
        location,
        answer.text().await.unwrap(),
    )
}

async fn set_password(t: &TestApp, payer: &Payer, trade_no: &TradeNo) {
    let fields = [
        ("new_pay_password", PAY_PASSWORD),
        ("new_pay_password_again", PAY_PASSWORD),
    ];
    let (status, location, _) = post_wallet(t, payer, trade_no, &fields).await;
    assert_eq!(status, 303);
    assert_eq!(location.unwrap(), format!("/cashier/{trade_no}/wallet"));
}

async fn pay(
    t: &TestApp,
    payer: &Payer,
    trade_no: &TradeNo,
    password: &str,
) -> (u16, Option<String>, String) {
    post_wallet(t, payer, trade_no, &[("pay_password", password)]).await
}

async fn unpaid(t: &TestApp, number: &str, amount: &str) -> TradeNo {
    let order = t.client.create_order(&unpaid_order(number, amount)).await;
    order.expect("create an unpaid order").trade_no
}

async fn status_of(t: &TestApp, trade_no: &TradeNo) -> OrderStatus {
    t.store().get_order(trade_no).await.unwrap().unwrap().status
}

fn error_reason(html: &str) -> String {
    let re =
        regex::Regex::new(r#"id="wallet-error" role="alert" data-reason="([a-z-]+)""#).unwrap();
    re.captures(html)
        .map(|c| c[1].to_owned())
        .unwrap_or_default()
}

async fn a_partner_decrypts_the_link_and_a_tampered_one_fails(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let trade_no = unpaid(&t, "UL-1", "12.34").await;
    let (status, body) = union_login_raw(
        &t,
        json!({"partner_user_id": "u-1", "phone_md5": PHONE_MD5, "out_trade_no": "UL-1"}),
    )
    .await;
    assert_eq!(status, 200, "{body:?}");
    let encrypted = body["encrypted_url"].as_str().unwrap();
    let url = partner_decrypts(&key_hex(&t).await, encrypted).expect("decrypts");
    let prefix = format!("{}/cashier/login?ticket=", t.app.settings().public_url);
    let ticket = url.strip_prefix(&prefix).expect("a login URL");
    assert_eq!(ticket.len(), 43);
    assert!(ticket
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));

    let mut bytes = base64::engine::general_purpose::STANDARD
        .decode(encrypted)
        .unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    let tampered = base64::engine::general_purpose::STANDARD.encode(bytes);
    assert!(partner_decrypts(&key_hex(&t).await, &tampered).is_err());

    // The link opens the named order's cashier with the session cookie.
    let local = url.replace(&t.app.settings().public_url, &t.base_url);
    let answer = follow(&local).await;
    assert_eq!(answer.status(), 303);
    assert_eq!(answer.headers()[LOCATION], format!("/cashier/{trade_no}"));
    assert_eq!(answer.headers()[REFERRER_POLICY], "no-referrer");
    let cookie = answer.headers()[SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("pg_cashier="), "{cookie}");
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/cashier",
        "Max-Age=900",
    ] {
        assert!(cookie.contains(attribute), "{cookie} has {attribute}");
    }
    assert!(!cookie.contains("Secure"), "http public URL: {cookie}");
}
both_databases!(a_partner_decrypts_the_link_and_a_tampered_one_fails);

/// The public URL in tests is not the test server's; a browser follows the same path here.
async fn local_login_url(t: &TestApp, user: &str) -> String {
    let url = login_url(t, user, None).await;
    url.replace(&t.app.settings().public_url, &t.base_url)
}

async fn refused_without_cookie(url: &str, reason: &str) {
    let answer = follow(url).await;
    assert_eq!(answer.status(), 403);
    assert!(answer.headers().get(SET_COOKIE).is_none());
    let html = answer.text().await.unwrap();
    assert!(
        html.contains(&format!("data-reason=\"{reason}\"")),
        "{html}"
    );
}

async fn unknown_expired_and_reused_tickets_are_refused_without_a_cookie(backend: DbBackend) {
    let (options, clock) = TestOptions::with_manual_clock();
    let t = spawn_app_with(backend, options).await;

    let url = local_login_url(&t, "u-2").await;
    let (base, ticket) = url.split_once("ticket=").unwrap();
    let mut forged = ticket.as_bytes().to_vec();
    forged[0] = if forged[0] == b'A' { b'B' } else { b'A' };
    let forged = format!("{base}ticket={}", String::from_utf8(forged).unwrap());
    refused_without_cookie(&forged, "unknown").await;
    refused_without_cookie(&format!("{base}ticket=short"), "unknown").await;

    let answers = open_twice_at_once(&url).await;
    assert_eq!(
        answers.iter().filter(|s| **s == 303).count(),
        1,
        "{answers:?}"
    );
    assert_eq!(
        answers.iter().filter(|s| **s == 403).count(),
        1,
        "{answers:?}"
    );
    refused_without_cookie(&url, "used").await;

    let late = local_login_url(&t, "u-2").await;
    clock.advance_ms(300_000);
    refused_without_cookie(&late, "expired").await;
    let in_time = local_login_url(&t, "u-2").await;
    clock.advance_ms(299_999);
    assert_eq!(follow(&in_time).await.status(), 303);
    assert_eq!(follow(&in_time).await.status(), 403);
}
both_databases!(unknown_expired_and_reused_tickets_are_refused_without_a_cookie);

/// Two browsers open the same link at once.
async fn open_twice_at_once(url: &str) -> Vec<u16> {
    let (a, b) = tokio::join!(follow(url), follow(url));
    vec![a.status().as_u16(), b.status().as_u16()]
}

async fn a_login_lands_on_me_without_an_order_and_bad_fields_are_refused(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let answer = follow(&local_login_url(&t, "u-3").await).await;
    assert_eq!(answer.headers()[LOCATION], "/cashier/me");

    let other = create_merchant(&t.app, SignType::Md5).await;
    let fields = json!({"out_trade_no": "THEIRS-1", "total_amount": "1.00", "subject": "tea",
                        "notify_url": "https://shop.example/notify", "pay_type": "wallet"});
    t.create_order_for(&other.id, fields)
        .await
        .expect("their order");
    let (status, body) = union_login_raw(
        &t,
        json!({"partner_user_id": "u-3", "phone_md5": PHONE_MD5, "out_trade_no": "THEIRS-1"}),
    )
    .await;
    assert_eq!(
        (status, body["error_code"].as_str()),
        (404, Some("1003")),
        "{body:?}"
    );

    for (fields, named) in [
        (
            json!({"partner_user_id": "u-3", "phone_md5": "13800138000"}),
            "phone_md5",
        ),
        (
            json!({"partner_user_id": "u-3", "phone_md5": PHONE_MD5.to_uppercase()}),
            "phone_md5",
        ),
        (json!({"phone_md5": PHONE_MD5}), "partner_user_id"),
    ] {
        let (status, body) = union_login_raw(&t, fields).await;
        assert_eq!(status, 400);
        assert_eq!(body["error_code"], "1001");
        assert_eq!(body["error_field"], named);
    }
    // The same partner user is the same account.
    let first = t
        .store()
        .union_user_account(t.merchant_id(), "u-3")
        .await
        .unwrap();
    login_url(&t, "u-3", None).await;
    let again = t
        .store()
        .union_user_account(t.merchant_id(), "u-3")
        .await
        .unwrap();
    assert_eq!(first, again);
    assert!(first.is_some());
}
both_databases!(a_login_lands_on_me_without_an_order_and_bad_fields_are_refused);

async fn the_wallet_pays_only_with_the_right_password(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let trade_no = unpaid(&t, "UL-PAY", "12.34").await;
    let payer = logged_in(&t, "u-4", Some("UL-PAY")).await;
    top_up(&t, &payer, "100.00").await;

    let (status, html) = get_page(&t, None, &format!("/cashier/{trade_no}/wallet")).await;
    assert_eq!(status, 401);
    assert_eq!(error_reason(&html), "no-session");

    let (status, html) = get_page(&t, Some(&payer), &format!("/cashier/{trade_no}/wallet")).await;
    assert_eq!(status, 200);
    assert!(
        html.contains("id=\"new-pay-password\""),
        "no password yet: {html}"
    );
    assert!(
        html.contains("<span id=\"wallet-balance\">100.00</span>"),
        "{html}"
    );
    set_password(&t, &payer, &trade_no).await;
    let (_, html) = get_page(&t, Some(&payer), &format!("/cashier/{trade_no}/wallet")).await;
    assert!(html.contains("id=\"pay-password\"") && html.contains("id=\"wallet-confirm\""));
    let csrf = csrf_of(&html);

    let (status, _, html) = pay(&t, &payer, &trade_no, "000000").await;
    assert_eq!(
        (status, error_reason(&html).as_str()),
        (422, "wrong-password")
    );
    assert_eq!(balance_fen(&t, &payer.account).await, 100_00);
    assert_eq!(status_of(&t, &trade_no).await, OrderStatus::WaitPay);

    let (status, location, _) = pay(&t, &payer, &trade_no, PAY_PASSWORD).await;
    assert_eq!(status, 303);
    assert_eq!(location.unwrap(), format!("/cashier/{trade_no}/result"));
    assert_eq!(status_of(&t, &trade_no).await, OrderStatus::Success);
    assert_eq!(balance_fen(&t, &payer.account).await, 100_00 - 12_34);
    let notifications = t.store().notifications_for_trade(&trade_no).await.unwrap();
    assert_eq!(notifications.len(), 1);

    let again = [("pay_password", PAY_PASSWORD)];
    let (status, _, html) = post_wallet_with(&t, &payer, &trade_no, &csrf, &again).await;
    assert_eq!((status, error_reason(&html).as_str()), (409, "not-payable"));
    assert_eq!(balance_fen(&t, &payer.account).await, 100_00 - 12_34);

    let forged = browser()
        .post(format!("{}/cashier/{trade_no}/wallet", t.base_url))
        .header("Cookie", &payer.cookie)
        .form(&[
            ("csrf", "0".repeat(64).as_str()),
            ("pay_password", PAY_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
}
both_databases!(the_wallet_pays_only_with_the_right_password);

async fn five_wrong_passwords_lock_and_short_balances_charge_nothing(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let trade_no = unpaid(&t, "UL-LOCK", "50.00").await;
    let payer = logged_in(&t, "u-5", Some("UL-LOCK")).await;
    top_up(&t, &payer, "20.00").await;
    set_password(&t, &payer, &trade_no).await;

    let (status, _, html) = pay(&t, &payer, &trade_no, PAY_PASSWORD).await;
    assert_eq!(
        (status, error_reason(&html).as_str()),
        (422, "insufficient-balance")
    );
    assert_eq!(balance_fen(&t, &payer.account).await, 20_00);
    assert_eq!(status_of(&t, &trade_no).await, OrderStatus::WaitPay);

    for attempt in 1..=4 {
        let (status, _, _) = pay(&t, &payer, &trade_no, "111111").await;
        assert_eq!(status, 422, "attempt {attempt}");
    }
    let (status, _, html) = pay(&t, &payer, &trade_no, "111111").await;
    assert_eq!((status, error_reason(&html).as_str()), (423, "locked"));
    top_up(&t, &payer, "100.00").await;
    let (status, _, _) = pay(&t, &payer, &trade_no, PAY_PASSWORD).await;
    assert_eq!(status, 423, "the right password waits out the lock");
    assert_eq!(balance_fen(&t, &payer.account).await, 120_00);
    assert_eq!(status_of(&t, &trade_no).await, OrderStatus::WaitPay);
    assert!(t
        .store()
        .notifications_for_trade(&trade_no)
        .await
        .unwrap()
        .is_empty());
}
both_databases!(five_wrong_passwords_lock_and_short_balances_charge_nothing);

async fn a_session_cannot_pay_another_merchants_order(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let own = unpaid(&t, "UL-OWN", "1.00").await;
    let payer = logged_in(&t, "u-6", None).await;
    top_up(&t, &payer, "10.00").await;
    set_password(&t, &payer, &own).await;

    let other = create_merchant(&t.app, SignType::Md5).await;
    let fields = json!({"out_trade_no": "THEIRS-2", "total_amount": "1.00", "subject": "tea",
                        "notify_url": "https://shop.example/notify", "pay_type": "wallet"});
    let theirs = t
        .create_order_for(&other.id, fields)
        .await
        .unwrap()
        .trade_no;
    let (status, html) = get_page(&t, Some(&payer), &format!("/cashier/{theirs}/wallet")).await;
    assert_eq!((status, error_reason(&html).as_str()), (409, "not-payable"));

    let (_, own_page) = get_page(&t, Some(&payer), &format!("/cashier/{own}/wallet")).await;
    let answer = browser()
        .post(format!("{}/cashier/{theirs}/wallet", t.base_url))
        .header("Cookie", &payer.cookie)
        .form(&[
            ("csrf", csrf_of(&own_page).as_str()),
            ("pay_password", PAY_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 409);
    assert_eq!(status_of(&t, &theirs).await, OrderStatus::WaitPay);
    assert_eq!(balance_fen(&t, &payer.account).await, 10_00);
}
both_databases!(a_session_cannot_pay_another_merchants_order);

async fn a_cashier_order_paid_from_the_wallet_records_the_way(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let fields = json!({"out_trade_no": "UL-AUTO", "total_amount": "3.00", "subject": "tea",
                        "notify_url": "https://shop.example/notify", "pay_type": "auto",
                        "scene": "native"});
    let trade_no = t.create_order_at_app_time(fields).await.trade_no;
    let payer = logged_in(&t, "u-7", Some("UL-AUTO")).await;
    top_up(&t, &payer, "10.00").await;
    set_password(&t, &payer, &trade_no).await;
    let (status, _, _) = pay(&t, &payer, &trade_no, PAY_PASSWORD).await;
    assert_eq!(status, 303);
    let order = t.store().get_order(&trade_no).await.unwrap().unwrap();
    assert_eq!(order.status, OrderStatus::Success);
    assert_eq!(order.chosen_pay_type, Some(PayType::Wallet));
    assert_eq!(balance_fen(&t, &payer.account).await, 7_00);
}
both_databases!(a_cashier_order_paid_from_the_wallet_records_the_way);

async fn my_pay_code_pays_a_micropay_order(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let (status, _) = get_page(&t, None, "/cashier/me").await;
    assert_eq!(status, 401);
    let payer = logged_in(&t, "u-8", None).await;
    top_up(&t, &payer, "30.00").await;

    let answer = browser()
        .get(format!("{}/cashier/me", t.base_url))
        .header("Cookie", &payer.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()[CACHE_CONTROL], "no-store");
    let html = answer.text().await.unwrap();
    let re = regex::Regex::new(r#"<p id="pay-code">(88[0-9]{16})</p>"#).unwrap();
    let code = re.captures(&html).expect("an 18-digit 88 code")[1].to_owned();
    assert!(html.contains("<div id=\"pay-code-qr\""), "{html}");
    assert!(html.contains("<svg"), "{html}");

    let code = PayCode::parse(&code).unwrap();
    let order = t
        .client
        .create_order(&wallet_order("UL-MICRO", "8.88", &code))
        .await;
    assert_eq!(
        order.expect("paid by the code").trade_status,
        OrderStatus::Success
    );
    assert_eq!(balance_fen(&t, &payer.account).await, 30_00 - 8_88);
}
both_databases!(my_pay_code_pays_a_micropay_order);

async fn sessions_expire_after_fifteen_minutes(backend: DbBackend) {
    let (options, clock) = TestOptions::with_manual_clock();
    let t = spawn_app_with(backend, options).await;
    let payer = logged_in(&t, "u-9", None).await;
    assert_eq!(get_page(&t, Some(&payer), "/cashier/me").await.0, 200);
    clock.advance_ms(15 * 60 * 1000);
    assert_eq!(get_page(&t, Some(&payer), "/cashier/me").await.0, 401);
}
both_databases!(sessions_expire_after_fifteen_minutes);

async fn the_operator_hands_the_merchant_its_key(backend: DbBackend) {
    let token = "an-admin-token-of-at-least-32-characters";
    let options = TestOptions {
        settings: AppSettings {
            admin_token: Some(token.into()),
            ..AppSettings::default()
        },
        ..TestOptions::default()
    };
    let t = spawn_app_with(backend, options).await;
    let url = format!(
        "{}/admin/merchants/{}/union-login-key",
        t.base_url,
        t.merchant_id()
    );
    let answer = browser().get(&url).bearer_auth(token).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    let body: Value = answer.json().await.unwrap();
    let key = body["union_login_key"].as_str().unwrap().to_owned();
    assert_eq!(key.len(), 64);
    assert_eq!(key, key_hex(&t).await, "the same key, asked again");
    let link = login_url(&t, "u-10", None).await;
    assert!(link.contains("/cashier/login?ticket="), "{link}");
}
both_databases!(the_operator_hands_the_merchant_its_key);
