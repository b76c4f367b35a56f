//! Fees and what a refund gives back of them (DESIGN §8, seed 002 §4). Integer minor units only:
//! a rate is parts per million, and every product is rounded half-up to the minor unit once.

use crate::merchant_money::{FeeBearer, SettlementMode};
use crate::{Amount, PayType};

/// Parts per million in 100%.
const PPM: i128 = 1_000_000;

/// What part of its fee a channel gives back when a payment is refunded (seed 002 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeeRefund {
    /// The fee is kept whatever is refunded.
    None,
    /// `refund × rate`, rounded half-up to the fen.
    Proportional,
    /// As `Proportional`, but nothing is returned below this many fen.
    ProportionalAboveMinimum { minimum_fen: i64 },
    /// The whole fee, once the order is fully refunded.
    WholeOnFullRefund,
    /// The percentage part only, never the fixed part.
    PercentageOnly,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FeeError {
    #[error("a fee rate must be 0 to 100000 parts per million (0% to 10%)")]
    RateOutOfRange,
    #[error("a refund must be more than zero")]
    RefundNotPositive,
    #[error("the refund is larger than what is left to refund of the payment")]
    RefundExceedsRemaining,
    #[error("the refund history exceeds the payment or its returnable fee")]
    InconsistentHistory,
}

/// A fee rate in parts per million (6000 = 0.6%).
///
/// At most 10%: channels charge 0.2%–1% and platforms a little more (seed 001: 0.3%–0.6%), so
/// anything above 10% is a rate typed in the wrong unit (6000 meant as ‱ or percent) and would
/// take a large share of every payment before anyone noticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FeeRate(u32);

impl FeeRate {
    pub const PPM_MAX: u32 = 100_000;
    pub const ZERO: FeeRate = FeeRate(0);

    pub fn from_ppm(ppm: u32) -> Result<FeeRate, FeeError> {
        if ppm > Self::PPM_MAX {
            return Err(FeeError::RateOutOfRange);
        }
        Ok(FeeRate(ppm))
    }

    pub fn ppm(self) -> u32 {
        self.0
    }

    /// `amount × rate`, rounded half-up to the minor unit (0.0045 → 0.00, 0.015 → 0.02). The
    /// product is taken in `i128`, so no amount up to `Amount::MAX_MINOR` can overflow it, and the
    /// result is at most a tenth of `amount`, hence a valid `Amount`.
    pub fn apply(self, amount: Amount) -> Amount {
        let product = i128::from(amount.minor()) * i128::from(self.0);
        let rounded = (product + PPM / 2) / PPM;
        let minor = i64::try_from(rounded).expect("a tenth of an amount fits in i64");
        Amount::from_minor(minor).expect("a tenth of an amount is a valid amount")
    }
}

/// A merchant's or channel's fee for one product: a rate and an optional fixed part per payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeSchedule {
    pub rate: FeeRate,
    pub fixed: Amount,
}

impl FeeSchedule {
    /// The percentage part of the fee on `amount`, without the fixed part.
    pub fn percentage_part(&self, amount: Amount) -> Amount {
        self.rate.apply(amount)
    }

    /// `amount × rate` (half-up) plus the fixed part, but never more than `amount`: a fixed part
    /// larger than a tiny payment would leave the merchant owing money on a sale, and no channel
    /// can withhold more than it collected, so the fee of such a payment is the payment itself.
    pub fn fee_for(&self, amount: Amount) -> Amount {
        let fee = self
            .percentage_part(amount)
            .minor()
            .saturating_add(self.fixed.minor());
        Amount::from_minor(fee.min(amount.minor())).expect("bounded by the amount")
    }
}

/// A payment as its fee was snapshotted when it succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaidWithFee {
    pub paid: Amount,
    /// The fee charged on `paid` (`FeeSchedule::fee_for` at payment time).
    pub fee: Amount,
}

/// What earlier refunds of the same payment have taken so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefundedSoFar {
    pub refunded: Amount,
    pub fee_returned: Amount,
}

impl RefundedSoFar {
    /// Before the first refund.
    pub const NOTHING: RefundedSoFar = RefundedSoFar {
        refunded: Amount::ZERO,
        fee_returned: Amount::ZERO,
    };
}

/// The most a rule ever returns of a payment's fee over all its refunds: the whole fee for
/// `WholeOnFullRefund`, the percentage part of `paid` (never above the snapshotted fee) for the
/// proportional rules and `PercentageOnly`, nothing for `None`. A proportional rule never returns
/// a fixed part: seed 002's proportional channels charge none, and nothing says one comes back.
pub fn returnable_fee(rule: FeeRefund, schedule: &FeeSchedule, payment: PaidWithFee) -> Amount {
    match rule {
        FeeRefund::None => Amount::ZERO,
        FeeRefund::WholeOnFullRefund => payment.fee,
        FeeRefund::Proportional
        | FeeRefund::ProportionalAboveMinimum { .. }
        | FeeRefund::PercentageOnly => schedule.percentage_part(payment.paid).min(payment.fee),
    }
}

/// The fee returned with a refund of `refund` under `rule`, the rate being the one of
/// `schedule`, the schedule in force when the payment was made.
///
/// Rounding residue is settled on the refund that completes the payment: it returns exactly what
/// is still returnable (`returnable_fee` minus what earlier refunds returned), so half-ups over
/// several partial refunds never leave a fen behind; before that, each refund's half-up share is
/// capped at what is still returnable, so they never overdraw either. Under
/// `ProportionalAboveMinimum` the minimum applies to the refund's own computed share: below it
/// nothing comes back, even on the completing refund (seed 002: CMB's two half refunds each under
/// the smallest unit return nothing at all).
pub fn fee_refund(
    rule: FeeRefund,
    schedule: &FeeSchedule,
    payment: PaidWithFee,
    before: RefundedSoFar,
    refund: Amount,
) -> Result<Amount, FeeError> {
    if refund.is_zero() {
        return Err(FeeError::RefundNotPositive);
    }
    let returnable = returnable_fee(rule, schedule, payment);
    let refundable = payment
        .paid
        .checked_sub(before.refunded)
        .map_err(|_| FeeError::InconsistentHistory)?;
    let fee_left = returnable
        .checked_sub(before.fee_returned)
        .map_err(|_| FeeError::InconsistentHistory)?;
    if refund > refundable {
        return Err(FeeError::RefundExceedsRemaining);
    }
    let completes = refund == refundable;
    let share = schedule.percentage_part(refund);
    let returned = match rule {
        FeeRefund::None => Amount::ZERO,
        FeeRefund::WholeOnFullRefund if completes => fee_left,
        FeeRefund::WholeOnFullRefund => Amount::ZERO,
        FeeRefund::ProportionalAboveMinimum { minimum_fen } if share.minor() < minimum_fen => {
            Amount::ZERO
        }
        FeeRefund::Proportional
        | FeeRefund::ProportionalAboveMinimum { .. }
        | FeeRefund::PercentageOnly => {
            if completes {
                fee_left
            } else {
                share.min(fee_left)
            }
        }
    };
    debug_assert!(returned <= fee_left);
    Ok(returned)
}

/// A payment's fees as snapshotted when it succeeded: what the merchant was charged and what the
/// channel kept, with the rates they came from, so later refunds and changed schedules never
/// recompute them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeSnapshot {
    /// The channel product the fee was charged for.
    pub pay_type: PayType,
    pub mode: SettlementMode,
    /// The merchant's schedule for `pay_type`.
    pub merchant: FeeSchedule,
    /// The rate the channel applies: its cost rate in `platform` mode, the merchant's own rate
    /// in `direct` mode (the channel charges the merchant directly).
    pub channel_rate: FeeRate,
    pub fee: Amount,
    pub channel_fee: Amount,
}

impl FeeSnapshot {
    /// The fees of a payment of `paid`. In `direct` mode the channel withholds the merchant's
    /// fee itself, so the channel's fee is the merchant's; in `platform` mode the channel
    /// charges the platform its cost rate (no fixed part) and the merchant pays the platform.
    pub fn at_payment(
        pay_type: PayType,
        mode: SettlementMode,
        merchant: FeeSchedule,
        channel_cost: FeeRate,
        paid: Amount,
    ) -> FeeSnapshot {
        let fee = merchant.fee_for(paid);
        let (channel_rate, channel_fee) = match mode {
            SettlementMode::Direct => (merchant.rate, fee),
            SettlementMode::Platform => {
                let channel = FeeSchedule {
                    rate: channel_cost,
                    fixed: Amount::ZERO,
                };
                (channel_cost, channel.fee_for(paid))
            }
        };
        FeeSnapshot {
            pay_type,
            mode,
            merchant,
            channel_rate,
            fee,
            channel_fee,
        }
    }

    /// The schedule the channel charged by.
    pub fn channel_schedule(&self) -> FeeSchedule {
        match self.mode {
            SettlementMode::Direct => self.merchant,
            SettlementMode::Platform => FeeSchedule {
                rate: self.channel_rate,
                fixed: Amount::ZERO,
            },
        }
    }
}

/// What earlier refunds of a payment have taken, on both sides of its fee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeesRefundedSoFar {
    pub refunded: Amount,
    pub fee_returned: Amount,
    pub channel_fee_returned: Amount,
}

/// The fees one refund gives back: to the merchant, and by the channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeesReturned {
    pub fee: Amount,
    pub channel_fee: Amount,
}

/// The fees returned with a refund of `refund` of the payment `paid` whose fees are `snapshot`.
/// The channel returns its fee by its own `rule`. The merchant gets its fee back by the same
/// rule when it bears what the channel keeps (and always in `direct` mode, where the platform
/// is not in the money's path); when the platform bears it, the merchant gets `Proportional`
/// back and the platform absorbs the difference.
pub fn refund_fees(
    snapshot: &FeeSnapshot,
    rule: FeeRefund,
    bearer: FeeBearer,
    paid: Amount,
    before: FeesRefundedSoFar,
    refund: Amount,
) -> Result<FeesReturned, FeeError> {
    let channel_fee = fee_refund(
        rule,
        &snapshot.channel_schedule(),
        PaidWithFee {
            paid,
            fee: snapshot.channel_fee,
        },
        RefundedSoFar {
            refunded: before.refunded,
            fee_returned: before.channel_fee_returned,
        },
        refund,
    )?;
    let merchant_rule = match (snapshot.mode, bearer) {
        (SettlementMode::Platform, FeeBearer::Platform) => FeeRefund::Proportional,
        _ => rule,
    };
    let fee = fee_refund(
        merchant_rule,
        &snapshot.merchant,
        PaidWithFee {
            paid,
            fee: snapshot.fee,
        },
        RefundedSoFar {
            refunded: before.refunded,
            fee_returned: before.fee_returned,
        },
        refund,
    )?;
    Ok(FeesReturned { fee, channel_fee })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fen(minor: i64) -> Amount {
        Amount::from_minor(minor).unwrap()
    }

    fn schedule(ppm: u32, fixed: i64) -> FeeSchedule {
        FeeSchedule {
            rate: FeeRate::from_ppm(ppm).unwrap(),
            fixed: fen(fixed),
        }
    }

    #[test]
    fn a_rate_above_ten_percent_is_refused() {
        assert_eq!(FeeRate::from_ppm(100_000).unwrap().ppm(), 100_000);
        assert_eq!(FeeRate::from_ppm(100_001), Err(FeeError::RateOutOfRange));
    }

    #[test]
    fn a_fee_rounds_half_up_to_the_fen_and_adds_the_fixed_part() {
        let s = schedule(6_000, 0);
        assert_eq!(s.fee_for(fen(75)), fen(0)); // 0.45 fen
        assert_eq!(s.fee_for(fen(250)), fen(2)); // 1.5 fen
        assert_eq!(s.fee_for(fen(10_000)), fen(60));
        // PayPal-like: 3.4% + 2.00.
        assert_eq!(schedule(34_000, 200).fee_for(fen(10_000)), fen(540));
    }

    #[test]
    fn a_fee_never_exceeds_the_payment() {
        assert_eq!(schedule(34_000, 200).fee_for(fen(150)), fen(150));
        assert_eq!(schedule(0, 0).fee_for(fen(1)), fen(0));
    }

    #[test]
    fn the_largest_amount_at_the_largest_rate_does_not_overflow() {
        let max = fen(Amount::MAX_MINOR);
        assert_eq!(
            schedule(100_000, 0).fee_for(max).minor(),
            Amount::MAX_MINOR / 10
        );
    }

    #[test]
    fn a_refund_beyond_what_is_left_is_refused() {
        let s = schedule(6_000, 0);
        let payment = PaidWithFee {
            paid: fen(1_000),
            fee: fen(6),
        };
        let before = RefundedSoFar {
            refunded: fen(600),
            fee_returned: fen(4),
        };
        let rule = FeeRefund::Proportional;
        assert_eq!(
            fee_refund(rule, &s, payment, before, fen(401)),
            Err(FeeError::RefundExceedsRemaining)
        );
        assert_eq!(fee_refund(rule, &s, payment, before, fen(400)), Ok(fen(2)));
        assert_eq!(
            fee_refund(rule, &s, payment, before, Amount::ZERO),
            Err(FeeError::RefundNotPositive)
        );
        let overdrawn = RefundedSoFar {
            refunded: fen(600),
            fee_returned: fen(7),
        };
        assert_eq!(
            fee_refund(rule, &s, payment, overdrawn, fen(1)),
            Err(FeeError::InconsistentHistory)
        );
    }

    #[test]
    fn partial_half_ups_are_capped_and_the_last_refund_settles_the_residue() {
        // 0.6% of 2.52 is 1.512 → 2 fen; three refunds of 0.84 each round 0.504 up to 1 fen.
        let s = schedule(6_000, 0);
        let payment = PaidWithFee {
            paid: fen(252),
            fee: s.fee_for(fen(252)),
        };
        let mut before = RefundedSoFar::NOTHING;
        let mut returned = Vec::new();
        for _ in 0..3 {
            let fee = fee_refund(FeeRefund::Proportional, &s, payment, before, fen(84)).unwrap();
            returned.push(fee.minor());
            before.refunded = before.refunded.checked_add(fen(84)).unwrap();
            before.fee_returned = before.fee_returned.checked_add(fee).unwrap();
        }
        assert_eq!(returned, [1, 1, 0]);
    }

    #[test]
    fn the_whole_fee_fixed_part_included_comes_back_only_with_the_completing_refund() {
        let s = schedule(34_000, 200);
        let payment = PaidWithFee {
            paid: fen(10_000),
            fee: s.fee_for(fen(10_000)),
        };
        let rule = FeeRefund::WholeOnFullRefund;
        let first = fee_refund(rule, &s, payment, RefundedSoFar::NOTHING, fen(5_000));
        assert_eq!(first, Ok(Amount::ZERO));
        let before = RefundedSoFar {
            refunded: fen(5_000),
            fee_returned: Amount::ZERO,
        };
        assert_eq!(
            fee_refund(rule, &s, payment, before, fen(5_000)),
            Ok(fen(540))
        );
    }

    const RULES: [FeeRefund; 5] = [
        FeeRefund::None,
        FeeRefund::Proportional,
        FeeRefund::ProportionalAboveMinimum { minimum_fen: 8 },
        FeeRefund::WholeOnFullRefund,
        FeeRefund::PercentageOnly,
    ];

    /// Splits `paid` into refunds at the given fractions (per mille of what is left each time),
    /// always ending with one that completes the payment.
    fn refunds(paid: i64, cuts: &[u16]) -> Vec<i64> {
        let mut left = paid;
        let mut out = Vec::new();
        for &cut in cuts {
            let part = left * i64::from(cut) / 1_000;
            if part > 0 && part < left {
                out.push(part);
                left -= part;
            }
        }
        out.push(left);
        out
    }

    proptest! {
        #[test]
        fn refunding_everything_returns_exactly_the_returnable_fee_and_never_more_on_the_way(
            ppm in 0u32..=100_000,
            fixed in 0i64..1_000,
            paid in 1i64..10_000_000,
            cuts in proptest::collection::vec(1u16..1_000, 0..8),
            rule_index in 0usize..RULES.len(),
        ) {
            let rule = RULES[rule_index];
            let s = schedule(ppm, fixed);
            let payment = PaidWithFee { paid: fen(paid), fee: s.fee_for(fen(paid)) };
            let returnable = returnable_fee(rule, &s, payment);
            prop_assert!(returnable <= payment.fee);
            let mut before = RefundedSoFar::NOTHING;
            for part in refunds(paid, &cuts) {
                let fee = fee_refund(rule, &s, payment, before, fen(part)).unwrap();
                before.refunded = before.refunded.checked_add(fen(part)).unwrap();
                before.fee_returned = before.fee_returned.checked_add(fee).unwrap();
                prop_assert!(before.fee_returned <= returnable);
            }
            prop_assert_eq!(before.refunded, payment.paid);
            match rule {
                FeeRefund::None => prop_assert_eq!(before.fee_returned, Amount::ZERO),
                FeeRefund::Proportional | FeeRefund::PercentageOnly => prop_assert_eq!(
                    before.fee_returned,
                    s.percentage_part(payment.paid).min(payment.fee)
                ),
                FeeRefund::WholeOnFullRefund => {
                    prop_assert_eq!(before.fee_returned, payment.fee)
                }
                FeeRefund::ProportionalAboveMinimum { .. } => {}
            }
        }

        #[test]
        fn any_partial_sequence_stays_within_the_returnable_fee(
            ppm in 0u32..=100_000,
            fixed in 0i64..1_000,
            paid in 1i64..10_000_000,
            parts in proptest::collection::vec(1i64..5_000_000, 1..10),
            rule_index in 0usize..RULES.len(),
        ) {
            let rule = RULES[rule_index];
            let s = schedule(ppm, fixed);
            let payment = PaidWithFee { paid: fen(paid), fee: s.fee_for(fen(paid)) };
            let returnable = returnable_fee(rule, &s, payment);
            let mut before = RefundedSoFar::NOTHING;
            for part in parts {
                match fee_refund(rule, &s, payment, before, fen(part)) {
                    Ok(fee) => {
                        before.refunded = before.refunded.checked_add(fen(part)).unwrap();
                        before.fee_returned = before.fee_returned.checked_add(fee).unwrap();
                    }
                    Err(error) => {
                        prop_assert_eq!(error, FeeError::RefundExceedsRemaining);
                        prop_assert!(before.refunded.minor() + part > paid);
                    }
                }
                prop_assert!(before.fee_returned <= returnable);
                prop_assert!(before.refunded <= payment.paid);
            }
        }
    }

    fn paid_then_refunded(
        snapshot: &FeeSnapshot,
        rule: FeeRefund,
        bearer: FeeBearer,
        paid: i64,
        parts: &[i64],
    ) -> Vec<(i64, i64)> {
        let mut before = FeesRefundedSoFar {
            refunded: Amount::ZERO,
            fee_returned: Amount::ZERO,
            channel_fee_returned: Amount::ZERO,
        };
        let mut out = Vec::new();
        for &part in parts {
            let back = refund_fees(snapshot, rule, bearer, fen(paid), before, fen(part)).unwrap();
            before.refunded = before.refunded.checked_add(fen(part)).unwrap();
            before.fee_returned = before.fee_returned.checked_add(back.fee).unwrap();
            before.channel_fee_returned = before
                .channel_fee_returned
                .checked_add(back.channel_fee)
                .unwrap();
            out.push((back.fee.minor(), back.channel_fee.minor()));
        }
        out
    }

    #[test]
    fn in_direct_mode_the_channel_fee_is_the_merchant_fee() {
        let snapshot = FeeSnapshot::at_payment(
            PayType::WechatNative,
            SettlementMode::Direct,
            schedule(6_000, 0),
            FeeRate::from_ppm(2_000).unwrap(),
            fen(10_000),
        );
        assert_eq!((snapshot.fee, snapshot.channel_fee), (fen(60), fen(60)));
        assert_eq!(snapshot.channel_rate.ppm(), 6_000);
        let back = paid_then_refunded(
            &snapshot,
            FeeRefund::Proportional,
            FeeBearer::Platform,
            10_000,
            &[3_000, 7_000],
        );
        assert_eq!(back, [(18, 18), (42, 42)]);
    }

    #[test]
    fn in_platform_mode_the_bearer_decides_what_the_merchant_gets_back() {
        let snapshot = FeeSnapshot::at_payment(
            PayType::AlipayNative,
            SettlementMode::Platform,
            schedule(6_000, 0),
            FeeRate::from_ppm(5_000).unwrap(),
            fen(10_000),
        );
        assert_eq!((snapshot.fee, snapshot.channel_fee), (fen(60), fen(50)));
        let merchant_bears = paid_then_refunded(
            &snapshot,
            FeeRefund::None,
            FeeBearer::Merchant,
            10_000,
            &[4_000],
        );
        assert_eq!(merchant_bears, [(0, 0)]);
        let platform_bears = paid_then_refunded(
            &snapshot,
            FeeRefund::None,
            FeeBearer::Platform,
            10_000,
            &[4_000, 6_000],
        );
        assert_eq!(platform_bears, [(24, 0), (36, 0)]);
    }
}
