//! Trades the payer completes on their own device (JSAPI, Native, H5, APP; DESIGN §6): what a
//! scenario requires of the create, and opening the trade at the channel.

use crate::commands::{ApiRequest, CreateOrder};
use crate::{App, AppError};
use paygate_api::create::{pay_type_of_code, required_by, PayScene};
use paygate_api::field;
use paygate_channels::{Channel, ChannelError, Credit, PayerOptions, PrepareRequest, Scenario};
use paygate_domain::{OrderRecord, PayFlow, PayType, Scene};
use std::sync::Arc;

/// The trade a prepared pay type opens at its channel, with what its scenario requires.
pub(crate) fn scenario_of(cmd: &CreateOrder) -> Result<Option<Scenario>, AppError> {
    // A pay code is only ever sent on to the wallet that issued it.
    let issuer_fits = cmd
        .auth_code
        .as_ref()
        .is_none_or(|code| pay_type_of_code(code) == cmd.pay_type);
    if !issuer_fits {
        return Err(AppError::param(
            field::AUTH_CODE,
            format!("is not a pay code of pay_type {}", cmd.pay_type),
        ));
    }
    let required = required_by(cmd.pay_type);
    if !required.is_empty() {
        let sent = cmd.to_fields();
        if let Some(missing) = required.iter().find(|name| !sent.contains_key(**name)) {
            return Err(AppError::param(*missing, "is required by this pay_type"));
        }
    }
    // Only the aggregated QR opens its (cashier-link) code at create; a cashier order waits.
    if cmd.pay_type == PayType::Auto && cmd.scene != Some(PayScene::Native) {
        return Ok(None);
    }
    Ok(match cmd.pay_type.flow() {
        PayFlow::Cashier | PayFlow::PayCode => None,
        PayFlow::Prepare(Scene::Jsapi) => {
            // The payer as the wallet's app knows them: WeChat's openid, Alipay's user id.
            let (name, id) = match cmd.pay_type {
                PayType::AlipayJsapi => {
                    (field::BUYER_ID, cmd.buyer_id.as_ref().map(|b| b.as_str()))
                }
                _ => (field::OPENID, cmd.openid.as_deref()),
            };
            let openid = id
                .ok_or_else(|| AppError::param(name, "is required by this pay_type"))?
                .to_owned();
            Some(Scenario::Jsapi { openid })
        }
        PayFlow::Prepare(Scene::H5) => Some(Scenario::H5),
        PayFlow::Prepare(Scene::Native) => Some(Scenario::Native),
        PayFlow::Prepare(Scene::App) => Some(Scenario::App),
        PayFlow::Prepare(Scene::Web) => Some(Scenario::Web),
    })
}

impl App {
    /// Asks the channel to open the trade the payer will complete on their device, and keeps
    /// its answer with the order. The channel is idempotent on our trade number, so a retried
    /// create whose first call went unanswered asks again and meets the same trade.
    pub(crate) async fn open_channel_trade(
        &self,
        channel: Arc<dyn Channel>,
        order: OrderRecord,
        scenario: Scenario,
        client_ip: Option<String>,
    ) -> Result<OrderRecord, AppError> {
        let credit = if order.disable_credit {
            Credit::Disabled
        } else {
            Credit::Allowed
        };
        let options = PayerOptions {
            installments: None,
            credit,
        };
        let return_url = order.return_url.clone();
        self.open_trade(channel, order, scenario, client_ip, options, return_url)
            .await
    }

    /// A trade the payer chose in our cashier: the channel's payment pages return to
    /// `return_url` (our result page).
    pub(crate) async fn open_cashier_trade(
        &self,
        channel: Arc<dyn Channel>,
        order: OrderRecord,
        scenario: Scenario,
        options: PayerOptions,
        return_url: Option<String>,
    ) -> Result<OrderRecord, AppError> {
        self.open_trade(channel, order, scenario, None, options, return_url)
            .await
    }

    async fn open_trade(
        &self,
        channel: Arc<dyn Channel>,
        order: OrderRecord,
        scenario: Scenario,
        client_ip: Option<String>,
        payer_options: PayerOptions,
        return_url: Option<String>,
    ) -> Result<OrderRecord, AppError> {
        let request = PrepareRequest {
            trade_no: order.trade_no.clone(),
            merchant_id: order.merchant_id.clone(),
            money: paygate_domain::Money::new(order.total_amount, order.currency),
            subject: order.subject.clone(),
            scenario,
            expire_at_ms: order.expire_at_ms,
            client_ip,
            notify_url: self.callback_url(channel.info().name, "pay"),
            return_url,
            payer_options,
        };
        match channel.prepare(&request).await {
            Ok(data) => {
                self.store().record_pay_data(&order.trade_no, &data).await?;
                self.reload(&order.trade_no).await
            }
            Err(ChannelError::Unknown(why)) => {
                // The trade may exist at the channel: a status poll finds out, and the
                // merchant's retry of this create asks again.
                tracing::warn!(trade_no = %order.trade_no, %why, "prepare outcome unknown");
                self.schedule_order_poll(&order).await?;
                Err(AppError::Busy(why))
            }
            Err(ChannelError::Rejected(why)) => Err(AppError::ChannelRejected(why)),
            Err(ChannelError::Unsupported) => {
                Err(AppError::pay_type_not_enabled(order.channel_pay_type()))
            }
        }
    }

    /// Where a channel sends its callbacks of `kind` (`pay`, `refund`).
    pub fn callback_url(&self, channel: &str, kind: &str) -> String {
        format!("{}/callback/{channel}/{kind}", self.settings().public_url)
    }
}
