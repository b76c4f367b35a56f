//! Share rules given at create (issue #11): inserted with their order, found by the step that
//! applies them, and marked done or failed. The split itself is recorded by `apply_split` under
//! the number derived from the order, whose unique key makes a second application a replay.

use crate::rows::{get_i64, get_id, get_opt_string, get_parsed, get_string};
use crate::{Ctx, Store, StoreError, StoreResult};
use paygate_domain::split::ReceiverId;
use paygate_domain::split_rules::{AutoSplitStatus, OrderSplit, SplitMode, SplitRule};
use paygate_domain::{Amount, MerchantId, OrderStatus, TradeNo};
use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

/// An order's share rules as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSplitRecord {
    pub trade_no: TradeNo,
    pub merchant_id: MerchantId,
    pub split: OrderSplit,
    pub status: AutoSplitStatus,
    pub attempts: i64,
    pub fail_reason: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// How one application of an order's rules ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AutoSplitUpdate {
    /// The split under the derived number exists (made now or before).
    Done,
    /// The split was refused; final.
    Failed { reason: String },
    /// Something else went wrong (a database error); tried again until `attempts_max`
    /// attempts, then failed with `reason`.
    Retry { reason: String, attempts_max: i64 },
}

const COLUMNS: &str =
    "trade_no, merchant_id, split_mode, rules, status, attempts, fail_reason, created_at, \
     updated_at";

/// `COLUMNS` of the rules' table when joined with `orders`.
const JOINED_COLUMNS: &str =
    "r.trade_no, r.merchant_id, r.split_mode, r.rules, r.status, r.attempts, r.fail_reason, \
     r.created_at, r.updated_at";

fn rules_json(split: &OrderSplit) -> String {
    let list: Vec<Value> = split
        .rules
        .iter()
        .map(|r| {
            json!({
                "receiver_id": r.receiver_id.as_str(),
                "amount": r.amount.minor(),
                "description": r.description,
            })
        })
        .collect();
    Value::Array(list).to_string()
}

fn rules_from_json(text: &str) -> StoreResult<Vec<SplitRule>> {
    let corrupt = |why: String| StoreError::Corrupt(format!("order_split_rules.rules: {why}"));
    let list: Vec<Value> = serde_json::from_str(text).map_err(|e| corrupt(e.to_string()))?;
    list.iter()
        .map(|entry| {
            let id = entry["receiver_id"]
                .as_str()
                .ok_or_else(|| corrupt("receiver_id".into()))?;
            let minor = entry["amount"]
                .as_i64()
                .ok_or_else(|| corrupt("amount".into()))?;
            Ok(SplitRule {
                receiver_id: ReceiverId::parse(id).map_err(|e| corrupt(e.to_string()))?,
                amount: Amount::from_minor(minor).map_err(|e| corrupt(e.to_string()))?,
                description: entry["description"].as_str().map(str::to_owned),
            })
        })
        .collect()
}

fn record_from_row(row: &AnyRow) -> StoreResult<OrderSplitRecord> {
    let mode: SplitMode = get_parsed(row, "split_mode")?;
    let rules = rules_from_json(&get_string(row, "rules")?)?;
    let split =
        OrderSplit::new(mode, rules).map_err(|e| StoreError::Corrupt(format!("rules: {e}")))?;
    let record = OrderSplitRecord {
        trade_no: get_id(row, "trade_no", TradeNo::parse)?,
        merchant_id: get_id(row, "merchant_id", MerchantId::parse)?,
        split,
        status: get_parsed(row, "status")?,
        attempts: get_i64(row, "attempts")?,
        fail_reason: get_opt_string(row, "fail_reason")?,
        created_at_ms: get_i64(row, "created_at")?,
        updated_at_ms: get_i64(row, "updated_at")?,
    };
    debug_assert!(
        (record.status == AutoSplitStatus::Failed) == record.fail_reason.is_some(),
        "order {}: a reason exactly when the rules failed",
        record.trade_no
    );
    Ok(record)
}

/// Writes an order's rules, pending, in the order's insert transaction.
pub(crate) async fn insert_split_rules(
    tx: &mut Transaction<'static, Any>,
    trade_no: &TradeNo,
    merchant: &MerchantId,
    split: &OrderSplit,
    at_ms: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO order_split_rules (trade_no, merchant_id, split_mode, rules, status,
                                        attempts, fail_reason, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 0, NULL, $6, $6)",
    )
    .bind(trade_no.as_str())
    .bind(merchant.as_str())
    .bind(split.mode.as_str())
    .bind(rules_json(split))
    .bind(AutoSplitStatus::Pending.as_str())
    .bind(at_ms)
    .execute(&mut **tx)
    .await
    .ctx("insert split rules")?;
    Ok(())
}

impl Store {
    pub async fn order_split_rules(
        &self,
        trade_no: &TradeNo,
    ) -> StoreResult<Option<OrderSplitRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM order_split_rules WHERE trade_no = $1"
        ))
        .bind(trade_no.as_str())
        .fetch_optional(&self.pool)
        .await
        .ctx("order split rules")?;
        row.as_ref().map(record_from_row).transpose()
    }

    /// Orders whose `immediate` rules are pending and whose payment is settled one way or the
    /// other (paid, refunded, or closed), oldest number first: what the step applies next. An
    /// order still payable waits.
    pub async fn due_auto_splits(&self, limit: i64) -> StoreResult<Vec<OrderSplitRecord>> {
        let settled: Vec<OrderStatus> = OrderStatus::ALL
            .into_iter()
            .filter(|s| !s.is_unpaid_open())
            .collect();
        let slots: Vec<String> = (0..settled.len()).map(|i| format!("${}", i + 3)).collect();
        let sql = format!(
            "SELECT {} FROM order_split_rules r JOIN orders o ON o.trade_no = r.trade_no
             WHERE r.status = $1 AND r.split_mode = $2 AND o.status IN ({})
             ORDER BY r.trade_no LIMIT ${}",
            JOINED_COLUMNS,
            slots.join(", "),
            settled.len() + 3
        );
        let mut query = sqlx::query(&sql)
            .bind(AutoSplitStatus::Pending.as_str())
            .bind(SplitMode::Immediate.as_str());
        for status in &settled {
            query = query.bind(status.as_str());
        }
        let rows = query
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .ctx("due automatic splits")?;
        rows.iter().map(record_from_row).collect()
    }

    /// Records how applying an order's rules ended. `Done` wins over everything (the split
    /// exists); `Failed` and `Retry` change only rules still pending, so a process that lost a
    /// race never undoes the winner's result. Returns the status the rules then have.
    pub async fn update_auto_split(
        &self,
        trade_no: &TradeNo,
        update: &AutoSplitUpdate,
        at_ms: i64,
    ) -> StoreResult<AutoSplitStatus> {
        let pending = AutoSplitStatus::Pending.as_str();
        let failed = AutoSplitStatus::Failed.as_str();
        let query = match update {
            AutoSplitUpdate::Done => sqlx::query(
                "UPDATE order_split_rules SET status = $1, fail_reason = NULL, updated_at = $2
                 WHERE trade_no = $3",
            )
            .bind(AutoSplitStatus::Done.as_str())
            .bind(at_ms)
            .bind(trade_no.as_str()),
            AutoSplitUpdate::Failed { reason } => sqlx::query(
                "UPDATE order_split_rules SET status = $1, fail_reason = $2, updated_at = $3
                 WHERE trade_no = $4 AND status = $5",
            )
            .bind(failed)
            .bind(reason.as_str())
            .bind(at_ms)
            .bind(trade_no.as_str())
            .bind(pending),
            AutoSplitUpdate::Retry {
                reason,
                attempts_max,
            } => sqlx::query(
                "UPDATE order_split_rules SET attempts = attempts + 1, updated_at = $1,
                    status = CASE WHEN attempts + 1 >= $2 THEN $3 ELSE status END,
                    fail_reason = CASE WHEN attempts + 1 >= $2 THEN $4 ELSE NULL END
                 WHERE trade_no = $5 AND status = $6",
            )
            .bind(at_ms)
            .bind(*attempts_max)
            .bind(failed)
            .bind(reason.as_str())
            .bind(trade_no.as_str())
            .bind(pending),
        };
        query
            .execute(&self.pool)
            .await
            .ctx("update automatic split")?;
        let row = sqlx::query("SELECT status FROM order_split_rules WHERE trade_no = $1")
            .bind(trade_no.as_str())
            .fetch_one(&self.pool)
            .await
            .ctx("automatic split status")?;
        get_parsed(&row, "status")
    }
}
