//! WeChat Pay micropay (付款码支付, B scans C) over API v2: flat XML signed with HMAC-SHA256
//! under the v2 key, at `/pay/micropay`, `/pay/orderquery` and `/secapi/pay/reverse`.
//!
//! Every answer is read in three layers (DESIGN §4): `return_code` (did the call get through),
//! `result_code` / `err_code` (did the request succeed), `trade_state` (what the trade is). An
//! answer whose signature does not verify, or that names another account or another trade, is
//! not trusted either way: the outcome is unknown and the order waits for a query. WeChat signs
//! only answers whose `return_code` is SUCCESS, so a FAIL one is unknown as well.
//!
//! Real WeChat asks for the merchant's API certificate (mutual TLS) on `/secapi/...`: give it
//! with `with_client_identity`.

use super::v2_sign::{self, V2SignType};
use super::v2_xml;
use crate::{ChannelError, DeclineReason, PayOutcome, PayRequest, Payer, TradeState};
use chrono::NaiveDateTime;
use paygate_domain::secret::Secret;
use paygate_domain::{Currency, TradeNo};
use rand::distributions::{Alphanumeric, DistString};
use rand::rngs::OsRng;
use std::collections::BTreeMap;
use std::time::Duration;

pub const MICROPAY_PATH: &str = "/pay/micropay";
pub const ORDER_QUERY_PATH: &str = "/pay/orderquery";
pub const REVERSE_PATH: &str = "/secapi/pay/reverse";

const SIGN_TYPE: V2SignType = V2SignType::HmacSha256;
const NONCE_LEN: usize = 32;
/// How many times a reverse is sent while WeChat answers `recall=Y` or a system error.
pub const REVERSE_ATTEMPTS_MAX: u32 = 5;
const REVERSE_PAUSE_MS_DEFAULT: u64 = 1_000;
const TIME_END_FORMAT: &str = "%Y%m%d%H%M%S";
/// `time_end` is China Standard Time.
const CST_OFFSET_MS: i64 = 8 * 3600 * 1000;

/// A micropay client for one merchant account; the adapter holds one.
#[derive(Debug, Clone)]
pub struct Micropay {
    base_url: String,
    appid: String,
    mch_id: String,
    key: Secret,
    http: reqwest::Client,
    timeout_ms: u64,
    reverse_pause_ms: u64,
}

/// A verified answer whose `return_code` is SUCCESS.
struct Answer(BTreeMap<String, String>);

impl Answer {
    /// A parameter, `None` when absent or empty.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn succeeded(&self) -> bool {
        self.get("result_code") == Some("SUCCESS")
    }

    fn err_code(&self) -> &str {
        self.get("err_code").unwrap_or("")
    }

    /// The business-layer failure, for `Rejected`.
    fn refusal(&self) -> String {
        format!(
            "{} {:?}",
            self.err_code(),
            self.get("err_code_des").unwrap_or("")
        )
    }

    fn require(&self, name: &str) -> Result<&str, ChannelError> {
        self.get(name)
            .ok_or_else(|| unknown(format!("the answer has no {name}")))
    }
}

fn unknown(why: impl Into<String>) -> ChannelError {
    ChannelError::Unknown(why.into())
}

fn http_client(timeout_ms: u64, identity: Option<reqwest::Identity>) -> reqwest::Client {
    let builder = reqwest::Client::builder().timeout(Duration::from_millis(timeout_ms));
    let builder = match identity {
        Some(identity) => builder.identity(identity),
        None => builder,
    };
    builder
        .build()
        .expect("the TLS backend initialises with the built-in roots")
}

impl Micropay {
    pub fn new(
        base_url: &str,
        appid: &str,
        mch_id: &str,
        v2_key: Secret,
        timeout_ms: u64,
    ) -> Micropay {
        Micropay {
            base_url: base_url.trim_end_matches('/').to_owned(),
            appid: appid.to_owned(),
            mch_id: mch_id.to_owned(),
            key: v2_key,
            http: http_client(timeout_ms, None),
            timeout_ms,
            reverse_pause_ms: REVERSE_PAUSE_MS_DEFAULT,
        }
    }

    /// The merchant's API certificate and private key (PEM, both in one buffer), which real
    /// WeChat requires for reverse.
    pub fn with_client_identity(mut self, pem: &[u8]) -> Result<Micropay, ChannelError> {
        let identity = reqwest::Identity::from_pem(pem)
            .map_err(|e| ChannelError::Rejected(format!("client certificate unreadable: {e}")))?;
        self.http = http_client(self.timeout_ms, Some(identity));
        Ok(self)
    }

    /// The pause between reverse attempts (default one second).
    pub fn with_reverse_pause_ms(mut self, reverse_pause_ms: u64) -> Micropay {
        self.reverse_pause_ms = reverse_pause_ms;
        self
    }

    /// Charges the payer's WeChat pay code. `PayerConfirming` means poll with `query`, and
    /// reverse when the order times out.
    pub async fn pay(&self, request: &PayRequest) -> Result<PayOutcome, ChannelError> {
        let Payer::WechatAuthCode(code) = &request.payer else {
            return Ok(PayOutcome::Declined(DeclineReason::PayCodeInvalid));
        };
        if request.money.currency != Currency::Cny {
            return Err(ChannelError::Rejected(
                "WeChat Pay micropay charges CNY only".into(),
            ));
        }
        let total_fee = request.money.amount.minor().to_string();
        let mut params = BTreeMap::from([
            ("body".to_owned(), request.subject.clone()),
            (
                "out_trade_no".to_owned(),
                request.trade_no.as_str().to_owned(),
            ),
            ("total_fee".to_owned(), total_fee.clone()),
            ("auth_code".to_owned(), code.as_str().to_owned()),
        ]);
        if let Some(ip) = &request.client_ip {
            params.insert("spbill_create_ip".into(), ip.clone());
        }
        let answer = self.call(MICROPAY_PATH, params).await?;
        if !answer.succeeded() {
            return pay_failure(&answer);
        }
        self.check_trade(&answer, &request.trade_no)?;
        if answer.require("total_fee")? != total_fee {
            return Err(unknown("the answer's total_fee is not the order's"));
        }
        Ok(PayOutcome::Paid {
            channel_trade_no: answer.require("transaction_id")?.to_owned(),
            paid_at_ms: time_end_ms(answer.require("time_end")?)?,
        })
    }

    pub async fn query(&self, trade_no: &TradeNo) -> Result<TradeState, ChannelError> {
        let params = BTreeMap::from([("out_trade_no".to_owned(), trade_no.as_str().to_owned())]);
        let answer = self.call(ORDER_QUERY_PATH, params).await?;
        if !answer.succeeded() {
            return match answer.err_code() {
                "ORDERNOTEXIST" => Ok(TradeState::NotFound),
                "SYSTEMERROR" => Err(unknown(answer.refusal())),
                _ => Err(ChannelError::Rejected(answer.refusal())),
            };
        }
        self.check_trade(&answer, trade_no)?;
        let state = answer.require("trade_state")?;
        match state {
            // A refunded trade was paid; refunds are the refund layer's business.
            "SUCCESS" | "REFUND" => Ok(TradeState::Paid {
                channel_trade_no: answer.require("transaction_id")?.to_owned(),
                paid_at_ms: time_end_ms(answer.require("time_end")?)?,
            }),
            "USERPAYING" => Ok(TradeState::PayerConfirming),
            // Not paid and not closed at WeChat: the order stays open until it is reversed or
            // expires, as for NOTPAY.
            "NOTPAY" | "PAYERROR" => Ok(TradeState::WaitingPayment),
            "CLOSED" | "REVOKED" => Ok(TradeState::Closed),
            other => Err(unknown(format!("unknown trade_state {other:?}"))),
        }
    }

    /// Reverses (撤销) a micropay trade: the payer gets back whatever was paid and the trade is
    /// closed. Sent again while WeChat answers `recall=Y` or a system error, at most
    /// `REVERSE_ATTEMPTS_MAX` times.
    pub async fn reverse(&self, trade_no: &TradeNo) -> Result<(), ChannelError> {
        let mut last = String::new();
        for attempt in 1..=REVERSE_ATTEMPTS_MAX {
            if attempt > 1 {
                tokio::time::sleep(Duration::from_millis(self.reverse_pause_ms)).await;
            }
            let params =
                BTreeMap::from([("out_trade_no".to_owned(), trade_no.as_str().to_owned())]);
            match self.call(REVERSE_PATH, params).await {
                Err(ChannelError::Unknown(why)) => last = why,
                Err(refused) => return Err(refused),
                Ok(answer) if answer.get("recall") == Some("Y") => last = "recall=Y".into(),
                Ok(answer) if answer.succeeded() => return Ok(()),
                Ok(answer) if answer.err_code() == "SYSTEMERROR" => last = answer.refusal(),
                Ok(answer) => return Err(ChannelError::Rejected(answer.refusal())),
            }
        }
        Err(unknown(format!(
            "reverse unsettled after {REVERSE_ATTEMPTS_MAX} attempts: {last}"
        )))
    }

    /// Signs and sends one request; answers only a verified answer of our account.
    async fn call(
        &self,
        path: &str,
        mut params: BTreeMap<String, String>,
    ) -> Result<Answer, ChannelError> {
        params.insert("appid".into(), self.appid.clone());
        params.insert("mch_id".into(), self.mch_id.clone());
        params.insert(
            "nonce_str".into(),
            Alphanumeric.sample_string(&mut OsRng, NONCE_LEN),
        );
        params.insert("sign_type".into(), SIGN_TYPE.as_str().into());
        let sign = v2_sign::sign(&params, self.key.expose(), SIGN_TYPE);
        params.insert("sign".into(), sign);
        let response = self
            .http
            .post(format!("{}{path}", self.base_url))
            .header(reqwest::header::CONTENT_TYPE, "text/xml; charset=utf-8")
            .body(v2_xml::to_xml(&params))
            .send()
            .await
            .map_err(|e| unknown(format!("{path}: {e}")))?;
        let status = response.status();
        if !status.is_success() {
            return Err(unknown(format!("{path}: HTTP {status}")));
        }
        let text = response
            .text()
            .await
            .map_err(|e| unknown(format!("{path}: {e}")))?;
        let answer = v2_xml::from_xml(&text).map_err(|e| unknown(format!("{path}: {e}")))?;
        self.verified(path, answer)
    }

    fn verified(
        &self,
        path: &str,
        answer: BTreeMap<String, String>,
    ) -> Result<Answer, ChannelError> {
        let answer = Answer(answer);
        if answer.get("return_code") != Some("SUCCESS") {
            return Err(unknown(format!(
                "{path}: return_code {:?} {:?}",
                answer.get("return_code").unwrap_or(""),
                answer.get("return_msg").unwrap_or("")
            )));
        }
        if !v2_sign::verify(&answer.0, self.key.expose(), SIGN_TYPE) {
            return Err(unknown(format!(
                "{path}: the answer's sign does not verify"
            )));
        }
        if answer.get("appid") != Some(self.appid.as_str())
            || answer.get("mch_id") != Some(self.mch_id.as_str())
        {
            return Err(unknown(format!(
                "{path}: the answer is for another account"
            )));
        }
        Ok(answer)
    }

    /// A successful answer must be about the trade we asked about.
    fn check_trade(&self, answer: &Answer, trade_no: &TradeNo) -> Result<(), ChannelError> {
        if answer.require("out_trade_no")? != trade_no.as_str() {
            return Err(unknown("the answer is about another trade"));
        }
        Ok(())
    }
}

/// The business layer of a refused micropay.
fn pay_failure(answer: &Answer) -> Result<PayOutcome, ChannelError> {
    let declined = |reason| Ok(PayOutcome::Declined(reason));
    match answer.err_code() {
        "USERPAYING" => Ok(PayOutcome::PayerConfirming),
        "AUTH_CODE_INVALID" | "AUTHCODEEXPIRE" | "AUTH_CODE_ERROR" => {
            declined(DeclineReason::PayCodeInvalid)
        }
        "NOTENOUGH" => declined(DeclineReason::InsufficientBalance),
        "NOTSUPORTCARD" | "BUYER_MISMATCH" | "TRADE_ERROR" | "ORDERCLOSED" | "ORDERREVERSED" => {
            declined(DeclineReason::Other(answer.err_code().to_owned()))
        }
        "PARAM_ERROR"
        | "NOAUTH"
        | "OUT_TRADE_NO_USED"
        | "INVALID_REQUEST"
        | "XML_FORMAT_ERROR"
        | "REQUIRE_POST_METHOD"
        | "SIGNERROR"
        | "LACK_PARAMS"
        | "NOT_UTF8"
        | "APPID_NOT_EXIST"
        | "MCHID_NOT_EXIST"
        | "APPID_MCHID_NOT_MATCH" => Err(ChannelError::Rejected(answer.refusal())),
        // SYSTEMERROR, BANKERROR, ORDERPAID (paid before: a query tells by whom and when) and
        // any code we do not know: the payer may have been charged.
        _ => Err(unknown(answer.refusal())),
    }
}

fn time_end_ms(text: &str) -> Result<i64, ChannelError> {
    let local = NaiveDateTime::parse_from_str(text, TIME_END_FORMAT)
        .map_err(|_| unknown(format!("time_end {text:?} is not yyyyMMddHHmmss")))?;
    Ok(local.and_utc().timestamp_millis() - CST_OFFSET_MS)
}
