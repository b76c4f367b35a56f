//! The JSON of WeChat Pay API v3 that Paygate sends and reads, field for field as WeChat Pay
//! documents it (direct-merchant mode), shared by the adapter and the sandbox. Amounts are
//! integer fen; times are RFC 3339 with the +08:00 offset.

use serde::{Deserialize, Serialize};

pub const PATH_JSAPI: &str = "/v3/pay/transactions/jsapi";
pub const PATH_NATIVE: &str = "/v3/pay/transactions/native";
pub const PATH_H5: &str = "/v3/pay/transactions/h5";
pub const PATH_APP: &str = "/v3/pay/transactions/app";
pub const PATH_REFUNDS: &str = "/v3/refund/domestic/refunds";
pub const PATH_TRADE_BILL: &str = "/v3/bill/tradebill";

/// `GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=...`
pub fn path_query_by_out_trade_no(out_trade_no: &str, mchid: &str) -> String {
    format!("/v3/pay/transactions/out-trade-no/{out_trade_no}?mchid={mchid}")
}

/// `GET /v3/pay/transactions/id/{transaction_id}?mchid=...`
pub fn path_query_by_transaction_id(transaction_id: &str, mchid: &str) -> String {
    format!("/v3/pay/transactions/id/{transaction_id}?mchid={mchid}")
}

/// `POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close`, body `{"mchid": ...}`.
pub fn path_close(out_trade_no: &str) -> String {
    format!("/v3/pay/transactions/out-trade-no/{out_trade_no}/close")
}

/// `GET /v3/refund/domestic/refunds/{out_refund_no}`
pub fn path_refund_query(out_refund_no: &str) -> String {
    format!("{PATH_REFUNDS}/{out_refund_no}")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderAmount {
    /// Fen.
    pub total: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payer {
    pub openid: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct H5Info {
    /// `Wap`, `iOS` or `Android`.
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SceneInfo {
    pub payer_client_ip: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub h5_info: Option<H5Info>,
}

/// The body of a JSAPI, Native, H5 or APP order (the path says which; `payer` is JSAPI's,
/// `scene_info.h5_info` H5's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateOrder {
    pub appid: String,
    pub mchid: String,
    pub description: String,
    pub out_trade_no: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_expire: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
    pub notify_url: String,
    pub amount: OrderAmount,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer: Option<Payer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scene_info: Option<SceneInfo>,
}

/// What each create answers: Native a `code_url`, H5 an `h5_url`, JSAPI and APP a `prepay_id`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Created {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub h5_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prepay_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaidAmount {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_total: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer_currency: Option<String>,
}

/// A transaction, as a query answers it and as a payment callback's resource holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    pub appid: String,
    pub mchid: String,
    pub out_trade_no: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trade_type: Option<String>,
    pub trade_state: TradeState,
    pub trade_state_desc: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payer: Option<Payer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<PaidAmount>,
}

/// `trade_state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TradeState {
    Success,
    Refund,
    Notpay,
    Closed,
    Revoked,
    Userpaying,
    Payerror,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundAmountRequest {
    pub refund: i64,
    pub total: i64,
    pub currency: String,
}

/// `POST /v3/refund/domestic/refunds`: by `transaction_id` or `out_trade_no`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateRefund {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
    pub out_refund_no: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    pub amount: RefundAmountRequest,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundAmount {
    pub total: i64,
    pub refund: i64,
    pub payer_total: i64,
    pub payer_refund: i64,
    pub currency: String,
}

/// A refund, as the create and the query answer it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refund {
    pub refund_id: String,
    pub out_refund_no: String,
    pub transaction_id: String,
    pub out_trade_no: String,
    pub channel: String,
    pub user_received_account: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_time: Option<String>,
    pub create_time: String,
    pub status: RefundStatus,
    pub amount: RefundAmount,
}

/// `status` of a refund (a refund callback's resource says `refund_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RefundStatus {
    Success,
    Closed,
    Processing,
    Abnormal,
}

/// `POST .../close` carries only the merchant number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloseOrder {
    pub mchid: String,
}

/// A callback's envelope; `resource` is sealed with the APIv3 key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub id: String,
    pub create_time: String,
    /// `TRANSACTION.SUCCESS`, `REFUND.SUCCESS`, `REFUND.ABNORMAL`, `REFUND.CLOSED`.
    pub event_type: String,
    pub resource_type: String,
    pub resource: SealedResource,
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedResource {
    /// `AEAD_AES_256_GCM`.
    pub algorithm: String,
    pub ciphertext: String,
    #[serde(default)]
    pub associated_data: String,
    /// `transaction` or `refund`.
    pub original_type: String,
    pub nonce: String,
}

/// What a merchant answers a callback: nothing but a 2xx when it took it; on failure a 4xx/5xx
/// with this body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackAnswer {
    pub code: String,
    pub message: String,
}

/// Every v3 error body: `401 {"code":"SIGN_ERROR","message":"..."}` and the like.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
}

/// `GET /v3/bill/tradebill?bill_date=YYYY-MM-DD&bill_type=ALL` answers where to fetch the bill
/// and the SHA1 of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillLocation {
    pub hash_type: String,
    pub hash_value: String,
    pub download_url: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_native_order_serialises_without_the_fields_it_does_not_use() {
        let order = CreateOrder {
            appid: "wxd678efh567hg6787".into(),
            mchid: "1230000109".into(),
            description: "green tea".into(),
            out_trade_no: "P2026112900000001".into(),
            time_expire: None,
            attach: None,
            notify_url: "https://gateway.example/callback/wechat/pay".into(),
            amount: OrderAmount {
                total: 1000,
                currency: Some("CNY".into()),
            },
            payer: None,
            scene_info: None,
        };
        let json = serde_json::to_value(&order).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "appid": "wxd678efh567hg6787", "mchid": "1230000109",
                "description": "green tea", "out_trade_no": "P2026112900000001",
                "notify_url": "https://gateway.example/callback/wechat/pay",
                "amount": {"total": 1000, "currency": "CNY"}
            })
        );
    }

    #[test]
    fn trade_and_refund_states_read_as_wechat_writes_them() {
        for (text, state) in [
            ("SUCCESS", TradeState::Success),
            ("REFUND", TradeState::Refund),
            ("NOTPAY", TradeState::Notpay),
            ("CLOSED", TradeState::Closed),
            ("REVOKED", TradeState::Revoked),
            ("USERPAYING", TradeState::Userpaying),
            ("PAYERROR", TradeState::Payerror),
        ] {
            assert_eq!(
                serde_json::from_value::<TradeState>(text.into()).unwrap(),
                state
            );
        }
        for (text, status) in [
            ("SUCCESS", RefundStatus::Success),
            ("CLOSED", RefundStatus::Closed),
            ("PROCESSING", RefundStatus::Processing),
            ("ABNORMAL", RefundStatus::Abnormal),
        ] {
            assert_eq!(
                serde_json::from_value::<RefundStatus>(text.into()).unwrap(),
                status
            );
        }
    }
}

/// A refund callback's resource, once opened (`original_type` `refund`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundNotice {
    pub mchid: String,
    pub out_trade_no: String,
    pub transaction_id: String,
    pub out_refund_no: String,
    pub refund_id: String,
    pub refund_status: RefundStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success_time: Option<String>,
    pub user_received_account: String,
    pub amount: RefundNoticeAmount,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundNoticeAmount {
    pub total: i64,
    pub refund: i64,
    pub payer_total: i64,
    pub payer_refund: i64,
}
