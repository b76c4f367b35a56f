//! The hosted cashier (DESIGN §6, issue #10): which ways an order's payer may choose from their
//! client, settling the chosen way once and opening its trade, the status the page polls, the
//! signed return to the merchant and, in the sandbox, playing the payer.
//!
//! The amount and everything else shown come from the stored order; nothing the browser sends
//! but the way, the installment count and the client it says it is.

use crate::{App, AppError};
use paygate_api::field;
use paygate_channels::{Credit, PayerOptions, Scenario};
use paygate_domain::{Amount, OrderRecord, OrderStatus, PayFlow, PayType, Scene, TradeNo};
use serde_json::{Map, Value};

/// The payer's client as the cashier tells it from the user agent (or `?client=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    Desktop,
    Mobile,
    Wechat,
    Alipay,
    Unionpay,
}

impl Client {
    pub const ALL: [Client; 5] = [
        Client::Desktop,
        Client::Mobile,
        Client::Wechat,
        Client::Alipay,
        Client::Unionpay,
    ];

    /// Each wallet's in-app browser names itself (`MicroMessenger`, `AlipayClient`,
    /// `UnionPay/`); any other phone browser says `Mobile`, `Android` or `iPhone`.
    pub fn of_user_agent(user_agent: &str) -> Client {
        let has = |needle: &str| user_agent.contains(needle);
        if has("MicroMessenger") {
            Client::Wechat
        } else if has("AlipayClient") {
            Client::Alipay
        } else if has("UnionPay/") {
            Client::Unionpay
        } else if has("Mobile") || has("Android") || has("iPhone") {
            Client::Mobile
        } else {
            Client::Desktop
        }
    }

    pub fn parse(text: &str) -> Option<Client> {
        Client::ALL.into_iter().find(|c| c.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Client::Desktop => "desktop",
            Client::Mobile => "mobile",
            Client::Wechat => "wechat",
            Client::Alipay => "alipay",
            Client::Unionpay => "unionpay",
        }
    }

    /// The ways that fit this client, in the order the page lists them.
    pub fn ways(self) -> &'static [PayType] {
        match self {
            // WeChat's browser pays only by JSAPI; the wallets' browsers only by their own way.
            Client::Wechat => &[PayType::WechatJsapi],
            Client::Alipay => &[PayType::AlipayH5],
            Client::Unionpay => &[PayType::UnionpayH5],
            Client::Mobile => &[
                PayType::WechatH5,
                PayType::AlipayH5,
                PayType::UnionpayH5,
                PayType::Wallet,
            ],
            Client::Desktop => &[
                PayType::WechatNative,
                PayType::AlipayNative,
                PayType::UnionpayNative,
                PayType::Wallet,
            ],
        }
    }
}

/// One installment option of a way: `count` periods, the first carrying the remainder in fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Installment {
    pub count: u32,
    pub first: Amount,
    pub each: Amount,
}

/// `total` split in `count` periods in the minor unit: every period `total / count`, the
/// remainder added to the first, so the periods add up to the total exactly.
pub fn installment_plan(total: Amount, count: u32) -> Installment {
    assert!(count > 0, "an installment plan has at least one period");
    let minor = total.minor();
    let periods = i64::from(count);
    let each = minor / periods;
    let first = each + minor % periods;
    debug_assert_eq!(first + each * (periods - 1), minor);
    Installment {
        count,
        first: Amount::from_minor(first).expect("a part of a valid amount"),
        each: Amount::from_minor(each).expect("a part of a valid amount"),
    }
}

/// A way the page offers, with its installments (none when the order disables credit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CashierWay {
    pub pay_type: PayType,
    pub installments: Vec<Installment>,
}

/// What a cashier page shows of an order.
#[derive(Debug, Clone)]
pub struct CashierView {
    pub order: OrderRecord,
    pub merchant_name: String,
    pub ways: Vec<CashierWay>,
    /// The way being paid, once settled (an aggregated order's choice, or a concrete order's
    /// own pay type once its trade is open).
    pub chosen: Option<PayType>,
    /// Whether `POST /cashier/{trade_no}/sandbox-pay` can pay the chosen way here.
    pub sandbox_pay: bool,
}

/// Why the page shows a notice instead of the ways.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    Expired,
    Closed,
    Paid,
    NoWay,
}

impl Notice {
    pub fn reason(self) -> &'static str {
        match self {
            Notice::Expired => "expired",
            Notice::Closed => "closed",
            Notice::Paid => "paid",
            Notice::NoWay => "no-way",
        }
    }
}

impl CashierView {
    /// The notice the page leads with, if the order cannot be paid here (now).
    pub fn notice(&self, now_ms: i64) -> Option<Notice> {
        let order = &self.order;
        if order.status.is_paid() {
            Some(Notice::Paid)
        } else if order.status == OrderStatus::Closed {
            // An order the expiry job closed says it expired; a merchant's close says closed.
            let closed_at_expiry = order
                .closed_at_ms
                .is_some_and(|at| at >= order.expire_at_ms);
            if order.close_requested_at_ms.is_none() && closed_at_expiry {
                Some(Notice::Expired)
            } else {
                Some(Notice::Closed)
            }
        } else if now_ms >= order.expire_at_ms {
            Some(Notice::Expired)
        } else if self.ways.is_empty() {
            Some(Notice::NoWay)
        } else {
            None
        }
    }
}

/// The payer's choice, as the way form posts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WayChoice {
    pub way: PayType,
    pub installments: Option<u32>,
    /// The payer's id in the wallet's app, from its sign-in (WeChat's openid): JSAPI needs it.
    pub payer_id: Option<String>,
}

/// Where to send the payer's browser next for a way that needs the wallet's sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInStep {
    /// To the wallet's sign-in, which comes back to our `signed-in` page.
    SignIn(String),
    /// Already signed in: the way's trade is open.
    Ready,
}

impl App {
    /// The cashier page of an order for a payer on `client`; `None` when there is no such order.
    pub async fn cashier_view(
        &self,
        trade_no: &TradeNo,
        client: Client,
    ) -> Result<Option<CashierView>, AppError> {
        let Some(order) = self.store().get_order(trade_no).await? else {
            return Ok(None);
        };
        let merchant = self
            .get_merchant(&order.merchant_id)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the order's merchant is gone")))?;
        let chosen = chosen_way(&order);
        let candidates: Vec<PayType> = match chosen {
            Some(way) => vec![way],
            None if order.pay_type == PayType::Auto => client.ways().to_vec(),
            None => vec![order.pay_type],
        };
        let ways = candidates
            .into_iter()
            .filter(|way| {
                // A concrete order's own way was enabled when it was created.
                let enabled = order.pay_type != PayType::Auto || merchant.pay_types.contains(way);
                enabled && self.channel(*way).is_some()
            })
            .map(|way| CashierWay {
                pay_type: way,
                installments: self.installments_of(way, &order),
            })
            .collect();
        let sandbox_pay = chosen.is_some_and(|way| self.sandbox_payer_of(way).is_some());
        Ok(Some(CashierView {
            order,
            merchant_name: merchant.name,
            ways,
            chosen,
            sandbox_pay,
        }))
    }

    fn installments_of(&self, way: PayType, order: &OrderRecord) -> Vec<Installment> {
        if order.disable_credit {
            return Vec::new();
        }
        let counts = self
            .channel(way)
            .and_then(|channel| channel.info().rules)
            .map(|rules| rules.installments)
            .unwrap_or(&[]);
        counts
            .iter()
            .map(|count| installment_plan(order.total_amount, *count))
            .collect()
    }

    /// The payer chose a way: settles it once (an aggregated order's first choice stands) and
    /// opens its trade at the way's channel, whose payment pages return the payer to our
    /// result page. Choosing again lands on the same trade.
    pub async fn cashier_choose(
        &self,
        trade_no: &TradeNo,
        choice: WayChoice,
    ) -> Result<OrderRecord, AppError> {
        let order = self.payer_order(trade_no).await?;
        if !order.status.is_unpaid_open() || self.clock().now_ms() >= order.expire_at_ms {
            return Err(AppError::OrderStatus(format!(
                "order {trade_no} is {}",
                order.status
            )));
        }
        let way = choice.way;
        let merchant = self
            .get_merchant(&order.merchant_id)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the order's merchant is gone")))?;
        let offered = if order.pay_type == PayType::Auto {
            merchant.pay_types.contains(&way) && way != PayType::Auto
        } else {
            way == order.pay_type
        };
        let channel = match self.channel(way) {
            Some(channel) if offered => channel.clone(),
            _ => return Err(AppError::pay_type_not_enabled(way)),
        };
        // A concrete order's trade was opened at create: the payer pays that one.
        if order.pay_type != PayType::Auto && order.pay_data.is_some() {
            return Ok(order);
        }
        let scenario = match way.flow() {
            PayFlow::Prepare(Scene::Native) => Some(Scenario::Native),
            PayFlow::Prepare(Scene::H5) => Some(Scenario::H5),
            PayFlow::Prepare(Scene::Web) => Some(Scenario::Web),
            // The wallet confirms on its own page, with the payer's consent.
            PayFlow::Cashier => None,
            // JSAPI pays as the payer the wallet's sign-in named (`cashier_sign_in` first).
            PayFlow::Prepare(Scene::Jsapi) => match &choice.payer_id {
                Some(openid) => Some(Scenario::Jsapi {
                    openid: openid.clone(),
                }),
                // Signed in before: the trade is open for that payer.
                None if order.pay_data.is_some() && chosen_way(&order) == Some(way) => {
                    return Ok(order)
                }
                None => return Err(AppError::param("way", "needs the payer's sign-in first")),
            },
            // An app or pay-code way has no browser to pay in. Refused before settling, so the
            // payer can still choose another way.
            PayFlow::Prepare(Scene::App) | PayFlow::PayCode => {
                return Err(AppError::pay_type_not_enabled(way))
            }
        };
        if let Some(count) = choice.installments {
            if !self
                .installments_of(way, &order)
                .iter()
                .any(|i| i.count == count)
            {
                return Err(AppError::param(
                    "installments",
                    "is not offered for this way",
                ));
            }
        }
        let order = if order.pay_type == PayType::Auto {
            self.settle_way(order, way).await?
        } else {
            order
        };
        let Some(scenario) = scenario else {
            return Ok(order);
        };
        if order.pay_data.is_some() || !order.status.is_unpaid_open() {
            return Ok(order);
        }
        let options = PayerOptions {
            installments: choice.installments,
            credit: if order.disable_credit {
                Credit::Disabled
            } else {
                Credit::Allowed
            },
        };
        let return_url = Some(self.cashier_result_url(trade_no));
        self.open_cashier_trade(channel, order, scenario, options, return_url)
            .await
    }

    /// Starts a way that needs the payer's sign-in in the wallet's app (WeChat JSAPI): checks
    /// that the order can still be paid that way, then answers the sign-in link, which comes
    /// back to `redirect_uri` with a code and `state` (the trade number).
    pub async fn cashier_sign_in(
        &self,
        trade_no: &TradeNo,
        way: PayType,
        redirect_uri: &str,
    ) -> Result<SignInStep, AppError> {
        let order = self.payer_order(trade_no).await?;
        if !order.status.is_unpaid_open() || self.clock().now_ms() >= order.expire_at_ms {
            return Err(AppError::OrderStatus(format!(
                "order {trade_no} is {}",
                order.status
            )));
        }
        if order.pay_data.is_some() && chosen_way(&order) == Some(way) {
            return Ok(SignInStep::Ready);
        }
        let merchant = self
            .get_merchant(&order.merchant_id)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the order's merchant is gone")))?;
        let offered = match order.pay_type {
            PayType::Auto => {
                merchant.pay_types.contains(&way) && order.chosen_pay_type.is_none_or(|c| c == way)
            }
            own => own == way,
        };
        let channel = match self.channel(way) {
            Some(channel) if offered => channel.clone(),
            _ => return Err(AppError::pay_type_not_enabled(way)),
        };
        match channel.payer_sign_in() {
            Some(sign_in) => Ok(SignInStep::SignIn(
                sign_in.authorize_url(redirect_uri, trade_no.as_str()),
            )),
            None => Err(AppError::pay_type_not_enabled(way)),
        }
    }

    /// The wallet's sign-in came back with `code`: learns the payer's id and opens the way's
    /// trade for that payer.
    pub async fn cashier_signed_in(
        &self,
        trade_no: &TradeNo,
        way: PayType,
        code: &str,
    ) -> Result<OrderRecord, AppError> {
        let channel = self
            .channel(way)
            .ok_or_else(|| AppError::pay_type_not_enabled(way))?
            .clone();
        let sign_in = channel
            .payer_sign_in()
            .ok_or_else(|| AppError::pay_type_not_enabled(way))?;
        let payer_id = sign_in.payer_id(code).await.map_err(|error| {
            tracing::info!(%trade_no, %error, "wallet sign-in refused");
            AppError::param("code", "the wallet's sign-in was not accepted; try again")
        })?;
        self.cashier_choose(
            trade_no,
            WayChoice {
                way,
                installments: None,
                payer_id: Some(payer_id),
            },
        )
        .await
    }

    /// Records an aggregated order's way, the first choice winning; a later different choice
    /// is told which way the order is being paid.
    async fn settle_way(&self, order: OrderRecord, way: PayType) -> Result<OrderRecord, AppError> {
        let trade_no = order.trade_no.clone();
        let chosen_now = order.chosen_pay_type.is_none()
            && self
                .store()
                .choose_pay_type(&trade_no, way, self.clock().now_ms())
                .await?;
        let order = if chosen_now {
            self.reload(&trade_no).await?
        } else {
            order
        };
        match order.chosen_pay_type {
            Some(chosen) if chosen == way => Ok(order),
            Some(chosen) => Err(AppError::OrderStatus(format!(
                "order {trade_no} is being paid with {chosen}"
            ))),
            None => Err(AppError::OrderStatus(format!(
                "order {trade_no} is {}",
                order.status
            ))),
        }
    }

    /// The order a payer's request names; `OrderNotFound` when there is none.
    async fn payer_order(&self, trade_no: &TradeNo) -> Result<OrderRecord, AppError> {
        self.store()
            .get_order(trade_no)
            .await?
            .ok_or(AppError::OrderNotFound)
    }

    /// Where channel payment pages send the payer back: our result page.
    pub fn cashier_result_url(&self, trade_no: &TradeNo) -> String {
        format!("{}/cashier/{trade_no}/result", self.settings().public_url)
    }

    /// The order's status for the page's polling.
    pub async fn cashier_status(&self, trade_no: &TradeNo) -> Result<OrderStatus, AppError> {
        Ok(self.payer_order(trade_no).await?.status)
    }

    /// The merchant's `return_url` with the result signed as notifications are (DESIGN §12):
    /// the merchant verifies it with the same code. `None` when the merchant gave no URL.
    pub async fn cashier_return_url(
        &self,
        order: &OrderRecord,
    ) -> Result<Option<String>, AppError> {
        let Some(return_url) = &order.return_url else {
            return Ok(None);
        };
        let keys = self
            .merchant_keys(&order.merchant_id)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the order's merchant is gone")))?;
        let mut fields = Map::new();
        let mut put = |name: &str, value: Value| {
            fields.insert(name.to_owned(), value);
        };
        put(field::MERCHANT_ID, order.merchant_id.as_str().into());
        put(field::OUT_TRADE_NO, order.out_trade_no.as_str().into());
        put(field::TRADE_NO, order.trade_no.as_str().into());
        put(
            field::TOTAL_AMOUNT,
            order.total_amount.to_major_string(order.currency).into(),
        );
        put(field::CURRENCY, order.currency.as_str().into());
        put(field::TRADE_STATUS, order.status.as_str().into());
        put(field::TIMESTAMP, (self.clock().now_ms() / 1000).into());
        put(field::NONCE, return_nonce().into());
        self.sign_for(&keys, &mut fields)?;
        let mut url = url::Url::parse(return_url)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("stored return_url: {e}")))?;
        {
            let mut query = url.query_pairs_mut();
            for (name, value) in &fields {
                let text = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                query.append_pair(name, &text);
            }
        }
        Ok(Some(url.into()))
    }

    /// Asks the in-process sandbox of the chosen way's channel to pay as the payer would.
    /// `Ok(false)` when no sandbox serves that way here (the route answers 404).
    pub async fn cashier_sandbox_pay(&self, trade_no: &TradeNo) -> Result<bool, AppError> {
        let order = self.payer_order(trade_no).await?;
        let Some(way) = chosen_way(&order) else {
            return Ok(false);
        };
        let Some(base) = self.sandbox_payer_of(way) else {
            return Ok(false);
        };
        let answer = reqwest::Client::new()
            .post(format!("{base}/sandbox/payer"))
            .json(&serde_json::json!({"out_trade_no": trade_no.as_str(), "action": "pay"}))
            .timeout(std::time::Duration::from_secs(5))
            .send()
            .await
            .map_err(|e| AppError::Busy(format!("sandbox payer: {e}")))?;
        if !answer.status().is_success() {
            let status = answer.status();
            let body = answer.text().await.unwrap_or_default();
            return Err(AppError::ChannelRejected(format!(
                "sandbox payer answered {status}: {body}"
            )));
        }
        Ok(true)
    }

    fn sandbox_payer_of(&self, way: PayType) -> Option<&str> {
        let name = self.channel(way)?.info().name;
        self.sandbox_payer(name)
    }
}

/// The way an order is being paid: an aggregated order's choice, or a concrete order's own
/// pay type once it is more than a cashier order.
fn chosen_way(order: &OrderRecord) -> Option<PayType> {
    match order.pay_type {
        PayType::Auto => order.chosen_pay_type,
        own => Some(own),
    }
}

fn return_nonce() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    Alphanumeric.sample_string(&mut rand::thread_rng(), 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_client_is_told_by_its_user_agent() {
        let cases = [
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 MicroMessenger/8.0.44", Client::Wechat),
            ("Mozilla/5.0 (iPhone) Mobile/15E148 AlipayClient/10.5.36.6000", Client::Alipay),
            ("Mozilla/5.0 (Linux; Android 13) Mobile Safari/537.36 (com.unionpay.uppay) UnionPay/1.0", Client::Unionpay),
            ("Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36", Client::Mobile),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Safari/604.1", Client::Mobile),
            ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36", Client::Desktop),
            ("", Client::Desktop),
        ];
        for (user_agent, client) in cases {
            assert_eq!(Client::of_user_agent(user_agent), client, "{user_agent}");
        }
        for client in Client::ALL {
            assert_eq!(Client::parse(client.as_str()), Some(client));
        }
        assert_eq!(Client::parse("tablet"), None);
    }

    #[test]
    fn installments_carry_the_remainder_on_the_first_period() {
        let total = Amount::from_minor(10_000).unwrap();
        let plans: Vec<(u32, i64, i64)> = [3, 6, 12]
            .into_iter()
            .map(|n| installment_plan(total, n))
            .map(|i| (i.count, i.first.minor(), i.each.minor()))
            .collect();
        assert_eq!(
            plans,
            vec![(3, 3_334, 3_333), (6, 1_670, 1_666), (12, 837, 833)]
        );
        let small = installment_plan(Amount::from_minor(1).unwrap(), 3);
        assert_eq!((small.first.minor(), small.each.minor()), (1, 0));
    }
}
