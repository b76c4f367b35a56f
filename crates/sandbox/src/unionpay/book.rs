//! The UnionPay sandbox's book: every transaction (consume, refund, void) by its `orderId`, as
//! UnionPay keeps them, each with the Beijing `txnTime` it was sent with; the clearing day of a
//! transaction is that of its `txnTime` (23:00 to 23:00).

use std::collections::BTreeMap;

use paygate_channels::unionpay::wire;

/// Transactions kept at once; more are refused.
pub const TXNS_MAX: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Opened, not paid yet (`origRespCode` 05).
    Pending,
    Succeeded,
    Failed,
}

impl State {
    pub fn code(self) -> &'static str {
        match self {
            State::Pending => "05",
            State::Succeeded => wire::RESP_OK,
            State::Failed => "01",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Txn {
    pub txn_type: String,
    pub txn_sub_type: String,
    pub biz_type: String,
    pub order_id: String,
    pub txn_time: String,
    pub amount_fen: i64,
    pub back_url: Option<String>,
    pub req_reserved: Option<String>,
    pub query_id: String,
    pub state: State,
    /// For refunds and voids: the consume's `queryId`.
    pub orig_query_id: Option<String>,
    /// The fee charged (consume) or given back (refund), in fen.
    pub fee_fen: i64,
    pub refunded_fen: i64,
    pub qr_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookError {
    #[error("12: 重复交易 (orderId {0} is taken)")]
    Duplicate(String),
    #[error("34: 查无此交易")]
    NoTrade,
    #[error("{0}")]
    Refused(String),
    #[error("the sandbox holds its maximum of transactions")]
    Full,
}

impl BookError {
    /// `respCode` and `respMsg` of a refusal.
    pub fn resp(&self) -> (String, String) {
        let text = self.to_string();
        match text.split_once(": ") {
            Some((code, msg)) if code.len() == 2 => (code.to_owned(), msg.to_owned()),
            _ => ("01".to_owned(), text),
        }
    }
}

#[derive(Default)]
pub struct Book {
    txns: BTreeMap<String, Txn>,
    /// Pay codes the payer arranged to fail.
    failing_codes: Vec<String>,
    /// Pay codes the payer arranged to wait for confirmation.
    waiting_codes: Vec<String>,
}

impl Book {
    pub fn open(&mut self, txn: Txn) -> Result<Txn, BookError> {
        if let Some(existing) = self.txns.get(&txn.order_id) {
            // The same consume sent again (a retried request) is the same trade.
            if existing.txn_time == txn.txn_time && existing.amount_fen == txn.amount_fen {
                return Ok(existing.clone());
            }
            return Err(BookError::Duplicate(txn.order_id));
        }
        if self.txns.len() >= TXNS_MAX {
            return Err(BookError::Full);
        }
        self.txns.insert(txn.order_id.clone(), txn.clone());
        Ok(txn)
    }

    pub fn get(&self, order_id: &str) -> Option<&Txn> {
        self.txns.get(order_id)
    }

    pub fn by_query_id(&self, query_id: &str) -> Option<&Txn> {
        self.txns.values().find(|t| t.query_id == query_id)
    }

    pub fn by_qr_code(&self, qr_code: &str) -> Option<&Txn> {
        self.txns
            .values()
            .find(|t| t.qr_code.as_deref() == Some(qr_code))
    }

    /// Settles a pending consume; `None` when it was already settled (no new notification).
    pub fn settle(
        &mut self,
        order_id: &str,
        state: State,
        fee_fen: i64,
    ) -> Result<Option<Txn>, BookError> {
        let txn = self.txns.get_mut(order_id).ok_or(BookError::NoTrade)?;
        if txn.state != State::Pending {
            return Ok(None);
        }
        txn.state = state;
        if state == State::Succeeded {
            txn.fee_fen = fee_fen;
        }
        Ok(Some(txn.clone()))
    }

    /// Takes money back from a paid consume (refund or void) and books the new transaction.
    pub fn take_back(&mut self, mut txn: Txn, whole: bool) -> Result<Txn, BookError> {
        let orig_id = txn.orig_query_id.clone().ok_or(BookError::NoTrade)?;
        let orig = self
            .txns
            .values_mut()
            .find(|t| t.query_id == orig_id && t.txn_type == wire::TXN_CONSUME)
            .ok_or(BookError::NoTrade)?;
        if orig.state != State::Succeeded {
            return Err(BookError::Refused("36: 原交易状态不正确".into()));
        }
        let left = orig.amount_fen - orig.refunded_fen;
        if whole {
            if orig.refunded_fen != 0 || txn.amount_fen != orig.amount_fen {
                return Err(BookError::Refused("36: 只能撤销全额未退货的交易".into()));
            }
        } else if txn.amount_fen <= 0 || txn.amount_fen > left {
            return Err(BookError::Refused(format!(
                "30: 退货金额超限 (at most {left})"
            )));
        }
        orig.refunded_fen += txn.amount_fen;
        if whole {
            orig.state = State::Failed;
        }
        txn.biz_type = orig.biz_type.clone();
        self.open(txn)
    }

    pub fn arrange_code(&mut self, code: &str, fail: bool) {
        let list = if fail {
            &mut self.failing_codes
        } else {
            &mut self.waiting_codes
        };
        list.push(code.to_owned());
    }

    /// How a pay code answers: `Some(State::Failed)` arranged to fail, `Some(State::Pending)`
    /// to wait, `None` to pay at once. Each arrangement serves one use.
    pub fn take_code_plan(&mut self, code: &str) -> Option<State> {
        if let Some(i) = self.failing_codes.iter().position(|c| c == code) {
            self.failing_codes.remove(i);
            return Some(State::Failed);
        }
        let i = self.waiting_codes.iter().position(|c| c == code)?;
        self.waiting_codes.remove(i);
        Some(State::Pending)
    }

    /// Succeeded transactions of a clearing day, in `txnTime` order.
    pub fn of_clearing_day(&self, day: chrono::NaiveDate) -> Vec<Txn> {
        let mut txns: Vec<Txn> = self
            .txns
            .values()
            .filter(|t| {
                t.state == State::Succeeded
                    || (t.txn_type == wire::TXN_CONSUME && t.refunded_fen > 0)
            })
            .filter(|t| {
                wire::parse_beijing_time(&t.txn_time)
                    .ok()
                    .and_then(wire::clearing_day)
                    == Some(day)
            })
            .cloned()
            .collect();
        txns.sort_by(|a, b| {
            a.txn_time
                .cmp(&b.txn_time)
                .then(a.order_id.cmp(&b.order_id))
        });
        txns
    }
}
