//! A channel's rules as data (DESIGN §5), consulted by the core **before** it calls the channel,
//! so a merchant hears a clear error ("refund window closed", "51st refund", "order number the
//! channel would reject") instead of a channel error. Adding a channel is a row of data plus its
//! protocol module; nothing here does I/O.

mod others;

pub use others::{BAIDU, CMB, ENTERPRISE_BANKING, JD, PAYPAL, QQ_WALLET, YEEPAY};

/// The unit a channel's wire carries amounts in. Conversion happens only inside the channel's
/// module; this says which one it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AmountUnit {
    /// Integer minor units (WeChat Pay, UnionPay).
    Fen,
    /// Decimal major units with exactly two decimals (Alipay).
    YuanTwoDecimals,
}

/// What part of its fee a channel gives back; the arithmetic lives with it in the domain.
pub use paygate_domain::fee::FeeRefund;

/// How long after payment a channel accepts a refund: some channels count days, others calendar
/// months (seed 002: Alipay 3 months, UnionPay 11 months, CMB 180 days).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundWindow {
    Days(u32),
    Months(u32),
}

impl RefundWindow {
    /// The last instant (Unix ms) a refund of a payment made at `paid_at_ms` is accepted,
    /// counting calendar months in China Standard Time, where the channels keep their calendars.
    pub fn closes_at_ms(self, paid_at_ms: i64) -> i64 {
        match self {
            RefundWindow::Days(days) => paid_at_ms.saturating_add(i64::from(days) * DAY_MS),
            RefundWindow::Months(months) => {
                let cst = chrono::FixedOffset::east_opt(8 * 3600).expect("+08:00 is valid");
                chrono::DateTime::from_timestamp_millis(paid_at_ms)
                    .map(|at| at.with_timezone(&cst))
                    .and_then(|at| at.checked_add_months(chrono::Months::new(months)))
                    .map_or(i64::MAX, |at| at.timestamp_millis())
            }
        }
    }
}

impl std::fmt::Display for RefundWindow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RefundWindow::Days(days) => write!(f, "{days} days"),
            RefundWindow::Months(months) => write!(f, "{months} months"),
        }
    }
}

/// How a channel takes an order's expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryMode {
    /// An absolute time (WeChat `time_expire`, RFC 3339).
    Absolute,
    /// Minutes from creation (Alipay `timeout_express`).
    RelativeMinutes,
}

/// Which characters an identifier may use beyond ASCII letters and digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRule {
    pub field: &'static str,
    pub len_min: usize,
    pub len_max: usize,
    pub extra: &'static str,
}

impl IdRule {
    pub fn check(&self, value: &str) -> Result<(), RuleViolation> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || self.extra.contains(c);
        if !(self.len_min..=self.len_max).contains(&value.len()) || !value.chars().all(allowed) {
            return Err(RuleViolation::Field {
                field: self.field,
                why: format!(
                    "must be {}-{} characters of letters, digits{}",
                    self.len_min,
                    self.len_max,
                    if self.extra.is_empty() {
                        String::new()
                    } else {
                        format!(" and {}", self.extra)
                    }
                ),
            });
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRules {
    pub channel: &'static str,
    pub amount_unit: AmountUnit,
    /// The merchant's order number as the channel takes it (ours is passed through).
    pub out_trade_no: IdRule,
    pub out_refund_no: IdRule,
    /// The most characters a description (subject) may have.
    pub description_chars_max: usize,
    /// Characters outside the Basic Multilingual Plane (emoji and the like) are refused.
    pub description_bmp_only: bool,
    /// How long after payment a refund is accepted.
    pub refund_window: RefundWindow,
    pub refunds_per_order_max: Option<u32>,
    /// Whether a payment, a micropay payment and a refund are announced by callback (if not,
    /// only polling learns the outcome).
    pub pay_notify: bool,
    pub micropay_notify: bool,
    pub refund_notify: bool,
    pub expiry: ExpiryMode,
    pub fee_refund: FeeRefund,
    /// When the clearing day ends, in minutes from local midnight (−60: 23:00 the day before).
    pub clearing_day_end_minutes: i32,
    /// When the day's bill can be downloaded, in minutes after the next local midnight.
    pub bill_ready_minutes: i32,
    pub profit_share_receivers_max: Option<u32>,
    /// How long a pay-code charge may wait for the payer's confirmation (USERPAYING) before we
    /// cancel it at the channel (WeChat: query every 5 s for 30 s, then reverse).
    pub pay_code_wait_secs: i64,
    /// The installment counts the payer may choose up front in our cashier (seed 002 分期前置):
    /// Alipay's Huabei installments (花呗分期, `extend_params.hb_fq_num`); none elsewhere.
    pub installments: &'static [u32],
}

/// A request the channel would refuse, told before calling it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleViolation {
    #[error("{field} {why}")]
    Field { field: &'static str, why: String },
    #[error("the refund window of {window} after payment has closed")]
    RefundWindowClosed { window: RefundWindow },
    #[error("an order may be refunded at most {max} times")]
    TooManyRefunds { max: u32 },
}

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

impl ChannelRules {
    pub fn check_description(&self, text: &str) -> Result<(), RuleViolation> {
        let chars = text.chars().count();
        let why = if chars == 0 || chars > self.description_chars_max {
            Some(format!(
                "must be 1-{} characters",
                self.description_chars_max
            ))
        } else if text.chars().any(char::is_control) {
            Some("must not contain control characters".to_owned())
        } else if self.description_bmp_only && text.chars().any(|c| u32::from(c) > 0xFFFF) {
            Some(format!(
                "must not contain emoji or other characters {} rejects",
                self.channel
            ))
        } else {
            None
        };
        match why {
            Some(why) => Err(RuleViolation::Field {
                field: "subject",
                why,
            }),
            None => Ok(()),
        }
    }

    /// Whether one more refund of an order paid at `paid_at_ms` is allowed at `now_ms`, after
    /// `refunds_made` refunds (a retried refund reuses its number and is not a new one).
    pub fn check_refund(
        &self,
        paid_at_ms: i64,
        now_ms: i64,
        refunds_made: u32,
    ) -> Result<(), RuleViolation> {
        if now_ms > self.refund_window.closes_at_ms(paid_at_ms) {
            return Err(RuleViolation::RefundWindowClosed {
                window: self.refund_window,
            });
        }
        match self.refunds_per_order_max {
            Some(max) if refunds_made >= max => Err(RuleViolation::TooManyRefunds { max }),
            _ => Ok(()),
        }
    }
}

/// WeChat Pay (API v3; micropay on v2), from its documentation and seed 002.
pub const WECHAT: ChannelRules = ChannelRules {
    channel: "WeChat Pay",
    amount_unit: AmountUnit::Fen,
    out_trade_no: IdRule {
        field: "out_trade_no",
        len_min: 6,
        len_max: 32,
        extra: "_-*",
    },
    out_refund_no: IdRule {
        field: "out_refund_no",
        len_min: 1,
        len_max: 64,
        extra: "_-|*@",
    },
    description_chars_max: 127,
    description_bmp_only: true,
    refund_window: RefundWindow::Months(12),
    refunds_per_order_max: Some(50),
    pay_notify: true,
    micropay_notify: false,
    refund_notify: true,
    expiry: ExpiryMode::Absolute,
    fee_refund: FeeRefund::Proportional,
    clearing_day_end_minutes: 24 * 60,
    bill_ready_minutes: 10 * 60,
    profit_share_receivers_max: Some(5),
    pay_code_wait_secs: 30,
    installments: &[],
};

/// Alipay (open API), from its documentation and seed 002.
pub const ALIPAY: ChannelRules = ChannelRules {
    channel: "Alipay",
    amount_unit: AmountUnit::YuanTwoDecimals,
    out_trade_no: IdRule {
        field: "out_trade_no",
        len_min: 1,
        len_max: 64,
        extra: "_",
    },
    out_refund_no: IdRule {
        field: "out_refund_no",
        len_min: 1,
        len_max: 64,
        extra: "_",
    },
    description_chars_max: 256,
    description_bmp_only: false,
    refund_window: RefundWindow::Months(3),
    // Alipay documents no limit on the number of partial refunds.
    refunds_per_order_max: None,
    pay_notify: true,
    micropay_notify: true,
    refund_notify: true,
    expiry: ExpiryMode::RelativeMinutes,
    fee_refund: FeeRefund::None,
    clearing_day_end_minutes: 24 * 60,
    bill_ready_minutes: 9 * 60,
    profit_share_receivers_max: Some(10),
    pay_code_wait_secs: 30,
    installments: &[3, 6, 12],
};

/// UnionPay's online gateway (全渠道 5.1.0), from its documentation and seed 002: a clearing day
/// from 23:00 the day before to 23:00, refunds for 11 months with the fee given back in
/// proportion but never below 0.08 yuan, the file ready after 09:00 the next day.
pub const UNIONPAY: ChannelRules = ChannelRules {
    channel: "UnionPay",
    amount_unit: AmountUnit::Fen,
    out_trade_no: IdRule {
        field: "out_trade_no",
        len_min: 8,
        len_max: 40,
        extra: "",
    },
    out_refund_no: IdRule {
        field: "out_refund_no",
        len_min: 8,
        len_max: 40,
        extra: "",
    },
    // `orderDesc` is at most 32 characters.
    description_chars_max: 32,
    description_bmp_only: true,
    refund_window: RefundWindow::Months(11),
    refunds_per_order_max: None,
    pay_notify: true,
    micropay_notify: true,
    refund_notify: true,
    expiry: ExpiryMode::Absolute,
    fee_refund: FeeRefund::ProportionalAboveMinimum { minimum_fen: 8 },
    clearing_day_end_minutes: -60,
    bill_ready_minutes: 9 * 60,
    profit_share_receivers_max: None,
    pay_code_wait_secs: 30,
    installments: &[],
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wechat_takes_order_numbers_of_6_to_32_letters_digits_and_underscore_dash_star() {
        assert_eq!(WECHAT.out_trade_no.check("P2026112900000001"), Ok(()));
        assert_eq!(WECHAT.out_trade_no.check("ab_-*9"), Ok(()));
        for bad in ["abc12", &"a".repeat(33), "order#1", "订单123456"] {
            let Err(RuleViolation::Field { field, .. }) = WECHAT.out_trade_no.check(bad) else {
                panic!("{bad:?} should be refused");
            };
            assert_eq!(field, "out_trade_no");
        }
    }

    #[test]
    fn descriptions_are_1_to_127_characters_without_emoji_or_control_characters() {
        assert_eq!(WECHAT.check_description(&"茶".repeat(127)), Ok(()));
        assert!(WECHAT.check_description(&"茶".repeat(128)).is_err());
        assert!(WECHAT.check_description("").is_err());
        assert!(WECHAT.check_description("green tea 🍵").is_err());
        assert!(WECHAT.check_description("green\u{0}tea").is_err());
    }

    #[test]
    fn a_window_of_months_ends_on_the_same_calendar_day_in_china_standard_time() {
        // 2026-11-30 23:30 CST is 15:30 UTC, already the 30th in China: 3 months on is
        // 2027-02-28 23:30 CST (February has no 30th).
        let paid = 1_796_052_600_000;
        let closes = RefundWindow::Months(3).closes_at_ms(paid);
        assert_eq!(closes, 1_803_828_600_000);
        assert_eq!(
            RefundWindow::Days(180).closes_at_ms(paid),
            paid + 180 * DAY_MS
        );
    }

    #[test]
    fn a_refund_is_refused_after_a_year_and_after_the_fiftieth() {
        // Paid 2023-11-15 06:13:20 CST: a year later is 366 days later, past 2024-02-29.
        let paid = 1_700_000_000_000;
        assert_eq!(WECHAT.check_refund(paid, paid + 366 * DAY_MS, 0), Ok(()));
        assert_eq!(
            WECHAT.check_refund(paid, paid + 366 * DAY_MS + 1, 0),
            Err(RuleViolation::RefundWindowClosed {
                window: RefundWindow::Months(12)
            })
        );
        assert_eq!(WECHAT.check_refund(paid, paid + DAY_MS, 49), Ok(()));
        assert_eq!(
            WECHAT.check_refund(paid, paid + DAY_MS, 50),
            Err(RuleViolation::TooManyRefunds { max: 50 })
        );
    }

    #[test]
    fn alipay_takes_numbers_of_1_to_64_letters_digits_and_underscore() {
        assert_eq!(ALIPAY.out_trade_no.check("P2026112900000001"), Ok(()));
        assert_eq!(ALIPAY.out_trade_no.check("a"), Ok(()));
        assert_eq!(ALIPAY.out_trade_no.check(&"a_1".repeat(21)), Ok(()));
        assert_eq!(ALIPAY.out_refund_no.check("R_2026112900000001"), Ok(()));
        for bad in ["", &"a".repeat(65), "order-1", "order*1", "订单1"] {
            let Err(RuleViolation::Field { field, .. }) = ALIPAY.out_trade_no.check(bad) else {
                panic!("{bad:?} should be refused as an order number");
            };
            assert_eq!(field, "out_trade_no");
            let Err(RuleViolation::Field { field, .. }) = ALIPAY.out_refund_no.check(bad) else {
                panic!("{bad:?} should be refused as a refund number");
            };
            assert_eq!(field, "out_refund_no");
        }
    }

    #[test]
    fn alipay_subjects_run_to_256_characters_emoji_included() {
        assert_eq!(ALIPAY.check_description(&"茶".repeat(256)), Ok(()));
        assert_eq!(ALIPAY.check_description("green tea 🍵"), Ok(()));
        assert!(ALIPAY.check_description(&"茶".repeat(257)).is_err());
    }

    #[test]
    fn an_alipay_refund_is_refused_three_calendar_months_after_payment_and_never_by_count() {
        // 2026-11-29 20:00 in China: the window closes 2027-02-28 20:00 (no February 29th).
        let paid = 1_795_953_600_000;
        let closes = 1_803_816_000_000;
        assert_eq!(ALIPAY.check_refund(paid, closes, 1_000), Ok(()));
        assert_eq!(
            ALIPAY.check_refund(paid, closes + 1, 0),
            Err(RuleViolation::RefundWindowClosed {
                window: RefundWindow::Months(3)
            })
        );
    }

    #[test]
    fn unionpay_takes_8_to_40_letters_and_digits_and_refunds_for_11_months() {
        assert_eq!(UNIONPAY.out_trade_no.check("P2026112900000001"), Ok(()));
        assert!(UNIONPAY.out_trade_no.check("P123456").is_err());
        assert!(UNIONPAY.out_trade_no.check(&"a".repeat(41)).is_err());
        assert!(UNIONPAY.out_refund_no.check("R2026_1129").is_err());
        // Paid 2026-01-31 12:00 Beijing time: the window closes 2026-12-31 12:00.
        let paid = 1_769_832_000_000;
        let closes = 1_798_689_600_000;
        assert_eq!(UNIONPAY.refund_window.closes_at_ms(paid), closes);
        assert_eq!(UNIONPAY.check_refund(paid, closes, 99), Ok(()));
        assert!(UNIONPAY.check_refund(paid, closes + 1, 0).is_err());
    }
}
