//! API v3 refunds: create and query. A refund is PROCESSING when created and succeeds after
//! the configured delay (or ends ABNORMAL under the `refund_abnormal` fault); then, if it named a
//! `notify_url`, its REFUND.SUCCESS (REFUND.ABNORMAL) callback goes.

use axum::extract::{Path, State};
use axum::Json;
use paygate_channels::wechat::v3_wire::{
    CreateRefund, RefundNotice, RefundNoticeAmount, RefundStatus,
};
use serde::Serialize;
use std::time::Duration;

use crate::auth::Verified;
use crate::book::{Recorded, RefundAsk, RefundEnd, RefundRecord};
use crate::callbacks::{Callback, Event, Kind};
use crate::v3::{check_notify_url, parse_json, V3Error};
use crate::{ids, now_cst, rfc3339, App};

/// A refund as the create and the query answer it, field for field as WeChat Pay documents.
#[derive(Debug, Clone, Serialize)]
pub struct RefundAnswer {
    pub refund_id: String,
    pub out_refund_no: String,
    pub transaction_id: String,
    pub out_trade_no: String,
    pub channel: &'static str,
    pub user_received_account: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success_time: Option<String>,
    pub create_time: String,
    pub status: RefundStatus,
    pub funds_account: &'static str,
    pub amount: RefundAnswerAmount,
}

#[derive(Debug, Clone, Serialize)]
pub struct RefundAnswerAmount {
    pub total: i64,
    pub refund: i64,
    pub payer_total: i64,
    pub payer_refund: i64,
    pub settlement_refund: i64,
    pub settlement_total: i64,
    pub discount_refund: i64,
    pub currency: &'static str,
    pub refund_fee: i64,
}

/// Where WeChat Pay says the money went back (the payer's balance, in the sandbox).
const USER_RECEIVED_ACCOUNT: &str = "支付用户零钱";

pub fn refund_answer(record: &RefundRecord, fee_rate_ppm: u32) -> RefundAnswer {
    RefundAnswer {
        refund_id: record.refund_id.clone(),
        out_refund_no: record.out_refund_no.clone(),
        transaction_id: record.transaction_id.clone(),
        out_trade_no: record.out_trade_no.clone(),
        channel: "ORIGINAL",
        user_received_account: USER_RECEIVED_ACCOUNT,
        success_time: record.success_time.map(rfc3339),
        create_time: rfc3339(record.create_time),
        status: record.status,
        funds_account: "AVAILABLE",
        amount: RefundAnswerAmount {
            total: record.total,
            refund: record.refund,
            payer_total: record.total,
            payer_refund: record.refund,
            settlement_refund: record.refund,
            settlement_total: record.total,
            discount_refund: 0,
            currency: "CNY",
            refund_fee: fee_of(record.refund, fee_rate_ppm),
        },
    }
}

/// `amount × rate`, rounded half up to the fen (WeChat Pay's fee and returned-fee rule).
pub fn fee_of(amount_fen: i64, fee_rate_ppm: u32) -> i64 {
    (amount_fen * i64::from(fee_rate_ppm) + 500_000) / 1_000_000
}

pub async fn create(
    State(app): State<App>,
    request: Verified,
) -> Result<Json<RefundAnswer>, V3Error> {
    let ask: CreateRefund = parse_json(&request.body)?;
    let refund_no_valid = (1..=64).contains(&ask.out_refund_no.len())
        && ask
            .out_refund_no
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-|*@".contains(&b));
    if !refund_no_valid {
        return Err(V3Error::param(
            "out_refund_no must be 1 to 64 characters of [0-9A-Za-z_-|*@]",
        ));
    }
    if ask.amount.currency != "CNY" {
        return Err(V3Error::param("amount.currency must be CNY"));
    }
    if let Some(url) = &ask.notify_url {
        check_notify_url(url)?;
    }
    let out_trade_no = {
        let book = app.book();
        match (&ask.out_trade_no, &ask.transaction_id) {
            (Some(no), _) => no.clone(),
            (None, Some(id)) => book
                .out_trade_no_of_transaction(id)
                .map(str::to_owned)
                .ok_or_else(|| {
                    V3Error::new(
                        axum::http::StatusCode::NOT_FOUND,
                        "RESOURCE_NOT_EXISTS",
                        "订单不存在",
                    )
                })?,
            (None, None) => {
                return Err(V3Error::param("out_trade_no or transaction_id is required"))
            }
        }
    };
    let recorded = app.book().refund(
        RefundAsk {
            out_trade_no,
            out_refund_no: ask.out_refund_no,
            refund: ask.amount.refund,
            total: ask.amount.total,
            reason: ask.reason,
            notify_url: ask.notify_url,
            refund_id: ids::refund_id(),
        },
        now_cst(),
    );
    let record = match recorded {
        Ok(Recorded::New(record)) => {
            settle_later(&app, record.out_refund_no.clone());
            record
        }
        Ok(Recorded::Replay(record)) => record,
        Err(crate::book::BookError::NoTrade) => {
            return Err(V3Error::new(
                axum::http::StatusCode::NOT_FOUND,
                "RESOURCE_NOT_EXISTS",
                "订单不存在",
            ))
        }
        Err(error) => return Err(error.into()),
    };
    Ok(Json(refund_answer(&record, app.fee_rate_ppm)))
}

pub async fn query(
    State(app): State<App>,
    Path(out_refund_no): Path<String>,
    _signed: Verified,
) -> Result<Json<RefundAnswer>, V3Error> {
    let book = app.book();
    let record = book
        .refund_record(&out_refund_no)
        .ok_or(crate::book::BookError::NoRefund)?;
    Ok(Json(refund_answer(record, app.fee_rate_ppm)))
}

/// After the refund delay: the refund succeeds and its callback (and any payment callback
/// held behind it) goes.
fn settle_later(app: &App, out_refund_no: String) {
    let app = app.clone();
    let delay = Duration::from_millis(app.refund_delay_ms);
    app.tasks.clone().spawn(async move {
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = app.cancel.cancelled() => return,
        }
        let now = now_cst();
        let (record, held) = {
            let mut book = app.book();
            let Some(trade) = book
                .refund_record(&out_refund_no)
                .map(|r| r.out_trade_no.clone())
            else {
                return;
            };
            let end = if app.faults().take_refund_abnormal(&trade) {
                RefundEnd::Abnormal
            } else {
                RefundEnd::Success
            };
            let Ok(record) = book.settle_refund(&out_refund_no, end, now) else {
                return;
            };
            let held = book
                .trade_mut(&record.out_trade_no)
                .ok()
                .and_then(|trade| trade.held_callback.take());
            (record, held)
        };
        let Some(url) = record.notify_url.clone() else {
            if let Some(held) = held {
                app.callbacks.dispatch(held, Default::default(), None);
            }
            return;
        };
        let notice = refund_notice(&app, &record);
        let json = serde_json::to_string(&notice).expect("a refund notice serialises");
        let kind = match record.status {
            RefundStatus::Abnormal => Kind::RefundAbnormal,
            _ => Kind::RefundSuccess,
        };
        let callback = Callback::seal(&app.credentials.apiv3_key, &url, kind, &json, now);
        let plan = app
            .faults()
            .take_callback(&record.out_trade_no, Event::Refund);
        app.callbacks.dispatch(callback, plan, held);
    });
}

fn refund_notice(app: &App, record: &RefundRecord) -> RefundNotice {
    RefundNotice {
        mchid: app.credentials.mchid.clone(),
        out_trade_no: record.out_trade_no.clone(),
        transaction_id: record.transaction_id.clone(),
        out_refund_no: record.out_refund_no.clone(),
        refund_id: record.refund_id.clone(),
        refund_status: record.status,
        success_time: record.success_time.map(rfc3339),
        user_received_account: USER_RECEIVED_ACCOUNT.to_owned(),
        amount: RefundNoticeAmount {
            total: record.total,
            refund: record.refund,
            payer_total: record.total,
            payer_refund: record.refund,
        },
    }
}
