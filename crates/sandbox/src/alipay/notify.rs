//! Notifications: the sandbox POSTs a trade's `notify_url` as Alipay does (form-encoded, signed
//! with Alipay's key over every field but `sign` and `sign_type`) and retries on Alipay's
//! schedule until the receiver answers `success`. Deliveries run on background tasks that
//! shutdown cancels.

use paygate_channels::alipay::sign::{notify_content, sign_rsa2};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::book::{Refund, Trade, TradeStatus};
use super::faults::{Event, Plan};
use super::money::yuan;
use super::{alipay_time, ids, now_cst, relock, App};

/// Alipay's pauses after each failed delivery: 4 m, 10 m, 10 m, 1 h, 2 h, 6 h, 15 h; then it
/// gives up.
pub const ALIPAY_CALLBACK_DELAYS_MS: [u64; 7] = [
    240_000, 600_000, 600_000, 3_600_000, 7_200_000, 21_600_000, 54_000_000,
];

/// One delivery attempt may take this long before it counts as failed.
const ATTEMPT_TIMEOUT_MS: u64 = 10_000;
/// Payment notifications held back (fault `out_of_order_callbacks`) at once.
const HELD_MAX: usize = 256;

/// A notification ready to go, signed once (RSA PKCS#1 v1.5 signatures are deterministic).
#[derive(Debug, Clone)]
pub struct Notice {
    url: String,
    /// Every field, `sign_type` and `sign` included.
    fields: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signature {
    Genuine,
    Broken,
}

impl Notice {
    fn form(&self, signature: Signature) -> String {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in &self.fields {
            let value = match (key.as_str(), signature) {
                ("sign", Signature::Broken) => break_signature(value),
                _ => value.clone(),
            };
            form.append_pair(key, &value);
        }
        form.finish()
    }
}

/// Tells the trade's `notify_url` (if it gave one) what just happened: paid, closed unpaid, or
/// refunded (`refund` names the refund).
pub fn announce(app: &App, trade: &Trade, refund: Option<&Refund>) {
    let Some(url) = &trade.ask.notify_url else {
        return;
    };
    let mut fields = fields_of(app, trade, refund);
    let sign = sign_rsa2(&app.alipay_private, &notify_content(&fields));
    fields.insert("sign_type".into(), "RSA2".into());
    fields.insert("sign".into(), sign);
    let notice = Notice {
        url: url.clone(),
        fields,
    };
    let event = match (refund, trade.status) {
        (None, TradeStatus::TradeSuccess) => Event::Payment,
        _ => Event::Other,
    };
    let plan = app.faults().take_notification(trade.out_trade_no(), event);
    let notifier = &app.notifier;
    if plan.hold_until_refund {
        let mut held = relock(&notifier.inner.held);
        if held.len() < HELD_MAX {
            held.insert(trade.out_trade_no().to_owned(), notice);
            return;
        }
    }
    let then = refund.and_then(|_| relock(&notifier.inner.held).remove(trade.out_trade_no()));
    notifier.dispatch(notice, plan, then);
}

/// The fields Alipay sends for the trade's current state.
fn fields_of(app: &App, trade: &Trade, refund: Option<&Refund>) -> BTreeMap<String, String> {
    let total = yuan(trade.ask.total_cents);
    let mut fields: BTreeMap<String, String> = [
        ("notify_time", alipay_time(now_cst())),
        ("notify_type", "trade_status_sync".to_owned()),
        ("notify_id", ids::notify_id()),
        ("app_id", app.credentials.app_id.clone()),
        ("charset", "utf-8".to_owned()),
        ("version", "1.0".to_owned()),
        ("trade_no", trade.trade_no.clone()),
        ("out_trade_no", trade.out_trade_no().to_owned()),
        ("seller_id", app.credentials.seller_id.clone()),
        ("trade_status", trade.status.as_str().to_owned()),
        ("total_amount", total.clone()),
        ("subject", trade.ask.subject.clone()),
        ("gmt_create", alipay_time(trade.gmt_create)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    if let Some(buyer_id) = &trade.buyer_id {
        fields.insert("buyer_id".into(), buyer_id.clone());
    }
    if let Some(paid_at) = trade.gmt_payment {
        fields.insert("gmt_payment".into(), alipay_time(paid_at));
        fields.insert("receipt_amount".into(), total.clone());
        fields.insert("buyer_pay_amount".into(), total);
    }
    if let Some(closed_at) = trade.gmt_close {
        fields.insert("gmt_close".into(), alipay_time(closed_at));
    }
    if let Some(refund) = refund {
        fields.insert("out_biz_no".into(), refund.out_request_no.clone());
        fields.insert("refund_fee".into(), yuan(trade.refunded_cents));
        fields.insert("gmt_refund".into(), alipay_time(refund.at));
    }
    fields
}

#[derive(Clone)]
pub struct Notifier {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    delays_ms: Vec<u64>,
    cancel: CancellationToken,
    tasks: TaskTracker,
    held: Mutex<HashMap<String, Notice>>,
}

impl Notifier {
    pub fn new(delays_ms: Vec<u64>, cancel: CancellationToken, tasks: TaskTracker) -> Notifier {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(ATTEMPT_TIMEOUT_MS))
            .build()
            .expect("the HTTP client builds");
        Notifier {
            inner: Arc::new(Inner {
                http,
                delays_ms,
                cancel,
                tasks,
                held: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Sends `notice` as `plan` says on a background task; `then` goes after it (a payment's
    /// notification held behind this refund's).
    fn dispatch(&self, notice: Notice, plan: Plan, then: Option<Notice>) {
        let this = self.clone();
        self.inner.tasks.spawn(async move {
            this.run(&notice, plan).await;
            if let Some(next) = then {
                this.run(&next, Plan::default()).await;
            }
        });
    }

    async fn run(&self, notice: &Notice, plan: Plan) {
        if plan.skip {
            return;
        }
        if let Some(late_ms) = plan.late_ms {
            if !self.pause(late_ms).await {
                return;
            }
        }
        if plan.forged_first {
            self.attempt(notice, Signature::Broken).await;
        }
        self.deliver(notice).await;
        if plan.duplicate {
            self.deliver(notice).await;
        }
    }

    /// Tries until the receiver answers `success` or the schedule runs out.
    async fn deliver(&self, notice: &Notice) {
        let delays = &self.inner.delays_ms;
        for attempt in 0..=delays.len() {
            if self.attempt(notice, Signature::Genuine).await {
                return;
            }
            let Some(&delay_ms) = delays.get(attempt) else {
                break;
            };
            if !self.pause(delay_ms).await {
                return;
            }
        }
        tracing::warn!(url = %notice.url, "notification given up after the last retry");
    }

    /// False when shutdown cut the pause short.
    async fn pause(&self, ms: u64) -> bool {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(ms)) => true,
            () = self.inner.cancel.cancelled() => false,
        }
    }

    /// True when the receiver took it: Alipay wants the seven bytes `success`.
    async fn attempt(&self, notice: &Notice, signature: Signature) -> bool {
        let request = self
            .inner
            .http
            .post(&notice.url)
            .header(
                "Content-Type",
                "application/x-www-form-urlencoded;charset=utf-8",
            )
            .body(notice.form(signature));
        let answered = async {
            let answer = request.send().await?;
            let status = answer.status();
            Ok::<_, reqwest::Error>((status, answer.text().await?))
        };
        let outcome = tokio::select! {
            outcome = answered => outcome,
            () = self.inner.cancel.cancelled() => return false,
        };
        match outcome {
            Ok((status, body)) => {
                tracing::debug!(url = %notice.url, %status, "notification answered");
                status.is_success() && body.trim() == "success"
            }
            Err(error) => {
                tracing::debug!(url = %notice.url, %error, "notification not delivered");
                false
            }
        }
    }
}

/// A signature of the right shape that verifies under no key: its first character changed.
fn break_signature(signature: &str) -> String {
    let mut chars: Vec<char> = signature.chars().collect();
    if let Some(first) = chars.first_mut() {
        *first = if *first == 'A' { 'B' } else { 'A' };
    }
    chars.into_iter().collect()
}
