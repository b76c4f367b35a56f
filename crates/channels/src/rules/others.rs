//! The rows of seed 002's refund table for channels that have no adapter yet (CMB, JD, Baidu,
//! YeePay, QQ wallet, enterprise online banking, PayPal): their rules are data now, so an adapter
//! later only adds the protocol. Where seed 002 is silent, a row takes the conservative choice
//! (refund outcomes polled, not awaited by callback) and says so.

use super::{AmountUnit, ChannelRules, ExpiryMode, FeeRefund, IdRule, RefundWindow};

/// Letters, digits and `_`, 1–32: what every channel here takes (ours are 28 characters).
const ORDER_NO: IdRule = IdRule {
    field: "out_trade_no",
    len_min: 1,
    len_max: 32,
    extra: "_",
};
const REFUND_NO: IdRule = IdRule {
    field: "out_refund_no",
    len_min: 1,
    len_max: 32,
    extra: "_",
};

/// What the rows share; each overrides what seed 002 states for it.
const BASE: ChannelRules = ChannelRules {
    channel: "",
    amount_unit: AmountUnit::YuanTwoDecimals,
    out_trade_no: ORDER_NO,
    out_refund_no: REFUND_NO,
    description_chars_max: 128,
    description_bmp_only: true,
    refund_window: RefundWindow::Months(3),
    refunds_per_order_max: None,
    pay_notify: true,
    micropay_notify: false,
    refund_notify: false,
    expiry: ExpiryMode::Absolute,
    fee_refund: FeeRefund::None,
    clearing_day_end_minutes: 24 * 60,
    bill_ready_minutes: 10 * 60,
    profit_share_receivers_max: None,
    pay_code_wait_secs: 30,
    installments: &[],
};

/// CMB 一网通: 180 days; the fee in proportion, nothing when a refund's share rounds below the
/// smallest fee unit (two half refunds each under it return nothing). Order numbers are digits
/// only: the adapter maps ours to a digit string.
pub const CMB: ChannelRules = ChannelRules {
    channel: "CMB One Netcom",
    out_trade_no: IdRule {
        field: "out_trade_no",
        len_min: 1,
        len_max: 32,
        extra: "",
    },
    refund_window: RefundWindow::Days(180),
    fee_refund: FeeRefund::ProportionalAboveMinimum { minimum_fen: 1 },
    ..BASE
};

/// JD Pay: 6 months; no fee back.
pub const JD: ChannelRules = ChannelRules {
    channel: "JD Pay",
    refund_window: RefundWindow::Months(6),
    fee_refund: FeeRefund::None,
    ..BASE
};

/// Baidu wallet: 3 months; proportional with a smallest fee unit, as CMB.
pub const BAIDU: ChannelRules = ChannelRules {
    channel: "Baidu Wallet",
    refund_window: RefundWindow::Months(3),
    fee_refund: FeeRefund::ProportionalAboveMinimum { minimum_fen: 1 },
    ..BASE
};

/// YeePay: 3 months; no fee back.
pub const YEEPAY: ChannelRules = ChannelRules {
    channel: "YeePay",
    refund_window: RefundWindow::Months(3),
    fee_refund: FeeRefund::None,
    ..BASE
};

/// QQ wallet: 1 year; billed per transaction (seed 002 advises it over netting), so a refund
/// returns `refund × rate`.
pub const QQ_WALLET: ChannelRules = ChannelRules {
    channel: "QQ Wallet",
    amount_unit: AmountUnit::Fen,
    refund_window: RefundWindow::Months(12),
    fee_refund: FeeRefund::Proportional,
    ..BASE
};

/// Enterprise online banking (企业网银): 330 days; no fee back.
pub const ENTERPRISE_BANKING: ChannelRules = ChannelRules {
    channel: "Enterprise online banking",
    refund_window: RefundWindow::Days(330),
    fee_refund: FeeRefund::None,
    ..BASE
};

/// PayPal: 180 days; the percentage part of the fee back, never the fixed part.
pub const PAYPAL: ChannelRules = ChannelRules {
    channel: "PayPal",
    description_bmp_only: false,
    refund_window: RefundWindow::Days(180),
    refund_notify: true,
    fee_refund: FeeRefund::PercentageOnly,
    ..BASE
};
