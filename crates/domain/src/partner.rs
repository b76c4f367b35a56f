//! The partner's view of an order's fulfilment (seed 000 §五, issue #10): what the partner
//! reports, which reports are allowed in what order, and what each needs of our order.

use crate::order::OrderStatus;
use serde::{Deserialize, Serialize};

crate::text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum PartnerStatus, unknown(text) => format!("unknown partner_status {text:?}"), String {
        /// Nothing reported yet.
        None = "NONE",
        /// The partner shipped or otherwise fulfilled the order.
        Fulfilled = "FULFILLED",
        /// The user confirmed receipt.
        Received = "RECEIVED",
        /// The partner closed the order after sale.
        AfterSaleClosed = "AFTER_SALE_CLOSED",
    }
}

/// Whether a report moves the partner status or repeats the one it is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartnerStep {
    /// A new step: recorded.
    Advance,
    /// The step already taken: answered as it stands, nothing recorded.
    Repeat,
}

/// What an allowed step does to our order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderEffect {
    /// The order stays as it is.
    Keep,
    /// The order was never paid and is closed, as the merchant's own close closes it.
    CloseUnpaid,
}

/// A report the rules refuse (answered as 1004).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PartnerStepError {
    #[error("partner_status {from} cannot become {to}")]
    OutOfOrder {
        from: PartnerStatus,
        to: PartnerStatus,
    },
    #[error("order is {order} and cannot be reported {to}")]
    OrderState {
        order: OrderStatus,
        to: PartnerStatus,
    },
}

impl PartnerStatus {
    /// The one transition function of the partner status.
    pub fn report(self, to: PartnerStatus) -> Result<PartnerStep, PartnerStepError> {
        use PartnerStatus as P;
        match (self, to) {
            (from, to) if from == to && to != P::None => Ok(PartnerStep::Repeat),
            (P::None, P::Fulfilled)
            | (P::Fulfilled, P::Received)
            | (P::None | P::Fulfilled | P::Received, P::AfterSaleClosed) => {
                Ok(PartnerStep::Advance)
            }
            (from, to) => Err(PartnerStepError::OutOfOrder { from, to }),
        }
    }

    /// What reaching this status needs of an order in `order`, and does to it. Fulfilment and
    /// receipt need a paid order; an after-sale close needs one fully refunded or never paid,
    /// never one that still holds the payer's money.
    pub fn order_effect(self, order: OrderStatus) -> Result<OrderEffect, PartnerStepError> {
        use OrderStatus as S;
        use PartnerStatus as P;
        match (self, order) {
            (P::Fulfilled | P::Received, S::Success | S::PartialRefund) => Ok(OrderEffect::Keep),
            (P::AfterSaleClosed, S::Refund | S::Closed) => Ok(OrderEffect::Keep),
            (P::AfterSaleClosed, S::Created | S::WaitPay | S::UserPaying) => {
                Ok(OrderEffect::CloseUnpaid)
            }
            (to, order) => Err(PartnerStepError::OrderState { order, to }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PartnerStatus as P;

    /// Every step that advances; a repeat of a reported status is a no-op; all else is refused.
    const ADVANCES: &[(PartnerStatus, PartnerStatus)] = &[
        (P::None, P::Fulfilled),
        (P::Fulfilled, P::Received),
        (P::None, P::AfterSaleClosed),
        (P::Fulfilled, P::AfterSaleClosed),
        (P::Received, P::AfterSaleClosed),
    ];

    #[test]
    fn every_partner_step_follows_the_table() {
        for from in PartnerStatus::ALL {
            for to in PartnerStatus::ALL {
                let want = if ADVANCES.contains(&(from, to)) {
                    Ok(PartnerStep::Advance)
                } else if from == to && to != P::None {
                    Ok(PartnerStep::Repeat)
                } else {
                    Err(PartnerStepError::OutOfOrder { from, to })
                };
                assert_eq!(from.report(to), want, "{from} -> {to}");
            }
        }
    }

    #[test]
    fn fulfilment_and_receipt_need_a_paid_order() {
        for to in [P::Fulfilled, P::Received] {
            for order in OrderStatus::ALL {
                let want = match order {
                    OrderStatus::Success | OrderStatus::PartialRefund => Ok(OrderEffect::Keep),
                    _ => Err(PartnerStepError::OrderState { order, to }),
                };
                assert_eq!(to.order_effect(order), want, "{to} on {order}");
            }
        }
    }

    #[test]
    fn an_after_sale_close_never_closes_an_order_holding_the_payers_money() {
        use OrderStatus as S;
        let cases = [
            (S::Created, Ok(OrderEffect::CloseUnpaid)),
            (S::WaitPay, Ok(OrderEffect::CloseUnpaid)),
            (S::UserPaying, Ok(OrderEffect::CloseUnpaid)),
            (S::Closed, Ok(OrderEffect::Keep)),
            (S::Refund, Ok(OrderEffect::Keep)),
            (S::Success, Err(())),
            (S::PartialRefund, Err(())),
        ];
        assert_eq!(cases.len(), OrderStatus::ALL.len());
        for (order, want) in cases {
            let want = want.map_err(|()| PartnerStepError::OrderState {
                order,
                to: P::AfterSaleClosed,
            });
            assert_eq!(P::AfterSaleClosed.order_effect(order), want, "{order}");
        }
        assert!(P::None.order_effect(S::Success).is_err());
    }

    #[test]
    fn partner_status_text_round_trips() {
        for status in PartnerStatus::ALL {
            assert_eq!(status.as_str().parse::<PartnerStatus>(), Ok(status));
        }
        assert_eq!(
            "SHIPPED".parse::<PartnerStatus>(),
            Err("unknown partner_status \"SHIPPED\"".to_string())
        );
    }
}
