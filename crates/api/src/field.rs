//! The wire names of the API's fields, each spelled once: the request readers, writers,
//! answers and schemas use these, and so does the app where it names a field in a refusal.
//! A name only one type uses is declared in that type's own file instead (`order.rs`'s
//! `code_url`), so adding such a field to an answer is a change to that one file.

pub const MERCHANT_ID: &str = "merchant_id";
pub const TIMESTAMP: &str = "timestamp";
pub const NONCE: &str = "nonce";
pub const SIGN_TYPE: &str = "sign_type";
pub const SIGN: &str = "sign";
pub const CODE: &str = "code";
pub const MSG: &str = "msg";
pub const OUT_TRADE_NO: &str = "out_trade_no";
pub const TRADE_NO: &str = "trade_no";
pub const TOTAL_AMOUNT: &str = "total_amount";
pub const CURRENCY: &str = "currency";
pub const SUBJECT: &str = "subject";
pub const BODY: &str = "body";
pub const PAY_TYPE: &str = "pay_type";
pub const NOTIFY_URL: &str = "notify_url";
pub const RETURN_URL: &str = "return_url";
pub const ATTACH: &str = "attach";
pub const EXPIRE_TIME: &str = "expire_time";
pub const BUYER_ID: &str = "buyer_id";
pub const AUTH_CODE: &str = "auth_code";
pub const OPENID: &str = "openid";
pub const SCENE: &str = "scene";
pub const CLIENT_IP: &str = "client_ip";
pub const DISABLE_CREDIT: &str = "disable_credit";
pub const TRADE_STATUS: &str = "trade_status";
pub const RECEIPT_AMOUNT: &str = "receipt_amount";
pub const REFUNDED_AMOUNT: &str = "refunded_amount";
pub const FEE_AMOUNT: &str = "fee_amount";
pub const NET_AMOUNT: &str = "net_amount";
pub const PAY_URL: &str = "pay_url";
pub const PAY_TIME: &str = "pay_time";
pub const CHANNEL_TRADE_NO: &str = "channel_trade_no";
pub const REFUND_NO: &str = "refund_no";
pub const OUT_REFUND_NO: &str = "out_refund_no";
pub const REFUND_AMOUNT: &str = "refund_amount";
pub const REFUND_REASON: &str = "refund_reason";
pub const REFUND_STATUS: &str = "refund_status";
pub const SUCCESS_TIME: &str = "success_time";
pub const ERROR_CODE: &str = "error_code";
pub const NOTIFY_TYPE: &str = "notify_type";
pub const NOTIFY_ID: &str = "notify_id";
