//! Checking a signed merchant request (DESIGN §3, §12): known merchant, the configured sign
//! type and no other (no algorithm substitution), a fresh timestamp, a valid signature, and a
//! nonce never seen before. The nonce is recorded only after the signature holds, so a forger
//! cannot burn a merchant's nonces. A create records it in the order's own transaction
//! (`verify_request_deferring_nonce`, then `App::create_signed_order`); every other request, at
//! once (`verify_request`).

use crate::{App, AppError, MerchantKeys};
use paygate_api::{envelope, field};
use paygate_domain::sign::SignError;
use paygate_store::NonceOutcome;
pub use paygate_store::RequestNonce;
use serde_json::{Map, Value};
use std::sync::Arc;

/// A request whose signature, timestamp and nonce have been checked.
#[derive(Debug)]
pub struct VerifiedRequest {
    pub merchant: Arc<MerchantKeys>,
    pub fields: Map<String, Value>,
    /// Recorded already, unless the request came from `verify_request_deferring_nonce`.
    pub nonce: RequestNonce,
}

/// The answer to a nonce used before, whichever way its first request went.
pub(crate) fn nonce_replayed() -> AppError {
    AppError::Sign("nonce was already used".into())
}

/// The merchant a request names, once it is known to exist (so errors can be signed to it).
pub async fn identify(
    app: &App,
    fields: &Map<String, Value>,
) -> Result<Arc<MerchantKeys>, AppError> {
    let id = envelope::merchant_id(fields)?;
    app.merchant_keys(&id)
        .await?
        .ok_or_else(|| AppError::param(field::MERCHANT_ID, "unknown merchant"))
}

/// `S` of the request; a value that is not a string, integer or boolean is a 1001 naming its key.
fn request_string_to_sign(fields: &Map<String, Value>) -> Result<String, AppError> {
    paygate_domain::sign::string_to_sign(fields).map_err(|error| match error {
        SignError::NotFlat(key) => AppError::param(key, "must be a string, integer or boolean"),
        other => AppError::param("body", other.to_string()),
    })
}

impl App {
    pub async fn verify_request(
        &self,
        merchant: Arc<MerchantKeys>,
        fields: Map<String, Value>,
    ) -> Result<VerifiedRequest, AppError> {
        let verified = self.verify_request_deferring_nonce(merchant, fields)?;
        self.record_nonce(&verified.nonce).await?;
        Ok(verified)
    }

    /// Every check but the nonce's freshness, which the caller must then record: a create does
    /// so in the order's own transaction (`create_signed_order`).
    pub fn verify_request_deferring_nonce(
        &self,
        merchant: Arc<MerchantKeys>,
        fields: Map<String, Value>,
    ) -> Result<VerifiedRequest, AppError> {
        let sign_type = envelope::sign_type(&fields)?;
        if sign_type != merchant.record.sign_type {
            return Err(AppError::Sign(format!(
                "sign_type {sign_type} is not the merchant's configured {}",
                merchant.record.sign_type
            )));
        }
        let sign = envelope::sign(&fields)?;
        let nonce = envelope::nonce(&fields)?;
        let timestamp = self.fresh_timestamp(&fields)?;
        let signed_text = request_string_to_sign(&fields)?;
        merchant
            .verify
            .verify_string(&signed_text, sign)
            .map_err(|_| AppError::Sign("signature does not match".into()))?;
        // The nonce must outlive every moment at which this timestamp is still accepted.
        let window = self.settings().timestamp_window_secs;
        let expires_at_ms = timestamp
            .saturating_add(window)
            .saturating_mul(1000)
            .saturating_add(1000);
        let nonce = RequestNonce {
            merchant_id: merchant.record.id.clone(),
            nonce,
            expires_at_ms,
        };
        Ok(VerifiedRequest {
            merchant,
            fields,
            nonce,
        })
    }

    /// Records a verified request's nonce on its own; a second use is refused (1002).
    pub async fn record_nonce(&self, nonce: &RequestNonce) -> Result<(), AppError> {
        match self.store().record_nonce(nonce).await? {
            NonceOutcome::Fresh => Ok(()),
            NonceOutcome::Replayed => Err(nonce_replayed()),
        }
    }

    /// The request's timestamp, once it is known to lie within the window of the gateway's clock.
    fn fresh_timestamp(&self, fields: &Map<String, Value>) -> Result<i64, AppError> {
        let window = self.settings().timestamp_window_secs;
        let now_secs = self.clock().now_ms().div_euclid(1000);
        match envelope::timestamp_secs(fields)? {
            Some(t) if paygate_domain::sign::timestamp_in_window(now_secs, t, window) => Ok(t),
            _ => Err(AppError::Sign(format!(
                "timestamp is more than {window} seconds from the gateway's clock"
            ))),
        }
    }

    /// Signs a response or notification body for this merchant (adds sign_type and sign). A
    /// failure is an error for the caller to answer or record: nothing unsigned goes out.
    pub fn sign_for(
        &self,
        merchant: &MerchantKeys,
        body: &mut Map<String, Value>,
    ) -> Result<(), AppError> {
        merchant.respond.sign_in_place(body).map_err(|error| {
            AppError::Internal(anyhow::anyhow!(
                "signing for merchant {} failed: {error}",
                merchant.record.id
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_value_of_the_wrong_type_is_named_by_its_key() {
        let fields = json!({"merchant_id": "M1", "total_amount": 10.5, "attach": {"a": 1}});
        match request_string_to_sign(fields.as_object().expect("an object")) {
            Err(AppError::Param { field, .. }) => assert_eq!(field, "total_amount"),
            other => panic!("{other:?}"),
        }
    }
}
