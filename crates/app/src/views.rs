//! The answers and notification bodies built from stored records, as `paygate_api` types (DESIGN
//! §12). How they look on the wire is `paygate_api`'s business.

use crate::wallet::IssuedPayCode;
use crate::{App, AppError};
use chrono::DateTime;
use paygate_api::payer::PayCodeResponse;
use paygate_api::{Order, RefundView};
use paygate_domain::{Money, TradeNo};
use paygate_store::{OrderRecord, RefundRecord};
use serde_json::{Map, Value};

pub use paygate_api::format_time;

impl From<&IssuedPayCode> for PayCodeResponse {
    fn from(issued: &IssuedPayCode) -> PayCodeResponse {
        PayCodeResponse {
            auth_code: issued.code.as_str().into(),
            expires_in: issued.expires_in_secs,
        }
    }
}

/// `code=SUCCESS` with the given fields and the answer's timestamp.
pub fn success(app: &App, fields: Map<String, Value>) -> Map<String, Value> {
    paygate_api::envelope::success(fields, app.clock().now_ms() / 1000)
}

impl App {
    /// The order a cashier page shows, whoever asks: the page carries nothing a merchant's
    /// answer would not.
    pub async fn cashier_order(&self, trade_no: &TradeNo) -> Result<Option<OrderRecord>, AppError> {
        Ok(self.store().get_order(trade_no).await?)
    }

    pub fn pay_url(&self, order: &OrderRecord) -> String {
        format!("{}/cashier/{}", self.settings().public_url, order.trade_no)
    }

    pub fn order_answer(&self, order: &OrderRecord) -> Order {
        let money = |amount| Money::new(amount, order.currency);
        let paid = order.status.is_paid();
        Order {
            merchant_id: Some(order.merchant_id.clone()),
            trade_no: order.trade_no.clone(),
            out_trade_no: order.out_trade_no.clone(),
            trade_status: order.status,
            pay_type: Some(order.pay_type),
            subject: Some(order.subject.clone()),
            total_amount: money(order.total_amount),
            receipt_amount: paid.then(|| money(order.total_amount)),
            refunded_amount: paid.then(|| money(order.refunded_amount)),
            pay_url: order.status.is_unpaid_open().then(|| self.pay_url(order)),
            expire_time: DateTime::from_timestamp_millis(order.expire_at_ms),
            pay_time: order.paid_at_ms.and_then(DateTime::from_timestamp_millis),
            channel_trade_no: order.channel_trade_no.clone(),
            attach: order.attach.clone(),
            raw: Map::new(),
        }
    }

    pub fn order_view(&self, order: &OrderRecord) -> Map<String, Value> {
        self.order_answer(order).to_fields()
    }

    pub fn refund_answer(&self, refund: &RefundRecord, order: &OrderRecord) -> RefundView {
        RefundView {
            merchant_id: Some(refund.merchant_id.clone()),
            refund_no: refund.refund_no.clone(),
            out_refund_no: refund.out_refund_no.clone(),
            trade_no: refund.trade_no.clone(),
            out_trade_no: order.out_trade_no.clone(),
            refund_amount: Money::new(refund.amount, refund.currency),
            refund_status: refund.status,
            refund_reason: Some(refund.reason.clone()),
            success_time: refund
                .finished_at_ms
                .and_then(DateTime::from_timestamp_millis),
            raw: Map::new(),
        }
    }

    pub fn refund_view(&self, refund: &RefundRecord, order: &OrderRecord) -> Map<String, Value> {
        self.refund_answer(refund, order).to_fields()
    }
}
