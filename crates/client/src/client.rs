//! The HTTP side: one pooled `reqwest::Client` behind an `Arc`, so clones share connections.

use crate::envelope::{classify, fresh_nonce, sign_request, verify_response};
use crate::{paths, ClientError};
use paygate_api::field;
use paygate_api::platform::PublicKeyResponse;
use paygate_api::split::{
    AddReceiver, ApplySplit, FinishSplit, QuerySplit, ReceiverView, RemoveReceiver, ReturnSplit,
    ReturnView, SplitView,
};
use paygate_api::withdraw::{
    CreateWithdraw, QueryWithdraw, RequestSettlement, SettlementRequestView, WithdrawView,
};
use paygate_api::{ApiRequest, CloseOrder, CreateOrder, Order, QueryOrder, QueryRefund, Refund};
use paygate_api::{BalanceView, PartnerOrderStatus, PartnerOrderView, QueryBalance, RefundView};
use paygate_api::{CreatePayout, PayoutView, QueryPayout};
use paygate_domain::sign::{RsaPublicKey, SignKey, VerifyKey};
use paygate_domain::MerchantId;
use serde_json::{Map, Value};
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

const TIMEOUT_MS_DEFAULT: u64 = 10_000;
const CONNECT_TIMEOUT_MS: u64 = 3_000;
const POOL_IDLE_TIMEOUT_SECS: u64 = 90;
/// API bodies are a few hundred bytes; anything near this is a misbehaving server.
const RESPONSE_BYTES_MAX: usize = 1 << 20;
/// How much of an undecodable body an error quotes.
const SNIPPET_BYTES_MAX: usize = 200;

/// A merchant's connection to one Paygate. Cheap to clone; clones share the connection pool.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
    merchant_id: MerchantId,
    sign_key: SignKey,
    /// Set at build time for MD5/HMAC (the merchant's own secret) or when given; for RSA2
    /// without a given key, fetched from the platform on the first success that needs it.
    verify_key: OnceLock<VerifyKey>,
}

/// Options for a `Client`; start from `Client::builder`.
pub struct ClientBuilder {
    base_url: String,
    merchant_id: MerchantId,
    sign_key: SignKey,
    verify_key: Option<VerifyKey>,
    timeout_ms: u64,
}

impl ClientBuilder {
    /// The key that checks response signatures. For RSA2 this is the platform's public key;
    /// pinning it here is the production choice, since a key fetched from the server it is meant
    /// to authenticate proves nothing against a man in the middle.
    pub fn verify_key(mut self, key: VerifyKey) -> ClientBuilder {
        self.verify_key = Some(key);
        self
    }

    /// Whole-request timeout, connect to last byte.
    pub fn timeout_ms(mut self, timeout_ms: u64) -> ClientBuilder {
        self.timeout_ms = timeout_ms;
        self
    }

    pub fn build(self) -> Result<Client, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(self.timeout_ms))
            .connect_timeout(Duration::from_millis(
                CONNECT_TIMEOUT_MS.min(self.timeout_ms),
            ))
            .pool_idle_timeout(Duration::from_secs(POOL_IDLE_TIMEOUT_SECS))
            .build()?;
        let verify_key = self.verify_key.or_else(|| match &self.sign_key {
            SignKey::Md5(secret) => Some(VerifyKey::Md5(secret.clone())),
            SignKey::HmacSha256(secret) => Some(VerifyKey::HmacSha256(secret.clone())),
            SignKey::Rsa2(_) => None,
        });
        let cell = OnceLock::new();
        if let Some(key) = verify_key {
            cell.set(key).expect("a fresh cell is empty");
        }
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base_url: self.base_url.trim_end_matches('/').to_owned(),
                merchant_id: self.merchant_id,
                sign_key: self.sign_key,
                verify_key: cell,
            }),
        })
    }
}

impl Client {
    /// `base_url` is the server root, e.g. `http://127.0.0.1:8080`.
    pub fn builder(
        base_url: impl Into<String>,
        merchant_id: MerchantId,
        sign_key: SignKey,
    ) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.into(),
            merchant_id,
            sign_key,
            verify_key: None,
            timeout_ms: TIMEOUT_MS_DEFAULT,
        }
    }

    /// A client with default options; see `builder` for the others.
    pub fn new(
        base_url: impl Into<String>,
        merchant_id: MerchantId,
        sign_key: SignKey,
    ) -> Result<Client, ClientError> {
        Client::builder(base_url, merchant_id, sign_key).build()
    }

    pub fn merchant_id(&self) -> &MerchantId {
        &self.inner.merchant_id
    }

    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    pub fn sign_key(&self) -> &SignKey {
        &self.inner.sign_key
    }

    pub async fn create_order(&self, request: &CreateOrder) -> Result<Order, ClientError> {
        Ok(Order::from_fields(self.send(request).await?)?)
    }

    pub async fn query_order(&self, request: &QueryOrder) -> Result<Order, ClientError> {
        Ok(Order::from_fields(self.send(request).await?)?)
    }

    /// Succeeds once the order is closed; query it for the resulting view.
    pub async fn close_order(&self, request: &CloseOrder) -> Result<(), ClientError> {
        self.send(request).await.map(drop)
    }

    /// Reports a partner's step on an order; answers where the order then stands.
    pub async fn report_partner_status(
        &self,
        request: &PartnerOrderStatus,
    ) -> Result<PartnerOrderView, ClientError> {
        Ok(PartnerOrderView::from_fields(self.send(request).await?)?)
    }

    /// The merchant's balances in one currency.
    pub async fn query_balance(&self, request: &QueryBalance) -> Result<BalanceView, ClientError> {
        Ok(BalanceView::from_fields(self.send(request).await?)?)
    }

    pub async fn refund(&self, request: &Refund) -> Result<RefundView, ClientError> {
        Ok(RefundView::from_fields(self.send(request).await?)?)
    }

    pub async fn query_refund(&self, request: &QueryRefund) -> Result<RefundView, ClientError> {
        Ok(RefundView::from_fields(self.send(request).await?)?)
    }

    /// Registers (or updates) a profit-sharing receiver.
    pub async fn add_receiver(&self, request: &AddReceiver) -> Result<ReceiverView, ClientError> {
        Ok(ReceiverView::from_fields(self.send(request).await?)?)
    }

    pub async fn remove_receiver(
        &self,
        request: &RemoveReceiver,
    ) -> Result<ReceiverView, ClientError> {
        Ok(ReceiverView::from_fields(self.send(request).await?)?)
    }

    /// Shares a paid order with registered receivers.
    pub async fn apply_split(&self, request: &ApplySplit) -> Result<SplitView, ClientError> {
        Ok(SplitView::from_fields(self.send(request).await?)?)
    }

    /// Ends an order's sharing.
    pub async fn finish_split(&self, request: &FinishSplit) -> Result<SplitView, ClientError> {
        Ok(SplitView::from_fields(self.send(request).await?)?)
    }

    pub async fn query_split(&self, request: &QuerySplit) -> Result<SplitView, ClientError> {
        Ok(SplitView::from_fields(self.send(request).await?)?)
    }

    /// Takes part of a share back from its receiver.
    pub async fn return_split(&self, request: &ReturnSplit) -> Result<ReturnView, ClientError> {
        Ok(ReturnView::from_fields(self.send(request).await?)?)
    }

    pub async fn withdraw(&self, request: &CreateWithdraw) -> Result<WithdrawView, ClientError> {
        Ok(WithdrawView::from_fields(self.send(request).await?)?)
    }

    pub async fn query_withdraw(
        &self,
        request: &QueryWithdraw,
    ) -> Result<WithdrawView, ClientError> {
        Ok(WithdrawView::from_fields(self.send(request).await?)?)
    }

    pub async fn request_settlement(
        &self,
        request: &RequestSettlement,
    ) -> Result<SettlementRequestView, ClientError> {
        Ok(SettlementRequestView::from_fields(
            self.send(request).await?,
        )?)
    }

    pub async fn create_payout(&self, request: &CreatePayout) -> Result<PayoutView, ClientError> {
        Ok(PayoutView::from_fields(self.send(request).await?)?)
    }

    pub async fn query_payout(&self, request: &QueryPayout) -> Result<PayoutView, ClientError> {
        Ok(PayoutView::from_fields(self.send(request).await?)?)
    }

    async fn send<R: ApiRequest>(&self, request: &R) -> Result<Map<String, Value>, ClientError> {
        self.call(R::PATH, request.to_fields()).await
    }

    /// Signs and sends any fields, and returns the verified body of a success; failures come
    /// back as `ClientError::Api`. For endpoints this crate does not type.
    pub async fn call(
        &self,
        path: &str,
        fields: Map<String, Value>,
    ) -> Result<Map<String, Value>, ClientError> {
        let (status, body) = self.call_raw(path, fields).await?;
        let body = classify(status, body)?;
        self.verify(&body).await?;
        Ok(body)
    }

    /// Signs and sends any fields and returns the answer as it came: no verification, no
    /// interpretation of `code`. Tests use it to send what the typed calls cannot.
    pub async fn call_raw(
        &self,
        path: &str,
        fields: Map<String, Value>,
    ) -> Result<(u16, Map<String, Value>), ClientError> {
        let signed = self.sign_fields(fields)?;
        self.send_unsigned(path, signed).await
    }

    /// Sends exactly `body`, adding and signing nothing: for forged, stale and replayed requests.
    pub async fn send_unsigned(
        &self,
        path: &str,
        body: Map<String, Value>,
    ) -> Result<(u16, Map<String, Value>), ClientError> {
        let response = self
            .inner
            .http
            .post(self.url(path))
            .json(&body)
            .send()
            .await?;
        read_object(response).await
    }

    /// The body `call_raw` would send: `merchant_id`, `timestamp` (now) and a fresh `nonce` are
    /// added where the caller did not give them (give `null` to send one as null), then signed.
    pub fn sign_fields(
        &self,
        mut fields: Map<String, Value>,
    ) -> Result<Map<String, Value>, ClientError> {
        fields
            .entry(field::MERCHANT_ID)
            .or_insert_with(|| self.inner.merchant_id.as_str().into());
        fields
            .entry(field::TIMESTAMP)
            .or_insert_with(|| chrono::Utc::now().timestamp().into());
        fields
            .entry(field::NONCE)
            .or_insert_with(|| fresh_nonce().into());
        Ok(sign_request(&self.inner.sign_key, fields)?)
    }

    /// Checks a body signed by the platform (a response or a notification) with this client's
    /// response key, fetching the platform's RSA key first if it is needed and not yet known.
    pub async fn verify(&self, body: &Map<String, Value>) -> Result<(), ClientError> {
        verify_response(self.response_key().await?, body)
    }

    async fn response_key(&self) -> Result<&VerifyKey, ClientError> {
        if let Some(key) = self.inner.verify_key.get() {
            return Ok(key);
        }
        let fetched = VerifyKey::Rsa2(self.fetch_platform_key().await?);
        // Concurrent first calls may both fetch; whichever lands first is kept, and both fetched
        // the same key.
        Ok(self.inner.verify_key.get_or_init(|| fetched))
    }

    /// `GET /api/platform/public-key`: the key that verifies RSA2 responses and notifications.
    pub async fn fetch_platform_key(&self) -> Result<RsaPublicKey, ClientError> {
        let response = self
            .inner
            .http
            .get(self.url(paths::PLATFORM_PUBLIC_KEY))
            .send()
            .await?;
        let (status, body) = read_object(response).await?;
        match serde_json::from_value::<PublicKeyResponse>(Value::Object(body.clone())) {
            Ok(answer) => RsaPublicKey::from_text(&answer.public_key)
                .map_err(|e| ClientError::Decode(format!("platform public_key: {e}"))),
            Err(_) => Err(classify(status, body)
                .err()
                .unwrap_or_else(|| ClientError::Decode("no public_key in answer".into()))),
        }
    }

    fn url(&self, path: &str) -> String {
        let slash = if path.starts_with('/') { "" } else { "/" };
        format!("{}{slash}{path}", self.inner.base_url)
    }
}

impl fmt::Debug for Client {
    /// Names the merchant and algorithm only: the key is a secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("merchant_id", &self.inner.merchant_id)
            .field("sign_type", &self.inner.sign_key.sign_type())
            .finish_non_exhaustive()
    }
}

/// Reads a bounded body and insists on a JSON object, whatever the HTTP status: Paygate puts
/// its answer in the body on failures too.
async fn read_object(
    mut response: reqwest::Response,
) -> Result<(u16, Map<String, Value>), ClientError> {
    let status = response.status().as_u16();
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if bytes.len() + chunk.len() > RESPONSE_BYTES_MAX {
            return Err(ClientError::Decode(format!(
                "HTTP {status}: body exceeds {RESPONSE_BYTES_MAX} bytes"
            )));
        }
        bytes.extend_from_slice(&chunk);
    }
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(body)) => Ok((status, body)),
        _ => {
            let shown = &bytes[..bytes.len().min(SNIPPET_BYTES_MAX)];
            Err(ClientError::Decode(format!(
                "HTTP {status}: body is not a JSON object: {:?}",
                String::from_utf8_lossy(shown)
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paygate_domain::sign::RsaPrivateKey;
    use serde_json::json;

    fn client(key: SignKey) -> Client {
        let merchant = MerchantId::parse("M100000000001").unwrap();
        Client::new("http://127.0.0.1:9/", merchant, key).unwrap()
    }

    #[test]
    fn signed_fields_carry_the_envelope_and_verify() {
        let client = client(SignKey::HmacSha256("s3cret".into()));
        let fields = json!({"out_trade_no": "ORDER-1"})
            .as_object()
            .unwrap()
            .clone();
        let signed = client.sign_fields(fields).unwrap();
        assert_eq!(signed["merchant_id"], "M100000000001");
        assert!(signed["timestamp"].is_i64());
        assert_eq!(signed["nonce"].as_str().map(str::len), Some(16));
        assert_eq!(signed["sign_type"], "HMAC-SHA256");
        assert!(VerifyKey::HmacSha256("s3cret".into())
            .verify(&signed)
            .is_ok());
    }

    #[test]
    fn fields_the_caller_gives_are_kept_so_tests_can_send_stale_requests() {
        let client = client(SignKey::Md5("k".into()));
        let fields = json!({"timestamp": 1, "nonce": "fixedNonce1"});
        let signed = client
            .sign_fields(fields.as_object().unwrap().clone())
            .unwrap();
        assert_eq!(
            (&signed["timestamp"], &signed["nonce"]),
            (&json!(1), &json!("fixedNonce1"))
        );
    }

    #[test]
    fn paths_join_the_base_url_with_one_slash() {
        let client = client(SignKey::Md5("k".into()));
        assert_eq!(
            client.url(paths::CREATE),
            "http://127.0.0.1:9/api/payment/create"
        );
        assert_eq!(client.url("api/x"), "http://127.0.0.1:9/api/x");
    }

    #[test]
    fn secret_keys_default_to_verifying_with_the_same_secret_and_rsa_waits_for_the_platform() {
        let md5 = client(SignKey::Md5("k".into()));
        assert!(matches!(md5.inner.verify_key.get(), Some(VerifyKey::Md5(s)) if s.expose() == "k"));
        let rsa = client(SignKey::Rsa2(RsaPrivateKey::generate().unwrap()));
        assert!(rsa.inner.verify_key.get().is_none());
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let shown = format!("{:?}", client(SignKey::Md5("topsecret".into())));
        assert!(!shown.contains("topsecret"), "{shown}");
    }
}
