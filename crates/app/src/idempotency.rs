//! Idempotency keys compare everything they stand for (DESIGN §3): a merchant's `out_trade_no`
//! or `out_refund_no` reused with any other business value is refused with 1004 naming the first
//! field that differs; only an identical retry gets the stored order or refund back.

use paygate_store::{NewOrder, NewRefund, OrderRecord, RefundRecord};

/// The first field, in wire names, where a create's order differs from the one stored under
/// its `out_trade_no`.
pub(crate) fn order_difference(stored: &OrderRecord, asked: &NewOrder) -> Option<&'static str> {
    let same = [
        ("total_amount", stored.total_amount == asked.total_amount),
        ("currency", stored.currency == asked.currency),
        ("pay_type", stored.pay_type == asked.pay_type),
        ("subject", stored.subject == asked.subject),
        ("body", stored.body == asked.body),
        ("notify_url", stored.notify_url == asked.notify_url),
        ("return_url", stored.return_url == asked.return_url),
        ("attach", stored.attach == asked.attach),
        (
            "expire_time",
            stored.requested_expire_at_secs == asked.requested_expire_at_secs,
        ),
        ("buyer_id", stored.buyer_id == asked.buyer_id),
        (
            "auth_code",
            stored.auth_code_sha256 == asked.auth_code_sha256,
        ),
    ];
    same.into_iter()
        .find(|(_, equal)| !equal)
        .map(|(field, _)| field)
}

/// The first field where a refund request differs from the refund stored under its
/// `out_refund_no`; `order_field` is how the request named its order.
pub(crate) fn refund_difference(
    stored: &RefundRecord,
    asked: &NewRefund,
    order_field: &'static str,
) -> Option<&'static str> {
    let same = [
        (order_field, stored.trade_no == asked.trade_no),
        (
            "refund_amount",
            stored.amount == asked.amount && stored.currency == asked.currency,
        ),
        ("refund_reason", stored.reason == asked.reason),
    ];
    same.into_iter()
        .find(|(_, equal)| !equal)
        .map(|(field, _)| field)
}
