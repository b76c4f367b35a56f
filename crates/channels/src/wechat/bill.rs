//! WeChat Pay's trade bill (交易账单, 对账单) of type `ALL`: written by the sandbox, read by the
//! adapter for reconciliation (DESIGN §9).
//!
//! The format, as WeChat Pay publishes it: "交易账单详细说明"
//! (pay.weixin.qq.com/docs/merchant/products/bill-download/format-trade.html, 2024-11-25) gives
//! the 27-column detail header and the 7-column summary header of `ALL`, values separated by
//! commas, every detail and summary value prefixed with one backtick, amounts in yuan. The
//! example in WeChat's "下载对账单" page (developers.weixin.qq.com, wxcloudrun, pay/order/bill)
//! shows a payment row's refund columns as `0`, `0`, `0.00`, `0.00`, empty, empty; the fee with
//! five decimals (`0.00000`: to the fen, padded with three zeros); the rate as `0.90%`; an empty
//! rate remark. The bill-download API answers the file's SHA1 (`hash_type` SHA1, lower-case hex).
//! Not published, so decided here: lines end with CRLF when written and either CRLF or LF is
//! read; a refund row carries the fee given back as a negative amount.
//!
//! Amounts are exact: a value that is not a whole number of fen is an error, never rounded.

mod read;

use crate::{BillLine, BillLineKind};
use chrono::NaiveDateTime;
use paygate_domain::{Amount, Currency, Money};
use read::{check_summary, parse_row, parse_summary};
use sha1::{Digest, Sha1};

pub const DETAIL_HEADER: [&str; 27] = [
    "交易时间",
    "公众账号ID",
    "商户号",
    "特约商户号",
    "设备号",
    "微信订单号",
    "商户订单号",
    "用户标识",
    "交易类型",
    "交易状态",
    "付款银行",
    "货币种类",
    "应结订单金额",
    "代金券金额",
    "微信退款单号",
    "商户退款单号",
    "退款金额",
    "充值券退款金额",
    "退款类型",
    "退款状态",
    "商品名称",
    "商户数据包",
    "手续费",
    "费率",
    "订单金额",
    "申请退款金额",
    "费率备注",
];

pub const SUMMARY_HEADER: [&str; 7] = [
    "总交易单数",
    "应结订单总金额",
    "退款总金额",
    "充值券退款总金额",
    "手续费总金额",
    "订单总金额",
    "申请退款总金额",
];

const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";
/// China Standard Time, in which every time in the bill is written.
const CST_OFFSET_MS: i64 = 8 * 3600 * 1000;
/// At most 13 digits of yuan, so every cell fits `Amount::MAX_MINOR` fen.
const YUAN_DIGITS_MAX: usize = 13;
/// WeChat writes the fee to the fen, then three zeros.
const FEE_PADDING: &str = "000";

paygate_domain::text_enum! {
    /// The 交易状态 of a row: a payment, or money going back (refund, or a reversed micropay).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum BillTradeState, unknown(_text) => (), () {
        Success = "SUCCESS",
        Refund = "REFUND",
        Revoked = "REVOKED",
    }
}

/// A fee rate in parts per million, written as a percentage (`6000` is `0.60%`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeRate(pub u32);

/// The refund columns of a `REFUND` or `REVOKED` row; a `SUCCESS` row has none (`write` asserts
/// it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillRefund {
    /// 微信退款单号.
    pub refund_id: String,
    /// 商户退款单号: our refund number.
    pub out_refund_no: String,
    /// 退款金额: what went back from the settled amount.
    pub refund_fen: i64,
    /// 充值券退款金额.
    pub recharge_coupon_refund_fen: i64,
    /// 退款类型 (`ORIGINAL`, `BALANCE`, ...), as WeChat writes it.
    pub refund_type: String,
    /// 退款状态 (`SUCCESS`, `PROCESSING`, ...), as WeChat writes it.
    pub refund_status: String,
    /// 申请退款金额: what the merchant asked to refund.
    pub requested_fen: i64,
}

/// One detail row. Amounts are fen; only `fee_fen` may be negative (a refund row's fee given
/// back).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeBillRow {
    /// 交易时间 in China Standard Time: when paid, or when the refund was requested.
    pub traded_at: NaiveDateTime,
    pub appid: String,
    pub mch_id: String,
    /// 特约商户号: `0` for a direct merchant.
    pub sub_mch_id: String,
    pub device_info: String,
    /// 微信订单号.
    pub transaction_id: String,
    /// 商户订单号: our trade number.
    pub out_trade_no: String,
    /// 用户标识 (openid).
    pub openid: String,
    /// 交易类型: `MICROPAY`, `JSAPI`, `NATIVE`, `APP`, `MWEB`, ...
    pub trade_type: String,
    pub trade_state: BillTradeState,
    /// 付款银行 (`OTHERS`, `CMB_DEBIT`, ...).
    pub bank_type: String,
    pub currency: Currency,
    /// 应结订单金额.
    pub settlement_fen: i64,
    /// 代金券金额.
    pub coupon_fen: i64,
    pub refund: Option<BillRefund>,
    /// 商品名称.
    pub body: String,
    /// 商户数据包.
    pub attach: String,
    /// 手续费: charged on a payment (≥ 0), given back on a refund (written negative).
    pub fee_fen: i64,
    pub rate: FeeRate,
    /// 订单金额.
    pub total_fen: i64,
    /// 费率备注.
    pub rate_remark: String,
}

/// The summary rows, computed from the detail rows on writing and checked against them on
/// reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TradeBillSummary {
    pub count: i64,
    pub settlement_fen: i64,
    pub refund_fen: i64,
    pub recharge_coupon_refund_fen: i64,
    pub fee_fen: i64,
    pub total_fen: i64,
    pub refund_requested_fen: i64,
}

impl TradeBillSummary {
    /// The rows' count and totals; `None` if a total overflows.
    pub fn of(rows: &[TradeBillRow]) -> Option<TradeBillSummary> {
        rows.iter()
            .try_fold(TradeBillSummary::default(), |sum, row| {
                let refund = row.refund.as_ref();
                let part = |pick: fn(&BillRefund) -> i64| refund.map_or(0, pick);
                Some(TradeBillSummary {
                    count: sum.count.checked_add(1)?,
                    settlement_fen: sum.settlement_fen.checked_add(row.settlement_fen)?,
                    refund_fen: sum.refund_fen.checked_add(part(|r| r.refund_fen))?,
                    recharge_coupon_refund_fen: sum
                        .recharge_coupon_refund_fen
                        .checked_add(part(|r| r.recharge_coupon_refund_fen))?,
                    fee_fen: sum.fee_fen.checked_add(row.fee_fen)?,
                    total_fen: sum.total_fen.checked_add(row.total_fen)?,
                    refund_requested_fen: sum
                        .refund_requested_fen
                        .checked_add(part(|r| r.requested_fen))?,
                })
            })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TradeBill {
    pub rows: Vec<TradeBillRow>,
    pub summary: TradeBillSummary,
}

/// Why a bill was not read, and on which line (1-based).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("trade bill line {line}: {problem}")]
pub struct BillError {
    pub line: usize,
    pub problem: BillProblem,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BillProblem {
    #[error("not the header of an ALL trade bill")]
    Header,
    #[error("{found} columns where {expected} are expected")]
    Columns { expected: usize, found: usize },
    #[error("{column}: value does not start with a backtick")]
    NoBacktick { column: &'static str },
    #[error("{column}: {value:?} is not an amount in yuan")]
    Amount { column: &'static str, value: String },
    #[error("{column}: {value:?} is not a whole number of fen")]
    NotWholeFen { column: &'static str, value: String },
    #[error("{column}: {value:?} is not a time yyyy-MM-dd HH:mm:ss")]
    Time { column: &'static str, value: String },
    #[error("{column}: {value:?} is not a rate like 0.60%")]
    Rate { column: &'static str, value: String },
    #[error("{column}: unknown value {value:?}")]
    Unknown { column: &'static str, value: String },
    #[error("{0}")]
    Inconsistent(&'static str),
    #[error("the summary header and row are missing")]
    NoSummary,
    #[error("summary {column} says {stated}, the rows add up to {computed}")]
    SummaryMismatch {
        column: &'static str,
        stated: i64,
        computed: i64,
    },
    #[error("the rows' totals overflow")]
    Overflow,
    #[error("content after the summary row")]
    Trailing,
}

/// The bill's text, as WeChat serves it: detail header, rows, summary header, summary row.
pub fn write(rows: &[TradeBillRow]) -> String {
    let summary = TradeBillSummary::of(rows).expect("a bill we write has totals that fit i64");
    let mut lines = vec![DETAIL_HEADER.join(",")];
    lines.extend(rows.iter().map(|row| backticked(&row_cells(row))));
    lines.push(SUMMARY_HEADER.join(","));
    lines.push(backticked(&summary_cells(&summary)));
    let mut text = lines.join("\r\n");
    text.push_str("\r\n");
    text
}

/// The SHA1 of the bill's bytes in lower-case hex, as the bill-download API's `hash_value`.
pub fn sha1_hex(text: &str) -> String {
    hex::encode(Sha1::digest(text.as_bytes()))
}

pub fn parse(text: &str) -> Result<TradeBill, BillError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .enumerate()
        .map(|(index, line)| (index + 1, line));
    let at = |line: usize| move |problem: BillProblem| BillError { line, problem };
    match lines.next() {
        Some((_, header)) if header == DETAIL_HEADER.join(",") => {}
        _ => return Err(at(1)(BillProblem::Header)),
    }
    let mut rows = Vec::new();
    let summary_header = SUMMARY_HEADER.join(",");
    let mut last_line = 1;
    let stated = loop {
        let Some((number, line)) = lines.next() else {
            return Err(at(last_line + 1)(BillProblem::NoSummary));
        };
        last_line = number;
        if line == summary_header {
            let (number, line) = lines
                .next()
                .ok_or_else(|| at(number + 1)(BillProblem::NoSummary))?;
            break parse_summary(line).map_err(at(number))?;
        }
        rows.push(parse_row(line).map_err(at(number))?);
    };
    if let Some((number, _)) = lines.find(|(_, line)| !line.is_empty()) {
        return Err(at(number)(BillProblem::Trailing));
    }
    let summary_line = last_line + 1;
    let computed =
        TradeBillSummary::of(&rows).ok_or_else(|| at(summary_line)(BillProblem::Overflow))?;
    check_summary(&stated, &computed).map_err(at(summary_line))?;
    Ok(TradeBill {
        rows,
        summary: stated,
    })
}

/// The bill's lines for `Channel::bill`: payments at their order amount, refunds at the amount
/// asked, fees as positive amounts either way.
pub fn to_lines(bill: &TradeBill) -> Vec<BillLine> {
    bill.rows.iter().map(to_line).collect()
}

fn to_line(row: &TradeBillRow) -> BillLine {
    let money = |fen: i64| {
        let amount = Amount::from_minor(fen).expect("parsed and written cells fit an Amount");
        Money::new(amount, row.currency)
    };
    let (kind, amount, refund_no, channel_refund_no) = match &row.refund {
        None => (BillLineKind::Payment, row.total_fen, None, None),
        Some(refund) => (
            BillLineKind::Refund,
            refund.requested_fen,
            Some(refund.out_refund_no.clone()),
            Some(refund.refund_id.clone()),
        ),
    };
    BillLine {
        kind,
        at_ms: row.traded_at.and_utc().timestamp_millis() - CST_OFFSET_MS,
        trade_no: row.out_trade_no.clone(),
        channel_trade_no: row.transaction_id.clone(),
        refund_no,
        channel_refund_no,
        amount: money(amount),
        fee: money(row.fee_fen.abs()),
        status: row.trade_state.as_str().to_owned(),
    }
}

fn backticked(cells: &[String]) -> String {
    cells
        .iter()
        .map(|cell| format!("`{cell}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// The format has no quoting: a separator inside a text value becomes a space.
fn text_cell(text: &str) -> String {
    text.replace([',', '\r', '\n'], " ")
}

fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

fn fee_yuan(fen: i64) -> String {
    format!("{}{FEE_PADDING}", yuan(fen))
}

fn rate_text(rate: FeeRate) -> String {
    let percent_hundredths = format!("{:04}", rate.0 % 10_000);
    let trimmed = percent_hundredths.trim_end_matches('0');
    let decimals = if trimmed.len() < 2 {
        &percent_hundredths[..2]
    } else {
        trimmed
    };
    format!("{}.{decimals}%", rate.0 / 10_000)
}

fn row_cells(row: &TradeBillRow) -> Vec<String> {
    let is_payment = row.trade_state == BillTradeState::Success;
    assert_eq!(
        row.refund.is_none(),
        is_payment,
        "a bill row has refund columns exactly when it is not a payment"
    );
    assert!(
        !is_payment || row.fee_fen >= 0,
        "a payment row's fee is not negative"
    );
    let refund_cells = match &row.refund {
        None => [
            "0".to_owned(),
            "0".to_owned(),
            yuan(0),
            yuan(0),
            String::new(),
            String::new(),
        ],
        Some(r) => [
            text_cell(&r.refund_id),
            text_cell(&r.out_refund_no),
            yuan(r.refund_fen),
            yuan(r.recharge_coupon_refund_fen),
            text_cell(&r.refund_type),
            text_cell(&r.refund_status),
        ],
    };
    let requested = row.refund.as_ref().map_or(0, |r| r.requested_fen);
    let mut cells = vec![
        row.traded_at.format(TIME_FORMAT).to_string(),
        text_cell(&row.appid),
        text_cell(&row.mch_id),
        text_cell(&row.sub_mch_id),
        text_cell(&row.device_info),
        text_cell(&row.transaction_id),
        text_cell(&row.out_trade_no),
        text_cell(&row.openid),
        text_cell(&row.trade_type),
        row.trade_state.as_str().to_owned(),
        text_cell(&row.bank_type),
        row.currency.as_str().to_owned(),
        yuan(row.settlement_fen),
        yuan(row.coupon_fen),
    ];
    cells.extend(refund_cells);
    cells.extend([
        text_cell(&row.body),
        text_cell(&row.attach),
        fee_yuan(row.fee_fen),
        rate_text(row.rate),
        yuan(row.total_fen),
        yuan(requested),
        text_cell(&row.rate_remark),
    ]);
    cells
}

fn summary_cells(summary: &TradeBillSummary) -> Vec<String> {
    vec![
        summary.count.to_string(),
        yuan(summary.settlement_fen),
        yuan(summary.refund_fen),
        yuan(summary.recharge_coupon_refund_fen),
        fee_yuan(summary.fee_fen),
        yuan(summary.total_fen),
        yuan(summary.refund_requested_fen),
    ]
}
