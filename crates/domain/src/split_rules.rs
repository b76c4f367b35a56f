//! Share rules given when an order is created (`split_rules`, issue #11): who gets what of the
//! order once it is paid, applied automatically (`immediate`) or when the merchant ends the
//! order's sharing (`on_finish`), always as one split request under a number derived from the
//! order, so that applying them twice is applying them once.

use crate::split::{check_shares, ReceiverId, Share, SplitError};
use crate::{Amount, OutSplitNo, TradeNo};

/// The most rules one order may carry: Alipay's receiver cap, the larger of the channels'; the
/// order's own channel may allow fewer.
pub const SPLIT_RULES_MAX: usize = 10;
/// The most characters a rule's description may have.
pub const SPLIT_RULE_DESCRIPTION_CHARS_MAX: usize = 80;
/// What the automatic split's `out_split_no` starts with; merchants' own split numbers may not.
pub const AUTO_SPLIT_PREFIX: &str = "auto-";

crate::text_enum! {
    /// When an order's share rules are applied.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub enum SplitMode, unknown(text) => SplitError::BadValue(text.to_owned()), SplitError {
        /// As soon as the order is paid, by the background step.
        #[default]
        Immediate = "immediate",
        /// When the merchant calls `/api/split/finish`, just before sharing ends.
        OnFinish = "on_finish",
    }
}

crate::text_enum! {
    /// Where an order's share rules stand.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum AutoSplitStatus, unknown(text) => SplitError::BadValue(text.to_owned()), SplitError {
        /// Not applied yet: the order is not paid, the step has not run, or (`on_finish`) the
        /// merchant has not finished.
        Pending = "PENDING",
        /// Applied: the split under the derived number exists.
        Done = "DONE",
        /// Could not be applied (a receiver removed since, a refund that left too little, the
        /// order's sharing finished or the order never paid); the reason is kept. Final.
        Failed = "FAILED",
    }
}

/// One rule: `amount` of the order to `receiver_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitRule {
    pub receiver_id: ReceiverId,
    pub amount: Amount,
    pub description: Option<String>,
}

/// An order's share rules and when they apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSplit {
    pub mode: SplitMode,
    pub rules: Vec<SplitRule>,
}

impl OrderSplit {
    /// Rules as a create gives them: 1 to `SPLIT_RULES_MAX`, each receiver once, each
    /// description within its bound. Amounts are positive by construction of `Amount` parsing.
    pub fn new(mode: SplitMode, rules: Vec<SplitRule>) -> Result<OrderSplit, SplitError> {
        if rules.len() > SPLIT_RULES_MAX {
            return Err(SplitError::TooManyReceivers {
                max: SPLIT_RULES_MAX as u32,
            });
        }
        let split = OrderSplit { mode, rules };
        check_shares(&split.shares())?;
        Ok(split)
    }

    /// The rules as the shares of a split request.
    pub fn shares(&self) -> Vec<Share> {
        self.rules
            .iter()
            .map(|r| Share {
                receiver_id: r.receiver_id.clone(),
                amount: r.amount,
            })
            .collect()
    }

    /// The rules' total.
    pub fn total(&self) -> Result<Amount, SplitError> {
        check_shares(&self.shares())
    }
}

/// The merchant split number the rules of `trade_no` are applied under: `auto-<trade_no>`.
pub fn auto_out_split_no(trade_no: &TradeNo) -> OutSplitNo {
    OutSplitNo::parse(&format!("{AUTO_SPLIT_PREFIX}{trade_no}"))
        .expect("a trade number is 32 characters or fewer of [0-9A-Za-z]")
}

/// Whether a merchant's split number is one the automatic split would use.
pub fn is_auto_out_split_no(out_split_no: &OutSplitNo) -> bool {
    out_split_no.as_str().starts_with(AUTO_SPLIT_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(id: &str, minor: i64) -> SplitRule {
        SplitRule {
            receiver_id: ReceiverId::parse(id).unwrap(),
            amount: Amount::from_minor(minor).unwrap(),
            description: None,
        }
    }

    #[test]
    fn rules_name_each_receiver_once_and_at_most_ten() {
        let ok = OrderSplit::new(SplitMode::Immediate, vec![rule("A", 100), rule("B", 250)]);
        assert_eq!(ok.unwrap().total(), Ok(Amount::from_minor(350).unwrap()));
        assert_eq!(
            OrderSplit::new(SplitMode::Immediate, vec![rule("A", 1), rule("A", 2)]),
            Err(SplitError::DuplicateReceiver(
                ReceiverId::parse("A").unwrap()
            ))
        );
        assert_eq!(
            OrderSplit::new(SplitMode::OnFinish, Vec::new()),
            Err(SplitError::NoShares)
        );
        let eleven = (0..11).map(|i| rule(&format!("R{i}"), 1)).collect();
        assert_eq!(
            OrderSplit::new(SplitMode::Immediate, eleven),
            Err(SplitError::TooManyReceivers { max: 10 })
        );
    }

    #[test]
    fn the_automatic_split_number_is_derived_from_the_order() {
        let trade_no = TradeNo::parse("P20261130012345678ABCDEFGHIJ").unwrap();
        let number = auto_out_split_no(&trade_no);
        assert_eq!(number.as_str(), "auto-P20261130012345678ABCDEFGHIJ");
        assert!(is_auto_out_split_no(&number));
        assert!(!is_auto_out_split_no(&OutSplitNo::parse("S-1").unwrap()));
        assert_eq!("on_finish".parse::<SplitMode>(), Ok(SplitMode::OnFinish));
        assert_eq!(SplitMode::default(), SplitMode::Immediate);
    }
}
