//! The trade bill: `downloadurl.query`, then the zip it points to, whose detail file is GBK CSV
//! with a TAB after every value. Refunds come out as positive amounts of kind `Refund`.

use std::io::Write;

use paygate_channels::{BillLine, BillLineKind, Channel, ChannelError};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::support::*;

const HEADER: &str = "支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注";

/// A row as Alipay writes it: every value followed by a TAB.
fn row(values: &[&str]) -> String {
    values
        .iter()
        .map(|v| format!("{v}\t"))
        .collect::<Vec<_>>()
        .join(",")
}

fn payment_row(trade: &str, out: &str, subject: &str, yuan: &str, fee: &str) -> String {
    row(&[
        trade,
        out,
        "交易",
        subject,
        "2026-11-29 19:59:50",
        "2026-11-29 20:00:00",
        "",
        "",
        "",
        "",
        "159****5620",
        yuan,
        yuan,
        "0.00",
        "0.00",
        "0.00",
        "0.00",
        "0.00",
        "",
        "0.00",
        "0.00",
        "",
        fee,
        "0.00",
        "",
    ])
}

fn refund_row(trade: &str, out: &str, yuan: &str, request_no: &str) -> String {
    row(&[
        trade,
        out,
        "退款",
        "绿茶",
        "2026-11-29 19:59:50",
        "2026-11-29 20:10:00",
        "",
        "",
        "",
        "",
        "159****5620",
        yuan,
        yuan,
        "0.00",
        "0.00",
        "0.00",
        "0.00",
        "0.00",
        "",
        "0.00",
        "0.00",
        request_no,
        "0.00",
        "0.00",
        "",
    ])
}

fn detail(rows: &[String], trades: usize, refunds: usize) -> String {
    let mut lines = vec![
        "#支付宝业务明细查询".to_owned(),
        format!("#账号：[{SELLER_ID}]"),
        "#起始日期：[2026年11月29日 00:00:00]   终止日期：[2026年11月30日 00:00:00]".to_owned(),
        "#-----------------------------------------业务明细列表----------------------------------------".to_owned(),
        row(&HEADER.split(',').collect::<Vec<_>>()),
    ];
    lines.extend(rows.iter().cloned());
    lines.push("#-----------------------------------------业务明细列表结束------------------------------------".to_owned());
    lines.push(format!(
        "#交易合计：{trades}笔，商家实收共188.88元，商家优惠共0.00元"
    ));
    lines.push(format!(
        "#退款合计：{refunds}笔，商家实收退款共-30.00元，商家优惠退款共0.00元"
    ));
    lines.push("#导出时间：[2026年11月30日 09:00:01]".to_owned());
    lines.join("\r\n") + "\r\n"
}

fn zipped(detail: &str) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for (name, text) in [
        (format!("{SELLER_ID}0156_20261129_业务明细.csv"), detail),
        (
            format!("{SELLER_ID}0156_20261129_业务明细(汇总).csv"),
            "#支付宝业务汇总查询\r\n",
        ),
    ] {
        let (gbk, _, unmappable) = encoding_rs::GBK.encode(text);
        assert!(!unmappable);
        zip.start_file(name, options).unwrap();
        zip.write_all(&gbk).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

async fn serve_bill(f: &Fixture, zip: Vec<u8>) {
    let url = format!("{}/bill/20261129.zip", f.server.uri());
    let answer = json!({"code": "10000", "msg": "Success", "bill_download_url": url});
    f.answer(
        "alipay.data.dataservice.bill.downloadurl.query",
        answer,
        Signing::Alipay,
    )
    .await;
    Mock::given(method("GET"))
        .and(path("/bill/20261129.zip"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(zip))
        .mount(&f.server)
        .await;
}

fn day() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
}

#[tokio::test]
async fn a_gbk_bill_reads_to_payments_and_refunds_with_exact_positive_amounts() {
    let f = Fixture::new().await;
    let rows = [
        payment_row(ALIPAY_TRADE_NO, TRADE_NO, "绿茶, 大杯", "100.00", "-0.60"),
        payment_row(
            "2026112922001412345678905678",
            "P2026112900000002",
            "红茶",
            "88.88",
            "-0.53",
        ),
        refund_row(ALIPAY_TRADE_NO, TRADE_NO, "-30.00", REFUND_NO),
    ];
    serve_bill(&f, zipped(&detail(&rows, 2, 1))).await;

    let lines = f.pay.bill(day()).await.unwrap();

    let at = |text: &str| {
        chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
            .unwrap()
            .and_utc()
            .timestamp_millis()
            - 8 * 3_600_000
    };
    assert_eq!(
        lines,
        vec![
            BillLine {
                kind: BillLineKind::Payment,
                at_ms: at("2026-11-29 20:00:00"),
                trade_no: TRADE_NO.into(),
                channel_trade_no: ALIPAY_TRADE_NO.into(),
                refund_no: None,
                channel_refund_no: None,
                amount: cny(10_000),
                fee: cny(60),
                status: "交易".into(),
            },
            BillLine {
                kind: BillLineKind::Payment,
                at_ms: at("2026-11-29 20:00:00"),
                trade_no: "P2026112900000002".into(),
                channel_trade_no: "2026112922001412345678905678".into(),
                refund_no: None,
                channel_refund_no: None,
                amount: cny(8_888),
                fee: cny(53),
                status: "交易".into(),
            },
            BillLine {
                kind: BillLineKind::Refund,
                at_ms: at("2026-11-29 20:10:00"),
                trade_no: TRADE_NO.into(),
                channel_trade_no: ALIPAY_TRADE_NO.into(),
                refund_no: Some(REFUND_NO.into()),
                channel_refund_no: None,
                amount: cny(3_000),
                fee: cny(0),
                status: "退款".into(),
            },
        ]
    );
    let (_, biz) = f.only_request_of(1).await;
    assert_eq!(
        biz,
        json!({"bill_type": "trade", "bill_date": "2026-11-29"})
    );
}

#[tokio::test]
async fn a_bill_whose_totals_disagree_with_its_rows_is_an_unknown_outcome() {
    let f = Fixture::new().await;
    let rows = [payment_row(
        ALIPAY_TRADE_NO,
        TRADE_NO,
        "绿茶",
        "100.00",
        "-0.60",
    )];
    serve_bill(&f, zipped(&detail(&rows, 2, 0))).await;

    assert_eq!(
        f.pay.bill(day()).await,
        Err(ChannelError::Unknown(
            "the 2026-11-29 bill does not read: the totals say 2 payment rows, the bill has 1"
                .into()
        ))
    );
}

#[tokio::test]
async fn a_download_that_is_not_a_zip_is_an_unknown_outcome() {
    let f = Fixture::new().await;
    serve_bill(&f, b"<html>expired</html>".to_vec()).await;

    assert!(matches!(
        f.pay.bill(day()).await,
        Err(ChannelError::Unknown(why)) if why.starts_with("the 2026-11-29 bill does not read: not a zip")
    ));
}

#[tokio::test]
async fn a_day_without_a_bill_has_no_lines() {
    let f = Fixture::new().await;
    let answer = json!({"code": "40004", "msg": "Business Failed",
        "sub_code": "isp.bill_not_exist", "sub_msg": "账单不存在"});
    f.answer(
        "alipay.data.dataservice.bill.downloadurl.query",
        answer,
        Signing::Alipay,
    )
    .await;

    assert_eq!(f.pay.bill(day()).await, Ok(vec![]));
}
