//! Message authentication as WeChat Pay's server does it: every v3 request must carry a valid
//! `WECHATPAY2-SHA256-RSA2048` Authorization from our merchant (its mchid and certificate
//! serial, a timestamp within five minutes, a signature over the request as sent), and every
//! answer is signed with the platform key and names it by its public key id.

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{FromRequest, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use paygate_channels::wechat::v3_auth::{self, response_message, Authorization, Request as Signed};

use crate::v3::V3Error;
use crate::{ids, App, BODY_BYTES_MAX};

/// WeChat Pay refuses a request signed more than five minutes away from its clock.
pub const TIMESTAMP_SKEW_SECS_MAX: i64 = 300;

/// A v3 request whose signature checked out; its body is UTF-8.
pub struct Verified {
    pub body: String,
}

impl FromRequest<App> for Verified {
    type Rejection = V3Error;

    async fn from_request(request: Request, app: &App) -> Result<Self, Self::Rejection> {
        let method = request.method().as_str().to_owned();
        let url = request
            .uri()
            .path_and_query()
            .map(|pq| pq.as_str().to_owned())
            .unwrap_or_default();
        let header = request
            .headers()
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let bytes = Bytes::from_request(request, app)
            .await
            .map_err(|_| V3Error::param("the body could not be read"))?;
        let body = String::from_utf8(bytes.to_vec())
            .map_err(|_| V3Error::param("the body is not UTF-8"))?;
        let now = chrono::Utc::now().timestamp();
        check(app, header.as_deref(), &method, &url, &body, now)?;
        Ok(Verified { body })
    }
}

fn check(
    app: &App,
    header: Option<&str>,
    method: &str,
    url: &str,
    body: &str,
    now_secs: i64,
) -> Result<(), V3Error> {
    let header = header.ok_or_else(|| V3Error::sign("Authorization header missing"))?;
    let auth = Authorization::parse(header)
        .ok_or_else(|| V3Error::sign("Authorization header malformed"))?;
    if auth.mchid != app.credentials.mchid {
        return Err(V3Error::sign("mchid does not match the signer"));
    }
    if auth.serial_no != app.credentials.merchant_serial_no {
        return Err(V3Error::sign(
            "serial_no names no certificate of this merchant",
        ));
    }
    if (now_secs - auth.timestamp).abs() > TIMESTAMP_SKEW_SECS_MAX {
        return Err(V3Error::sign("timestamp is more than 5 minutes away"));
    }
    let request = Signed { method, url, body };
    auth.verify(&app.merchant_key, &request).map_err(|_| {
        tracing::info!(%method, %url, "sandbox refused a request: signature mismatch");
        V3Error::sign("signature does not verify")
    })
}

/// Middleware over the v3 routes: signs every answer, errors included.
pub async fn sign_answers(State(app): State<App>, request: Request, next: Next) -> Response {
    let answer = next.run(request).await;
    let (mut parts, body) = answer.into_parts();
    let bytes = to_bytes(body, BODY_BYTES_MAX).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    let timestamp = chrono::Utc::now().timestamp();
    let nonce = ids::nonce();
    let signature = app
        .platform_key
        .sign_string(&response_message(timestamp, &nonce, &text))
        .expect("the platform key signs");
    let headers = &mut parts.headers;
    let mut set = |name: &'static str, value: &str| {
        let value = HeaderValue::from_str(value).expect("ASCII header values");
        headers.insert(name, value);
    };
    set("Wechatpay-Timestamp", &timestamp.to_string());
    set("Wechatpay-Nonce", &nonce);
    set("Wechatpay-Signature", &signature);
    set("Wechatpay-Serial", &app.credentials.platform_public_key_id);
    // SDKs (wechatpayv3 among them) refuse an answer that does not name its algorithm.
    set("Wechatpay-Signature-Type", v3_auth::AUTH_SCHEME);
    set("Request-ID", &uuid::Uuid::new_v4().simple().to_string());
    Response::from_parts(parts, Body::from(bytes))
}
