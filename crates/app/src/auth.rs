//! Checking a signed merchant request (DESIGN §3, §12): known merchant, the configured sign
//! type and no other (no algorithm substitution), a fresh timestamp, a valid signature, and a
//! nonce never seen before. The nonce is recorded only after the signature holds, so a forger
//! cannot burn a merchant's nonces.

use crate::{App, AppError, MerchantKeys};
use paygate_domain::sign::SignType;
use paygate_domain::{MerchantId, Nonce};
use paygate_store::NonceOutcome;
use serde_json::{Map, Value};
use std::sync::Arc;

/// A request whose signature, timestamp and nonce have been checked.
#[derive(Debug)]
pub struct VerifiedRequest {
    pub merchant: Arc<MerchantKeys>,
    pub fields: Map<String, Value>,
}

/// The merchant a request names, once it is known to exist (so errors can be signed to it).
pub async fn identify(
    app: &App,
    fields: &Map<String, Value>,
) -> Result<Arc<MerchantKeys>, AppError> {
    let id = match fields.get("merchant_id") {
        None | Some(Value::Null) => return Err(AppError::param("merchant_id", "is required")),
        Some(Value::String(s)) => {
            MerchantId::parse(s).map_err(|e| AppError::param("merchant_id", e.to_string()))?
        }
        Some(_) => return Err(AppError::param("merchant_id", "must be a string")),
    };
    app.merchant_keys(&id)
        .await?
        .ok_or_else(|| AppError::param("merchant_id", "unknown merchant"))
}

fn timestamp_secs(fields: &Map<String, Value>) -> Result<i64, AppError> {
    match fields.get("timestamp") {
        None | Some(Value::Null) => Err(AppError::param("timestamp", "is required")),
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| AppError::param("timestamp", "must be Unix seconds")),
        Some(Value::String(s)) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s
            .parse()
            .map_err(|_| AppError::param("timestamp", "must be Unix seconds")),
        Some(_) => Err(AppError::param("timestamp", "must be Unix seconds")),
    }
}

impl App {
    pub async fn verify_request(
        &self,
        merchant: Arc<MerchantKeys>,
        fields: Map<String, Value>,
    ) -> Result<VerifiedRequest, AppError> {
        let sign_type = match fields.get("sign_type") {
            None | Some(Value::Null) => SignType::Md5,
            Some(Value::String(s)) if s.is_empty() => SignType::Md5,
            Some(Value::String(s)) => s
                .parse()
                .map_err(|_| AppError::param("sign_type", "must be MD5, HMAC-SHA256 or RSA2"))?,
            Some(_) => return Err(AppError::param("sign_type", "must be a string")),
        };
        if sign_type != merchant.record.sign_type {
            return Err(AppError::Sign(format!(
                "sign_type {sign_type} is not the merchant's configured {}",
                merchant.record.sign_type
            )));
        }
        let sign = match fields.get("sign") {
            Some(Value::String(s)) if !s.is_empty() => s.as_str(),
            None | Some(Value::Null) => return Err(AppError::param("sign", "is required")),
            Some(_) => return Err(AppError::param("sign", "must be a non-empty string")),
        };
        let nonce = match fields.get("nonce") {
            Some(Value::String(s)) => {
                Nonce::parse(s).map_err(|e| AppError::param("nonce", e.to_string()))?
            }
            None | Some(Value::Null) => return Err(AppError::param("nonce", "is required")),
            Some(_) => return Err(AppError::param("nonce", "must be a string")),
        };
        let timestamp = timestamp_secs(&fields)?;
        let now_ms = self.clock().now_ms();
        let window = self.settings().timestamp_window_secs;
        if (now_ms / 1000 - timestamp).abs() > window {
            return Err(AppError::Sign(format!(
                "timestamp is more than {window} seconds from the gateway's clock"
            )));
        }
        let signed_text = paygate_domain::sign::string_to_sign(&fields)
            .map_err(|e| AppError::param("body", e.to_string()))?;
        merchant
            .verify
            .verify_string(&signed_text, sign)
            .map_err(|_| AppError::Sign("signature does not match".into()))?;
        let expires_at_ms = (timestamp + window) * 1000 + 1000;
        match self
            .store()
            .remember_nonce(&merchant.record.id, &nonce, expires_at_ms)
            .await?
        {
            NonceOutcome::Fresh => Ok(VerifiedRequest { merchant, fields }),
            NonceOutcome::Replayed => Err(AppError::Sign("nonce was already used".into())),
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
