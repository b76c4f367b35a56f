//! Profit sharing (分账) and its return (分账回退), as rules without I/O: who may receive, how
//! much of a paid order may still be shared, and how a refund takes shares back.
//!
//! The invariant every rule here serves (issue #11): of an order, what was refunded plus what
//! receivers still hold never exceeds what was paid less the fee. A share is refused when it
//! would break it; a refund that would break it first takes shares back.

use crate::{Amount, AmountError};
use std::collections::BTreeSet;
use std::fmt;

/// The most characters a receiver's name and its relation to the merchant may have.
pub const RECEIVER_NAME_CHARS_MAX: usize = 128;
pub const RELATION_CHARS_MAX: usize = 64;

/// The cap on receivers per order where neither the channel nor the configuration sets one:
/// WeChat Pay's 5 (seed 002), the strictest published.
pub const RECEIVERS_MAX_DEFAULT: u32 = 5;

/// A receiver's account as the merchant registered it (WeChat's `account`, an openid or a
/// merchant number; Alipay's `trans_in`): 1–64 printable ASCII characters other than `:` (the
/// ledger's account separator), so it is also a valid ledger receiver key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReceiverId(String);

impl ReceiverId {
    pub fn parse(text: &str) -> Result<ReceiverId, SplitError> {
        let ok = (1..=64).contains(&text.len())
            && text.bytes().all(|b| b.is_ascii_graphic() && b != b':');
        if ok {
            Ok(ReceiverId(text.to_owned()))
        } else {
            Err(SplitError::BadReceiverId(text.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ReceiverId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

crate::text_enum! {
    /// What kind of party a receiver is (WeChat `PERSONAL_OPENID` / `MERCHANT_ID`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum ReceiverType, unknown(text) => SplitError::BadValue(text.to_owned()), SplitError {
        Personal = "personal",
        Business = "business",
    }
}

crate::text_enum! {
    /// How a refund takes shares back from an order's receivers.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub enum ReturnPolicy, unknown(text) => SplitError::BadValue(text.to_owned()), SplitError {
        /// Every outstanding share gives back the same fraction, to the fen; the fen a division
        /// leaves over come from the largest shares.
        #[default]
        Proportional = "proportional",
        /// The most recent shares give back first, each in full before the next.
        LatestFirst = "latest_first",
    }
}

crate::text_enum! {
    /// What a split request did.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum SplitKind, unknown(text) => SplitError::BadValue(text.to_owned()), SplitError {
        /// Gave shares to receivers.
        Share = "share",
        /// Ended the order's sharing (WeChat `unfreeze`, Alipay `settle_confirm`): no more
        /// shares; what the merchant kept is its own.
        Finish = "finish",
    }
}

/// One part of a share request: `amount` to `receiver_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    pub receiver_id: ReceiverId,
    pub amount: Amount,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    #[error("receiver_id {0:?} must be 1-64 printable ASCII characters other than ':'")]
    BadReceiverId(String),
    #[error("unknown value {0:?}")]
    BadValue(String),
    #[error("at least one receiver is required")]
    NoShares,
    #[error("receiver {0} appears twice")]
    DuplicateReceiver(ReceiverId),
    #[error("an order may share to at most {max} receivers")]
    TooManyReceivers { max: u32 },
    #[error(transparent)]
    Amount(#[from] AmountError),
}

/// What of a paid order may still be shared: paid − fee − refunded − shared and not returned,
/// never below zero. `fee` is the order's fee snapshot;
/// `refunded` counts every accepted refund, finished or not.
pub fn shareable_amount(
    paid: Amount,
    fee: Amount,
    refunded: Amount,
    shared_not_returned: Amount,
) -> Amount {
    let left = paid.minor() - fee.minor() - refunded.minor() - shared_not_returned.minor();
    Amount::from_minor(left.max(0)).unwrap_or(Amount::ZERO)
}

/// The shares of one request: at least one, each receiver once. Returns their total.
pub fn check_shares(shares: &[Share]) -> Result<Amount, SplitError> {
    if shares.is_empty() {
        return Err(SplitError::NoShares);
    }
    let mut seen = BTreeSet::new();
    let mut total = Amount::ZERO;
    for share in shares {
        if !seen.insert(&share.receiver_id) {
            return Err(SplitError::DuplicateReceiver(share.receiver_id.clone()));
        }
        total = total.checked_add(share.amount)?;
    }
    Ok(total)
}

/// Whether the receivers an order already shared to, with `shares` added, stay within `max`.
pub fn check_receiver_count(
    already: &BTreeSet<ReceiverId>,
    shares: &[Share],
    max: u32,
) -> Result<(), SplitError> {
    let mut all = already.clone();
    all.extend(shares.iter().map(|s| s.receiver_id.clone()));
    if all.len() > max as usize {
        return Err(SplitError::TooManyReceivers { max });
    }
    Ok(())
}

/// What a refund must take back from the receivers before it is accepted, so that refunded +
/// shared-not-returned stays within paid − fee: `refunded_after` counts this refund. Never more
/// than is outstanding.
pub fn return_needed(
    paid: Amount,
    fee: Amount,
    refunded_after: Amount,
    shared_not_returned: Amount,
) -> Amount {
    let over = refunded_after.minor() + shared_not_returned.minor() - (paid.minor() - fee.minor());
    let needed = over.clamp(0, shared_not_returned.minor());
    Amount::from_minor(needed).unwrap_or(Amount::ZERO)
}

/// A share still (partly) held by its receiver: `seq` orders shares by when they were made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outstanding<K> {
    pub key: K,
    pub seq: i64,
    pub remaining: Amount,
}

/// Splits `needed` over `outstanding` by `policy`: the parts sum to `needed` (or to everything
/// outstanding, if less), none exceeds its share's remainder, zero parts are left out.
pub fn allocate_return<K: Clone>(
    outstanding: &[Outstanding<K>],
    needed: Amount,
    policy: ReturnPolicy,
) -> Vec<(K, Amount)> {
    let total: i64 = outstanding.iter().map(|o| o.remaining.minor()).sum();
    let needed = needed.minor().min(total);
    if needed <= 0 {
        return Vec::new();
    }
    let mut parts: Vec<i64> = vec![0; outstanding.len()];
    match policy {
        ReturnPolicy::LatestFirst => {
            let mut order: Vec<usize> = (0..outstanding.len()).collect();
            order.sort_by_key(|&i| std::cmp::Reverse(outstanding[i].seq));
            let mut left = needed;
            for i in order {
                let take = left.min(outstanding[i].remaining.minor());
                parts[i] = take;
                left -= take;
            }
        }
        ReturnPolicy::Proportional => {
            for (part, o) in parts.iter_mut().zip(outstanding) {
                // Floors, so the parts never sum to more than `needed`; i128 keeps the product
                // exact for any amount.
                *part = (i128::from(needed) * i128::from(o.remaining.minor()) / i128::from(total))
                    as i64;
            }
            let mut left = needed - parts.iter().sum::<i64>();
            let mut largest: Vec<usize> = (0..outstanding.len()).collect();
            largest.sort_by_key(|&i| (std::cmp::Reverse(outstanding[i].remaining), i));
            while left > 0 {
                for &i in &largest {
                    if left == 0 {
                        break;
                    }
                    if parts[i] < outstanding[i].remaining.minor() {
                        parts[i] += 1;
                        left -= 1;
                    }
                }
            }
        }
    }
    outstanding
        .iter()
        .zip(parts)
        .filter(|(_, part)| *part > 0)
        .map(|(o, part)| {
            let amount = Amount::from_minor(part).expect("a part is within its share");
            (o.key.clone(), amount)
        })
        .collect()
}

// Fen are written with the separator where the decimal point would be (`100_00` is 100.00
// yuan), which reads as money; clippy's digit grouping would hide that.
#[cfg(test)]
#[allow(clippy::inconsistent_digit_grouping)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fen(minor: i64) -> Amount {
        Amount::from_minor(minor).unwrap()
    }

    fn receiver(text: &str) -> ReceiverId {
        ReceiverId::parse(text).unwrap()
    }

    fn outstanding(remaining: &[i64]) -> Vec<Outstanding<usize>> {
        remaining
            .iter()
            .enumerate()
            .map(|(i, r)| Outstanding {
                key: i,
                seq: i as i64,
                remaining: fen(*r),
            })
            .collect()
    }

    #[test]
    fn receiver_ids_are_one_to_sixty_four_characters_without_colons() {
        assert!(ReceiverId::parse("openid-o7x_9").is_ok());
        assert!(ReceiverId::parse(&"x".repeat(64)).is_ok());
        assert!(ReceiverId::parse(&"x".repeat(65)).is_err());
        assert!(ReceiverId::parse("").is_err());
        assert!(ReceiverId::parse("a:b").is_err());
        assert!(ReceiverId::parse("a\nb").is_err());
        assert!(ReceiverId::parse("a b").is_err());
        assert!(ReceiverId::parse("分账").is_err());
    }

    #[test]
    fn seed_002s_example_shares_twenty_of_a_hundred() {
        let paid = fen(100_00);
        assert_eq!(
            shareable_amount(paid, Amount::ZERO, Amount::ZERO, Amount::ZERO),
            paid
        );
        assert_eq!(
            shareable_amount(paid, Amount::ZERO, Amount::ZERO, fen(20_00)),
            fen(80_00)
        );
        // A full refund takes C's 20.00 back; a refund of 50.00 takes nothing.
        assert_eq!(
            return_needed(paid, Amount::ZERO, paid, fen(20_00)),
            fen(20_00)
        );
        assert_eq!(
            return_needed(paid, Amount::ZERO, fen(50_00), fen(20_00)),
            Amount::ZERO
        );
        assert_eq!(
            return_needed(paid, fen(60), fen(80_00), fen(20_00)),
            fen(60)
        );
    }

    #[test]
    fn the_fee_and_refunds_shrink_what_may_be_shared() {
        assert_eq!(
            shareable_amount(fen(100_00), fen(60), fen(30_00), fen(20_00)),
            fen(49_40)
        );
        assert_eq!(
            shareable_amount(fen(100_00), fen(60), fen(90_00), fen(20_00)),
            Amount::ZERO
        );
    }

    #[test]
    fn shares_name_each_receiver_once() {
        let share = |r: &str, minor| Share {
            receiver_id: receiver(r),
            amount: fen(minor),
        };
        assert_eq!(check_shares(&[]), Err(SplitError::NoShares));
        assert_eq!(
            check_shares(&[share("A", 1), share("A", 2)]),
            Err(SplitError::DuplicateReceiver(receiver("A")))
        );
        assert_eq!(check_shares(&[share("A", 1), share("B", 2)]), Ok(fen(3)));
        let already: BTreeSet<_> = ["A", "B", "C", "D"].map(receiver).into();
        assert!(check_receiver_count(&already, &[share("A", 1), share("E", 1)], 5).is_ok());
        assert_eq!(
            check_receiver_count(&already, &[share("E", 1), share("F", 1)], 5),
            Err(SplitError::TooManyReceivers { max: 5 })
        );
    }

    #[test]
    fn proportional_returns_are_exact_to_the_fen_with_the_remainder_from_the_largest() {
        let parts = allocate_return(
            &outstanding(&[20_00, 10_00]),
            fen(1_00),
            ReturnPolicy::Proportional,
        );
        assert_eq!(parts, vec![(0, fen(67)), (1, fen(33))]);
        let parts = allocate_return(&outstanding(&[1, 1, 1]), fen(2), ReturnPolicy::Proportional);
        assert_eq!(parts, vec![(0, fen(1)), (1, fen(1))]);
    }

    #[test]
    fn latest_first_returns_take_the_newest_share_whole_first() {
        let parts = allocate_return(
            &outstanding(&[20_00, 10_00]),
            fen(15_00),
            ReturnPolicy::LatestFirst,
        );
        assert_eq!(parts, vec![(0, fen(5_00)), (1, fen(10_00))]);
    }

    proptest! {
        #[test]
        fn a_return_allocation_sums_to_what_is_needed_and_fits_every_share(
            remaining in proptest::collection::vec(1i64..1_000_000, 1..8),
            needed in 0i64..10_000_000,
            latest in any::<bool>(),
        ) {
            let policy = if latest { ReturnPolicy::LatestFirst } else { ReturnPolicy::Proportional };
            let shares = outstanding(&remaining);
            let total: i64 = remaining.iter().sum();
            let parts = allocate_return(&shares, fen(needed), policy);
            let sum: i64 = parts.iter().map(|(_, a)| a.minor()).sum();
            prop_assert_eq!(sum, needed.min(total));
            for (i, amount) in &parts {
                prop_assert!(amount.minor() > 0 && amount.minor() <= remaining[*i]);
            }
        }

        #[test]
        fn sharing_then_refunding_never_lets_refunded_plus_shared_exceed_paid_less_fee(
            paid in 1i64..1_000_000,
            fee_ppm in 0i64..10_000,
            shared_part in 0.0f64..1.0,
            refund_part in 0.0f64..1.0,
        ) {
            let fee = paid * fee_ppm / 1_000_000;
            let shareable = shareable_amount(fen(paid), fen(fee), Amount::ZERO, Amount::ZERO);
            let shared = (shareable.minor() as f64 * shared_part) as i64;
            let refunded = (paid as f64 * refund_part) as i64;
            let back = return_needed(fen(paid), fen(fee), fen(refunded), fen(shared));
            prop_assert!(back.minor() <= shared);
            prop_assert!(refunded + shared - back.minor() <= (paid - fee).max(refunded));
        }
    }
}
