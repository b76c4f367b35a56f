//! The gateway's HTTP plumbing: every request signed as the merchant, every answer checked
//! against UnionPay's pinned certificate before anything in it is believed. What cannot be
//! trusted (no answer, a non-200, a wrongly signed answer) is an unknown outcome, never a
//! refusal; an unsigned answer is believed only as a refusal of the call itself.

use std::collections::BTreeMap;
use std::time::Duration;

use paygate_domain::sign::RsaPrivateKey;

use super::config::{ConfigError, UnionpayConfig};
use super::sign::{self, SigningCert};
use super::wire::{self, Resp};
use crate::ChannelError;

/// The field in which version 5.1.0 carries UnionPay's signing certificate.
pub(crate) const SIGN_PUB_KEY_CERT: &str = "signPubKeyCert";

#[derive(Debug, Clone)]
pub(crate) struct Client {
    http: reqwest::Client,
    key: RsaPrivateKey,
    cert_id: String,
    pub(crate) unionpay: SigningCert,
}

/// A signed, verified answer.
#[derive(Debug, Clone)]
pub(crate) struct Answer(pub(crate) BTreeMap<String, String>);

impl Answer {
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub(crate) fn require(&self, name: &'static str) -> Result<&str, ChannelError> {
        self.get(name)
            .ok_or_else(|| ChannelError::Unknown(format!("UnionPay's answer has no {name}")))
    }

    pub(crate) fn resp_code(&self) -> &str {
        self.get("respCode").unwrap_or("")
    }

    pub(crate) fn refusal(&self) -> String {
        format!(
            "{}: {}",
            self.resp_code(),
            self.get("respMsg").unwrap_or("")
        )
    }

    /// The request layer: `Ok` when UnionPay took it, unknown while it is pending, rejected
    /// when it refused.
    pub(crate) fn accepted(&self) -> Result<(), ChannelError> {
        match Resp::of(self.resp_code()) {
            Resp::Succeeded => Ok(()),
            Resp::Pending => Err(ChannelError::Unknown(format!(
                "UnionPay has not decided yet ({})",
                self.refusal()
            ))),
            Resp::Failed => Err(ChannelError::Rejected(self.refusal())),
        }
    }
}

/// Whether UnionPay's signature over `fields` holds, made with the pinned certificate.
pub(crate) fn check_signed(
    unionpay: &SigningCert,
    fields: &BTreeMap<String, String>,
) -> Result<(), String> {
    let pem = fields
        .get(SIGN_PUB_KEY_CERT)
        .ok_or_else(|| format!("no {SIGN_PUB_KEY_CERT}"))?;
    let cert = SigningCert::from_pem(pem).map_err(|e| e.to_string())?;
    if cert.der != unionpay.der {
        return Err(format!(
            "signed by certificate {}, not UnionPay's {}",
            cert.cert_id, unionpay.cert_id
        ));
    }
    sign::verify(&unionpay.public_key, fields).map_err(|e| e.to_string())
}

impl Client {
    pub(crate) fn new(
        config: &UnionpayConfig,
        unionpay: SigningCert,
    ) -> Result<Client, ConfigError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.http_timeout_ms))
            .user_agent(concat!(
                "paygate/",
                env!("CARGO_PKG_VERSION"),
                " (UnionPay 5.1.0)"
            ))
            .build()
            .map_err(|e| ConfigError::HttpClient(e.to_string()))?;
        Ok(Client {
            http,
            key: config.sign_key.clone(),
            cert_id: config.cert_id.clone(),
            unionpay,
        })
    }

    /// Adds `certId` and `signature` to a request.
    pub(crate) fn sign(
        &self,
        mut fields: BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, ChannelError> {
        fields.insert("certId".into(), self.cert_id.clone());
        fields.remove(sign::SIGNATURE);
        let signature = sign::sign(&self.key, &fields)
            .map_err(|e| ChannelError::Rejected(format!("could not sign the request: {e}")))?;
        fields.insert(sign::SIGNATURE.into(), signature);
        Ok(fields)
    }

    /// Posts a request and answers it once its signature holds.
    pub(crate) async fn call(
        &self,
        url: &str,
        fields: BTreeMap<String, String>,
    ) -> Result<Answer, ChannelError> {
        let body = wire::encode_form(&self.sign(fields)?);
        let response = self
            .http
            .post(url)
            .header(
                "Content-Type",
                "application/x-www-form-urlencoded;charset=UTF-8",
            )
            .body(body)
            .send()
            .await
            .map_err(|e| {
                let kind = if e.is_timeout() {
                    "timed out"
                } else {
                    "failed"
                };
                ChannelError::Unknown(format!("UnionPay call {kind}: {e}"))
            })?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| ChannelError::Unknown(format!("reading UnionPay's answer failed: {e}")))?;
        if status != reqwest::StatusCode::OK {
            return Err(ChannelError::Unknown(format!("UnionPay answered {status}")));
        }
        let fields = wire::parse_answer(&text);
        if !fields.contains_key(sign::SIGNATURE) {
            // UnionPay leaves some refusals of malformed requests unsigned: a refusal of this
            // call, never a fact about a trade.
            let answer = Answer(fields);
            return match Resp::of(answer.resp_code()) {
                Resp::Failed if !answer.resp_code().is_empty() => {
                    Err(ChannelError::Rejected(answer.refusal()))
                }
                _ => Err(ChannelError::Unknown(
                    "UnionPay's answer is not signed".into(),
                )),
            };
        }
        check_signed(&self.unionpay, &fields)
            .map_err(|e| ChannelError::Unknown(format!("UnionPay's answer is not trusted: {e}")))?;
        Ok(Answer(fields))
    }
}
