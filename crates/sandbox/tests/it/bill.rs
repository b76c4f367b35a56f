use crate::helpers::{start, Signing};
use axum::http::StatusCode;
use paygate_channels::wechat::bill::{self, BillTradeState};
use paygate_channels::wechat::v2_sign::V2SignType;
use paygate_channels::BillLineKind;

#[tokio::test]
async fn the_days_bill_lists_its_payments_and_refunds_with_exact_amounts_and_fees() {
    let h = start().await;
    let paid = h
        .paid_native("P20261129401", 10_000, "https://merchant.example/notify")
        .await;
    h.paid_native("P20261129402", 1, "https://merchant.example/notify")
        .await;
    let micropay = [
        ("body", "一杯绿茶"),
        ("out_trade_no", "M20261129403"),
        ("total_fee", "888"),
        ("spbill_create_ip", "14.17.22.52"),
        ("auth_code", "134567890123456789"),
    ];
    h.v2("/pay/micropay", &micropay, V2SignType::HmacSha256)
        .await;
    let refund = h.refund("P20261129401", "R20261129401", 2_500, 10_000, None);
    assert_eq!(
        h.post("/v3/refund/domestic/refunds", &refund).await.status,
        StatusCode::OK
    );
    let day = h.paid_day(&paid).await;

    let location = h
        .get(&format!("/v3/bill/tradebill?bill_date={day}&bill_type=ALL"))
        .await;
    assert_eq!(location.status, StatusCode::OK, "{:?}", location.body);
    assert_eq!(location.body["hash_type"], "SHA1");
    let text = String::from_utf8(h.download(&location).await).unwrap();
    assert_eq!(
        bill::sha1_hex(&text),
        location.body["hash_value"].as_str().unwrap()
    );

    let parsed = bill::parse(&text).unwrap();
    // Rows are in time order; trades paid within one second may come in either order.
    let mut rows: Vec<(&str, &str, i64, i64, i64)> = parsed
        .rows
        .iter()
        .map(|row| {
            let refund = row.refund.as_ref().map_or(0, |r| r.refund_fen);
            (
                row.trade_state.as_str(),
                row.out_trade_no.as_str(),
                row.total_fen,
                refund,
                row.fee_fen,
            )
        })
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        [
            ("REFUND", "P20261129401", 0, 2_500, -15),
            ("SUCCESS", "M20261129403", 888, 0, 5),
            ("SUCCESS", "P20261129401", 10_000, 0, 60),
            ("SUCCESS", "P20261129402", 1, 0, 0),
        ]
    );
    let row = |no: &str, state: BillTradeState| {
        parsed
            .rows
            .iter()
            .find(|r| r.out_trade_no == no && r.trade_state == state)
            .unwrap()
    };
    assert_eq!(
        row("P20261129401", BillTradeState::Success).transaction_id,
        paid
    );
    let micropay_row = row("M20261129403", BillTradeState::Success);
    assert_eq!(micropay_row.trade_type, "MICROPAY");
    assert_eq!(micropay_row.body, "一杯绿茶");
    assert_eq!(parsed.summary.count, 4);
    assert_eq!(parsed.summary.fee_fen, 50);
    let lines = bill::to_lines(&parsed);
    let refund_line = lines
        .iter()
        .find(|l| l.kind == BillLineKind::Refund)
        .unwrap();
    assert_eq!(refund_line.refund_no.as_deref(), Some("R20261129401"));
    assert_eq!(refund_line.amount.amount.minor(), 2_500);
    assert_eq!(refund_line.fee.amount.minor(), 15);
}

#[tokio::test]
async fn a_day_without_trades_has_no_bill_and_downloads_need_a_signature() {
    let h = start().await;
    let none = h
        .get("/v3/bill/tradebill?bill_date=2020-01-01&bill_type=ALL")
        .await;
    assert_eq!(none.status, StatusCode::BAD_REQUEST);
    assert_eq!(none.body["code"], "NO_STATEMENT_EXIST");
    for query in ["bill_date=20200101", "bill_type=ALL"] {
        let refused = h.get(&format!("/v3/bill/tradebill?{query}")).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(refused.body["code"], "PARAM_ERROR", "{query}");
    }
    let unsigned = h
        .http
        .get(h.url("/v3/billdownload/file?token=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status().as_u16(), 401);
    let unknown = h
        .send_v3(
            "GET",
            "/v3/billdownload/file?token=x",
            None,
            Signing::Genuine,
        )
        .await
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 404);
}

#[tokio::test]
async fn a_gzipped_bill_unpacks_to_the_bill_its_hash_names() {
    use std::io::Read;
    let h = start().await;
    let paid = h
        .paid_native("P20261129411", 2_000, "https://merchant.example/notify")
        .await;
    let day = h.paid_day(&paid).await;
    let location = h
        .get(&format!(
            "/v3/bill/tradebill?bill_date={day}&bill_type=ALL&tar_type=GZIP"
        ))
        .await;
    let packed = h.download(&location).await;
    let mut text = String::new();
    flate2::read::GzDecoder::new(&packed[..])
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(
        bill::sha1_hex(&text),
        location.body["hash_value"].as_str().unwrap()
    );
    let parsed = bill::parse(&text).unwrap();
    assert_eq!(parsed.rows.len(), 1);
    assert_eq!(parsed.rows[0].total_fen, 2_000);
    assert_eq!(parsed.rows[0].fee_fen, 12);
}
