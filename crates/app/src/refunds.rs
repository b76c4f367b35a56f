//! Refunds (DESIGN §3, §4): the merchant's refund number is the idempotency key, the amount is
//! reserved against the order before the channel is called, and the order moves to
//! PARTIAL_REFUND or REFUND only when the channel confirms.

use crate::commands::{order_ref, RefundOrder};
use crate::idempotency::refund_difference;
use crate::{App, AppError, MerchantKeys};
use paygate_api::field;
use paygate_channels::{ChannelError, RefundOutcome, RefundRequest};
use paygate_domain::{Money, RefundNo, RefundStatus};
use paygate_store::{
    NewRefund, OrderRecord, Outbox, RefundFinish, RefundRecord, RefundRef, RefundReservation,
};
use serde_json::Value;

impl App {
    pub async fn refund_order(
        &self,
        merchant: &MerchantKeys,
        cmd: RefundOrder,
    ) -> Result<(RefundRecord, OrderRecord), AppError> {
        let order = self.find_order(merchant, &order_ref(&cmd.order)).await?;
        let money = cmd
            .amount_in(order.currency)
            .map_err(|e| AppError::param(field::REFUND_AMOUNT, e.to_string()))?;
        if !order.status.is_paid() {
            return Err(AppError::OrderStatus(format!(
                "order is {} and cannot be refunded",
                order.status
            )));
        }
        let now = self.clock().now_ms();
        self.check_refund_rules(merchant, &cmd, &order, now).await?;
        let settings = self.store().merchant_money(&order.merchant_id).await?;
        let new = NewRefund {
            refund_no: RefundNo::mint(now),
            merchant_id: order.merchant_id.clone(),
            out_refund_no: cmd.out_refund_no.clone(),
            trade_no: order.trade_no.clone(),
            currency: order.currency,
            amount: money.amount,
            reason: cmd.refund_reason.clone(),
            created_at_ms: now,
            settlement_mode: settings.settlement_mode,
        };
        let refund = match self.store().reserve_refund(&new).await? {
            RefundReservation::New(refund) => refund,
            RefundReservation::Existing(existing) => {
                if let Some(field) = refund_difference(&existing, &new, cmd.order.field()) {
                    return Err(AppError::KeyReused {
                        key: field::OUT_REFUND_NO,
                        field,
                    });
                }
                return Ok((existing, order));
            }
            RefundReservation::NotRefundable(status) => {
                return Err(AppError::OrderStatus(format!(
                    "order is {status} and cannot be refunded"
                )))
            }
            RefundReservation::ShareReturnShort { account } => {
                return Err(AppError::ShareReturnShort { account })
            }
            RefundReservation::Exceeded { refundable } => {
                return Err(AppError::RefundExceeded {
                    refundable: Money::new(refundable, order.currency).to_major_string(),
                })
            }
            RefundReservation::InsufficientBalance => return Err(AppError::InsufficientBalance),
        };
        self.send_refund(refund, order).await
    }

    /// The channel's refund window and count, checked before anything is reserved. A retry of a
    /// refund already made (same `out_refund_no`) is not a new refund and passes.
    async fn check_refund_rules(
        &self,
        merchant: &MerchantKeys,
        cmd: &RefundOrder,
        order: &OrderRecord,
        now_ms: i64,
    ) -> Result<(), AppError> {
        let Some(rules) = self
            .channel(order.channel_pay_type())
            .and_then(|c| c.info().rules)
        else {
            return Ok(());
        };
        let retry = RefundRef::OutRefundNo(cmd.out_refund_no.clone());
        if self
            .store()
            .find_refund(&merchant.record.id, &retry)
            .await?
            .is_some()
        {
            return Ok(());
        }
        let made = self.store().count_refunds(&order.trade_no).await?;
        let paid_at_ms = order.paid_at_ms.unwrap_or(now_ms);
        Ok(rules.check_refund(paid_at_ms, now_ms, made)?)
    }

    /// Asks the channel to refund and records a definitive answer; an unknown one leaves the
    /// refund PROCESSING for the refund poller.
    async fn send_refund(
        &self,
        refund: RefundRecord,
        order: OrderRecord,
    ) -> Result<(RefundRecord, OrderRecord), AppError> {
        let channel = self
            .channel(order.channel_pay_type())
            .ok_or_else(|| AppError::pay_type_not_enabled(order.channel_pay_type()))?
            .clone();
        let request = RefundRequest {
            refund_no: refund.refund_no.clone(),
            trade_no: order.trade_no.clone(),
            refund: Money::new(refund.amount, refund.currency),
            total: Money::new(order.total_amount, order.currency),
            reason: refund.reason.clone(),
        };
        let finish = match channel.refund(&request).await {
            Ok(RefundOutcome::Succeeded { channel_refund_no }) => {
                RefundFinish::Succeeded { channel_refund_no }
            }
            Ok(RefundOutcome::Failed(why)) | Err(ChannelError::Rejected(why)) => {
                tracing::warn!(refund_no = %refund.refund_no, %why, "refund failed at the channel");
                RefundFinish::Failed
            }
            Err(ChannelError::Unsupported) => RefundFinish::Failed,
            Ok(RefundOutcome::Processing) | Err(ChannelError::Unknown(_)) => {
                self.schedule_refund_poll(&refund).await?;
                return Ok((refund, order));
            }
        };
        self.finish_refund(refund, order, finish).await
    }

    /// Records a refund's definitive outcome with its notification, and reads both back.
    pub(crate) async fn finish_refund(
        &self,
        refund: RefundRecord,
        order: OrderRecord,
        finish: RefundFinish,
    ) -> Result<(RefundRecord, OrderRecord), AppError> {
        let now = self.clock().now_ms();
        let outbox = self.refund_notification(&refund, &order, &finish, now);
        let terms = self.refund_fee_terms(&order).await?;
        let finished = self
            .store()
            .finish_refund(&refund.refund_no, &finish, &terms, now, Some(&outbox))
            .await?;
        if finished.is_some() {
            self.announce_outbox();
        }
        let refund = self
            .store()
            .find_refund(
                &refund.merchant_id,
                &RefundRef::RefundNo(refund.refund_no.clone()),
            )
            .await?
            .ok_or(AppError::RefundNotFound)?;
        let order = self.reload(&order.trade_no).await?;
        Ok((refund, order))
    }

    fn refund_notification(
        &self,
        refund: &RefundRecord,
        order: &OrderRecord,
        finish: &RefundFinish,
        now_ms: i64,
    ) -> Outbox {
        let (kind, status) = match finish {
            RefundFinish::Succeeded { .. } => ("REFUND_SUCCESS", RefundStatus::Success),
            RefundFinish::Failed => ("REFUND_FAIL", RefundStatus::Fail),
        };
        let mut ended = refund.clone();
        ended.status = status;
        ended.finished_at_ms = Some(now_ms);
        let mut payload = self.refund_view(&ended, order);
        payload.insert(field::NOTIFY_TYPE.into(), Value::from(kind));
        Outbox {
            kind,
            notify_url: order.notify_url.clone(),
            payload: Value::Object(payload).to_string(),
        }
    }

    pub async fn find_refund(
        &self,
        merchant: &MerchantKeys,
        by: &RefundRef,
    ) -> Result<(RefundRecord, OrderRecord), AppError> {
        let refund = self
            .store()
            .find_refund(&merchant.record.id, by)
            .await?
            .ok_or(AppError::RefundNotFound)?;
        let order = self.reload(&refund.trade_no).await?;
        paygate_store::debug_assert_refund_fits(&refund, &order);
        Ok((refund, order))
    }
}
