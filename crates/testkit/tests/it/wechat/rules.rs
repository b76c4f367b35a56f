//! WeChat Pay's rules, answered with our own error code before WeChat Pay is asked (acceptance
//! 5). Where the sandbox would have answered otherwise (it keeps the wall clock, so for it the
//! payment is minutes old), its unchanged book shows the call was never made.

use super::{scene, wechat_order, Scene};
use crate::support::{
    assert_api_error, assert_param_error, count_rows, create_raw, refund_of, write_counts,
    NOTIFY_URL,
};
use paygate_app::commands::{ApiRequest, RefundOrder};
use paygate_domain::{OrderStatus, PayType, TradeNo};
use paygate_testkit::{both_databases, DbBackend};
use serde_json::{json, Map, Value};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// A native order of `amount`, paid by the payer and called back.
async fn paid_native(s: &Scene, number: &str, amount: &str) -> TradeNo {
    let create = wechat_order(PayType::WechatNative, number, amount, NOTIFY_URL);
    let trade_no = s.t.client.create_order(&create).await.unwrap().trade_no;
    assert_eq!(s.payer(&trade_no, "pay").await.0, 200);
    s.wait_for_status(&trade_no, OrderStatus::Success).await;
    trade_no
}

fn native_fields(number: &str, subject: &str) -> Map<String, Value> {
    let fields = json!({
        "out_trade_no": number, "total_amount": "1.00", "currency": "CNY",
        "subject": subject, "pay_type": "wechat_native", "notify_url": NOTIFY_URL,
    });
    fields.as_object().unwrap().clone()
}

async fn a_refund_a_year_and_a_day_after_payment_is_refused_before_wechat_pay(backend: DbBackend) {
    let s = scene(backend).await;
    let trade_no = paid_native(&s, "RULE-WINDOW", "10.00").await;
    s.clock.advance_ms(366 * DAY_MS);

    // Signed requests carry the wall clock, which the app's clock has left: the use case.
    let keys = s.t.app.merchant_keys(s.t.merchant_id()).await.unwrap();
    let fields = json!({"trade_no": trade_no.as_str(), "out_refund_no": "RULE-WINDOW-R1",
                        "refund_amount": "10.00", "refund_reason": "late return"});
    let cmd = RefundOrder::parse(fields.as_object().unwrap(), 0).unwrap();
    let refused = s.t.app.refund_order(&keys.unwrap(), cmd).await.unwrap_err();
    assert_eq!(refused.code().code(), "1012");

    assert_eq!(count_rows(&s.t, "refunds").await, 0);
    let (_, at_wechat) = s.wechat_trade(&trade_no).await;
    assert_eq!(
        at_wechat["trade_state"], "SUCCESS",
        "WeChat Pay refunded nothing"
    );
    s.t.stop().await;
}
both_databases!(a_refund_a_year_and_a_day_after_payment_is_refused_before_wechat_pay);

async fn the_fifty_first_refund_of_an_order_is_refused_before_wechat_pay(backend: DbBackend) {
    let s = scene(backend).await;
    let trade_no = paid_native(&s, "RULE-COUNT", "1.00").await;
    for i in 1..=50 {
        let refund = refund_of(&trade_no, &format!("RULE-COUNT-R{i}"), "0.01");
        s.t.client.refund(&refund).await.expect("refunds 1 to 50");
    }

    let fifty_first = refund_of(&trade_no, "RULE-COUNT-R51", "0.01");
    assert_api_error(s.t.client.refund(&fifty_first).await, "1013");
    // WeChat Pay itself would have answered INVALID_REQUEST (1009): the app never asked.
    assert_eq!(count_rows(&s.t, "refunds").await, 50);
    s.t.stop().await;
}
both_databases!(the_fifty_first_refund_of_an_order_is_refused_before_wechat_pay);

async fn an_order_number_wechat_pay_would_refuse_is_a_parameter_error(backend: DbBackend) {
    let s = scene(backend).await;
    let before = write_counts(&s.t).await;
    for number in [
        "A".repeat(65),
        "订单-1".into(),
        "ORDER 1".into(),
        "ORDER#1".into(),
    ] {
        let answer = create_raw(&s.t, native_fields(&number, "green tea")).await;
        assert_eq!(assert_param_error(&answer), "out_trade_no", "{number}");
    }
    assert_eq!(
        write_counts(&s.t).await,
        before,
        "nothing written, nothing sent"
    );
    s.t.stop().await;
}
both_databases!(an_order_number_wechat_pay_would_refuse_is_a_parameter_error);

/// The merchant's number is ours to keep: WeChat Pay sees our `trade_no` (28 characters) as its
/// `out_trade_no`, so a 33-character merchant number, which WeChat Pay itself would refuse, is
/// fine here.
async fn a_merchant_number_longer_than_wechat_allows_is_served_under_our_number(
    backend: DbBackend,
) {
    let s = scene(backend).await;
    let number = "A".repeat(33);
    let create = wechat_order(PayType::WechatNative, &number, "1.00", NOTIFY_URL);
    let created = s.t.client.create_order(&create).await.expect("created");
    assert_eq!(created.out_trade_no.as_str(), number);
    let (status, at_wechat) = s.wechat_trade(&created.trade_no).await;
    assert_eq!(status, 200);
    assert_eq!(at_wechat["out_trade_no"], created.trade_no.as_str());
    assert!(created.trade_no.as_str().len() <= 32);
    s.t.stop().await;
}
both_databases!(a_merchant_number_longer_than_wechat_allows_is_served_under_our_number);

async fn a_subject_with_an_emoji_is_a_parameter_error_naming_subject(backend: DbBackend) {
    let s = scene(backend).await;
    let before = write_counts(&s.t).await;
    let answer = create_raw(&s.t, native_fields("RULE-EMOJI", "green tea 🍵")).await;
    assert_eq!(assert_param_error(&answer), "subject");
    assert_eq!(
        write_counts(&s.t).await,
        before,
        "nothing written, nothing sent"
    );
    // The same subject in the Basic Multilingual Plane goes through.
    let answer = create_raw(&s.t, native_fields("RULE-EMOJI", "绿茶 green tea")).await;
    assert_eq!(answer.0, 200, "{:?}", answer.1);
    s.t.stop().await;
}
both_databases!(a_subject_with_an_emoji_is_a_parameter_error_naming_subject);

/// WeChat's micropay requires the terminal's address (`spbill_create_ip`); asked without it,
/// WeChat Pay would refuse the charge, so we refuse the create first.
async fn a_micropay_without_the_terminal_address_is_a_parameter_error(backend: DbBackend) {
    let s = scene(backend).await;
    let before = write_counts(&s.t).await;
    let mut fields = native_fields("RULE-MP-IP", "green tea");
    fields.insert("pay_type".into(), "wechat_micropay".into());
    fields.insert("auth_code".into(), super::AUTH_CODE.into());
    let answer = create_raw(&s.t, fields).await;
    assert_eq!(assert_param_error(&answer), "client_ip");
    assert_eq!(
        write_counts(&s.t).await,
        before,
        "nothing written, nothing sent"
    );
    s.t.stop().await;
}
both_databases!(a_micropay_without_the_terminal_address_is_a_parameter_error);
