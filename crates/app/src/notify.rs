//! Delivering the outbox to merchants (DESIGN §7). A notification is POSTed as a signed flat
//! JSON object to the order's `notify_url` and counts as delivered only on HTTP 200 with the body
//! `success` (or `SUCCESS`). Failures are retried on the merchant's schedule (seed 003's by
//! default); every attempt is recorded. Deliveries to one merchant host are bounded, so a slow or
//! dead merchant holds only its own slots and never starves the others.
//!
//! A notification goes only to a public internet address unless the operator or the merchant's
//! record allows private ones (`target`), and a merchant's answer is read up to
//! `response_bytes_max`, never to its end.

pub(crate) mod target;

use crate::maintenance::Outcome;
use crate::{App, AppError};
use paygate_domain::address::{ForbiddenAddress, PrivateTargets};
use paygate_domain::schedule::{NextAttempt, RetrySchedule};
use paygate_store::{AttemptRecord, AttemptVerdict, NotificationRecord};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct NotifierSettings {
    /// Names this process in leases and attempt records.
    pub worker_id: String,
    pub claim_batch_max: i64,
    /// Longer than the HTTP timeout, so a healthy worker never loses a lease mid-delivery.
    pub lease_ms: i64,
    pub http_timeout_ms: u64,
    pub per_host_in_flight_max: usize,
    pub in_flight_max: usize,
    /// How long a notification waits when its host is at its in-flight bound.
    pub host_busy_defer_ms: i64,
    pub idle_pause_ms: u64,
    pub response_excerpt_chars_max: usize,
    /// The most of a merchant's answer we read; a longer one is a failed attempt (`success` is
    /// seven bytes, and a merchant must not make us buffer a megabyte per delivery).
    pub response_bytes_max: usize,
}

impl Default for NotifierSettings {
    fn default() -> Self {
        NotifierSettings {
            worker_id: format!(
                "notifier-{}-{:06x}",
                std::process::id(),
                rand::random::<u32>() & 0xff_ffff
            ),
            claim_batch_max: 100,
            lease_ms: 60_000,
            http_timeout_ms: 10_000,
            per_host_in_flight_max: 4,
            in_flight_max: 64,
            host_busy_defer_ms: 1_000,
            idle_pause_ms: 500,
            response_excerpt_chars_max: 256,
            response_bytes_max: 4 * 1024,
        }
    }
}

#[derive(Clone)]
pub struct Notifier {
    app: App,
    /// For merchants whose URLs must stay on the public internet: every host name is resolved
    /// by `target::PublicOnlyResolver`, and no proxy is used, since a proxy would connect to an
    /// address we never checked.
    guarded: reqwest::Client,
    /// For merchants allowed private addresses (or every merchant, by the operator's switch).
    open: reqwest::Client,
    settings: Arc<NotifierSettings>,
    in_flight: Arc<Mutex<HashMap<String, usize>>>,
}

/// What one HTTP attempt came to.
struct Delivery {
    http_status: Option<i64>,
    excerpt: Option<String>,
    /// `None` when delivered, else why not.
    failure: Option<String>,
}

impl Delivery {
    fn refused(refusal: ForbiddenAddress) -> Delivery {
        Delivery {
            http_status: None,
            excerpt: None,
            failure: Some(format!("forbidden address: {refusal}")),
        }
    }

    /// A request that got no answer: refused by the resolver, timed out, or never connected.
    fn unsent(error: &reqwest::Error) -> Delivery {
        if let Some(refusal) = target::refusal_in(error) {
            return Delivery::refused(refusal);
        }
        let failure = if error.is_timeout() {
            "timeout".to_owned()
        } else if error.is_connect() {
            "connection failed".to_owned()
        } else {
            format!("transport error: {error}")
        };
        Delivery {
            http_status: None,
            excerpt: None,
            failure: Some(failure),
        }
    }
}

/// How much of a merchant's answer was read.
enum BodyRead {
    Complete,
    /// Longer than the bound; the rest was never read.
    TooLarge,
    Broken(String),
}

/// Reads a merchant's answer chunk by chunk, stopping once it passes `bytes_max`.
async fn read_capped(mut response: reqwest::Response, bytes_max: usize) -> (Vec<u8>, BodyRead) {
    let mut bytes = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) if bytes.len() + chunk.len() > bytes_max => {
                let room = bytes_max - bytes.len();
                bytes.extend_from_slice(&chunk[..room]);
                return (bytes, BodyRead::TooLarge);
            }
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) => return (bytes, BodyRead::Complete),
            Err(error) => return (bytes, BodyRead::Broken(error.to_string())),
        }
    }
}

impl Notifier {
    pub fn new(app: App, settings: NotifierSettings) -> Result<Notifier, AppError> {
        // A redirect is a failed attempt, never followed: it could lead anywhere.
        let builder = || {
            reqwest::Client::builder()
                .timeout(Duration::from_millis(settings.http_timeout_ms))
                .redirect(reqwest::redirect::Policy::none())
        };
        let guarded = builder()
            .no_proxy()
            .dns_resolver(Arc::new(target::PublicOnlyResolver))
            .build()
            .map_err(|e| AppError::Internal(e.into()))?;
        let open = builder()
            .build()
            .map_err(|e| AppError::Internal(e.into()))?;
        Ok(Notifier {
            app,
            guarded,
            open,
            settings: Arc::new(settings),
            in_flight: Arc::default(),
        })
    }

    /// Deliveries in flight in this process. The notifier keeps no other state between steps,
    /// so its memory is bounded by this (at most `in_flight_max`) however large the backlog.
    pub fn in_flight(&self) -> usize {
        self.in_flight_total()
    }

    fn in_flight_total(&self) -> usize {
        self.in_flight
            .lock()
            .expect("in-flight lock")
            .values()
            .sum()
    }

    /// Claims what there is room for and starts each delivery on `tasks`.
    pub async fn dispatch(&self, tasks: &mut JoinSet<()>) -> Result<Outcome, AppError> {
        let room = self
            .settings
            .in_flight_max
            .saturating_sub(self.in_flight_total());
        let batch = (room as i64).min(self.settings.claim_batch_max);
        if batch == 0 {
            return Ok(Outcome::Idle);
        }
        let now = self.app.clock().now_ms();
        let worker = &self.settings.worker_id;
        let claimed = self
            .app
            .store()
            .claim_due_notifications(worker, now, self.settings.lease_ms, batch)
            .await?;
        let count = claimed.len() as u64;
        for notification in claimed {
            let admitted = {
                let mut hosts = self.in_flight.lock().expect("in-flight lock");
                let slot = hosts.entry(notification.notify_host.clone()).or_default();
                if *slot < self.settings.per_host_in_flight_max {
                    *slot += 1;
                    true
                } else {
                    false
                }
            };
            if !admitted {
                let due = now + self.settings.host_busy_defer_ms;
                self.app
                    .store()
                    .defer_notification(notification.id, worker, due)
                    .await?;
                continue;
            }
            let this = self.clone();
            tasks.spawn(async move {
                let host = notification.notify_host.clone();
                if let Err(error) = this.deliver(notification).await {
                    tracing::warn!(%error, "recording a notification attempt failed");
                }
                if let Some(slot) = this
                    .in_flight
                    .lock()
                    .expect("in-flight lock")
                    .get_mut(&host)
                {
                    *slot = slot.saturating_sub(1);
                }
            });
        }
        Ok(if count == 0 {
            Outcome::Idle
        } else {
            Outcome::DidWork(count)
        })
    }

    /// One step for tests: claim what is due and finish every delivery before returning.
    pub async fn try_step(&self) -> Result<Outcome, AppError> {
        let mut tasks = JoinSet::new();
        let outcome = self.dispatch(&mut tasks).await?;
        while tasks.join_next().await.is_some() {}
        Ok(outcome)
    }

    async fn deliver(&self, notification: NotificationRecord) -> Result<(), AppError> {
        let attempt_no = notification.attempts + 1;
        let merchant = self.app.merchant_keys(&notification.merchant_id).await?;
        let started = Instant::now();
        let at = self.app.clock().now_ms();
        let delivery = match &merchant {
            Some(keys) => {
                let mut body: Map<String, Value> = serde_json::from_str(&notification.payload)
                    .map_err(|e| AppError::Internal(e.into()))?;
                body.insert("notify_id".into(), Value::from(notification.id.to_string()));
                body.insert("timestamp".into(), Value::from(at / 1000));
                match self.app.sign_for(keys, &mut body) {
                    Ok(()) => {
                        let targets = self.app.private_targets(&keys.record);
                        self.post(&notification.notify_url, &body, targets).await
                    }
                    Err(error) => {
                        tracing::error!(%error, id = notification.id, "notification not sent");
                        Delivery {
                            http_status: None,
                            excerpt: None,
                            failure: Some("signing failed".into()),
                        }
                    }
                }
            }
            None => Delivery {
                http_status: None,
                excerpt: None,
                failure: Some("merchant no longer exists".into()),
            },
        };
        let latency_ms = started.elapsed().as_millis() as i64;
        let verdict = match &delivery.failure {
            None => AttemptVerdict::Delivered,
            Some(_) => {
                let schedule = match &merchant {
                    Some(keys) => keys.notify_schedule.clone(),
                    None => RetrySchedule::notification(),
                };
                let failed_at = self.app.clock().now_ms();
                match schedule.after_failure(attempt_no as u32, notification.created_at, failed_at)
                {
                    NextAttempt::At(at) => AttemptVerdict::RetryAt(at),
                    NextAttempt::GiveUp => AttemptVerdict::GaveUp,
                }
            }
        };
        let attempt = AttemptRecord {
            attempt_no,
            at,
            http_status: delivery.http_status,
            latency_ms,
            outcome: delivery
                .failure
                .clone()
                .unwrap_or_else(|| "delivered".into()),
            response_excerpt: delivery.excerpt,
            worker: self.settings.worker_id.clone(),
        };
        let recorded = self
            .app
            .store()
            .record_notification_attempt(&notification, &self.settings.worker_id, &attempt, verdict)
            .await?;
        let label = match verdict {
            AttemptVerdict::Delivered => "delivered",
            AttemptVerdict::RetryAt(_) => "retry",
            AttemptVerdict::GaveUp => "gave_up",
        };
        metrics::counter!("paygate_notify_attempts_total", "result" => label).increment(1);
        if !recorded {
            tracing::warn!(
                id = notification.id,
                "lease lost before the attempt was recorded"
            );
        } else if verdict == AttemptVerdict::GaveUp {
            tracing::warn!(id = notification.id, trade_no = %notification.trade_no,
                reason = ?delivery.failure, "gave up notifying the merchant");
        }
        Ok(())
    }

    async fn post(
        &self,
        url: &str,
        body: &Map<String, Value>,
        targets: PrivateTargets,
    ) -> Delivery {
        let client = match targets {
            PrivateTargets::Allowed => &self.open,
            PrivateTargets::Refused => {
                // A literal address never reaches the resolver, so it is checked here.
                let literal = target::literal_ip(url).map(|ip| targets.check(ip));
                if let Some(Err(refusal)) = literal {
                    return Delivery::refused(refusal);
                }
                &self.guarded
            }
        };
        let response = match client.post(url).json(body).send().await {
            Ok(response) => response,
            Err(error) => return Delivery::unsent(&error),
        };
        let status = response.status();
        let (bytes, read) = read_capped(response, self.settings.response_bytes_max).await;
        let text = String::from_utf8_lossy(&bytes);
        let excerpt: String = text
            .chars()
            .take(self.settings.response_excerpt_chars_max)
            .collect();
        let answer = text.trim();
        let failure = if status.is_redirection() {
            Some(format!("redirect {}", status.as_u16()))
        } else if status != reqwest::StatusCode::OK {
            Some(format!("http {}", status.as_u16()))
        } else if let BodyRead::TooLarge = read {
            Some(format!(
                "body longer than {} bytes",
                self.settings.response_bytes_max
            ))
        } else if let BodyRead::Broken(why) = read {
            Some(format!("unreadable body: {why}"))
        } else if answer == "success" || answer == "SUCCESS" {
            None
        } else {
            Some("body was not success".to_owned())
        };
        Delivery {
            http_status: Some(status.as_u16() as i64),
            excerpt: Some(excerpt),
            failure,
        }
    }

    /// Dispatches until shutdown; then stops claiming and lets in-flight deliveries finish
    /// (a delivery cut off here is retried by whoever claims it after the lease).
    pub async fn run(self, shutdown: CancellationToken) {
        let mut tasks = JoinSet::new();
        let idle = Duration::from_millis(self.settings.idle_pause_ms);
        loop {
            while tasks.try_join_next().is_some() {}
            let outcome = self.dispatch(&mut tasks).await.unwrap_or_else(|error| {
                tracing::warn!(%error, "claiming notifications failed");
                Outcome::Idle
            });
            let pause = match outcome {
                Outcome::DidWork(_) => Duration::from_millis(10),
                Outcome::Idle => idle,
            };
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(pause) => {}
            }
        }
        while tasks.join_next().await.is_some() {}
    }
}
