//! Back notifications (后台通知): a form POST to the transaction's `backUrl`, signed by
//! UnionPay's key with its certificate in `signPubKeyCert`. Only HTTP 200 counts as received;
//! otherwise UnionPay sends it again after each pause of its schedule (1, 2, 4, 8, 16 minutes).
//! Faults bend deliveries as in the WeChat Pay sandbox.

use std::collections::BTreeMap;
use std::time::Duration;

use paygate_channels::unionpay::{sign, wire};
use paygate_domain::sign::RsaPrivateKey;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::callbacks::Plan;

/// UnionPay's pauses after each failed delivery: 1, 2, 4, 8 and 16 minutes.
pub const UNIONPAY_CALLBACK_DELAYS_MS: [u64; 5] = [60_000, 120_000, 240_000, 480_000, 960_000];
/// One delivery attempt may take this long before it counts as failed.
const ATTEMPT_TIMEOUT_MS: u64 = 10_000;

#[derive(Clone)]
pub struct Notifier {
    http: reqwest::Client,
    delays_ms: Vec<u64>,
    key: RsaPrivateKey,
    cert_pem: String,
    cancel: CancellationToken,
    tasks: TaskTracker,
}

impl Notifier {
    pub fn new(
        delays_ms: Vec<u64>,
        key: RsaPrivateKey,
        cert_pem: String,
        cancel: CancellationToken,
        tasks: TaskTracker,
    ) -> Notifier {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(ATTEMPT_TIMEOUT_MS))
            .build()
            .expect("the HTTP client builds");
        Notifier {
            http,
            delays_ms,
            key,
            cert_pem,
            cancel,
            tasks,
        }
    }

    /// Signs `fields` as UnionPay and adds its certificate.
    pub fn sign(&self, mut fields: BTreeMap<String, String>) -> BTreeMap<String, String> {
        fields.insert("signPubKeyCert".into(), self.cert_pem.clone());
        fields.remove(sign::SIGNATURE);
        let signature = sign::sign(&self.key, &fields).expect("UnionPay's key signs");
        fields.insert(sign::SIGNATURE.into(), signature);
        fields
    }

    /// Sends a notification on a background task, as `plan` says.
    pub fn dispatch(&self, url: String, fields: BTreeMap<String, String>, plan: Plan) {
        let this = self.clone();
        let body = wire::encode_form(&self.sign(fields.clone()));
        let forged = {
            let mut signed = self.sign(fields);
            if let Some(signature) = signed.get_mut(sign::SIGNATURE) {
                let first = if signature.starts_with('A') { "B" } else { "A" };
                signature.replace_range(..1, first);
            }
            wire::encode_form(&signed)
        };
        self.tasks.spawn(async move {
            if plan.skip {
                return;
            }
            if let Some(late_ms) = plan.late_ms {
                if !this.pause(late_ms).await {
                    return;
                }
            }
            if plan.forged_first {
                this.attempt(&url, &forged).await;
            }
            this.deliver(&url, &body).await;
            if plan.duplicate {
                this.deliver(&url, &body).await;
            }
        });
    }

    async fn deliver(&self, url: &str, body: &str) -> bool {
        for attempt in 0..=self.delays_ms.len() {
            if self.attempt(url, body).await {
                return true;
            }
            let Some(&delay_ms) = self.delays_ms.get(attempt) else {
                break;
            };
            if !self.pause(delay_ms).await {
                return false;
            }
        }
        tracing::warn!(%url, "UnionPay notification given up after the last retry");
        false
    }

    async fn pause(&self, ms: u64) -> bool {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(ms)) => true,
            () = self.cancel.cancelled() => false,
        }
    }

    async fn attempt(&self, url: &str, body: &str) -> bool {
        let request = self
            .http
            .post(url)
            .header(
                "Content-Type",
                "application/x-www-form-urlencoded;charset=UTF-8",
            )
            .body(body.to_owned());
        let outcome = tokio::select! {
            outcome = request.send() => outcome,
            () = self.cancel.cancelled() => return false,
        };
        match outcome {
            Ok(answer) => answer.status().as_u16() == 200,
            Err(error) => {
                tracing::debug!(%url, %error, "notification not delivered");
                false
            }
        }
    }
}
