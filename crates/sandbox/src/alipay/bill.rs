//! The trade bill: `alipay.data.dataservice.bill.downloadurl.query` (`bill_type=trade`) answers
//! a `bill_download_url`; that URL serves a zip of two GBK CSV files, the day's detail
//! (`业务明细`) and its summary (`业务明细(汇总)`), in Alipay's layout: each payment of that CST
//! day (by its payment time) and each refund made that day, with the fee Alipay keeps on a
//! payment (round half up of amount × rate) and none given back on a refund. Unlike Alipay (bills
//! ready the next day), the sandbox serves a day's bill at once, today's included.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{Duration, NaiveDate};
use serde::Deserialize;
use serde_json::Map;
use std::collections::VecDeque;
use std::io::Write;

use super::book::Book;
use super::gateway::{Call, Failure, Reply};
use super::money::{fee_of, yuan};
use super::trade::buyer_logon_id;
use super::{alipay_time, ids, now_cst, App};

pub const DOWNLOAD_PATH: &str = "/downloadBillFile.resource";
/// Download tokens kept at once; the oldest is forgotten first.
const TOKENS_MAX: usize = 64;

pub const COLUMNS: [&str; 25] = [
    "支付宝交易号",
    "商户订单号",
    "业务类型",
    "商品名称",
    "创建时间",
    "完成时间",
    "门店编号",
    "门店名称",
    "操作员",
    "终端号",
    "对方账户",
    "订单金额（元）",
    "商家实收（元）",
    "支付宝红包（元）",
    "集分宝（元）",
    "支付宝优惠（元）",
    "商家优惠（元）",
    "券核销金额（元）",
    "券名称",
    "商家红包消费金额（元）",
    "卡消费金额（元）",
    "退款批次号/请求号",
    "服务费（元）",
    "分润（元）",
    "备注",
];

/// Zips fetched and not yet forgotten, by download token.
#[derive(Default)]
pub struct Bills {
    issued: VecDeque<(String, Vec<u8>)>,
}

impl Bills {
    fn issue(&mut self, zip: Vec<u8>) -> String {
        let token = ids::notify_id();
        if self.issued.len() == TOKENS_MAX {
            self.issued.pop_front();
        }
        self.issued.push_back((token.clone(), zip));
        token
    }

    fn zip(&self, token: &str) -> Option<Vec<u8>> {
        self.issued
            .iter()
            .find(|(issued, _)| issued == token)
            .map(|(_, zip)| zip.clone())
    }
}

/// One detail row, amounts in cents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub cells: [String; 25],
    pub at: chrono::NaiveDateTime,
    pub merchant_cents: i64,
    /// The fee Alipay keeps, negative (a refund gives none back).
    pub fee_cents: i64,
    pub is_refund: bool,
}

pub fn download_url(app: &App, call: &Call) -> Result<Reply, Failure> {
    if call.biz.required("bill_type")? != "trade" {
        return Err(Failure::invalid_parameter(
            "the sandbox serves bill_type trade only",
        ));
    }
    let date = call.biz.required("bill_date")?;
    let date = NaiveDate::parse_from_str(&date, "%Y-%m-%d")
        .map_err(|_| Failure::invalid_parameter("bill_date 格式错误"))?;
    let rows = rows_of_day(&app.book(), date, app.fee_rate_ppm);
    if rows.is_empty() {
        return Err(Failure::business("isp.bill_not_exist", "账单不存在"));
    }
    let seller = &app.credentials.seller_id;
    let zip = zip_of(seller, date, &rows).map_err(|error| {
        tracing::error!(%error, "write the bill zip");
        Failure::business("ACQ.SYSTEM_ERROR", "系统错误")
    })?;
    let token = app.bills().issue(zip);
    let day = date.format("%Y%m%d");
    let url = format!(
        "{}{DOWNLOAD_PATH}?bizType=trade&userId={seller}&fileType=csv.zip&bizDates={day}\
         &downloadFileName={seller}_{day}.csv.zip&fileId={token}",
        app.base_url
    );
    let mut fields = Map::new();
    fields.insert("bill_download_url".into(), url.into());
    Ok(Reply::success(fields))
}

#[derive(Debug, Deserialize)]
pub struct DownloadQuery {
    #[serde(default, rename = "fileId")]
    file_id: Option<String>,
}

pub async fn download(State(app): State<App>, Query(query): Query<DownloadQuery>) -> Response {
    match query.file_id.and_then(|token| app.bills().zip(&token)) {
        Some(zip) => ([("Content-Type", "application/zip")], zip).into_response(),
        None => (StatusCode::NOT_FOUND, "no such bill").into_response(),
    }
}

/// The day's rows, in time order.
pub fn rows_of_day(book: &Book, date: NaiveDate, fee_rate_ppm: u32) -> Vec<Row> {
    let mut rows = Vec::new();
    for trade in book.trades() {
        let Some(paid_at) = trade.gmt_payment.filter(|at| at.date_naive() == date) else {
            continue;
        };
        let total = trade.ask.total_cents;
        let fee_cents = -fee_of(total, fee_rate_ppm);
        rows.push(Row {
            cells: cells(trade, "交易", total, alipay_time(paid_at), "", fee_cents),
            at: paid_at.naive_local(),
            merchant_cents: total,
            fee_cents,
            is_refund: false,
        });
    }
    for refund in book.refunds().filter(|r| r.at.date_naive() == date) {
        let Some(trade) = book.trade(&refund.out_trade_no) else {
            continue;
        };
        let cents = -refund.amount_cents;
        rows.push(Row {
            cells: cells(
                trade,
                "退款",
                cents,
                alipay_time(refund.at),
                &refund.out_request_no,
                0,
            ),
            at: refund.at.naive_local(),
            merchant_cents: cents,
            fee_cents: 0,
            is_refund: true,
        });
    }
    rows.sort_by(|a, b| (a.at, &a.cells[1]).cmp(&(b.at, &b.cells[1])));
    rows
}

fn cells(
    trade: &super::book::Trade,
    kind: &str,
    cents: i64,
    done_at: String,
    request_no: &str,
    fee_cents: i64,
) -> [String; 25] {
    let zero = || "0.00".to_owned();
    [
        trade.trade_no.clone(),
        trade.out_trade_no().to_owned(),
        kind.to_owned(),
        trade.ask.subject.clone(),
        alipay_time(trade.gmt_create),
        done_at,
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        trade
            .buyer_id
            .as_deref()
            .map(buyer_logon_id)
            .unwrap_or_default(),
        yuan(cents),
        yuan(cents),
        zero(),
        zero(),
        zero(),
        zero(),
        zero(),
        String::new(),
        zero(),
        zero(),
        request_no.to_owned(),
        yuan(fee_cents),
        zero(),
        String::new(),
    ]
}

/// Every value followed by a TAB, values joined by `,`: Alipay's way of keeping spreadsheets
/// from reading numbers.
fn line<S: AsRef<str>>(values: &[S]) -> String {
    values
        .iter()
        .map(|v| format!("{}\t", v.as_ref()))
        .collect::<Vec<_>>()
        .join(",")
}

fn period(date: NaiveDate) -> String {
    let day = |d: NaiveDate| d.format("%Y年%m月%d日 00:00:00").to_string();
    format!(
        "#起始日期：[{}]   终止日期：[{}]",
        day(date),
        day(date + Duration::days(1))
    )
}

pub fn detail_text(seller_id: &str, date: NaiveDate, rows: &[Row]) -> String {
    let (payments, refunds): (Vec<&Row>, Vec<&Row>) = rows.iter().partition(|r| !r.is_refund);
    let sum = |rows: &[&Row]| rows.iter().map(|r| r.merchant_cents).sum::<i64>();
    let mut lines = vec![
        "#支付宝业务明细查询".to_owned(),
        format!("#账号：[{seller_id}]"),
        period(date),
        "#-----------------------------------------业务明细列表----------------------------------------".to_owned(),
        line(&COLUMNS),
    ];
    lines.extend(rows.iter().map(|r| line(&r.cells)));
    lines.push("#-----------------------------------------业务明细列表结束------------------------------------".to_owned());
    lines.push(format!(
        "#交易合计：{}笔，商家实收共{}元，商家优惠共0.00元",
        payments.len(),
        yuan(sum(&payments))
    ));
    lines.push(format!(
        "#退款合计：{}笔，商家实收退款共{}元，商家优惠退款共0.00元",
        refunds.len(),
        yuan(sum(&refunds))
    ));
    lines.push(exported_at());
    lines.join("\r\n") + "\r\n"
}

fn summary_text(seller_id: &str, date: NaiveDate, rows: &[Row]) -> String {
    let payments = rows.iter().filter(|r| !r.is_refund).count();
    let merchant: i64 = rows.iter().map(|r| r.merchant_cents).sum();
    let fees: i64 = rows.iter().map(|r| r.fee_cents).sum();
    let mut lines = vec![
        "#支付宝业务汇总查询".to_owned(),
        format!("#账号：[{seller_id}]"),
        period(date),
        "#-----------------------------------------业务汇总列表----------------------------------------".to_owned(),
        line(&[
            "门店编号", "门店名称", "交易订单总笔数", "退款订单总笔数", "订单金额（元）",
            "商家实收（元）", "支付宝优惠（元）", "商家优惠（元）", "卡消费金额（元）",
            "服务费（元）", "分润（元）", "实收净额（元）",
        ]),
    ];
    lines.push(line(&[
        "合计".to_owned(),
        String::new(),
        payments.to_string(),
        (rows.len() - payments).to_string(),
        yuan(merchant),
        yuan(merchant),
        yuan(0),
        yuan(0),
        yuan(0),
        yuan(fees),
        yuan(0),
        yuan(merchant + fees),
    ]));
    lines.push("#-----------------------------------------业务汇总列表结束------------------------------------".to_owned());
    lines.push(exported_at());
    lines.join("\r\n") + "\r\n"
}

fn exported_at() -> String {
    format!("#导出时间：[{}]", now_cst().format("%Y年%m月%d日 %H:%M:%S"))
}

/// The zip Alipay serves: both files, GBK-encoded.
pub fn zip_of(seller_id: &str, date: NaiveDate, rows: &[Row]) -> anyhow::Result<Vec<u8>> {
    let day = date.format("%Y%m%d");
    let files = [
        (
            format!("{seller_id}_{day}_业务明细.csv"),
            detail_text(seller_id, date, rows),
        ),
        (
            format!("{seller_id}_{day}_业务明细(汇总).csv"),
            summary_text(seller_id, date, rows),
        ),
    ];
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, text) in files {
        // GBK cannot write every character (emoji); encoding_rs writes those as `&#NNNN;`.
        let (gbk, _, _) = encoding_rs::GBK.encode(&text);
        zip.start_file(name, options)?;
        zip.write_all(&gbk)?;
    }
    Ok(zip.finish()?.into_inner())
}
