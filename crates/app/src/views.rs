//! The answers and notification bodies built from stored records, as `paygate_api` types (DESIGN
//! §12). How they look on the wire is `paygate_api`'s business.

use crate::wallet::IssuedPayCode;
use crate::{App, AppError};
use paygate_api::payer::PayCodeResponse;
use paygate_api::{Order, RefundView};
use paygate_domain::TradeNo;
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
        paygate_api::order::pay_url(&self.settings().public_url, &order.trade_no)
    }

    pub fn order_view(&self, order: &OrderRecord) -> Map<String, Value> {
        Order::of(order, &self.settings().public_url).to_fields()
    }

    pub fn refund_view(&self, refund: &RefundRecord, order: &OrderRecord) -> Map<String, Value> {
        RefundView::of(refund, order).to_fields()
    }
}
