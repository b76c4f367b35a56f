//! Fault injection (`POST /sandbox/faults`, `DELETE /sandbox/faults`). A fault applies to the
//! next `calls` matching events (default 1): API faults (`timeout`, `server_error`, `down`) to API
//! requests, callback faults to callbacks, `refund_abnormal` to refunds settling. With
//! `out_trade_no` it matches only that trade.

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::time::Duration;

use crate::callbacks::{Event, Plan};
use crate::{App, BODY_BYTES_MAX};

/// A timeout holds its answer this long unless told otherwise.
pub const TIMEOUT_DELAY_MS_DEFAULT: u64 = 30_000;
/// Faults armed at once; more are refused until some are spent or cleared.
pub const ARMED_MAX: usize = 256;
/// A late callback waits this long unless told otherwise.
pub const LATE_DELAY_MS_DEFAULT: u64 = 5_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    Timeout,
    ServerError,
    Down,
    DuplicateCallback,
    LateCallback,
    OutOfOrderCallbacks,
    ForgedCallback,
    NoCallback,
    /// The trade's next refund ends ABNORMAL (the money could not reach the payer).
    RefundAbnormal,
}

/// What a fault bends: API requests, callbacks or refunds; each counts its own events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Api,
    Callback,
    Refund,
}

impl FaultKind {
    fn class(self) -> Class {
        match self {
            FaultKind::Timeout | FaultKind::ServerError | FaultKind::Down => Class::Api,
            FaultKind::RefundAbnormal => Class::Refund,
            FaultKind::DuplicateCallback
            | FaultKind::LateCallback
            | FaultKind::OutOfOrderCallbacks
            | FaultKind::ForgedCallback
            | FaultKind::NoCallback => Class::Callback,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRequest {
    pub fault: FaultKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_trade_no: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calls: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
}

#[derive(Debug, Clone)]
struct Armed {
    kind: FaultKind,
    out_trade_no: Option<String>,
    calls_left: u32,
    delay_ms: Option<u64>,
}

/// What an API request meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiFault {
    Timeout { delay_ms: u64 },
    ServerError,
    Down,
}

#[derive(Default)]
pub struct Faults {
    armed: Vec<Armed>,
}

impl Faults {
    /// False when `ARMED_MAX` faults are already armed.
    pub fn arm(&mut self, request: FaultRequest) -> bool {
        if self.armed.len() >= ARMED_MAX {
            return false;
        }
        self.armed.push(Armed {
            kind: request.fault,
            out_trade_no: request.out_trade_no,
            calls_left: request.calls.unwrap_or(1).max(1),
            delay_ms: request.delay_ms,
        });
        true
    }

    pub fn clear(&mut self) {
        self.armed.clear();
    }

    /// Uses up the first API fault matching a request about `trade` (if it names one).
    pub fn take_api(&mut self, trade: Option<&str>) -> Option<ApiFault> {
        let armed = self.take_first(|a| a.kind.class() == Class::Api, trade)?;
        Some(match armed.kind {
            FaultKind::Timeout => ApiFault::Timeout {
                delay_ms: armed.delay_ms.unwrap_or(TIMEOUT_DELAY_MS_DEFAULT),
            },
            FaultKind::ServerError => ApiFault::ServerError,
            _ => ApiFault::Down,
        })
    }

    /// Uses up every callback fault matching a callback about `trade`, combined in one plan.
    pub fn take_callback(&mut self, trade: &str, event: Event) -> Plan {
        let mut plan = Plan::default();
        while let Some(armed) = self.take_first(
            |a| {
                let applies = match a.kind {
                    FaultKind::OutOfOrderCallbacks => event == Event::Payment,
                    kind => kind.class() == Class::Callback,
                };
                applies && !plan_has(&plan, a.kind)
            },
            Some(trade),
        ) {
            match armed.kind {
                FaultKind::DuplicateCallback => plan.duplicate = true,
                FaultKind::LateCallback => {
                    plan.late_ms = Some(armed.delay_ms.unwrap_or(LATE_DELAY_MS_DEFAULT))
                }
                FaultKind::OutOfOrderCallbacks => plan.hold_until_refund = true,
                FaultKind::ForgedCallback => plan.forged_first = true,
                FaultKind::NoCallback => plan.skip = true,
                FaultKind::Timeout
                | FaultKind::ServerError
                | FaultKind::Down
                | FaultKind::RefundAbnormal => {}
            }
        }
        plan
    }

    /// Whether a refund of `trade` settling now is to end ABNORMAL (uses the fault up).
    pub fn take_refund_abnormal(&mut self, trade: &str) -> bool {
        self.take_first(|a| a.kind.class() == Class::Refund, Some(trade))
            .is_some()
    }

    fn take_first(
        &mut self,
        wanted: impl Fn(&Armed) -> bool,
        trade: Option<&str>,
    ) -> Option<Armed> {
        let index = self.armed.iter().position(|a| {
            wanted(a)
                && match &a.out_trade_no {
                    Some(scoped) => trade == Some(scoped.as_str()),
                    None => true,
                }
        })?;
        let armed = &mut self.armed[index];
        armed.calls_left -= 1;
        let taken = armed.clone();
        if armed.calls_left == 0 {
            self.armed.remove(index);
        }
        Some(taken)
    }
}

fn plan_has(plan: &Plan, kind: FaultKind) -> bool {
    match kind {
        FaultKind::DuplicateCallback => plan.duplicate,
        FaultKind::LateCallback => plan.late_ms.is_some(),
        FaultKind::OutOfOrderCallbacks => plan.hold_until_refund,
        FaultKind::ForgedCallback => plan.forged_first,
        FaultKind::NoCallback => plan.skip,
        FaultKind::Timeout
        | FaultKind::ServerError
        | FaultKind::Down
        | FaultKind::RefundAbnormal => true,
    }
}

pub async fn arm(State(app): State<App>, Json(request): Json<FaultRequest>) -> Response {
    if !app.faults().arm(request.clone()) {
        let message = format!("at most {ARMED_MAX} faults are armed at once");
        return crate::v3::V3Error::invalid(message).into_response();
    }
    tracing::info!(?request, "sandbox fault armed");
    (StatusCode::CREATED, Json(request)).into_response()
}

pub async fn clear(State(app): State<App>) -> StatusCode {
    app.faults().clear();
    StatusCode::NO_CONTENT
}

/// Middleware over the API routes: applies the API fault this request meets, if any.
pub async fn layer(State(app): State<App>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, BODY_BYTES_MAX).await else {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    };
    let trade = app.trade_named_by(parts.uri.path(), &bytes);
    let fault = app.faults().take_api(trade.as_deref());
    let v2 = !parts.uri.path().starts_with("/v3/");
    let request = Request::from_parts(parts, Body::from(bytes));
    match fault {
        None => next.run(request).await,
        Some(ApiFault::Down) => {
            (StatusCode::SERVICE_UNAVAILABLE, "service unavailable").into_response()
        }
        Some(ApiFault::ServerError) if v2 => crate::v2::system_error(),
        Some(ApiFault::ServerError) => crate::v3::V3Error::system().into_response(),
        Some(ApiFault::Timeout { delay_ms }) => {
            let answer = next.run(request).await;
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(delay_ms)) => {}
                () = app.cancel.cancelled() => {}
            }
            answer
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(fault: FaultKind, trade: Option<&str>, calls: Option<u32>) -> FaultRequest {
        FaultRequest {
            fault,
            out_trade_no: trade.map(str::to_owned),
            calls,
            delay_ms: None,
        }
    }

    #[test]
    fn an_api_fault_applies_to_its_next_n_calls_then_is_spent() {
        let mut faults = Faults::default();
        faults.arm(request(FaultKind::ServerError, None, Some(2)));
        assert_eq!(faults.take_api(Some("A")), Some(ApiFault::ServerError));
        assert_eq!(faults.take_api(None), Some(ApiFault::ServerError));
        assert_eq!(faults.take_api(Some("A")), None);
    }

    #[test]
    fn a_trade_scoped_fault_leaves_other_trades_alone() {
        let mut faults = Faults::default();
        faults.arm(request(FaultKind::Down, Some("T1"), None));
        assert_eq!(faults.take_api(Some("T2")), None);
        assert_eq!(faults.take_api(None), None);
        assert_eq!(faults.take_api(Some("T1")), Some(ApiFault::Down));
        assert_eq!(faults.take_api(Some("T1")), None);
    }

    #[test]
    fn callback_faults_combine_and_out_of_order_waits_for_a_payment() {
        let mut faults = Faults::default();
        faults.arm(request(FaultKind::DuplicateCallback, Some("T1"), None));
        faults.arm(request(FaultKind::ForgedCallback, None, None));
        faults.arm(request(FaultKind::OutOfOrderCallbacks, Some("T1"), None));
        let refund = faults.take_callback("T1", Event::Refund);
        assert_eq!(
            refund,
            Plan {
                duplicate: true,
                forged_first: true,
                ..Plan::default()
            }
        );
        let payment = faults.take_callback("T1", Event::Payment);
        assert_eq!(
            payment,
            Plan {
                hold_until_refund: true,
                ..Plan::default()
            }
        );
        assert_eq!(faults.take_callback("T1", Event::Payment), Plan::default());
    }
}
