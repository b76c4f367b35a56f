//! Callbacks from channels (DESIGN §4, issue #8): verified by the channel's adapter, then
//! cross-checked against our own order (number, channel, amount) before anything changes, so a
//! validly signed callback for the wrong order or amount moves nothing. Duplicates and
//! out-of-order arrivals are harmless: every change goes through the state machine's
//! compare-and-set, and a callback that changes nothing is still acknowledged.

use crate::payments::CloseNotice;
use crate::{App, AppError};
use paygate_channels::{
    CallbackEvent, CallbackRefusal, CallbackReply, CallbackRequest, Channel, RefundAmount,
    RefundOutcome, TradeState,
};
use paygate_domain::{Money, RefundNo, RefundStatus, TradeNo, Untrusted};
use paygate_store::RefundFinish;
use std::collections::BTreeMap;

fn shown(money: Money) -> String {
    format!("{} {}", money.currency, money.to_major_string())
}

impl From<AppError> for CallbackRefusal {
    fn from(error: AppError) -> CallbackRefusal {
        tracing::error!(%error, "recording a callback failed");
        CallbackRefusal::Unavailable
    }
}

impl App {
    /// Takes a callback posted to `/callback/{channel}/{kind}` and answers it the way the
    /// channel expects. Every refusal is logged with its reason and counted.
    pub async fn receive_callback(
        &self,
        channel_name: &str,
        kind: &str,
        headers: &BTreeMap<String, String>,
        body: &[u8],
    ) -> Option<CallbackReply> {
        let channel = self.channel_named(channel_name)?.clone();
        let request = CallbackRequest {
            kind,
            headers,
            body,
            now_ms: self.clock().now_ms(),
        };
        let outcome = match channel.parse_callback(&request) {
            Ok(event) => self.apply_callback(channel.as_ref(), event).await,
            Err(refusal) => Err(refusal),
        };
        let verdict = match &outcome {
            Ok(()) => "accepted",
            Err(refusal) => {
                // The reason can quote what the sender wrote: escaped before it reaches a log.
                tracing::warn!(
                    channel = channel_name,
                    kind = %Untrusted(kind),
                    reason = %Untrusted(refusal.to_string()),
                    "callback refused"
                );
                "refused"
            }
        };
        metrics::counter!("paygate_channel_callbacks_total", "channel" => channel.info().name, "verdict" => verdict)
            .increment(1);
        Some(channel.callback_reply(outcome.as_ref().map(|_| ())))
    }

    async fn apply_callback(
        &self,
        channel: &dyn Channel,
        event: CallbackEvent,
    ) -> Result<(), CallbackRefusal> {
        match event {
            CallbackEvent::Payment {
                trade_no,
                total,
                state,
            } => {
                self.apply_payment_callback(channel, &trade_no, total, state)
                    .await
            }
            CallbackEvent::Refund {
                refund_no,
                trade_no,
                refund,
                outcome,
            } => {
                self.apply_refund_callback(&refund_no, &trade_no, refund, outcome)
                    .await
            }
        }
    }

    async fn apply_payment_callback(
        &self,
        channel: &dyn Channel,
        trade_no: &TradeNo,
        total: Money,
        state: TradeState,
    ) -> Result<(), CallbackRefusal> {
        let order = self
            .store()
            .get_order(trade_no)
            .await
            .map_err(AppError::from)?
            .ok_or_else(|| CallbackRefusal::Mismatch(format!("no order {trade_no}")))?;
        let ours = self
            .channel(order.channel_pay_type())
            .map(|c| c.info().name);
        if ours != Some(channel.info().name) {
            return Err(CallbackRefusal::Mismatch(format!(
                "order {trade_no} is not paid through {}",
                channel.info().name
            )));
        }
        let expected = Money::new(order.total_amount, order.currency);
        if total != expected {
            return Err(CallbackRefusal::Mismatch(format!(
                "order {trade_no} is for {}, the callback says {}",
                shown(expected),
                shown(total)
            )));
        }
        let before = order.status;
        // A close the channel reports is news to the merchant, as when the status poll finds
        // it: a failed payment, or a cancel or expiry whose notification beats our own settle.
        // The merchant's own close (recorded before the channel heard of it) stays silent.
        let notice = if order.close_requested_at_ms.is_some() {
            CloseNotice::Silent
        } else {
            CloseNotice::Notify
        };
        let settled = self.settle_with(order, state, notice).await?;
        if settled.status == before {
            tracing::info!(%trade_no, status = %before, "callback changed nothing (duplicate or late)");
        }
        Ok(())
    }

    async fn apply_refund_callback(
        &self,
        refund_no: &RefundNo,
        trade_no: &TradeNo,
        amount: RefundAmount,
        outcome: RefundOutcome,
    ) -> Result<(), CallbackRefusal> {
        let refund = self
            .store()
            .get_refund(refund_no)
            .await
            .map_err(AppError::from)?
            .ok_or_else(|| CallbackRefusal::Mismatch(format!("no refund {refund_no}")))?;
        let expected = Money::new(refund.amount, refund.currency);
        let order = self.reload(&refund.trade_no).await?;
        let fits = match amount {
            RefundAmount::This(amount) => amount == expected,
            // The trade's refunds in all: at least this one, at most what was paid.
            RefundAmount::TradeTotal(total) => {
                total.currency == refund.currency
                    && total.amount >= refund.amount
                    && total.amount <= order.total_amount
            }
        };
        if &refund.trade_no != trade_no || !fits {
            return Err(CallbackRefusal::Mismatch(format!(
                "refund {refund_no} is {} of {}, the callback says {amount:?} of {trade_no}",
                shown(expected),
                refund.trade_no,
            )));
        }
        let finish = match outcome {
            RefundOutcome::Succeeded { channel_refund_no } => {
                RefundFinish::Succeeded { channel_refund_no }
            }
            RefundOutcome::Failed(why) => {
                tracing::warn!(%refund_no, %why, "refund failed at the channel (callback)");
                RefundFinish::Failed
            }
            RefundOutcome::Processing => return Ok(()),
        };
        if refund.status != RefundStatus::Processing {
            tracing::info!(%refund_no, status = %refund.status, "refund callback changed nothing (duplicate or late)");
            return Ok(());
        }
        self.finish_refund(refund, order, finish).await?;
        Ok(())
    }
}
