//! Each WeChat Pay scenario through the merchant API (acceptance 1): create, the payer's device
//! data, the payer pays, WeChat Pay calls back, the merchant sees SUCCESS and is notified, a
//! partial then a full refund both succeed by WeChat Pay's refund callback; and close.

use super::{scene, wechat_order, Scene};
use crate::support::{query_refund, refund_of, yuan};
use paygate_channels::wechat::v3_auth::{app_pay_message, jsapi_pay_message};
use paygate_client::{CloseOrder, OrderRef, QueryRefund};
use paygate_domain::sign::{RsaPrivateKey, VerifyKey};
use paygate_domain::{OrderStatus, PayData, PayType, RefundStatus, TradeNo};
use paygate_testkit::{both_databases, DbBackend, MerchantServer};
use std::collections::BTreeMap;

/// The merchant's key verifies what WeChat Pay's bridge or SDK will check: the invoke
/// parameters are signed by the merchant over the documented message.
fn assert_invoke_params_signed(s: &Scene, pay_type: PayType, params: &BTreeMap<String, String>) {
    let merchant_key = RsaPrivateKey::from_text(&s.wechat.merchant_private_key_pem).unwrap();
    let verify = VerifyKey::Rsa2(merchant_key.public_key());
    let field = |name: &str| {
        params
            .get(name)
            .unwrap_or_else(|| panic!("{name} in {params:?}"))
    };
    let (message, signature) = match pay_type {
        PayType::WechatJsapi => {
            assert_eq!(field("appId"), &s.wechat.appid);
            assert_eq!(field("signType"), "RSA");
            let prepay_id = field("package").strip_prefix("prepay_id=").unwrap();
            let message = jsapi_pay_message(
                field("appId"),
                field("timeStamp").parse().unwrap(),
                field("nonceStr"),
                prepay_id,
            );
            (message, field("paySign"))
        }
        PayType::WechatApp => {
            assert_eq!(field("appid"), &s.wechat.appid);
            assert_eq!(field("partnerid"), &s.wechat.mchid);
            assert_eq!(field("package"), "Sign=WXPay");
            let message = app_pay_message(
                field("appid"),
                field("timestamp").parse().unwrap(),
                field("noncestr"),
                field("prepayid"),
            );
            (message, field("sign"))
        }
        other => panic!("{other} has no invoke parameters"),
    };
    assert_eq!(verify.verify_string(&message, signature), Ok(()));
}

fn assert_pay_data(s: &Scene, pay_type: PayType, pay_data: Option<&PayData>) {
    match (pay_type, pay_data) {
        (PayType::WechatNative, Some(PayData::CodeUrl(url))) => {
            assert!(url.starts_with("weixin://"), "{url}")
        }
        (PayType::WechatH5, Some(PayData::RedirectUrl(url))) => {
            assert!(url.starts_with(&s.wechat.base_url), "{url}")
        }
        (PayType::WechatJsapi | PayType::WechatApp, Some(PayData::Params(params))) => {
            assert_invoke_params_signed(s, pay_type, params)
        }
        (PayType::WechatMicropay, None) => {}
        (pay_type, other) => panic!("{pay_type} answered pay data {other:?}"),
    }
}

/// Refunds `amount` and waits until WeChat Pay's refund callback made it SUCCESS.
async fn refund_succeeds(s: &Scene, trade_no: &TradeNo, number: &str, amount: &str) {
    let asked =
        s.t.client
            .refund(&refund_of(trade_no, number, amount))
            .await;
    let asked = asked.expect("refund accepted");
    assert_eq!(asked.refund_amount, yuan(amount));
    let by = QueryRefund::RefundNo(asked.refund_no.clone());
    s.wait_until("the refund's callback", || async {
        query_refund(&s.t, by.clone()).await.refund_status == RefundStatus::Success
    })
    .await;
    let (status, at_wechat) = s.wechat_refund(asked.refund_no.as_str()).await;
    assert_eq!(status, 200);
    assert_eq!(at_wechat["status"], "SUCCESS");
    assert_eq!(at_wechat["amount"]["refund"], yuan(amount).amount.minor());
}

/// Create, pay, call back, query, notify, refund part then the rest.
async fn a_scenario_runs_end_to_end(backend: DbBackend, pay_type: PayType) {
    let s = scene(backend).await;
    let merchant = MerchantServer::start().await;
    let number = format!("E2E-{pay_type}");
    let create = wechat_order(pay_type, &number, "10.00", &merchant.url);
    let created = s.t.client.create_order(&create).await.expect("create");
    assert_eq!(created.pay_type, Some(pay_type));
    assert_pay_data(&s, pay_type, created.pay_data.as_ref());
    let trade_no = created.trade_no.clone();

    if pay_type == PayType::WechatMicropay {
        // The pay code was presented and the payer had nothing to confirm: paid at once.
        assert_eq!(created.trade_status, OrderStatus::Success);
    } else {
        assert_eq!(created.trade_status, OrderStatus::WaitPay);
        let (status, paid) = s.payer(&trade_no, "pay").await;
        assert_eq!((status, &paid["trade_state"]), (200, &"SUCCESS".into()));
        s.wait_for_status(&trade_no, OrderStatus::Success).await;
    }
    let (_, at_wechat) = s.wechat_trade(&trade_no).await;
    let order = s.query(&trade_no).await;
    assert_eq!(order.trade_status, OrderStatus::Success);
    assert_eq!(order.receipt_amount, Some(yuan("10.00")));
    assert_eq!(
        order.channel_trade_no.as_deref(),
        at_wechat["transaction_id"].as_str(),
        "the channel's number is WeChat Pay's transaction_id"
    );
    assert!(order.channel_trade_no.is_some());

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
    let (_, at_wechat) = s.wechat_trade(&trade_no).await;
    assert_eq!(at_wechat["trade_state"], "REFUND");
    s.t.stop().await;
}

async fn jsapi_runs_end_to_end(backend: DbBackend) {
    a_scenario_runs_end_to_end(backend, PayType::WechatJsapi).await;
}
both_databases!(jsapi_runs_end_to_end);

async fn native_runs_end_to_end(backend: DbBackend) {
    a_scenario_runs_end_to_end(backend, PayType::WechatNative).await;
}
both_databases!(native_runs_end_to_end);

async fn h5_runs_end_to_end(backend: DbBackend) {
    a_scenario_runs_end_to_end(backend, PayType::WechatH5).await;
}
both_databases!(h5_runs_end_to_end);

async fn app_runs_end_to_end(backend: DbBackend) {
    a_scenario_runs_end_to_end(backend, PayType::WechatApp).await;
}
both_databases!(app_runs_end_to_end);

async fn micropay_runs_end_to_end(backend: DbBackend) {
    a_scenario_runs_end_to_end(backend, PayType::WechatMicropay).await;
}
both_databases!(micropay_runs_end_to_end);

async fn closing_an_unpaid_native_order_closes_it_at_wechat_pay(backend: DbBackend) {
    let s = scene(backend).await;
    let merchant = MerchantServer::start().await;
    let create = wechat_order(PayType::WechatNative, "E2E-CLOSE", "5.00", &merchant.url);
    let created = s.t.client.create_order(&create).await.expect("create");
    let trade_no = created.trade_no;

    let close = CloseOrder::from(OrderRef::TradeNo(trade_no.clone()));
    s.t.client.close_order(&close).await.expect("close");
    assert_eq!(s.order_status(&trade_no).await, OrderStatus::Closed);
    let (status, at_wechat) = s.wechat_trade(&trade_no).await;
    assert_eq!(status, 200);
    assert_eq!(at_wechat["trade_state"], "CLOSED");
    let (status, refused) = s.payer(&trade_no, "pay").await;
    assert_eq!(status, 409, "a closed trade cannot be paid: {refused}");
    s.t.stop().await;
}
both_databases!(closing_an_unpaid_native_order_closes_it_at_wechat_pay);
