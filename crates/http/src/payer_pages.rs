//! The small HTML pages of the payer's own session (login refusals, wallet payment, my pay
//! code): one shell, every interpolated text escaped, never cached, never leaking the URL (which
//! may carry a ticket) as a referrer.

use crate::union_login::SESSION_COOKIE;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use paygate_app::union_login::CashierSession;
use paygate_app::App;

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A page: its (escaped here) title and its body, already escaped HTML.
pub(crate) struct Page {
    title: String,
    body: String,
}

impl Page {
    pub(crate) fn new(title: &str, body: String) -> Page {
        Page {
            title: escape(title),
            body,
        }
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;\
    padding:0 1rem;color:#111;background:#fff}label{display:block;margin:.8rem 0 .3rem}\
    input{font-size:1.2rem;padding:.4rem;width:10rem;letter-spacing:.3rem}\
    button{font-size:1rem;padding:.5rem 1.2rem;margin-top:1rem;background:#0a5;color:#fff;\
    border:0;border-radius:4px}button:focus,input:focus{outline:3px solid #036}\
    [role=alert]{color:#a00;font-weight:bold}#pay-code{font-size:1.6rem;letter-spacing:.15rem}";

pub(crate) fn page(status: StatusCode, page: Page) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>{title}</title><style>{STYLE}</style></head><body>{body}</body></html>",
        title = page.title,
        body = page.body,
    );
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// The value of the session cookie, if the request carries one.
fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value)
}

/// The payer's live session, if the request's cookie names one. A failed lookup counts as no
/// session (and is logged): the payer is sent to log in again rather than shown an error.
pub(crate) async fn session_of(app: &App, headers: &HeaderMap) -> Option<CashierSession> {
    let token = session_cookie(headers)?;
    match app.cashier_session(token).await {
        Ok(session) => session,
        Err(error) => {
            tracing::error!(%error, "cashier session lookup failed");
            None
        }
    }
}

/// The page for a request that needs a session and has none.
pub(crate) fn no_session() -> Response {
    page(
        StatusCode::UNAUTHORIZED,
        Page::new(
            "请先登录 Please log in",
            "<p id=\"wallet-error\" role=\"alert\" data-reason=\"no-session\">钱包支付需要先从合作方应用登录。\
             <br>Paying from the wallet needs you to arrive from the partner's app, logged in.</p>"
                .to_owned(),
        ),
    )
}

pub(crate) fn unavailable() -> Response {
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        Page::new(
            "请稍后再试 Try again",
            "<p role=\"alert\">服务繁忙，请稍后再试。Please try again shortly.</p>".to_owned(),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_both_quotes() {
        assert_eq!(
            escape(r#"<script>"a" & 'b'</script>"#),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn the_session_cookie_is_found_among_others_and_headers() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; pg_cashierx=no"),
        );
        assert_eq!(session_cookie(&headers), None);
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("b=2; pg_cashier=tok; c=3"),
        );
        assert_eq!(session_cookie(&headers), Some("tok"));
    }
}
