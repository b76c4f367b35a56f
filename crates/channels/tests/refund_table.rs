//! Seed 002's refund table (退款处理规则), row by row, against the channel rule table: each
//! channel's refund window and whether (and which part of) its fee comes back.

use paygate_channels::rules::{
    ChannelRules, FeeRefund, RefundWindow, ALIPAY, BAIDU, CMB, ENTERPRISE_BANKING, JD, PAYPAL,
    QQ_WALLET, UNIONPAY, WECHAT, YEEPAY,
};

/// The seed's columns as written there: channel, refund window, fee refunded.
const SEED_002: [(&str, &str, &str); 10] = [
    ("支付宝", "3 个月", "否"),
    ("微信", "1年", "是"),
    ("银联", "11 个月", "是"),
    ("招行一网通", "180 天", "是"),
    ("京东支付", "6 个月", "否"),
    ("百度钱包", "3 个月", "是"),
    ("易宝支付", "3 个月", "否"),
    ("QQ 钱包", "1年", "是"),
    ("企业网银", "330 天", "否"),
    ("PayPal", "180 天", "是 (%部分)"),
];

fn row(channel: &str) -> &'static ChannelRules {
    match channel {
        "支付宝" => &ALIPAY,
        "微信" => &WECHAT,
        "银联" => &UNIONPAY,
        "招行一网通" => &CMB,
        "京东支付" => &JD,
        "百度钱包" => &BAIDU,
        "易宝支付" => &YEEPAY,
        "QQ 钱包" => &QQ_WALLET,
        "企业网银" => &ENTERPRISE_BANKING,
        "PayPal" => &PAYPAL,
        other => panic!("no row for {other}"),
    }
}

/// "3 个月" → 3 months, "180 天" → 180 days, "1年" → 12 months.
fn window(text: &str) -> RefundWindow {
    let text: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let number = |suffix: &str| text.strip_suffix(suffix)?.parse::<u32>().ok();
    if let Some(months) = number("个月") {
        RefundWindow::Months(months)
    } else if let Some(days) = number("天") {
        RefundWindow::Days(days)
    } else if let Some(years) = number("年") {
        RefundWindow::Months(12 * years)
    } else {
        panic!("unreadable window {text}")
    }
}

/// The seed's "是 / 否 / 是 (%部分)" as what our rule gives back.
fn fee_back(rule: FeeRefund) -> &'static str {
    match rule {
        FeeRefund::None => "否",
        FeeRefund::PercentageOnly => "是 (%部分)",
        FeeRefund::Proportional
        | FeeRefund::ProportionalAboveMinimum { .. }
        | FeeRefund::WholeOnFullRefund => "是",
    }
}

#[test]
fn the_rule_table_reproduces_seed_002s_refund_table_row_by_row() {
    for (channel, refund_window, fee) in SEED_002 {
        let rules = row(channel);
        assert_eq!(rules.refund_window, window(refund_window), "{channel}");
        assert_eq!(fee_back(rules.fee_refund), fee, "{channel}");
    }
}

#[test]
fn the_fee_refund_logic_column_is_the_rule_each_row_names() {
    // 银联: 四舍五入保留小数点后 2 位, 有最小手续费金额 0.08 元限制.
    assert_eq!(
        UNIONPAY.fee_refund,
        FeeRefund::ProportionalAboveMinimum { minimum_fen: 8 }
    );
    // 招行一网通 and 百度钱包: proportional, nothing when each refund's share rounds below the unit.
    for rules in [&CMB, &BAIDU] {
        assert_eq!(
            rules.fee_refund,
            FeeRefund::ProportionalAboveMinimum { minimum_fen: 1 }
        );
    }
    // 微信 (old flow) and QQ 钱包 (per-transaction billing): refund × rate, half-up to 0.01.
    for rules in [&WECHAT, &QQ_WALLET] {
        assert_eq!(rules.fee_refund, FeeRefund::Proportional);
    }
    assert_eq!(PAYPAL.fee_refund, FeeRefund::PercentageOnly);
}
