//! The aggregated QR code (聚合码, DESIGN §6, seed 004): one code for an order, scanned by any
//! wallet's app. Its content is the order's cashier link; the app that opens it decides the
//! way (Alipay's → Alipay, UnionPay's → UnionPay), and from then on the order is carried by that
//! way's channel. The payer's app decides, never the merchant, and only once: a second app
//! opening the same code after the first chose is told which way the order is being paid.

use crate::cashier::WayChoice;
use crate::{App, AppError};
use async_trait::async_trait;
use paygate_channels::{
    Channel, ChannelError, ChannelInfo, PayOutcome, PayRequest, PrepareRequest, Prepared,
    RefundOutcome, RefundRequest, Scenario, TradeState,
};
use paygate_domain::{Currency, OrderRecord, PayType, RefundNo, TradeNo};

/// A wallet app a payer scanned the code with, as the cashier recognises it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayerApp {
    Alipay,
    Unionpay,
    Wechat,
}

impl PayerApp {
    /// The app a browser's `User-Agent` belongs to: each wallet's in-app browser names itself
    /// (`AlipayClient`, `UnionPay/`, `MicroMessenger`).
    pub fn of_user_agent(user_agent: &str) -> Option<PayerApp> {
        if user_agent.contains("AlipayClient") {
            Some(PayerApp::Alipay)
        } else if user_agent.contains("UnionPay/") {
            Some(PayerApp::Unionpay)
        } else if user_agent.contains("MicroMessenger") {
            Some(PayerApp::Wechat)
        } else {
            None
        }
    }

    /// The way this app pays an aggregated order: its wallet's mobile-browser payment. WeChat
    /// pays inside its browser only by JSAPI, which needs the payer's openid from WeChat's
    /// sign-in (OAuth), which the cashier does not do yet.
    fn way(self) -> Option<PayType> {
        match self {
            PayerApp::Alipay => Some(PayType::AlipayH5),
            PayerApp::Unionpay => Some(PayType::UnionpayH5),
            PayerApp::Wechat => None,
        }
    }
}

/// The channel behind `pay_type=auto`: it opens no trade anywhere, and answers the cashier link
/// as the QR code's content. A way's own channel takes over once the payer's app chose.
pub(crate) struct AggregatedQr {
    pub(crate) public_url: String,
}

#[async_trait]
impl Channel for AggregatedQr {
    fn info(&self) -> ChannelInfo {
        ChannelInfo {
            name: "aggregated",
            currencies: &[Currency::Cny],
            pays_at_once: false,
            rules: None,
        }
    }

    async fn pay(&self, _request: &PayRequest) -> Result<PayOutcome, ChannelError> {
        Err(ChannelError::Unsupported)
    }

    /// Nothing is open at any channel until an app chooses, so there is nothing to settle.
    async fn query(&self, _trade_no: &TradeNo) -> Result<TradeState, ChannelError> {
        Ok(TradeState::WaitingPayment)
    }

    async fn close(&self, _trade_no: &TradeNo) -> Result<(), ChannelError> {
        Ok(())
    }

    async fn refund(&self, _request: &RefundRequest) -> Result<RefundOutcome, ChannelError> {
        Err(ChannelError::Unsupported)
    }

    async fn query_refund(
        &self,
        _refund_no: &RefundNo,
        _trade_no: &TradeNo,
    ) -> Result<RefundOutcome, ChannelError> {
        Err(ChannelError::Unsupported)
    }

    async fn prepare(&self, request: &PrepareRequest) -> Result<Prepared, ChannelError> {
        match request.scenario {
            Scenario::Native => Ok(Prepared::CodeUrl(paygate_api::order::pay_url(
                &self.public_url,
                &request.trade_no,
            ))),
            _ => Err(ChannelError::Unsupported),
        }
    }
}

impl App {
    /// The payer's app opened an aggregated order's code: its way is chosen in the cashier's
    /// name (`cashier_choose`), once; opening it again in the same app lands on the same trade.
    pub async fn choose_way(
        &self,
        trade_no: &TradeNo,
        app: PayerApp,
    ) -> Result<OrderRecord, AppError> {
        let Some(way) = app.way() else {
            return Err(AppError::pay_type_not_enabled(PayType::WechatJsapi));
        };
        self.cashier_choose(
            trade_no,
            WayChoice {
                way,
                installments: None,
                payer_id: None,
            },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_wallets_in_app_browser_is_recognised_by_its_user_agent() {
        let alipay = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 \
                      (KHTML, like Gecko) Mobile/15E148 AlipayClient/10.5.36.6000 Language/zh-Hans";
        let unionpay = "Mozilla/5.0 (Linux; Android 13) AppleWebKit/537.36 (KHTML, like Gecko) \
                        Mobile Safari/537.36 (com.unionpay.uppay) UnionPay/1.0 CloudPay";
        let wechat = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 \
                      (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.44(0x18002c2a) \
                      NetType/WIFI Language/zh_CN";
        let desktop = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                       Chrome/126.0 Safari/537.36";
        assert_eq!(PayerApp::of_user_agent(alipay), Some(PayerApp::Alipay));
        assert_eq!(PayerApp::of_user_agent(unionpay), Some(PayerApp::Unionpay));
        assert_eq!(PayerApp::of_user_agent(wechat), Some(PayerApp::Wechat));
        assert_eq!(PayerApp::of_user_agent(desktop), None);
    }
}
