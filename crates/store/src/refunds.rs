use crate::ledger::{lock_merchant, merchant_balances_in, post_checked, Posted};
use crate::outbox::{write_outbox, Outbox};
use crate::rows::{
    get_amount, get_i64, get_id, get_opt_i64, get_opt_string, get_parsed, get_string,
};
use crate::transitions::{write_transition, OrderTransition};
use crate::OrderRecord;
use crate::{Ctx, Store, StoreError, StoreResult};
use paygate_domain::fee::{
    refund_fees, FeeRate, FeeRefund, FeeSchedule, FeeSnapshot, FeesRefundedSoFar,
};
use paygate_domain::ledger::{Account, EntryKind, LedgerName, Posting, PostingKind};
use paygate_domain::merchant_money::{FeeBearer, SettlementMode};
use paygate_domain::refund::RefundEvent;
use paygate_domain::{
    Amount, Currency, MerchantId, OrderEvent, OrderStatus, OutRefundNo, RefundNo, RefundStatus,
    TradeNo,
};
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

pub use paygate_domain::RefundRecord;

/// A refund as it is accepted: PROCESSING, its amount to be reserved against the order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefund {
    pub refund_no: RefundNo,
    pub merchant_id: MerchantId,
    pub out_refund_no: OutRefundNo,
    pub trade_no: TradeNo,
    pub currency: Currency,
    pub amount: Amount,
    pub reason: String,
    pub created_at_ms: i64,
    /// The merchant's settlement mode now: whether a shortfall of its balances refuses the
    /// refund (`platform`) or is funded from its own channel account (`direct`).
    pub settlement_mode: SettlementMode,
}

impl NewRefund {
    /// The refund as stored right after it is accepted.
    pub fn to_record(&self) -> RefundRecord {
        let new = self.clone();
        RefundRecord {
            refund_no: new.refund_no,
            merchant_id: new.merchant_id,
            out_refund_no: new.out_refund_no,
            trade_no: new.trade_no,
            currency: new.currency,
            amount: new.amount,
            reason: new.reason,
            status: RefundStatus::Processing,
            channel_refund_no: None,
            created_at_ms: new.created_at_ms,
            finished_at_ms: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundRef {
    RefundNo(RefundNo),
    OutRefundNo(OutRefundNo),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundReservation {
    /// The refund was recorded and its amount reserved against the order.
    New(RefundRecord),
    /// The merchant's refund number was used before; this is that refund.
    Existing(RefundRecord),
    /// The order is not in a refundable state.
    NotRefundable(OrderStatus),
    /// Accepted refunds plus this one would exceed the order's amount.
    Exceeded { refundable: Amount },
    /// In `platform` mode, the merchant's unsettled and available balances together cannot
    /// fund the refund; nothing was written.
    InsufficientBalance,
    /// The refund must first take shares back from the order's receivers, and the receiver
    /// `account` no longer holds its part; nothing was written.
    ShareReturnShort { account: String },
}

/// What a refund's finish needs to know of the channel and the merchant, which the store does
/// not: the channel's ledger name and fee-refund rule, and who bears what the channel keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundFeeTerms {
    pub channel: LedgerName,
    pub rule: FeeRefund,
    pub bearer: FeeBearer,
}

/// Where a refund's amount was held from, and the merchant's fee it gave back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefundFunding {
    pub from_pending: Amount,
    pub from_available: Amount,
    pub from_external: Amount,
    pub fee_returned: Amount,
}

/// A paid order's fees as snapshotted, and what refunds gave back of them so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderFees {
    pub snapshot: FeeSnapshot,
    pub fee_returned: Amount,
    pub channel_fee_returned: Amount,
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

fn rate_of(row: &AnyRow, column: &str) -> StoreResult<FeeRate> {
    let ppm = get_i64(row, column)?;
    u32::try_from(ppm)
        .ok()
        .and_then(|ppm| FeeRate::from_ppm(ppm).ok())
        .ok_or_else(|| corrupt(format!("{column}={ppm}")))
}

const ORDER_FEE_COLUMNS: &str = "fee_pay_type, fee_mode, fee_rate_ppm, fee_fixed, fee_amount, \
    channel_fee_rate_ppm, channel_fee_amount, fee_returned, channel_fee_returned";

/// The order's fees from a row of `ORDER_FEE_COLUMNS`; `None` for an order paid before fees
/// were snapshotted.
fn order_fees_from_row(row: &AnyRow) -> StoreResult<Option<OrderFees>> {
    if get_opt_string(row, "fee_pay_type")?.is_none() {
        return Ok(None);
    }
    Ok(Some(OrderFees {
        snapshot: FeeSnapshot {
            pay_type: get_parsed(row, "fee_pay_type")?,
            mode: get_parsed(row, "fee_mode")?,
            merchant: FeeSchedule {
                rate: rate_of(row, "fee_rate_ppm")?,
                fixed: get_amount(row, "fee_fixed")?,
            },
            channel_rate: rate_of(row, "channel_fee_rate_ppm")?,
            fee: get_amount(row, "fee_amount")?,
            channel_fee: get_amount(row, "channel_fee_amount")?,
        },
        fee_returned: get_amount(row, "fee_returned")?,
        channel_fee_returned: get_amount(row, "channel_fee_returned")?,
    }))
}

/// Holds a new refund's amount in the merchant's reserved balance: its unsettled funds first,
/// then its available balance (seed 002 ⑧); what they cannot cover comes from the merchant's own
/// channel account in `direct` mode, and refuses the refund in `platform` mode (`None`: the
/// caller rolls back). Takes the merchant's ledger lock; records the split on the refund row.
async fn hold_refund_funds(
    tx: &mut Transaction<'static, Any>,
    refund: &NewRefund,
) -> StoreResult<Option<RefundFunding>> {
    let merchant = &refund.merchant_id;
    lock_merchant(tx, merchant, refund.currency).await?;
    let balances = merchant_balances_in(tx, merchant, refund.currency).await?;
    let amount = refund.amount.minor();
    let from_pending = amount.min(balances.pending.max(0));
    let from_available = (amount - from_pending).min(balances.available.max(0));
    let shortfall = amount - from_pending - from_available;
    if shortfall > 0 && refund.settlement_mode == SettlementMode::Platform {
        return Ok(None);
    }
    let fen = |minor: i64| Amount::from_minor(minor).map_err(corrupt);
    let funding = RefundFunding {
        from_pending: fen(from_pending)?,
        from_available: fen(from_available)?,
        from_external: fen(shortfall)?,
        fee_returned: Amount::ZERO,
    };
    let reserved = Account::MerchantReserved(merchant.clone());
    let posting = Posting::new(
        PostingKind::RefundAccepted,
        refund.refund_no.as_str(),
        refund.currency,
    )
    .transfer(
        EntryKind::RefundHold,
        Account::MerchantPending(merchant.clone()),
        reserved.clone(),
        funding.from_pending,
    )
    .transfer(
        EntryKind::RefundHold,
        Account::MerchantAvailable(merchant.clone()),
        reserved.clone(),
        funding.from_available,
    )
    .transfer(
        EntryKind::RefundHold,
        Account::MerchantExternal(merchant.clone()),
        reserved,
        funding.from_external,
    );
    match post_checked(tx, &posting, refund.created_at_ms).await? {
        Posted::Posted => {}
        other => {
            return Err(corrupt(format!(
                "refund {} hold under the merchant lock: {other:?}",
                refund.refund_no
            )))
        }
    }
    sqlx::query(
        "UPDATE refunds SET held_from_pending = $1, held_from_available = $2,
                held_from_external = $3
         WHERE refund_no = $4",
    )
    .bind(from_pending)
    .bind(from_available)
    .bind(shortfall)
    .bind(refund.refund_no.as_str())
    .execute(&mut **tx)
    .await
    .ctx("record refund funding")?;
    Ok(Some(funding))
}

/// A refund being finished, as its row and hold read back.
struct Finishing {
    refund_no: RefundNo,
    merchant: MerchantId,
    trade_no: TradeNo,
    currency: Currency,
    amount: Amount,
    held: RefundFunding,
}

/// A succeeded refund's ledger: the held amount goes back to the payer through the channel, and
/// the fees come back as the channel's rule and the merchant's bearer say (`refund_fees`). The
/// order row is locked by the caller's update, so its fee counters are the current ones.
async fn post_refund_succeeded(
    tx: &mut Transaction<'static, Any>,
    refund: &Finishing,
    refunded_before: Amount,
    terms: &RefundFeeTerms,
    at_ms: i64,
) -> StoreResult<()> {
    let merchant = &refund.merchant;
    let clearing = Account::ChannelClearing(terms.channel.clone());
    let mut posting = Posting::new(
        PostingKind::RefundSucceeded,
        refund.refund_no.as_str(),
        refund.currency,
    )
    .transfer(
        EntryKind::Refund,
        Account::MerchantReserved(merchant.clone()),
        clearing.clone(),
        refund.amount,
    );
    let row = sqlx::query(&format!(
        "SELECT total_amount, {ORDER_FEE_COLUMNS} FROM orders WHERE trade_no = $1"
    ))
    .bind(refund.trade_no.as_str())
    .fetch_one(&mut **tx)
    .await
    .ctx("read order fees")?;
    if let Some(fees) = order_fees_from_row(&row)? {
        let before = FeesRefundedSoFar {
            refunded: refunded_before,
            fee_returned: fees.fee_returned,
            channel_fee_returned: fees.channel_fee_returned,
        };
        let paid = get_amount(&row, "total_amount")?;
        let back = refund_fees(
            &fees.snapshot,
            terms.rule,
            terms.bearer,
            paid,
            before,
            refund.amount,
        )
        .map_err(corrupt)?;
        let pending = Account::MerchantPending(merchant.clone());
        match fees.snapshot.mode {
            SettlementMode::Platform => {
                posting.push(
                    EntryKind::FeeRefund,
                    Account::PlatformFeeIncome,
                    pending,
                    back.fee,
                );
                posting.push(
                    EntryKind::ChannelFeeRefund,
                    clearing,
                    Account::ChannelFeeExpense(terms.channel.clone()),
                    back.channel_fee,
                );
            }
            SettlementMode::Direct => {
                posting.push(EntryKind::FeeRefund, clearing, pending, back.fee);
            }
        }
        sqlx::query(
            "UPDATE orders SET fee_returned = fee_returned + $1,
                    channel_fee_returned = channel_fee_returned + $2
             WHERE trade_no = $3",
        )
        .bind(back.fee.minor())
        .bind(back.channel_fee.minor())
        .bind(refund.trade_no.as_str())
        .execute(&mut **tx)
        .await
        .ctx("add returned fees")?;
        sqlx::query("UPDATE refunds SET fee_returned = $1 WHERE refund_no = $2")
            .bind(back.fee.minor())
            .bind(refund.refund_no.as_str())
            .execute(&mut **tx)
            .await
            .ctx("record refund fee")?;
    }
    lock_merchant(tx, merchant, refund.currency).await?;
    expect_posted(tx, &posting, at_ms).await
}

/// A failed refund's hold goes back to where it was taken from.
async fn post_refund_failed(
    tx: &mut Transaction<'static, Any>,
    refund: &Finishing,
    at_ms: i64,
) -> StoreResult<()> {
    let merchant = &refund.merchant;
    let reserved = Account::MerchantReserved(merchant.clone());
    let posting = Posting::new(
        PostingKind::RefundFailed,
        refund.refund_no.as_str(),
        refund.currency,
    )
    .transfer(
        EntryKind::RefundRelease,
        reserved.clone(),
        Account::MerchantPending(merchant.clone()),
        refund.held.from_pending,
    )
    .transfer(
        EntryKind::RefundRelease,
        reserved.clone(),
        Account::MerchantAvailable(merchant.clone()),
        refund.held.from_available,
    )
    .transfer(
        EntryKind::RefundRelease,
        reserved,
        Account::MerchantExternal(merchant.clone()),
        refund.held.from_external,
    );
    lock_merchant(tx, merchant, refund.currency).await?;
    expect_posted(tx, &posting, at_ms).await
}

/// Posts what the refund's hold covers; anything else means the books and the refund row
/// disagree.
async fn expect_posted(
    tx: &mut Transaction<'static, Any>,
    posting: &Posting,
    at_ms: i64,
) -> StoreResult<()> {
    match post_checked(tx, posting, at_ms).await? {
        Posted::Posted => Ok(()),
        other => Err(corrupt(format!(
            "{} {} could not post: {other:?}",
            posting.kind, posting.reference
        ))),
    }
}

fn refund_from_row(row: &AnyRow) -> StoreResult<RefundRecord> {
    let refund = RefundRecord {
        refund_no: get_id(row, "refund_no", RefundNo::parse)?,
        merchant_id: get_id(row, "merchant_id", MerchantId::parse)?,
        out_refund_no: get_id(row, "out_refund_no", OutRefundNo::parse)?,
        trade_no: get_id(row, "trade_no", TradeNo::parse)?,
        currency: get_parsed(row, "currency")?,
        amount: get_amount(row, "amount")?,
        reason: get_string(row, "reason")?,
        status: get_parsed(row, "status")?,
        channel_refund_no: get_opt_string(row, "channel_refund_no")?,
        created_at_ms: get_i64(row, "created_at")?,
        finished_at_ms: get_opt_i64(row, "finished_at")?,
    };
    debug_assert!(
        !refund.amount.is_zero(),
        "refund {} is for nothing",
        refund.refund_no
    );
    debug_assert!(
        (refund.status == RefundStatus::Processing) == refund.finished_at_ms.is_none(),
        "refund {} is {} with finish time {:?}",
        refund.refund_no,
        refund.status,
        refund.finished_at_ms
    );
    Ok(refund)
}

/// A refund and its order, read back together: the refund fits inside the order.
pub fn debug_assert_refund_fits(refund: &RefundRecord, order: &OrderRecord) {
    debug_assert!(
        refund.trade_no == order.trade_no
            && refund.currency == order.currency
            && refund.amount <= order.total_amount,
        "refund {} of {:?} {} does not fit order {} of {:?} {}",
        refund.refund_no,
        refund.amount,
        refund.currency,
        order.trade_no,
        order.total_amount,
        order.currency
    );
}

const REFUND_COLUMNS: &str = "refund_no, merchant_id, out_refund_no, trade_no, currency, amount, \
    reason, status, channel_refund_no, created_at, finished_at";

/// Gives a failed refund's amount back to what the order can still refund.
async fn release_reservation(
    tx: &mut Transaction<'static, Any>,
    trade_no: &TradeNo,
    amount: i64,
    at_ms: i64,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE orders SET refund_reserved = refund_reserved - $1, updated_at = $2
         WHERE trade_no = $3",
    )
    .bind(amount)
    .bind(at_ms)
    .bind(trade_no.as_str())
    .execute(&mut **tx)
    .await
    .ctx("release refund reservation")?;
    Ok(())
}

/// A refund's amount that succeeded at the channel, to add to its order.
struct RefundedAmount<'a> {
    trade_no: &'a TradeNo,
    amount: i64,
    at_ms: i64,
}

/// Grows the order's refunded total and moves the order to PARTIAL_REFUND or REFUND through the
/// one order-transition writer (audit row and `outbox` included).
async fn add_refunded_amount(
    tx: &mut Transaction<'static, Any>,
    refunded: &RefundedAmount<'_>,
    outbox: Option<&Outbox>,
) -> StoreResult<Amount> {
    let trade_no = refunded.trade_no;
    let order = sqlx::query(
        "UPDATE orders SET refunded_amount = refunded_amount + $1, updated_at = $2
         WHERE trade_no = $3
         RETURNING status, refunded_amount, total_amount",
    )
    .bind(refunded.amount)
    .bind(refunded.at_ms)
    .bind(trade_no.as_str())
    .fetch_one(&mut **tx)
    .await
    .ctx("add refunded amount")?;
    let refunded_now = get_i64(&order, "refunded_amount")?;
    let fully_refunded = refunded_now == get_i64(&order, "total_amount")?;
    let refunded_before = Amount::from_minor(refunded_now - refunded.amount).map_err(corrupt)?;
    // The update above holds the order's row (and SQLite has one writer), so the status it
    // returned is still the order's and the compare-and-set applies.
    let change = OrderTransition {
        trade_no: trade_no.clone(),
        from: get_parsed(&order, "status")?,
        event: OrderEvent::Refunded { fully_refunded },
        at_ms: refunded.at_ms,
        channel_trade_no: None,
        outbox: outbox.cloned(),
        posting: None,
        fees: None,
    };
    match write_transition(tx, &change).await? {
        Some(_) => Ok(refunded_before),
        None => Err(StoreError::Corrupt(format!(
            "order {trade_no} changed under its refund's row lock"
        ))),
    }
}

/// How a processing refund ended at the channel.
#[derive(Debug, Clone)]
pub enum RefundFinish {
    Succeeded { channel_refund_no: Option<String> },
    Failed,
}

impl Store {
    /// How many refunds an order has had, whatever their outcome: what a channel's refund
    /// count limit counts.
    pub async fn count_refunds(&self, trade_no: &TradeNo) -> StoreResult<u32> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM refunds WHERE trade_no = $1")
            .bind(trade_no.as_str())
            .fetch_one(&self.pool)
            .await
            .ctx("count refunds")?;
        Ok(u32::try_from(get_i64(&row, "n")?).unwrap_or(u32::MAX))
    }

    /// Records a refund and reserves its amount in one transaction. The reservation is a
    /// conditional update of the order row, so concurrent refunds can never together exceed the
    /// paid amount on either engine.
    pub async fn reserve_refund(&self, refund: &NewRefund) -> StoreResult<RefundReservation> {
        debug_assert!(!refund.amount.is_zero(), "reserving a refund of nothing");
        let mut tx = self.pool.begin().await.ctx("begin reserve refund")?;
        let inserted = sqlx::query(
            "INSERT INTO refunds (refund_no, merchant_id, out_refund_no, trade_no, currency, amount,
                                  reason, status, channel_refund_no, created_at, finished_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, NULL)
             ON CONFLICT (merchant_id, out_refund_no) DO NOTHING",
        )
        .bind(refund.refund_no.as_str())
        .bind(refund.merchant_id.as_str())
        .bind(refund.out_refund_no.as_str())
        .bind(refund.trade_no.as_str())
        .bind(refund.currency.as_str())
        .bind(refund.amount.minor())
        .bind(&refund.reason)
        .bind(RefundStatus::Processing.as_str())
        .bind(refund.created_at_ms)
        .execute(&mut *tx)
        .await
        .ctx("insert refund")?
        .rows_affected();
        if inserted == 0 {
            tx.rollback().await.ctx("rollback duplicate refund")?;
            let existing = self
                .find_refund(
                    &refund.merchant_id,
                    &RefundRef::OutRefundNo(refund.out_refund_no.clone()),
                )
                .await?
                .ok_or_else(|| StoreError::Corrupt("conflicting refund vanished".into()))?;
            return Ok(RefundReservation::Existing(existing));
        }
        if let Some(refused) = crate::splits::return_shares_for_refund(&mut tx, refund).await? {
            tx.rollback()
                .await
                .ctx("rollback refund short of share returns")?;
            return Ok(refused);
        }
        let reserved = sqlx::query(
            "UPDATE orders SET refund_reserved = refund_reserved + $1, updated_at = $2
             WHERE trade_no = $3 AND status IN ($4, $5) AND refund_reserved + $1 <= total_amount",
        )
        .bind(refund.amount.minor())
        .bind(refund.created_at_ms)
        .bind(refund.trade_no.as_str())
        .bind(OrderStatus::Success.as_str())
        .bind(OrderStatus::PartialRefund.as_str())
        .execute(&mut *tx)
        .await
        .ctx("reserve refund amount")?
        .rows_affected();
        if reserved == 1 {
            if hold_refund_funds(&mut tx, refund).await?.is_none() {
                tx.rollback().await.ctx("rollback unfunded refund")?;
                return Ok(RefundReservation::InsufficientBalance);
            }
            tx.commit().await.ctx("commit reserve refund")?;
            return Ok(RefundReservation::New(refund.to_record()));
        }
        tx.rollback().await.ctx("rollback refused refund")?;
        let order = self
            .get_order(&refund.trade_no)
            .await?
            .ok_or_else(|| StoreError::Corrupt("refunded order vanished".into()))?;
        if !matches!(
            order.status,
            OrderStatus::Success | OrderStatus::PartialRefund
        ) {
            return Ok(RefundReservation::NotRefundable(order.status));
        }
        let refundable = order
            .total_amount
            .checked_sub(order.refund_reserved)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        Ok(RefundReservation::Exceeded { refundable })
    }

    /// Ends a processing refund. On success the order's refunded total grows, the order moves
    /// to PARTIAL_REFUND or REFUND, and the ledger pays the held amount back through the channel
    /// with the fees `terms` return; on failure the reservation is released and the hold goes
    /// back where it came from. Returns the refund's new status, or `None` if it had already
    /// ended.
    pub async fn finish_refund(
        &self,
        refund_no: &RefundNo,
        finish: &RefundFinish,
        terms: &RefundFeeTerms,
        at_ms: i64,
        outbox: Option<&Outbox>,
    ) -> StoreResult<Option<RefundStatus>> {
        let (event, channel_refund_no) = match finish {
            RefundFinish::Succeeded { channel_refund_no } => {
                (RefundEvent::Succeeded, channel_refund_no.as_deref())
            }
            RefundFinish::Failed => (RefundEvent::Failed, None),
        };
        let to = RefundStatus::Processing
            .apply(event)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut tx = self.pool.begin().await.ctx("begin finish refund")?;
        let row = sqlx::query(
            "UPDATE refunds SET status = $1, finished_at = $2,
                    channel_refund_no = COALESCE($3, channel_refund_no)
             WHERE refund_no = $4 AND status = $5
             RETURNING trade_no, merchant_id, currency, amount, held_from_pending,
                       held_from_available, held_from_external",
        )
        .bind(to.as_str())
        .bind(at_ms)
        .bind(channel_refund_no)
        .bind(refund_no.as_str())
        .bind(RefundStatus::Processing.as_str())
        .fetch_optional(&mut *tx)
        .await
        .ctx("finish refund")?;
        let Some(row) = row else {
            tx.rollback().await.ctx("rollback finished refund")?;
            return Ok(None);
        };
        let trade_no = get_id(&row, "trade_no", TradeNo::parse)?;
        let merchant_id = get_id(&row, "merchant_id", MerchantId::parse)?;
        let amount = get_i64(&row, "amount")?;
        let finishing = Finishing {
            refund_no: refund_no.clone(),
            merchant: merchant_id.clone(),
            trade_no: trade_no.clone(),
            currency: get_parsed(&row, "currency")?,
            amount: get_amount(&row, "amount")?,
            held: RefundFunding {
                from_pending: get_amount(&row, "held_from_pending")?,
                from_available: get_amount(&row, "held_from_available")?,
                from_external: get_amount(&row, "held_from_external")?,
                fee_returned: Amount::ZERO,
            },
        };
        match finish {
            RefundFinish::Succeeded { .. } => {
                let refunded = RefundedAmount {
                    trade_no: &trade_no,
                    amount,
                    at_ms,
                };
                let before = add_refunded_amount(&mut tx, &refunded, outbox).await?;
                post_refund_succeeded(&mut tx, &finishing, before, terms, at_ms).await?;
            }
            RefundFinish::Failed => {
                release_reservation(&mut tx, &trade_no, amount, at_ms).await?;
                post_refund_failed(&mut tx, &finishing, at_ms).await?;
                if let Some(outbox) = outbox {
                    write_outbox(&mut tx, &merchant_id, &trade_no, outbox, at_ms).await?;
                }
            }
        }
        tx.commit().await.ctx("commit finish refund")?;
        Ok(Some(to))
    }

    /// Where a refund's amount was held from and the fee it gave back; `None` for no such
    /// refund.
    pub async fn refund_funding(&self, refund_no: &RefundNo) -> StoreResult<Option<RefundFunding>> {
        let row = sqlx::query(
            "SELECT held_from_pending, held_from_available, held_from_external, fee_returned
             FROM refunds WHERE refund_no = $1",
        )
        .bind(refund_no.as_str())
        .fetch_optional(&self.pool)
        .await
        .ctx("get refund funding")?;
        row.map(|row| {
            Ok(RefundFunding {
                from_pending: get_amount(&row, "held_from_pending")?,
                from_available: get_amount(&row, "held_from_available")?,
                from_external: get_amount(&row, "held_from_external")?,
                fee_returned: get_amount(&row, "fee_returned")?,
            })
        })
        .transpose()
    }

    /// A paid order's fee snapshot and what refunds gave back of it; `None` for an order not
    /// (yet) paid, or paid before fees were snapshotted.
    pub async fn order_fees(&self, trade_no: &TradeNo) -> StoreResult<Option<OrderFees>> {
        let row = sqlx::query(&format!(
            "SELECT {ORDER_FEE_COLUMNS} FROM orders WHERE trade_no = $1"
        ))
        .bind(trade_no.as_str())
        .fetch_optional(&self.pool)
        .await
        .ctx("get order fees")?;
        match row {
            Some(row) => order_fees_from_row(&row),
            None => Ok(None),
        }
    }

    pub async fn get_refund(&self, refund_no: &RefundNo) -> StoreResult<Option<RefundRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE refund_no = $1"
        ))
        .bind(refund_no.as_str())
        .fetch_optional(&self.pool)
        .await
        .ctx("get refund")?;
        row.as_ref().map(refund_from_row).transpose()
    }

    pub async fn find_refund(
        &self,
        merchant: &MerchantId,
        by: &RefundRef,
    ) -> StoreResult<Option<RefundRecord>> {
        let (column, value) = match by {
            RefundRef::RefundNo(r) => ("refund_no", r.as_str()),
            RefundRef::OutRefundNo(o) => ("out_refund_no", o.as_str()),
        };
        let row = sqlx::query(&format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE merchant_id = $1 AND {column} = $2"
        ))
        .bind(merchant.as_str())
        .bind(value)
        .fetch_optional(&self.pool)
        .await
        .ctx("find refund")?;
        row.as_ref().map(refund_from_row).transpose()
    }
}
