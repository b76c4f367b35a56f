//! `POST /api/wallet/paycode`: the payer's app asks for a one-time pay code.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A one-time pay code for the payer to show a merchant.
#[derive(Debug, Clone, PartialEq, Eq, ToSchema, Serialize, Deserialize)]
pub struct PayCodeResponse {
    /// 18 digits starting 88.
    pub auth_code: String,
    /// Seconds the code can still be used: 60.
    pub expires_in: i64,
}
