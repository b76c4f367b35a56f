//! WeChat's web authorisation (网页授权) as the sandbox plays it: the payer's browser inside
//! WeChat is sent to `/connect/oauth2/authorize`, comes back to the page's `redirect_uri` with a
//! `code` and its `state`, and the page's server trades the code for the payer's `openid` at
//! `/sns/oauth2/access_token`. On WeChat the two live on open.weixin.qq.com and
//! api.weixin.qq.com; here both are on the sandbox's base URL. `snsapi_base` is silent (no
//! consent screen), so the sandbox redirects at once; a code is good once, for five minutes.

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::{ids, App};

/// How long WeChat honours an authorisation code.
pub(crate) const CODE_TTL: Duration = Duration::from_secs(300);
/// The access token's lifetime WeChat states (seconds).
const ACCESS_TOKEN_TTL_SECS: u32 = 7200;

/// Codes handed out and not yet expired.
#[derive(Default)]
pub(crate) struct Codes {
    issued: HashMap<String, Issued>,
}

struct Issued {
    scope: String,
    at: Instant,
    used: bool,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Authorize {
    appid: Option<String>,
    redirect_uri: Option<String>,
    response_type: Option<String>,
    scope: Option<String>,
    state: Option<String>,
}

/// WeChat answers a bad authorisation link with a page saying what is wrong, not a redirect.
fn page_refusal(why: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("WeChat sandbox: {why}"),
    )
        .into_response()
}

pub(crate) async fn authorize(State(app): State<App>, Query(ask): Query<Authorize>) -> Response {
    if ask.appid.as_deref() != Some(app.credentials.appid.as_str()) {
        return page_refusal("appid is not this official account's (10003 redirect_uri 参数错误)");
    }
    if ask.response_type.as_deref() != Some("code") {
        return page_refusal("response_type must be code");
    }
    let scope = match ask.scope.as_deref() {
        Some(scope @ ("snsapi_base" | "snsapi_userinfo")) => scope.to_owned(),
        _ => return page_refusal("scope must be snsapi_base or snsapi_userinfo (10005)"),
    };
    let Some(mut target) = ask
        .redirect_uri
        .as_deref()
        .and_then(|uri| reqwest::Url::parse(uri).ok())
        .filter(|url| matches!(url.scheme(), "http" | "https"))
    else {
        return page_refusal("redirect_uri must be an http(s) URL (10003)");
    };
    let code = ids::alnum(32);
    {
        let mut codes = app.codes();
        let now = Instant::now();
        codes.issued.retain(|_, issued| now - issued.at < CODE_TTL);
        codes.issued.insert(
            code.clone(),
            Issued {
                scope,
                at: now,
                used: false,
            },
        );
    }
    target.query_pairs_mut().append_pair("code", &code);
    if let Some(state) = &ask.state {
        target.query_pairs_mut().append_pair("state", state);
    }
    (StatusCode::FOUND, [(header::LOCATION, target.to_string())]).into_response()
}

#[derive(Debug, Deserialize)]
pub(crate) struct TokenAsk {
    appid: Option<String>,
    secret: Option<String>,
    code: Option<String>,
    grant_type: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Token {
    access_token: String,
    expires_in: u32,
    refresh_token: String,
    openid: String,
    scope: String,
}

#[derive(Debug, Serialize)]
struct WechatError {
    errcode: u32,
    errmsg: &'static str,
}

/// WeChat's API answers errors with HTTP 200 and an `errcode`.
fn api_error(errcode: u32, errmsg: &'static str) -> Response {
    Json(WechatError { errcode, errmsg }).into_response()
}

pub(crate) async fn access_token(State(app): State<App>, Query(ask): Query<TokenAsk>) -> Response {
    if ask.appid.as_deref() != Some(app.credentials.appid.as_str()) {
        return api_error(40013, "invalid appid");
    }
    if ask.secret.as_deref() != Some(app.credentials.app_secret.as_str()) {
        return api_error(40125, "invalid appsecret");
    }
    if ask.grant_type.as_deref() != Some("authorization_code") {
        return api_error(40002, "invalid grant_type");
    }
    let Some(code) = ask.code else {
        return api_error(41008, "missing code");
    };
    let scope = {
        let mut codes = app.codes();
        match codes.issued.get_mut(&code) {
            Some(issued) if issued.at.elapsed() >= CODE_TTL => {
                return api_error(40029, "invalid code")
            }
            Some(issued) if issued.used => return api_error(40163, "code been used"),
            Some(issued) => {
                issued.used = true;
                issued.scope.clone()
            }
            None => return api_error(40029, "invalid code"),
        }
    };
    Json(Token {
        access_token: ids::alnum(64),
        expires_in: ACCESS_TOKEN_TTL_SECS,
        refresh_token: ids::alnum(64),
        openid: app.credentials.payer_openid.clone(),
        scope,
    })
    .into_response()
}
