//! The flat JSON bodies the API answers with and notifies with (DESIGN §12). Amounts go out as
//! major-unit decimal strings, times as RFC 3339 in China Standard Time.

use crate::App;
use chrono::{FixedOffset, TimeZone};
use paygate_domain::Money;
use paygate_store::{OrderRecord, RefundRecord};
use serde_json::{Map, Value};

pub fn format_time(ms: i64) -> String {
    let cst = FixedOffset::east_opt(8 * 3600).expect("+08:00 is a valid offset");
    cst.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false))
        .unwrap_or_default()
}

fn put(map: &mut Map<String, Value>, key: &str, value: impl Into<Value>) {
    map.insert(key.to_owned(), value.into());
}

fn put_opt(map: &mut Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(value) = value {
        map.insert(key.to_owned(), value.into());
    }
}

/// `code=SUCCESS` with the given fields and the answer's timestamp.
pub fn success(app: &App, fields: Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    put(&mut out, "code", "SUCCESS");
    put(&mut out, "msg", "OK");
    out.extend(fields);
    put(&mut out, "timestamp", app.clock().now_ms() / 1000);
    out
}

impl App {
    pub fn pay_url(&self, order: &OrderRecord) -> String {
        format!("{}/cashier/{}", self.settings().public_url, order.trade_no)
    }

    pub fn order_view(&self, order: &OrderRecord) -> Map<String, Value> {
        let money = |amount| Money::new(amount, order.currency).to_major_string();
        let mut view = Map::new();
        put(&mut view, "merchant_id", order.merchant_id.as_str());
        put(&mut view, "trade_no", order.trade_no.as_str());
        put(&mut view, "out_trade_no", order.out_trade_no.as_str());
        put(&mut view, "trade_status", order.status.as_str());
        put(&mut view, "pay_type", order.pay_type.as_str());
        put(&mut view, "subject", order.subject.as_str());
        put(&mut view, "total_amount", money(order.total_amount));
        put(&mut view, "currency", order.currency.as_str());
        if order.status.is_paid() {
            put(&mut view, "receipt_amount", money(order.total_amount));
            put(&mut view, "refunded_amount", money(order.refunded_amount));
        }
        if order.status.is_unpaid_open() {
            put(&mut view, "pay_url", self.pay_url(order));
        }
        put(&mut view, "expire_time", order.expire_at_ms / 1000);
        put_opt(&mut view, "pay_time", order.paid_at_ms.map(format_time));
        put_opt(
            &mut view,
            "channel_trade_no",
            order.channel_trade_no.clone(),
        );
        put_opt(&mut view, "attach", order.attach.clone());
        view
    }

    pub fn refund_view(&self, refund: &RefundRecord, order: &OrderRecord) -> Map<String, Value> {
        let mut view = Map::new();
        put(&mut view, "merchant_id", refund.merchant_id.as_str());
        put(&mut view, "refund_no", refund.refund_no.as_str());
        put(&mut view, "out_refund_no", refund.out_refund_no.as_str());
        put(&mut view, "trade_no", refund.trade_no.as_str());
        put(&mut view, "out_trade_no", order.out_trade_no.as_str());
        put(
            &mut view,
            "refund_amount",
            Money::new(refund.amount, refund.currency).to_major_string(),
        );
        put(&mut view, "currency", refund.currency.as_str());
        put(&mut view, "refund_status", refund.status.as_str());
        put(&mut view, "refund_reason", refund.reason.as_str());
        put_opt(
            &mut view,
            "success_time",
            refund.finished_at_ms.map(format_time),
        );
        view
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_shown_in_china_standard_time() {
        assert_eq!(super::format_time(0), "1970-01-01T08:00:00+08:00");
    }
}
