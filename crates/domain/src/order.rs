//! The order lifecycle (DESIGN §4). `OrderStatus::apply` is the only place a transition is
//! decided; stores persist its result with a compare-and-set on the previous status.

use serde::{Deserialize, Serialize};

crate::text_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum OrderStatus, unknown(text) => format!("unknown order status {text:?}"), String {
        Created = "CREATED",
        WaitPay = "WAIT_PAY",
        /// Micropay: the payer is confirming on their phone; still unpaid.
        UserPaying = "USERPAYING",
        Success = "SUCCESS",
        PartialRefund = "PARTIAL_REFUND",
        Refund = "REFUND",
        Closed = "CLOSED",
    }
}

/// What happened to an order. A partner's after-sale close is no event of its own: it never
/// closes a paid order, and closes an unpaid one as `Closed` does (`partner` has its rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderEvent {
    /// The order was handed to a channel (or the cashier) and awaits the payer.
    Submitted,
    /// The channel says the payer is confirming (micropay password entry).
    PayerConfirming,
    /// The channel confirmed payment.
    Paid,
    /// Closed unpaid: by the merchant, by expiry, or by a definitive payment failure.
    Closed,
    /// A refund succeeded; `fully_refunded` says whether nothing refundable remains.
    Refunded { fully_refunded: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("order in state {from} cannot take event {event:?}")]
pub struct TransitionError {
    pub from: OrderStatus,
    pub event: OrderEvent,
}

impl OrderStatus {
    pub fn apply(self, event: OrderEvent) -> Result<OrderStatus, TransitionError> {
        use OrderEvent as E;
        use OrderStatus as S;
        let next = match (self, event) {
            (S::Created, E::Submitted) => S::WaitPay,
            (S::WaitPay, E::PayerConfirming) => S::UserPaying,
            (S::Created | S::WaitPay | S::UserPaying, E::Paid) => S::Success,
            (S::Created | S::WaitPay | S::UserPaying, E::Closed) => S::Closed,
            (S::Success | S::PartialRefund, E::Refunded { fully_refunded }) => {
                if fully_refunded {
                    S::Refund
                } else {
                    S::PartialRefund
                }
            }
            (from, event) => return Err(TransitionError { from, event }),
        };
        Ok(next)
    }

    pub fn is_paid(self) -> bool {
        matches!(
            self,
            OrderStatus::Success | OrderStatus::PartialRefund | OrderStatus::Refund
        )
    }

    pub fn is_unpaid_open(self) -> bool {
        matches!(
            self,
            OrderStatus::Created | OrderStatus::WaitPay | OrderStatus::UserPaying
        )
    }
}

crate::text_enum! {
    /// How the merchant asks to be paid: a channel's product for one scenario (DESIGN §1).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "snake_case")]
    pub enum PayType, unknown(text) => format!("unknown pay_type {text:?}"), String {
        /// The platform's own stored-value wallet (member and gift cards, seed 004).
        Wallet = "wallet",
        /// WeChat Pay inside WeChat: an official account page or a mini program.
        WechatJsapi = "wechat_jsapi",
        /// WeChat Pay by a QR code the payer scans (C scans B).
        WechatNative = "wechat_native",
        /// WeChat Pay from a mobile browser outside WeChat.
        WechatH5 = "wechat_h5",
        /// WeChat Pay from the merchant's own app.
        WechatApp = "wechat_app",
        /// WeChat Pay by the payer's pay code, scanned by the merchant (B scans C).
        WechatMicropay = "wechat_micropay",
        /// Alipay by a QR code the payer scans (`alipay.trade.precreate`).
        AlipayNative = "alipay_native",
        /// Alipay inside Alipay: a mini program or life page, for a known `buyer_id`
        /// (`alipay.trade.create`).
        AlipayJsapi = "alipay_jsapi",
        /// Alipay from a mobile browser (`alipay.trade.wap.pay`).
        AlipayH5 = "alipay_h5",
        /// Alipay from a desktop browser (`alipay.trade.page.pay`).
        AlipayPc = "alipay_pc",
        /// Alipay from the merchant's own app (`alipay.trade.app.pay`).
        AlipayApp = "alipay_app",
        /// Alipay by the payer's pay code or face (`alipay.trade.pay`, B scans C).
        AlipayMicropay = "alipay_micropay",
        /// UnionPay online payment from a desktop browser (front consume, `channelType=07`).
        UnionpayWeb = "unionpay_web",
        /// UnionPay from a mobile browser (front consume, `channelType=08`).
        UnionpayH5 = "unionpay_h5",
        /// UnionPay from the merchant's own app (the control's `tn`).
        UnionpayApp = "unionpay_app",
        /// UnionPay by a QR code the payer scans with any UnionPay QR app (C scans B).
        UnionpayNative = "unionpay_native",
        /// UnionPay by the payer's pay code (云闪付 payment code, B scans C).
        UnionpayMicropay = "unionpay_micropay",
        /// Aggregated: the channel is decided by the payer's code (micropay) or app (the
        /// aggregated QR opens the cashier), never by the merchant.
        Auto = "auto",
    }
}

/// How an order of a pay type is paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayFlow {
    /// The payer picks in our cashier, or presents a pay code (the wallet).
    Cashier,
    /// The channel opens a trade the payer completes on their device.
    Prepare(Scene),
    /// Charged at once with the payer's pay code, which the request must carry.
    PayCode,
}

/// The device scenario of a prepared trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scene {
    Jsapi,
    Native,
    H5,
    App,
    /// A desktop browser sent to the channel's own payment page.
    Web,
}

impl PayType {
    pub fn flow(self) -> PayFlow {
        match self {
            PayType::Wallet => PayFlow::Cashier,
            PayType::WechatJsapi | PayType::AlipayJsapi => PayFlow::Prepare(Scene::Jsapi),
            PayType::WechatNative
            | PayType::AlipayNative
            | PayType::UnionpayNative
            | PayType::Auto => PayFlow::Prepare(Scene::Native),
            PayType::WechatH5 | PayType::AlipayH5 | PayType::UnionpayH5 => {
                PayFlow::Prepare(Scene::H5)
            }
            PayType::WechatApp | PayType::AlipayApp | PayType::UnionpayApp => {
                PayFlow::Prepare(Scene::App)
            }
            PayType::AlipayPc | PayType::UnionpayWeb => PayFlow::Prepare(Scene::Web),
            PayType::WechatMicropay | PayType::AlipayMicropay | PayType::UnionpayMicropay => {
                PayFlow::PayCode
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderEvent as E;
    use OrderStatus as S;

    const EVENTS: [OrderEvent; 6] = [
        E::Submitted,
        E::PayerConfirming,
        E::Paid,
        E::Closed,
        E::Refunded {
            fully_refunded: false,
        },
        E::Refunded {
            fully_refunded: true,
        },
    ];

    /// Every (state, event) pair that is allowed, with its result; everything else is refused.
    const ALLOWED: &[(OrderStatus, OrderEvent, OrderStatus)] = &[
        (S::Created, E::Submitted, S::WaitPay),
        (S::Created, E::Paid, S::Success),
        (S::Created, E::Closed, S::Closed),
        (S::WaitPay, E::PayerConfirming, S::UserPaying),
        (S::WaitPay, E::Paid, S::Success),
        (S::WaitPay, E::Closed, S::Closed),
        (S::UserPaying, E::Paid, S::Success),
        (S::UserPaying, E::Closed, S::Closed),
        (
            S::Success,
            E::Refunded {
                fully_refunded: false,
            },
            S::PartialRefund,
        ),
        (
            S::Success,
            E::Refunded {
                fully_refunded: true,
            },
            S::Refund,
        ),
        (
            S::PartialRefund,
            E::Refunded {
                fully_refunded: false,
            },
            S::PartialRefund,
        ),
        (
            S::PartialRefund,
            E::Refunded {
                fully_refunded: true,
            },
            S::Refund,
        ),
    ];

    #[test]
    fn every_state_and_event_pair_follows_the_table() {
        for from in OrderStatus::ALL {
            for event in EVENTS {
                let expected = ALLOWED
                    .iter()
                    .find(|(f, e, _)| *f == from && *e == event)
                    .map(|(_, _, to)| *to);
                match (from.apply(event), expected) {
                    (Ok(to), Some(want)) => assert_eq!(to, want, "{from} + {event:?}"),
                    (Err(err), None) => assert_eq!(err, TransitionError { from, event }),
                    (got, want) => panic!("{from} + {event:?}: got {got:?}, want {want:?}"),
                }
            }
        }
    }

    #[test]
    fn a_paid_order_cannot_be_closed_by_the_merchant() {
        assert!(S::Success.apply(E::Closed).is_err());
        assert!(S::PartialRefund.apply(E::Closed).is_err());
    }

    #[test]
    fn terminal_states_take_no_event() {
        for from in [S::Refund, S::Closed] {
            assert!(EVENTS.iter().all(|e| from.apply(*e).is_err()));
        }
    }

    /// The ledger relies on this: a payment is posted only with the PAID change, and no status
    /// reached after it (or after a close) can be paid again.
    #[test]
    fn no_sequence_of_events_pays_an_order_twice() {
        let mut after_paid = vec![S::Success];
        let mut seen = Vec::new();
        while let Some(status) = after_paid.pop() {
            if seen.contains(&status) {
                continue;
            }
            seen.push(status);
            assert!(status.apply(E::Paid).is_err(), "{status} can be paid again");
            after_paid.extend(EVENTS.iter().filter_map(|e| status.apply(*e).ok()));
        }
        seen.sort_by_key(|s| s.as_str());
        assert_eq!(seen, vec![S::PartialRefund, S::Refund, S::Success]);
    }

    #[test]
    fn status_text_round_trips() {
        for status in OrderStatus::ALL {
            assert_eq!(status.as_str().parse::<OrderStatus>(), Ok(status));
        }
    }
}
