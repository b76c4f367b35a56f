//! Seed 002's fee-refund logic (退手续费逻辑), worked through for every row of the channel rule
//! table with exact fen: a full refund, two half refunds, half-up rounding, and the smallest-unit
//! cases (UnionPay's 0.08 yuan, CMB's and Baidu's one fen). The seed gives no rates, so the CNY
//! channels take a typical 0.6% and PayPal an illustrative 3.4% plus 2.00 fixed.

use paygate_channels::rules::{
    ChannelRules, ALIPAY, BAIDU, CMB, ENTERPRISE_BANKING, JD, PAYPAL, QQ_WALLET, UNIONPAY, WECHAT,
    YEEPAY,
};
use paygate_domain::fee::{fee_refund, FeeRate, FeeSchedule, PaidWithFee, RefundedSoFar};
use paygate_domain::Amount;

fn fen(minor: i64) -> Amount {
    Amount::from_minor(minor).unwrap()
}

fn schedule(ppm: u32, fixed: i64) -> FeeSchedule {
    FeeSchedule {
        rate: FeeRate::from_ppm(ppm).unwrap(),
        fixed: fen(fixed),
    }
}

/// The fee returned by each refund of `parts`, in order, of a payment of `paid` fen.
fn returned(rules: &ChannelRules, schedule: &FeeSchedule, paid: i64, parts: &[i64]) -> Vec<i64> {
    let payment = PaidWithFee {
        paid: fen(paid),
        fee: schedule.fee_for(fen(paid)),
    };
    let mut before = RefundedSoFar::NOTHING;
    parts
        .iter()
        .map(|&part| {
            let fee = fee_refund(rules.fee_refund, schedule, payment, before, fen(part))
                .unwrap_or_else(|e| panic!("{}: {e}", rules.channel));
            before.refunded = before.refunded.checked_add(fen(part)).unwrap();
            before.fee_returned = before.fee_returned.checked_add(fee).unwrap();
            fee.minor()
        })
        .collect()
}

/// One row: the channel, its schedule, the fee charged on 100.00, then the fee returned by each
/// refund in the cases of `CASES`.
struct Row {
    rules: &'static ChannelRules,
    ppm: u32,
    fixed: i64,
    fee_on_100: i64,
    expected: [&'static [i64]; 8],
}

/// (paid, refunds) in fen:
/// 100.00 refunded at once, then in two halves;
/// 2.50 refunded as 0.75 (0.6% is 0.0045 → 0.00) and 1.75, then at once (0.015 → 0.02);
/// 1.50 in two halves whose 0.0045 shares round to nothing (CMB's example), then at once;
/// 20.00 in two halves of 0.06 each, under UnionPay's 0.08, then at once (0.12).
const CASES: [(i64, &[i64]); 8] = [
    (10_000, &[10_000]),
    (10_000, &[5_000, 5_000]),
    (250, &[75, 175]),
    (250, &[250]),
    (150, &[75, 75]),
    (150, &[150]),
    (2_000, &[1_000, 1_000]),
    (2_000, &[2_000]),
];

const NO_FEE_BACK: [&[i64]; 8] = [&[0], &[0, 0], &[0, 0], &[0], &[0, 0], &[0], &[0, 0], &[0]];
/// refund × rate half-up, the completing refund settling the residue (WeChat: 分多次退款…最终
/// 完成退款后会将手续费全部退完).
const PROPORTIONAL: [&[i64]; 8] = [
    &[60],
    &[30, 30],
    &[0, 2],
    &[2],
    &[0, 1],
    &[1],
    &[6, 6],
    &[12],
];
/// As proportional, but a refund whose own share rounds below one fen returns nothing, even the
/// completing one.
const ABOVE_ONE_FEN: [&[i64]; 8] = [
    &[60],
    &[30, 30],
    &[0, 2],
    &[2],
    &[0, 0],
    &[1],
    &[6, 6],
    &[12],
];

const TABLE: [Row; 10] = [
    Row {
        rules: &ALIPAY,
        ppm: 6_000,
        fixed: 0,
        fee_on_100: 60,
        expected: NO_FEE_BACK,
    },
    Row {
        rules: &WECHAT,
        ppm: 6_000,
        fixed: 0,
        fee_on_100: 60,
        expected: PROPORTIONAL,
    },
    Row {
        rules: &UNIONPAY,
        ppm: 6_000,
        fixed: 0,
        fee_on_100: 60,
        // Nothing below 0.08 yuan per refund: only 100.00 and the full 20.00 return their fee.
        expected: [
            &[60],
            &[30, 30],
            &[0, 0],
            &[0],
            &[0, 0],
            &[0],
            &[0, 0],
            &[12],
        ],
    },
    Row {
        rules: &CMB,
        ppm: 6_000,
        fixed: 0,
        fee_on_100: 60,
        expected: ABOVE_ONE_FEN,
    },
    Row {
        rules: &JD,
        ppm: 6_000,
        fixed: 0,
        fee_on_100: 60,
        expected: NO_FEE_BACK,
    },
    Row {
        rules: &BAIDU,
        ppm: 6_000,
        fixed: 0,
        fee_on_100: 60,
        expected: ABOVE_ONE_FEN,
    },
    Row {
        rules: &YEEPAY,
        ppm: 6_000,
        fixed: 0,
        fee_on_100: 60,
        expected: NO_FEE_BACK,
    },
    Row {
        rules: &QQ_WALLET,
        ppm: 6_000,
        fixed: 0,
        fee_on_100: 60,
        expected: PROPORTIONAL,
    },
    Row {
        rules: &ENTERPRISE_BANKING,
        ppm: 6_000,
        fixed: 0,
        fee_on_100: 60,
        expected: NO_FEE_BACK,
    },
    Row {
        rules: &PAYPAL,
        ppm: 34_000,
        fixed: 200,
        // 3.40 + 2.00; only the 3.40 comes back. On 2.50 the percentage part is 0.085 → 0.09
        // (0.75 → 0.0255 → 0.03); on 1.50 it is 0.051 → 0.05 and the fee is capped at 1.50.
        fee_on_100: 540,
        expected: [
            &[340],
            &[170, 170],
            &[3, 6],
            &[9],
            &[3, 2],
            &[5],
            &[34, 34],
            &[68],
        ],
    },
];

#[test]
fn every_channel_row_returns_seed_002s_fee_on_refund_to_the_fen() {
    for row in TABLE {
        let schedule = schedule(row.ppm, row.fixed);
        let channel = row.rules.channel;
        assert_eq!(
            schedule.fee_for(fen(10_000)),
            fen(row.fee_on_100),
            "{channel}"
        );
        for ((paid, parts), expected) in CASES.into_iter().zip(row.expected) {
            assert_eq!(
                returned(row.rules, &schedule, paid, parts),
                expected,
                "{channel}: {paid} fen refunded as {parts:?}"
            );
        }
    }
}

#[test]
fn the_table_covers_every_channel_row() {
    let mut names: Vec<&str> = TABLE.iter().map(|row| row.rules.channel).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), 10);
}

#[test]
fn paypal_keeps_the_fixed_part_of_a_fee_capped_at_a_tiny_payment() {
    let paypal = schedule(34_000, 200);
    assert_eq!(paypal.fee_for(fen(150)), fen(150));
    assert_eq!(returned(&PAYPAL, &paypal, 150, &[150]), [5]);
}
