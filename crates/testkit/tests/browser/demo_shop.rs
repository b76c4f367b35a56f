//! The demo shop end to end (issue #10): product page, Buy, the cashier, the payer pays, the
//! gateway's notification verified by the shop, and the shop's order page showing "paid".

use crate::harness::{self, DESKTOP};
use crate::support::with_sandboxes;
use paygate::demo_shop::{DemoShop, DemoShopConfig};
use paygate_testkit::{
    both_databases, sign_key_of, spawn_app_with, DbBackend, TestOptions, Workers,
};

async fn the_demo_shop_sells_through_the_cashier_and_shows_paid_from_the_notification(
    backend: DbBackend,
) {
    // The notifier runs: the shop learns of the payment only from it.
    let options = TestOptions {
        workers: Workers::Run,
        ..TestOptions::default()
    };
    let t = spawn_app_with(backend, with_sandboxes(options)).await;
    let Some(b) = harness::open(DESKTOP).await else {
        return;
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let config = DemoShopConfig {
        gateway: t.base_url.clone(),
        merchant_id: t.merchant_id().clone(),
        sign_key: sign_key_of(&t.merchant),
    };
    let shop = DemoShop::start(config, listener)
        .await
        .expect("the shop starts");

    b.goto(&format!("{}/", shop.base_url)).await;
    b.click("main#product #buy").await;
    b.wait_for("main#cashier").await;
    assert!(
        b.url()
            .await
            .starts_with(&format!("{}/cashier/", t.base_url)),
        "{}",
        b.url().await
    );
    assert!(b.text("#amount").await.contains("12.34"));
    b.click("ul#ways > li.way[data-way=\"wechat_native\"] button")
        .await;
    b.wait_visible("#qr").await;
    b.click("button#sandbox-pay").await;
    b.wait_for("#result[data-status=\"SUCCESS\"]").await;
    // The result page sends the payer back to the shop, which checks the signed parameters and
    // shows the order as paid once the notification has come.
    b.wait_for("main#order #return-verified").await;
    assert!(b
        .url()
        .await
        .starts_with(&format!("{}/return?", shop.base_url)));
    b.wait_for("main#order[data-status=\"paid\"]").await;
    assert_eq!(b.text("#order-status").await, "paid");
    let out_trade_no = b
        .attr("main#order", "data-out-trade-no")
        .await
        .expect("the order number");
    assert!(out_trade_no.starts_with("DEMO"), "{out_trade_no}");
    b.close().await;
    shop.stop().await.expect("the shop stops");
}
both_databases!(the_demo_shop_sells_through_the_cashier_and_shows_paid_from_the_notification);
