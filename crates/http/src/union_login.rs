//! Union login's two doors: `POST /api/union-login`, a signed merchant call answering the
//! encrypted login link, and `GET /cashier/login`, where the payer's browser trades the link's
//! one-time ticket for the `pg_cashier` session cookie.

use crate::error::ApiError;
use crate::payer_pages::{page, Page};
use crate::signed::Signed;
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use paygate_api::union_login::{UnionLogin, UnionLoginView};
use paygate_api::ErrorResponse;
use paygate_app::union_login::TicketRefusal;
use paygate_app::App;
use paygate_domain::union_login::{LoginTicket, SESSION_TTL_SECS};
use serde::Deserialize;

/// The cashier session cookie's name.
pub const SESSION_COOKIE: &str = "pg_cashier";

/// Log a partner's user into the cashier. Answers the login URL encrypted with the merchant's
/// union-login key, which the partner decrypts and redirects its user to.
///
/// Decryption: `encrypted_url` is base64 (standard alphabet, with padding) of nonce || ciphertext
/// || tag: a 12-byte nonce, the AES-256-GCM ciphertext of the login URL (UTF-8), and the 16-byte
/// tag, with no associated data. The key is the merchant's union-login key: 32 bytes, given to
/// the merchant as 64 hex characters by `paygate merchant union-login-key <merchant_id>`.
/// Split off the first 12 bytes as the nonce, decrypt the rest (ciphertext followed by tag) with
/// AES-256-GCM, and redirect the user's browser to the URL it yields,
/// `<public_url>/cashier/login?ticket=<43 base64url characters>`. The ticket is single use and
/// expires after `expires_in` seconds (300); the session it opens lasts 15 minutes.
///
/// `out_trade_no`, when given, must name one of the merchant's own orders (else 1003); the
/// payer lands on that order's cashier, otherwise on `/cashier/me`. A malformed `phone_md5` (32
/// lowercase hex characters) or `partner_user_id` (1-64 characters) answers 1001 naming it.
#[utoipa::path(post, path = "/api/union-login", tag = "partner",
    request_body = UnionLogin,
    responses((status = 200, body = UnionLoginView),
              (status = "4XX", body = ErrorResponse),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn union_login(
    Signed { caller, request }: Signed<UnionLogin>,
) -> Result<Response, ApiError> {
    let link = caller
        .app
        .union_login(&caller.merchant, &request)
        .await
        .map_err(|e| caller.fail(e))?;
    let view = UnionLoginView {
        encrypted_url: link.encrypted_url,
        expires_in: link.expires_in_secs,
    };
    Ok(caller.ok(view.to_fields()))
}

#[derive(Debug, Deserialize)]
pub struct TicketQuery {
    ticket: Option<String>,
}

/// The `Set-Cookie` value of a new session: `Secure` whenever the public URL is https.
fn session_cookie(public_url: &str, token: &str) -> String {
    let secure = if public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/cashier; \
         Max-Age={SESSION_TTL_SECS}{secure}"
    )
}

fn refused(reason: &str, why_zh: &str, why_en: &str) -> Response {
    let body = format!(
        "<p id=\"login-error\" role=\"alert\" data-reason=\"{reason}\">{why_zh}<br>{why_en}</p>\
         <p>请回到合作方应用重新进入。Please go back to the app you came from and open the \
         cashier again.</p>"
    );
    page(
        StatusCode::FORBIDDEN,
        Page::new("登录失败 Login failed", body),
    )
}

/// Trade a login link's ticket for a cashier session: sets the `pg_cashier` cookie (HttpOnly,
/// SameSite=Strict, Path=/cashier, Secure under an https public URL, 15 minutes) and redirects
/// to the order's cashier or `/cashier/me`. The ticket works once, within 5 minutes of the
/// union login; an unknown, expired or used ticket gets a 403 page and no cookie.
#[utoipa::path(get, path = "/cashier/login", tag = "cashier",
    params(("ticket" = String, Query, description = "The one-time ticket from the union-login link",
            pattern = "^[0-9A-Za-z_-]{43}$")),
    responses((status = 303, description = "logged in; `Set-Cookie: pg_cashier=...`, \
                                             `Location` the order's cashier or /cashier/me"),
              (status = 403, description = "unknown, expired or used ticket (HTML page)",
               content_type = "text/html"),
              (status = 503, description = "try again")))]
pub async fn login(State(app): State<App>, Query(query): Query<TicketQuery>) -> Response {
    let Some(ticket) = query.ticket.as_deref().and_then(LoginTicket::presented) else {
        return refused("unknown", "登录链接无效。", "This login link is not valid.");
    };
    let login = match app.cashier_login(&ticket).await {
        Ok(Ok(login)) => login,
        Ok(Err(TicketRefusal::Unknown)) => {
            return refused("unknown", "登录链接无效。", "This login link is not valid.")
        }
        Ok(Err(TicketRefusal::Expired)) => {
            return refused(
                "expired",
                "登录链接已过期。",
                "This login link has expired.",
            )
        }
        Ok(Err(TicketRefusal::Used)) => {
            return refused(
                "used",
                "登录链接已使用过。",
                "This login link was already used.",
            )
        }
        Err(error) => {
            tracing::error!(%error, "cashier login failed");
            return (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response();
        }
    };
    let location = match &login.trade_no {
        Some(trade_no) => format!("/cashier/{trade_no}"),
        None => "/cashier/me".to_owned(),
    };
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
    let headers = response.headers_mut();
    let cookie = HeaderValue::from_str(&session_cookie(
        &app.settings().public_url,
        login.token.as_str(),
    ))
    .expect("a token is base64url");
    headers.insert(header::SET_COOKIE, cookie);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_strict_http_only_and_secure_under_https() {
        assert_eq!(
            session_cookie("https://pay.example", "tok"),
            "pg_cashier=tok; HttpOnly; SameSite=Strict; Path=/cashier; Max-Age=900; Secure"
        );
        assert_eq!(
            session_cookie("http://127.0.0.1:8080", "tok"),
            "pg_cashier=tok; HttpOnly; SameSite=Strict; Path=/cashier; Max-Age=900"
        );
    }
}
