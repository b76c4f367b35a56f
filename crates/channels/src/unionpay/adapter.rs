//! `UnionPay`: the `Channel` for UnionPay's online gateway. Web and H5 are a signed form the
//! payer's browser posts to the front endpoint; APP is a `tn` from the app endpoint; Native is a
//! QR apply, pay codes a QR consume, both on the back endpoint; status comes from `queryTrans`,
//! named by `orderId` and the `txnTime` the trade was opened with, which our numbers carry.

use std::collections::BTreeMap;

use async_trait::async_trait;
use paygate_domain::{Currency, RefundNo, TradeNo};

use super::bill;
use super::config::{ConfigError, UnionpayConfig};
use super::http::{Answer, Client};
use super::wire::{self, Resp, WireError};
use crate::{
    BillLine, CallbackEvent, CallbackRefusal, CallbackReply, CallbackRequest, Channel,
    ChannelError, ChannelInfo, PayOutcome, PayRequest, Payer, PrepareRequest, Prepared,
    RefundOutcome, RefundRequest, Scenario, TradeState,
};

/// The channel's name in callback paths and logs.
pub const CHANNEL_NAME: &str = "unionpay";

/// One UnionPay merchant account.
#[derive(Debug, Clone)]
pub struct UnionPay {
    pub(crate) config: UnionpayConfig,
    pub(crate) client: Client,
}

/// What we were about to send and cannot express in UnionPay's terms: nothing was sent.
fn unsendable(error: WireError) -> ChannelError {
    ChannelError::Rejected(error.to_string())
}

/// What UnionPay answered and we cannot read: we cannot know what it did.
fn unreadable(error: WireError) -> ChannelError {
    ChannelError::Unknown(format!("UnionPay's answer: {error}"))
}

/// A trade's status as a query found it.
struct Found {
    state: TradeState,
    biz_type: String,
}

impl UnionPay {
    pub fn new(config: UnionpayConfig) -> Result<UnionPay, ConfigError> {
        let unionpay = config.validate()?;
        Ok(UnionPay {
            client: Client::new(&config, unionpay)?,
            config,
        })
    }

    pub fn config(&self) -> &UnionpayConfig {
        &self.config
    }

    fn common(
        &self,
        txn_type: &str,
        sub: &str,
        biz: &str,
        channel: &str,
    ) -> BTreeMap<String, String> {
        let fields = [
            ("version", wire::VERSION),
            ("encoding", wire::ENCODING),
            ("signMethod", wire::SIGN_METHOD_CERT),
            ("txnType", txn_type),
            ("txnSubType", sub),
            ("bizType", biz),
            ("channelType", channel),
            ("accessType", wire::ACCESS_MERCHANT),
            ("merId", &self.config.mer_id),
        ];
        fields
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    /// A consume's fields: the order, its amount, its deadline and where UnionPay notifies.
    fn consume(
        &self,
        sub: &str,
        biz: &str,
        channel: &str,
        trade_no: &TradeNo,
        money: paygate_domain::Money,
    ) -> Result<BTreeMap<String, String>, ChannelError> {
        let mut fields = self.common(wire::TXN_CONSUME, sub, biz, channel);
        fields.insert("orderId".into(), trade_no.as_str().to_owned());
        let txn_time = wire::txn_time_of_number(trade_no.as_str()).map_err(unsendable)?;
        fields.insert("txnTime".into(), txn_time);
        fields.insert("txnAmt".into(), wire::to_fen(money).map_err(unsendable)?);
        fields.insert("currencyCode".into(), wire::CURRENCY_CNY.into());
        fields.insert("backUrl".into(), self.config.notify_url.clone());
        Ok(fields)
    }

    /// `queryTrans` for an `orderId` opened at `txn_time`; `None` when UnionPay has no such
    /// transaction.
    async fn query_order(
        &self,
        order_id: &str,
        txn_time: String,
    ) -> Result<Option<Answer>, ChannelError> {
        let mut fields = self.common(
            wire::TXN_QUERY,
            wire::SUB_NONE,
            wire::BIZ_GENERIC,
            wire::CHANNEL_PC,
        );
        fields.insert("orderId".into(), order_id.to_owned());
        fields.insert("txnTime".into(), txn_time);
        let answer = self.client.call(&self.config.query_url, fields).await?;
        if answer.resp_code() == wire::RESP_NO_SUCH_TRADE {
            return Ok(None);
        }
        answer.accepted()?;
        expect_same(&answer, "orderId", order_id)?;
        expect_same(&answer, "merId", &self.config.mer_id)?;
        Ok(Some(answer))
    }

    async fn find(&self, trade_no: &TradeNo) -> Result<Option<Found>, ChannelError> {
        let txn_time = wire::txn_time_of_number(trade_no.as_str()).map_err(unsendable)?;
        let Some(answer) = self.query_order(trade_no.as_str(), txn_time).await? else {
            return Ok(None);
        };
        Ok(Some(Found {
            state: trade_state(&answer)?,
            biz_type: answer
                .get("bizType")
                .unwrap_or(wire::BIZ_GATEWAY)
                .to_owned(),
        }))
    }

    /// The `queryId` of a paid trade, which refunds and voids name.
    async fn paid_query_id(&self, trade_no: &TradeNo) -> Result<(String, String), ChannelError> {
        match self.find(trade_no).await? {
            Some(Found {
                state: TradeState::Paid {
                    channel_trade_no, ..
                },
                biz_type,
            }) => Ok((channel_trade_no, biz_type)),
            _ => Err(ChannelError::Rejected(format!(
                "{trade_no} is not paid at UnionPay"
            ))),
        }
    }

    /// The day's reconciliation file (`INN{yyMMdd}88ZM_{merId}`) as UnionPay wrote it.
    pub async fn download_bill(
        &self,
        day: chrono::NaiveDate,
    ) -> Result<Option<String>, ChannelError> {
        let mut fields = self.common(
            wire::TXN_FILE,
            wire::SUB_CONSUME,
            wire::BIZ_GENERIC,
            wire::CHANNEL_PC,
        );
        fields.remove("channelType");
        fields.insert("settleDate".into(), wire::settle_date(day));
        fields.insert("fileType".into(), "00".into());
        let now = chrono::Utc::now().timestamp_millis();
        fields.insert(
            "txnTime".into(),
            wire::beijing_time(now).map_err(unsendable)?,
        );
        let answer = self.client.call(&self.config.file_url, fields).await?;
        // 98: 文件不存在, a day without trades.
        if answer.resp_code() == "98" {
            return Ok(None);
        }
        answer.accepted()?;
        let content = answer.require("fileContent")?;
        bill::unpack(content, &self.config.mer_id)
            .map(Some)
            .map_err(|e| ChannelError::Unknown(format!("the {day} file: {e}")))
    }
}

fn expect_same(answer: &Answer, field: &'static str, asked: &str) -> Result<(), ChannelError> {
    match answer.get(field) {
        Some(value) if value == asked => Ok(()),
        other => Err(ChannelError::Unknown(format!(
            "UnionPay answered {field} {other:?} for {asked:?}"
        ))),
    }
}

/// The trade layer of a query answer: `origRespCode` says what became of the trade.
fn trade_state(answer: &Answer) -> Result<TradeState, ChannelError> {
    let code = answer.get("origRespCode").unwrap_or("");
    Ok(match Resp::of(code) {
        Resp::Succeeded => TradeState::Paid {
            channel_trade_no: answer.require("queryId")?.to_owned(),
            paid_at_ms: wire::parse_beijing_time(answer.require("txnTime")?).map_err(unreadable)?,
        },
        Resp::Pending => TradeState::WaitingPayment,
        Resp::Failed => TradeState::Closed,
    })
}

fn refund_outcome(answer: &Answer) -> Result<RefundOutcome, ChannelError> {
    let code = answer.get("origRespCode").unwrap_or("");
    Ok(match Resp::of(code) {
        Resp::Succeeded => RefundOutcome::Succeeded {
            channel_refund_no: Some(answer.require("queryId")?.to_owned()),
        },
        Resp::Pending => RefundOutcome::Processing,
        Resp::Failed => RefundOutcome::Failed(format!(
            "{code}: {}",
            answer.get("origRespMsg").unwrap_or("")
        )),
    })
}

#[async_trait]
impl Channel for UnionPay {
    fn info(&self) -> ChannelInfo {
        ChannelInfo {
            name: CHANNEL_NAME,
            currencies: &[Currency::Cny],
            pays_at_once: true,
            rules: Some(&crate::rules::UNIONPAY),
        }
    }

    /// QR consume with the payer's pay code (`qrNo`). UnionPay's answer only says it took the
    /// request; the trade's outcome is then read with a query.
    async fn pay(&self, request: &PayRequest) -> Result<PayOutcome, ChannelError> {
        let Payer::UnionpayAuthCode(code) = &request.payer else {
            return Err(ChannelError::Unsupported);
        };
        let mut fields = self.consume(
            wire::SUB_QR_PAY_CODE,
            wire::BIZ_GENERIC,
            wire::CHANNEL_MOBILE,
            &request.trade_no,
            request.money,
        )?;
        fields.insert("qrNo".into(), code.as_str().to_owned());
        let answer = self.client.call(&self.config.back_url, fields).await?;
        if Resp::of(answer.resp_code()) == Resp::Failed {
            return Ok(PayOutcome::Declined(crate::DeclineReason::Other(
                answer.refusal(),
            )));
        }
        answer.accepted()?;
        Ok(match self.query(&request.trade_no).await? {
            TradeState::Paid {
                channel_trade_no,
                paid_at_ms,
            } => PayOutcome::Paid {
                channel_trade_no,
                paid_at_ms,
            },
            TradeState::Closed => PayOutcome::Declined(crate::DeclineReason::Other(
                "UnionPay closed the trade".into(),
            )),
            _ => PayOutcome::PayerConfirming,
        })
    }

    async fn prepare(&self, request: &PrepareRequest) -> Result<Prepared, ChannelError> {
        let (sub, biz, channel) = match request.scenario {
            Scenario::Web => (wire::SUB_CONSUME, wire::BIZ_GATEWAY, wire::CHANNEL_PC),
            Scenario::H5 | Scenario::App => {
                (wire::SUB_CONSUME, wire::BIZ_GATEWAY, wire::CHANNEL_MOBILE)
            }
            Scenario::Native => (wire::SUB_QR_APPLY, wire::BIZ_GENERIC, wire::CHANNEL_MOBILE),
            Scenario::Jsapi { .. } => return Err(ChannelError::Unsupported),
        };
        let mut fields = self.consume(sub, biz, channel, &request.trade_no, request.money)?;
        let timeout = wire::beijing_time(request.expire_at_ms).map_err(unsendable)?;
        fields.insert("payTimeout".into(), timeout);
        fields.insert("orderDesc".into(), request.subject.clone());
        match request.scenario {
            Scenario::Web | Scenario::H5 => {
                if let Some(url) = &request.return_url {
                    fields.insert("frontUrl".into(), url.clone());
                }
                Ok(Prepared::Form {
                    action: self.config.front_url.clone(),
                    fields: self.client.sign(fields)?,
                })
            }
            Scenario::App => {
                let answer = self.client.call(&self.config.app_url, fields).await?;
                answer.accepted()?;
                let tn = answer.require("tn")?.to_owned();
                Ok(Prepared::Params(BTreeMap::from([("tn".to_owned(), tn)])))
            }
            _ => {
                let answer = self.client.call(&self.config.back_url, fields).await?;
                answer.accepted()?;
                Ok(Prepared::CodeUrl(answer.require("qrCode")?.to_owned()))
            }
        }
    }

    async fn query(&self, trade_no: &TradeNo) -> Result<TradeState, ChannelError> {
        Ok(self
            .find(trade_no)
            .await?
            .map_or(TradeState::NotFound, |found| found.state))
    }

    /// UnionPay has no close: an unpaid trade simply expires at its `payTimeout`.
    async fn close(&self, trade_no: &TradeNo) -> Result<(), ChannelError> {
        match self.query(trade_no).await? {
            TradeState::NotFound | TradeState::WaitingPayment | TradeState::Closed => Ok(()),
            TradeState::Paid { .. } | TradeState::PayerConfirming => Err(ChannelError::Rejected(
                format!("{trade_no} is paid at UnionPay and cannot be closed"),
            )),
        }
    }

    /// Voids (消费撤销) a trade of the current clearing day: the payer gets everything back.
    /// A trade that was never paid has nothing to void.
    async fn cancel(&self, trade_no: &TradeNo) -> Result<(), ChannelError> {
        let (query_id, biz_type) = match self.find(trade_no).await? {
            Some(Found {
                state: TradeState::Paid {
                    channel_trade_no, ..
                },
                biz_type,
            }) => (channel_trade_no, biz_type),
            _ => return Ok(()),
        };
        let mut fields = self.common(
            wire::TXN_VOID,
            wire::SUB_NONE,
            &biz_type,
            wire::CHANNEL_MOBILE,
        );
        // The void is a transaction of its own: its order number is the trade's, marked.
        fields.insert("orderId".into(), format!("V{}", trade_no.as_str()));
        let now = chrono::Utc::now().timestamp_millis();
        fields.insert(
            "txnTime".into(),
            wire::beijing_time(now).map_err(unsendable)?,
        );
        fields.insert("origQryId".into(), query_id);
        fields.insert("reqReserved".into(), trade_no.as_str().to_owned());
        fields.insert("backUrl".into(), self.config.notify_url.clone());
        self.client
            .call(&self.config.back_url, fields)
            .await?
            .accepted()
    }

    async fn refund(&self, request: &RefundRequest) -> Result<RefundOutcome, ChannelError> {
        let (query_id, biz_type) = self.paid_query_id(&request.trade_no).await?;
        let mut fields = self.common(
            wire::TXN_REFUND,
            wire::SUB_NONE,
            &biz_type,
            wire::CHANNEL_MOBILE,
        );
        fields.insert("orderId".into(), request.refund_no.as_str().to_owned());
        let txn_time = wire::txn_time_of_number(request.refund_no.as_str()).map_err(unsendable)?;
        fields.insert("txnTime".into(), txn_time);
        fields.insert(
            "txnAmt".into(),
            wire::to_fen(request.refund).map_err(unsendable)?,
        );
        fields.insert("currencyCode".into(), wire::CURRENCY_CNY.into());
        fields.insert("origQryId".into(), query_id);
        // Echoed in the notification, which names the trade only by its queryId.
        fields.insert("reqReserved".into(), request.trade_no.as_str().to_owned());
        fields.insert("backUrl".into(), self.config.notify_url.clone());
        self.client
            .call(&self.config.back_url, fields)
            .await?
            .accepted()?;
        Ok(RefundOutcome::Processing)
    }

    async fn query_refund(
        &self,
        refund_no: &RefundNo,
        _trade_no: &TradeNo,
    ) -> Result<RefundOutcome, ChannelError> {
        let txn_time = wire::txn_time_of_number(refund_no.as_str()).map_err(unsendable)?;
        match self.query_order(refund_no.as_str(), txn_time).await? {
            Some(answer) => refund_outcome(&answer),
            None => Err(ChannelError::Rejected(format!(
                "UnionPay has no refund {refund_no}"
            ))),
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

    async fn bill(&self, day: chrono::NaiveDate) -> Result<Vec<BillLine>, ChannelError> {
        let Some(text) = self.download_bill(day).await? else {
            return Ok(Vec::new());
        };
        bill::to_lines(&text, day)
            .map_err(|e| ChannelError::Unknown(format!("the {day} file: {e}")))
    }
}
