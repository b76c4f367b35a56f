//! WeChat's web authorisation (网页授权) with `snsapi_base`: how a page opened in WeChat's
//! browser learns the payer's `openid` under the official account, which JSAPI payment needs.
//! The browser is sent to the authorisation link and comes back with a `code`; our server
//! trades it, with the account's AppSecret, for the openid. The code is single use.

use async_trait::async_trait;
use paygate_domain::secret::Secret;
use reqwest::Url;
use serde::Deserialize;
use std::time::Duration;

use crate::{ChannelError, PayerSignIn};

pub const AUTHORIZE_PATH: &str = "/connect/oauth2/authorize";
pub const ACCESS_TOKEN_PATH: &str = "/sns/oauth2/access_token";
/// Where WeChat serves the two, when not a sandbox.
pub const AUTHORIZE_BASE_URL: &str = "https://open.weixin.qq.com";
pub const API_BASE_URL: &str = "https://api.weixin.qq.com";

/// One official account's web authorisation.
#[derive(Debug, Clone)]
pub struct WechatSignIn {
    authorize_base_url: String,
    api_base_url: String,
    appid: String,
    app_secret: Secret,
    http: reqwest::Client,
}

#[derive(Debug, Deserialize)]
struct Answer {
    #[serde(default)]
    openid: Option<String>,
    #[serde(default)]
    errcode: Option<i64>,
    #[serde(default)]
    errmsg: Option<String>,
}

impl WechatSignIn {
    pub fn new(
        authorize_base_url: &str,
        api_base_url: &str,
        appid: &str,
        app_secret: Secret,
        timeout_ms: u64,
    ) -> Result<WechatSignIn, ChannelError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(timeout_ms))
            .build()
            .map_err(|e| ChannelError::Rejected(format!("HTTP client: {e}")))?;
        Ok(WechatSignIn {
            authorize_base_url: authorize_base_url.trim_end_matches('/').to_owned(),
            api_base_url: api_base_url.trim_end_matches('/').to_owned(),
            appid: appid.to_owned(),
            app_secret,
            http,
        })
    }
}

#[async_trait]
impl PayerSignIn for WechatSignIn {
    /// WeChat reads the parameters in its documented order and needs the `#wechat_redirect`
    /// fragment, so the link is built by hand rather than by a query serialiser.
    fn authorize_url(&self, redirect_uri: &str, state: &str) -> String {
        let encode =
            |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
        format!(
            "{}{AUTHORIZE_PATH}?appid={}&redirect_uri={}&response_type=code&scope=snsapi_base&state={}#wechat_redirect",
            self.authorize_base_url,
            encode(&self.appid),
            encode(redirect_uri),
            encode(state),
        )
    }

    async fn payer_id(&self, code: &str) -> Result<String, ChannelError> {
        let mut url = Url::parse(&format!("{}{ACCESS_TOKEN_PATH}", self.api_base_url))
            .map_err(|e| ChannelError::Rejected(format!("api base URL: {e}")))?;
        url.query_pairs_mut()
            .append_pair("appid", &self.appid)
            .append_pair("secret", self.app_secret.expose())
            .append_pair("code", code)
            .append_pair("grant_type", "authorization_code");
        let answer = self.http.get(url).send().await.map_err(|e| {
            ChannelError::Unknown(format!("web authorisation: {}", e.without_url()))
        })?;
        let status = answer.status();
        if !status.is_success() {
            return Err(ChannelError::Unknown(format!(
                "web authorisation answered HTTP {status}"
            )));
        }
        let answer: Answer = answer
            .json()
            .await
            .map_err(|e| ChannelError::Unknown(format!("web authorisation's answer: {e}")))?;
        match (answer.errcode, answer.openid) {
            (Some(code), _) if code != 0 => Err(ChannelError::Rejected(format!(
                "{code}: {}",
                answer.errmsg.unwrap_or_default()
            ))),
            (_, Some(openid)) if !openid.is_empty() => Ok(openid),
            _ => Err(ChannelError::Unknown(
                "web authorisation answered no openid".into(),
            )),
        }
    }
}
