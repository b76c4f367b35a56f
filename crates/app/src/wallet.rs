//! The platform's stored-value wallet as a channel (member and gift cards, seed 004). It keeps
//! its own book in the store and answers through the same `Channel` trait as an external
//! upstream, so the core treats it no differently.

use crate::Clock;
use async_trait::async_trait;
use paygate_channels::payout::{PayoutOrder, PayoutRail, RailOutcome};
use paygate_channels::{
    Channel, ChannelError, ChannelInfo, DeclineReason, PayOutcome, PayRequest, Payer,
    RefundOutcome, RefundRequest, TradeState,
};
use paygate_domain::paycode::PAY_CODE_TTL_SECS;
use paygate_domain::payout::{Payee, PayeeType};
use paygate_domain::{Currency, PayCode, PayerToken, RefundNo, TradeNo, WalletAccountId};
use paygate_store::{
    PayCodeInsert, Store, StoreError, WalletCharge, WalletPayOutcome, WalletRefundOutcome,
};
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
            name: "wallet",
            currencies: &[Currency::Cny],
            pays_at_once: true,
            rules: None,
        }
    }

    async fn pay(&self, request: &PayRequest) -> Result<PayOutcome, ChannelError> {
        // Only a code our wallet issued can charge it; any other is not one of ours.
        let Payer::AuthCode(code) = &request.payer else {
            return Ok(PayOutcome::Declined(DeclineReason::PayCodeInvalid));
        };
        let code_sha256 = code.digest();
        let charge = WalletCharge {
            trade_no: &request.trade_no,
            code_sha256: &code_sha256,
            merchant: &request.merchant_id,
            currency: request.money.currency,
            amount: request.money.amount,
            at_ms: self.clock.now_ms(),
        };
        let outcome = self.store.wallet_pay(&charge).await.map_err(unknown)?;
        Ok(match outcome {
            WalletPayOutcome::Paid(payment) => PayOutcome::Paid {
                channel_trade_no: payment.wallet_trade_no,
                paid_at_ms: payment.paid_at_ms,
            },
            WalletPayOutcome::InsufficientBalance => {
                PayOutcome::Declined(DeclineReason::InsufficientBalance)
            }
            WalletPayOutcome::PayCodeInvalid => PayOutcome::Declined(DeclineReason::PayCodeInvalid),
        })
    }

    async fn query(&self, trade_no: &TradeNo) -> Result<TradeState, ChannelError> {
        let payment = self.store.wallet_payment(trade_no).await.map_err(unknown)?;
        Ok(match payment {
            Some(p) => TradeState::Paid {
                channel_trade_no: p.wallet_trade_no,
                paid_at_ms: p.paid_at_ms,
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

    async fn query_refund(
        &self,
        refund_no: &RefundNo,
        _trade_no: &TradeNo,
    ) -> Result<RefundOutcome, ChannelError> {
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

/// A pay code as handed to its payer: shown once, valid `expires_in_secs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedPayCode {
    pub code: PayCode,
    pub expires_in_secs: i64,
}

/// Fresh codes collide with a live one about once in 10^16; a few tries are plenty.
const PAY_CODE_MINT_TRIES_MAX: usize = 4;

fn no_such_account(account: &WalletAccountId) -> crate::AppError {
    crate::AppError::param("account", format!("no wallet account {account}"))
}

impl crate::App {
    /// Issues a one-time pay code for the payer's account (the payer's app, or the operator's
    /// CLI acting for the payer). Refused for an account that does not exist.
    pub async fn issue_pay_code(
        &self,
        account: &WalletAccountId,
    ) -> Result<IssuedPayCode, crate::AppError> {
        let now = self.clock().now_ms();
        for _ in 0..PAY_CODE_MINT_TRIES_MAX {
            let code = PayCode::mint();
            let expires_at = now + PAY_CODE_TTL_SECS * 1000;
            let insert = self
                .store()
                .wallet_insert_pay_code(account, &code.digest(), now, expires_at)
                .await?;
            match insert {
                PayCodeInsert::Issued => {
                    return Ok(IssuedPayCode {
                        code,
                        expires_in_secs: PAY_CODE_TTL_SECS,
                    })
                }
                PayCodeInsert::NoSuchAccount => return Err(no_such_account(account)),
                PayCodeInsert::Taken => continue,
            }
        }
        Err(crate::AppError::Busy(
            "could not mint a unique pay code".into(),
        ))
    }

    /// Issues (or replaces) the bearer token of the payer's app; only its digest is kept, so
    /// this is the one time it can be shown.
    pub async fn issue_payer_token(
        &self,
        account: &WalletAccountId,
    ) -> Result<PayerToken, crate::AppError> {
        let token = PayerToken::mint();
        let set = self
            .store()
            .wallet_set_payer_token(account, &token.digest(), self.clock().now_ms())
            .await?;
        if set {
            Ok(token)
        } else {
            Err(no_such_account(account))
        }
    }

    /// The payer's app asks for a pay code with its bearer token. A missing or wrong token is
    /// refused alike (1002), saying nothing about any account.
    pub async fn pay_code_for_token(
        &self,
        presented: Option<&str>,
    ) -> Result<IssuedPayCode, crate::AppError> {
        let refused = || crate::AppError::Sign("payer token missing or wrong".into());
        let token = presented
            .and_then(PayerToken::presented)
            .ok_or_else(refused)?;
        let account = self
            .store()
            .wallet_account_by_token(&token.digest())
            .await?
            .ok_or_else(refused)?;
        self.issue_pay_code(&account).await
    }

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

/// The wallet as a payout rail: a payout credits the payee's wallet account at once, once per
/// payout number, so a retried submit (or a query after a lost answer) credits nothing more.
pub struct WalletPayoutRail {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl WalletPayoutRail {
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> WalletPayoutRail {
        WalletPayoutRail { store, clock }
    }
}

#[async_trait]
impl PayoutRail for WalletPayoutRail {
    fn name(&self) -> &'static str {
        "wallet"
    }

    fn payee_type(&self) -> PayeeType {
        PayeeType::Wallet
    }

    fn may_return(&self) -> bool {
        false
    }

    async fn submit(&self, order: &PayoutOrder) -> Result<RailOutcome, ChannelError> {
        let Payee::Wallet(account) = &order.payee else {
            return Err(ChannelError::Rejected(
                "the wallet pays wallet accounts only".into(),
            ));
        };
        let now = self.clock.now_ms();
        let credited = self
            .store
            .wallet_credit_payout(&order.payout_no, account, order.money, now)
            .await
            .map_err(unknown)?;
        Ok(if credited {
            RailOutcome::Succeeded
        } else {
            RailOutcome::Failed(format!(
                "wallet account {account} cannot take {}",
                order.money.currency
            ))
        })
    }

    async fn query(&self, order: &PayoutOrder) -> Result<RailOutcome, ChannelError> {
        self.submit(order).await
    }
}
