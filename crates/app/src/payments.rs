//! Create, query and close (DESIGN §3): idempotent on the merchant's order number, with every
//! state change going through `OrderStatus::apply` and the store's compare-and-set.

use crate::auth::nonce_replayed;
use crate::commands::{check_targets, CreateOrder};
use crate::idempotency::order_difference;
use crate::prepare::scenario_of;
use crate::{App, AppError, MerchantKeys};
use paygate_api::field;
use paygate_channels::{
    Channel, ChannelError, DeclineReason, PayOutcome, PayRequest, Payer, Scenario, TradeState,
};
use paygate_domain::{Amount, AuthCode, MerchantId, OrderEvent, OrderStatus, PayFlow, TradeNo};
use paygate_store::{
    Inserted, NewOrder, NonceOutcome, OrderRecord, OrderRef, OrderTransition, Outbox, RequestNonce,
};
use serde_json::Value;
use std::sync::Arc;

/// The anomaly kind for a payment the channel took after we closed the order.
pub const PAID_AFTER_CLOSE: &str = "PAID_AFTER_CLOSE";

/// Whether closing an order is announced to the merchant: an expiry is, the merchant's own
/// close is not (they asked for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseNotice {
    Notify,
    Silent,
}

/// The order a create asks for, entering at WAIT_PAY. The pay code itself is not kept, only its
/// digest, to compare retries with.
fn new_order(cmd: CreateOrder, merchant_id: MerchantId, now_ms: i64, ttl_secs: i64) -> NewOrder {
    let requested_expire_at_secs = cmd.expire_time.map(|at| at.timestamp());
    let expire_at_ms = requested_expire_at_secs
        .map(|secs| secs * 1000)
        .unwrap_or(now_ms + ttl_secs * 1000);
    NewOrder {
        trade_no: TradeNo::mint(now_ms),
        merchant_id,
        out_trade_no: cmd.out_trade_no,
        pay_type: cmd.pay_type,
        status: OrderStatus::Created
            .apply(OrderEvent::Submitted)
            .expect("a new order can always be submitted"),
        currency: cmd.amount.currency,
        total_amount: cmd.amount.amount,
        subject: cmd.subject,
        body: cmd.body,
        notify_url: cmd.notify_url,
        return_url: cmd.return_url,
        attach: cmd.attach,
        buyer_id: cmd.buyer_id,
        auth_code_sha256: cmd.auth_code.as_ref().map(|code| code.digest()),
        expire_at_ms,
        requested_expire_at_secs,
        created_at_ms: now_ms,
        disable_credit: cmd.disable_credit,
        split: cmd.split,
    }
}

/// Ends an unpaid trade at its channel: a pay-code charge is cancelled (reversed, in case the
/// payer confirms meanwhile), any other trade closed.
pub(crate) async fn close_at_channel(
    channel: &dyn Channel,
    order: &OrderRecord,
) -> Result<(), ChannelError> {
    match order.channel_pay_type().flow() {
        PayFlow::PayCode => channel.cancel(&order.trade_no).await,
        PayFlow::Cashier | PayFlow::Prepare(_) => channel.close(&order.trade_no).await,
    }
}

/// A create that passed its checks: the order to insert, the channel, and how it starts: the
/// payer to charge now, or the trade the channel is to open.
struct PreparedOrder {
    order: NewOrder,
    channel: Arc<dyn Channel>,
    payer: Option<Payer>,
    scenario: Option<Scenario>,
    client_ip: Option<String>,
}

impl App {
    /// A create whose request nonce was recorded already (or that has none).
    pub async fn create_order(
        &self,
        merchant: &MerchantKeys,
        cmd: CreateOrder,
    ) -> Result<OrderRecord, AppError> {
        self.create(merchant, Ok(cmd), None).await
    }

    /// A signed create whose nonce is not yet recorded (`verify_request_deferring_nonce`): it is
    /// recorded in the order's own transaction, and on every way out where that transaction does
    /// not commit (a refused command, a database error) on its own, so a replay is refused
    /// whatever became of the first request. `cmd` is the parse's result, so that a parse
    /// failure records the nonce too.
    pub async fn create_signed_order(
        &self,
        merchant: &MerchantKeys,
        cmd: Result<CreateOrder, AppError>,
        nonce: &RequestNonce,
    ) -> Result<OrderRecord, AppError> {
        self.create(merchant, cmd, Some(nonce)).await
    }

    async fn create(
        &self,
        merchant: &MerchantKeys,
        cmd: Result<CreateOrder, AppError>,
        nonce: Option<&RequestNonce>,
    ) -> Result<OrderRecord, AppError> {
        let attempt = match cmd.and_then(|cmd| self.prepare_order(merchant, cmd)) {
            Ok(prepared) => match self.check_split_rules(&prepared.order).await {
                Ok(()) => self
                    .insert(&prepared.order, nonce)
                    .await
                    .map(|inserted| (prepared, inserted)),
                Err(error) => Err(error),
            },
            Err(error) => Err(error),
        };
        let (prepared, inserted) = match attempt {
            Ok(done) => done,
            Err(error) => return Err(self.refuse_unrecorded(nonce, error).await),
        };
        let order = match inserted {
            Inserted::New(order) => {
                metrics::counter!("paygate_orders_created_total").increment(1);
                order
            }
            Inserted::Existing(order) => {
                let differs = match order_difference(&order, &prepared.order) {
                    Some(field) => Some(field),
                    None => self.split_difference(&order, &prepared.order).await?,
                };
                if let Some(field) = differs {
                    return Err(AppError::KeyReused {
                        key: field::OUT_TRADE_NO,
                        field,
                    });
                }
                order
            }
            Inserted::Replayed => return Err(nonce_replayed()),
        };
        if !order.status.is_unpaid_open() {
            return Ok(order);
        }
        // Only the payer's pay code charges; a `buyer_id` alone leaves the order to the cashier.
        let PreparedOrder {
            channel,
            payer,
            scenario,
            client_ip,
            ..
        } = prepared;
        match (payer, scenario) {
            (Some(payer), _) if channel.info().pays_at_once => {
                self.charge_now(channel, order, payer, client_ip).await
            }
            (_, Some(scenario)) if order.pay_data.is_none() => {
                self.open_channel_trade(channel, order, scenario, client_ip)
                    .await
            }
            _ => Ok(order),
        }
    }

    /// The checks a create passes before anything is written.
    fn prepare_order(
        &self,
        merchant: &MerchantKeys,
        cmd: CreateOrder,
    ) -> Result<PreparedOrder, AppError> {
        let record = &merchant.record;
        check_targets(&cmd, self.private_targets(record))?;
        if !record.pay_types.contains(&cmd.pay_type) {
            return Err(AppError::pay_type_not_enabled(cmd.pay_type));
        }
        let channel = self
            .channel(cmd.pay_type)
            .ok_or_else(|| AppError::pay_type_not_enabled(cmd.pay_type))?
            .clone();
        if !channel.info().currencies.contains(&cmd.amount.currency) {
            return Err(AppError::param(
                field::CURRENCY,
                "not accepted by this pay_type",
            ));
        }
        if let Some(rules) = channel.info().rules {
            rules.check_description(&cmd.subject)?;
        }
        let scenario = scenario_of(&cmd)?;
        let now = self.clock().now_ms();
        let payer = cmd.auth_code.clone().map(|code| match code {
            AuthCode::Wallet(code) => Payer::AuthCode(code),
            AuthCode::Wechat(code) => Payer::WechatAuthCode(code),
            AuthCode::Alipay(code) => Payer::AlipayAuthCode(code),
            AuthCode::Unionpay(code) => Payer::UnionpayAuthCode(code),
            AuthCode::Face(code) => Payer::AlipayFaceCode(code),
        });
        let client_ip = cmd.client_ip.map(|ip| ip.to_string());
        let order = new_order(cmd, record.id.clone(), now, self.settings().order_ttl_secs);
        if let Some(rules) = channel.info().rules {
            // Our number is what the channel sees as its order number.
            rules.out_trade_no.check(order.trade_no.as_str())?;
        }
        Ok(PreparedOrder {
            order,
            channel,
            payer,
            scenario,
            client_ip,
        })
    }

    async fn insert(
        &self,
        order: &NewOrder,
        nonce: Option<&RequestNonce>,
    ) -> Result<Inserted, AppError> {
        Ok(match nonce {
            Some(nonce) => self.store().insert_order_with_nonce(order, nonce).await?,
            None => self.store().insert_order(order).await?,
        })
    }

    /// The answer to a create whose order transaction did not commit: the nonce is recorded on
    /// its own first, so the request cannot be replayed; a nonce used before makes the answer a
    /// replay refusal, as if it had been checked first.
    async fn refuse_unrecorded(&self, nonce: Option<&RequestNonce>, error: AppError) -> AppError {
        let Some(nonce) = nonce else {
            return error;
        };
        match self.store().record_nonce(nonce).await {
            Ok(NonceOutcome::Fresh) => error,
            Ok(NonceOutcome::Replayed) => nonce_replayed(),
            Err(recording) => {
                // Nothing was written either: a replay would meet a create never done.
                tracing::warn!(error = %recording, "recording a failed create's nonce failed");
                error
            }
        }
    }

    /// Charges a payer who has consented (a pay code) and settles the order by the channel's
    /// answer. The status poll is scheduled before the call, so a crash between
    /// the channel's charge and our state change is found out by a query, not by the payer.
    pub(crate) async fn charge_now(
        &self,
        channel: Arc<dyn Channel>,
        order: OrderRecord,
        payer: Payer,
        client_ip: Option<String>,
    ) -> Result<OrderRecord, AppError> {
        let request = PayRequest {
            trade_no: order.trade_no.clone(),
            merchant_id: order.merchant_id.clone(),
            money: paygate_domain::Money::new(order.total_amount, order.currency),
            subject: order.subject.clone(),
            payer,
            client_ip,
        };
        self.schedule_order_poll(&order).await?;
        let answer = channel.pay(&request).await;
        let trade_no = order.trade_no.clone();
        let result = match answer {
            Ok(PayOutcome::Paid {
                channel_trade_no,
                paid_at_ms,
            }) => {
                let state = TradeState::Paid {
                    channel_trade_no,
                    paid_at_ms,
                };
                self.settle(order, state).await
            }
            Ok(PayOutcome::PayerConfirming) => {
                return self.settle(order, TradeState::PayerConfirming).await;
            }
            Ok(PayOutcome::Declined(DeclineReason::InsufficientBalance)) => {
                Err(AppError::InsufficientBalance)
            }
            Ok(PayOutcome::Declined(DeclineReason::PayCodeInvalid)) => {
                Err(AppError::PayCodeInvalid)
            }
            Ok(PayOutcome::Declined(DeclineReason::UnknownPayer)) => Err(
                AppError::ChannelRejected("the payer has no account at this channel".into()),
            ),
            Ok(PayOutcome::Declined(DeclineReason::Other(why)))
            | Err(ChannelError::Rejected(why)) => Err(AppError::ChannelRejected(why)),
            Err(ChannelError::Unknown(why)) => {
                tracing::warn!(%trade_no, %why, "payment outcome unknown; will query");
                return Ok(order);
            }
            Err(ChannelError::Unsupported) => Err(AppError::ChannelRejected(
                "this channel cannot charge at once".into(),
            )),
        };
        // The outcome is known (paid, or definitively not): nothing is left to find out.
        self.cancel_order_poll(&trade_no).await?;
        result
    }

    /// Moves an order to what the channel's trade state says, if that is a legal step, and
    /// returns the order as it then stands. Losing a race to another process is not an error:
    /// the winner's result is read back. A merchant's own close is not notified.
    pub async fn settle(
        &self,
        order: OrderRecord,
        state: TradeState,
    ) -> Result<OrderRecord, AppError> {
        self.settle_with(order, state, CloseNotice::Silent).await
    }

    pub async fn settle_with(
        &self,
        order: OrderRecord,
        state: TradeState,
        notice: CloseNotice,
    ) -> Result<OrderRecord, AppError> {
        let (event, channel_trade_no) = match state {
            TradeState::Paid {
                channel_trade_no, ..
            } => (OrderEvent::Paid, Some(channel_trade_no)),
            TradeState::PayerConfirming => (OrderEvent::PayerConfirming, None),
            TradeState::Closed => (OrderEvent::Closed, None),
            TradeState::NotFound | TradeState::WaitingPayment => return Ok(order),
        };
        let settled = if order.status.apply(event).is_err() {
            order
        } else {
            let now = self.clock().now_ms();
            let fees = match event {
                OrderEvent::Paid => Some(self.payment_fees(&order).await?),
                _ => None,
            };
            let outbox = match (event, notice) {
                (OrderEvent::Paid, _) => Some(self.order_notification(
                    &order,
                    OrderStatus::Success,
                    fees.as_ref().map(|fees| fees.fee),
                    now,
                )),
                (OrderEvent::Closed, CloseNotice::Notify) => {
                    Some(self.order_notification(&order, OrderStatus::Closed, None, now))
                }
                _ => None,
            };
            let posting = match &fees {
                Some(fees) => Some(self.payment_posting(&order, fees)?),
                None => None,
            };
            let change = OrderTransition {
                trade_no: order.trade_no.clone(),
                from: order.status,
                event,
                at_ms: now,
                channel_trade_no: channel_trade_no.clone(),
                outbox,
                posting,
                fees,
            };
            if let Some(status) = self.store().transition_order(&change).await? {
                metrics::counter!("paygate_order_transitions_total", "to" => status.as_str())
                    .increment(1);
                if change.outbox.is_some() {
                    self.announce_outbox();
                }
            }
            self.reload(&order.trade_no).await?
        };
        if event == OrderEvent::Paid && !settled.status.is_paid() {
            self.record_late_payment(&settled, channel_trade_no.as_deref())
                .await?;
        }
        Ok(settled)
    }

    /// The channel took the payer's money for an order we had closed: it must not be lost. It
    /// is recorded once as an anomaly for refund or repair, and counted.
    async fn record_late_payment(
        &self,
        order: &OrderRecord,
        channel_trade_no: Option<&str>,
    ) -> Result<(), AppError> {
        let detail = format!(
            "channel reports payment (channel_trade_no={}) for order in state {}",
            channel_trade_no.unwrap_or("-"),
            order.status
        );
        let now = self.clock().now_ms();
        if self
            .store()
            .record_anomaly(&order.trade_no, PAID_AFTER_CLOSE, &detail, now)
            .await?
        {
            metrics::counter!("paygate_anomalies_total", "kind" => PAID_AFTER_CLOSE).increment(1);
            tracing::error!(trade_no = %order.trade_no, %detail, "payment after close; needs refund or repair");
        }
        Ok(())
    }

    /// The notification announcing that `order` has become `status` (paid, with the `fee` its
    /// transition snapshots, or closed).
    fn order_notification(
        &self,
        order: &OrderRecord,
        status: OrderStatus,
        fee: Option<Amount>,
        now_ms: i64,
    ) -> Outbox {
        let mut changed = order.clone();
        changed.status = status;
        changed.fee = fee;
        let kind = if status == OrderStatus::Success {
            changed.paid_at_ms = Some(now_ms);
            "TRADE_SUCCESS"
        } else {
            changed.closed_at_ms = Some(now_ms);
            "TRADE_CLOSED"
        };
        let mut payload = self.order_view(&changed);
        payload.insert(field::NOTIFY_TYPE.into(), Value::from(kind));
        Outbox {
            kind,
            notify_url: order.notify_url.clone(),
            payload: Value::Object(payload).to_string(),
        }
    }

    pub(crate) async fn reload(&self, trade_no: &TradeNo) -> Result<OrderRecord, AppError> {
        self.store()
            .get_order(trade_no)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("order {trade_no} vanished")))
    }

    pub async fn find_order(
        &self,
        merchant: &MerchantKeys,
        by: &OrderRef,
    ) -> Result<OrderRecord, AppError> {
        self.store()
            .find_order(&merchant.record.id, by)
            .await?
            .ok_or(AppError::OrderNotFound)
    }

    /// Closes an unpaid order: at the channel first, so it can no longer be paid there, then
    /// here. A paid order cannot be closed (1004); closing a closed order is a no-op.
    pub async fn close_order(
        &self,
        merchant: &MerchantKeys,
        by: &OrderRef,
    ) -> Result<OrderRecord, AppError> {
        let order = self.find_order(merchant, by).await?;
        self.close_found_order(order).await
    }

    /// Closes an order already found: the merchant's own close, or a partner's after-sale close
    /// of an order never paid.
    pub(crate) async fn close_found_order(
        &self,
        order: OrderRecord,
    ) -> Result<OrderRecord, AppError> {
        if order.status == OrderStatus::Closed {
            return Ok(order);
        }
        if !order.status.is_unpaid_open() {
            return Err(AppError::OrderStatus(format!(
                "order is {} and cannot be closed",
                order.status
            )));
        }
        let channel = self
            .channel(order.channel_pay_type())
            .ok_or_else(|| AppError::pay_type_not_enabled(order.channel_pay_type()))?
            .clone();
        // Before the channel hears of it: its close notification may reach any process before
        // our own settle, and must know the merchant asked for this close.
        self.store()
            .mark_close_requested(&order.trade_no, self.clock().now_ms())
            .await?;
        match close_at_channel(channel.as_ref(), &order).await {
            Ok(()) => {}
            Err(ChannelError::Unknown(why)) => return Err(AppError::Busy(why)),
            // A channel without a close operation lets the trade lapse by itself.
            Err(ChannelError::Unsupported) => {}
            Err(ChannelError::Rejected(why)) => {
                // The channel refuses to close: most often because it was paid meanwhile.
                let state = channel
                    .query(&order.trade_no)
                    .await
                    .map_err(|e| AppError::Busy(e.to_string()))?;
                let settled = self.settle(order, state).await?;
                if settled.status.is_paid() {
                    return Err(AppError::OrderStatus(
                        "order was paid and cannot be closed".into(),
                    ));
                }
                return Err(AppError::ChannelRejected(why));
            }
        }
        let settled = self.settle(order, TradeState::Closed).await?;
        if settled.status != OrderStatus::Closed {
            return Err(AppError::OrderStatus(format!(
                "order is {} and cannot be closed",
                settled.status
            )));
        }
        Ok(settled)
    }
}
