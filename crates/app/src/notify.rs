//! Delivering the outbox to merchants (DESIGN §7). A notification is POSTed as a signed flat
//! JSON object to the order's `notify_url` and counts as delivered only on HTTP 200 with the body
//! `success` (or `SUCCESS`). Failures are retried on the merchant's schedule (seed 003's by
//! default); every attempt is recorded. Deliveries to one merchant host are bounded, so a slow or
//! dead merchant holds only its own slots and never starves the others.

use crate::maintenance::Outcome;
use crate::{App, AppError};
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
        }
    }
}

#[derive(Clone)]
pub struct Notifier {
    app: App,
    http: reqwest::Client,
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

impl Notifier {
    pub fn new(app: App, settings: NotifierSettings) -> Result<Notifier, AppError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.http_timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| AppError::Internal(e.into()))?;
        Ok(Notifier {
            app,
            http,
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
                    Ok(()) => self.post(&notification.notify_url, &body).await,
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

    async fn post(&self, url: &str, body: &Map<String, Value>) -> Delivery {
        let response = match self.http.post(url).json(body).send().await {
            Ok(response) => response,
            Err(error) => {
                let failure = if error.is_timeout() {
                    "timeout".to_owned()
                } else if error.is_connect() {
                    "connection failed".to_owned()
                } else {
                    format!("transport error: {error}")
                };
                return Delivery {
                    http_status: None,
                    excerpt: None,
                    failure: Some(failure),
                };
            }
        };
        let status = response.status();
        let text = match response.text().await {
            Ok(text) => text,
            Err(error) => format!("<unreadable body: {error}>"),
        };
        let excerpt: String = text
            .chars()
            .take(self.settings.response_excerpt_chars_max)
            .collect();
        let answer = text.trim();
        let failure = if status.is_redirection() {
            Some(format!("redirect {}", status.as_u16()))
        } else if status != reqwest::StatusCode::OK {
            Some(format!("http {}", status.as_u16()))
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
