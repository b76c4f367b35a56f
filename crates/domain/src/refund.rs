//! The refund lifecycle (DESIGN §4): `PROCESSING → {SUCCESS, FAIL}`.

use serde::{Deserialize, Serialize};

crate::text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum RefundStatus, unknown(text) => format!("unknown refund status {text:?}"), String {
        Processing = "PROCESSING",
        Success = "SUCCESS",
        Fail = "FAIL",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundEvent {
    Succeeded,
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("refund in state {from:?} cannot take event {event:?}")]
pub struct RefundTransitionError {
    pub from: RefundStatus,
    pub event: RefundEvent,
}

impl RefundStatus {
    pub fn apply(self, event: RefundEvent) -> Result<RefundStatus, RefundTransitionError> {
        match (self, event) {
            (RefundStatus::Processing, RefundEvent::Succeeded) => Ok(RefundStatus::Success),
            (RefundStatus::Processing, RefundEvent::Failed) => Ok(RefundStatus::Fail),
            (from, event) => Err(RefundTransitionError { from, event }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_processing_refund_can_finish() {
        use RefundEvent::*;
        use RefundStatus::*;
        assert_eq!(Processing.apply(Succeeded), Ok(Success));
        assert_eq!(Processing.apply(Failed), Ok(Fail));
        for from in [Success, Fail] {
            for event in [Succeeded, Failed] {
                assert_eq!(
                    from.apply(event),
                    Err(RefundTransitionError { from, event })
                );
            }
        }
    }

    #[test]
    fn status_text_round_trips() {
        for status in RefundStatus::ALL {
            assert_eq!(status.as_str().parse::<RefundStatus>(), Ok(status));
        }
    }
}
