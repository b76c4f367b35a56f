//! The reconciliation file (对账文件): `fileTransfer` answers `fileContent`, the base64 of a
//! zlib-compressed zip that holds, among others, the general transaction file
//! `INN{yyMMdd}88ZM_{merId}`: one fixed-width line per transaction, columns separated by a
//! space, CRLF between lines. `COLUMNS` is the layout of UnionPay's file interface
//! specification; this module reads it for the adapter and writes it for the sandbox.

use std::io::{Read, Write};

use base64::Engine;
use chrono::{Datelike, NaiveDate};
use paygate_domain::{Amount, Currency, Money};

use crate::{BillLine, BillLineKind};

/// Every column of a general transaction line: name and width in characters.
pub const COLUMNS: [(&str, usize); 40] = [
    ("交易代码", 3),
    ("代理机构标识码", 11),
    ("发送机构标识码", 11),
    ("系统跟踪号", 6),
    ("交易传输时间", 10),
    ("帐号", 19),
    ("交易金额", 12),
    ("商户类别", 4),
    ("终端类型", 2),
    ("查询流水号", 21),
    ("支付方式（旧）", 2),
    ("商户订单号", 32),
    ("支付卡类型", 2),
    ("原始交易的系统跟踪号", 6),
    ("原始交易日期时间", 10),
    ("商户手续费", 13),
    ("结算金额", 13),
    ("支付方式", 4),
    ("集团商户代码", 15),
    ("交易类型", 2),
    ("交易子类", 2),
    ("业务类型", 6),
    ("帐号类型", 2),
    ("账单类型", 4),
    ("账单号码", 32),
    ("交互方式", 1),
    ("原交易查询流水号", 21),
    ("商户代码", 15),
    ("分账入账方式", 1),
    ("二级商户代码", 15),
    ("二级商户简称", 32),
    ("二级商户分账入账金额", 13),
    ("清算净额", 13),
    ("终端号", 8),
    ("商户自定义域", 32),
    ("优惠金额", 13),
    ("发票金额", 13),
    ("分期付款附加手续费", 12),
    ("分期付款期数", 2),
    ("交易介质", 1),
];
/// The reserved tail after the columns (保留使用), which makes every line 607 characters.
pub const RESERVED_CHARS: usize = 131;
pub const LINE_CHARS: usize = 607;
/// Zip entries and files larger than this are refused rather than read.
const FILE_BYTES_MAX: u64 = 64 << 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BillError {
    #[error("fileContent is not base64")]
    Base64,
    #[error("fileContent does not inflate: {0}")]
    Inflate(String),
    #[error("the zip does not read: {0}")]
    Zip(String),
    #[error("the zip holds no INN...ZM_{0} file")]
    NoTradeFile(String),
    #[error("line {line}: {why}")]
    Line { line: usize, why: String },
}

/// One transaction line, with the columns reconciliation uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeLine {
    /// 交易代码: `S56` consume; the kind is read from `txn_type`.
    pub code: String,
    pub trace_no: String,
    /// 交易传输时间, Beijing `MMDDhhmmss`.
    pub trace_time: String,
    pub amount_fen: i64,
    pub query_id: String,
    pub order_id: String,
    /// 商户手续费: positive when charged (`D`), negative when given back (`C`).
    pub fee_fen: i64,
    /// 结算金额: positive when credited to the merchant (`C`).
    pub settle_fen: i64,
    pub txn_type: String,
    pub txn_sub_type: String,
    pub biz_type: String,
    pub orig_query_id: String,
    pub mer_id: String,
}

fn signed_amount(text: &str) -> Result<i64, String> {
    let (sign, digits) = text.trim().split_at_checked(1).ok_or("empty amount")?;
    let value: i64 = digits.parse().map_err(|_| format!("amount {text:?}"))?;
    match sign {
        "C" => Ok(value),
        "D" => Ok(-value),
        _ => Err(format!("amount {text:?} has no C/D sign")),
    }
}

fn write_signed(fen: i64) -> String {
    let sign = if fen < 0 { 'D' } else { 'C' };
    format!("{sign}{:012}", fen.unsigned_abs())
}

impl TradeLine {
    pub fn parse(line: &str) -> Result<TradeLine, String> {
        let chars: Vec<char> = line.chars().collect();
        let mut at = 0;
        let mut columns = Vec::with_capacity(COLUMNS.len());
        for (name, width) in COLUMNS {
            let end = at + width;
            let value: String = chars
                .get(at..end)
                .ok_or(format!("too short for {name}"))?
                .iter()
                .collect();
            columns.push(value.trim().to_owned());
            at = end + 1;
        }
        let column = |i: usize| columns[i].clone();
        Ok(TradeLine {
            code: column(0),
            trace_no: column(3),
            trace_time: column(4),
            amount_fen: column(6)
                .parse()
                .map_err(|_| format!("交易金额 {:?}", columns[6]))?,
            query_id: column(9),
            order_id: column(11),
            // The merchant pays the fee: a debit (D) is a fee charged.
            fee_fen: -signed_amount(&columns[15])?,
            settle_fen: signed_amount(&columns[16])?,
            txn_type: column(19),
            txn_sub_type: column(20),
            biz_type: column(21),
            orig_query_id: column(26),
            mer_id: column(27),
        })
    }

    /// The line as UnionPay writes it (columns this struct does not carry are blank or zero).
    pub fn write(&self) -> String {
        let mut values: Vec<String> = COLUMNS.iter().map(|(_, w)| " ".repeat(*w)).collect();
        let mut set = |i: usize, value: &str| values[i] = format!("{value:<w$}", w = COLUMNS[i].1);
        set(0, &self.code);
        set(3, &self.trace_no);
        set(4, &self.trace_time);
        set(6, &format!("{:012}", self.amount_fen));
        set(9, &self.query_id);
        set(11, &self.order_id);
        set(15, &write_signed(-self.fee_fen));
        set(16, &write_signed(self.settle_fen));
        set(19, &self.txn_type);
        set(20, &self.txn_sub_type);
        set(21, &self.biz_type);
        set(26, &self.orig_query_id);
        set(27, &self.mer_id);
        set(32, &write_signed(self.settle_fen));
        let mut line = values.join(" ");
        line.push(' ');
        line.push_str(&" ".repeat(RESERVED_CHARS));
        line
    }
}

/// The name of the general transaction file of `mer_id` for a clearing day.
pub fn trade_file_name(day: NaiveDate, mer_id: &str) -> String {
    format!("INN{}88ZM_{mer_id}", day.format("%y%m%d"))
}

/// `fileContent` → the text of the `INN...ZM_{mer_id}` file inside.
pub fn unpack(file_content: &str, mer_id: &str) -> Result<String, BillError> {
    let compressed = base64::engine::general_purpose::STANDARD
        .decode(file_content.trim())
        .map_err(|_| BillError::Base64)?;
    let mut zip_bytes = Vec::new();
    flate2::read::ZlibDecoder::new(compressed.as_slice())
        .take(FILE_BYTES_MAX)
        .read_to_end(&mut zip_bytes)
        .map_err(|e| BillError::Inflate(e.to_string()))?;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes))
        .map_err(|e| BillError::Zip(e.to_string()))?;
    let suffix = format!("ZM_{mer_id}");
    let name = archive
        .file_names()
        .find(|n| n.starts_with("INN") && n.ends_with(&suffix))
        .map(str::to_owned)
        .ok_or_else(|| BillError::NoTradeFile(mer_id.to_owned()))?;
    let entry = archive
        .by_name(&name)
        .map_err(|e| BillError::Zip(e.to_string()))?;
    let mut bytes = Vec::new();
    entry
        .take(FILE_BYTES_MAX)
        .read_to_end(&mut bytes)
        .map_err(|e| BillError::Zip(e.to_string()))?;
    String::from_utf8(bytes).map_err(|_| BillError::Zip(format!("{name} is not UTF-8")))
}

/// Files (name, text) → `fileContent`, as UnionPay packs them.
pub fn pack(files: &[(String, String)]) -> Result<String, BillError> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, text) in files {
        writer
            .start_file(name.as_str(), options)
            .map_err(|e| BillError::Zip(e.to_string()))?;
        writer
            .write_all(text.as_bytes())
            .map_err(|e| BillError::Zip(e.to_string()))?;
    }
    let zip_bytes = writer
        .finish()
        .map_err(|e| BillError::Zip(e.to_string()))?
        .into_inner();
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder
        .write_all(&zip_bytes)
        .map_err(|e| BillError::Inflate(e.to_string()))?;
    let compressed = encoder
        .finish()
        .map_err(|e| BillError::Inflate(e.to_string()))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(compressed))
}

/// Reads every line of a general transaction file.
pub fn parse(text: &str) -> Result<Vec<TradeLine>, BillError> {
    text.split("\r\n")
        .flat_map(|chunk| chunk.split('\n'))
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| TradeLine::parse(line).map_err(|why| BillError::Line { line: i + 1, why }))
        .collect()
}

/// A Beijing `MMDDhhmmss` of a line in the file of clearing day `day`, in Unix ms: the year is
/// the one that puts it nearest the day (a line of 1 January's file may be from 31 December).
fn trace_time_ms(trace_time: &str, day: NaiveDate) -> Option<i64> {
    (day.year() - 1..=day.year() + 1)
        .filter_map(|year| super::wire::parse_beijing_time(&format!("{year}{trace_time}")).ok())
        .min_by_key(|ms| {
            let noon = day
                .and_hms_opt(12, 0, 0)
                .map_or(0, |t| t.and_utc().timestamp_millis());
            (ms - noon).abs()
        })
}

fn cny(fen: i64) -> Result<Money, String> {
    Amount::from_minor(fen)
        .map(|a| Money::new(a, Currency::Cny))
        .map_err(|_| format!("{fen} is not an amount"))
}

/// The file's lines as bill lines. Refunds name their trade only by its `queryId`; the trade's
/// order number is filled in when the payment is in the same file.
pub fn to_lines(text: &str, day: NaiveDate) -> Result<Vec<BillLine>, BillError> {
    let lines = parse(text)?;
    let order_of = |query_id: &str| {
        lines
            .iter()
            .find(|l| l.query_id == query_id && l.txn_type == super::wire::TXN_CONSUME)
            .map(|l| l.order_id.clone())
    };
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let bad = |why: String| BillError::Line { line: i + 1, why };
            let at_ms = trace_time_ms(&line.trace_time, day)
                .ok_or_else(|| bad(format!("交易传输时间 {:?}", line.trace_time)))?;
            let refund = line.txn_type != super::wire::TXN_CONSUME;
            Ok(BillLine {
                kind: if refund {
                    BillLineKind::Refund
                } else {
                    BillLineKind::Payment
                },
                at_ms,
                trade_no: if refund {
                    order_of(&line.orig_query_id).unwrap_or_default()
                } else {
                    line.order_id.clone()
                },
                channel_trade_no: if refund {
                    line.orig_query_id.clone()
                } else {
                    line.query_id.clone()
                },
                refund_no: refund.then(|| line.order_id.clone()),
                channel_refund_no: refund.then(|| line.query_id.clone()),
                amount: cny(line.amount_fen).map_err(bad)?,
                fee: cny(line.fee_fen.abs()).map_err(bad)?,
                status: line.code.clone(),
            })
        })
        .collect()
}
