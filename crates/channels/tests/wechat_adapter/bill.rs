//! The day's bill: located by a signed call, downloaded by a signed request whose answer is
//! unsigned and so checked by the SHA1 that came with its URL, then read to exact lines.

use chrono::{NaiveDate, NaiveDateTime};
use paygate_channels::wechat::bill::{self, BillRefund, BillTradeState, FeeRate, TradeBillRow};
use paygate_channels::{BillLine, BillLineKind, Channel, ChannelError};
use paygate_domain::Currency;
use serde_json::json;

use crate::support::*;

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 28).unwrap()
}

fn beijing(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
}

fn rows() -> Vec<TradeBillRow> {
    let paid = TradeBillRow {
        traded_at: beijing("2026-11-28 20:01:02"),
        appid: APPID.into(),
        mch_id: MCHID.into(),
        sub_mch_id: "0".into(),
        device_info: String::new(),
        transaction_id: TRANSACTION_ID.into(),
        out_trade_no: TRADE_NO.into(),
        openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into(),
        trade_type: "NATIVE".into(),
        trade_state: BillTradeState::Success,
        bank_type: "OTHERS".into(),
        currency: Currency::Cny,
        settlement_fen: 1234,
        coupon_fen: 0,
        refund: None,
        body: "绿茶 green tea".into(),
        attach: String::new(),
        fee_fen: 7,
        rate: FeeRate(6000),
        total_fen: 1234,
        rate_remark: String::new(),
    };
    let refunded = TradeBillRow {
        traded_at: beijing("2026-11-28 21:00:00"),
        trade_state: BillTradeState::Refund,
        settlement_fen: 0,
        total_fen: 0,
        fee_fen: -3,
        refund: Some(BillRefund {
            refund_id: "50000000382019052709732678859".into(),
            out_refund_no: REFUND_NO.into(),
            refund_fen: 500,
            recharge_coupon_refund_fen: 0,
            refund_type: "ORIGINAL".into(),
            refund_status: "SUCCESS".into(),
            requested_fen: 500,
        }),
        ..paid.clone()
    };
    vec![paid, refunded]
}

/// Serves `text` as the day's bill, announcing `hash` as its SHA1.
async fn serve_bill(fx: &Fixture, text: &str, hash: &str) {
    let download_url = format!(
        "{}/v3/billdownload/file?token=6XIv5TUPto7pByrTQKhd6kwvyKLG2uY2",
        fx.server.uri()
    );
    let location = json!({"hash_type": "SHA1", "hash_value": hash, "download_url": download_url});
    fx.answer("GET", "/v3/bill/tradebill", 200, location, Signing::Good)
        .await;
    fx.answer_text(
        "GET",
        "/v3/billdownload/file",
        200,
        text.into(),
        Signing::Unsigned,
        0,
    )
    .await;
}

#[tokio::test]
async fn the_days_bill_reads_to_its_payments_and_refunds_with_exact_amounts_and_fees() {
    let fx = Fixture::new(Mode::PublicKeyId).await;
    let text = bill::write(&rows());
    serve_bill(&fx, &text, &bill::sha1_hex(&text).to_uppercase()).await;
    let lines = fx.pay.bill(day()).await.unwrap();
    let line = |kind, at_ms, refund: Option<(&str, &str)>, amount, fee| BillLine {
        kind,
        at_ms,
        trade_no: TRADE_NO.into(),
        channel_trade_no: TRANSACTION_ID.into(),
        refund_no: refund.map(|(ours, _)| ours.to_owned()),
        channel_refund_no: refund.map(|(_, theirs)| theirs.to_owned()),
        amount: cny(amount),
        fee: cny(fee),
        status: if refund.is_some() {
            "REFUND"
        } else {
            "SUCCESS"
        }
        .into(),
    };
    assert_eq!(
        lines,
        [
            // 2026-11-28 20:01:02 and 21:00:00 in Beijing.
            line(BillLineKind::Payment, 1_795_867_262_000, None, 1234, 7),
            line(
                BillLineKind::Refund,
                1_795_870_800_000,
                Some((REFUND_NO, "50000000382019052709732678859")),
                500,
                3
            ),
        ]
    );
    let requests = fx.server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].url.query(),
        Some("bill_date=2026-11-28&bill_type=ALL")
    );
}

#[tokio::test]
async fn a_bill_that_does_not_match_its_sha1_is_an_unknown_outcome() {
    let fx = Fixture::new(Mode::PublicKeyId).await;
    let text = bill::write(&rows());
    serve_bill(&fx, &text, &"0".repeat(40)).await;
    let outcome = fx.pay.bill(day()).await;
    assert!(
        matches!(&outcome, Err(ChannelError::Unknown(why)) if why.contains("SHA1")),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_bill_that_does_not_read_is_an_unknown_outcome() {
    let fx = Fixture::new(Mode::PublicKeyId).await;
    let text = "not a bill\r\n";
    serve_bill(&fx, text, &bill::sha1_hex(text)).await;
    let outcome = fx.pay.bill(day()).await;
    assert!(
        matches!(&outcome, Err(ChannelError::Unknown(why)) if why.contains("does not read")),
        "{outcome:?}"
    );
}
