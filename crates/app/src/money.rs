//! The ledger postings of the app's state changes (DESIGN §8): built here, from the order and
//! the channel that took it, and handed to the store to append in the same transaction as the
//! change.

use crate::{App, AppError};
use paygate_domain::ledger::{Account, EntryKind, LedgerName, Posting, PostingKind};
use paygate_domain::OrderRecord;

impl App {
    /// The ledger's name of the channel that takes (or took) `order`'s payment.
    pub(crate) fn ledger_channel(&self, order: &OrderRecord) -> Result<LedgerName, AppError> {
        let pay_type = order.channel_pay_type();
        let channel = self.channel(pay_type).ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!(
                "no channel serves {pay_type} for {}",
                order.trade_no
            ))
        })?;
        LedgerName::parse(channel.info().name).map_err(|e| AppError::Internal(e.into()))
    }

    /// A payment: the channel owes us the amount, and we owe it to the merchant until it
    /// settles.
    pub(crate) fn payment_posting(&self, order: &OrderRecord) -> Result<Posting, AppError> {
        let channel = self.ledger_channel(order)?;
        Ok(Posting::new(
            PostingKind::Payment,
            order.trade_no.as_str(),
            order.currency,
        )
        .transfer(
            EntryKind::Payment,
            Account::ChannelClearing(channel),
            Account::MerchantPending(order.merchant_id.clone()),
            order.total_amount,
        ))
    }
}
