//! Alipay's trade bill: a zip holding the day's detail file (`..._业务明细.csv`) and its summary,
//! both GBK CSV in which every value is followed by a TAB. Only the detail file is read; its
//! closing totals (`#交易合计：N笔`, `#退款合计：N笔`) must agree with its rows.

use std::io::{Cursor, Read};

use paygate_domain::{Amount, Currency, Money};

use super::mapping;
use crate::{BillLine, BillLineKind};

const DETAIL_SUFFIX: &str = "_业务明细.csv";
/// A bill larger than this is not one Alipay would send for a day of our trades.
const DETAIL_BYTES_MAX: u64 = 256 * 1024 * 1024;
const KIND_PAYMENT: &str = "交易";
const KIND_REFUND: &str = "退款";
const TRADES_TOTAL: &str = "#交易合计：";
const REFUNDS_TOTAL: &str = "#退款合计：";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BillError {
    #[error("not a zip: {0}")]
    Zip(String),
    #[error("the zip has no detail file (*{DETAIL_SUFFIX})")]
    NoDetail,
    #[error("the detail file is not GBK")]
    Encoding,
    #[error("no column {0}")]
    Column(&'static str),
    #[error("line {line}: {why}")]
    Line { line: usize, why: String },
    #[error("the totals say {said} {kind} rows, the bill has {rows}")]
    Totals {
        kind: &'static str,
        said: usize,
        rows: usize,
    },
}

/// The lines of a zipped trade bill.
pub fn read_zip(zipped: &[u8]) -> Result<Vec<BillLine>, BillError> {
    let mut archive =
        zip::ZipArchive::new(Cursor::new(zipped)).map_err(|e| BillError::Zip(e.to_string()))?;
    for index in 0..archive.len() {
        let mut file = archive
            .by_index(index)
            .map_err(|e| BillError::Zip(e.to_string()))?;
        if !entry_name(file.name_raw()).ends_with(DETAIL_SUFFIX) {
            continue;
        }
        let mut bytes = Vec::new();
        file.by_ref()
            .take(DETAIL_BYTES_MAX)
            .read_to_end(&mut bytes)
            .map_err(|e| BillError::Zip(e.to_string()))?;
        let (text, _, had_errors) = encoding_rs::GBK.decode(&bytes);
        if had_errors {
            return Err(BillError::Encoding);
        }
        return parse_detail(&text);
    }
    Err(BillError::NoDetail)
}

/// A file's name in the zip: Alipay writes GBK without the zip's UTF-8 flag, other writers
/// (the sandbox) UTF-8; GBK's Chinese is never valid UTF-8, so UTF-8 is tried first.
fn entry_name(raw: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(raw) {
        Ok(name) => name.into(),
        Err(_) => encoding_rs::GBK.decode(raw).0,
    }
}

/// The columns a line is read from, by position in the header row.
struct Columns {
    trade_no: usize,
    out_trade_no: usize,
    kind: usize,
    created: usize,
    finished: usize,
    amount: usize,
    refund_no: usize,
    fee: usize,
}

impl Columns {
    fn find(header: &[&str]) -> Result<Columns, BillError> {
        let at = |name: &'static str| {
            header
                .iter()
                .position(|h| *h == name)
                .ok_or(BillError::Column(name))
        };
        Ok(Columns {
            trade_no: at("支付宝交易号")?,
            out_trade_no: at("商户订单号")?,
            kind: at("业务类型")?,
            created: at("创建时间")?,
            finished: at("完成时间")?,
            amount: at("订单金额（元）")?,
            refund_no: at("退款批次号/请求号")?,
            fee: at("服务费（元）")?,
        })
    }
}

/// A row's values: each is followed by a TAB, so `\t,` separates them even where a product
/// name holds a comma.
fn values(line: &str) -> Vec<&str> {
    let line = line.trim_end_matches(['\r', '\n']);
    let line = line.strip_suffix('\t').unwrap_or(line);
    line.split("\t,").map(str::trim).collect()
}

/// The detail file's lines, in file order.
pub fn parse_detail(text: &str) -> Result<Vec<BillLine>, BillError> {
    let mut columns = None;
    let mut lines = Vec::new();
    let (mut trades_said, mut refunds_said) = (None, None);
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        if let Some(rest) = raw.strip_prefix(TRADES_TOTAL) {
            trades_said = Some(count_of(rest, number)?);
            continue;
        }
        if let Some(rest) = raw.strip_prefix(REFUNDS_TOTAL) {
            refunds_said = Some(count_of(rest, number)?);
            continue;
        }
        if raw.starts_with('#') || raw.trim().is_empty() {
            continue;
        }
        let row = values(raw);
        match &columns {
            None => columns = Some(Columns::find(&row)?),
            Some(columns) => lines
                .push(line_of(columns, &row).map_err(|why| BillError::Line { line: number, why })?),
        }
    }
    check_total("payment", trades_said, &lines, BillLineKind::Payment)?;
    check_total("refund", refunds_said, &lines, BillLineKind::Refund)?;
    Ok(lines)
}

fn count_of(rest: &str, line: usize) -> Result<usize, BillError> {
    rest.split_once('笔')
        .and_then(|(n, _)| n.trim().parse().ok())
        .ok_or_else(|| BillError::Line {
            line,
            why: format!("unreadable total {rest:?}"),
        })
}

fn check_total(
    kind: &'static str,
    said: Option<usize>,
    lines: &[BillLine],
    wanted: BillLineKind,
) -> Result<(), BillError> {
    let rows = lines.iter().filter(|l| l.kind == wanted).count();
    match said {
        Some(said) if said != rows => Err(BillError::Totals { kind, said, rows }),
        _ => Ok(()),
    }
}

fn line_of(columns: &Columns, row: &[&str]) -> Result<BillLine, String> {
    let cell = |at: usize| {
        row.get(at)
            .copied()
            .ok_or_else(|| format!("no column {at}"))
    };
    let kind = match cell(columns.kind)? {
        KIND_PAYMENT => BillLineKind::Payment,
        KIND_REFUND => BillLineKind::Refund,
        other => return Err(format!("unknown 业务类型 {other:?}")),
    };
    // A refund is written negative; ours are positive amounts of the money that moved.
    let fen = |at: usize| -> Result<Money, String> {
        let fen = mapping::signed_fen(cell(at)?).map_err(|e| e.to_string())?;
        let amount = Amount::from_minor(fen.abs()).map_err(|e| e.to_string())?;
        Ok(Money::new(amount, Currency::Cny))
    };
    let finished = cell(columns.finished)?;
    let at = if finished.is_empty() {
        cell(columns.created)?
    } else {
        finished
    };
    let refund_no = cell(columns.refund_no)?;
    Ok(BillLine {
        kind,
        at_ms: mapping::parse_cst_ms(at).map_err(|e| e.to_string())?,
        trade_no: cell(columns.out_trade_no)?.to_owned(),
        channel_trade_no: cell(columns.trade_no)?.to_owned(),
        refund_no: (kind == BillLineKind::Refund && !refund_no.is_empty())
            .then(|| refund_no.to_owned()),
        channel_refund_no: None,
        amount: fen(columns.amount)?,
        fee: fen(columns.fee)?,
        status: cell(columns.kind)?.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_read_in_gbk_or_utf8() {
        let name = "20881021479480600156_20261129_业务明细.csv";
        let (gbk, _, _) = encoding_rs::GBK.encode(name);
        assert_ne!(gbk.as_ref(), name.as_bytes());
        assert_eq!(entry_name(&gbk), name);
        assert_eq!(entry_name(name.as_bytes()), name);
    }

    #[test]
    fn values_are_split_at_the_tab_before_each_comma() {
        assert_eq!(
            values("2026\t,P1\t,茶, 绿\t,\t,100.00\t\r"),
            ["2026", "P1", "茶, 绿", "", "100.00"]
        );
    }
}
