//! Fault injection (`POST /sandbox/faults`, `DELETE /sandbox/faults`), with the WeChat Pay
//! sandbox's JSON. A fault applies to the next `calls` matching events (default 1): API faults
//! (`timeout`, `server_error`, `down`) to gateway calls, notification faults to notifications.
//! With `out_trade_no` it matches only that trade. `refund_abnormal` does not exist here:
//! Alipay's refunds settle within the call.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::App;

/// A timeout holds its answer this long unless told otherwise.
pub const TIMEOUT_DELAY_MS_DEFAULT: u64 = 30_000;
/// Faults armed at once; more are refused until some are spent or cleared.
pub const ARMED_MAX: usize = 256;
/// A late notification waits this long unless told otherwise.
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
}

impl FaultKind {
    fn is_api(self) -> bool {
        matches!(
            self,
            FaultKind::Timeout | FaultKind::ServerError | FaultKind::Down
        )
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
    request: FaultRequest,
    calls_left: u32,
}

/// What a gateway call meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiFault {
    Timeout { delay_ms: u64 },
    ServerError,
    Down,
}

/// Which notification a plan is for: a payment's may be held behind the first refund's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Payment,
    Other,
}

/// How faults bend one notification's delivery.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Plan {
    pub skip: bool,
    pub duplicate: bool,
    pub late_ms: Option<u64>,
    pub forged_first: bool,
    pub hold_until_refund: bool,
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
        let calls_left = request.calls.unwrap_or(1).max(1);
        self.armed.push(Armed {
            request,
            calls_left,
        });
        true
    }

    pub fn clear(&mut self) {
        self.armed.clear();
    }

    /// Uses up the first API fault matching a call about `trade` (if it names one).
    pub fn take_api(&mut self, trade: Option<&str>) -> Option<ApiFault> {
        let taken = self.take_first(|kind| kind.is_api(), trade)?;
        Some(match taken.fault {
            FaultKind::Timeout => ApiFault::Timeout {
                delay_ms: taken.delay_ms.unwrap_or(TIMEOUT_DELAY_MS_DEFAULT),
            },
            FaultKind::ServerError => ApiFault::ServerError,
            _ => ApiFault::Down,
        })
    }

    /// Uses up every notification fault matching a notification about `trade`, combined.
    pub fn take_notification(&mut self, trade: &str, event: Event) -> Plan {
        let mut plan = Plan::default();
        loop {
            let wanted = |kind: FaultKind| match kind {
                FaultKind::OutOfOrderCallbacks => {
                    event == Event::Payment && !plan.hold_until_refund
                }
                FaultKind::DuplicateCallback => !plan.duplicate,
                FaultKind::LateCallback => plan.late_ms.is_none(),
                FaultKind::ForgedCallback => !plan.forged_first,
                FaultKind::NoCallback => !plan.skip,
                FaultKind::Timeout | FaultKind::ServerError | FaultKind::Down => false,
            };
            let Some(taken) = self.take_first(wanted, Some(trade)) else {
                return plan;
            };
            match taken.fault {
                FaultKind::DuplicateCallback => plan.duplicate = true,
                FaultKind::LateCallback => {
                    plan.late_ms = Some(taken.delay_ms.unwrap_or(LATE_DELAY_MS_DEFAULT))
                }
                FaultKind::OutOfOrderCallbacks => plan.hold_until_refund = true,
                FaultKind::ForgedCallback => plan.forged_first = true,
                FaultKind::NoCallback => plan.skip = true,
                FaultKind::Timeout | FaultKind::ServerError | FaultKind::Down => {}
            }
        }
    }

    fn take_first(
        &mut self,
        wanted: impl Fn(FaultKind) -> bool,
        trade: Option<&str>,
    ) -> Option<FaultRequest> {
        let index = self.armed.iter().position(|a| {
            wanted(a.request.fault)
                && match &a.request.out_trade_no {
                    Some(scoped) => trade == Some(scoped.as_str()),
                    None => true,
                }
        })?;
        let armed = &mut self.armed[index];
        armed.calls_left -= 1;
        let taken = armed.request.clone();
        if armed.calls_left == 0 {
            self.armed.remove(index);
        }
        Some(taken)
    }
}

#[derive(Serialize)]
struct ErrorBody {
    code: &'static str,
    message: String,
}

pub async fn arm(State(app): State<App>, Json(request): Json<FaultRequest>) -> Response {
    if !app.faults().arm(request.clone()) {
        let body = ErrorBody {
            code: "INVALID_REQUEST",
            message: format!("at most {ARMED_MAX} faults are armed at once"),
        };
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    }
    tracing::info!(?request, "Alipay sandbox fault armed");
    (StatusCode::CREATED, Json(request)).into_response()
}

pub async fn clear(State(app): State<App>) -> StatusCode {
    app.faults().clear();
    StatusCode::NO_CONTENT
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
    fn an_api_fault_applies_to_its_next_n_calls_and_to_its_trade_only() {
        let mut faults = Faults::default();
        faults.arm(request(FaultKind::ServerError, Some("T1"), Some(2)));
        assert_eq!(faults.take_api(Some("T2")), None);
        assert_eq!(faults.take_api(Some("T1")), Some(ApiFault::ServerError));
        assert_eq!(faults.take_api(Some("T1")), Some(ApiFault::ServerError));
        assert_eq!(faults.take_api(Some("T1")), None);
    }

    #[test]
    fn notification_faults_combine_and_out_of_order_waits_for_a_payment() {
        let mut faults = Faults::default();
        faults.arm(request(FaultKind::DuplicateCallback, Some("T1"), None));
        faults.arm(request(FaultKind::OutOfOrderCallbacks, None, None));
        let other = faults.take_notification("T1", Event::Other);
        assert_eq!(
            other,
            Plan {
                duplicate: true,
                ..Plan::default()
            }
        );
        let payment = faults.take_notification("T1", Event::Payment);
        assert_eq!(
            payment,
            Plan {
                hold_until_refund: true,
                ..Plan::default()
            }
        );
    }
}
