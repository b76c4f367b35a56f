//! The stored-value wallet's own book. It behaves like an upstream channel would: a payment and
//! a refund are each one transaction keyed by our trade or refund number, so a retried call
//! returns the first outcome instead of moving money twice.

use crate::rows::{get_amount, get_i64, get_string};
use crate::{Ctx, Store, StoreResult};
use paygate_domain::{Amount, Currency, MerchantId, RefundNo, TradeNo, WalletAccountId};
use sqlx::{Any, AnyConnection, Transaction};

fn wallet_trade_no(trade_no: &TradeNo) -> String {
    format!("W{}", trade_no.as_str())
}

async fn payment_of(
    conn: &mut AnyConnection,
    trade_no: &TradeNo,
) -> StoreResult<Option<WalletPayment>> {
    let row = sqlx::query(
        "SELECT wallet_trade_no, amount, refunded, paid_at FROM wallet_payments
         WHERE trade_no = $1",
    )
    .bind(trade_no.as_str())
    .fetch_optional(conn)
    .await
    .ctx("get wallet payment")?;
    row.map(|r| {
        let payment = WalletPayment {
            wallet_trade_no: get_string(&r, "wallet_trade_no")?,
            amount: get_amount(&r, "amount")?,
            refunded: get_amount(&r, "refunded")?,
            paid_at_ms: get_i64(&r, "paid_at")?,
        };
        debug_assert!(
            payment.refunded <= payment.amount,
            "wallet payment {} refunded {:?} of {:?}",
            payment.wallet_trade_no,
            payment.refunded,
            payment.amount
        );
        Ok(payment)
    })
    .transpose()
}

/// The rest of a debit's transaction: the merchant's receipts, the payment row, the code used.
/// The code's row lock serialises every charge of one trade, so the payment row is new here.
async fn credit_and_record(
    tx: &mut Transaction<'static, Any>,
    charge: &WalletCharge<'_>,
    account: &str,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO wallet_merchant_balances (merchant_id, currency, balance)
         VALUES ($1, $2, $3)
         ON CONFLICT (merchant_id, currency)
         DO UPDATE SET balance = wallet_merchant_balances.balance + excluded.balance",
    )
    .bind(charge.merchant.as_str())
    .bind(charge.currency.as_str())
    .bind(charge.amount.minor())
    .execute(&mut **tx)
    .await
    .ctx("credit merchant receipts")?;
    sqlx::query(
        "INSERT INTO wallet_payments (trade_no, wallet_trade_no, account_id, merchant_id,
                                      currency, amount, refunded, paid_at)
         VALUES ($1, $2, $3, $4, $5, $6, 0, $7)",
    )
    .bind(charge.trade_no.as_str())
    .bind(wallet_trade_no(charge.trade_no))
    .bind(account)
    .bind(charge.merchant.as_str())
    .bind(charge.currency.as_str())
    .bind(charge.amount.minor())
    .bind(charge.at_ms)
    .execute(&mut **tx)
    .await
    .ctx("record wallet payment")?;
    sqlx::query("UPDATE wallet_paycodes SET used_at = $1 WHERE code_sha256 = $2")
        .bind(charge.at_ms)
        .bind(charge.code_sha256)
        .execute(&mut **tx)
        .await
        .ctx("mark pay code used")?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletPayment {
    pub wallet_trade_no: String,
    pub amount: Amount,
    pub refunded: Amount,
    pub paid_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalletPayOutcome {
    Paid(WalletPayment),
    /// The code was valid and is now bound to the trade; the account cannot cover the amount.
    InsufficientBalance,
    /// The code is unknown, expired, or bound to another trade.
    PayCodeInvalid,
}

/// One charge of a wallet: the trade, the digest of the payer's pay code, and the money.
#[derive(Debug, Clone)]
pub struct WalletCharge<'a> {
    pub trade_no: &'a TradeNo,
    pub code_sha256: &'a str,
    pub merchant: &'a MerchantId,
    pub currency: Currency,
    pub amount: Amount,
    pub at_ms: i64,
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

    /// Moves the charge's amount from the pay code's account to the merchant's receipts, once
    /// per trade number, in one transaction: the code is bound to the trade (the first trade
    /// wins; only that trade may present it again, even after it expired), then the payer is
    /// debited. An unknown, expired or foreign code says nothing about any account.
    pub async fn wallet_pay(&self, charge: &WalletCharge<'_>) -> StoreResult<WalletPayOutcome> {
        let mut tx = self.pool.begin().await.ctx("begin wallet pay")?;
        let bound = sqlx::query(
            "UPDATE wallet_paycodes SET trade_no = $1
             WHERE code_sha256 = $2
               AND (trade_no = $1 OR (trade_no IS NULL AND expires_at > $3))
             RETURNING account_id",
        )
        .bind(charge.trade_no.as_str())
        .bind(charge.code_sha256)
        .bind(charge.at_ms)
        .fetch_optional(&mut *tx)
        .await
        .ctx("bind pay code")?;
        let Some(bound) = bound else {
            tx.rollback().await.ctx("rollback wallet pay")?;
            return Ok(WalletPayOutcome::PayCodeInvalid);
        };
        // A retry of this trade after its charge committed: report the first outcome. Read on
        // the transaction's connection, which on PostgreSQL waited for that commit on the code.
        if let Some(done) = payment_of(&mut tx, charge.trade_no).await? {
            tx.commit().await.ctx("commit wallet pay retry")?;
            return Ok(WalletPayOutcome::Paid(done));
        }
        let account = get_string(&bound, "account_id")?;
        let debited = sqlx::query(
            "UPDATE wallet_accounts SET balance = balance - $1, updated_at = $2
             WHERE id = $3 AND currency = $4 AND balance >= $1",
        )
        .bind(charge.amount.minor())
        .bind(charge.at_ms)
        .bind(&account)
        .bind(charge.currency.as_str())
        .execute(&mut *tx)
        .await
        .ctx("debit payer")?
        .rows_affected();
        if debited == 0 {
            // The binding stays: the code belongs to this trade, whose retry may pay after a top-up.
            tx.commit().await.ctx("commit short wallet pay")?;
            return Ok(WalletPayOutcome::InsufficientBalance);
        }
        credit_and_record(&mut tx, charge, &account).await?;
        tx.commit().await.ctx("commit wallet pay")?;
        Ok(WalletPayOutcome::Paid(WalletPayment {
            wallet_trade_no: wallet_trade_no(charge.trade_no),
            amount: charge.amount,
            refunded: Amount::ZERO,
            paid_at_ms: charge.at_ms,
        }))
    }

    pub async fn wallet_payment(&self, trade_no: &TradeNo) -> StoreResult<Option<WalletPayment>> {
        let mut conn = self.pool.acquire().await.ctx("acquire")?;
        payment_of(&mut conn, trade_no).await
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
        let totals = WalletTotals {
            payer_balances: sum("SELECT CAST(COALESCE(SUM(balance), 0) AS BIGINT) AS total FROM wallet_accounts").await?,
            merchant_receipts: sum("SELECT CAST(COALESCE(SUM(balance), 0) AS BIGINT) AS total FROM wallet_merchant_balances").await?,
            topups: sum("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS total FROM wallet_topups").await?,
        };
        // Balances never go negative; the three sums are separate reads, so their equation is
        // for a quiet book to check (tests do), not for here.
        debug_assert!(
            totals.payer_balances >= 0 && totals.merchant_receipts >= 0 && totals.topups >= 0,
            "negative wallet totals: {totals:?}"
        );
        Ok(totals)
    }
}
