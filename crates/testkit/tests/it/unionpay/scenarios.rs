//! Each UnionPay scenario through the merchant API (acceptance 1): create, what the payer's
//! browser, app or scanner needs, the payer pays, UnionPay's back notification reaches the app,
//! the merchant sees SUCCESS and is notified; a partial then a full refund, each answered
//! PROCESSING by UnionPay and settled by its refund notification.

use super::{scene, unionpay_order, Scene};
use crate::support::{query_refund, refund_of, yuan};
use paygate_channels::{RefundOutcome, TradeState};
use paygate_client::QueryRefund;
use paygate_domain::{OrderStatus, PayData, PayType, RefundStatus, TradeNo};
use paygate_testkit::{both_databases, DbBackend, MerchantServer};
use serde_json::json;

/// What the payer's side gets is UnionPay's: the signed form for the front endpoint, the
/// APP's `tn`, the QR code's content; a pay code needs nothing.
fn assert_pay_data(s: &Scene, pay_type: PayType, trade_no: &TradeNo, pay_data: Option<&PayData>) {
    match (pay_type, pay_data) {
        (PayType::UnionpayWeb | PayType::UnionpayH5, Some(PayData::Form { action, fields })) => {
            assert_eq!(action, &s.unionpay.front_url);
            assert_eq!(fields["orderId"], trade_no.as_str());
            assert_eq!(fields["txnAmt"], "1000");
            assert_eq!(fields["merId"], s.unionpay.mer_id);
            assert_eq!(fields["certId"], s.unionpay.cert_id);
            assert_eq!(fields["orderDesc"], "green tea");
            // 07 is a PC browser, 08 a phone's.
            let channel_type = if pay_type == PayType::UnionpayWeb {
                "07"
            } else {
                "08"
            };
            assert_eq!(fields["channelType"], channel_type);
            assert!(fields.contains_key("signature"), "{fields:?}");
        }
        (PayType::UnionpayApp, Some(PayData::Params(params))) => {
            let tn = &params["tn"];
            assert_eq!(tn.len(), 21, "{tn}");
            assert!(tn.bytes().all(|b| b.is_ascii_digit()), "{tn}");
        }
        (PayType::UnionpayNative, Some(PayData::CodeUrl(url))) => {
            assert!(url.starts_with("https://qr.95516.com/"), "{url}")
        }
        (PayType::UnionpayMicropay, None) => {}
        (pay_type, other) => panic!("{pay_type} answered pay data {other:?}"),
    }
}

/// The payer pays the way their pay type lets them.
async fn payer_pays(s: &Scene, trade_no: &TradeNo, pay_data: Option<&PayData>) {
    match pay_data {
        Some(PayData::Form { action, fields }) => s.browser_pays(action, fields).await,
        Some(PayData::CodeUrl(url)) => {
            let scanned = json!({"code_url": url, "action": "pay"});
            assert_eq!(s.sandbox_payer_raw(scanned).await, 200);
        }
        _ => {
            let (status, paid) = s.payer(trade_no, "pay").await;
            assert_eq!((status, &paid["orig_resp_code"]), (200, &json!("00")));
        }
    }
}

/// Refunds `amount`; UnionPay takes it (PROCESSING) and its notification makes it SUCCESS.
async fn refund_succeeds(s: &Scene, trade_no: &TradeNo, number: &str, amount: &str) {
    let asked =
        s.t.client
            .refund(&refund_of(trade_no, number, amount))
            .await;
    let asked = asked.expect("refund accepted");
    assert_eq!(asked.refund_amount, yuan(amount));
    let by = QueryRefund::RefundNo(asked.refund_no.clone());
    s.wait_until("the refund's notification", || async {
        query_refund(&s.t, by.clone()).await.refund_status == RefundStatus::Success
    })
    .await;
    let at_unionpay = s.unionpay_refund(&asked.refund_no, trade_no).await;
    assert!(
        matches!(
            at_unionpay,
            RefundOutcome::Succeeded {
                channel_refund_no: Some(_)
            }
        ),
        "{at_unionpay:?}"
    );
}

/// Create, pay, notification, query, merchant notified, refund part then the rest.
async fn a_scenario_runs_end_to_end(backend: DbBackend, pay_type: PayType) {
    let s = scene(backend).await;
    let merchant = MerchantServer::start().await;
    let number = format!("UP-{pay_type}");
    let create = unionpay_order(pay_type, &number, "10.00", &merchant.url);
    let created = s.t.client.create_order(&create).await.expect("create");
    assert_eq!(created.pay_type, Some(pay_type));
    let trade_no = created.trade_no.clone();
    assert_pay_data(&s, pay_type, &trade_no, created.pay_data.as_ref());

    if pay_type == PayType::UnionpayMicropay {
        // The pay code was presented and the payer had nothing to confirm: paid at once.
        assert_eq!(created.trade_status, OrderStatus::Success);
    } else {
        assert_eq!(created.trade_status, OrderStatus::WaitPay);
        payer_pays(&s, &trade_no, created.pay_data.as_ref()).await;
        s.wait_for_status(&trade_no, OrderStatus::Success).await;
    }
    let order = s.query(&trade_no).await;
    assert_eq!(order.trade_status, OrderStatus::Success);
    assert_eq!(order.receipt_amount, Some(yuan("10.00")));
    let query_id = s.query_id(&trade_no).await;
    assert_eq!(
        order.channel_trade_no.as_deref(),
        Some(query_id.as_str()),
        "the channel's number is UnionPay's queryId"
    );

    s.notifier().try_step().await.expect("notifier step");
    let received = merchant.received();
    assert_eq!(received.len(), 1, "one notification of the payment");
    assert_eq!(received[0]["trade_no"], trade_no.as_str());
    assert_eq!(received[0]["trade_status"], "SUCCESS");
    assert_eq!(received[0]["notify_type"], "TRADE_SUCCESS");

    refund_succeeds(&s, &trade_no, &format!("{number}-R1"), "3.00").await;
    assert_eq!(s.order_status(&trade_no).await, OrderStatus::PartialRefund);
    refund_succeeds(&s, &trade_no, &format!("{number}-R2"), "7.00").await;
    let order = s.query(&trade_no).await;
    assert_eq!(order.trade_status, OrderStatus::Refund);
    assert_eq!(order.refunded_amount, Some(yuan("10.00")));
    // A fully refunded trade stays paid at UnionPay: refunds are transactions of their own.
    assert!(matches!(
        s.unionpay_trade(&trade_no).await,
        TradeState::Paid { .. }
    ));
    s.t.stop().await;
}

async fn web_runs_end_to_end(backend: DbBackend) {
    a_scenario_runs_end_to_end(backend, PayType::UnionpayWeb).await;
}
both_databases!(web_runs_end_to_end);

async fn h5_runs_end_to_end(backend: DbBackend) {
    a_scenario_runs_end_to_end(backend, PayType::UnionpayH5).await;
}
both_databases!(h5_runs_end_to_end);

async fn app_runs_end_to_end(backend: DbBackend) {
    a_scenario_runs_end_to_end(backend, PayType::UnionpayApp).await;
}
both_databases!(app_runs_end_to_end);

async fn native_runs_end_to_end(backend: DbBackend) {
    a_scenario_runs_end_to_end(backend, PayType::UnionpayNative).await;
}
both_databases!(native_runs_end_to_end);

async fn micropay_runs_end_to_end(backend: DbBackend) {
    a_scenario_runs_end_to_end(backend, PayType::UnionpayMicropay).await;
}
both_databases!(micropay_runs_end_to_end);

async fn auto_micropay_with_a_unionpay_code_is_charged_at_unionpay(backend: DbBackend) {
    let s = scene(backend).await;
    let mut create = unionpay_order(
        PayType::UnionpayMicropay,
        "UP-AUTO",
        "10.00",
        "https://shop.example/notify",
    );
    create.pay_type = PayType::Auto;
    // The client names the scene by its wire value.
    create.scene = Some("micropay".parse().expect("a scene"));
    let created = s.t.client.create_order(&create).await.expect("create");

    assert_eq!(created.pay_type, Some(PayType::UnionpayMicropay));
    assert_eq!(created.trade_status, OrderStatus::Success);
    let query_id = s.query_id(&created.trade_no).await;
    assert_eq!(created.channel_trade_no.as_deref(), Some(query_id.as_str()));
    s.t.stop().await;
}
both_databases!(auto_micropay_with_a_unionpay_code_is_charged_at_unionpay);
