//! What operators need to see and do about notifications and anomalies (seed 000 §2.9): every
//! notification of an order with every attempt, a re-send now, and the open anomalies.

use crate::{App, AppError};
use paygate_api::admin::{Anomaly, Attempt, Notification};
use paygate_api::format_time;
use paygate_domain::TradeNo;
use paygate_store::{AttemptRecord, NotificationRecord};

pub const ANOMALIES_LISTED_MAX: i64 = 500;

fn attempt(a: &AttemptRecord) -> Attempt {
    Attempt {
        attempt_no: a.attempt_no,
        at: format_time(a.at),
        http_status: a.http_status,
        latency_ms: a.latency_ms,
        outcome: a.outcome.clone(),
        response_excerpt: a.response_excerpt.clone(),
        worker: a.worker.clone(),
    }
}

fn notification(n: &NotificationRecord, attempts: &[AttemptRecord]) -> Notification {
    Notification {
        id: n.id,
        trade_no: n.trade_no.as_str().into(),
        merchant_id: n.merchant_id.as_str().into(),
        kind: n.kind.clone(),
        notify_url: n.notify_url.clone(),
        status: n.status.as_str().into(),
        attempts: n.attempts,
        next_attempt_at: format_time(n.next_attempt_at),
        last_error: n.last_error.clone(),
        created_at: format_time(n.created_at),
        finished_at: n.finished_at.map(format_time),
        attempt_log: attempts.iter().map(attempt).collect(),
    }
}

impl App {
    /// Every notification of an order, each with its attempts, for the API and CLI.
    pub async fn order_notifications(
        &self,
        trade_no: &TradeNo,
    ) -> Result<Vec<Notification>, AppError> {
        let mut out = Vec::new();
        for n in self.store().notifications_for_trade(trade_no).await? {
            let attempts = self.store().notification_attempts(n.id).await?;
            out.push(notification(&n, &attempts));
        }
        Ok(out)
    }

    /// Makes a notification due now, whatever its state; the notifier sends it on its next step.
    pub async fn resend_notification(&self, id: i64) -> Result<Notification, AppError> {
        let now = self.clock().now_ms();
        if !self.store().resend_notification(id, now).await? {
            return Err(AppError::param("id", "no such notification"));
        }
        let n = self
            .store()
            .get_notification(id)
            .await?
            .ok_or_else(|| AppError::param("id", "no such notification"))?;
        let attempts = self.store().notification_attempts(id).await?;
        Ok(notification(&n, &attempts))
    }

    pub async fn anomalies(&self) -> Result<Vec<Anomaly>, AppError> {
        let rows = self.store().open_anomalies(ANOMALIES_LISTED_MAX).await?;
        Ok(rows
            .into_iter()
            .map(|a| Anomaly {
                trade_no: a.trade_no.to_string(),
                kind: a.kind,
                detail: a.detail,
                detected_at: format_time(a.detected_at_ms),
            })
            .collect())
    }
}
