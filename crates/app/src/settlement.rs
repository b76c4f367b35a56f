//! Settlement and withdrawal (DESIGN §8, seed 002 资金结算方式): the daily T+N run, a
//! `Manual`-cycle merchant's request to settle, and withdrawals of available money.
//!
//! What settled money does depends on the merchant's settlement mode: in `platform` mode it
//! stays available unless the merchant has it withdrawn on settlement; in `direct` mode the
//! channel has already settled it to the merchant's own channel account, so the ledger's shadow
//! moves it on to the merchant's external account every time.

use crate::jobs::JobSettings;
use crate::maintenance::Outcome;
use crate::{App, AppError};
use paygate_api::admin::{SettlementRunView, SettlementView};
use paygate_api::format_time;
use paygate_api::withdraw::{SettlementRequestView, WithdrawView};
use paygate_domain::merchant_money::{MerchantMoney, SettlementCycle, SettlementMode};
use paygate_domain::settlement::{AfterSettling, BusinessDate, SettlementTrigger};
use paygate_domain::{Amount, Currency, MerchantId, Money, OutWithdrawNo, WithdrawNo};
use paygate_store::{Settled, SettlementRecord, SettlementRequest, WithdrawalRecord, Withdrawn};

/// How many settlements the operator's list shows, newest first.
const SETTLEMENTS_LISTED_MAX: i64 = 500;

/// What one day's run did, merchant by merchant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunReport {
    pub settled: u64,
    pub already_settled: u64,
    pub below_minimum: u64,
    pub failed: u64,
}

/// A merchant's request to withdraw available money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withdraw {
    pub out_withdraw_no: OutWithdrawNo,
    pub amount: Money,
}

fn after_settling(money: &MerchantMoney) -> AfterSettling {
    match (money.settlement_mode, money.withdraw_on_settlement) {
        (SettlementMode::Direct, _) | (SettlementMode::Platform, true) => AfterSettling::Withdraw,
        (SettlementMode::Platform, false) => AfterSettling::Keep,
    }
}

impl RunReport {
    pub fn view(&self, date: BusinessDate) -> SettlementRunView {
        SettlementRunView {
            business_date: date.to_string(),
            settled: self.settled,
            already_settled: self.already_settled,
            below_minimum: self.below_minimum,
            failed: self.failed,
        }
    }
}

pub fn settlement_view(record: &SettlementRecord) -> SettlementView {
    SettlementView {
        settlement_no: record.settlement_no.to_string(),
        merchant_id: record.merchant_id.to_string(),
        currency: record.currency.as_str().into(),
        business_date: record.business_date.to_string(),
        trigger: record.trigger.as_str().into(),
        amount: record.amount.to_major_string(record.currency),
        withdrawn: record.withdrawn.to_major_string(record.currency),
        settles_before: format_time(record.settles_before_ms),
        created_at: format_time(record.created_at_ms),
    }
}

pub fn withdraw_view(record: &WithdrawalRecord) -> WithdrawView {
    WithdrawView {
        withdraw_no: record.withdraw_no.clone(),
        out_withdraw_no: record.out_withdraw_no.clone(),
        amount: Money::new(record.amount, record.currency),
        created_at: format_time(record.created_at_ms),
    }
}

/// A settlement request's answer: the day's settlement, made now or earlier that day, or
/// nothing settled.
pub fn settlement_request_view(settled: &Settled, currency: Currency) -> SettlementRequestView {
    match settled {
        Settled::Settled(record) | Settled::AlreadySettled(record) => SettlementRequestView {
            settlement_status: "SETTLED".into(),
            settlement_no: Some(record.settlement_no.to_string()),
            business_date: Some(record.business_date.to_string()),
            amount: Money::new(record.amount, record.currency),
        },
        Settled::BelowMinimum(_) | Settled::Nothing => SettlementRequestView {
            settlement_status: "NOTHING_TO_SETTLE".into(),
            settlement_no: None,
            business_date: None,
            amount: Money::new(Amount::ZERO, currency),
        },
    }
}

impl App {
    /// The latest settlements, optionally of one merchant, for the operator.
    pub async fn settlement_views(
        &self,
        merchant: Option<&MerchantId>,
    ) -> Result<Vec<SettlementView>, AppError> {
        let records = self
            .store()
            .settlements(merchant, SETTLEMENTS_LISTED_MAX)
            .await?;
        Ok(records.iter().map(settlement_view).collect())
    }

    /// Day `date`'s automatic settlement of one merchant's `currency`; `Nothing` for a
    /// `Manual`-cycle merchant.
    pub async fn settle_day(
        &self,
        merchant: &MerchantId,
        currency: Currency,
        date: BusinessDate,
    ) -> Result<Settled, AppError> {
        let money = self.store().merchant_money(merchant).await?;
        let SettlementCycle::Auto { days, minimum } = money.cycle else {
            return Ok(Settled::Nothing);
        };
        let cutoff = self.settings().settlement_cutoff;
        let request = SettlementRequest {
            merchant: merchant.clone(),
            currency,
            date,
            trigger: SettlementTrigger::Auto,
            settles_before_ms: cutoff.settles_before_ms(date, days),
            minimum,
            after: after_settling(&money),
            now_ms: self.clock().now_ms(),
        };
        Ok(self.store().settle(&request).await?)
    }

    /// Runs day `date`'s settlement for every merchant ever paid. Safe to run again or from
    /// several processes at once: each merchant's day settles at most once.
    pub async fn run_settlement_day(&self, date: BusinessDate) -> Result<RunReport, AppError> {
        let mut report = RunReport::default();
        for (merchant, currency) in self.store().paid_merchant_currencies().await? {
            match self.settle_day(&merchant, currency, date).await {
                Ok(Settled::Settled(_)) => report.settled += 1,
                Ok(Settled::AlreadySettled(_)) => report.already_settled += 1,
                Ok(Settled::BelowMinimum(_)) => report.below_minimum += 1,
                Ok(Settled::Nothing) => {}
                Err(error) => {
                    tracing::warn!(%merchant, %currency, %date, %error, "settlement failed");
                    report.failed += 1;
                }
            }
        }
        Ok(report)
    }

    /// A `Manual`-cycle merchant asks to settle everything the channels have cleared: what was
    /// posted before the latest cut-off. At most once a business day.
    pub async fn request_settlement(
        &self,
        merchant: &MerchantId,
        currency: Currency,
    ) -> Result<Settled, AppError> {
        let money = self.store().merchant_money(merchant).await?;
        if money.cycle != SettlementCycle::Manual {
            return Err(AppError::WithdrawalNotAllowed(
                "this merchant settles automatically (T+N); only a manual-cycle merchant may \
                 request settlement"
                    .into(),
            ));
        }
        let cutoff = self.settings().settlement_cutoff;
        let now_ms = self.clock().now_ms();
        let date = cutoff.due_date(now_ms);
        let request = SettlementRequest {
            merchant: merchant.clone(),
            currency,
            date,
            trigger: SettlementTrigger::Request,
            settles_before_ms: cutoff.instant_ms(date),
            minimum: Amount::ZERO,
            after: after_settling(&money),
            now_ms,
        };
        Ok(self.store().settle(&request).await?)
    }

    /// Withdraws available money to the merchant's own account; idempotent on
    /// `out_withdraw_no`, refused with 1005 (nothing written) when available money is short.
    pub async fn withdraw(
        &self,
        merchant: &MerchantId,
        request: Withdraw,
    ) -> Result<WithdrawalRecord, AppError> {
        let now_ms = self.clock().now_ms();
        let new = WithdrawalRecord {
            withdraw_no: WithdrawNo::mint(now_ms),
            merchant_id: merchant.clone(),
            out_withdraw_no: request.out_withdraw_no,
            currency: request.amount.currency,
            amount: request.amount.amount,
            created_at_ms: now_ms,
        };
        match self.store().withdraw(&new).await? {
            Withdrawn::Created(record) => Ok(record),
            Withdrawn::Replay(record) => {
                if (record.amount, record.currency) != (new.amount, new.currency) {
                    return Err(AppError::KeyReused {
                        key: "out_withdraw_no",
                        field: "amount",
                    });
                }
                Ok(record)
            }
            Withdrawn::Insufficient { .. } => Err(AppError::InsufficientBalance),
        }
    }

    pub async fn withdrawal(
        &self,
        merchant: &MerchantId,
        out_withdraw_no: &OutWithdrawNo,
    ) -> Result<WithdrawalRecord, AppError> {
        self.store()
            .get_withdrawal(merchant, out_withdraw_no)
            .await?
            .ok_or(AppError::OrderNotFound)
    }
}

/// One step of the settlement job: once the latest day's cut-off has passed, the process that
/// takes the day's lease runs it; the others skip it.
pub async fn settlement_step(app: &App, settings: &JobSettings) -> Result<Outcome, AppError> {
    let now_ms = app.clock().now_ms();
    let date = app.settings().settlement_cutoff.due_date(now_ms);
    let owner = &settings.worker_id;
    if !app
        .store()
        .claim_settlement_run(date, owner, now_ms, settings.lease_ms)
        .await?
    {
        return Ok(Outcome::Idle);
    }
    let report = app.run_settlement_day(date).await?;
    if report.failed > 0 {
        // The lease expires and the day runs again; settled merchants are skipped then.
        tracing::warn!(%date, failed = report.failed, "settlement run incomplete");
        return Ok(Outcome::DidWork(report.settled));
    }
    app.store()
        .finish_settlement_run(date, owner, app.clock().now_ms())
        .await?;
    tracing::info!(%date, settled = report.settled, carried = report.below_minimum, "settlement run done");
    Ok(Outcome::DidWork(report.settled))
}
