//! The stored-value wallet's own book. It behaves like an upstream channel would: a payment and
//! a refund are each one transaction keyed by our trade or refund number, so a retried call
//! returns the first outcome instead of moving money twice.

use crate::rows::{get_amount, get_i64, get_string};
use crate::{Ctx, Store, StoreResult};
use paygate_domain::{Amount, Currency, MerchantId, RefundNo, TradeNo, WalletAccountId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletPayment {
    pub wallet_trade_no: String,
    pub amount: Amount,
    pub refunded: Amount,
    pub paid_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalletPayOutcome {
    Paid(WalletPayment),
    InsufficientBalance,
    NoSuchAccount,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalletRefundOutcome {
    Refunded,
    /// The refund would exceed what this payment has left to refund.
    Exceeds,
    NoSuchPayment,
    /// The merchant's wallet receipts cannot cover the refund.
    MerchantShort,
}

/// Sums over the whole wallet book; payers' balances plus merchants' receipts must equal all
/// top-ups, whatever payments and refunds happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalletTotals {
    pub payer_balances: i64,
    pub merchant_receipts: i64,
    pub topups: i64,
}

impl Store {
    /// Credits a payer account, opening it on first top-up. Returns the new balance.
    pub async fn wallet_topup(
        &self,
        account: &WalletAccountId,
        currency: Currency,
        amount: Amount,
        at_ms: i64,
    ) -> StoreResult<Amount> {
        let mut tx = self.pool.begin().await.ctx("begin topup")?;
        let row = sqlx::query(
            "INSERT INTO wallet_accounts (id, currency, balance, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $4)
             ON CONFLICT (id) DO UPDATE SET balance = wallet_accounts.balance + excluded.balance,
                                            updated_at = excluded.updated_at
             WHERE wallet_accounts.currency = excluded.currency
             RETURNING balance",
        )
        .bind(account.as_str())
        .bind(currency.as_str())
        .bind(amount.minor())
        .bind(at_ms)
        .fetch_optional(&mut *tx)
        .await
        .ctx("credit wallet account")?;
        let Some(row) = row else {
            tx.rollback().await.ctx("rollback topup")?;
            return Err(crate::StoreError::Corrupt(format!(
                "wallet account {account} holds another currency than {currency}"
            )));
        };
        sqlx::query("INSERT INTO wallet_topups (account_id, amount, at) VALUES ($1, $2, $3)")
            .bind(account.as_str())
            .bind(amount.minor())
            .bind(at_ms)
            .execute(&mut *tx)
            .await
            .ctx("record topup")?;
        let balance = get_amount(&row, "balance")?;
        tx.commit().await.ctx("commit topup")?;
        Ok(balance)
    }

    pub async fn wallet_balance(&self, account: &WalletAccountId) -> StoreResult<Option<Amount>> {
        let row = sqlx::query("SELECT balance FROM wallet_accounts WHERE id = $1")
            .bind(account.as_str())
            .fetch_optional(&self.pool)
            .await
            .ctx("wallet balance")?;
        row.as_ref().map(|r| get_amount(r, "balance")).transpose()
    }

    /// Moves `amount` from the payer to the merchant's receipts, once per trade number.
    pub async fn wallet_pay(
        &self,
        trade_no: &TradeNo,
        account: &WalletAccountId,
        merchant: &MerchantId,
        currency: Currency,
        amount: Amount,
        at_ms: i64,
    ) -> StoreResult<WalletPayOutcome> {
        if let Some(done) = self.wallet_payment(trade_no).await? {
            return Ok(WalletPayOutcome::Paid(done));
        }
        let mut tx = self.pool.begin().await.ctx("begin wallet pay")?;
        let debited = sqlx::query(
            "UPDATE wallet_accounts SET balance = balance - $1, updated_at = $2
             WHERE id = $3 AND currency = $4 AND balance >= $1",
        )
        .bind(amount.minor())
        .bind(at_ms)
        .bind(account.as_str())
        .bind(currency.as_str())
        .execute(&mut *tx)
        .await
        .ctx("debit payer")?
        .rows_affected();
        if debited == 0 {
            tx.rollback().await.ctx("rollback wallet pay")?;
            // A concurrent call for the same trade may have paid while we waited on the account
            // row; on PostgreSQL our update returned only after that commit, so this read sees it.
            if let Some(done) = self.wallet_payment(trade_no).await? {
                return Ok(WalletPayOutcome::Paid(done));
            }
            return Ok(match self.wallet_balance(account).await? {
                Some(_) => WalletPayOutcome::InsufficientBalance,
                None => WalletPayOutcome::NoSuchAccount,
            });
        }
        sqlx::query(
            "INSERT INTO wallet_merchant_balances (merchant_id, currency, balance)
             VALUES ($1, $2, $3)
             ON CONFLICT (merchant_id, currency)
             DO UPDATE SET balance = wallet_merchant_balances.balance + excluded.balance",
        )
        .bind(merchant.as_str())
        .bind(currency.as_str())
        .bind(amount.minor())
        .execute(&mut *tx)
        .await
        .ctx("credit merchant receipts")?;
        let wallet_trade_no = format!("W{}", trade_no.as_str());
        let inserted = sqlx::query(
            "INSERT INTO wallet_payments (trade_no, wallet_trade_no, account_id, merchant_id,
                                          currency, amount, refunded, paid_at)
             VALUES ($1, $2, $3, $4, $5, $6, 0, $7) ON CONFLICT (trade_no) DO NOTHING",
        )
        .bind(trade_no.as_str())
        .bind(&wallet_trade_no)
        .bind(account.as_str())
        .bind(merchant.as_str())
        .bind(currency.as_str())
        .bind(amount.minor())
        .bind(at_ms)
        .execute(&mut *tx)
        .await
        .ctx("record wallet payment")?
        .rows_affected();
        if inserted == 0 {
            // A concurrent call for the same trade paid first; undo ours and report theirs.
            tx.rollback().await.ctx("rollback duplicate wallet pay")?;
            let done = self.wallet_payment(trade_no).await?.ok_or_else(|| {
                crate::StoreError::Corrupt("concurrent wallet payment vanished".into())
            })?;
            return Ok(WalletPayOutcome::Paid(done));
        }
        tx.commit().await.ctx("commit wallet pay")?;
        Ok(WalletPayOutcome::Paid(WalletPayment {
            wallet_trade_no,
            amount,
            refunded: Amount::ZERO,
            paid_at: at_ms,
        }))
    }

    pub async fn wallet_payment(&self, trade_no: &TradeNo) -> StoreResult<Option<WalletPayment>> {
        let row = sqlx::query(
            "SELECT wallet_trade_no, amount, refunded, paid_at FROM wallet_payments
             WHERE trade_no = $1",
        )
        .bind(trade_no.as_str())
        .fetch_optional(&self.pool)
        .await
        .ctx("get wallet payment")?;
        row.map(|r| {
            Ok(WalletPayment {
                wallet_trade_no: get_string(&r, "wallet_trade_no")?,
                amount: get_amount(&r, "amount")?,
                refunded: get_amount(&r, "refunded")?,
                paid_at: get_i64(&r, "paid_at")?,
            })
        })
        .transpose()
    }

    /// Returns `amount` of a wallet payment to its payer, once per refund number.
    pub async fn wallet_refund(
        &self,
        refund_no: &RefundNo,
        trade_no: &TradeNo,
        amount: Amount,
        at_ms: i64,
    ) -> StoreResult<WalletRefundOutcome> {
        if self.wallet_refund_exists(refund_no).await? {
            return Ok(WalletRefundOutcome::Refunded);
        }
        let mut tx = self.pool.begin().await.ctx("begin wallet refund")?;
        let payment = sqlx::query(
            "UPDATE wallet_payments SET refunded = refunded + $1
             WHERE trade_no = $2 AND refunded + $1 <= amount
             RETURNING account_id, merchant_id, currency",
        )
        .bind(amount.minor())
        .bind(trade_no.as_str())
        .fetch_optional(&mut *tx)
        .await
        .ctx("mark wallet payment refunded")?;
        let Some(payment) = payment else {
            tx.rollback().await.ctx("rollback wallet refund")?;
            return Ok(match self.wallet_payment(trade_no).await? {
                Some(_) => WalletRefundOutcome::Exceeds,
                None => WalletRefundOutcome::NoSuchPayment,
            });
        };
        let debited = sqlx::query(
            "UPDATE wallet_merchant_balances SET balance = balance - $1
             WHERE merchant_id = $2 AND currency = $3 AND balance >= $1",
        )
        .bind(amount.minor())
        .bind(get_string(&payment, "merchant_id")?)
        .bind(get_string(&payment, "currency")?)
        .execute(&mut *tx)
        .await
        .ctx("debit merchant receipts")?
        .rows_affected();
        if debited == 0 {
            tx.rollback().await.ctx("rollback wallet refund")?;
            return Ok(WalletRefundOutcome::MerchantShort);
        }
        sqlx::query(
            "UPDATE wallet_accounts SET balance = balance + $1, updated_at = $2 WHERE id = $3",
        )
        .bind(amount.minor())
        .bind(at_ms)
        .bind(get_string(&payment, "account_id")?)
        .execute(&mut *tx)
        .await
        .ctx("credit payer")?;
        sqlx::query(
            "INSERT INTO wallet_refunds (refund_no, trade_no, amount, at) VALUES ($1, $2, $3, $4)",
        )
        .bind(refund_no.as_str())
        .bind(trade_no.as_str())
        .bind(amount.minor())
        .bind(at_ms)
        .execute(&mut *tx)
        .await
        .ctx("record wallet refund")?;
        tx.commit().await.ctx("commit wallet refund")?;
        Ok(WalletRefundOutcome::Refunded)
    }

    pub async fn wallet_refund_exists(&self, refund_no: &RefundNo) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 AS one FROM wallet_refunds WHERE refund_no = $1")
            .bind(refund_no.as_str())
            .fetch_optional(&self.pool)
            .await
            .ctx("get wallet refund")?;
        Ok(row.is_some())
    }

    pub async fn wallet_totals(&self) -> StoreResult<WalletTotals> {
        let sum = |sql: &'static str| async move {
            let row = sqlx::query(sql)
                .fetch_one(&self.pool)
                .await
                .ctx("wallet totals")?;
            get_i64(&row, "total")
        };
        Ok(WalletTotals {
            payer_balances: sum("SELECT CAST(COALESCE(SUM(balance), 0) AS BIGINT) AS total FROM wallet_accounts").await?,
            merchant_receipts: sum("SELECT CAST(COALESCE(SUM(balance), 0) AS BIGINT) AS total FROM wallet_merchant_balances").await?,
            topups: sum("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS total FROM wallet_topups").await?,
        })
    }
}
