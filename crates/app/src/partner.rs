//! Partner order-status sync (issue #10): the partner reports fulfilment, receipt and
//! after-sale closing; each allowed step is recorded once, and an after-sale close closes an
//! order that was never paid.

use crate::{App, AppError, MerchantKeys};
use paygate_domain::{OrderEffect, PartnerStatus, PartnerStep, PartnerStepError};
use paygate_store::{OrderRecord, OrderRef, PartnerStepChange};

/// A partner's report on an order, as the API reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartnerReport {
    pub status: PartnerStatus,
    /// When it happened at the partner, in Unix seconds.
    pub reported_at_secs: Option<i64>,
}

fn refused(error: PartnerStepError) -> AppError {
    AppError::OrderStatus(error.to_string())
}

impl App {
    /// Applies a partner's report: refused (1004, nothing written) unless both the partner
    /// status and the order allow it; a repeat answers as the order stands. Returns the order
    /// and its partner status afterwards.
    pub async fn report_partner_status(
        &self,
        merchant: &MerchantKeys,
        by: &OrderRef,
        report: PartnerReport,
    ) -> Result<(OrderRecord, PartnerStatus), AppError> {
        let order = self.find_order(merchant, by).await?;
        let current = self.partner_status_of(&order).await?;
        if current.report(report.status).map_err(refused)? == PartnerStep::Repeat {
            return Ok((order, current));
        }
        let order = match report.status.order_effect(order.status).map_err(refused)? {
            OrderEffect::Keep => order,
            OrderEffect::CloseUnpaid => {
                // Closed as the merchant's own close closes it: at the channel too, and silently.
                self.close_found_order(order).await?
            }
        };
        let change = PartnerStepChange {
            trade_no: order.trade_no.clone(),
            from: current,
            to: report.status,
            reported_at_secs: report.reported_at_secs,
            recorded_at_ms: self.clock().now_ms(),
        };
        if !self.store().record_partner_step(&change).await? {
            // Another report moved the status first: the same step is a repeat, any other
            // a step this one no longer follows.
            let now = self.partner_status_of(&order).await?;
            if now != report.status {
                return Err(refused(PartnerStepError::OutOfOrder {
                    from: now,
                    to: report.status,
                }));
            }
        }
        Ok((self.reload(&order.trade_no).await?, report.status))
    }

    async fn partner_status_of(&self, order: &OrderRecord) -> Result<PartnerStatus, AppError> {
        self.store()
            .partner_status(&order.trade_no)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("order {} vanished", order.trade_no)))
    }
}
