//! `GET /api/platform/public-key`: the key that verifies RSA2 answers and notifications.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Eq, ToSchema, Serialize, Deserialize)]
pub struct PublicKeyResponse {
    /// Base64 X.509 SubjectPublicKeyInfo DER of the platform's RSA key.
    pub public_key: String,
    pub sign_type: String,
}
