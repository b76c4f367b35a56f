//! `WechatPay`: the `Channel` for WeChat Pay: API v3 for JSAPI, Native, H5, APP, queries (of
//! every product, micropay's included), close, refunds and bills; micropay and its reverse
//! through `micropay` (API v2). Field mapping lives in `mapping`, the signed HTTP in `http`,
//! callbacks in `callback`; this file only says which call each operation makes and what its
//! answer means.

use async_trait::async_trait;
use paygate_domain::sign::SignKey;
use paygate_domain::{Currency, RefundNo, TradeNo};

use super::bill;
use super::config::{ConfigError, WechatConfig};
use super::http::{self, V3Client};
use super::mapping::{self, Invoke, MappingError, CNY};
use super::micropay::Micropay;
use super::oauth::WechatSignIn;
use super::v3_wire::{
    self, BillLocation, CloseOrder, CreateOrder, CreateRefund, Created, H5Info, OrderAmount,
    Refund, RefundAmountRequest, SceneInfo, Transaction,
};
use super::verify::PlatformKeys;
use crate::{
    BillLine, CallbackEvent, CallbackRefusal, CallbackReply, CallbackRequest, Channel,
    ChannelError, ChannelInfo, PayOutcome, PayRequest, PayerSignIn, PrepareRequest, Prepared,
    RefundOutcome, RefundRequest, Scenario, TradeState,
};

/// The channel's name in callback paths and logs.
pub const CHANNEL_NAME: &str = "wechat";

/// One WeChat Pay merchant account; serves every product, the scenario picks the API.
#[derive(Debug, Clone)]
pub struct WechatPay {
    pub(crate) config: WechatConfig,
    pub(crate) client: V3Client,
    pub(crate) platform: PlatformKeys,
    merchant_key: SignKey,
    /// API v2 micropay, when the account has a v2 key.
    micropay: Option<Micropay>,
    /// The official account's web authorisation, when its AppSecret is configured.
    sign_in: Option<WechatSignIn>,
}

/// What we read in WeChat Pay's answer and could not make sense of: we cannot know what it did.
impl From<MappingError> for ChannelError {
    fn from(error: MappingError) -> ChannelError {
        ChannelError::Unknown(format!("WeChat Pay's answer: {error}"))
    }
}

/// What we were about to send and cannot express in WeChat Pay's terms: nothing was sent.
fn unsendable(error: MappingError) -> ChannelError {
    ChannelError::Rejected(error.to_string())
}

fn micropay(config: &WechatConfig) -> Result<Option<Micropay>, ConfigError> {
    let Some(v2_key) = &config.v2_key else {
        return Ok(None);
    };
    let client = Micropay::new(
        &config.base_url,
        &config.appid,
        &config.mchid,
        v2_key.clone(),
        config.http_timeout_ms,
    );
    let Some(certificate) = &config.merchant_certificate_pem else {
        return Ok(Some(client));
    };
    let identity = format!("{certificate}\n{}", config.merchant_private_key.to_pem());
    client
        .with_client_identity(identity.as_bytes())
        .map(Some)
        .map_err(|e| ConfigError::HttpClient(e.to_string()))
}

/// A signed answer about something other than what we asked cannot be believed.
fn expect_same(field: &str, answered: &str, asked: &str) -> Result<(), ChannelError> {
    if answered == asked {
        Ok(())
    } else {
        Err(ChannelError::Unknown(format!(
            "WeChat Pay answered {field} {answered:?} for {asked:?}"
        )))
    }
}

impl WechatPay {
    pub fn new(config: WechatConfig) -> Result<WechatPay, ConfigError> {
        config.validate()?;
        Ok(WechatPay {
            client: V3Client::new(&config)?,
            platform: PlatformKeys::new(&config.platform),
            merchant_key: SignKey::Rsa2(config.merchant_private_key.clone()),
            micropay: micropay(&config)?,
            sign_in: None,
            config,
        })
    }

    /// With the official account's web authorisation, so WeChat's browser can pay by JSAPI
    /// from the cashier.
    pub fn with_sign_in(mut self, sign_in: WechatSignIn) -> WechatPay {
        self.sign_in = Some(sign_in);
        self
    }

    /// The account this adapter speaks for.
    pub fn config(&self) -> &WechatConfig {
        &self.config
    }

    fn refund_notify_url(&self) -> String {
        let base = self.config.notify_base_url.trim_end_matches('/');
        format!("{base}/refund")
    }

    fn create_order(&self, request: &PrepareRequest) -> Result<CreateOrder, ChannelError> {
        let (payer, scene_info) = match &request.scenario {
            Scenario::Jsapi { openid } => (
                Some(v3_wire::Payer {
                    openid: openid.clone(),
                }),
                None,
            ),
            Scenario::H5 => {
                let ip = request.client_ip.clone().ok_or_else(|| {
                    ChannelError::Rejected("H5 payments need the payer's client_ip".into())
                })?;
                let scene = SceneInfo {
                    payer_client_ip: ip,
                    device_id: None,
                    h5_info: Some(H5Info { kind: "Wap".into() }),
                };
                (None, Some(scene))
            }
            Scenario::Native | Scenario::App => (None, None),
            Scenario::Web => return Err(ChannelError::Unsupported),
        };
        Ok(CreateOrder {
            appid: self.config.appid.clone(),
            mchid: self.config.mchid.clone(),
            description: request.subject.clone(),
            out_trade_no: request.trade_no.as_str().to_owned(),
            time_expire: Some(mapping::beijing_time(request.expire_at_ms).map_err(unsendable)?),
            attach: None,
            notify_url: request.notify_url.clone(),
            amount: OrderAmount {
                total: mapping::to_fen(request.money).map_err(unsendable)?,
                currency: Some(CNY.into()),
            },
            payer,
            scene_info,
        })
    }

    fn invoke_params(
        &self,
        scenario: &Scenario,
        prepay_id: &str,
    ) -> Result<Prepared, ChannelError> {
        let nonce = http::nonce();
        let invoke = Invoke {
            appid: &self.config.appid,
            mchid: &self.config.mchid,
            timestamp: chrono::Utc::now().timestamp(),
            nonce: &nonce,
            key: &self.merchant_key,
        };
        let signed = match scenario {
            Scenario::Jsapi { .. } => mapping::jsapi_params(&invoke, prepay_id),
            _ => mapping::app_params(&invoke, prepay_id),
        };
        signed
            .map(Prepared::Params)
            .map_err(|e| ChannelError::Unknown(format!("signing the invoke parameters: {e}")))
    }

    fn trade_state_of(&self, tx: &Transaction) -> Result<TradeState, ChannelError> {
        expect_same("mchid", &tx.mchid, &self.config.mchid)?;
        Ok(mapping::trade_state(tx)?)
    }

    fn refund_outcome_of(
        &self,
        refund: &Refund,
        asked: &RefundNo,
    ) -> Result<RefundOutcome, ChannelError> {
        expect_same("out_refund_no", &refund.out_refund_no, asked.as_str())?;
        Ok(mapping::refund_outcome(refund.status, &refund.refund_id))
    }

    async fn query_path(&self, path: &str) -> Result<Option<Transaction>, ChannelError> {
        match self.client.get::<Transaction>(path).await {
            Ok(tx) => Ok(Some(tx)),
            Err(e) if e.is_verified_code("ORDER_NOT_EXIST") => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The day's ALL trade bill as WeChat Pay wrote it, its SHA1 checked against the hash the
    /// bill API gave with the download URL; empty for a day without trades (no bill exists).
    pub async fn download_bill(&self, day: chrono::NaiveDate) -> Result<String, ChannelError> {
        let path = format!(
            "{}?bill_date={}&bill_type=ALL",
            v3_wire::PATH_TRADE_BILL,
            day.format("%Y-%m-%d")
        );
        let location: BillLocation = match self.client.get(&path).await {
            Ok(location) => location,
            // A day without a trade has no bill; nothing to reconcile.
            Err(e) if e.is_verified_code("NO_STATEMENT_EXIST") => return Ok(String::new()),
            Err(e) => return Err(e.into()),
        };
        if !location.hash_type.eq_ignore_ascii_case("SHA1") {
            return Err(ChannelError::Unknown(format!(
                "bill hash type {} is not SHA1",
                location.hash_type
            )));
        }
        let bytes = self.client.download(&location.download_url).await?;
        let text = String::from_utf8(bytes)
            .map_err(|_| ChannelError::Unknown("the downloaded bill is not UTF-8".into()))?;
        if !bill::sha1_hex(&text).eq_ignore_ascii_case(&location.hash_value) {
            return Err(ChannelError::Unknown(
                "the downloaded bill does not match its SHA1".into(),
            ));
        }
        Ok(text)
    }
}

#[async_trait]
impl Channel for WechatPay {
    fn info(&self) -> ChannelInfo {
        ChannelInfo {
            name: CHANNEL_NAME,
            currencies: &[Currency::Cny],
            pays_at_once: self.micropay.is_some(),
            rules: Some(&crate::rules::WECHAT),
        }
    }

    fn payer_sign_in(&self) -> Option<&dyn PayerSignIn> {
        self.sign_in.as_ref().map(|s| s as &dyn PayerSignIn)
    }

    /// Micropay (API v2) with the payer's WeChat pay code.
    async fn pay(&self, request: &PayRequest) -> Result<PayOutcome, ChannelError> {
        match &self.micropay {
            Some(micropay) => micropay.pay(request).await,
            None => Err(ChannelError::Unsupported),
        }
    }

    /// Reverses a micropay trade (the payer is refunded whatever was paid, the trade closed).
    async fn cancel(&self, trade_no: &TradeNo) -> Result<(), ChannelError> {
        match &self.micropay {
            Some(micropay) => micropay.reverse(trade_no).await,
            None => Err(ChannelError::Unsupported),
        }
    }

    async fn query(&self, trade_no: &TradeNo) -> Result<TradeState, ChannelError> {
        let path = v3_wire::path_query_by_out_trade_no(trade_no.as_str(), &self.config.mchid);
        match self.query_path(&path).await? {
            Some(tx) => {
                expect_same("out_trade_no", &tx.out_trade_no, trade_no.as_str())?;
                self.trade_state_of(&tx)
            }
            None => Ok(TradeState::NotFound),
        }
    }

    async fn query_by_channel_no(
        &self,
        channel_trade_no: &str,
    ) -> Result<TradeState, ChannelError> {
        let path = v3_wire::path_query_by_transaction_id(channel_trade_no, &self.config.mchid);
        match self.query_path(&path).await? {
            Some(tx) => {
                let answered = tx.transaction_id.as_deref().unwrap_or("");
                expect_same("transaction_id", answered, channel_trade_no)?;
                self.trade_state_of(&tx)
            }
            None => Ok(TradeState::NotFound),
        }
    }

    async fn close(&self, trade_no: &TradeNo) -> Result<(), ChannelError> {
        let body = CloseOrder {
            mchid: self.config.mchid.clone(),
        };
        match self
            .client
            .post_no_content(&v3_wire::path_close(trade_no.as_str()), &body)
            .await
        {
            // Closing twice is the same close.
            Err(e) if e.is_verified_code("ORDER_CLOSED") => Ok(()),
            other => Ok(other?),
        }
    }

    async fn refund(&self, request: &RefundRequest) -> Result<RefundOutcome, ChannelError> {
        let body = CreateRefund {
            transaction_id: None,
            out_trade_no: Some(request.trade_no.as_str().to_owned()),
            out_refund_no: request.refund_no.as_str().to_owned(),
            reason: Some(request.reason.clone()).filter(|r| !r.is_empty()),
            notify_url: Some(self.refund_notify_url()),
            amount: RefundAmountRequest {
                refund: mapping::to_fen(request.refund).map_err(unsendable)?,
                total: mapping::to_fen(request.total).map_err(unsendable)?,
                currency: CNY.into(),
            },
        };
        let refund: Refund = self.client.post(v3_wire::PATH_REFUNDS, &body).await?;
        expect_same(
            "out_trade_no",
            &refund.out_trade_no,
            request.trade_no.as_str(),
        )?;
        self.refund_outcome_of(&refund, &request.refund_no)
    }

    async fn query_refund(
        &self,
        refund_no: &RefundNo,
        _trade_no: &TradeNo,
    ) -> Result<RefundOutcome, ChannelError> {
        let path = v3_wire::path_refund_query(refund_no.as_str());
        let refund: Refund = self.client.get(&path).await?;
        self.refund_outcome_of(&refund, refund_no)
    }

    async fn prepare(&self, request: &PrepareRequest) -> Result<Prepared, ChannelError> {
        let path = match request.scenario {
            Scenario::Jsapi { .. } => v3_wire::PATH_JSAPI,
            Scenario::Native => v3_wire::PATH_NATIVE,
            Scenario::H5 => v3_wire::PATH_H5,
            Scenario::App => v3_wire::PATH_APP,
            // WeChat Pay has no desktop payment page: a desktop payer scans a Native QR code.
            Scenario::Web => return Err(ChannelError::Unsupported),
        };
        let order = self.create_order(request)?;
        let created: Created = self.client.post(path, &order).await?;
        let missing = |field: &str| {
            ChannelError::Unknown(format!("WeChat Pay's create answer has no {field}"))
        };
        match &request.scenario {
            Scenario::Native => created
                .code_url
                .map(Prepared::CodeUrl)
                .ok_or_else(|| missing("code_url")),
            Scenario::H5 => created
                .h5_url
                .map(Prepared::RedirectUrl)
                .ok_or_else(|| missing("h5_url")),
            scenario => {
                let prepay_id = created.prepay_id.ok_or_else(|| missing("prepay_id"))?;
                self.invoke_params(scenario, &prepay_id)
            }
        }
    }

    fn parse_callback(
        &self,
        request: &CallbackRequest<'_>,
    ) -> Result<CallbackEvent, CallbackRefusal> {
        super::callback::parse(self, request)
    }

    /// A bill that does not parse, or whose summary disagrees with its rows, was not the bill
    /// WeChat Pay meant to send: an unknown outcome, to be fetched again.
    async fn bill(&self, day: chrono::NaiveDate) -> Result<Vec<BillLine>, ChannelError> {
        let text = self.download_bill(day).await?;
        if text.is_empty() {
            return Ok(Vec::new());
        }
        let bill = bill::parse(&text)
            .map_err(|e| ChannelError::Unknown(format!("the {day} bill does not read: {e}")))?;
        Ok(bill::to_lines(&bill))
    }

    fn callback_reply(&self, accepted: Result<(), &CallbackRefusal>) -> CallbackReply {
        super::callback::reply(accepted)
    }
}
