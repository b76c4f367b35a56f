//! `AlipayPay`: the `Channel` for Alipay's open API: face-to-face pay (pay codes and face
//! codes), QR codes (`precreate`), JSAPI (`create`), WAP, desktop and app pay (signed, sent by
//! the payer's browser or app), queries, close, cancel, refunds and the trade bill. Field
//! mapping lives in `mapping`, the signed HTTP in `gateway`, notifications in `callback`, the
//! bill in `bill`; this file only says which call each operation makes and what its answer
//! means.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use paygate_domain::{Currency, RefundNo, TradeNo};
use serde_json::{json, Value};

use super::bill;
use super::config::{AlipayConfig, ConfigError};
use super::gateway::{self, Answer, CallError, Gateway, Notify};
use super::mapping::{self, MappingError, PayFailure};
use crate::{
    BillLine, CallbackEvent, CallbackRefusal, CallbackReply, CallbackRequest, Channel,
    ChannelError, ChannelInfo, Credit, PayOutcome, PayRequest, Payer, PrepareRequest, Prepared,
    RefundOutcome, RefundRequest, Scenario, TradeState,
};

/// The channel's name in callback paths and logs.
pub const CHANNEL_NAME: &str = "alipay";

/// How many times a cancel is sent while Alipay answers `retry_flag=Y` or an unknown outcome.
pub const CANCEL_ATTEMPTS_MAX: u32 = 3;
const CANCEL_PAUSE_MS: u64 = 500;
const PRODUCT_FACE_TO_FACE: &str = "FACE_TO_FACE_PAYMENT";

/// One Alipay app; serves every product, the scenario picks the API.
#[derive(Debug, Clone)]
pub struct AlipayPay {
    pub(crate) config: AlipayConfig,
    pub(crate) gateway: Gateway,
}

/// What we read in Alipay's answer and could not make sense of: we cannot know what it did.
impl From<MappingError> for ChannelError {
    fn from(error: MappingError) -> ChannelError {
        ChannelError::Unknown(format!("Alipay's answer: {error}"))
    }
}

/// What we were about to send and cannot express in Alipay's terms: nothing was sent.
fn unsendable(error: MappingError) -> ChannelError {
    ChannelError::Rejected(error.to_string())
}

/// A signed answer about something other than what we asked cannot be believed.
fn expect_same(answer: &Answer, field: &'static str, asked: &str) -> Result<(), ChannelError> {
    match answer.require(field)? {
        answered if answered == asked => Ok(()),
        answered => Err(ChannelError::Unknown(format!(
            "Alipay answered {field} {answered:?} for {asked:?}"
        ))),
    }
}

impl AlipayPay {
    pub fn new(config: AlipayConfig) -> Result<AlipayPay, ConfigError> {
        let verifier = config.validate()?;
        Ok(AlipayPay {
            gateway: Gateway::new(&config, verifier)?,
            config,
        })
    }

    /// The app this adapter speaks for.
    pub fn config(&self) -> &AlipayConfig {
        &self.config
    }

    /// The `biz_content` every trade-creating call shares.
    fn order_content(
        &self,
        request: &PrepareRequest,
        product_code: &str,
    ) -> Result<Value, ChannelError> {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let mut content = json!({
            "out_trade_no": request.trade_no.as_str(),
            "total_amount": mapping::to_yuan(request.money).map_err(unsendable)?,
            "subject": request.subject,
            "product_code": product_code,
            "timeout_express": mapping::timeout_express(now_ms, request.expire_at_ms)
                .map_err(unsendable)?,
        });
        let options = request.payer_options;
        if options.credit == Credit::Disabled {
            // Alipay's name for every credit method (credit cards, Huabei).
            content["disable_pay_channels"] = json!("credit_group");
        } else if let Some(count) = options.installments {
            // Huabei installments the payer chose up front; the payer pays the fees.
            content["extend_params"] =
                json!({"hb_fq_num": count.to_string(), "hb_fq_seller_percent": "0"});
        }
        Ok(content)
    }

    async fn query_with(&self, content: Value) -> Result<Option<Answer>, ChannelError> {
        match self
            .gateway
            .call("alipay.trade.query", &content, Notify::No)
            .await
        {
            Ok(answer) => Ok(Some(answer)),
            Err(e) if e.is_verified("ACQ.TRADE_NOT_EXIST") => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The trade layer of a query answer.
    fn trade_state_of(answer: &Answer) -> Result<TradeState, ChannelError> {
        Ok(mapping::trade_state(
            answer.require("trade_status")?,
            answer.get("trade_no"),
            answer.get("send_pay_date"),
        )?)
    }

    /// Alipay's signed `page.pay` / `wap.pay` address, or the app's order string (an app
    /// has no browser to send back, so no `return_url`).
    fn signed_request(
        &self,
        request: &PrepareRequest,
        method: &str,
        product_code: &str,
    ) -> Result<BTreeMap<String, String>, ChannelError> {
        let content = self.order_content(request, product_code)?;
        let return_url = match request.scenario {
            Scenario::H5 | Scenario::Web => request.return_url.as_deref(),
            _ => None,
        };
        self.gateway
            .signed_params(method, &content, Notify::Yes, return_url)
    }

    /// The day's trade bill as Alipay zipped it; empty for a day without trades.
    pub async fn download_bill(&self, day: chrono::NaiveDate) -> Result<Vec<u8>, ChannelError> {
        let content =
            json!({"bill_type": "trade", "bill_date": day.format("%Y-%m-%d").to_string()});
        let method = "alipay.data.dataservice.bill.downloadurl.query";
        let answer = match self.gateway.call(method, &content, Notify::No).await {
            Ok(answer) => answer,
            // No trade that day: no bill to reconcile.
            Err(e) if e.is_verified("isp.bill_not_exist") => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        self.gateway
            .download(answer.require("bill_download_url")?)
            .await
    }
}

#[async_trait]
impl Channel for AlipayPay {
    fn info(&self) -> ChannelInfo {
        ChannelInfo {
            name: CHANNEL_NAME,
            currencies: &[Currency::Cny],
            pays_at_once: true,
            rules: Some(&crate::rules::ALIPAY),
        }
    }

    /// `alipay.trade.pay` with the payer's pay code (`bar_code`) or face code (`security_code`).
    async fn pay(&self, request: &PayRequest) -> Result<PayOutcome, ChannelError> {
        let (scene, code) = match &request.payer {
            Payer::AlipayAuthCode(code) => ("bar_code", code.as_str()),
            Payer::AlipayFaceCode(code) => ("security_code", code.as_str()),
            _ => {
                return Err(ChannelError::Rejected(
                    "Alipay takes only an Alipay pay code or face code".into(),
                ))
            }
        };
        let total = mapping::to_yuan(request.money).map_err(unsendable)?;
        let content = json!({
            "out_trade_no": request.trade_no.as_str(),
            "scene": scene,
            "auth_code": code,
            "product_code": PRODUCT_FACE_TO_FACE,
            "subject": request.subject,
            "total_amount": total,
        });
        let answer = match self
            .gateway
            .call("alipay.trade.pay", &content, Notify::Yes)
            .await
        {
            Ok(answer) => answer,
            Err(e) => return pay_failure(e),
        };
        expect_same(&answer, "out_trade_no", request.trade_no.as_str())?;
        expect_same(&answer, "total_amount", &total)?;
        Ok(PayOutcome::Paid {
            channel_trade_no: answer.require("trade_no")?.to_owned(),
            paid_at_ms: mapping::parse_cst_ms(answer.require("gmt_payment")?)?,
        })
    }

    async fn query(&self, trade_no: &TradeNo) -> Result<TradeState, ChannelError> {
        match self
            .query_with(json!({"out_trade_no": trade_no.as_str()}))
            .await?
        {
            Some(answer) => {
                expect_same(&answer, "out_trade_no", trade_no.as_str())?;
                Self::trade_state_of(&answer)
            }
            None => Ok(TradeState::NotFound),
        }
    }

    async fn query_by_channel_no(
        &self,
        channel_trade_no: &str,
    ) -> Result<TradeState, ChannelError> {
        match self
            .query_with(json!({"trade_no": channel_trade_no}))
            .await?
        {
            Some(answer) => {
                expect_same(&answer, "trade_no", channel_trade_no)?;
                Self::trade_state_of(&answer)
            }
            None => Ok(TradeState::NotFound),
        }
    }

    /// Closes an unpaid trade. A trade Alipay never created (a QR code nobody scanned) or
    /// closed already is as closed as it gets. Alipay answers a trade it will not close, paid
    /// or closed before, with the same `ACQ.TRADE_STATUS_ERROR`: a query tells which.
    async fn close(&self, trade_no: &TradeNo) -> Result<(), ChannelError> {
        let content = json!({"out_trade_no": trade_no.as_str()});
        match self
            .gateway
            .call("alipay.trade.close", &content, Notify::No)
            .await
        {
            Ok(answer) => expect_same(&answer, "out_trade_no", trade_no.as_str()),
            Err(e)
                if e.is_verified("ACQ.TRADE_NOT_EXIST") || e.is_verified("ACQ.TRADE_HAS_CLOSE") =>
            {
                Ok(())
            }
            Err(e) if e.is_verified("ACQ.TRADE_STATUS_ERROR") => {
                match self.query(trade_no).await? {
                    TradeState::Closed | TradeState::NotFound => Ok(()),
                    _ => Err(e.into()),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Cancels (撤销) a pay-code trade: paid or not, the payer gets everything back and the
    /// trade closes. Sent again while Alipay answers `retry_flag=Y` or nothing we can trust.
    async fn cancel(&self, trade_no: &TradeNo) -> Result<(), ChannelError> {
        let content = json!({"out_trade_no": trade_no.as_str()});
        let mut last = String::new();
        for attempt in 1..=CANCEL_ATTEMPTS_MAX {
            if attempt > 1 {
                tokio::time::sleep(Duration::from_millis(CANCEL_PAUSE_MS)).await;
            }
            match self
                .gateway
                .call("alipay.trade.cancel", &content, Notify::No)
                .await
            {
                Ok(answer) if answer.get("retry_flag") == Some("Y") => last = "retry_flag=Y".into(),
                Ok(answer) => return expect_same(&answer, "out_trade_no", trade_no.as_str()),
                Err(CallError::Unknown(why)) => last = why,
                Err(refused) => return Err(refused.into()),
            }
        }
        Err(ChannelError::Unknown(format!(
            "cancel unsettled after {CANCEL_ATTEMPTS_MAX} attempts: {last}"
        )))
    }

    /// Refunds are synchronous at Alipay: a success is final. A repeat with the same
    /// `out_request_no` is answered as the first was (`fund_change=N`).
    async fn refund(&self, request: &RefundRequest) -> Result<RefundOutcome, ChannelError> {
        let mut content = json!({
            "out_trade_no": request.trade_no.as_str(),
            "refund_amount": mapping::to_yuan(request.refund).map_err(unsendable)?,
            "out_request_no": request.refund_no.as_str(),
        });
        if !request.reason.is_empty() {
            content["refund_reason"] = Value::String(request.reason.clone());
        }
        let answer = self
            .gateway
            .call("alipay.trade.refund", &content, Notify::No)
            .await?;
        expect_same(&answer, "out_trade_no", request.trade_no.as_str())?;
        Ok(RefundOutcome::Succeeded {
            channel_refund_no: None,
        })
    }

    /// `alipay.trade.fastpay.refund.query`. As refunds are synchronous, a refund Alipay does
    /// not know (no `refund_status`) was never made.
    async fn query_refund(
        &self,
        refund_no: &RefundNo,
        trade_no: &TradeNo,
    ) -> Result<RefundOutcome, ChannelError> {
        let content = json!({
            "out_trade_no": trade_no.as_str(),
            "out_request_no": refund_no.as_str(),
            "query_options": ["gmt_refund_pay"],
        });
        let answer = self
            .gateway
            .call("alipay.trade.fastpay.refund.query", &content, Notify::No)
            .await?;
        match answer.get("refund_status") {
            Some("REFUND_SUCCESS") => {
                expect_same(&answer, "out_request_no", refund_no.as_str())?;
                Ok(RefundOutcome::Succeeded {
                    channel_refund_no: None,
                })
            }
            None => Ok(RefundOutcome::Failed(
                "REFUND_NOT_FOUND: Alipay has no such refund of the trade".into(),
            )),
            Some(other) => Err(ChannelError::Unknown(format!(
                "unknown refund_status {other:?}"
            ))),
        }
    }

    async fn prepare(&self, request: &PrepareRequest) -> Result<Prepared, ChannelError> {
        match &request.scenario {
            Scenario::Native => {
                let content = self.order_content(request, PRODUCT_FACE_TO_FACE)?;
                let answer = self
                    .gateway
                    .call("alipay.trade.precreate", &content, Notify::Yes)
                    .await?;
                expect_same(&answer, "out_trade_no", request.trade_no.as_str())?;
                Ok(Prepared::CodeUrl(answer.require("qr_code")?.to_owned()))
            }
            Scenario::Jsapi { openid } => {
                let mut content = self.order_content(request, "JSAPI_PAY")?;
                content["buyer_id"] = Value::String(openid.clone());
                let answer = self
                    .gateway
                    .call("alipay.trade.create", &content, Notify::Yes)
                    .await?;
                expect_same(&answer, "out_trade_no", request.trade_no.as_str())?;
                let trade_no = answer.require("trade_no")?.to_owned();
                Ok(Prepared::Params(BTreeMap::from([(
                    "tradeNO".to_owned(),
                    trade_no,
                )])))
            }
            Scenario::H5 => {
                let params =
                    self.signed_request(request, "alipay.trade.wap.pay", "QUICK_WAP_WAY")?;
                Ok(Prepared::RedirectUrl(self.gateway.page_url(&params)))
            }
            Scenario::Web => {
                let params = self.signed_request(
                    request,
                    "alipay.trade.page.pay",
                    "FAST_INSTANT_TRADE_PAY",
                )?;
                Ok(Prepared::RedirectUrl(self.gateway.page_url(&params)))
            }
            Scenario::App => {
                let params =
                    self.signed_request(request, "alipay.trade.app.pay", "QUICK_MSECURITY_PAY")?;
                Ok(Prepared::Params(BTreeMap::from([(
                    "order_string".to_owned(),
                    gateway::encode(&params),
                )])))
            }
        }
    }

    fn parse_callback(
        &self,
        request: &CallbackRequest<'_>,
    ) -> Result<CallbackEvent, CallbackRefusal> {
        super::callback::parse(self, request)
    }

    fn callback_reply(&self, accepted: Result<(), &CallbackRefusal>) -> CallbackReply {
        super::callback::reply(accepted)
    }

    /// A bill that does not read, or whose totals disagree with its rows, was not the bill
    /// Alipay meant to send: an unknown outcome, to be fetched again.
    async fn bill(&self, day: chrono::NaiveDate) -> Result<Vec<BillLine>, ChannelError> {
        let zipped = self.download_bill(day).await?;
        if zipped.is_empty() {
            return Ok(Vec::new());
        }
        bill::read_zip(&zipped)
            .map_err(|e| ChannelError::Unknown(format!("the {day} bill does not read: {e}")))
    }
}

/// The business layer of a refused `alipay.trade.pay`. 10003 is Alipay's "waiting for the
/// payer" (a password or a confirmation on the phone): poll, then cancel if it never comes.
fn pay_failure(error: CallError) -> Result<PayOutcome, ChannelError> {
    let CallError::Refused {
        code,
        sub_code,
        message,
        trust,
    } = &error
    else {
        return Err(error.into());
    };
    if code == "10003" {
        return Ok(PayOutcome::PayerConfirming);
    }
    if code != "40004" {
        return Err(error.into());
    }
    match mapping::pay_failure(sub_code) {
        // An unsigned decline may not be Alipay's: nothing is known about the payer's money.
        PayFailure::Declined(_) if *trust != gateway::Trust::Verified => Err(
            ChannelError::Unknown(format!("unsigned decline {sub_code}")),
        ),
        PayFailure::Declined(reason) => Ok(PayOutcome::Declined(reason)),
        PayFailure::Refused => Err(error.into()),
        PayFailure::Unknown => Err(ChannelError::Unknown(format!("{sub_code}: {message}"))),
    }
}
