//! Union login in the browser (issue #10 acceptance 3): the partner decrypts the link and sends
//! the payer's browser to it; the payer lands on the order's cashier logged in, sees the wallet
//! with its balance, and pays from it only by confirming with the pay password.

use crate::harness::{self, js_string, MOBILE};
use crate::support::{cashier_request, create, sandboxed, trade_no, AMOUNT};
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use paygate_domain::{OrderStatus, TradeNo};
use paygate_testkit::{both_databases, DbBackend, TestApp};
use serde_json::{json, Map, Value};

const USER: &str = "partner-user-7";
const PAY_PASSWORD: &str = "135790";

/// What the partner does: asks for a login link for its user and decrypts it with the key the
/// operator gave it (AES-256-GCM, nonce first, base64).
async fn partner_login_link(t: &TestApp, out_trade_no: &str) -> String {
    let fields: Map<String, Value> = json!({
        "partner_user_id": USER,
        "phone_md5": "e10adc3949ba59abbe56e057f20f883e",
        "out_trade_no": out_trade_no,
    })
    .as_object()
    .expect("an object")
    .clone();
    let (status, body) = t
        .client
        .call_raw(paygate_api::paths::UNION_LOGIN, fields)
        .await
        .expect("an answer");
    assert_eq!(status, 200, "{body:?}");
    t.client.verify(&body).await.expect("signed by the gateway");
    let key = t
        .app
        .union_login_key(t.merchant_id())
        .await
        .expect("the merchant's union-login key");
    let key = hex::decode(key.to_hex()).expect("hex");
    let sealed = base64::engine::general_purpose::STANDARD
        .decode(body["encrypted_url"].as_str().expect("encrypted_url"))
        .expect("base64");
    let (nonce, sealed) = sealed.split_at(12);
    let cipher = Aes256Gcm::new_from_slice(&key).expect("a 32-byte key");
    let plain = cipher
        .decrypt(Nonce::from_slice(nonce), sealed)
        .expect("the partner decrypts the link");
    String::from_utf8(plain).expect("a URL")
}

async fn status_of(t: &TestApp, trade_no: &TradeNo) -> OrderStatus {
    let order = t.app.cashier_order(trade_no).await.unwrap().unwrap();
    order.status
}

async fn a_union_login_payer_pays_from_the_wallet_only_with_the_pay_password(backend: DbBackend) {
    let t = sandboxed(backend).await;
    let Some(b) = harness::open(MOBILE).await else {
        return;
    };
    let order = create(&t, &cashier_request("BRUNIO0001", None)).await;
    let trade_no = trade_no(&order);
    let link = partner_login_link(&t, "BRUNIO0001").await;
    assert!(
        link.starts_with(&format!("{}/cashier/login?", t.base_url)),
        "{link}"
    );

    b.goto(&link).await;
    b.wait_for("main#cashier").await;
    assert_eq!(
        b.attr("main#cashier", "data-trade-no").await.as_deref(),
        Some(trade_no.as_str())
    );
    let account = t
        .store()
        .union_user_account(t.merchant_id(), USER)
        .await
        .expect("the store answers")
        .expect("the partner's user has a wallet account");
    t.fund_wallet(account.as_str(), "100.00").await;

    b.click("ul#ways > li.way[data-way=\"wallet\"] a#wallet-link")
        .await;
    b.wait_for("main#wallet #wallet-balance").await;
    assert_eq!(b.text("#wallet-balance").await, "100.00");
    assert!(b.text("main#wallet #amount").await.contains(AMOUNT));
    // A new account sets its pay password first.
    b.type_into("input#new-pay-password", PAY_PASSWORD).await;
    b.type_into("input#new-pay-password-again", PAY_PASSWORD)
        .await;
    b.click("button#wallet-set-password").await;
    b.wait_for("input#pay-password").await;

    b.type_into("input#pay-password", "000000").await;
    b.click("button#wallet-confirm").await;
    b.wait_for("#wallet-error[role=\"alert\"]").await;
    assert_eq!(status_of(&t, &trade_no).await, OrderStatus::WaitPay);
    assert_eq!(b.text("#wallet-balance").await, "100.00");

    b.wait_for("input#pay-password").await;
    b.eval::<Value>(&format!(
        "document.querySelector({}).value = ''",
        js_string("input#pay-password")
    ))
    .await;
    b.type_into("input#pay-password", PAY_PASSWORD).await;
    b.click("button#wallet-confirm").await;
    b.wait_for("#result[data-status=\"SUCCESS\"]").await;
    assert_eq!(status_of(&t, &trade_no).await, OrderStatus::Success);
    let balance = t.store().wallet_balance(&account).await.unwrap();
    assert_eq!(balance.map(|fen| fen.minor()), Some(87_66));

    // The next order's cashier, in the same session, shows the wallet with what is left.
    let next = create(&t, &cashier_request("BRUNIO0002", None)).await;
    b.goto(&crate::support::pay_url(&next)).await;
    b.wait_for("main#cashier").await;
    assert_eq!(
        b.text("ul#ways > li.way[data-way=\"wallet\"] #wallet-balance")
            .await,
        "87.66"
    );
    b.close().await;
}
both_databases!(a_union_login_payer_pays_from_the_wallet_only_with_the_pay_password);
