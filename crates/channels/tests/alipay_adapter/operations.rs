//! Every server call the adapter makes, against answers as Alipay writes them.

use paygate_channels::{
    Channel, ChannelError, DeclineReason, PayOutcome, PayRequest, Payer, RefundOutcome,
    RefundRequest, TradeState,
};
use paygate_domain::{AlipayPayCode, FaceCode, MerchantId, WechatPayCode};
use serde_json::json;

use crate::support::*;

fn pay_request(payer: Payer, fen: i64) -> PayRequest {
    PayRequest {
        trade_no: trade_no(),
        merchant_id: MerchantId::mint(),
        money: cny(fen),
        subject: "绿茶".into(),
        payer,
        client_ip: None,
    }
}

fn pay_code() -> Payer {
    Payer::AlipayAuthCode(AlipayPayCode::parse("287951669891795468").unwrap())
}

fn paid_answer() -> serde_json::Value {
    json!({"code": "10000", "msg": "Success", "trade_no": ALIPAY_TRADE_NO,
        "out_trade_no": TRADE_NO, "buyer_logon_id": "159****5620", "total_amount": "88.88",
        "receipt_amount": "88.88", "gmt_payment": "2026-11-29 20:00:00"})
}

#[tokio::test]
async fn a_pay_code_is_charged_with_scene_bar_code_and_the_amount_in_yuan() {
    let f = Fixture::new().await;
    f.answer("alipay.trade.pay", paid_answer(), Signing::Alipay)
        .await;

    let outcome = f.pay.pay(&pay_request(pay_code(), 8_888)).await.unwrap();

    assert_eq!(
        outcome,
        PayOutcome::Paid {
            channel_trade_no: ALIPAY_TRADE_NO.into(),
            paid_at_ms: PAID_AT_MS
        }
    );
    let (params, biz) = f.only_request().await;
    assert_eq!(params["method"], "alipay.trade.pay");
    assert_eq!(params["app_id"], APP_ID);
    assert_eq!(params["sign_type"], "RSA2");
    assert_eq!(params["charset"], "utf-8");
    assert_eq!(params["format"], "JSON");
    assert_eq!(params["version"], "1.0");
    assert_eq!(params["notify_url"], NOTIFY_URL);
    assert!(!params.contains_key("app_cert_sn"));
    assert_eq!(
        biz,
        json!({"out_trade_no": TRADE_NO, "scene": "bar_code", "auth_code": "287951669891795468",
            "product_code": "FACE_TO_FACE_PAYMENT", "subject": "绿茶", "total_amount": "88.88"})
    );
}

#[tokio::test]
async fn a_face_code_is_charged_with_scene_security_code() {
    let f = Fixture::new().await;
    f.answer("alipay.trade.pay", paid_answer(), Signing::Alipay)
        .await;
    let face = Payer::AlipayFaceCode(FaceCode::parse("fp0a1b2c3d4e5f").unwrap());

    assert!(matches!(
        f.pay.pay(&pay_request(face, 8_888)).await,
        Ok(PayOutcome::Paid { .. })
    ));
    let (_, biz) = f.only_request().await;
    assert_eq!(biz["scene"], "security_code");
    assert_eq!(biz["auth_code"], "fp0a1b2c3d4e5f");
}

#[tokio::test]
async fn code_10003_means_the_payer_is_confirming() {
    let f = Fixture::new().await;
    let answer = json!({"code": "10003", "msg": " order success pay inprocess",
        "trade_no": ALIPAY_TRADE_NO, "out_trade_no": TRADE_NO});
    f.answer("alipay.trade.pay", answer, Signing::Alipay).await;

    let outcome = f.pay.pay(&pay_request(pay_code(), 8_888)).await;

    assert_eq!(outcome, Ok(PayOutcome::PayerConfirming));
}

async fn pay_failing_with(sub_code: &str, signing: Signing) -> Result<PayOutcome, ChannelError> {
    let f = Fixture::new().await;
    let answer = json!({"code": "40004", "msg": "Business Failed", "sub_code": sub_code,
        "sub_msg": "说明"});
    f.answer("alipay.trade.pay", answer, signing).await;
    f.pay.pay(&pay_request(pay_code(), 8_888)).await
}

#[tokio::test]
async fn signed_declines_say_why_nothing_was_charged() {
    assert_eq!(
        pay_failing_with("ACQ.PAYMENT_AUTH_CODE_INVALID", Signing::Alipay).await,
        Ok(PayOutcome::Declined(DeclineReason::PayCodeInvalid))
    );
    assert_eq!(
        pay_failing_with("ACQ.BUYER_BALANCE_NOT_ENOUGH", Signing::Alipay).await,
        Ok(PayOutcome::Declined(DeclineReason::InsufficientBalance))
    );
    assert_eq!(
        pay_failing_with("ACQ.TRADE_HAS_CLOSE", Signing::Alipay).await,
        Ok(PayOutcome::Declined(DeclineReason::Other(
            "ACQ.TRADE_HAS_CLOSE".into()
        )))
    );
}

#[tokio::test]
async fn an_unsigned_decline_or_a_system_error_leaves_the_outcome_unknown() {
    assert_eq!(
        pay_failing_with("ACQ.BUYER_BALANCE_NOT_ENOUGH", Signing::Unsigned).await,
        Err(ChannelError::Unknown(
            "unsigned decline ACQ.BUYER_BALANCE_NOT_ENOUGH".into()
        ))
    );
    assert_eq!(
        pay_failing_with("ACQ.SYSTEM_ERROR", Signing::Alipay).await,
        Err(ChannelError::Unknown("ACQ.SYSTEM_ERROR: 说明".into()))
    );
    assert_eq!(
        pay_failing_with("ACQ.TRADE_HAS_SUCCESS", Signing::Alipay).await,
        Err(ChannelError::Unknown("ACQ.TRADE_HAS_SUCCESS: 说明".into()))
    );
}

#[tokio::test]
async fn a_request_alipay_refuses_is_rejected_with_its_sub_code() {
    assert_eq!(
        pay_failing_with("ACQ.INVALID_PARAMETER", Signing::Alipay).await,
        Err(ChannelError::Rejected("ACQ.INVALID_PARAMETER: 说明".into()))
    );
}

#[tokio::test]
async fn other_wallets_codes_and_amounts_outside_alipays_range_are_refused_unsent() {
    let f = Fixture::new().await;
    let wechat = Payer::WechatAuthCode(WechatPayCode::parse("134567890123456789").unwrap());
    assert!(matches!(
        f.pay.pay(&pay_request(wechat, 8_888)).await,
        Err(ChannelError::Rejected(_))
    ));
    assert_eq!(
        f.pay.pay(&pay_request(pay_code(), 0)).await,
        Err(ChannelError::Rejected(
            "0 fen is outside Alipay's 0.01 to 100000000.00 yuan".into()
        ))
    );
    assert_eq!(
        f.pay.pay(&pay_request(pay_code(), 10_000_000_001)).await,
        Err(ChannelError::Rejected(
            "10000000001 fen is outside Alipay's 0.01 to 100000000.00 yuan".into()
        ))
    );
    assert_eq!(f.requests_sent().await, 0);
}

#[tokio::test]
async fn the_largest_amount_alipay_takes_is_sent_as_100000000_00() {
    let f = Fixture::new().await;
    let mut answer = paid_answer();
    answer["total_amount"] = json!("100000000.00");
    f.answer("alipay.trade.pay", answer, Signing::Alipay).await;

    assert!(f
        .pay
        .pay(&pay_request(pay_code(), 10_000_000_000))
        .await
        .is_ok());
    let (_, biz) = f.only_request().await;
    assert_eq!(biz["total_amount"], "100000000.00");
}

async fn query_answering(
    answer: serde_json::Value,
    signing: Signing,
) -> Result<TradeState, ChannelError> {
    let f = Fixture::new().await;
    f.answer("alipay.trade.query", answer, signing).await;
    let state = f.pay.query(&trade_no()).await;
    if state.is_ok() {
        let (params, biz) = f.only_request().await;
        assert!(!params.contains_key("notify_url"));
        assert_eq!(biz, json!({"out_trade_no": TRADE_NO}));
    }
    state
}

#[tokio::test]
async fn a_query_reads_the_trade_status() {
    let base = json!({"code": "10000", "msg": "Success", "trade_no": ALIPAY_TRADE_NO,
        "out_trade_no": TRADE_NO, "total_amount": "88.88"});
    let with = |status: &str, paid: bool| {
        let mut answer = base.clone();
        answer["trade_status"] = json!(status);
        if paid {
            answer["send_pay_date"] = json!("2026-11-29 20:00:00");
        }
        answer
    };
    let paid = TradeState::Paid {
        channel_trade_no: ALIPAY_TRADE_NO.into(),
        paid_at_ms: PAID_AT_MS,
    };
    assert_eq!(
        query_answering(with("WAIT_BUYER_PAY", false), Signing::Alipay).await,
        Ok(TradeState::WaitingPayment)
    );
    assert_eq!(
        query_answering(with("TRADE_SUCCESS", true), Signing::Alipay).await,
        Ok(paid.clone())
    );
    assert_eq!(
        query_answering(with("TRADE_FINISHED", true), Signing::Alipay).await,
        Ok(paid.clone())
    );
    assert_eq!(
        query_answering(with("TRADE_CLOSED", true), Signing::Alipay).await,
        Ok(paid)
    );
    assert_eq!(
        query_answering(with("TRADE_CLOSED", false), Signing::Alipay).await,
        Ok(TradeState::Closed)
    );
}

#[tokio::test]
async fn only_a_signed_trade_not_exist_means_not_found() {
    let missing = json!({"code": "40004", "msg": "Business Failed",
        "sub_code": "ACQ.TRADE_NOT_EXIST", "sub_msg": "交易不存在"});
    assert_eq!(
        query_answering(missing.clone(), Signing::Alipay).await,
        Ok(TradeState::NotFound)
    );
    assert_eq!(
        query_answering(missing, Signing::Unsigned).await,
        Err(ChannelError::Rejected(
            "ACQ.TRADE_NOT_EXIST: 交易不存在".into()
        ))
    );
}

#[tokio::test]
async fn a_query_answer_about_another_trade_is_not_believed() {
    let answer = json!({"code": "10000", "msg": "Success", "trade_no": ALIPAY_TRADE_NO,
        "out_trade_no": "P2026112900000002", "trade_status": "WAIT_BUYER_PAY"});
    assert!(matches!(
        query_answering(answer, Signing::Alipay).await,
        Err(ChannelError::Unknown(_))
    ));
}

#[tokio::test]
async fn a_query_by_alipays_number_sends_trade_no() {
    let f = Fixture::new().await;
    let answer = json!({"code": "10000", "msg": "Success", "trade_no": ALIPAY_TRADE_NO,
        "out_trade_no": TRADE_NO, "trade_status": "WAIT_BUYER_PAY"});
    f.answer("alipay.trade.query", answer, Signing::Alipay)
        .await;

    let state = f.pay.query_by_channel_no(ALIPAY_TRADE_NO).await;

    assert_eq!(state, Ok(TradeState::WaitingPayment));
    let (_, biz) = f.only_request().await;
    assert_eq!(biz, json!({"trade_no": ALIPAY_TRADE_NO}));
}

#[tokio::test]
async fn close_is_done_when_closed_now_before_or_never_created() {
    for answer in [
        json!({"code": "10000", "msg": "Success", "trade_no": ALIPAY_TRADE_NO, "out_trade_no": TRADE_NO}),
        json!({"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_NOT_EXIST", "sub_msg": "交易不存在"}),
        json!({"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_HAS_CLOSE", "sub_msg": "交易已关闭"}),
    ] {
        let f = Fixture::new().await;
        f.answer("alipay.trade.close", answer, Signing::Alipay)
            .await;
        assert_eq!(f.pay.close(&trade_no()).await, Ok(()));
        let (_, biz) = f.only_request().await;
        assert_eq!(biz, json!({"out_trade_no": TRADE_NO}));
    }
}

/// Alipay refuses the close with `ACQ.TRADE_STATUS_ERROR`; the query answers `trade_status`,
/// with a payment time when `paid`.
async fn close_refused_then_queried(trade_status: &str, paid: bool) -> Result<(), ChannelError> {
    let f = Fixture::new().await;
    let refused = json!({"code": "40004", "msg": "Business Failed",
        "sub_code": "ACQ.TRADE_STATUS_ERROR", "sub_msg": "交易状态不合法"});
    f.answer("alipay.trade.close", refused, Signing::Alipay)
        .await;
    let mut trade = json!({"code": "10000", "msg": "Success", "trade_no": ALIPAY_TRADE_NO,
        "out_trade_no": TRADE_NO, "trade_status": trade_status});
    if paid {
        trade["send_pay_date"] = json!("2026-11-29 20:00:00");
    }
    f.answer("alipay.trade.query", trade, Signing::Alipay).await;
    f.pay.close(&trade_no()).await
}

#[tokio::test]
async fn closing_a_paid_or_fully_refunded_trade_is_rejected() {
    let rejected = Err(ChannelError::Rejected(
        "ACQ.TRADE_STATUS_ERROR: 交易状态不合法".into(),
    ));
    assert_eq!(
        close_refused_then_queried("TRADE_SUCCESS", true).await,
        rejected
    );
    assert_eq!(
        close_refused_then_queried("TRADE_CLOSED", true).await,
        rejected
    );
}

#[tokio::test]
async fn closing_an_unpaid_closed_trade_again_is_done() {
    assert_eq!(
        close_refused_then_queried("TRADE_CLOSED", false).await,
        Ok(())
    );
}

#[tokio::test]
async fn cancel_is_sent_again_while_alipay_says_retry() {
    let f = Fixture::new().await;
    let retry = json!({"code": "10000", "msg": "Success", "out_trade_no": TRADE_NO,
        "trade_no": ALIPAY_TRADE_NO, "retry_flag": "Y", "action": "close"});
    let done = json!({"code": "10000", "msg": "Success", "out_trade_no": TRADE_NO,
        "trade_no": ALIPAY_TRADE_NO, "retry_flag": "N", "action": "refund"});
    wiremock::Mock::given(wiremock::matchers::body_string_contains(
        "method=alipay.trade.cancel&",
    ))
    .respond_with(
        wiremock::ResponseTemplate::new(200).set_body_string(signed_body(
            "alipay.trade.cancel",
            &retry.to_string(),
            Signing::Alipay,
            None,
        )),
    )
    .up_to_n_times(1)
    .with_priority(1)
    .mount(&f.server)
    .await;
    f.answer("alipay.trade.cancel", done, Signing::Alipay).await;

    assert_eq!(f.pay.cancel(&trade_no()).await, Ok(()));
    assert_eq!(f.requests_sent().await, 2);
}

#[tokio::test]
async fn a_cancel_that_never_settles_is_unknown() {
    let f = Fixture::new().await;
    let retry = json!({"code": "10000", "msg": "Success", "out_trade_no": TRADE_NO,
        "retry_flag": "Y"});
    f.answer("alipay.trade.cancel", retry, Signing::Alipay)
        .await;

    assert_eq!(
        f.pay.cancel(&trade_no()).await,
        Err(ChannelError::Unknown(
            "cancel unsettled after 3 attempts: retry_flag=Y".into()
        ))
    );
    assert_eq!(f.requests_sent().await, 3);
}

fn refund_request(fen: i64) -> RefundRequest {
    RefundRequest {
        refund_no: refund_no(),
        trade_no: trade_no(),
        refund: cny(fen),
        total: cny(8_888),
        reason: "退货".into(),
    }
}

#[tokio::test]
async fn a_partial_refund_names_our_refund_number_as_out_request_no() {
    let f = Fixture::new().await;
    let answer = json!({"code": "10000", "msg": "Success", "trade_no": ALIPAY_TRADE_NO,
        "out_trade_no": TRADE_NO, "buyer_logon_id": "159****5620", "fund_change": "Y",
        "refund_fee": "30.00"});
    f.answer("alipay.trade.refund", answer, Signing::Alipay)
        .await;

    let outcome = f.pay.refund(&refund_request(3_000)).await;

    assert_eq!(
        outcome,
        Ok(RefundOutcome::Succeeded {
            channel_refund_no: None
        })
    );
    let (params, biz) = f.only_request().await;
    assert!(!params.contains_key("notify_url"));
    assert_eq!(
        biz,
        json!({"out_trade_no": TRADE_NO, "refund_amount": "30.00",
            "out_request_no": REFUND_NO, "refund_reason": "退货"})
    );
}

#[tokio::test]
async fn refunding_more_than_is_left_is_rejected() {
    let f = Fixture::new().await;
    let answer = json!({"code": "40004", "msg": "Business Failed",
        "sub_code": "ACQ.REASON_TRADE_REFUND_FEE_ERR", "sub_msg": "退款金额超限"});
    f.answer("alipay.trade.refund", answer, Signing::Alipay)
        .await;

    assert_eq!(
        f.pay.refund(&refund_request(9_000)).await,
        Err(ChannelError::Rejected(
            "ACQ.REASON_TRADE_REFUND_FEE_ERR: 退款金额超限".into()
        ))
    );
}

#[tokio::test]
async fn a_refund_query_names_the_trade_and_the_request() {
    let f = Fixture::new().await;
    let answer = json!({"code": "10000", "msg": "Success", "trade_no": ALIPAY_TRADE_NO,
        "out_trade_no": TRADE_NO, "out_request_no": REFUND_NO, "total_amount": "88.88",
        "refund_amount": "30.00", "refund_status": "REFUND_SUCCESS",
        "gmt_refund_pay": "2026-11-29 20:10:00"});
    f.answer("alipay.trade.fastpay.refund.query", answer, Signing::Alipay)
        .await;

    let outcome = f.pay.query_refund(&refund_no(), &trade_no()).await;

    assert_eq!(
        outcome,
        Ok(RefundOutcome::Succeeded {
            channel_refund_no: None
        })
    );
    let (_, biz) = f.only_request().await;
    assert_eq!(
        biz,
        json!({"out_trade_no": TRADE_NO, "out_request_no": REFUND_NO,
            "query_options": ["gmt_refund_pay"]})
    );
}

#[tokio::test]
async fn a_refund_alipay_does_not_know_was_never_made() {
    let f = Fixture::new().await;
    let answer = json!({"code": "10000", "msg": "Success", "out_trade_no": TRADE_NO,
        "out_request_no": REFUND_NO});
    f.answer("alipay.trade.fastpay.refund.query", answer, Signing::Alipay)
        .await;

    assert_eq!(
        f.pay.query_refund(&refund_no(), &trade_no()).await,
        Ok(RefundOutcome::Failed(
            "REFUND_NOT_FOUND: Alipay has no such refund of the trade".into()
        ))
    );
}
