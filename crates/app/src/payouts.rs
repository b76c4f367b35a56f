//! Payouts (代付 / 转代付, DESIGN §8). A payout spends the merchant's *available* ledger balance
//! in both settlement modes: in `platform` mode that balance is money the platform holds; in
//! `direct` mode the ledger's available balance shadows the merchant's own channel account,
//! which is what the channel's transfer product (WeChat 商家转账, Alipay
//! `alipay.fund.trans.uni.transfer`) pays from.
//!
//! Order of checks, each refusal writing nothing: the notify URL, the rail, the wallet account,
//! eligibility (rules as data, `PayoutPolicy`), then under the merchant's ledger lock the
//! replay of `out_payout_no`, the limits and the balance (`Store::accept_payout`). The accepted
//! payout goes to its rail; a bank answers later, through the status poller (`POLL_PAYOUT`).

use crate::commands::CreatePayout;
use crate::idempotency::payout_difference;
use crate::jobs::POLL_PAYOUT;
use crate::notify::target::literal_ip;
use crate::{App, AppError, MerchantKeys};
use paygate_api::field;
use paygate_api::payout::PayoutView;
use paygate_channels::payout::{PayoutOrder, PayoutRail, RailOutcome};
use paygate_channels::ChannelError;
use paygate_domain::ledger::LedgerName;
use paygate_domain::payout::{Payee, PayeeType, PayoutEvent, PayoutRecord, PayoutStatus};
use paygate_domain::payout_rules::{LimitRefusal, PayoutLimits};
use paygate_domain::{Money, PayoutNo};
use paygate_store::{Outbox, PayoutAcceptance, PayoutRef};
use serde_json::Value;
use std::sync::Arc;

impl App {
    pub async fn create_payout(
        &self,
        merchant: &MerchantKeys,
        cmd: CreatePayout,
    ) -> Result<PayoutRecord, AppError> {
        let record = &merchant.record;
        if let Some(ip) = cmd.notify_url.as_deref().and_then(literal_ip) {
            self.private_targets(record).check(ip).map_err(|e| {
                AppError::param(field::NOTIFY_URL, format!("must not point at {e}"))
            })?;
        }
        let payee_type = cmd.payee.payee_type();
        let rail = self.payout_rail(payee_type).ok_or_else(|| {
            AppError::PayoutNotEligible(format!("payouts to {payee_type} are not available"))
        })?;
        let now = self.clock().now_ms();
        let payout_no = PayoutNo::mint(now);
        let payout = PayoutRecord {
            payee: cmd.payee.seal(&self.inner.master_key, &payout_no),
            payout_no,
            merchant_id: record.id.clone(),
            out_payout_no: cmd.out_payout_no.clone(),
            currency: cmd.money.currency,
            amount: cmd.money.amount,
            fee: self.settings().payouts.fee(payee_type),
            rail: LedgerName::parse(rail.name())
                .map_err(|e| AppError::Internal(anyhow::anyhow!("payout rail name: {e}")))?,
            remark: cmd.remark.clone(),
            notify_url: cmd.notify_url.clone(),
            status: PayoutStatus::Processing,
            reason: None,
            created_at_ms: now,
            finished_at_ms: None,
            returned_at_ms: None,
        };
        let by_theirs = PayoutRef::OutPayoutNo(cmd.out_payout_no.clone());
        if let Some(existing) = self.store().find_payout(&record.id, &by_theirs).await? {
            return self.replay(existing, &payout, &cmd.payee);
        }
        self.check_payee(&payout).await?;
        self.check_eligibility(&payout).await?;
        let limits = self.payout_limits(&record.id).await?;
        match self.store().accept_payout(&payout, &limits).await? {
            PayoutAcceptance::New(payout) => self.submit_payout(rail, payout).await,
            PayoutAcceptance::Existing(existing) => self.replay(existing, &payout, &cmd.payee),
            PayoutAcceptance::Refused(LimitRefusal::CallRate { max }) => {
                Err(AppError::PayoutTooFrequent { max })
            }
            PayoutAcceptance::Refused(refusal) => {
                Err(AppError::PayoutLimitExceeded(refusal.to_string()))
            }
            PayoutAcceptance::Overdraft { .. } => Err(AppError::InsufficientBalance),
        }
    }

    /// A wallet payee must be an account of our wallet in the payout's currency.
    async fn check_payee(&self, payout: &PayoutRecord) -> Result<(), AppError> {
        if let Payee::Wallet(account) = &payout.payee {
            if self.store().wallet_balance(account).await?.is_none() {
                return Err(AppError::param(
                    paygate_api::payout::ACCOUNT_ID,
                    "no such wallet account",
                ));
            }
        }
        Ok(())
    }

    async fn check_eligibility(&self, payout: &PayoutRecord) -> Result<(), AppError> {
        let now = payout.created_at_ms;
        for rule in self.settings().payouts.rules_for(payout.payee.payee_type()) {
            let history = self
                .store()
                .merchant_history(&payout.merchant_id, rule.trade_window_days, now)
                .await?
                .ok_or_else(|| AppError::PayoutNotEligible("unknown merchant".into()))?;
            rule.check(&history, now)
                .map_err(|e| AppError::PayoutNotEligible(e.to_string()))?;
        }
        Ok(())
    }

    /// The merchant's own limits, or the configured defaults.
    pub async fn payout_limits(
        &self,
        merchant: &paygate_domain::MerchantId,
    ) -> Result<PayoutLimits, AppError> {
        Ok(self
            .store()
            .payout_limits(merchant)
            .await?
            .unwrap_or(self.settings().payouts.default_limits))
    }

    pub async fn set_payout_limits(
        &self,
        merchant: &paygate_domain::MerchantId,
        limits: &PayoutLimits,
    ) -> Result<PayoutLimits, AppError> {
        if self.store().get_merchant(merchant).await?.is_none() {
            return Err(AppError::param("merchant_id", "no such merchant"));
        }
        let now = self.clock().now_ms();
        self.store()
            .set_payout_limits(merchant, limits, now)
            .await?;
        self.payout_limits(merchant).await
    }

    /// The payout as its rail sees it: the one place a payee's card number is opened.
    fn payout_order(&self, payout: &PayoutRecord) -> Result<PayoutOrder, AppError> {
        let payee = payout
            .payee
            .open(&self.inner.master_key, &payout.payout_no)
            .map_err(|e| {
                AppError::Internal(anyhow::anyhow!(
                    "payout {}'s card number does not open: {e}",
                    payout.payout_no
                ))
            })?;
        Ok(PayoutOrder {
            payout_no: payout.payout_no.clone(),
            money: Money::new(payout.amount, payout.currency),
            payee,
            accepted_at_ms: payout.created_at_ms,
            now_ms: self.clock().now_ms(),
        })
    }

    /// The first payout for this `out_payout_no`, unless the request differs from it. The
    /// requested card number is sealed for the first payout, so it compares by its digest.
    fn replay(
        &self,
        existing: PayoutRecord,
        asked: &PayoutRecord,
        asked_payee: &Payee,
    ) -> Result<PayoutRecord, AppError> {
        let asked = PayoutRecord {
            payee: asked_payee.seal(&self.inner.master_key, &existing.payout_no),
            ..asked.clone()
        };
        match payout_difference(&existing, &asked) {
            Some(field) => Err(AppError::KeyReused {
                key: paygate_api::payout::OUT_PAYOUT_NO,
                field,
            }),
            None => Ok(existing),
        }
    }

    /// Sends an accepted payout to its rail and records a definitive answer; anything else
    /// leaves it PROCESSING for the poller.
    async fn submit_payout(
        &self,
        rail: Arc<dyn PayoutRail>,
        payout: PayoutRecord,
    ) -> Result<PayoutRecord, AppError> {
        let outcome = rail.submit(&self.payout_order(&payout)?).await;
        match outcome {
            Ok(RailOutcome::Succeeded) => {
                self.finish_payout(&payout, PayoutEvent::Succeeded, None)
                    .await?;
                if rail.may_return() {
                    self.schedule_payout_poll(&payout).await?;
                }
            }
            Ok(RailOutcome::Failed(why)) | Err(ChannelError::Rejected(why)) => {
                tracing::warn!(payout_no = %payout.payout_no, payee = %payout.payee.shown_account(), %why, "payout failed at its rail");
                self.finish_payout(&payout, PayoutEvent::Failed, Some(&why))
                    .await?;
            }
            Ok(RailOutcome::Processing | RailOutcome::Returned(_))
            | Err(ChannelError::Unknown(_) | ChannelError::Unsupported) => {
                self.schedule_payout_poll(&payout).await?;
            }
        }
        self.reload_payout(&payout.payout_no).await
    }

    async fn schedule_payout_poll(&self, payout: &PayoutRecord) -> Result<(), AppError> {
        let now = self.clock().now_ms();
        let first = paygate_domain::schedule::RetrySchedule::status_poll().delays_ms[0];
        Ok(self
            .store()
            .schedule_poll(POLL_PAYOUT, payout.payout_no.as_str(), now, now + first)
            .await?)
    }

    /// Moves the payout by `event` with its posting and notification; a payout another process
    /// moved first is left as it is.
    async fn finish_payout(
        &self,
        payout: &PayoutRecord,
        event: PayoutEvent,
        reason: Option<&str>,
    ) -> Result<(), AppError> {
        let now = self.clock().now_ms();
        let to = payout
            .status
            .apply(event)
            .map_err(|e| AppError::Internal(e.into()))?;
        let mut ended = payout.clone();
        ended.status = to;
        ended.reason = reason.map(str::to_owned).or(ended.reason);
        match event {
            PayoutEvent::Returned => ended.returned_at_ms = Some(now),
            PayoutEvent::Succeeded | PayoutEvent::Failed => ended.finished_at_ms = Some(now),
        }
        let outbox = payout_notification(&ended);
        let moved = self
            .store()
            .finish_payout(&payout.payout_no, event, reason, now, outbox.as_ref())
            .await?;
        if moved.is_some() && outbox.is_some() {
            self.announce_outbox();
        }
        Ok(())
    }

    async fn reload_payout(&self, payout_no: &PayoutNo) -> Result<PayoutRecord, AppError> {
        self.store()
            .get_payout(payout_no)
            .await?
            .ok_or(AppError::PayoutNotFound)
    }

    pub async fn find_payout(
        &self,
        merchant: &MerchantKeys,
        by: &PayoutRef,
    ) -> Result<PayoutRecord, AppError> {
        self.store()
            .find_payout(&merchant.record.id, by)
            .await?
            .ok_or(AppError::PayoutNotFound)
    }

    /// One poll of a payout: true once nothing more can happen to it.
    pub(crate) async fn poll_payout(&self, subject: &str) -> Result<bool, AppError> {
        let Ok(payout_no) = PayoutNo::parse(subject) else {
            return Ok(true);
        };
        let Some(payout) = self.store().get_payout(&payout_no).await? else {
            return Ok(true);
        };
        let Some(rail) = self.payout_rail(payout.payee.payee_type()) else {
            return Ok(false);
        };
        let watching = match payout.status {
            PayoutStatus::Processing => true,
            PayoutStatus::Success => rail.may_return(),
            PayoutStatus::Failed | PayoutStatus::Returned => false,
        };
        if !watching {
            return Ok(true);
        }
        let outcome = match rail.query(&self.payout_order(&payout)?).await {
            Ok(outcome) => outcome,
            Err(error) => {
                tracing::info!(%payout_no, %error, "payout query inconclusive");
                return Ok(false);
            }
        };
        match (payout.status, outcome) {
            (PayoutStatus::Processing, RailOutcome::Succeeded) => {
                self.finish_payout(&payout, PayoutEvent::Succeeded, None)
                    .await?;
                Ok(!rail.may_return())
            }
            (PayoutStatus::Processing, RailOutcome::Failed(why)) => {
                self.finish_payout(&payout, PayoutEvent::Failed, Some(&why))
                    .await?;
                Ok(true)
            }
            // The bank paid and sent it back before we first asked: both steps are recorded.
            (PayoutStatus::Processing, RailOutcome::Returned(why)) => {
                self.finish_payout(&payout, PayoutEvent::Succeeded, None)
                    .await?;
                let paid = self.reload_payout(&payout_no).await?;
                self.finish_payout(&paid, PayoutEvent::Returned, Some(&why))
                    .await?;
                Ok(true)
            }
            (PayoutStatus::Success, RailOutcome::Returned(why)) => {
                self.finish_payout(&payout, PayoutEvent::Returned, Some(&why))
                    .await?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn payout_rail(&self, payee_type: PayeeType) -> Option<Arc<dyn PayoutRail>> {
        self.payout_rails().get(&payee_type).cloned()
    }

    pub fn payout_view(&self, payout: &PayoutRecord) -> serde_json::Map<String, Value> {
        PayoutView::of(payout).to_fields()
    }
}

/// The merchant's notification of a payout that reached `ended.status`, if it gave a URL.
fn payout_notification(ended: &PayoutRecord) -> Option<Outbox> {
    let kind = ended.status.notify_kind()?;
    let notify_url = ended.notify_url.clone()?;
    let mut payload = PayoutView::of(ended).to_fields();
    payload.insert(field::NOTIFY_TYPE.into(), Value::from(kind));
    Some(Outbox {
        kind,
        notify_url,
        payload: Value::Object(payload).to_string(),
    })
}
