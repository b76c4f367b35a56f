//! Each Alipay scenario through the merchant API (acceptance 1): create, what the payer's
//! device gets, the payer pays, Alipay's notification reaches the app, the merchant sees
//! SUCCESS and is notified; a partial then a full refund, each answered at once by Alipay and
//! confirmed by its refund notification; and close.

use super::{alipay_order, scene, Scene, BUYER_ID};
use crate::support::{query_refund, refund_of, yuan};
use paygate_client::{CloseOrder, OrderRef, QueryRefund};
use paygate_domain::{OrderStatus, PayData, PayType, RefundStatus, TradeNo};
use paygate_testkit::{both_databases, DbBackend, MerchantServer};
use serde_json::{json, Value};

/// Checks what the payer's device got and plays the payer paying through it: the QR code
/// scanned, the JSAPI trade paid, the cashier page opened, the app's order string handed over.
async fn payer_pays(s: &Scene, pay_type: PayType, trade_no: &TradeNo, pay_data: Option<&PayData>) {
    let (status, paid) = match (pay_type, pay_data) {
        (PayType::AlipayNative, Some(PayData::CodeUrl(url))) => {
            assert!(url.starts_with("https://qr.alipay.com/"), "{url}");
            s.payer_raw(json!({"code_url": url, "action": "pay"})).await
        }
        (PayType::AlipayJsapi, Some(PayData::Params(params))) => {
            let at_alipay = s.alipay_trade(trade_no).await;
            assert_eq!(params.keys().collect::<Vec<_>>(), ["tradeNO"]);
            assert_eq!(params["tradeNO"], at_alipay["trade_no"].as_str().unwrap());
            s.payer(trade_no, "pay").await
        }
        (PayType::AlipayH5 | PayType::AlipayPc, Some(PayData::RedirectUrl(url))) => {
            assert!(url.starts_with(&s.alipay.gateway_url), "{url}");
            let (status, page) = s.browse(url).await;
            assert_eq!(status, 200);
            assert!(page.contains(trade_no.as_str()), "{page}");
            s.payer(trade_no, "pay").await
        }
        (PayType::AlipayApp, Some(PayData::Params(params))) => {
            let order_string = &params["order_string"];
            assert!(
                order_string.contains("alipay.trade.app.pay"),
                "{order_string}"
            );
            let body = json!({"order_string": order_string, "action": "pay"});
            s.payer_raw(body).await
        }
        (pay_type, other) => panic!("{pay_type} answered pay data {other:?}"),
    };
    assert_eq!(status, 200, "{paid}");
    assert_eq!(paid["out_trade_no"], trade_no.as_str());
    assert_eq!(paid["trade_status"], "TRADE_SUCCESS");
}

/// Refunds `amount`: Alipay refunds within the call, and its notification changes nothing.
async fn refund_succeeds(s: &Scene, trade_no: &TradeNo, number: &str, amount: &str) {
    let asked =
        s.t.client
            .refund(&refund_of(trade_no, number, amount))
            .await;
    let asked = asked.expect("refund accepted");
    assert_eq!(asked.refund_amount, yuan(amount));
    assert_eq!(asked.refund_status, RefundStatus::Success);
    let by = QueryRefund::RefundNo(asked.refund_no.clone());
    assert_eq!(
        query_refund(&s.t, by).await.refund_status,
        RefundStatus::Success
    );
    let at_alipay = s.alipay_refund(trade_no, asked.refund_no.as_str()).await;
    assert_eq!(at_alipay["code"], "10000");
    assert_eq!(at_alipay["refund_status"], "REFUND_SUCCESS");
    assert_eq!(at_alipay["refund_amount"], amount);
}

/// Create, pay, notify, query, tell the merchant, refund part then the rest.
async fn a_scenario_runs_end_to_end(backend: DbBackend, pay_type: PayType) {
    let s = scene(backend).await;
    let merchant = MerchantServer::start().await;
    let number = format!("AE2E-{pay_type}");
    let create = alipay_order(pay_type, &number, "10.00", &merchant.url);
    let created = s.t.client.create_order(&create).await.expect("create");
    assert_eq!(created.pay_type, Some(pay_type));
    let trade_no = created.trade_no.clone();

    if pay_type == PayType::AlipayMicropay {
        // The pay code was presented and the payer had nothing to confirm: paid at once.
        assert_eq!(created.pay_data, None);
        assert_eq!(created.trade_status, OrderStatus::Success);
    } else {
        assert_eq!(created.trade_status, OrderStatus::WaitPay);
        payer_pays(&s, pay_type, &trade_no, created.pay_data.as_ref()).await;
        s.wait_for_status(&trade_no, OrderStatus::Success).await;
    }
    let at_alipay = s.alipay_trade(&trade_no).await;
    assert_eq!(at_alipay["trade_status"], "TRADE_SUCCESS");
    assert_eq!(at_alipay["total_amount"], "10.00");
    let order = s.query(&trade_no).await;
    assert_eq!(order.trade_status, OrderStatus::Success);
    assert_eq!(order.receipt_amount, Some(yuan("10.00")));
    assert_eq!(
        order.channel_trade_no.as_deref(),
        at_alipay["trade_no"].as_str(),
        "the channel's number is Alipay's trade_no"
    );
    assert!(order.channel_trade_no.is_some());
    if pay_type == PayType::AlipayJsapi {
        assert_eq!(at_alipay["buyer_user_id"], BUYER_ID);
    }

    s.notifier().try_step().await.expect("notifier step");
    let received = merchant.received();
    assert_eq!(received.len(), 1, "one notification of the payment");
    assert_eq!(received[0]["trade_no"], trade_no.as_str());
    assert_eq!(received[0]["trade_status"], "SUCCESS");
    assert_eq!(received[0]["notify_type"], "TRADE_SUCCESS");

    let accepted_before = s.callbacks_counted("accepted").await;
    refund_succeeds(&s, &trade_no, &format!("{number}-R1"), "3.00").await;
    assert_eq!(s.order_status(&trade_no).await, OrderStatus::PartialRefund);
    refund_succeeds(&s, &trade_no, &format!("{number}-R2"), "7.00").await;
    let order = s.query(&trade_no).await;
    assert_eq!(order.trade_status, OrderStatus::Refund);
    assert_eq!(order.refunded_amount, Some(yuan("10.00")));
    // A full refund closes the trade at Alipay; here it stays refunded, never "closed unpaid".
    let at_alipay: Value = s.alipay_trade(&trade_no).await;
    assert_eq!(at_alipay["trade_status"], "TRADE_CLOSED");
    s.wait_until("both refund notifications", || async {
        s.callbacks_counted("accepted").await - accepted_before >= 2.0
    })
    .await;
    assert_eq!(s.order_status(&trade_no).await, OrderStatus::Refund);
    s.t.stop().await;
}

async fn alipay_native_runs_end_to_end(backend: DbBackend) {
    a_scenario_runs_end_to_end(backend, PayType::AlipayNative).await;
}
both_databases!(alipay_native_runs_end_to_end);

async fn alipay_jsapi_runs_end_to_end(backend: DbBackend) {
    a_scenario_runs_end_to_end(backend, PayType::AlipayJsapi).await;
}
both_databases!(alipay_jsapi_runs_end_to_end);

async fn alipay_h5_runs_end_to_end(backend: DbBackend) {
    a_scenario_runs_end_to_end(backend, PayType::AlipayH5).await;
}
both_databases!(alipay_h5_runs_end_to_end);

async fn alipay_pc_runs_end_to_end(backend: DbBackend) {
    a_scenario_runs_end_to_end(backend, PayType::AlipayPc).await;
}
both_databases!(alipay_pc_runs_end_to_end);

async fn alipay_app_runs_end_to_end(backend: DbBackend) {
    a_scenario_runs_end_to_end(backend, PayType::AlipayApp).await;
}
both_databases!(alipay_app_runs_end_to_end);

async fn alipay_micropay_runs_end_to_end(backend: DbBackend) {
    a_scenario_runs_end_to_end(backend, PayType::AlipayMicropay).await;
}
both_databases!(alipay_micropay_runs_end_to_end);

async fn closing_an_unpaid_native_order_closes_it_at_alipay(backend: DbBackend) {
    let s = scene(backend).await;
    let merchant = MerchantServer::start().await;
    let create = alipay_order(PayType::AlipayNative, "AE2E-CLOSE", "5.00", &merchant.url);
    let trade_no =
        s.t.client
            .create_order(&create)
            .await
            .expect("create")
            .trade_no;

    let close = CloseOrder::from(OrderRef::TradeNo(trade_no.clone()));
    s.t.client.close_order(&close).await.expect("close");
    assert_eq!(s.order_status(&trade_no).await, OrderStatus::Closed);
    let at_alipay = s.alipay_trade(&trade_no).await;
    assert_eq!(at_alipay["trade_status"], "TRADE_CLOSED");
    let (status, refused) = s.payer(&trade_no, "pay").await;
    assert_eq!(status, 409, "a closed trade cannot be paid: {refused}");
    // The merchant closed it, so the merchant is not told, even when Alipay's TRADE_CLOSED
    // notification beats the close's answer.
    assert!(s.notification_kinds(&trade_no).await.is_empty());
    s.t.stop().await;
}
both_databases!(closing_an_unpaid_native_order_closes_it_at_alipay);

async fn a_trade_alipay_closes_is_closed_here_and_the_merchant_told(backend: DbBackend) {
    let s = scene(backend).await;
    let merchant = MerchantServer::start().await;
    let create = alipay_order(PayType::AlipayNative, "AE2E-FAILS", "5.00", &merchant.url);
    let trade_no =
        s.t.client
            .create_order(&create)
            .await
            .expect("create")
            .trade_no;

    // The payer's payment fails and Alipay closes the trade; its TRADE_CLOSED notification is
    // the only news of it.
    let (status, closed) = s.payer(&trade_no, "fail").await;
    assert_eq!(
        (status, &closed["trade_status"]),
        (200, &json!("TRADE_CLOSED"))
    );
    s.wait_for_status(&trade_no, OrderStatus::Closed).await;

    assert_eq!(s.notification_kinds(&trade_no).await, ["TRADE_CLOSED"]);
    s.notifier().try_step().await.expect("notifier step");
    let received = merchant.received();
    assert_eq!(received.len(), 1, "one notification of the close");
    assert_eq!(received[0]["trade_status"], "CLOSED");
    assert_eq!(received[0]["notify_type"], "TRADE_CLOSED");
    s.t.stop().await;
}
both_databases!(a_trade_alipay_closes_is_closed_here_and_the_merchant_told);
