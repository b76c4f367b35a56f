//! The merchant requests as the use cases take them: the wire types of `paygate_api`, read and
//! checked there field by field (error 1001), plus the rules only the app can judge, such as
//! which addresses a merchant may be notified at.

use crate::notify::target::literal_ip;
use crate::AppError;
use paygate_api::field;
use paygate_api::FieldError;
use paygate_domain::address::PrivateTargets;
use paygate_store::{OrderRef, RefundRef};

/// A refund as the merchant asks for it.
pub use paygate_api::Refund as RefundOrder;
pub use paygate_api::{ApiRequest, CloseOrder, CreateOrder, QueryOrder, QueryRefund};
pub use paygate_api::{CreatePayout, QueryPayout};

impl From<FieldError> for AppError {
    fn from(error: FieldError) -> AppError {
        AppError::Param {
            field: error.field,
            reason: error.reason,
        }
    }
}

/// Refuses a `notify_url` or `return_url` whose host is a literal address outside the public
/// internet (1001 naming the field) unless `targets` allows it. A host name is checked when a
/// notification is delivered, on the addresses it then resolves to.
pub fn check_targets(cmd: &CreateOrder, targets: PrivateTargets) -> Result<(), AppError> {
    let urls = [
        (field::NOTIFY_URL, Some(&cmd.notify_url)),
        (field::RETURN_URL, cmd.return_url.as_ref()),
    ];
    for (field, url) in urls {
        if let Some(ip) = url.and_then(|url| literal_ip(url)) {
            targets
                .check(ip)
                .map_err(|e| AppError::param(field, format!("must not point at {e}")))?;
        }
    }
    Ok(())
}

/// The store's key for the order a request names.
pub fn order_ref(by: &paygate_api::OrderRef) -> OrderRef {
    match by {
        paygate_api::OrderRef::TradeNo(no) => OrderRef::TradeNo(no.clone()),
        paygate_api::OrderRef::OutTradeNo(no) => OrderRef::OutTradeNo(no.clone()),
    }
}

/// The store's key for the refund a request names.
pub fn refund_ref(by: &QueryRefund) -> RefundRef {
    match by {
        QueryRefund::RefundNo(no) => RefundRef::RefundNo(no.clone()),
        QueryRefund::OutRefundNo(no) => RefundRef::OutRefundNo(no.clone()),
    }
}

/// The store's key for the payout a request names.
pub fn payout_ref(by: &QueryPayout) -> paygate_store::PayoutRef {
    match by {
        QueryPayout::PayoutNo(no) => paygate_store::PayoutRef::PayoutNo(no.clone()),
        QueryPayout::OutPayoutNo(no) => paygate_store::PayoutRef::OutPayoutNo(no.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paygate_domain::{Currency, Money, OutTradeNo};

    fn create(field: &str, url: &str) -> CreateOrder {
        let mut cmd = CreateOrder::new(
            OutTradeNo::parse("T1").unwrap(),
            Money::parse("10.00", Currency::Cny).unwrap(),
            "tea",
            "https://shop.example/notify",
        );
        match field {
            "notify_url" => cmd.notify_url = url.into(),
            _ => cmd.return_url = Some(url.into()),
        }
        cmd
    }

    fn refused_field(result: Result<(), AppError>) -> String {
        match result {
            Err(AppError::Param { field, .. }) => field,
            other => panic!("expected a parameter error, got {other:?}"),
        }
    }

    #[test]
    fn a_literal_private_address_is_refused_naming_its_field_unless_allowed() {
        for url in [
            "http://127.0.0.1/x",
            "http://0x7f.1/",
            "http://2130706433/",
            "http://10.0.0.1/",
            "http://169.254.169.254/latest",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
        ] {
            for field in ["notify_url", "return_url"] {
                let cmd = create(field, url);
                let refused = check_targets(&cmd, PrivateTargets::Refused);
                assert_eq!(refused_field(refused), field, "{url}");
                assert!(
                    check_targets(&cmd, PrivateTargets::Allowed).is_ok(),
                    "{url}"
                );
            }
        }
        let public = create("return_url", "https://shop.example/done");
        assert!(check_targets(&public, PrivateTargets::Refused).is_ok());
        // A host name is judged on what it resolves to, at delivery.
        let named = create("notify_url", "http://localhost:9/n");
        assert!(check_targets(&named, PrivateTargets::Refused).is_ok());
    }
}
