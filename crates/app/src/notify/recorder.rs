//! Attempt outcomes wait here to be recorded many to a commit: while one batch commits, the next
//! gathers, so the batch grows with the load and a lone outcome is written at once (group commit
//! without a timer). Until its outcome is recorded a notification keeps its lease, so no other
//! worker sends it again; a crash before the commit loses the record, never the notification
//! (the lease expires and the merchant is notified again, as at-least-once allows).

use crate::App;
use paygate_domain::TradeNo;
use paygate_store::{AttemptOutcome, AttemptVerdict};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// An outcome and what its log line needs.
pub(super) struct Pending {
    pub(super) outcome: AttemptOutcome,
    pub(super) trade_no: TradeNo,
}

pub(super) struct Recorder {
    pending: Mutex<Vec<Pending>>,
    ready: Notify,
    batch_max: usize,
}

/// A failed commit is tried again after this (its notifications keep their leases meanwhile).
const RETRY_PAUSE: Duration = Duration::from_millis(200);

impl Recorder {
    pub(super) fn new(batch_max: usize) -> Recorder {
        Recorder {
            pending: Mutex::default(),
            ready: Notify::new(),
            batch_max: batch_max.max(1),
        }
    }

    pub(super) fn push(&self, pending: Pending) {
        self.pending.lock().expect("recorder lock").push(pending);
        self.ready.notify_one();
    }

    fn take_batch(&self) -> Vec<Pending> {
        let mut pending = self.pending.lock().expect("recorder lock");
        let n = pending.len().min(self.batch_max);
        pending.drain(..n).collect()
    }

    fn put_back(&self, batch: Vec<Pending>) {
        let mut pending = self.pending.lock().expect("recorder lock");
        let newer = std::mem::replace(&mut *pending, batch);
        pending.extend(newer);
    }

    /// Writes one batch. Returns how many outcomes it took (0: nothing was waiting), or the
    /// error after putting a batch that may succeed later back.
    pub(super) async fn flush_once(&self, app: &App, worker: &str) -> Result<usize, ()> {
        let batch = self.take_batch();
        if batch.is_empty() {
            return Ok(0);
        }
        let outcomes: Vec<AttemptOutcome> = batch.iter().map(|p| p.outcome.clone()).collect();
        match app
            .store()
            .record_notification_attempts(worker, &outcomes)
            .await
        {
            Ok(recorded) => {
                metrics::histogram!("paygate_notify_record_batch_size").record(batch.len() as f64);
                for (pending, recorded) in batch.iter().zip(recorded) {
                    report(pending, recorded);
                }
                Ok(batch.len())
            }
            Err(error) if error.is_transient() => {
                tracing::warn!(%error, n = batch.len(), "recording attempts failed; will retry");
                self.put_back(batch);
                Err(())
            }
            Err(error) => {
                // Not retried: their leases expire and the notifications are sent again.
                tracing::error!(%error, n = batch.len(), "recording attempts failed");
                Err(())
            }
        }
    }

    /// Writes everything waiting, for a test's step or at shutdown.
    pub(super) async fn flush_all(&self, app: &App, worker: &str) {
        loop {
            match self.flush_once(app, worker).await {
                Ok(0) => return,
                Ok(_) => {}
                Err(()) => tokio::time::sleep(RETRY_PAUSE).await,
            }
        }
    }

    /// Records as outcomes arrive until shutdown, then records what is left.
    pub(super) async fn run(&self, app: &App, worker: &str, shutdown: CancellationToken) {
        loop {
            match self.flush_once(app, worker).await {
                Ok(0) => {
                    tokio::select! {
                        () = self.ready.notified() => {}
                        () = shutdown.cancelled() => break,
                    }
                }
                Ok(_) => {}
                Err(()) => tokio::time::sleep(RETRY_PAUSE).await,
            }
        }
        self.flush_all(app, worker).await;
    }

    pub(super) fn waiting(&self) -> usize {
        self.pending.lock().expect("recorder lock").len()
    }
}

fn report(pending: &Pending, recorded: bool) {
    let outcome = &pending.outcome;
    let label = match outcome.verdict {
        AttemptVerdict::Delivered => "delivered",
        AttemptVerdict::RetryAt(_) => "retry",
        AttemptVerdict::GaveUp => "gave_up",
    };
    metrics::counter!("paygate_notify_attempts_total", "result" => label).increment(1);
    if !recorded {
        tracing::warn!(
            id = outcome.notification_id,
            "lease lost before the attempt was recorded"
        );
    } else if outcome.verdict == AttemptVerdict::GaveUp {
        tracing::warn!(id = outcome.notification_id, trade_no = %pending.trade_no,
            reason = ?outcome.attempt.outcome, "gave up notifying the merchant");
    }
}
