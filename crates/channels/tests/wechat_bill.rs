//! The WeChat Pay trade bill of type ALL: written as WeChat publishes it, read back exactly, and
//! refused with the line number when it is not that.

use chrono::{NaiveDate, NaiveDateTime};
use paygate_channels::wechat::bill::{
    self, BillError, BillProblem, BillRefund, BillTradeState, FeeRate, TradeBillRow,
    TradeBillSummary,
};
use paygate_channels::{BillLine, BillLineKind};
use paygate_domain::{Amount, Currency, Money};

const HEADER: &str = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,\
交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,\
充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注";
const SUMMARY_HEADER: &str =
    "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额";

fn cst(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
}

fn payment(out_trade_no: &str, at: &str, total_fen: i64, fee_fen: i64) -> TradeBillRow {
    TradeBillRow {
        traded_at: cst(at),
        appid: "wxd678efh567hg6787".into(),
        mch_id: "1230000109".into(),
        sub_mch_id: "0".into(),
        device_info: String::new(),
        transaction_id: format!("42000000{out_trade_no}"),
        out_trade_no: out_trade_no.into(),
        openid: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into(),
        trade_type: "NATIVE".into(),
        trade_state: BillTradeState::Success,
        bank_type: "OTHERS".into(),
        currency: Currency::Cny,
        settlement_fen: total_fen,
        coupon_fen: 0,
        refund: None,
        body: "一杯绿茶".into(),
        attach: String::new(),
        fee_fen,
        rate: FeeRate(6000),
        total_fen,
        rate_remark: String::new(),
    }
}

fn refund_of(paid: &TradeBillRow, at: &str, refund_fen: i64, fee_back_fen: i64) -> TradeBillRow {
    TradeBillRow {
        traded_at: cst(at),
        trade_state: BillTradeState::Refund,
        settlement_fen: 0,
        total_fen: 0,
        fee_fen: -fee_back_fen,
        refund: Some(BillRefund {
            refund_id: "50000000382019052709732678859".into(),
            out_refund_no: "R20261129000000001".into(),
            refund_fen,
            recharge_coupon_refund_fen: 0,
            refund_type: "ORIGINAL".into(),
            refund_status: "SUCCESS".into(),
            requested_fen: refund_fen,
        }),
        ..paid.clone()
    }
}

fn sample_rows() -> Vec<TradeBillRow> {
    let first = payment(
        "P20261129010203000ABCDEFGHIJ",
        "2026-11-29 10:02:03",
        10_000,
        60,
    );
    let second = payment("P20261129113000000KLMNOPQRST", "2026-11-29 11:30:00", 1, 0);
    let refund = refund_of(&first, "2026-11-29 15:00:00", 2_500, 15);
    vec![first, second, refund]
}

#[test]
fn a_written_bill_parses_back_to_the_same_rows_and_totals() {
    let rows = sample_rows();
    let text = bill::write(&rows);
    let read = bill::parse(&text).unwrap();
    assert_eq!(read.rows, rows);
    assert_eq!(
        read.summary,
        TradeBillSummary {
            count: 3,
            settlement_fen: 10_001,
            refund_fen: 2_500,
            recharge_coupon_refund_fen: 0,
            fee_fen: 45,
            total_fen: 10_001,
            refund_requested_fen: 2_500,
        }
    );
}

#[test]
fn the_written_text_has_the_published_layout() {
    let rows = sample_rows();
    let text = bill::write(&rows[..1]);
    let expected = format!(
        "{HEADER}\r\n\
         `2026-11-29 10:02:03,`wxd678efh567hg6787,`1230000109,`0,`,\
         `42000000P20261129010203000ABCDEFGHIJ,`P20261129010203000ABCDEFGHIJ,\
         `oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`NATIVE,`SUCCESS,`OTHERS,`CNY,`100.00,`0.00,`0,`0,\
         `0.00,`0.00,`,`,`一杯绿茶,`,`0.60000,`0.60%,`100.00,`0.00,`\r\n\
         {SUMMARY_HEADER}\r\n\
         `1,`100.00,`0.00,`0.00,`0.60000,`100.00,`0.00\r\n"
    );
    assert_eq!(text, expected);
}

#[test]
fn a_refund_row_is_written_with_its_refund_columns_and_the_fee_given_back_negative() {
    let rows = sample_rows();
    let text = bill::write(&rows[2..]);
    let row = text.split("\r\n").nth(1).unwrap();
    assert_eq!(
        row,
        "`2026-11-29 15:00:00,`wxd678efh567hg6787,`1230000109,`0,`,\
         `42000000P20261129010203000ABCDEFGHIJ,`P20261129010203000ABCDEFGHIJ,\
         `oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`NATIVE,`REFUND,`OTHERS,`CNY,`0.00,`0.00,\
         `50000000382019052709732678859,`R20261129000000001,`25.00,`0.00,`ORIGINAL,`SUCCESS,\
         `一杯绿茶,`,`-0.15000,`0.60%,`0.00,`25.00,`"
    );
}

/// A bill typed by hand in the published layout (values ours), LF line ends, the fee written
/// both padded (`0.06000`) and plain (`0.01`), a rate with one decimal.
#[test]
fn a_hand_written_bill_reads_to_exact_fen_amounts_and_fees() {
    let text = format!(
        "{HEADER}\n\
         `2026-11-28 09:15:42,`wx2421b1c4370ec43b,`10000100,`0,`1000,\
         `4200000008201712143733500001,`P20261128091542000AAAAAAAAAA,`oZWaCKXip5njeEiloC4oe,\
         `MICROPAY,`SUCCESS,`OTHERS,`CNY,`19.99,`0.00,`0,`0,`0.00,`0.00,`,`,`可乐,`note,\
         `0.12000,`0.6%,`19.99,`0.00,`\n\
         `2026-11-28 18:00:01,`wx2421b1c4370ec43b,`10000100,`0,`1000,\
         `4200000008201712143733500001,`P20261128091542000AAAAAAAAAA,`oZWaCKXip5njeEiloC4oe,\
         `MICROPAY,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`50300000012017121400001,`R0001,`9.99,\
         `0.00,`ORIGINAL,`SUCCESS,`可乐,`note,`-0.06000,`0.6%,`0.00,`9.99,`\n\
         {SUMMARY_HEADER}\n\
         `2,`19.99,`9.99,`0.00,`0.06000,`19.99,`9.99\n"
    );
    let read = bill::parse(&text).unwrap();
    let paid = &read.rows[0];
    assert_eq!(paid.traded_at, cst("2026-11-28 09:15:42"));
    assert_eq!(paid.total_fen, 1_999);
    assert_eq!(paid.settlement_fen, 1_999);
    assert_eq!(paid.fee_fen, 12);
    assert_eq!(paid.rate, FeeRate(6000));
    assert_eq!(paid.device_info, "1000");
    assert_eq!(paid.refund, None);
    let refunded = &read.rows[1];
    assert_eq!(refunded.trade_state, BillTradeState::Refund);
    assert_eq!(refunded.fee_fen, -6);
    let refund = refunded.refund.as_ref().unwrap();
    assert_eq!(refund.refund_fen, 999);
    assert_eq!(refund.requested_fen, 999);
    assert_eq!(refund.out_refund_no, "R0001");
    assert_eq!(read.summary.fee_fen, 6);
    assert_eq!(read.summary.count, 2);
}

#[test]
fn rates_read_and_write_as_percentages_exact_to_the_part_per_million() {
    let mut row = sample_rows().remove(0);
    for (rate, text) in [
        (FeeRate(6000), "`0.60%"),
        (FeeRate(3800), "`0.38%"),
        (FeeRate(2000), "`0.20%"),
        (FeeRate(1234), "`0.1234%"),
        (FeeRate(10_000), "`1.00%"),
        (FeeRate(0), "`0.00%"),
        (FeeRate(1_000_000), "`100.00%"),
    ] {
        row.rate = rate;
        let written = bill::write(std::slice::from_ref(&row));
        let cell = written.split("\r\n").nth(1).unwrap().split(',').nth(23);
        assert_eq!(cell, Some(text));
        assert_eq!(bill::parse(&written).unwrap().rows[0].rate, rate);
    }
}

#[test]
fn the_bills_lines_carry_exact_money_utc_times_and_positive_fees() {
    let read = bill::parse(&bill::write(&sample_rows())).unwrap();
    let lines = bill::to_lines(&read);
    let cny = |fen| Money::new(Amount::from_minor(fen).unwrap(), Currency::Cny);
    let utc_ms = |text: &str| {
        NaiveDate::from_ymd_opt(2026, 11, 29)
            .unwrap()
            .and_time(text.parse().unwrap())
            .and_utc()
            .timestamp_millis()
    };
    assert_eq!(lines.len(), 3);
    assert_eq!(
        lines[0],
        BillLine {
            kind: BillLineKind::Payment,
            at_ms: utc_ms("02:02:03"),
            trade_no: "P20261129010203000ABCDEFGHIJ".into(),
            channel_trade_no: "42000000P20261129010203000ABCDEFGHIJ".into(),
            refund_no: None,
            channel_refund_no: None,
            amount: cny(10_000),
            fee: cny(60),
            status: "SUCCESS".into(),
        }
    );
    assert_eq!(
        lines[2],
        BillLine {
            kind: BillLineKind::Refund,
            at_ms: utc_ms("07:00:00"),
            trade_no: "P20261129010203000ABCDEFGHIJ".into(),
            channel_trade_no: "42000000P20261129010203000ABCDEFGHIJ".into(),
            refund_no: Some("R20261129000000001".into()),
            channel_refund_no: Some("50000000382019052709732678859".into()),
            amount: cny(2_500),
            fee: cny(15),
            status: "REFUND".into(),
        }
    );
}

#[test]
fn a_separator_inside_a_product_name_does_not_shift_the_columns() {
    let mut row = sample_rows().remove(0);
    row.body = "tea, cakes\r\nand more".into();
    let read = bill::parse(&bill::write(&[row])).unwrap();
    assert_eq!(read.rows[0].body, "tea  cakes  and more");
    assert_eq!(read.rows[0].total_fen, 10_000);
}

/// The written sample with one line replaced, or with text appended.
fn sample_with(line_index: usize, edit: impl Fn(&str) -> String) -> String {
    let text = bill::write(&sample_rows());
    let mut lines: Vec<String> = text.split("\r\n").map(str::to_owned).collect();
    lines[line_index] = edit(&lines[line_index]);
    lines.join("\r\n")
}

fn cell_replaced(line: &str, index: usize, value: &str) -> String {
    let mut cells: Vec<&str> = line.split(',').collect();
    cells[index] = value;
    cells.join(",")
}

fn problem_at(text: &str) -> (usize, BillProblem) {
    let BillError { line, problem } = bill::parse(text).unwrap_err();
    (line, problem)
}

#[test]
fn malformed_lines_are_refused_with_their_line_number() {
    let amount = |value: &str| BillProblem::Amount {
        column: "订单金额",
        value: value.into(),
    };
    let cases: Vec<(String, usize, BillProblem)> = vec![
        (
            sample_with(0, |_| "交易时间,公众账号ID".into()),
            1,
            BillProblem::Header,
        ),
        (
            sample_with(2, |l| l.rsplit_once(',').unwrap().0.into()),
            3,
            BillProblem::Columns {
                expected: 27,
                found: 26,
            },
        ),
        (
            sample_with(1, |l| cell_replaced(l, 6, "P2026")),
            2,
            BillProblem::NoBacktick {
                column: "商户订单号",
            },
        ),
        (
            sample_with(3, |l| cell_replaced(l, 24, "`1.001")),
            4,
            BillProblem::NotWholeFen {
                column: "订单金额",
                value: "1.001".into(),
            },
        ),
        (
            sample_with(2, |l| cell_replaced(l, 24, "`1e2")),
            3,
            amount("1e2"),
        ),
        (
            sample_with(2, |l| cell_replaced(l, 24, "`1.")),
            3,
            amount("1."),
        ),
        (
            sample_with(2, |l| cell_replaced(l, 24, "`-1.00")),
            3,
            amount("-1.00"),
        ),
        (
            sample_with(1, |l| cell_replaced(l, 22, "`0.60500")),
            2,
            BillProblem::NotWholeFen {
                column: "手续费",
                value: "0.60500".into(),
            },
        ),
        (
            sample_with(1, |l| cell_replaced(l, 0, "`2026/11/29 10:02:03")),
            2,
            BillProblem::Time {
                column: "交易时间",
                value: "2026/11/29 10:02:03".into(),
            },
        ),
        (
            sample_with(1, |l| cell_replaced(l, 9, "`PAID")),
            2,
            BillProblem::Unknown {
                column: "交易状态",
                value: "PAID".into(),
            },
        ),
        (
            sample_with(1, |l| cell_replaced(l, 23, "`0,6%")),
            2,
            BillProblem::Columns {
                expected: 27,
                found: 28,
            },
        ),
        (
            sample_with(1, |l| cell_replaced(l, 23, "`0.6")),
            2,
            BillProblem::Rate {
                column: "费率",
                value: "0.6".into(),
            },
        ),
        (
            sample_with(1, |l| cell_replaced(l, 23, "`100.01%")),
            2,
            BillProblem::Rate {
                column: "费率",
                value: "100.01%".into(),
            },
        ),
        (
            sample_with(1, |l| cell_replaced(l, 16, "`1.00")),
            2,
            BillProblem::Inconsistent("a SUCCESS row carries refund values"),
        ),
    ];
    for (text, line, problem) in cases {
        assert_eq!(problem_at(&text), (line, problem.clone()), "{problem}");
    }
}

#[test]
fn a_summary_that_disagrees_with_the_rows_is_refused_on_its_line() {
    let text = sample_with(5, |l| cell_replaced(l, 5, "`100.02"));
    assert_eq!(
        problem_at(&text),
        (
            6,
            BillProblem::SummaryMismatch {
                column: "订单总金额",
                stated: 10_002,
                computed: 10_001,
            }
        )
    );
    let text = sample_with(5, |l| cell_replaced(l, 0, "`4"));
    assert_eq!(
        problem_at(&text),
        (
            6,
            BillProblem::SummaryMismatch {
                column: "总交易单数",
                stated: 4,
                computed: 3,
            }
        )
    );
}

#[test]
fn a_bill_cut_short_or_with_content_after_its_summary_is_refused() {
    let text = bill::write(&sample_rows());
    let cut = text.split_once(SUMMARY_HEADER).unwrap().0;
    assert_eq!(problem_at(cut.trim_end()), (5, BillProblem::NoSummary));
    let header_only = format!("{cut}{SUMMARY_HEADER}");
    assert_eq!(problem_at(&header_only), (6, BillProblem::NoSummary));
    let trailing = format!("{text}\r\n`extra\r\n");
    assert_eq!(problem_at(&trailing), (8, BillProblem::Trailing));
    assert_eq!(problem_at(""), (1, BillProblem::Header));
}

/// FIPS 180-2, appendix A.1: SHA-1("abc").
#[test]
fn the_download_check_is_the_sha1_of_the_text_in_lower_case_hex() {
    assert_eq!(
        bill::sha1_hex("abc"),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    let text = bill::write(&sample_rows());
    assert_ne!(
        bill::sha1_hex(&text),
        bill::sha1_hex(&text.replace("100.00", "100.01"))
    );
}

#[test]
#[should_panic(expected = "a bill row has refund columns exactly when it is not a payment")]
fn writing_a_refund_row_without_its_refund_columns_is_a_bug() {
    let mut row = sample_rows().remove(2);
    row.refund = None;
    bill::write(&[row]);
}

mod round_trip {
    use super::*;
    use proptest::prelude::*;

    /// Text as a bill cell can carry it: no comma, no line break.
    fn cell_text() -> impl Strategy<Value = String> {
        "[0-9A-Za-z_\\-一杯绿茶 ]{0,12}"
    }

    fn fen() -> impl Strategy<Value = i64> {
        0..=Amount::MAX_MINOR
    }

    fn row() -> impl Strategy<Value = TradeBillRow> {
        (
            (0i64..4_000_000_000, cell_text(), cell_text(), cell_text()),
            (fen(), fen(), fen(), 0u32..=1_000_000),
            proptest::option::of((cell_text(), fen(), fen(), fen(), any::<bool>())),
        )
            .prop_map(|(head, amounts, refund)| {
                let (secs, ids, body, attach) = head;
                let (total_fen, coupon_fen, fee_fen, rate_ppm) = amounts;
                let mut row = payment("P20261129010203000ABCDEFGHIJ", "2026-11-29 10:02:03", 0, 0);
                row.traded_at = chrono::DateTime::from_timestamp(secs, 0)
                    .unwrap()
                    .naive_utc();
                row.device_info = ids;
                row.body = body;
                row.attach = attach;
                row.total_fen = total_fen;
                row.settlement_fen = total_fen;
                row.coupon_fen = coupon_fen;
                row.fee_fen = fee_fen;
                row.rate = FeeRate(rate_ppm);
                if let Some((refund_no, refund_fen, coupon_refund_fen, requested_fen, revoked)) =
                    refund
                {
                    row.trade_state = if revoked {
                        BillTradeState::Revoked
                    } else {
                        BillTradeState::Refund
                    };
                    row.fee_fen = -fee_fen;
                    row.refund = Some(BillRefund {
                        refund_id: format!("5{refund_no}"),
                        out_refund_no: format!("R{refund_no}"),
                        refund_fen,
                        recharge_coupon_refund_fen: coupon_refund_fen,
                        refund_type: "ORIGINAL".into(),
                        refund_status: "SUCCESS".into(),
                        requested_fen,
                    });
                }
                row
            })
    }

    proptest! {
        #[test]
        fn any_bill_written_reads_back_to_the_same_rows(rows in proptest::collection::vec(row(), 0..8)) {
            let read = bill::parse(&bill::write(&rows)).unwrap();
            prop_assert_eq!(&read.rows, &rows);
            prop_assert_eq!(Some(read.summary), TradeBillSummary::of(&rows));
        }
    }
}
