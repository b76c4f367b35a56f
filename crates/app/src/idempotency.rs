//! Idempotency keys compare everything they stand for (DESIGN §3): a merchant's `out_trade_no`
//! or `out_refund_no` reused with any other business value is refused with 1004 naming the first
//! field that differs; only an identical retry gets the stored order or refund back.

use paygate_api::field;
use paygate_store::{NewOrder, NewRefund, OrderRecord, RefundRecord};

/// The first field, in wire names, where a create's order differs from the one stored under
/// its `out_trade_no`.
pub(crate) fn order_difference(stored: &OrderRecord, asked: &NewOrder) -> Option<&'static str> {
    let same = [
        (
            field::TOTAL_AMOUNT,
            stored.total_amount == asked.total_amount,
        ),
        (field::CURRENCY, stored.currency == asked.currency),
        (field::PAY_TYPE, stored.pay_type == asked.pay_type),
        (field::SUBJECT, stored.subject == asked.subject),
        (field::BODY, stored.body == asked.body),
        (field::NOTIFY_URL, stored.notify_url == asked.notify_url),
        (field::RETURN_URL, stored.return_url == asked.return_url),
        (field::ATTACH, stored.attach == asked.attach),
        (
            field::EXPIRE_TIME,
            stored.requested_expire_at_secs == asked.requested_expire_at_secs,
        ),
        (field::BUYER_ID, stored.buyer_id == asked.buyer_id),
        (
            field::AUTH_CODE,
            stored.auth_code_sha256 == asked.auth_code_sha256,
        ),
        (
            field::DISABLE_CREDIT,
            stored.disable_credit == asked.disable_credit,
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
            field::REFUND_AMOUNT,
            stored.amount == asked.amount && stored.currency == asked.currency,
        ),
        (field::REFUND_REASON, stored.reason == asked.reason),
    ];
    same.into_iter()
        .find(|(_, equal)| !equal)
        .map(|(field, _)| field)
}

/// The first field in which a payout request differs from the payout stored under its
/// `out_payout_no`. `asked`'s card number must be sealed for `stored`'s payout number: sealed
/// card numbers are equal when their keyed digests are, never by their (nonce-fresh) text.
pub(crate) fn payout_difference(
    stored: &paygate_domain::payout::PayoutRecord,
    asked: &paygate_domain::payout::PayoutRecord,
) -> Option<&'static str> {
    use paygate_api::payout::{AMOUNT, PAYEE_TYPE, REMARK};
    use paygate_domain::payout::Payee;
    let payee_field = match (&stored.payee, &asked.payee) {
        (Payee::Wallet(a), Payee::Wallet(b)) if a == b => None,
        (Payee::Wallet(_), Payee::Wallet(_)) => Some(paygate_api::payout::ACCOUNT_ID),
        (Payee::BankCard(a), Payee::BankCard(b)) if a.card_no != b.card_no => {
            Some(paygate_api::payout::CARD_NO)
        }
        (Payee::BankCard(a), Payee::BankCard(b)) if a.account_name != b.account_name => {
            Some(paygate_api::payout::ACCOUNT_NAME)
        }
        (Payee::BankCard(a), Payee::BankCard(b)) if a.bank_code != b.bank_code => {
            Some(paygate_api::payout::BANK_CODE)
        }
        (Payee::BankCard(_), Payee::BankCard(_)) => None,
        _ => Some(PAYEE_TYPE),
    };
    let same = [
        (
            AMOUNT,
            stored.amount == asked.amount && stored.currency == asked.currency,
        ),
        (REMARK, stored.remark == asked.remark),
        (field::NOTIFY_URL, stored.notify_url == asked.notify_url),
    ];
    payee_field.or_else(|| {
        same.into_iter()
            .find(|(_, equal)| !equal)
            .map(|(field, _)| field)
    })
}
