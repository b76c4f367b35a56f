//! What operators see of the ledger (issue #11): every account's totals with the per-currency
//! imbalance (always zero), and an account's statement page by page.

use crate::{App, AppError};
use paygate_api::admin::{
    AccountBalanceView, CurrencyImbalance, LedgerBalancesView, StatementLineView, StatementView,
};
use paygate_api::format_time;
use paygate_domain::ledger::Account;
use paygate_domain::{Currency, MerchantId};

/// The most statement lines one page holds.
pub const STATEMENT_LINES_MAX: i64 = 1_000;

impl App {
    /// Every account's totals (a merchant's own and its receivers' only, with `merchant`), and
    /// the whole ledger's imbalance per currency.
    pub async fn ledger_balances(
        &self,
        merchant: Option<&MerchantId>,
    ) -> Result<LedgerBalancesView, AppError> {
        let accounts = self.store().ledger_balances(merchant).await?;
        let imbalance = self.store().ledger_imbalance().await?;
        Ok(LedgerBalancesView {
            accounts: accounts
                .into_iter()
                .map(|a| AccountBalanceView {
                    account: a.account.to_string(),
                    currency: a.currency.as_str().into(),
                    debits: a.debits,
                    credits: a.credits,
                    balance: a.balance,
                })
                .collect(),
            imbalance: imbalance
                .into_iter()
                .map(|(currency, net)| CurrencyImbalance {
                    currency: currency.as_str().into(),
                    imbalance: net,
                })
                .collect(),
        })
    }

    /// The entries of `account` in `currency` after entry `after`, oldest first, at most
    /// `limit` (1 to `STATEMENT_LINES_MAX`).
    pub async fn account_statement(
        &self,
        account: &str,
        currency: Currency,
        after: i64,
        limit: i64,
    ) -> Result<StatementView, AppError> {
        let parsed: Account =
            account
                .parse()
                .map_err(|e: paygate_domain::ledger::LedgerError| {
                    AppError::param("account", e.to_string())
                })?;
        if !(1..=STATEMENT_LINES_MAX).contains(&limit) {
            return Err(AppError::param(
                "limit",
                format!("must be 1 to {STATEMENT_LINES_MAX}"),
            ));
        }
        if after < 0 {
            return Err(AppError::param("after", "must not be negative"));
        }
        let lines = self
            .store()
            .account_statement(&parsed, currency, after, limit)
            .await?;
        let next_after = (lines.len() as i64 == limit)
            .then(|| lines.last().map(|l| l.entry_id))
            .flatten();
        Ok(StatementView {
            account: parsed.to_string(),
            currency: currency.as_str().into(),
            lines: lines
                .into_iter()
                .map(|l| StatementLineView {
                    entry_id: l.entry_id,
                    posting_kind: l.posting_kind.as_str().into(),
                    reference: l.reference,
                    kind: l.kind.as_str().into(),
                    debit: l.debit,
                    credit: l.credit,
                    at: format_time(l.at_ms),
                })
                .collect(),
            next_after,
        })
    }
}
