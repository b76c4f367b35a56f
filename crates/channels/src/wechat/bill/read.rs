//! Reading one detail or summary line of the trade bill into typed values, exact to the fen.

use super::{
    BillProblem, BillRefund, BillTradeState, FeeRate, TradeBillRow, TradeBillSummary,
    DETAIL_HEADER, FEE_PADDING, SUMMARY_HEADER, TIME_FORMAT, YUAN_DIGITS_MAX,
};
use chrono::NaiveDateTime;
use paygate_domain::Currency;

/// A total may have more digits than a detail cell: up to what fits i64 fen.
const SUMMARY_YUAN_DIGITS_MAX: usize = 16;

/// A line's values, backticks removed, each known by its column's name.
struct Cells<'a> {
    names: &'static [&'static str],
    values: Vec<&'a str>,
    yuan_digits_max: usize,
}

impl<'a> Cells<'a> {
    fn split(
        line: &'a str,
        names: &'static [&'static str],
        yuan_digits_max: usize,
    ) -> Result<Cells<'a>, BillProblem> {
        let raw: Vec<&str> = line.split(',').collect();
        if raw.len() != names.len() {
            return Err(BillProblem::Columns {
                expected: names.len(),
                found: raw.len(),
            });
        }
        let values = raw
            .iter()
            .zip(names)
            .map(|(value, column)| {
                value
                    .strip_prefix('`')
                    .ok_or(BillProblem::NoBacktick { column })
            })
            .collect::<Result<_, _>>()?;
        Ok(Cells {
            names,
            values,
            yuan_digits_max,
        })
    }

    fn text(&self, index: usize) -> String {
        self.values[index].to_owned()
    }

    fn column(&self, index: usize) -> &'static str {
        self.names[index]
    }

    fn amount(&self, index: usize) -> Result<i64, BillProblem> {
        let fen = self.signed_amount(index)?;
        if fen < 0 {
            return Err(BillProblem::Amount {
                column: self.column(index),
                value: self.text(index),
            });
        }
        Ok(fen)
    }

    fn signed_amount(&self, index: usize) -> Result<i64, BillProblem> {
        fen_of_yuan(self.values[index], self.yuan_digits_max).map_err(|kind| {
            let (column, value) = (self.column(index), self.text(index));
            match kind {
                YuanError::Malformed => BillProblem::Amount { column, value },
                YuanError::NotWholeFen => BillProblem::NotWholeFen { column, value },
            }
        })
    }

    fn time(&self, index: usize) -> Result<NaiveDateTime, BillProblem> {
        NaiveDateTime::parse_from_str(self.values[index], TIME_FORMAT).map_err(|_| {
            BillProblem::Time {
                column: self.column(index),
                value: self.text(index),
            }
        })
    }

    fn rate(&self, index: usize) -> Result<FeeRate, BillProblem> {
        rate_of_text(self.values[index]).ok_or_else(|| BillProblem::Rate {
            column: self.column(index),
            value: self.text(index),
        })
    }

    fn unknown(&self, index: usize) -> BillProblem {
        BillProblem::Unknown {
            column: self.column(index),
            value: self.text(index),
        }
    }
}

enum YuanError {
    Malformed,
    NotWholeFen,
}

/// `-`? digits, then optionally `.` and decimals; decimals past the second must be zeros (the
/// fee's padding), so the value is a whole number of fen.
fn fen_of_yuan(text: &str, int_digits_max: usize) -> Result<i64, YuanError> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int_part, frac_part) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let bare_point = unsigned.ends_with('.');
    let well_formed = !int_part.is_empty()
        && !bare_point
        && int_part.len() <= int_digits_max
        && digits(int_part)
        && digits(frac_part)
        && frac_part.len() <= 2 + FEE_PADDING.len();
    if !well_formed {
        return Err(YuanError::Malformed);
    }
    if frac_part.len() > 2 && frac_part[2..].bytes().any(|b| b != b'0') {
        return Err(YuanError::NotWholeFen);
    }
    let cents = format!("{:0<2}", &frac_part[..frac_part.len().min(2)]);
    let fen = int_part
        .parse::<i64>()
        .ok()
        .and_then(|yuan| yuan.checked_mul(100))
        .zip(cents.parse::<i64>().ok())
        .and_then(|(whole, cents)| whole.checked_add(cents))
        .ok_or(YuanError::Malformed)?;
    Ok(if negative { -fen } else { fen })
}

/// `0.60%` is 6000 parts per million; at most four decimals of a percent are exact, and no
/// rate is above 100%.
fn rate_of_text(text: &str) -> Option<FeeRate> {
    let number = text.strip_suffix('%')?;
    let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int_part.is_empty() || int_part.len() > 3 || !digits(int_part) {
        return None;
    }
    if frac_part.len() > 4 || !digits(frac_part) || (number.contains('.') && frac_part.is_empty()) {
        return None;
    }
    let hundredths = format!("{frac_part:0<4}").parse::<u32>().ok()?;
    let ppm = int_part.parse::<u32>().ok()? * 10_000 + hundredths;
    (ppm <= 1_000_000).then_some(FeeRate(ppm))
}

pub(super) fn parse_row(line: &str) -> Result<TradeBillRow, BillProblem> {
    let cells = Cells::split(line, &DETAIL_HEADER, YUAN_DIGITS_MAX)?;
    let trade_state: BillTradeState = cells.values[9].parse().map_err(|()| cells.unknown(9))?;
    let currency: Currency = cells.values[11].parse().map_err(|_| cells.unknown(11))?;
    if currency.minor_digits() != 2 {
        return Err(cells.unknown(11));
    }
    let refund = parse_refund(&cells, trade_state)?;
    let fee_fen = cells.signed_amount(22)?;
    if refund.is_none() && fee_fen < 0 {
        return Err(BillProblem::Inconsistent("a payment row's fee is negative"));
    }
    Ok(TradeBillRow {
        traded_at: cells.time(0)?,
        appid: cells.text(1),
        mch_id: cells.text(2),
        sub_mch_id: cells.text(3),
        device_info: cells.text(4),
        transaction_id: cells.text(5),
        out_trade_no: cells.text(6),
        openid: cells.text(7),
        trade_type: cells.text(8),
        trade_state,
        bank_type: cells.text(10),
        currency,
        settlement_fen: cells.amount(12)?,
        coupon_fen: cells.amount(13)?,
        refund,
        body: cells.text(20),
        attach: cells.text(21),
        fee_fen,
        rate: cells.rate(23)?,
        total_fen: cells.amount(24)?,
        rate_remark: cells.text(26),
    })
}

/// Columns 14-19 and 25: a refund's, or on a payment row the published placeholders.
fn parse_refund(
    cells: &Cells<'_>,
    state: BillTradeState,
) -> Result<Option<BillRefund>, BillProblem> {
    let refund = BillRefund {
        refund_id: cells.text(14),
        out_refund_no: cells.text(15),
        refund_fen: cells.amount(16)?,
        recharge_coupon_refund_fen: cells.amount(17)?,
        refund_type: cells.text(18),
        refund_status: cells.text(19),
        requested_fen: cells.amount(25)?,
    };
    if state != BillTradeState::Success {
        if refund.refund_id.is_empty() || refund.out_refund_no.is_empty() {
            return Err(BillProblem::Inconsistent(
                "a refund row without refund numbers",
            ));
        }
        return Ok(Some(refund));
    }
    let placeholders = refund.refund_id == "0"
        && refund.out_refund_no == "0"
        && refund.refund_fen == 0
        && refund.recharge_coupon_refund_fen == 0
        && refund.refund_type.is_empty()
        && refund.refund_status.is_empty()
        && refund.requested_fen == 0;
    if !placeholders {
        return Err(BillProblem::Inconsistent(
            "a SUCCESS row carries refund values",
        ));
    }
    Ok(None)
}

pub(super) fn parse_summary(line: &str) -> Result<TradeBillSummary, BillProblem> {
    let cells = Cells::split(line, &SUMMARY_HEADER, SUMMARY_YUAN_DIGITS_MAX)?;
    let count = cells.values[0]
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0 && cells.values[0].bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| cells.unknown(0))?;
    Ok(TradeBillSummary {
        count,
        settlement_fen: cells.amount(1)?,
        refund_fen: cells.amount(2)?,
        recharge_coupon_refund_fen: cells.amount(3)?,
        fee_fen: cells.signed_amount(4)?,
        total_fen: cells.amount(5)?,
        refund_requested_fen: cells.amount(6)?,
    })
}

pub(super) fn check_summary(
    stated: &TradeBillSummary,
    computed: &TradeBillSummary,
) -> Result<(), BillProblem> {
    let pairs = [
        (stated.count, computed.count),
        (stated.settlement_fen, computed.settlement_fen),
        (stated.refund_fen, computed.refund_fen),
        (
            stated.recharge_coupon_refund_fen,
            computed.recharge_coupon_refund_fen,
        ),
        (stated.fee_fen, computed.fee_fen),
        (stated.total_fen, computed.total_fen),
        (stated.refund_requested_fen, computed.refund_requested_fen),
    ];
    for (column, (stated, computed)) in SUMMARY_HEADER.iter().zip(pairs) {
        if stated != computed {
            return Err(BillProblem::SummaryMismatch {
                column,
                stated,
                computed,
            });
        }
    }
    Ok(())
}
