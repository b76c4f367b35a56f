//! Delivering the outbox to merchants (DESIGN §7). A notification is POSTed as a signed flat
//! JSON object to the order's `notify_url` and counts as delivered only on HTTP 200 with the body
//! `success` (or `SUCCESS`). Failures are retried on the merchant's schedule (seed 003's by
//! default); every attempt is recorded, exactly once.
//!
//! The pipeline: the dispatcher claims due notifications for the hosts that have room (`hosts`:
//! each host's slots adapt to how fast it answers, between one and the configured bound, so a
//! slow or dead merchant holds only its own few slots and never starves the others), delivers
//! them over kept-alive connections (`delivery`), and hands each outcome to the `recorder`,
//! which writes many to a commit.
//!
//! A notification goes only to a public internet address unless the operator or the merchant's
//! record allows private ones (`target`), and a merchant's answer is read up to
//! `response_bytes_max`, never to its end.

mod delivery;
mod hosts;
mod recorder;
pub(crate) mod target;

use crate::maintenance::Outcome;
use crate::{App, AppError};
use delivery::{Delivery, Sender};
use hosts::HostTable;
use paygate_api::field;
use paygate_domain::concurrency::{Answer, LimitPolicy};
use paygate_domain::schedule::{NextAttempt, RetrySchedule};
use paygate_store::{AttemptOutcome, AttemptRecord, AttemptVerdict, NotificationRecord};
use recorder::{Pending, Recorder};
use serde_json::{Map, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct NotifierSettings {
    /// Names this process in leases and attempt records.
    pub worker_id: String,
    /// The most rows one claim takes.
    pub claim_batch_max: i64,
    /// Longer than twice the HTTP timeout (a claimed notification may wait one delivery for its
    /// slot, then take one), so a healthy worker never loses a lease mid-delivery.
    pub lease_ms: i64,
    pub http_timeout_ms: u64,
    /// A host starts with this many slots and earns more while it answers fast.
    pub per_host_in_flight_initial: usize,
    /// The most deliveries in flight to one host from this process.
    pub per_host_in_flight_max: usize,
    /// The most deliveries in flight from this process, all hosts together.
    pub in_flight_max: usize,
    /// The most outcomes written in one commit.
    pub record_batch_max: usize,
    /// How long the dispatcher sleeps when nothing is due (a freed slot wakes it sooner).
    pub idle_pause_ms: u64,
    /// The pause between claims while there is work, so one claim serves several freed slots.
    pub busy_pause_ms: u64,
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
            claim_batch_max: 256,
            lease_ms: 60_000,
            http_timeout_ms: 10_000,
            per_host_in_flight_initial: 4,
            per_host_in_flight_max: 32,
            in_flight_max: 256,
            record_batch_max: 256,
            idle_pause_ms: 250,
            busy_pause_ms: 5,
            response_excerpt_chars_max: 256,
            response_bytes_max: 4 * 1024,
        }
    }
}

impl NotifierSettings {
    fn limit_policy(&self) -> LimitPolicy {
        let clamp = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        LimitPolicy::new(
            clamp(self.per_host_in_flight_initial),
            clamp(self.per_host_in_flight_max),
        )
    }
}

#[derive(Clone)]
pub struct Notifier {
    inner: Arc<Inner>,
}

struct Inner {
    app: App,
    sender: Sender,
    settings: NotifierSettings,
    hosts: Mutex<HostTable>,
    recorder: Recorder,
    /// Rung when a delivery ends, so the dispatcher fills the freed slot at once.
    slot_freed: Notify,
    /// The monotonic origin of the hosts' clocks.
    started: Instant,
}

impl Notifier {
    pub fn new(app: App, settings: NotifierSettings) -> Result<Notifier, AppError> {
        let hosts = HostTable::new(settings.limit_policy(), settings.in_flight_max);
        Ok(Notifier {
            inner: Arc::new(Inner {
                app,
                sender: Sender::new(&settings)?,
                recorder: Recorder::new(settings.record_batch_max),
                hosts: Mutex::new(hosts),
                settings,
                slot_freed: Notify::new(),
                started: Instant::now(),
            }),
        })
    }

    /// Notifications this process holds (in flight, queued for a slot, or delivered and waiting
    /// to be recorded). Nothing else is kept between steps, so memory is bounded by this (at
    /// most twice `in_flight_max` plus a batch) however large the backlog.
    pub fn in_flight(&self) -> usize {
        self.hosts().held() + self.inner.recorder.waiting()
    }

    /// The slots `host` (as `host:port`) has now, once it has been seen.
    pub fn host_limit(&self, host: &str) -> Option<usize> {
        self.hosts().limit_of(host)
    }

    fn hosts(&self) -> std::sync::MutexGuard<'_, HostTable> {
        self.inner.hosts.lock().expect("hosts lock")
    }

    fn now_mono_ms(&self) -> u64 {
        self.inner.started.elapsed().as_millis() as u64
    }

    /// Claims what the hosts with room can take, and starts on `tasks` every delivery that has
    /// a slot (claimed now or queued before).
    pub async fn dispatch(&self, tasks: &mut JoinSet<()>) -> Result<Outcome, AppError> {
        let mut started = self.start_queued(tasks);
        self.release_surplus().await?;
        let (room, busy) = {
            let mut hosts = self.hosts();
            hosts.forget_idle(self.now_mono_ms());
            (hosts.room(), hosts.busy_hosts())
        };
        let limit = (room as i64).min(self.inner.settings.claim_batch_max);
        let mut claimed_count = 0;
        if limit > 0 {
            let settings = &self.inner.settings;
            let claimed = self
                .inner
                .app
                .store()
                .claim_due_notifications(
                    &settings.worker_id,
                    self.inner.app.clock().now_ms(),
                    settings.lease_ms,
                    limit,
                    &busy,
                )
                .await?;
            claimed_count = claimed.len();
            let now = self.now_mono_ms();
            let start = self.hosts().admit(claimed, now);
            started += start.len();
            for notification in start {
                self.spawn(tasks, notification);
            }
            self.release_surplus().await?;
        }
        Ok(if claimed_count + started == 0 {
            Outcome::Idle
        } else {
            Outcome::DidWork((claimed_count + started) as u64)
        })
    }

    fn start_queued(&self, tasks: &mut JoinSet<()>) -> usize {
        let now = self.now_mono_ms();
        let start = self.hosts().startable(now);
        let n = start.len();
        for notification in start {
            self.spawn(tasks, notification);
        }
        n
    }

    /// Gives back, in one statement, what this process claimed but will not deliver.
    async fn release_surplus(&self) -> Result<(), AppError> {
        let ids = self.hosts().take_releases();
        if !ids.is_empty() {
            self.inner
                .app
                .store()
                .release_notifications(&self.inner.settings.worker_id, &ids)
                .await?;
        }
        Ok(())
    }

    fn spawn(&self, tasks: &mut JoinSet<()>, notification: NotificationRecord) {
        let this = self.clone();
        tasks.spawn(async move {
            let host = notification.notify_host.clone();
            let answer = match this.deliver(notification).await {
                Ok(answer) => answer,
                Err(error) => {
                    tracing::warn!(%error, "a notification could not be attempted");
                    None
                }
            };
            let now = this.now_mono_ms();
            this.hosts().finish(&host, answer, now);
            this.inner.slot_freed.notify_one();
        });
    }

    /// One step for tests: claim what is due once, deliver all of it (queued ones as slots
    /// free) and record every outcome before returning.
    pub async fn try_step(&self) -> Result<Outcome, AppError> {
        let mut tasks = JoinSet::new();
        let outcome = self.dispatch(&mut tasks).await?;
        loop {
            while tasks.join_next().await.is_some() {}
            if self.start_queued(&mut tasks) == 0 {
                break;
            }
        }
        self.hosts().drain_queues();
        self.release_surplus().await?;
        let settings = &self.inner.settings;
        self.inner
            .recorder
            .flush_all(&self.inner.app, &settings.worker_id)
            .await;
        Ok(outcome)
    }

    /// Attempts one delivery and queues its outcome for recording. Returns what the attempt
    /// says about the host (`None` when no request reached it for reasons of ours).
    async fn deliver(&self, notification: NotificationRecord) -> Result<Option<Answer>, AppError> {
        let app = &self.inner.app;
        let attempt_no = notification.attempts + 1;
        let merchant = app.merchant_keys(&notification.merchant_id).await?;
        let started = Instant::now();
        let at = app.clock().now_ms();
        let (delivery, reached_host) = match &merchant {
            Some(keys) => {
                let mut body: Map<String, Value> = serde_json::from_str(&notification.payload)
                    .map_err(|e| AppError::Internal(e.into()))?;
                body.insert(
                    field::NOTIFY_ID.into(),
                    Value::from(notification.id.to_string()),
                );
                body.insert(field::TIMESTAMP.into(), Value::from(at / 1000));
                match app.sign_for(keys, &mut body) {
                    Ok(()) => {
                        let targets = app.private_targets(&keys.record);
                        let sent = self
                            .inner
                            .sender
                            .post(&notification.notify_url, &body, targets)
                            .await;
                        (sent, true)
                    }
                    Err(error) => {
                        tracing::error!(%error, id = notification.id, "notification not sent");
                        (Delivery::failed("signing failed"), false)
                    }
                }
            }
            None => (Delivery::failed("merchant no longer exists"), false),
        };
        let latency = started.elapsed();
        let verdict = match &delivery.failure {
            None => AttemptVerdict::Delivered,
            Some(_) => {
                let schedule = match &merchant {
                    Some(keys) => keys.notify_schedule.clone(),
                    None => RetrySchedule::notification(),
                };
                let failed_at = app.clock().now_ms();
                match schedule.after_failure(attempt_no as u32, notification.created_at, failed_at)
                {
                    NextAttempt::At(at) => AttemptVerdict::RetryAt(at),
                    NextAttempt::GiveUp => AttemptVerdict::GaveUp,
                }
            }
        };
        let answer = reached_host.then(|| delivery.answer(latency.as_millis() as u64));
        let attempt = AttemptRecord {
            attempt_no,
            at,
            http_status: delivery.http_status,
            latency_ms: latency.as_millis() as i64,
            outcome: delivery.failure.unwrap_or_else(|| "delivered".into()),
            response_excerpt: delivery.excerpt,
            worker: self.inner.settings.worker_id.clone(),
        };
        self.inner.recorder.push(Pending {
            outcome: AttemptOutcome {
                notification_id: notification.id,
                attempt,
                verdict,
            },
            trade_no: notification.trade_no,
        });
        Ok(answer)
    }

    /// Dispatches until shutdown; then stops claiming, lets in-flight deliveries finish, gives
    /// back what was queued and records every outcome (a delivery cut off here is retried by
    /// whoever claims it after the lease).
    pub async fn run(self, shutdown: CancellationToken) {
        let settings = self.inner.settings.clone();
        let recorder = {
            let this = self.clone();
            // Its own token: it must outlive the deliveries still in flight at shutdown.
            let stop = CancellationToken::new();
            let shutdown = stop.clone();
            let handle = tokio::spawn(async move {
                let inner = &this.inner;
                inner
                    .recorder
                    .run(&inner.app, &inner.settings.worker_id, shutdown)
                    .await;
            });
            (handle, stop)
        };
        let mut tasks = JoinSet::new();
        let idle = Duration::from_millis(settings.idle_pause_ms);
        let busy = Duration::from_millis(settings.busy_pause_ms);
        loop {
            while tasks.try_join_next().is_some() {}
            let outcome = self.dispatch(&mut tasks).await.unwrap_or_else(|error| {
                tracing::warn!(%error, "claiming notifications failed");
                Outcome::Idle
            });
            match outcome {
                Outcome::DidWork(_) => tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(busy) => {}
                },
                Outcome::Idle => tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = self.inner.slot_freed.notified() => {}
                    () = self.inner.app.outbox_written() => {}
                    () = tokio::time::sleep(idle) => {}
                },
            }
        }
        while tasks.join_next().await.is_some() {}
        self.hosts().drain_queues();
        if let Err(error) = self.release_surplus().await {
            tracing::warn!(%error, "giving back queued notifications failed; their leases expire");
        }
        let (handle, stop) = recorder;
        stop.cancel();
        let _ = handle.await;
    }
}
