//! The double-entry ledger's vocabulary (DESIGN §8): accounts, transfers between two of them,
//! and postings that group the transfers of one business event. Every transfer moves one
//! positive amount from a debit to a credit, so a posting balances by construction and all
//! accounts of a currency always sum to zero. The store appends postings in the transaction of
//! the state change they belong to; nothing here does I/O.

use crate::{Amount, Currency, MerchantId};
use std::fmt;
use std::str::FromStr;

/// A short lowercase name of a channel or payout rail as the ledger keys it (`wechat`,
/// `alipay`, `unionpay`, `wallet`, `bank`): ASCII lowercase letters, digits and `_`, 1–32.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LedgerName(String);

impl LedgerName {
    pub fn parse(text: &str) -> Result<LedgerName, LedgerError> {
        let ok = (1..=32).contains(&text.len())
            && text
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !ok {
            return Err(LedgerError::BadName(text.to_owned()));
        }
        Ok(LedgerName(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LedgerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which side increases an account's balance as it is shown: what we owe others (merchants,
/// receivers) and what we earn are credit-normal; what others owe us and what we spend are
/// debit-normal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Normal {
    Debit,
    Credit,
}

/// One account of the ledger. Merchant and receiver accounts are liabilities that must never go
/// negative; the house accounts (platform, channel, rail, the merchant's outside account) carry
/// whatever sign the flows give them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Account {
    /// Paid to the merchant, not yet settled (未结算).
    MerchantPending(MerchantId),
    /// Settled and free to pay out or withdraw (可用).
    MerchantAvailable(MerchantId),
    /// Held for payouts and refunds in flight (冻结).
    MerchantReserved(MerchantId),
    /// The merchant's own account outside Paygate (its bank card, or its channel account in
    /// `direct` mode): where withdrawals and direct settlements land.
    MerchantExternal(MerchantId),
    /// What a merchant's profit-sharing receiver has been given (分账接收方).
    Receiver(MerchantId, String),
    /// The platform's fee income.
    PlatformFeeIncome,
    /// What a channel charged the platform.
    ChannelFeeExpense(LedgerName),
    /// What a channel owes the platform: payments collected less what it kept or paid back.
    ChannelClearing(LedgerName),
    /// Money sent out through a payout rail (bank card, wallet); a return comes back through it.
    PayoutRail(LedgerName),
}

impl Account {
    pub fn normal(&self) -> Normal {
        match self {
            Account::MerchantPending(_)
            | Account::MerchantAvailable(_)
            | Account::MerchantReserved(_)
            | Account::Receiver(..)
            | Account::PlatformFeeIncome => Normal::Credit,
            Account::MerchantExternal(_)
            | Account::ChannelFeeExpense(_)
            | Account::ChannelClearing(_)
            | Account::PayoutRail(_) => Normal::Debit,
        }
    }

    /// Whether the balance must stay at or above zero: what we owe a merchant or a receiver.
    pub fn must_not_go_negative(&self) -> bool {
        matches!(
            self,
            Account::MerchantPending(_)
                | Account::MerchantAvailable(_)
                | Account::MerchantReserved(_)
                | Account::Receiver(..)
        )
    }

    /// The merchant the account belongs to, if any.
    pub fn merchant(&self) -> Option<&MerchantId> {
        match self {
            Account::MerchantPending(m)
            | Account::MerchantAvailable(m)
            | Account::MerchantReserved(m)
            | Account::MerchantExternal(m)
            | Account::Receiver(m, _) => Some(m),
            _ => None,
        }
    }

    /// The key range `[from, to)` of every merchant's own accounts (`:` and `;` are neighbours,
    /// and ids hold no `:`).
    pub const MERCHANTS_KEY_RANGE: (&'static str, &'static str) = ("merchant:", "merchant;");

    /// The balance as shown, from the account's debit and credit totals.
    pub fn balance(&self, debits: i64, credits: i64) -> i64 {
        match self.normal() {
            Normal::Debit => debits - credits,
            Normal::Credit => credits - debits,
        }
    }
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Account::MerchantPending(m) => write!(f, "merchant:{m}:pending"),
            Account::MerchantAvailable(m) => write!(f, "merchant:{m}:available"),
            Account::MerchantReserved(m) => write!(f, "merchant:{m}:reserved"),
            Account::MerchantExternal(m) => write!(f, "merchant:{m}:external"),
            Account::Receiver(m, r) => write!(f, "receiver:{m}:{r}"),
            Account::PlatformFeeIncome => f.write_str("platform:fee_income"),
            Account::ChannelFeeExpense(c) => write!(f, "channel:{c}:fee_expense"),
            Account::ChannelClearing(c) => write!(f, "channel:{c}:clearing"),
            Account::PayoutRail(r) => write!(f, "rail:{r}"),
        }
    }
}

/// A receiver's account number as the merchant registered it: 1–64 characters without `:`.
fn receiver_key(text: &str) -> Result<String, LedgerError> {
    if text.is_empty()
        || text.len() > 64
        || text.contains(':')
        || text.chars().any(char::is_control)
    {
        return Err(LedgerError::BadAccount(text.to_owned()));
    }
    Ok(text.to_owned())
}

impl Account {
    pub fn receiver(merchant: MerchantId, receiver: &str) -> Result<Account, LedgerError> {
        Ok(Account::Receiver(merchant, receiver_key(receiver)?))
    }
}

impl FromStr for Account {
    type Err = LedgerError;

    fn from_str(text: &str) -> Result<Account, LedgerError> {
        let bad = || LedgerError::BadAccount(text.to_owned());
        let merchant = |id: &str| MerchantId::parse(id).map_err(|_| bad());
        let name = |n: &str| LedgerName::parse(n).map_err(|_| bad());
        let parts: Vec<&str> = text.splitn(3, ':').collect();
        match parts.as_slice() {
            ["merchant", m, "pending"] => Ok(Account::MerchantPending(merchant(m)?)),
            ["merchant", m, "available"] => Ok(Account::MerchantAvailable(merchant(m)?)),
            ["merchant", m, "reserved"] => Ok(Account::MerchantReserved(merchant(m)?)),
            ["merchant", m, "external"] => Ok(Account::MerchantExternal(merchant(m)?)),
            ["receiver", m, r] => Ok(Account::Receiver(merchant(m)?, receiver_key(r)?)),
            ["platform", "fee_income"] => Ok(Account::PlatformFeeIncome),
            ["channel", c, "fee_expense"] => Ok(Account::ChannelFeeExpense(name(c)?)),
            ["channel", c, "clearing"] => Ok(Account::ChannelClearing(name(c)?)),
            ["rail", r] => Ok(Account::PayoutRail(name(r)?)),
            _ => Err(bad()),
        }
    }
}

crate::text_enum! {
    /// What a transfer records; a statement line shows it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum EntryKind, unknown(text) => LedgerError::BadKind(text.to_owned()), LedgerError {
        /// A payer's payment: the channel owes it, the merchant is owed it.
        Payment = "payment",
        /// The merchant's fee on a payment.
        Fee = "fee",
        /// What the channel kept of a payment as its fee.
        ChannelFee = "channel_fee",
        /// A refund's amount set aside from the merchant's balances when it is accepted.
        RefundHold = "refund_hold",
        /// A failed refund's hold given back.
        RefundRelease = "refund_release",
        /// A refund paid back to the payer through the channel.
        Refund = "refund",
        /// The merchant's fee given back with a refund.
        FeeRefund = "fee_refund",
        /// The channel's fee given back with a refund.
        ChannelFeeRefund = "channel_fee_refund",
        /// A part of a payment given to a profit-sharing receiver (分账).
        ProfitShare = "profit_share",
        /// A share taken back from its receiver (分账回退).
        ShareReturn = "share_return",
        /// A payout's amount and fee set aside when it is accepted.
        PayoutHold = "payout_hold",
        /// A payout sent out through its rail.
        Payout = "payout",
        /// The fee of a payout.
        PayoutFee = "payout_fee",
        /// A failed payout's hold given back.
        PayoutRelease = "payout_release",
        /// A payout the bank sent back after it had succeeded.
        PayoutReturned = "payout_returned",
        /// Unsettled money made available (T+N or on request).
        Settlement = "settlement",
        /// Settled money sent to the merchant's own account.
        Withdrawal = "withdrawal",
    }
}

/// One movement of `amount` from `debit` to `credit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transfer {
    pub kind: EntryKind,
    pub debit: Account,
    pub credit: Account,
    pub amount: Amount,
}

/// The transfers of one business event, in one currency, named by what they belong to (a trade
/// number, a refund number, a payout number...). A reference posts each kind once: the store
/// refuses a second posting of the same `(kind, reference)`, so a replayed event cannot count
/// twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    pub kind: PostingKind,
    pub reference: String,
    pub currency: Currency,
    transfers: Vec<Transfer>,
}

crate::text_enum! {
    /// The business event a posting records.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum PostingKind, unknown(text) => LedgerError::BadKind(text.to_owned()), LedgerError {
        Payment = "payment",
        RefundAccepted = "refund_accepted",
        RefundSucceeded = "refund_succeeded",
        RefundFailed = "refund_failed",
        ProfitShare = "profit_share",
        ShareReturn = "share_return",
        PayoutAccepted = "payout_accepted",
        PayoutSucceeded = "payout_succeeded",
        PayoutFailed = "payout_failed",
        PayoutReturned = "payout_returned",
        Settlement = "settlement",
        Withdrawal = "withdrawal",
    }
}

impl Posting {
    pub fn new(kind: PostingKind, reference: impl Into<String>, currency: Currency) -> Posting {
        Posting {
            kind,
            reference: reference.into(),
            currency,
            transfers: Vec::new(),
        }
    }

    /// Adds a transfer; a zero amount records nothing and is skipped.
    pub fn transfer(
        mut self,
        kind: EntryKind,
        debit: Account,
        credit: Account,
        amount: Amount,
    ) -> Posting {
        self.push(kind, debit, credit, amount);
        self
    }

    pub fn push(&mut self, kind: EntryKind, debit: Account, credit: Account, amount: Amount) {
        debug_assert!(debit != credit, "transfer from {debit} to itself");
        if !amount.is_zero() {
            self.transfers.push(Transfer {
                kind,
                debit,
                credit,
                amount,
            });
        }
    }

    pub fn transfers(&self) -> &[Transfer] {
        &self.transfers
    }

    pub fn is_empty(&self) -> bool {
        self.transfers.is_empty()
    }

    /// What the posting changes each account's shown balance by.
    pub fn effects(&self) -> Vec<(Account, i64)> {
        let mut effects: Vec<(Account, i64)> = Vec::new();
        let mut add = |account: &Account, debit: i64, credit: i64| {
            let delta = account.balance(debit, credit);
            match effects.iter_mut().find(|(a, _)| a == account) {
                Some((_, total)) => *total += delta,
                None => effects.push((account.clone(), delta)),
            }
        };
        for t in &self.transfers {
            add(&t.debit, t.amount.minor(), 0);
            add(&t.credit, 0, t.amount.minor());
        }
        effects
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("ledger name {0:?} must be 1-32 lowercase letters, digits or _")]
    BadName(String),
    #[error("unknown ledger account {0:?}")]
    BadAccount(String),
    #[error("unknown ledger kind {0:?}")]
    BadKind(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m() -> MerchantId {
        MerchantId::parse("M100001").unwrap()
    }

    fn yuan(minor: i64) -> Amount {
        Amount::from_minor(minor).unwrap()
    }

    #[test]
    fn every_account_reads_back_from_its_text() {
        let wechat = LedgerName::parse("wechat").unwrap();
        for account in [
            Account::MerchantPending(m()),
            Account::MerchantAvailable(m()),
            Account::MerchantReserved(m()),
            Account::MerchantExternal(m()),
            Account::receiver(m(), "openid-o7x_9").unwrap(),
            Account::PlatformFeeIncome,
            Account::ChannelFeeExpense(wechat.clone()),
            Account::ChannelClearing(wechat.clone()),
            Account::PayoutRail(LedgerName::parse("bank").unwrap()),
        ] {
            assert_eq!(account.to_string().parse::<Account>(), Ok(account));
        }
        assert!("merchant:M100001:savings".parse::<Account>().is_err());
        assert!(Account::receiver(m(), "a:b").is_err());
        assert!(LedgerName::parse("WeChat").is_err());
    }

    #[test]
    fn a_payment_with_its_fee_moves_the_merchant_and_the_channel_by_the_same_net() {
        let wechat = LedgerName::parse("wechat").unwrap();
        let posting = Posting::new(PostingKind::Payment, "P1", Currency::Cny)
            .transfer(
                EntryKind::Payment,
                Account::ChannelClearing(wechat.clone()),
                Account::MerchantPending(m()),
                yuan(10_000),
            )
            .transfer(
                EntryKind::Fee,
                Account::MerchantPending(m()),
                Account::PlatformFeeIncome,
                yuan(60),
            )
            .transfer(
                EntryKind::ChannelFee,
                Account::ChannelFeeExpense(wechat.clone()),
                Account::ChannelClearing(wechat.clone()),
                Amount::ZERO,
            );
        assert_eq!(posting.transfers().len(), 2, "a zero transfer is skipped");
        let effects = posting.effects();
        assert_eq!(
            effects,
            vec![
                (Account::ChannelClearing(wechat), 10_000),
                (Account::MerchantPending(m()), 9_940),
                (Account::PlatformFeeIncome, 60),
            ]
        );
    }
}
