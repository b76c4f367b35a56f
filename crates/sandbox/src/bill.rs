//! The trade bill: `GET /v3/bill/tradebill?bill_date=YYYY-MM-DD&bill_type=ALL` answers the SHA1
//! and a download URL; `GET /v3/billdownload/file?token=...` serves the text, written by
//! `paygate_channels::wechat::bill::write` from the trade book: each payment of that CST day
//! (by its success time) and each refund asked that day, with WeChat Pay's fees
//! (round half up of amount × rate; a refund gives back the fee on its amount). Unlike WeChat
//! Pay (bills ready at D+1 10:00), the sandbox serves a day's bill at once, today's included.
//! `tar_type=GZIP` serves the file gzipped; the hash stays the uncompressed bill's.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, FixedOffset, NaiveDate};
use paygate_channels::wechat::bill::{self, BillRefund, BillTradeState, FeeRate, TradeBillRow};
use paygate_channels::wechat::v3_wire::{BillLocation, RefundStatus};
use paygate_domain::Currency;
use serde::Deserialize;
use std::collections::VecDeque;

use crate::auth::Verified;
use crate::book::{Book, RefundRecord, Trade};
use crate::v3::V3Error;
use crate::v3_refund::fee_of;
use crate::{ids, App};

/// Download tokens kept at once; the oldest is forgotten first.
const TOKENS_MAX: usize = 64;

/// How the file is served: as is, or gzipped (`tar_type=GZIP`, what SDKs ask by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Packing {
    Plain,
    Gzip,
}

/// A bill as it will be downloaded.
#[derive(Debug, Clone)]
struct File {
    bytes: Vec<u8>,
    packing: Packing,
}

/// Bills fetched and not yet forgotten, by download token.
#[derive(Default)]
pub struct Bills {
    issued: VecDeque<(String, File)>,
}

impl Bills {
    fn issue(&mut self, file: File) -> String {
        let token = ids::alnum(32);
        if self.issued.len() == TOKENS_MAX {
            self.issued.pop_front();
        }
        self.issued.push_back((token.clone(), file));
        token
    }

    fn file(&self, token: &str) -> Option<File> {
        self.issued
            .iter()
            .find(|(issued, _)| issued == token)
            .map(|(_, file)| file.clone())
    }
}

/// Every field optional, so a missing one is answered as WeChat Pay does (`PARAM_ERROR`), not by
/// the framework.
#[derive(Debug, Deserialize)]
pub struct BillQuery {
    #[serde(default)]
    bill_date: Option<String>,
    #[serde(default)]
    bill_type: Option<String>,
    #[serde(default)]
    tar_type: Option<String>,
}

pub async fn trade_bill(
    State(app): State<App>,
    Query(query): Query<BillQuery>,
    _signed: Verified,
) -> Result<Json<BillLocation>, V3Error> {
    let date = query
        .bill_date
        .as_deref()
        .and_then(|text| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .ok_or_else(|| V3Error::param("bill_date must be YYYY-MM-DD"))?;
    if query.bill_type.as_deref().is_some_and(|t| t != "ALL") {
        return Err(V3Error::param("the sandbox serves bill_type ALL only"));
    }
    let packing = match query.tar_type.as_deref() {
        None => Packing::Plain,
        Some("GZIP") => Packing::Gzip,
        Some(_) => return Err(V3Error::param("tar_type must be GZIP or absent")),
    };
    let rows = rows_of_day(&app.book(), date, app.fee_rate_ppm);
    if rows.is_empty() {
        return Err(V3Error::new(
            StatusCode::BAD_REQUEST,
            "NO_STATEMENT_EXIST",
            "账单文件不存在",
        ));
    }
    let text = bill::write(&rows);
    // The hash is the bill's own, before any compression, as WeChat Pay documents it.
    let hash_value = bill::sha1_hex(&text);
    let bytes = match packing {
        Packing::Plain => text.into_bytes(),
        Packing::Gzip => gzip(text.as_bytes()),
    };
    let token = app.bills().issue(File { bytes, packing });
    Ok(Json(BillLocation {
        hash_type: "SHA1".to_owned(),
        hash_value,
        download_url: format!(
            "{}/v3/billdownload/file?token={token}",
            app.credentials.base_url
        ),
    }))
}

#[derive(Debug, Deserialize)]
pub struct DownloadQuery {
    #[serde(default)]
    token: Option<String>,
}

pub async fn download(
    State(app): State<App>,
    Query(query): Query<DownloadQuery>,
    _signed: Verified,
) -> Result<Response, V3Error> {
    let token = query
        .token
        .ok_or_else(|| V3Error::param("token is required"))?;
    let file = app
        .bills()
        .file(&token)
        .ok_or_else(|| V3Error::new(StatusCode::NOT_FOUND, "RESOURCE_NOT_EXISTS", "账单不存在"))?;
    let content_type = match file.packing {
        Packing::Plain => "text/plain; charset=utf-8",
        Packing::Gzip => "application/gzip",
    };
    Ok(([("Content-Type", content_type)], file.bytes).into_response())
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(bytes)
        .expect("writing to memory does not fail");
    encoder.finish().expect("writing to memory does not fail")
}

/// The day's rows, in time order.
pub fn rows_of_day(book: &Book, date: NaiveDate, fee_rate_ppm: u32) -> Vec<TradeBillRow> {
    let on_day = |at: DateTime<FixedOffset>| at.date_naive() == date;
    let mut rows: Vec<TradeBillRow> = book
        .trades()
        .filter(|trade| trade.success_time.is_some_and(on_day))
        .map(|trade| payment_row(trade, fee_rate_ppm))
        .collect();
    rows.extend(
        book.refund_records()
            .filter(|refund| on_day(refund.create_time) && refund.status != RefundStatus::Closed)
            .filter_map(|refund| {
                let trade = book.trade(&refund.out_trade_no)?;
                Some(refund_row(trade, refund, fee_rate_ppm))
            }),
    );
    rows.sort_by(|a, b| (a.traded_at, &a.out_trade_no).cmp(&(b.traded_at, &b.out_trade_no)));
    rows
}

fn payment_row(trade: &Trade, fee_rate_ppm: u32) -> TradeBillRow {
    TradeBillRow {
        traded_at: trade
            .success_time
            .expect("only paid trades have payment rows")
            .naive_local(),
        appid: trade.appid.clone(),
        mch_id: trade.mchid.clone(),
        sub_mch_id: "0".to_owned(),
        device_info: String::new(),
        transaction_id: trade.transaction_id.clone().unwrap_or_default(),
        out_trade_no: trade.out_trade_no.clone(),
        openid: trade.openid.clone().unwrap_or_default(),
        trade_type: trade.trade_type.as_str().to_owned(),
        trade_state: BillTradeState::Success,
        bank_type: "OTHERS".to_owned(),
        currency: Currency::Cny,
        settlement_fen: trade.total,
        coupon_fen: 0,
        refund: None,
        body: trade.description().to_owned(),
        attach: trade.attach.clone().unwrap_or_default(),
        fee_fen: fee_of(trade.total, fee_rate_ppm),
        rate: FeeRate(fee_rate_ppm),
        total_fen: trade.total,
        rate_remark: String::new(),
    }
}

fn refund_row(trade: &Trade, refund: &RefundRecord, fee_rate_ppm: u32) -> TradeBillRow {
    let status = serde_json::to_value(refund.status).expect("a status serialises");
    TradeBillRow {
        traded_at: refund.create_time.naive_local(),
        trade_state: BillTradeState::Refund,
        settlement_fen: 0,
        total_fen: 0,
        fee_fen: -fee_of(refund.refund, fee_rate_ppm),
        refund: Some(BillRefund {
            refund_id: refund.refund_id.clone(),
            out_refund_no: refund.out_refund_no.clone(),
            refund_fen: refund.refund,
            recharge_coupon_refund_fen: 0,
            refund_type: "ORIGINAL".to_owned(),
            refund_status: status.as_str().unwrap_or_default().to_owned(),
            requested_fen: refund.refund,
        }),
        ..payment_row(trade, fee_rate_ppm)
    }
}
