//! The ledger postings of the app's state changes (DESIGN §8): built here, from the order and
//! the channel that took it, and handed to the store to append in the same transaction as the
//! change. A payment's fees come from the merchant's fee terms, kept in the merchant cache
//! (`merchant_cache`) so that a payment costs no query for them.

use crate::{App, AppError, MerchantKeys};
use paygate_api::BalanceView;
use paygate_domain::fee::{FeeRefund, FeeSchedule, FeeSnapshot};
use paygate_domain::ledger::{Account, EntryKind, LedgerName, Posting, PostingKind};
use paygate_domain::merchant_money::{MerchantMoney, SettlementMode};
use paygate_domain::{Amount, Currency, MerchantId, Money, OrderRecord, PayType};
use paygate_store::RefundFeeTerms;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// What a merchant's payments are charged, as the merchant cache keeps it: its money settings
/// and its own fee schedules by product.
#[derive(Debug)]
pub(crate) struct FeeTerms {
    money: MerchantMoney,
    schedules: HashMap<PayType, FeeSchedule>,
}

impl FeeTerms {
    /// The merchant's own schedule for `pay_type`, else its category's default.
    fn schedule(&self, pay_type: PayType) -> FeeSchedule {
        self.schedules
            .get(&pay_type)
            .copied()
            .unwrap_or_else(|| self.money.default_fee_schedule())
    }
}

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

    /// The fees of `order`'s payment as it is paid now: the merchant's schedule for the
    /// product it was paid with (or its category's default), its settlement mode, and the
    /// channel's cost rate from the settings.
    pub(crate) async fn payment_fees(&self, order: &OrderRecord) -> Result<FeeSnapshot, AppError> {
        let pay_type = order.channel_pay_type();
        let channel = self.ledger_channel(order)?;
        let terms = self.fee_terms(&order.merchant_id).await?;
        Ok(FeeSnapshot::at_payment(
            pay_type,
            terms.money.settlement_mode,
            terms.schedule(pay_type),
            self.settings().channel_fee_rates.rate(&channel),
            order.total_amount,
        ))
    }

    /// The fee schedule `merchant` pays for `pay_type` now (its own, else its category's).
    pub(crate) async fn fee_schedule(
        &self,
        merchant: &MerchantId,
        pay_type: PayType,
    ) -> Result<FeeSchedule, AppError> {
        Ok(self.fee_terms(merchant).await?.schedule(pay_type))
    }

    /// The merchant's fee terms, from the merchant cache while fresh (two queries otherwise).
    async fn fee_terms(&self, merchant: &MerchantId) -> Result<Arc<FeeTerms>, AppError> {
        let ttl = Duration::from_millis(self.settings().merchant_cache_ttl_ms);
        if let Some(terms) = self.inner.fee_terms.fresh(merchant, ttl) {
            return Ok(terms);
        }
        let generation = self.inner.fee_terms.generation();
        let terms = Arc::new(FeeTerms {
            money: self.store().merchant_money(merchant).await?,
            schedules: self
                .store()
                .merchant_fee_schedules(merchant)
                .await?
                .into_iter()
                .collect(),
        });
        self.inner
            .fee_terms
            .store(merchant, terms.clone(), generation);
        Ok(terms)
    }

    /// A payment: the channel owes us the amount, and we owe it to the merchant until it
    /// settles, less its fee. In `platform` mode the fee is the platform's income and the
    /// channel's own fee our expense; in `direct` mode the channel withholds the merchant's fee
    /// itself, so it only lowers what the channel owes.
    pub(crate) fn payment_posting(
        &self,
        order: &OrderRecord,
        fees: &FeeSnapshot,
    ) -> Result<Posting, AppError> {
        let channel = self.ledger_channel(order)?;
        let pending = Account::MerchantPending(order.merchant_id.clone());
        let clearing = Account::ChannelClearing(channel.clone());
        let posting = Posting::new(
            PostingKind::Payment,
            order.trade_no.as_str(),
            order.currency,
        )
        .transfer(
            EntryKind::Payment,
            clearing.clone(),
            pending.clone(),
            order.total_amount,
        );
        Ok(match fees.mode {
            SettlementMode::Platform => posting
                .transfer(
                    EntryKind::Fee,
                    pending,
                    Account::PlatformFeeIncome,
                    fees.fee,
                )
                .transfer(
                    EntryKind::ChannelFee,
                    Account::ChannelFeeExpense(channel),
                    clearing,
                    fees.channel_fee,
                ),
            SettlementMode::Direct => posting.transfer(EntryKind::Fee, pending, clearing, fees.fee),
        })
    }

    /// What finishing a refund of `order` needs of its channel and merchant: the channel's
    /// ledger name and fee-refund rule (a channel without a rule table, our wallet, keeps its
    /// fee), and who bears what the channel keeps.
    pub(crate) async fn refund_fee_terms(
        &self,
        order: &OrderRecord,
    ) -> Result<RefundFeeTerms, AppError> {
        let rule = self
            .channel(order.channel_pay_type())
            .and_then(|c| c.info().rules)
            .map_or(FeeRefund::None, |rules| rules.fee_refund);
        let money = self.store().merchant_money(&order.merchant_id).await?;
        Ok(RefundFeeTerms {
            channel: self.ledger_channel(order)?,
            rule,
            bearer: money.fee_bearer,
        })
    }

    /// The merchant's balances in `currency`, as its `POST /api/balance/query` answers them.
    pub async fn merchant_balance(
        &self,
        merchant: &MerchantKeys,
        currency: Currency,
    ) -> Result<BalanceView, AppError> {
        let balances = self
            .store()
            .merchant_balances(&merchant.record.id, currency)
            .await?;
        let money = |minor: i64| {
            Amount::from_minor(minor)
                .map(|amount| Money::new(amount, currency))
                .map_err(|e| {
                    AppError::Internal(anyhow::anyhow!(
                        "merchant {} balance {minor}: {e}",
                        merchant.record.id
                    ))
                })
        };
        Ok(BalanceView {
            currency,
            pending: money(balances.pending)?,
            available: money(balances.available)?,
            reserved: money(balances.reserved)?,
        })
    }
}
