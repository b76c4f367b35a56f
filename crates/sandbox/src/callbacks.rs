//! Callbacks: the sandbox POSTs a trade's `notify_url` as WeChat Pay does, the resource sealed
//! with the APIv3 key and the envelope signed with the platform key, and retries until the
//! answer is 200 or 204 on WeChat Pay's schedule. Deliveries run on background tasks that
//! shutdown cancels.

use chrono::{DateTime, FixedOffset};
use paygate_channels::wechat::v3_auth::{response_message, seal_resource};
use paygate_channels::wechat::v3_wire::{Notification, SealedResource};
use paygate_domain::sign::SignKey;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::ids;

/// WeChat Pay's pauses after each failed delivery: 15 s, 15 s, 30 s, 3 m, 10 m, 20 m, 30 m,
/// 30 m, 30 m, 60 m, 3 h, 3 h, 3 h, 6 h, 6 h; then it gives up.
pub const WECHAT_CALLBACK_DELAYS_MS: [u64; 15] = [
    15_000, 15_000, 30_000, 180_000, 600_000, 1_200_000, 1_800_000, 1_800_000, 1_800_000,
    3_600_000, 10_800_000, 10_800_000, 10_800_000, 21_600_000, 21_600_000,
];

/// One delivery attempt may take this long before it counts as failed.
const ATTEMPT_TIMEOUT_MS: u64 = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Payment,
    Refund,
}

/// A callback ready to go: its envelope is fixed, its signature is made per attempt.
/// (Which event it is matters only to faults, which are taken before it is built.)
#[derive(Debug, Clone)]
pub struct Callback {
    pub url: String,
    pub body: String,
}

impl Callback {
    /// Seals `resource_json` into WeChat Pay's envelope.
    pub fn seal(
        apiv3_key: &str,
        url: &str,
        kind: Kind,
        resource_json: &str,
        now: DateTime<FixedOffset>,
    ) -> Callback {
        let nonce = ids::aead_nonce();
        let associated_data = kind.original_type();
        let ciphertext = seal_resource(apiv3_key, &nonce, associated_data, resource_json)
            .expect("the APIv3 key and nonce have their lengths");
        let notification = Notification {
            id: uuid::Uuid::new_v4().to_string(),
            create_time: crate::rfc3339(now),
            event_type: kind.event_type().to_owned(),
            resource_type: "encrypt-resource".to_owned(),
            resource: SealedResource {
                algorithm: "AEAD_AES_256_GCM".to_owned(),
                ciphertext,
                associated_data: associated_data.to_owned(),
                original_type: associated_data.to_owned(),
                nonce,
            },
            summary: kind.summary().to_owned(),
        };
        Callback {
            url: url.to_owned(),
            body: serde_json::to_string(&notification).expect("a notification serialises"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    TransactionSuccess,
    RefundSuccess,
    RefundAbnormal,
}

impl Kind {
    fn event_type(self) -> &'static str {
        match self {
            Kind::TransactionSuccess => "TRANSACTION.SUCCESS",
            Kind::RefundSuccess => "REFUND.SUCCESS",
            Kind::RefundAbnormal => "REFUND.ABNORMAL",
        }
    }
    fn original_type(self) -> &'static str {
        match self {
            Kind::TransactionSuccess => "transaction",
            Kind::RefundSuccess | Kind::RefundAbnormal => "refund",
        }
    }
    fn summary(self) -> &'static str {
        match self {
            Kind::TransactionSuccess => "支付成功",
            Kind::RefundSuccess => "退款成功",
            Kind::RefundAbnormal => "退款异常",
        }
    }
}

/// How faults bend one callback's delivery.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Plan {
    pub skip: bool,
    pub duplicate: bool,
    pub late_ms: Option<u64>,
    pub forged_first: bool,
    pub hold_until_refund: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signature {
    Genuine,
    Broken,
}

#[derive(Clone)]
pub struct Callbacks {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    delays_ms: Vec<u64>,
    platform_key: SignKey,
    platform_key_id: String,
    cancel: CancellationToken,
    tasks: TaskTracker,
}

impl Callbacks {
    pub fn new(
        delays_ms: Vec<u64>,
        platform_key: SignKey,
        platform_key_id: String,
        cancel: CancellationToken,
        tasks: TaskTracker,
    ) -> Callbacks {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(ATTEMPT_TIMEOUT_MS))
            .build()
            .expect("the HTTP client builds");
        Callbacks {
            inner: Arc::new(Inner {
                http,
                delays_ms,
                platform_key,
                platform_key_id,
                cancel,
                tasks,
            }),
        }
    }

    /// Sends `callback` as `plan` says on a background task; `then` goes after it (a payment
    /// callback held behind this refund's).
    pub fn dispatch(&self, callback: Callback, plan: Plan, then: Option<Callback>) {
        let this = self.clone();
        self.inner.tasks.spawn(async move {
            this.run(callback, plan).await;
            if let Some(next) = then {
                this.run(next, Plan::default()).await;
            }
        });
    }

    async fn run(&self, callback: Callback, plan: Plan) {
        if plan.skip {
            return;
        }
        if let Some(late_ms) = plan.late_ms {
            if !self.pause(late_ms).await {
                return;
            }
        }
        if plan.forged_first {
            self.attempt(&callback, Signature::Broken).await;
        }
        self.deliver(&callback).await;
        if plan.duplicate {
            self.deliver(&callback).await;
        }
    }

    /// Tries until the receiver takes it or the schedule runs out; true when taken.
    async fn deliver(&self, callback: &Callback) -> bool {
        let delays = &self.inner.delays_ms;
        for attempt in 0..=delays.len() {
            if self.attempt(callback, Signature::Genuine).await {
                return true;
            }
            let Some(&delay_ms) = delays.get(attempt) else {
                break;
            };
            if !self.pause(delay_ms).await {
                return false;
            }
        }
        tracing::warn!(url = %callback.url, "callback given up after the last retry");
        false
    }

    /// False when shutdown cut the pause short.
    async fn pause(&self, ms: u64) -> bool {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(ms)) => true,
            () = self.inner.cancel.cancelled() => false,
        }
    }

    async fn attempt(&self, callback: &Callback, signature: Signature) -> bool {
        let timestamp = chrono::Utc::now().timestamp();
        let nonce = ids::nonce();
        let mut signed = self
            .inner
            .platform_key
            .sign_string(&response_message(timestamp, &nonce, &callback.body))
            .expect("the platform key signs");
        if signature == Signature::Broken {
            signed = break_signature(&signed);
        }
        let request = self
            .inner
            .http
            .post(&callback.url)
            .header("Content-Type", "application/json")
            .header("Wechatpay-Timestamp", timestamp.to_string())
            .header("Wechatpay-Nonce", &nonce)
            .header("Wechatpay-Signature", signed)
            .header("Wechatpay-Serial", &self.inner.platform_key_id)
            .header("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048")
            .body(callback.body.clone());
        let outcome = tokio::select! {
            outcome = request.send() => outcome,
            () = self.inner.cancel.cancelled() => return false,
        };
        match outcome {
            Ok(answer) => {
                let status = answer.status().as_u16();
                tracing::debug!(url = %callback.url, status, "callback answered");
                status == 200 || status == 204
            }
            Err(error) => {
                tracing::debug!(url = %callback.url, %error, "callback not delivered");
                false
            }
        }
    }
}

/// A signature of the right shape that verifies under no key: its first byte flipped.
fn break_signature(signature: &str) -> String {
    let mut chars: Vec<char> = signature.chars().collect();
    chars[0] = if chars[0] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}
