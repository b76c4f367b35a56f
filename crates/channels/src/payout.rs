//! Payout rails (代付, DESIGN §8): where a merchant's payout leaves the platform. A rail is asked
//! to submit a payout and later how it stands; as with a channel's refund, an unknown answer is
//! never taken as either outcome, and a bank's answer may come only on a later query.
//!
//! The stored-value wallet rail lives in `paygate-app` (it writes the wallet's book); the
//! sandbox bank rail below plays a bank for development and tests.

use crate::ChannelError;
use async_trait::async_trait;
use paygate_domain::payout::{Payee, PayeeType};
use paygate_domain::{Money, PayoutNo};

/// A payout as a rail sees it. `now_ms` is the platform's clock at the call, so a rail that
/// plays time-dependent outcomes (the sandbox bank) follows the clock tests control.
#[derive(Debug, Clone)]
pub struct PayoutOrder {
    pub payout_no: PayoutNo,
    pub money: Money,
    pub payee: Payee,
    pub accepted_at_ms: i64,
    pub now_ms: i64,
}

/// How a payout stands at its rail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RailOutcome {
    /// Accepted by the rail; ask again later.
    Processing,
    Succeeded,
    /// Definitively not paid; nothing left the rail.
    Failed(String),
    /// Paid, then sent back by the payee's bank.
    Returned(String),
}

#[async_trait]
pub trait PayoutRail: Send + Sync {
    /// The rail's name in the ledger (`rail:<name>`).
    fn name(&self) -> &'static str;

    fn payee_type(&self) -> PayeeType;

    /// Whether a payout that succeeded here can still come back (a bank return), so it is
    /// watched after its success.
    fn may_return(&self) -> bool;

    async fn submit(&self, order: &PayoutOrder) -> Result<RailOutcome, ChannelError>;

    async fn query(&self, order: &PayoutOrder) -> Result<RailOutcome, ChannelError>;
}

/// A bank in the sandbox: every payout is accepted and answered asynchronously after
/// `answer_after_ms`, by the card number's ending: `0000` fails ("account closed"), `9999`
/// succeeds and is returned `returned_after_ms` after acceptance, anything else succeeds.
/// Its answer is a function of the payout and the clock, so it needs no state of its own and
/// every process answers alike.
#[derive(Debug, Clone)]
pub struct SandboxBankRail {
    pub answer_after_ms: i64,
    pub returned_after_ms: i64,
}

impl Default for SandboxBankRail {
    fn default() -> Self {
        SandboxBankRail {
            answer_after_ms: 1_000,
            returned_after_ms: 3_600_000,
        }
    }
}

pub const CARD_ENDING_FAILS: &str = "0000";
pub const CARD_ENDING_RETURNED: &str = "9999";

impl SandboxBankRail {
    fn outcome(&self, order: &PayoutOrder) -> Result<RailOutcome, ChannelError> {
        let Payee::BankCard(card) = &order.payee else {
            return Err(ChannelError::Rejected(
                "the bank pays bank cards only".into(),
            ));
        };
        let waited_ms = order.now_ms - order.accepted_at_ms;
        if waited_ms < self.answer_after_ms {
            return Ok(RailOutcome::Processing);
        }
        if card.card_no.ends_with(CARD_ENDING_FAILS) {
            return Ok(RailOutcome::Failed("account closed".into()));
        }
        if card.card_no.ends_with(CARD_ENDING_RETURNED) && waited_ms >= self.returned_after_ms {
            return Ok(RailOutcome::Returned("returned by the payee's bank".into()));
        }
        Ok(RailOutcome::Succeeded)
    }
}

#[async_trait]
impl PayoutRail for SandboxBankRail {
    fn name(&self) -> &'static str {
        "bank"
    }

    fn payee_type(&self) -> PayeeType {
        PayeeType::BankCard
    }

    fn may_return(&self) -> bool {
        true
    }

    async fn submit(&self, order: &PayoutOrder) -> Result<RailOutcome, ChannelError> {
        self.outcome(order).map(|_| RailOutcome::Processing)
    }

    async fn query(&self, order: &PayoutOrder) -> Result<RailOutcome, ChannelError> {
        self.outcome(order)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paygate_domain::payout::BankCard;
    use paygate_domain::{Currency, PayoutNo};

    fn order(card: &str, waited_ms: i64) -> PayoutOrder {
        PayoutOrder {
            payout_no: PayoutNo::mint(0),
            money: Money::parse("1.00", Currency::Cny).unwrap(),
            payee: Payee::BankCard(BankCard::parse(card, "Zhang San", "ICBC").unwrap()),
            accepted_at_ms: 1_000_000,
            now_ms: 1_000_000 + waited_ms,
        }
    }

    #[tokio::test]
    async fn the_sandbox_bank_answers_by_card_ending_and_time() {
        let bank = SandboxBankRail::default();
        let hour = 3_600_000;
        assert_eq!(
            bank.submit(&order("6222020200112233", 0)).await,
            Ok(RailOutcome::Processing)
        );
        assert_eq!(
            bank.query(&order("6222020200112233", 999)).await,
            Ok(RailOutcome::Processing)
        );
        assert_eq!(
            bank.query(&order("6222020200112233", 1_000)).await,
            Ok(RailOutcome::Succeeded)
        );
        assert_eq!(
            bank.query(&order("6222020200110000", 1_000)).await,
            Ok(RailOutcome::Failed("account closed".into()))
        );
        assert_eq!(
            bank.query(&order("6222020200119999", hour - 1)).await,
            Ok(RailOutcome::Succeeded)
        );
        assert!(matches!(
            bank.query(&order("6222020200119999", hour)).await,
            Ok(RailOutcome::Returned(_))
        ));
    }
}
