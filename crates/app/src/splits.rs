//! Profit sharing (分账) and its return (分账回退), issue #11: receivers per merchant, shares of a
//! paid order within what it may still share, the end of sharing, and returns, each idempotent
//! on the merchant's number and announced through the outbox. The store does each in one
//! transaction with its ledger posting; a refund's own returns happen in `reserve_refund`.

use crate::commands::order_ref;
use crate::{App, AppError, MerchantKeys};
use paygate_api::field;
use paygate_api::split::{
    amount_in, AddReceiver, ApplySplit, FinishSplit, QuerySplit, ReceiverView, RemoveReceiver,
    ReturnSplit, ReturnView, ShareView, SplitView, AMOUNT, OUT_SPLIT_NO, RECEIVERS, RECEIVER_ID,
};
use paygate_api::split_rules::reserved_prefix_reason;
use paygate_domain::split::{check_shares, ReturnPolicy, Share, SplitKind, RECEIVERS_MAX_DEFAULT};
use paygate_domain::split_rules::is_auto_out_split_no;
use paygate_domain::{Amount, Money, OrderRecord, OutSplitNo, PayType, ReturnNo, SplitNo};
use paygate_store::{
    NewReturn, NewSplit, Outbox, ReceiverRecord, ReturnOutcome, ReturnRecord, SplitOutcome,
    SplitRecord,
};
use serde_json::{Map, Value};

const OUT_RETURN_NO: &str = paygate_api::split::OUT_RETURN_NO;

impl App {
    pub async fn add_receiver(
        &self,
        merchant: &MerchantKeys,
        cmd: AddReceiver,
    ) -> Result<ReceiverView, AppError> {
        let record = ReceiverRecord {
            merchant_id: merchant.record.id.clone(),
            receiver_id: cmd.receiver_id,
            receiver_type: cmd.receiver_type,
            name: cmd.name,
            relation: cmd.relation,
            at_ms: self.clock().now_ms(),
        };
        self.store().add_receiver(&record).await?;
        Ok(receiver_view(record, true))
    }

    pub async fn remove_receiver(
        &self,
        merchant: &MerchantKeys,
        cmd: RemoveReceiver,
    ) -> Result<ReceiverView, AppError> {
        let id = &merchant.record.id;
        let now = self.clock().now_ms();
        if !self
            .store()
            .remove_receiver(id, &cmd.receiver_id, now)
            .await?
        {
            return Err(AppError::SplitReceiver(format!(
                "receiver {} is not registered",
                cmd.receiver_id
            )));
        }
        let (record, _) = self
            .store()
            .find_receiver(id, &cmd.receiver_id)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("removed receiver vanished")))?;
        Ok(receiver_view(record, false))
    }

    /// Shares a paid order: each receiver registered, the order's receivers within the
    /// channel's cap, the total within paid − fee − refunded − shared-not-returned.
    pub async fn apply_split(
        &self,
        merchant: &MerchantKeys,
        cmd: ApplySplit,
    ) -> Result<SplitView, AppError> {
        refuse_reserved(&cmd.out_split_no)?;
        let order = self.find_order(merchant, &order_ref(&cmd.order)).await?;
        let mut shares = Vec::with_capacity(cmd.receivers.len());
        for share in &cmd.receivers {
            let money = amount_in(&share.amount, order.currency)
                .map_err(|e| AppError::param(RECEIVERS, e.to_string()))?;
            shares.push(Share {
                receiver_id: share.receiver_id.clone(),
                amount: money.amount,
            });
        }
        check_shares(&shares).map_err(|e| AppError::param(RECEIVERS, e.to_string()))?;
        self.share_order(&order, cmd.out_split_no, shares, cmd.return_policy)
            .await
    }

    /// The one way an order is shared, asked for by the merchant or by the order's own rules:
    /// the split request under `out_split_no`, with its ledger posting and its notification.
    pub(crate) async fn share_order(
        &self,
        order: &OrderRecord,
        out_split_no: OutSplitNo,
        shares: Vec<Share>,
        return_policy: Option<ReturnPolicy>,
    ) -> Result<SplitView, AppError> {
        let now = self.clock().now_ms();
        let mut split = NewSplit {
            split_no: SplitNo::mint(now),
            merchant_id: order.merchant_id.clone(),
            out_split_no,
            trade_no: order.trade_no.clone(),
            kind: SplitKind::Share,
            currency: order.currency,
            shares,
            return_policy,
            receivers_max: self.receivers_max(order),
            at_ms: now,
            outbox: None,
        };
        split.outbox = Some(split_notification(&split, order));
        self.record_split(&split, order).await
    }

    /// Ends the order's sharing (WeChat's unfreeze): no more shares; what is not shared stays
    /// the merchant's.
    pub async fn finish_split(
        &self,
        merchant: &MerchantKeys,
        cmd: FinishSplit,
    ) -> Result<SplitView, AppError> {
        refuse_reserved(&cmd.out_split_no)?;
        let order = self.find_order(merchant, &order_ref(&cmd.order)).await?;
        // Rules given at create are applied (or found failed) before sharing ends.
        self.apply_rules_before_finish(&order).await?;
        let now = self.clock().now_ms();
        let split = NewSplit {
            split_no: SplitNo::mint(now),
            merchant_id: order.merchant_id.clone(),
            out_split_no: cmd.out_split_no,
            trade_no: order.trade_no.clone(),
            kind: SplitKind::Finish,
            currency: order.currency,
            shares: Vec::new(),
            return_policy: None,
            receivers_max: self.receivers_max(&order),
            at_ms: now,
            outbox: None,
        };
        self.record_split(&split, &order).await
    }

    pub async fn query_split(
        &self,
        merchant: &MerchantKeys,
        cmd: QuerySplit,
    ) -> Result<SplitView, AppError> {
        let split = self
            .store()
            .find_split(&merchant.record.id, &cmd.out_split_no)
            .await?
            .ok_or(AppError::SplitNotFound)?;
        Ok(split_view(&split))
    }

    /// Takes part of a share back from its receiver into the merchant's unsettled balance.
    pub async fn return_split(
        &self,
        merchant: &MerchantKeys,
        cmd: ReturnSplit,
    ) -> Result<ReturnView, AppError> {
        let id = &merchant.record.id;
        let split = self
            .store()
            .find_split(id, &cmd.out_split_no)
            .await?
            .ok_or(AppError::SplitNotFound)?;
        let money = amount_in(&cmd.amount, split.currency)
            .map_err(|e| AppError::param(AMOUNT, e.to_string()))?;
        let order = self.reload(&split.trade_no).await?;
        let now = self.clock().now_ms();
        let mut back = NewReturn {
            return_no: ReturnNo::mint(now),
            merchant_id: id.clone(),
            out_return_no: cmd.out_return_no,
            out_split_no: cmd.out_split_no,
            receiver_id: cmd.receiver_id,
            amount: money.amount,
            at_ms: now,
            outbox: None,
        };
        back.outbox = Some(return_notification(&back, &split, &order));
        match self.store().return_share(&back).await? {
            ReturnOutcome::New(record) => {
                self.announce_outbox();
                Ok(return_view(&record))
            }
            ReturnOutcome::Existing(record) => {
                if let Some(field) = return_difference(&record, &back) {
                    return Err(AppError::KeyReused {
                        key: OUT_RETURN_NO,
                        field,
                    });
                }
                Ok(return_view(&record))
            }
            ReturnOutcome::SplitNotFound => Err(AppError::SplitNotFound),
            ReturnOutcome::ShareNotFound => Err(AppError::SplitReceiver(format!(
                "split {} gave nothing to receiver {}",
                split.out_split_no, back.receiver_id
            ))),
            ReturnOutcome::Exceeded { returnable } => Err(AppError::SplitExceeded(format!(
                "the receiver holds {} of this share",
                Money::new(returnable, split.currency).to_major_string()
            ))),
            ReturnOutcome::InsufficientBalance => Err(AppError::InsufficientBalance),
        }
    }

    /// The most receivers `order` may share to: the configured override, else its channel's
    /// cap, else the strictest known.
    fn receivers_max(&self, order: &OrderRecord) -> u32 {
        self.receivers_max_of(order.channel_pay_type())
    }

    /// The most receivers an order paid by `pay_type` may share to.
    pub(crate) fn receivers_max_of(&self, pay_type: PayType) -> u32 {
        let channel_cap = self
            .channel(pay_type)
            .and_then(|c| c.info().rules)
            .and_then(|rules| rules.profit_share_receivers_max);
        self.settings()
            .split_receivers_max
            .or(channel_cap)
            .unwrap_or(RECEIVERS_MAX_DEFAULT)
    }

    async fn record_split(
        &self,
        split: &NewSplit,
        order: &OrderRecord,
    ) -> Result<SplitView, AppError> {
        let money = |amount: Amount| Money::new(amount, order.currency).to_major_string();
        match self.store().apply_split(split).await? {
            SplitOutcome::New(record) => {
                if split.outbox.is_some() {
                    self.announce_outbox();
                }
                Ok(split_view(&record))
            }
            SplitOutcome::Existing(record) => {
                if let Some(field) = split_difference(&record, split) {
                    return Err(AppError::KeyReused {
                        key: OUT_SPLIT_NO,
                        field,
                    });
                }
                Ok(split_view(&record))
            }
            SplitOutcome::NotShareable(status) => Err(AppError::SplitNotAllowed(format!(
                "order is {status} and cannot be shared"
            ))),
            SplitOutcome::Finished => Err(AppError::SplitNotAllowed(
                "the order's sharing was finished".into(),
            )),
            SplitOutcome::UnknownReceiver(receiver) => Err(AppError::SplitReceiver(format!(
                "receiver {receiver} is not registered"
            ))),
            SplitOutcome::TooManyReceivers { max } => Err(AppError::SplitReceiver(format!(
                "an order of this channel may share to at most {max} receivers"
            ))),
            SplitOutcome::Exceeded { shareable } => Err(AppError::SplitExceeded(format!(
                "share exceeds the shareable amount {}",
                money(shareable)
            ))),
            SplitOutcome::InsufficientBalance => Err(AppError::InsufficientBalance),
        }
    }
}

/// A merchant's own split number may not take the automatic split's prefix, so the split of
/// an order's rules can never meet a merchant request under its number.
fn refuse_reserved(out_split_no: &OutSplitNo) -> Result<(), AppError> {
    if is_auto_out_split_no(out_split_no) {
        return Err(AppError::param(OUT_SPLIT_NO, reserved_prefix_reason()));
    }
    Ok(())
}

/// The first field where a repeated split request differs from the one stored under its
/// number.
fn split_difference(stored: &SplitRecord, asked: &NewSplit) -> Option<&'static str> {
    let shares: Vec<_> = stored
        .shares
        .iter()
        .map(|s| (s.receiver_id.clone(), s.amount))
        .collect();
    let asked_shares: Vec<_> = asked
        .shares
        .iter()
        .map(|s| (s.receiver_id.clone(), s.amount))
        .collect();
    if stored.trade_no != asked.trade_no {
        Some(field::TRADE_NO)
    } else if stored.kind != asked.kind || shares != asked_shares {
        Some(RECEIVERS)
    } else {
        None
    }
}

fn return_difference(stored: &ReturnRecord, asked: &NewReturn) -> Option<&'static str> {
    if stored.out_split_no != asked.out_split_no {
        Some(OUT_SPLIT_NO)
    } else if stored.receiver_id != asked.receiver_id {
        Some(RECEIVER_ID)
    } else if stored.amount != asked.amount {
        Some(AMOUNT)
    } else {
        None
    }
}

fn receiver_view(record: ReceiverRecord, active: bool) -> ReceiverView {
    ReceiverView {
        receiver_id: record.receiver_id,
        receiver_type: record.receiver_type,
        name: record.name,
        relation: record.relation,
        active,
    }
}

fn split_view(split: &SplitRecord) -> SplitView {
    let money = |amount: Amount| Money::new(amount, split.currency);
    SplitView {
        split_no: split.split_no.clone(),
        out_split_no: split.out_split_no.clone(),
        trade_no: split.trade_no.clone(),
        kind: split.kind,
        amount: money(split.amount),
        receivers: split
            .shares
            .iter()
            .map(|s| ShareView {
                receiver_id: s.receiver_id.clone(),
                amount: money(s.amount),
                returned_amount: money(s.returned),
            })
            .collect(),
        create_time_ms: split.created_at_ms,
    }
}

fn return_view(record: &ReturnRecord) -> ReturnView {
    ReturnView {
        return_no: record.return_no.clone(),
        out_return_no: record.out_return_no.clone(),
        split_no: record.split_no.clone(),
        out_split_no: record.out_split_no.clone(),
        trade_no: record.trade_no.clone(),
        receiver_id: record.receiver_id.clone(),
        amount: Money::new(record.amount, record.currency),
        create_time_ms: record.created_at_ms,
    }
}

/// The body of a notification: the view's fields and `notify_type`, signed when delivered
/// like every other notification.
fn notification(
    kind: &'static str,
    mut payload: Map<String, Value>,
    order: &OrderRecord,
) -> Outbox {
    payload.insert(field::MERCHANT_ID.into(), order.merchant_id.as_str().into());
    payload.insert(
        field::OUT_TRADE_NO.into(),
        order.out_trade_no.as_str().into(),
    );
    payload.insert(field::NOTIFY_TYPE.into(), Value::from(kind));
    Outbox {
        kind,
        notify_url: order.notify_url.clone(),
        payload: Value::Object(payload).to_string(),
    }
}

fn split_notification(split: &NewSplit, order: &OrderRecord) -> Outbox {
    let money = |amount: Amount| Money::new(amount, split.currency);
    let view = SplitView {
        split_no: split.split_no.clone(),
        out_split_no: split.out_split_no.clone(),
        trade_no: split.trade_no.clone(),
        kind: split.kind,
        amount: money(split.amount()),
        receivers: split
            .shares
            .iter()
            .map(|s| ShareView {
                receiver_id: s.receiver_id.clone(),
                amount: money(s.amount),
                returned_amount: money(Amount::ZERO),
            })
            .collect(),
        create_time_ms: split.at_ms,
    };
    notification("SPLIT_SUCCESS", view.to_fields(), order)
}

fn return_notification(back: &NewReturn, split: &SplitRecord, order: &OrderRecord) -> Outbox {
    let view = ReturnView {
        return_no: back.return_no.clone(),
        out_return_no: back.out_return_no.clone(),
        split_no: split.split_no.clone(),
        out_split_no: split.out_split_no.clone(),
        trade_no: split.trade_no.clone(),
        receiver_id: back.receiver_id.clone(),
        amount: Money::new(back.amount, split.currency),
        create_time_ms: back.at_ms,
    };
    notification("SPLIT_RETURNED", view.to_fields(), order)
}
