//! Payouts (代付 / 转代付, DESIGN §8, seed 002 商家付款): money a merchant sends from its
//! available balance to a wallet account (free) or a bank card (a fixed fee per payout).
//!
//! The lifecycle is `PROCESSING → SUCCESS | FAILED` and `SUCCESS → RETURNED` (a bank that sends
//! the money back days later), with every transition in `PayoutStatus::apply`. The ledger
//! postings of each step are built here (`PayoutMoney`), so the store only appends them in the
//! transaction of the status change. Limits and eligibility rules are in `payout_rules`.
//!
//! A payee's card number is whole (`CardNo`) in a merchant's request and at the rail, and sealed
//! (`SealedCardNo`, `payout_card`) in a `PayoutRecord`: `Payee` and `BankCard` take the card
//! number's form as a type parameter, the whole one by default.

use crate::ledger::{Account, EntryKind, LedgerName, Posting, PostingKind};
use crate::secret::{MasterKey, SecretError};
use crate::{Amount, Currency, MerchantId, PayoutNo, WalletAccountId};

pub use crate::payout_card::{CardNo, MaskedCard, SealedCardNo, StoredCardError};

crate::text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum PayoutStatus, unknown(text) => format!("unknown payout status {text:?}"), String {
        /// Accepted and held; the rail has not said how it ended.
        Processing = "PROCESSING",
        Success = "SUCCESS",
        Failed = "FAILED",
        /// Succeeded, then sent back by the payee's bank.
        Returned = "RETURNED",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayoutEvent {
    Succeeded,
    Failed,
    Returned,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("payout in state {from:?} cannot take event {event:?}")]
pub struct PayoutTransitionError {
    pub from: PayoutStatus,
    pub event: PayoutEvent,
}

impl PayoutStatus {
    pub fn apply(self, event: PayoutEvent) -> Result<PayoutStatus, PayoutTransitionError> {
        match (self, event) {
            (PayoutStatus::Processing, PayoutEvent::Succeeded) => Ok(PayoutStatus::Success),
            (PayoutStatus::Processing, PayoutEvent::Failed) => Ok(PayoutStatus::Failed),
            (PayoutStatus::Success, PayoutEvent::Returned) => Ok(PayoutStatus::Returned),
            (from, event) => Err(PayoutTransitionError { from, event }),
        }
    }

    /// The notification kind a merchant gets when a payout reaches this state.
    pub fn notify_kind(self) -> Option<&'static str> {
        match self {
            PayoutStatus::Processing => None,
            PayoutStatus::Success => Some("PAYOUT_SUCCESS"),
            PayoutStatus::Failed => Some("PAYOUT_FAIL"),
            PayoutStatus::Returned => Some("PAYOUT_RETURNED"),
        }
    }
}

crate::text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum PayeeType, unknown(text) => format!("payee_type must be wallet or bank_card, not {text:?}"), String {
        /// One of our stored-value wallet accounts: credited at once, free.
        Wallet = "wallet",
        /// A bank card: asynchronous, a fixed fee per payout.
        BankCard = "bank_card",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayeeError {
    #[error("must be 12-19 digits")]
    CardNo,
    #[error("must be 1-64 characters without control characters")]
    AccountName,
    #[error("must be 2-16 uppercase letters or digits")]
    BankCode,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankCard<N = CardNo> {
    pub card_no: N,
    /// The holder's name as the bank knows it (收款户名).
    pub account_name: String,
    /// The bank's code, e.g. `ICBC`, `CMB`.
    pub bank_code: String,
}

const ACCOUNT_NAME_CHARS_MAX: usize = 64;

impl BankCard {
    pub const ACCOUNT_NAME_CHARS_MAX: usize = ACCOUNT_NAME_CHARS_MAX;

    pub fn parse(card_no: &str, account_name: &str, bank_code: &str) -> Result<Self, PayeeError> {
        let card_no = CardNo::parse(card_no).map_err(|_| PayeeError::CardNo)?;
        BankCard::with_card_no(card_no, account_name, bank_code)
    }
}

impl<N> BankCard<N> {
    /// A card whose number is already in its form (whole or sealed), with the holder's name and
    /// the bank's code checked.
    pub fn with_card_no(
        card_no: N,
        account_name: &str,
        bank_code: &str,
    ) -> Result<Self, PayeeError> {
        let name_ok = (1..=ACCOUNT_NAME_CHARS_MAX).contains(&account_name.chars().count())
            && !account_name.chars().any(char::is_control);
        if !name_ok {
            return Err(PayeeError::AccountName);
        }
        let code_ok = (2..=16).contains(&bank_code.len())
            && bank_code
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if !code_ok {
            return Err(PayeeError::BankCode);
        }
        Ok(BankCard {
            card_no,
            account_name: account_name.to_owned(),
            bank_code: bank_code.to_owned(),
        })
    }
}

/// Who receives a payout; `N` is the card number's form (whole, or sealed in a record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payee<N = CardNo> {
    Wallet(WalletAccountId),
    BankCard(BankCard<N>),
}

/// A payee as a `PayoutRecord` holds it: a card number sealed for its payout.
pub type SealedPayee = Payee<SealedCardNo>;

impl<N: MaskedCard> Payee<N> {
    pub fn payee_type(&self) -> PayeeType {
        match self {
            Payee::Wallet(_) => PayeeType::Wallet,
            Payee::BankCard(_) => PayeeType::BankCard,
        }
    }

    /// The payee's account as views, logs and notifications show it: a card masked.
    pub fn shown_account(&self) -> String {
        match self {
            Payee::Wallet(account) => account.as_str().to_owned(),
            Payee::BankCard(card) => card.card_no.masked(),
        }
    }
}

impl Payee {
    /// The payee as payout `owner` keeps it: its card number sealed under `key`.
    pub fn seal(&self, key: &MasterKey, owner: &PayoutNo) -> SealedPayee {
        match self {
            Payee::Wallet(account) => Payee::Wallet(account.clone()),
            Payee::BankCard(card) => Payee::BankCard(BankCard {
                card_no: card.card_no.seal(key, owner),
                account_name: card.account_name.clone(),
                bank_code: card.bank_code.clone(),
            }),
        }
    }
}

impl SealedPayee {
    /// The payee with its card number opened, for the rail paying payout `owner`.
    pub fn open(&self, key: &MasterKey, owner: &PayoutNo) -> Result<Payee, SecretError> {
        Ok(match self {
            Payee::Wallet(account) => Payee::Wallet(account.clone()),
            Payee::BankCard(card) => Payee::BankCard(BankCard {
                card_no: card.card_no.open(key, owner)?,
                account_name: card.account_name.clone(),
                bank_code: card.bank_code.clone(),
            }),
        })
    }
}

/// A payout as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutRecord {
    pub payout_no: PayoutNo,
    pub merchant_id: MerchantId,
    pub out_payout_no: crate::OutPayoutNo,
    pub currency: Currency,
    pub amount: Amount,
    /// The fee snapshotted when the payout was accepted.
    pub fee: Amount,
    pub payee: SealedPayee,
    /// The ledger name of the rail the payout goes through.
    pub rail: LedgerName,
    pub remark: Option<String>,
    pub notify_url: Option<String>,
    pub status: PayoutStatus,
    /// Why the rail failed or returned it.
    pub reason: Option<String>,
    pub created_at_ms: i64,
    pub finished_at_ms: Option<i64>,
    pub returned_at_ms: Option<i64>,
}

impl PayoutRecord {
    pub fn money(&self) -> PayoutMoney {
        PayoutMoney {
            merchant: self.merchant_id.clone(),
            payout_no: self.payout_no.clone(),
            currency: self.currency,
            amount: self.amount,
            fee: self.fee,
            rail: self.rail.clone(),
        }
    }
}

/// What a payout moves, and the posting of each of its steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutMoney {
    pub merchant: MerchantId,
    pub payout_no: PayoutNo,
    pub currency: Currency,
    pub amount: Amount,
    pub fee: Amount,
    pub rail: LedgerName,
}

impl PayoutMoney {
    /// Amount and fee: what the merchant's available balance must cover.
    pub fn total(&self) -> Amount {
        self.amount
            .checked_add(self.fee)
            .expect("a payout's amount and fee are each bounded far below the sum's limit")
    }

    fn posting(&self, kind: PostingKind) -> Posting {
        Posting::new(kind, self.payout_no.as_str(), self.currency)
    }

    /// Accepted: amount and fee held (冻结).
    pub fn hold(&self) -> Posting {
        self.posting(PostingKind::PayoutAccepted).transfer(
            EntryKind::PayoutHold,
            Account::MerchantAvailable(self.merchant.clone()),
            Account::MerchantReserved(self.merchant.clone()),
            self.total(),
        )
    }

    /// The posting of the step `event` leads to.
    pub fn step(&self, event: PayoutEvent) -> Posting {
        let reserved = Account::MerchantReserved(self.merchant.clone());
        let available = Account::MerchantAvailable(self.merchant.clone());
        let rail = Account::PayoutRail(self.rail.clone());
        match event {
            PayoutEvent::Succeeded => self
                .posting(PostingKind::PayoutSucceeded)
                .transfer(EntryKind::Payout, reserved.clone(), rail, self.amount)
                .transfer(
                    EntryKind::PayoutFee,
                    reserved,
                    Account::PlatformFeeIncome,
                    self.fee,
                ),
            PayoutEvent::Failed => self.posting(PostingKind::PayoutFailed).transfer(
                EntryKind::PayoutRelease,
                reserved,
                available,
                self.total(),
            ),
            // The fee was earned: the bank did the work before it sent the money back.
            PayoutEvent::Returned => self.posting(PostingKind::PayoutReturned).transfer(
                EntryKind::PayoutReturned,
                rail,
                available,
                self.amount,
            ),
        }
    }
}

// Amounts in fen are written with the separator where the decimal point would be (`100_00`
// is 100.00 yuan), which reads as money.
#[cfg(test)]
#[allow(clippy::inconsistent_digit_grouping)]
mod tests {
    use super::*;

    #[test]
    fn transitions_live_in_one_place() {
        use PayoutEvent as E;
        use PayoutStatus as S;
        assert_eq!(S::Processing.apply(E::Succeeded), Ok(S::Success));
        assert_eq!(S::Processing.apply(E::Failed), Ok(S::Failed));
        assert_eq!(S::Success.apply(E::Returned), Ok(S::Returned));
        for (from, event) in [
            (S::Processing, E::Returned),
            (S::Success, E::Succeeded),
            (S::Success, E::Failed),
            (S::Failed, E::Returned),
            (S::Returned, E::Returned),
        ] {
            assert_eq!(
                from.apply(event),
                Err(PayoutTransitionError { from, event })
            );
        }
    }

    #[test]
    fn each_step_balances_and_the_fee_is_kept_on_return() {
        let money = PayoutMoney {
            merchant: MerchantId::parse("M1").unwrap(),
            payout_no: PayoutNo::mint(1_795_000_000_000),
            currency: Currency::Cny,
            amount: Amount::from_minor(100_00).unwrap(),
            fee: Amount::from_minor(1_00).unwrap(),
            rail: LedgerName::parse("bank").unwrap(),
        };
        let m = || MerchantId::parse("M1").unwrap();
        let effects = |p: Posting| p.effects();
        assert_eq!(
            effects(money.hold()),
            vec![
                (Account::MerchantAvailable(m()), -101_00),
                (Account::MerchantReserved(m()), 101_00)
            ]
        );
        let succeeded = effects(money.step(PayoutEvent::Succeeded));
        assert!(succeeded.contains(&(Account::MerchantReserved(m()), -101_00)));
        assert!(succeeded.contains(&(Account::PlatformFeeIncome, 1_00)));
        assert_eq!(
            effects(money.step(PayoutEvent::Returned)),
            vec![
                (Account::PayoutRail(money.rail.clone()), 100_00),
                (Account::MerchantAvailable(m()), 100_00)
            ]
        );
    }
}
