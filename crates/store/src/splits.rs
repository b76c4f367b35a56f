//! Profit sharing (分账) and its return (分账回退): each request's row, its shares and its ledger
//! posting in one transaction (DESIGN §8). Sharing and a refund of the same order are serialised
//! by the order's row (taken first by both) and then the merchant's ledger lock, so the rule
//! refunded + shared-not-returned ≤ paid − fee holds under concurrency on both engines.

use crate::ledger::{lock_merchant, merchant_balances_in, post_checked, Posted};
use crate::outbox::{write_outbox, Outbox};
use crate::refunds::{NewRefund, RefundReservation};
use crate::rows::{get_amount, get_i64, get_id, get_opt_i64, get_parsed, get_string};
use crate::{Ctx, Store, StoreError, StoreResult};
use paygate_domain::ledger::{Account, EntryKind, Posting, PostingKind};
use paygate_domain::split::{
    allocate_return, check_receiver_count, return_needed, shareable_amount, Outstanding,
    ReceiverId, ReceiverType, ReturnPolicy, Share, SplitKind,
};
use paygate_domain::{
    Amount, Currency, MerchantId, OrderStatus, OutReturnNo, OutSplitNo, ReturnNo, SplitNo, TradeNo,
};
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};
use std::collections::BTreeSet;

/// A receiver as the merchant registered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverRecord {
    pub merchant_id: MerchantId,
    pub receiver_id: ReceiverId,
    pub receiver_type: ReceiverType,
    pub name: String,
    pub relation: String,
    pub at_ms: i64,
}

/// A share of a split: what its receiver was given and what came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareRecord {
    pub receiver_id: ReceiverId,
    pub amount: Amount,
    pub returned: Amount,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitRecord {
    pub split_no: SplitNo,
    pub merchant_id: MerchantId,
    pub out_split_no: OutSplitNo,
    pub trade_no: TradeNo,
    pub kind: SplitKind,
    pub currency: Currency,
    /// The shares' total; zero for a finish.
    pub amount: Amount,
    pub created_at_ms: i64,
    pub shares: Vec<ShareRecord>,
}

/// A split request as the merchant made it.
#[derive(Debug, Clone)]
pub struct NewSplit {
    pub split_no: SplitNo,
    pub merchant_id: MerchantId,
    pub out_split_no: OutSplitNo,
    pub trade_no: TradeNo,
    pub kind: SplitKind,
    pub currency: Currency,
    /// Empty for a finish.
    pub shares: Vec<Share>,
    /// Set on the order when given; proportional when never given.
    pub return_policy: Option<ReturnPolicy>,
    /// The most receivers one order may share to (the channel's cap or the configured one).
    pub receivers_max: u32,
    pub at_ms: i64,
    /// The merchant's notification of a share, written with it.
    pub outbox: Option<Outbox>,
}

impl NewSplit {
    pub fn amount(&self) -> Amount {
        Amount::from_minor(self.shares.iter().map(|s| s.amount.minor()).sum())
            .unwrap_or(Amount::ZERO)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SplitOutcome {
    New(SplitRecord),
    /// The merchant's split number was used before; this is that request.
    Existing(SplitRecord),
    /// The order is not (or no longer) paid.
    NotShareable(OrderStatus),
    /// The order's sharing was finished.
    Finished,
    /// A receiver the merchant has not registered, or has removed.
    UnknownReceiver(ReceiverId),
    TooManyReceivers {
        max: u32,
    },
    /// The shares exceed what the order may still share.
    Exceeded {
        shareable: Amount,
    },
    /// The merchant's balances cannot cover the shares (a settled or paid-out order).
    InsufficientBalance,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnRecord {
    pub return_no: ReturnNo,
    pub merchant_id: MerchantId,
    pub out_return_no: OutReturnNo,
    pub split_no: SplitNo,
    pub out_split_no: OutSplitNo,
    pub trade_no: TradeNo,
    pub receiver_id: ReceiverId,
    pub currency: Currency,
    pub amount: Amount,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone)]
pub struct NewReturn {
    pub return_no: ReturnNo,
    pub merchant_id: MerchantId,
    pub out_return_no: OutReturnNo,
    pub out_split_no: OutSplitNo,
    pub receiver_id: ReceiverId,
    pub amount: Amount,
    pub at_ms: i64,
    /// Built by the caller once the split is known (it names the order).
    pub outbox: Option<Outbox>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReturnOutcome {
    New(ReturnRecord),
    Existing(ReturnRecord),
    SplitNotFound,
    /// The split gave nothing to this receiver.
    ShareNotFound,
    /// More than the receiver still holds of the share.
    Exceeded {
        returnable: Amount,
    },
    /// The receiver's account no longer holds the amount.
    InsufficientBalance,
}

const SPLIT_COLUMNS: &str =
    "split_no, merchant_id, out_split_no, trade_no, kind, currency, amount, created_at";

fn split_from_row(row: &AnyRow, shares: Vec<ShareRecord>) -> StoreResult<SplitRecord> {
    Ok(SplitRecord {
        split_no: get_id(row, "split_no", SplitNo::parse)?,
        merchant_id: get_id(row, "merchant_id", MerchantId::parse)?,
        out_split_no: get_id(row, "out_split_no", OutSplitNo::parse)?,
        trade_no: get_id(row, "trade_no", TradeNo::parse)?,
        kind: get_parsed(row, "kind")?,
        currency: get_parsed(row, "currency")?,
        amount: Amount::from_minor(get_i64(row, "amount")?)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        created_at_ms: get_i64(row, "created_at")?,
        shares,
    })
}

fn return_from_row(row: &AnyRow) -> StoreResult<ReturnRecord> {
    Ok(ReturnRecord {
        return_no: get_id(row, "return_no", ReturnNo::parse)?,
        merchant_id: get_id(row, "merchant_id", MerchantId::parse)?,
        out_return_no: get_id(row, "out_return_no", OutReturnNo::parse)?,
        split_no: get_id(row, "split_no", SplitNo::parse)?,
        out_split_no: get_id(row, "out_split_no", OutSplitNo::parse)?,
        trade_no: get_id(row, "trade_no", TradeNo::parse)?,
        receiver_id: get_id(row, "receiver_id", ReceiverId::parse)?,
        currency: get_parsed(row, "currency")?,
        amount: get_amount(row, "amount")?,
        created_at_ms: get_i64(row, "created_at")?,
    })
}

/// What an order's sharing rests on, read under the order's row lock.
struct OrderMoney {
    status: OrderStatus,
    paid: Amount,
    /// The order's fee as snapshotted when it was paid (zero for an order not yet paid).
    fee: Amount,
    /// Every accepted refund, finished or not.
    refunded: Amount,
}

/// Takes the order's row (so sharing and refunding one order run one at a time) and reads its
/// money. `None` if the merchant has no such order.
async fn lock_order(
    tx: &mut Transaction<'static, Any>,
    merchant: &MerchantId,
    trade_no: &TradeNo,
) -> StoreResult<Option<OrderMoney>> {
    let row = sqlx::query(
        "UPDATE orders SET updated_at = updated_at WHERE trade_no = $1 AND merchant_id = $2
         RETURNING status, total_amount, refund_reserved, COALESCE(fee_amount, 0) AS fee_amount",
    )
    .bind(trade_no.as_str())
    .bind(merchant.as_str())
    .fetch_optional(&mut **tx)
    .await
    .ctx("lock order for sharing")?;
    row.map(|row| {
        Ok(OrderMoney {
            status: get_parsed(&row, "status")?,
            paid: get_amount(&row, "total_amount")?,
            fee: get_amount(&row, "fee_amount")?,
            refunded: Amount::from_minor(get_i64(&row, "refund_reserved")?)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        })
    })
    .transpose()
}

/// The order's shares that receivers still hold (part of), oldest first.
async fn outstanding_shares(
    tx: &mut Transaction<'static, Any>,
    trade_no: &TradeNo,
) -> StoreResult<Vec<(i64, SplitNo, ReceiverId, Amount)>> {
    let rows = sqlx::query(
        "SELECT id, split_no, receiver_id, amount - returned AS remaining FROM split_shares
         WHERE trade_no = $1 AND returned < amount ORDER BY id",
    )
    .bind(trade_no.as_str())
    .fetch_all(&mut **tx)
    .await
    .ctx("outstanding shares")?;
    rows.iter()
        .map(|row| {
            Ok((
                get_i64(row, "id")?,
                get_id(row, "split_no", SplitNo::parse)?,
                get_id(row, "receiver_id", ReceiverId::parse)?,
                get_amount(row, "remaining")?,
            ))
        })
        .collect()
}

fn sum(amounts: impl Iterator<Item = Amount>) -> StoreResult<Amount> {
    Amount::from_minor(amounts.map(Amount::minor).sum())
        .map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Takes `amount` back from a receiver's share into the merchant's pending balance: the ledger
/// posting (checked against the receiver's balance), the share's returned total and the return's
/// row. `Ok(false)` if the receiver's account cannot cover it; the caller rolls back.
struct ShareBack<'a> {
    return_no: &'a ReturnNo,
    merchant: &'a MerchantId,
    out_return_no: Option<&'a OutReturnNo>,
    refund_no: Option<&'a str>,
    split_no: &'a SplitNo,
    trade_no: &'a TradeNo,
    receiver_id: &'a ReceiverId,
    amount: Amount,
    at_ms: i64,
}

async fn record_share_back(
    tx: &mut Transaction<'static, Any>,
    back: &ShareBack<'_>,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE split_shares SET returned = returned + $1 WHERE split_no = $2 AND receiver_id = $3",
    )
    .bind(back.amount.minor())
    .bind(back.split_no.as_str())
    .bind(back.receiver_id.as_str())
    .execute(&mut **tx)
    .await
    .ctx("share returned")?;
    sqlx::query(
        "INSERT INTO split_returns (return_no, merchant_id, out_return_no, refund_no, split_no,
                                    trade_no, receiver_id, amount, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(back.return_no.as_str())
    .bind(back.merchant.as_str())
    .bind(back.out_return_no.map(OutReturnNo::as_str))
    .bind(back.refund_no)
    .bind(back.split_no.as_str())
    .bind(back.trade_no.as_str())
    .bind(back.receiver_id.as_str())
    .bind(back.amount.minor())
    .bind(back.at_ms)
    .execute(&mut **tx)
    .await
    .ctx("insert split return")?;
    Ok(())
}

fn return_transfer(
    posting: &mut Posting,
    merchant: &MerchantId,
    receiver: &ReceiverId,
    amount: Amount,
) -> StoreResult<()> {
    let account = Account::receiver(merchant.clone(), receiver.as_str())
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    posting.push(
        EntryKind::ShareReturn,
        account,
        Account::MerchantPending(merchant.clone()),
        amount,
    );
    Ok(())
}

/// Before a refund is held (in `reserve_refund`'s transaction): takes shares back from the
/// order's receivers so that refunded + shared-not-returned stays within paid − fee, by the
/// order's return policy. `Some(refusal)` if a receiver's account cannot cover its part: the
/// caller rolls back and nothing is written.
pub(crate) async fn return_shares_for_refund(
    tx: &mut Transaction<'static, Any>,
    refund: &NewRefund,
) -> StoreResult<Option<RefundReservation>> {
    let Some(order) = lock_order(tx, &refund.merchant_id, &refund.trade_no).await? else {
        return Ok(None);
    };
    let refunded_after = order.refunded.minor() + refund.amount.minor();
    let refundable = matches!(
        order.status,
        OrderStatus::Success | OrderStatus::PartialRefund
    );
    // A refund the reservation will refuse anyway takes nothing back.
    if !refundable || refunded_after > order.paid.minor() {
        return Ok(None);
    }
    let shares = outstanding_shares(tx, &refund.trade_no).await?;
    if shares.is_empty() {
        return Ok(None);
    }
    let held = sum(shares.iter().map(|s| s.3))?;
    let refunded_after =
        Amount::from_minor(refunded_after).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let needed = return_needed(order.paid, order.fee, refunded_after, held);
    if needed.is_zero() {
        return Ok(None);
    }
    let policy = return_policy(tx, &refund.trade_no).await?;
    let outstanding: Vec<Outstanding<usize>> = shares
        .iter()
        .enumerate()
        .map(|(i, (id, _, _, remaining))| Outstanding {
            key: i,
            seq: *id,
            remaining: *remaining,
        })
        .collect();
    let parts = allocate_return(&outstanding, needed, policy);
    lock_merchant(tx, &refund.merchant_id, refund.currency).await?;
    let mut posting = Posting::new(
        PostingKind::ShareReturn,
        refund.refund_no.as_str(),
        refund.currency,
    );
    for (i, amount) in &parts {
        return_transfer(&mut posting, &refund.merchant_id, &shares[*i].2, *amount)?;
    }
    if let Posted::Overdraft { account, .. } =
        post_checked(tx, &posting, refund.created_at_ms).await?
    {
        return Ok(Some(RefundReservation::ShareReturnShort {
            account: account.to_string(),
        }));
    }
    for (i, amount) in parts {
        let (_, split_no, receiver_id, _) = &shares[i];
        let back = ShareBack {
            return_no: &ReturnNo::mint(refund.created_at_ms),
            merchant: &refund.merchant_id,
            out_return_no: None,
            refund_no: Some(refund.refund_no.as_str()),
            split_no,
            trade_no: &refund.trade_no,
            receiver_id,
            amount,
            at_ms: refund.created_at_ms,
        };
        record_share_back(tx, &back).await?;
    }
    Ok(None)
}

async fn return_policy(
    tx: &mut Transaction<'static, Any>,
    trade_no: &TradeNo,
) -> StoreResult<ReturnPolicy> {
    let row = sqlx::query("SELECT return_policy FROM split_orders WHERE trade_no = $1")
        .bind(trade_no.as_str())
        .fetch_optional(&mut **tx)
        .await
        .ctx("order return policy")?;
    row.map(|row| get_parsed(&row, "return_policy"))
        .transpose()
        .map(Option::unwrap_or_default)
}

impl Store {
    /// Registers a receiver, or updates (and restores) one registered before.
    pub async fn add_receiver(&self, receiver: &ReceiverRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO split_receivers (merchant_id, receiver_id, receiver_type, name, relation,
                                          created_at, removed_at)
             VALUES ($1, $2, $3, $4, $5, $6, NULL)
             ON CONFLICT (merchant_id, receiver_id) DO UPDATE SET
                receiver_type = excluded.receiver_type, name = excluded.name,
                relation = excluded.relation, removed_at = NULL",
        )
        .bind(receiver.merchant_id.as_str())
        .bind(receiver.receiver_id.as_str())
        .bind(receiver.receiver_type.as_str())
        .bind(&receiver.name)
        .bind(&receiver.relation)
        .bind(receiver.at_ms)
        .execute(&self.pool)
        .await
        .ctx("add receiver")?;
        Ok(())
    }

    /// Removes a receiver from those the merchant may share to; what it holds stays its own.
    /// `false` if it was not registered.
    pub async fn remove_receiver(
        &self,
        merchant: &MerchantId,
        receiver_id: &ReceiverId,
        at_ms: i64,
    ) -> StoreResult<bool> {
        let row = sqlx::query(
            "UPDATE split_receivers SET removed_at = COALESCE(removed_at, $1)
             WHERE merchant_id = $2 AND receiver_id = $3 RETURNING receiver_id",
        )
        .bind(at_ms)
        .bind(merchant.as_str())
        .bind(receiver_id.as_str())
        .fetch_optional(&self.pool)
        .await
        .ctx("remove receiver")?;
        Ok(row.is_some())
    }

    pub async fn find_receiver(
        &self,
        merchant: &MerchantId,
        receiver_id: &ReceiverId,
    ) -> StoreResult<Option<(ReceiverRecord, Option<i64>)>> {
        let row = sqlx::query(
            "SELECT receiver_type, name, relation, created_at, removed_at FROM split_receivers
             WHERE merchant_id = $1 AND receiver_id = $2",
        )
        .bind(merchant.as_str())
        .bind(receiver_id.as_str())
        .fetch_optional(&self.pool)
        .await
        .ctx("find receiver")?;
        row.map(|row| {
            let record = ReceiverRecord {
                merchant_id: merchant.clone(),
                receiver_id: receiver_id.clone(),
                receiver_type: get_parsed(&row, "receiver_type")?,
                name: get_string(&row, "name")?,
                relation: get_string(&row, "relation")?,
                at_ms: get_i64(&row, "created_at")?,
            };
            Ok((record, get_opt_i64(&row, "removed_at")?))
        })
        .transpose()
    }

    /// Records a split request: a share, with its ledger posting (merchant pending, then
    /// available if pending is short, to each receiver), or the end of the order's sharing.
    pub async fn apply_split(&self, split: &NewSplit) -> StoreResult<SplitOutcome> {
        let mut tx = self.pool.begin().await.ctx("begin split")?;
        let inserted = sqlx::query(
            "INSERT INTO splits (split_no, merchant_id, out_split_no, trade_no, kind, currency,
                                 amount, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (merchant_id, out_split_no) DO NOTHING",
        )
        .bind(split.split_no.as_str())
        .bind(split.merchant_id.as_str())
        .bind(split.out_split_no.as_str())
        .bind(split.trade_no.as_str())
        .bind(split.kind.as_str())
        .bind(split.currency.as_str())
        .bind(split.amount().minor())
        .bind(split.at_ms)
        .execute(&mut *tx)
        .await
        .ctx("insert split")?
        .rows_affected();
        if inserted == 0 {
            tx.rollback().await.ctx("rollback duplicate split")?;
            let existing = self
                .find_split(&split.merchant_id, &split.out_split_no)
                .await?
                .ok_or_else(|| StoreError::Corrupt("conflicting split vanished".into()))?;
            return Ok(SplitOutcome::Existing(existing));
        }
        if let Some(refusal) = apply_split_in(&mut tx, split).await? {
            tx.rollback().await.ctx("rollback refused split")?;
            return Ok(refusal);
        }
        if let Some(outbox) = &split.outbox {
            write_outbox(
                &mut tx,
                &split.merchant_id,
                &split.trade_no,
                outbox,
                split.at_ms,
            )
            .await?;
        }
        tx.commit().await.ctx("commit split")?;
        let record = self
            .find_split(&split.merchant_id, &split.out_split_no)
            .await?
            .ok_or_else(|| StoreError::Corrupt("split vanished after commit".into()))?;
        Ok(SplitOutcome::New(record))
    }

    pub async fn find_split(
        &self,
        merchant: &MerchantId,
        out_split_no: &OutSplitNo,
    ) -> StoreResult<Option<SplitRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {SPLIT_COLUMNS} FROM splits WHERE merchant_id = $1 AND out_split_no = $2"
        ))
        .bind(merchant.as_str())
        .bind(out_split_no.as_str())
        .fetch_optional(&self.pool)
        .await
        .ctx("find split")?;
        let Some(row) = row else {
            return Ok(None);
        };
        let split_no = get_string(&row, "split_no")?;
        let shares = sqlx::query(
            "SELECT receiver_id, amount, returned FROM split_shares WHERE split_no = $1
             ORDER BY id",
        )
        .bind(&split_no)
        .fetch_all(&self.pool)
        .await
        .ctx("split shares")?
        .iter()
        .map(|row| {
            Ok(ShareRecord {
                receiver_id: get_id(row, "receiver_id", ReceiverId::parse)?,
                amount: get_amount(row, "amount")?,
                returned: Amount::from_minor(get_i64(row, "returned")?)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
        split_from_row(&row, shares).map(Some)
    }

    /// Takes part of a share back from its receiver into the merchant's pending balance,
    /// idempotent on the merchant's return number.
    pub async fn return_share(&self, back: &NewReturn) -> StoreResult<ReturnOutcome> {
        if let Some(existing) = self
            .find_return(&back.merchant_id, &back.out_return_no)
            .await?
        {
            return Ok(ReturnOutcome::Existing(existing));
        }
        let Some(split) = self
            .find_split(&back.merchant_id, &back.out_split_no)
            .await?
        else {
            return Ok(ReturnOutcome::SplitNotFound);
        };
        let mut tx = self.pool.begin().await.ctx("begin share return")?;
        lock_order(&mut tx, &back.merchant_id, &split.trade_no).await?;
        lock_merchant(&mut tx, &back.merchant_id, split.currency).await?;
        let row = sqlx::query(
            "SELECT amount - returned AS remaining FROM split_shares
             WHERE split_no = $1 AND receiver_id = $2",
        )
        .bind(split.split_no.as_str())
        .bind(back.receiver_id.as_str())
        .fetch_optional(&mut *tx)
        .await
        .ctx("share to return")?;
        let Some(row) = row else {
            tx.rollback().await.ctx("rollback share return")?;
            return Ok(ReturnOutcome::ShareNotFound);
        };
        let returnable = Amount::from_minor(get_i64(&row, "remaining")?)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        if back.amount > returnable {
            tx.rollback().await.ctx("rollback share return")?;
            return Ok(ReturnOutcome::Exceeded { returnable });
        }
        let mut posting = Posting::new(
            PostingKind::ShareReturn,
            back.return_no.as_str(),
            split.currency,
        );
        return_transfer(
            &mut posting,
            &back.merchant_id,
            &back.receiver_id,
            back.amount,
        )?;
        if post_checked(&mut tx, &posting, back.at_ms).await? != Posted::Posted {
            tx.rollback().await.ctx("rollback share return")?;
            return Ok(ReturnOutcome::InsufficientBalance);
        }
        let record = ShareBack {
            return_no: &back.return_no,
            merchant: &back.merchant_id,
            out_return_no: Some(&back.out_return_no),
            refund_no: None,
            split_no: &split.split_no,
            trade_no: &split.trade_no,
            receiver_id: &back.receiver_id,
            amount: back.amount,
            at_ms: back.at_ms,
        };
        let inserted = sqlx::query(
            "SELECT 1 AS taken FROM split_returns WHERE merchant_id = $1 AND out_return_no = $2",
        )
        .bind(back.merchant_id.as_str())
        .bind(back.out_return_no.as_str())
        .fetch_optional(&mut *tx)
        .await
        .ctx("return number taken")?;
        if inserted.is_some() {
            // A concurrent request with the same number won between our first look and the lock.
            tx.rollback().await.ctx("rollback duplicate return")?;
            let existing = self
                .find_return(&back.merchant_id, &back.out_return_no)
                .await?
                .ok_or_else(|| StoreError::Corrupt("conflicting return vanished".into()))?;
            return Ok(ReturnOutcome::Existing(existing));
        }
        record_share_back(&mut tx, &record).await?;
        if let Some(outbox) = &back.outbox {
            write_outbox(
                &mut tx,
                &back.merchant_id,
                &split.trade_no,
                outbox,
                back.at_ms,
            )
            .await?;
        }
        tx.commit().await.ctx("commit share return")?;
        self.find_return(&back.merchant_id, &back.out_return_no)
            .await?
            .map(ReturnOutcome::New)
            .ok_or_else(|| StoreError::Corrupt("share return vanished after commit".into()))
    }

    pub async fn find_return(
        &self,
        merchant: &MerchantId,
        out_return_no: &OutReturnNo,
    ) -> StoreResult<Option<ReturnRecord>> {
        let row = sqlx::query(
            "SELECT r.return_no, r.merchant_id, r.out_return_no, r.split_no, s.out_split_no,
                    r.trade_no, r.receiver_id, s.currency, r.amount, r.created_at
             FROM split_returns r JOIN splits s ON s.split_no = r.split_no
             WHERE r.merchant_id = $1 AND r.out_return_no = $2",
        )
        .bind(merchant.as_str())
        .bind(out_return_no.as_str())
        .fetch_optional(&self.pool)
        .await
        .ctx("find share return")?;
        row.as_ref().map(return_from_row).transpose()
    }
}

/// The split's checks and writes after its row was inserted; `Some(refusal)` to roll back.
async fn apply_split_in(
    tx: &mut Transaction<'static, Any>,
    split: &NewSplit,
) -> StoreResult<Option<SplitOutcome>> {
    let Some(order) = lock_order(tx, &split.merchant_id, &split.trade_no).await? else {
        return Err(StoreError::Corrupt(format!(
            "order {} vanished under its split",
            split.trade_no
        )));
    };
    if !matches!(
        order.status,
        OrderStatus::Success | OrderStatus::PartialRefund
    ) {
        return Ok(Some(SplitOutcome::NotShareable(order.status)));
    }
    let finished = sqlx::query(
        "SELECT finished_at FROM split_orders WHERE trade_no = $1 AND finished_at IS NOT NULL",
    )
    .bind(split.trade_no.as_str())
    .fetch_optional(&mut **tx)
    .await
    .ctx("split finished")?;
    if finished.is_some() {
        return Ok(Some(SplitOutcome::Finished));
    }
    let finished_at = (split.kind == SplitKind::Finish).then_some(split.at_ms);
    sqlx::query(
        "INSERT INTO split_orders (trade_no, merchant_id, return_policy, finished_at)
         VALUES ($1, $2, COALESCE($3, $5), $4)
         ON CONFLICT (trade_no) DO UPDATE SET
            return_policy = COALESCE($3, split_orders.return_policy),
            finished_at = excluded.finished_at",
    )
    .bind(split.trade_no.as_str())
    .bind(split.merchant_id.as_str())
    .bind(split.return_policy.map(ReturnPolicy::as_str))
    .bind(finished_at)
    .bind(ReturnPolicy::default().as_str())
    .execute(&mut **tx)
    .await
    .ctx("split order state")?;
    if split.kind == SplitKind::Finish {
        return Ok(None);
    }
    for share in &split.shares {
        let registered = sqlx::query(
            "SELECT 1 AS registered FROM split_receivers
             WHERE merchant_id = $1 AND receiver_id = $2 AND removed_at IS NULL",
        )
        .bind(split.merchant_id.as_str())
        .bind(share.receiver_id.as_str())
        .fetch_optional(&mut **tx)
        .await
        .ctx("receiver registered")?;
        if registered.is_none() {
            return Ok(Some(SplitOutcome::UnknownReceiver(
                share.receiver_id.clone(),
            )));
        }
    }
    let shares = outstanding_shares(tx, &split.trade_no).await?;
    let already: BTreeSet<ReceiverId> =
        sqlx::query("SELECT DISTINCT receiver_id FROM split_shares WHERE trade_no = $1")
            .bind(split.trade_no.as_str())
            .fetch_all(&mut **tx)
            .await
            .ctx("order receivers")?
            .iter()
            .map(|row| get_id(row, "receiver_id", ReceiverId::parse))
            .collect::<StoreResult<_>>()?;
    if check_receiver_count(&already, &split.shares, split.receivers_max).is_err() {
        return Ok(Some(SplitOutcome::TooManyReceivers {
            max: split.receivers_max,
        }));
    }
    let held = sum(shares.iter().map(|s| s.3))?;
    let shareable = shareable_amount(order.paid, order.fee, order.refunded, held);
    if split.amount() > shareable {
        return Ok(Some(SplitOutcome::Exceeded { shareable }));
    }
    lock_merchant(tx, &split.merchant_id, split.currency).await?;
    let balances = merchant_balances_in(tx, &split.merchant_id, split.currency).await?;
    let mut from_pending = balances.pending.max(0);
    let mut posting = Posting::new(
        PostingKind::ProfitShare,
        split.split_no.as_str(),
        split.currency,
    );
    for share in &split.shares {
        let receiver = Account::receiver(split.merchant_id.clone(), share.receiver_id.as_str())
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let pending = share.amount.minor().min(from_pending);
        from_pending -= pending;
        let available = share.amount.minor() - pending;
        for (account, minor) in [
            (Account::MerchantPending(split.merchant_id.clone()), pending),
            (
                Account::MerchantAvailable(split.merchant_id.clone()),
                available,
            ),
        ] {
            let amount =
                Amount::from_minor(minor).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            posting.push(EntryKind::ProfitShare, account, receiver.clone(), amount);
        }
    }
    if post_checked(tx, &posting, split.at_ms).await? != Posted::Posted {
        return Ok(Some(SplitOutcome::InsufficientBalance));
    }
    for share in &split.shares {
        sqlx::query(
            "INSERT INTO split_shares (split_no, trade_no, receiver_id, amount, returned)
             VALUES ($1, $2, $3, $4, 0)",
        )
        .bind(split.split_no.as_str())
        .bind(split.trade_no.as_str())
        .bind(share.receiver_id.as_str())
        .bind(share.amount.minor())
        .execute(&mut **tx)
        .await
        .ctx("insert share")?;
    }
    Ok(None)
}
