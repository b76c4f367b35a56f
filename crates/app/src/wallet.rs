//! The platform's stored-value wallet as a channel (member and gift cards, seed 004). It keeps
//! its own book in the store and answers through the same `Channel` trait as an external
//! upstream, so the core treats it no differently.

use crate::Clock;
use async_trait::async_trait;
use paygate_channels::{
    Channel, ChannelError, ChannelInfo, DeclineReason, PayOutcome, PayRequest, RefundOutcome,
    RefundRequest, TradeState,
};
use paygate_domain::{Currency, PayType, RefundNo, TradeNo, WalletAccountId};
use paygate_store::{Store, StoreError, WalletPayOutcome, WalletRefundOutcome};
use std::sync::Arc;

pub struct WalletChannel {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl WalletChannel {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> WalletChannel {
        WalletChannel { store, clock }
    }
}

/// The wallet is in our own database: a failed call there has an unknown outcome, like a
/// timeout at an external channel.
fn unknown(error: StoreError) -> ChannelError {
    ChannelError::Unknown(error.to_string())
}

#[async_trait]
impl Channel for WalletChannel {
    fn info(&self) -> ChannelInfo {
        ChannelInfo {
            pay_type: PayType::Wallet,
            currencies: &[Currency::Cny],
            pays_at_once: true,
        }
    }

    async fn pay(&self, request: &PayRequest) -> Result<PayOutcome, ChannelError> {
        let account = WalletAccountId::parse(&request.payer)
            .map_err(|e| ChannelError::Rejected(e.to_string()))?;
        let outcome = self
            .store
            .wallet_pay(
                &request.trade_no,
                &account,
                &request.merchant_id,
                request.money.currency,
                request.money.amount,
                self.clock.now_ms(),
            )
            .await
            .map_err(unknown)?;
        Ok(match outcome {
            WalletPayOutcome::Paid(payment) => PayOutcome::Paid {
                channel_trade_no: payment.wallet_trade_no,
                paid_at_ms: payment.paid_at,
            },
            WalletPayOutcome::InsufficientBalance => {
                PayOutcome::Declined(DeclineReason::InsufficientBalance)
            }
            WalletPayOutcome::NoSuchAccount => PayOutcome::Declined(DeclineReason::UnknownPayer),
        })
    }

    async fn query(&self, trade_no: &TradeNo) -> Result<TradeState, ChannelError> {
        let payment = self.store.wallet_payment(trade_no).await.map_err(unknown)?;
        Ok(match payment {
            Some(p) => TradeState::Paid {
                channel_trade_no: p.wallet_trade_no,
                paid_at_ms: p.paid_at,
            },
            None => TradeState::NotFound,
        })
    }

    async fn close(&self, trade_no: &TradeNo) -> Result<(), ChannelError> {
        // A wallet trade exists only once paid; an unpaid one has nothing to close.
        match self.store.wallet_payment(trade_no).await.map_err(unknown)? {
            Some(_) => Err(ChannelError::Rejected("trade is already paid".into())),
            None => Ok(()),
        }
    }

    async fn refund(&self, request: &RefundRequest) -> Result<RefundOutcome, ChannelError> {
        let outcome = self
            .store
            .wallet_refund(
                &request.refund_no,
                &request.trade_no,
                request.refund.amount,
                self.clock.now_ms(),
            )
            .await
            .map_err(unknown)?;
        Ok(match outcome {
            WalletRefundOutcome::Refunded => RefundOutcome::Succeeded {
                channel_refund_no: Some(format!("W{}", request.refund_no)),
            },
            WalletRefundOutcome::Exceeds => {
                RefundOutcome::Failed("refund exceeds the wallet payment".into())
            }
            WalletRefundOutcome::NoSuchPayment => {
                RefundOutcome::Failed("no wallet payment for this trade".into())
            }
            WalletRefundOutcome::MerchantShort => {
                RefundOutcome::Failed("merchant wallet receipts cannot cover the refund".into())
            }
        })
    }

    async fn query_refund(&self, refund_no: &RefundNo) -> Result<RefundOutcome, ChannelError> {
        let exists = self
            .store
            .wallet_refund_exists(refund_no)
            .await
            .map_err(unknown)?;
        Ok(if exists {
            RefundOutcome::Succeeded {
                channel_refund_no: Some(format!("W{refund_no}")),
            }
        } else {
            RefundOutcome::Failed("no such wallet refund".into())
        })
    }
}

impl crate::App {
    /// Operator top-up of a payer's wallet (seed 004's stored-value cards).
    pub async fn wallet_topup(
        &self,
        account: &WalletAccountId,
        money: paygate_domain::Money,
    ) -> Result<paygate_domain::Amount, crate::AppError> {
        Ok(self
            .store()
            .wallet_topup(account, money.currency, money.amount, self.clock().now_ms())
            .await?)
    }
}
