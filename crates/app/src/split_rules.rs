//! Share rules given at create (`split_rules`, issue #11): checked before the order is written,
//! stored with it, and applied through the same path as `/api/split/apply` under the number
//! `auto-<trade_no>`.
//!
//! `immediate` rules are applied by `auto_split_step`, a background step that finds paid orders
//! whose rules are pending (an index on the rules' status) — never by the payment's own
//! transaction, which stays as it was. A crash after the payment commits loses nothing: the
//! rules are on the order and the next step, in any process, applies them. Two processes may
//! both try; the split's unique merchant number lets one share and makes the other a replay.
//! `on_finish` rules wait for `/api/split/finish`, which applies them before sharing ends.

use crate::jobs::JobSettings;
use crate::maintenance::Outcome;
use crate::{App, AppError};
use paygate_api::split_rules::{OrderSplitView, SPLIT_MODE, SPLIT_RULES};
use paygate_api::Order;
use paygate_domain::split::shareable_amount;
use paygate_domain::split_rules::{auto_out_split_no, AutoSplitStatus};
use paygate_domain::{Amount, Money, OrderRecord, OrderStatus};
use paygate_store::{AutoSplitUpdate, NewOrder, OrderSplitRecord};
use serde_json::{Map, Value};

/// Attempts that fail for a cause other than the split's own refusal (a database error) before
/// the rules are failed: the step does not retry forever.
pub const AUTO_SPLIT_ATTEMPTS_MAX: i64 = 10;

/// How a split refusal reads as the rules' failure reason; anything else is worth retrying.
fn refusal_reason(error: &AppError) -> Option<String> {
    match error {
        AppError::SplitNotAllowed(why)
        | AppError::SplitReceiver(why)
        | AppError::SplitExceeded(why) => Some(why.clone()),
        AppError::InsufficientBalance => {
            Some("the merchant's balance no longer covers the shares".into())
        }
        AppError::KeyReused { .. } => Some(error.to_string()),
        _ => None,
    }
}

impl App {
    /// A create's checks of its rules against the merchant's records, before anything is
    /// written: the channel's receiver cap (1014), each receiver registered and not removed
    /// (1014), and the total within `total_amount` less the fee the merchant's current schedule
    /// gives for the pay type (1015). The rules' shape was checked when they were parsed.
    pub(crate) async fn check_split_rules(&self, order: &NewOrder) -> Result<(), AppError> {
        let Some(split) = &order.split else {
            return Ok(());
        };
        let max = self.receivers_max_of(order.pay_type);
        if split.rules.len() > max as usize {
            return Err(AppError::SplitReceiver(format!(
                "an order of this channel may share to at most {max} receivers"
            )));
        }
        for rule in &split.rules {
            let found = self
                .store()
                .find_receiver(&order.merchant_id, &rule.receiver_id)
                .await?;
            if !matches!(found, Some((_, None))) {
                return Err(AppError::SplitReceiver(format!(
                    "receiver {} is not registered",
                    rule.receiver_id
                )));
            }
        }
        let schedule = self
            .fee_schedule(&order.merchant_id, order.pay_type)
            .await?;
        let fee = schedule.fee_for(order.total_amount);
        let shareable = shareable_amount(order.total_amount, fee, Amount::ZERO, Amount::ZERO);
        let total = split
            .total()
            .map_err(|e| AppError::param(SPLIT_RULES, e.to_string()))?;
        if total > shareable {
            let money = |amount| Money::new(amount, order.currency).to_major_string();
            return Err(AppError::SplitExceeded(format!(
                "split_rules total {} exceeds total_amount less the fee ({})",
                money(total),
                money(shareable)
            )));
        }
        Ok(())
    }

    /// The wire name of the first way a repeated create's rules differ from the stored
    /// order's.
    pub(crate) async fn split_difference(
        &self,
        stored: &OrderRecord,
        asked: &NewOrder,
    ) -> Result<Option<&'static str>, AppError> {
        let rules = self.store().order_split_rules(&stored.trade_no).await?;
        let stored = rules.map(|r| r.split);
        Ok(match (&stored, &asked.split) {
            (None, None) => None,
            (Some(a), Some(b)) if a.rules == b.rules && a.mode != b.mode => Some(SPLIT_MODE),
            (Some(a), Some(b)) if a == b => None,
            _ => Some(SPLIT_RULES),
        })
    }

    /// Applies an order's pending rules as the split `auto-<trade_no>` and records how that
    /// ended: done, failed with the refusal's reason, or (another cause) one more attempt.
    pub(crate) async fn apply_order_rules(
        &self,
        rules: &OrderSplitRecord,
    ) -> Result<AutoSplitStatus, AppError> {
        let order = self.reload(&rules.trade_no).await?;
        let shared = self
            .share_order(
                &order,
                auto_out_split_no(&order.trade_no),
                rules.split.shares(),
                None,
            )
            .await;
        let update = match &shared {
            Ok(_) => AutoSplitUpdate::Done,
            Err(error) => match refusal_reason(error) {
                Some(reason) => AutoSplitUpdate::Failed { reason },
                None => {
                    tracing::warn!(trade_no = %order.trade_no, %error, "automatic split failed; will retry");
                    AutoSplitUpdate::Retry {
                        reason: format!("gave up after {AUTO_SPLIT_ATTEMPTS_MAX} attempts"),
                        attempts_max: AUTO_SPLIT_ATTEMPTS_MAX,
                    }
                }
            },
        };
        let now = self.clock().now_ms();
        Ok(self
            .store()
            .update_auto_split(&order.trade_no, &update, now)
            .await?)
    }

    /// Before a paid order's sharing ends: its rules, if still pending (either mode), are
    /// applied. An order not paid is left alone: the finish itself refuses it.
    pub(crate) async fn apply_rules_before_finish(
        &self,
        order: &OrderRecord,
    ) -> Result<(), AppError> {
        if !matches!(
            order.status,
            OrderStatus::Success | OrderStatus::PartialRefund
        ) {
            return Ok(());
        }
        match self.store().order_split_rules(&order.trade_no).await? {
            Some(rules) if rules.status == AutoSplitStatus::Pending => {
                self.apply_order_rules(&rules).await?;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// An order's answer with its share rules, if it has any: what create and query show.
    pub async fn order_answer(&self, order: &OrderRecord) -> Result<Map<String, Value>, AppError> {
        let mut view = Order::of(order, &self.settings().public_url);
        if let Some(rules) = self.store().order_split_rules(&order.trade_no).await? {
            view.split = Some(OrderSplitView {
                split: rules.split,
                status: rules.status,
                out_split_no: auto_out_split_no(&order.trade_no),
                fail_reason: rules.fail_reason,
            });
        }
        Ok(view.to_fields())
    }
}

/// One step of the automatic split: applies the `immediate` rules of up to `batch_max` orders
/// whose payment is settled (a closed or refunded order's rules fail with the reason).
pub async fn auto_split_step(app: &App, settings: &JobSettings) -> Result<Outcome, AppError> {
    let due = app.store().due_auto_splits(settings.batch_max).await?;
    let count = due.len() as u64;
    for rules in due {
        if let Err(error) = app.apply_order_rules(&rules).await {
            tracing::warn!(trade_no = %rules.trade_no, %error, "automatic split step failed; will retry");
        }
    }
    Ok(if count == 0 {
        Outcome::Idle
    } else {
        Outcome::DidWork(count)
    })
}
