//! The jobs that keep every order's state true (DESIGN §7): closing expired orders (at the
//! channel first, then here, then telling the merchant) and querying the channel about outcomes
//! we do not know (a timed-out call, a payer still confirming, a refund without notification).

use crate::maintenance::Outcome;
use crate::payments::{close_at_channel, CloseNotice};
use crate::{App, AppError};
use paygate_channels::rules::ChannelRules;
use paygate_channels::{Channel, ChannelError, RefundOutcome, TradeState};
use paygate_domain::schedule::{NextAttempt, RetrySchedule};
use paygate_domain::{PayFlow, RefundNo, RefundStatus, TradeNo};
use paygate_store::{OrderRecord, PollRecord, RefundFinish, RefundRecord};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub const POLL_ORDER: &str = "ORDER";
pub const POLL_REFUND: &str = "REFUND";
/// A payout whose rail answers later, watched after its success while the rail may still
/// return it.
pub const POLL_PAYOUT: &str = "PAYOUT";

#[derive(Debug, Clone)]
pub struct JobSettings {
    pub worker_id: String,
    pub batch_max: i64,
    pub lease_ms: i64,
    pub pause_ms: u64,
}

impl Default for JobSettings {
    fn default() -> Self {
        JobSettings {
            worker_id: format!(
                "jobs-{}-{:06x}",
                std::process::id(),
                rand::random::<u32>() & 0xff_ffff
            ),
            batch_max: 100,
            lease_ms: 60_000,
            pause_ms: 1_000,
        }
    }
}

fn first_poll_delay_ms() -> i64 {
    RetrySchedule::status_poll().delays_ms[0]
}

impl App {
    pub(crate) async fn schedule_order_poll(&self, order: &OrderRecord) -> Result<(), AppError> {
        let now = self.clock().now_ms();
        self.store()
            .schedule_poll(
                POLL_ORDER,
                order.trade_no.as_str(),
                now,
                now + first_poll_delay_ms(),
            )
            .await?;
        Ok(())
    }

    pub(crate) async fn cancel_order_poll(&self, trade_no: &TradeNo) -> Result<(), AppError> {
        Ok(self
            .store()
            .finish_poll(POLL_ORDER, trade_no.as_str())
            .await?)
    }

    pub(crate) async fn schedule_refund_poll(&self, refund: &RefundRecord) -> Result<(), AppError> {
        let now = self.clock().now_ms();
        self.store()
            .schedule_poll(
                POLL_REFUND,
                refund.refund_no.as_str(),
                now,
                now + first_poll_delay_ms(),
            )
            .await?;
        Ok(())
    }

    /// Closes one expired order: at the channel first, so it can no longer be paid there. If the
    /// channel refuses because it was paid meanwhile, the payment wins and is recorded.
    pub async fn expire_order(&self, order: OrderRecord) -> Result<OrderRecord, AppError> {
        let channel = self
            .channel(order.channel_pay_type())
            .ok_or_else(|| AppError::pay_type_not_enabled(order.channel_pay_type()))?
            .clone();
        match close_at_channel(channel.as_ref(), &order).await {
            Ok(()) | Err(ChannelError::Unsupported) => {
                self.settle_with(order, TradeState::Closed, CloseNotice::Notify)
                    .await
            }
            Err(ChannelError::Rejected(_)) => {
                let state = channel
                    .query(&order.trade_no)
                    .await
                    .map_err(|e| AppError::Busy(e.to_string()))?;
                let state = match state {
                    TradeState::NotFound | TradeState::WaitingPayment => TradeState::Closed,
                    other => other,
                };
                self.settle_with(order, state, CloseNotice::Notify).await
            }
            Err(ChannelError::Unknown(why)) => Err(AppError::Busy(why)),
        }
    }

    /// Looks at one poll: settles it from the channel's answer or schedules the next query.
    async fn poll_once(&self, poll: &PollRecord, owner: &str) -> Result<(), AppError> {
        let settled = match poll.kind.as_str() {
            POLL_ORDER => self.poll_order(&poll.subject).await?,
            POLL_REFUND => self.poll_refund(&poll.subject).await?,
            POLL_PAYOUT => self.poll_payout(&poll.subject).await?,
            other => {
                tracing::error!(kind = other, "unknown poll kind; dropping it");
                true
            }
        };
        if settled {
            return Ok(self.store().finish_poll(&poll.kind, &poll.subject).await?);
        }
        let now = self.clock().now_ms();
        // The channel call whose outcome was unknown counts as the first attempt, so the
        // queries follow the schedule's 5 s, 10 s, 20 s... from there.
        let attempts = poll.attempts as u32 + 2;
        match RetrySchedule::status_poll().after_failure(attempts, poll.first_at_ms, now) {
            NextAttempt::At(at) => self.store().reschedule_poll(poll, owner, at).await?,
            // Past the schedule: the expiry job (orders) or an operator (refunds) takes over.
            NextAttempt::GiveUp => {
                tracing::warn!(kind = %poll.kind, subject = %poll.subject, "status still unknown; polling stops");
                self.store().finish_poll(&poll.kind, &poll.subject).await?
            }
        }
        Ok(())
    }

    /// True when the order's outcome is settled (or polling is moot).
    async fn poll_order(&self, subject: &str) -> Result<bool, AppError> {
        let Ok(trade_no) = TradeNo::parse(subject) else {
            return Ok(true);
        };
        let Some(order) = self.store().get_order(&trade_no).await? else {
            return Ok(true);
        };
        if !order.status.is_unpaid_open() {
            return Ok(true);
        }
        let channel = self
            .channel(order.channel_pay_type())
            .ok_or_else(|| AppError::pay_type_not_enabled(order.channel_pay_type()))?
            .clone();
        let state = match channel.query(&trade_no).await {
            Ok(state) => state,
            Err(error) => {
                tracing::info!(%trade_no, %error, "status query inconclusive");
                return Ok(false);
            }
        };
        if self.pay_code_wait_over(&order, &state, channel.info().rules) {
            return self.cancel_pay_code_charge(channel.as_ref(), order).await;
        }
        let order = self.settle(order, state).await?;
        Ok(!order.status.is_unpaid_open())
    }

    /// Whether a pay-code charge has waited for the payer's confirmation as long as its
    /// channel allows.
    fn pay_code_wait_over(
        &self,
        order: &OrderRecord,
        state: &TradeState,
        rules: Option<&ChannelRules>,
    ) -> bool {
        let waiting = matches!(
            state,
            TradeState::PayerConfirming | TradeState::WaitingPayment
        );
        let waited_ms = self.clock().now_ms() - order.created_at_ms;
        match rules {
            Some(rules) if order.channel_pay_type().flow() == PayFlow::PayCode && waiting => {
                waited_ms >= rules.pay_code_wait_secs * 1000
            }
            _ => false,
        }
    }

    /// Cancels (reverses) a pay-code charge the payer never confirmed, then closes the order
    /// and tells the merchant. An unanswered cancel is tried again at the next poll.
    async fn cancel_pay_code_charge(
        &self,
        channel: &dyn Channel,
        order: OrderRecord,
    ) -> Result<bool, AppError> {
        match channel.cancel(&order.trade_no).await {
            Ok(()) => {
                tracing::info!(trade_no = %order.trade_no, "payer never confirmed; charge cancelled");
                let order = self
                    .settle_with(order, TradeState::Closed, CloseNotice::Notify)
                    .await?;
                Ok(!order.status.is_unpaid_open())
            }
            Err(error) => {
                tracing::warn!(trade_no = %order.trade_no, %error, "cancelling the charge failed; will retry");
                Ok(false)
            }
        }
    }

    async fn poll_refund(&self, subject: &str) -> Result<bool, AppError> {
        let Ok(refund_no) = RefundNo::parse(subject) else {
            return Ok(true);
        };
        let Some(refund) = self.store().get_refund(&refund_no).await? else {
            return Ok(true);
        };
        if refund.status != RefundStatus::Processing {
            return Ok(true);
        }
        let order = self.reload(&refund.trade_no).await?;
        let channel = self
            .channel(order.channel_pay_type())
            .ok_or_else(|| AppError::pay_type_not_enabled(order.channel_pay_type()))?
            .clone();
        let finish = match channel.query_refund(&refund_no, &refund.trade_no).await {
            Ok(RefundOutcome::Succeeded { channel_refund_no }) => {
                RefundFinish::Succeeded { channel_refund_no }
            }
            Ok(RefundOutcome::Failed(_)) | Err(ChannelError::Rejected(_)) => RefundFinish::Failed,
            Ok(RefundOutcome::Processing)
            | Err(ChannelError::Unknown(_))
            | Err(ChannelError::Unsupported) => return Ok(false),
        };
        self.finish_refund(refund, order, finish).await?;
        Ok(true)
    }
}

/// One step of the expiry job: close up to `batch_max` expired unpaid orders.
pub async fn expire_step(app: &App, settings: &JobSettings) -> Result<Outcome, AppError> {
    let now = app.clock().now_ms();
    let expired = app
        .store()
        .expired_unpaid_orders(now, settings.batch_max)
        .await?;
    let count = expired.len() as u64;
    for order in expired {
        let trade_no = order.trade_no.clone();
        if let Err(error) = app.expire_order(order).await {
            tracing::warn!(%trade_no, %error, "closing an expired order failed; will retry");
        }
    }
    Ok(if count == 0 {
        Outcome::Idle
    } else {
        Outcome::DidWork(count)
    })
}

/// One step of the poller: query the channel for every due poll.
pub async fn poll_step(app: &App, settings: &JobSettings) -> Result<Outcome, AppError> {
    let now = app.clock().now_ms();
    let owner = &settings.worker_id;
    let polls = app
        .store()
        .claim_due_polls(owner, now, settings.lease_ms, settings.batch_max)
        .await?;
    let count = polls.len() as u64;
    for poll in polls {
        if let Err(error) = app.poll_once(&poll, owner).await {
            tracing::warn!(kind = %poll.kind, subject = %poll.subject, %error, "poll failed; lease will expire");
        }
    }
    Ok(if count == 0 {
        Outcome::Idle
    } else {
        Outcome::DidWork(count)
    })
}

/// Runs the expiry job and the poller until shutdown.
pub async fn run_jobs(app: App, settings: JobSettings, shutdown: CancellationToken) {
    let pause = Duration::from_millis(settings.pause_ms);
    loop {
        for (name, result) in [
            ("expiry", expire_step(&app, &settings).await),
            ("poller", poll_step(&app, &settings).await),
            (
                "settlement",
                crate::settlement::settlement_step(&app, &settings).await,
            ),
            (
                "auto-split",
                crate::split_rules::auto_split_step(&app, &settings).await,
            ),
        ] {
            if let Err(error) = result {
                tracing::warn!(job = name, %error, "job step failed; will retry");
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(pause) => {}
        }
    }
}
