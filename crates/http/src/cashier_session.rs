//! The payer's own cashier pages, behind the `pg_cashier` session that union login opens:
//! paying an order from the wallet with the pay password (setting one first if the account has
//! none), and "my pay code" for a merchant's counter. `wallet_way` tells the cashier page
//! whether and how to offer the wallet among an order's ways.

use crate::payer_pages::{escape, no_session, page, session_of, unavailable, Page};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use paygate_app::union_login::{CashierSession, WalletPayRefusal};
use paygate_app::App;
use paygate_domain::union_login::PayPassword;
use paygate_domain::{Money, OrderRecord, PayType, TradeNo};
use serde::Deserialize;
use subtle::ConstantTimeEq;

/// How the cashier page shows the wallet way of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletWay {
    /// The session's balance as a decimal (`12.34`), when the payer has a session of the
    /// order's merchant; `None` otherwise (the link then asks the payer to log in).
    pub balance: Option<String>,
    /// Where `a#wallet-link` points: `/cashier/{trade_no}/wallet`.
    pub link: String,
}

/// The wallet way of `order`, or `None` when the wallet cannot pay it: an unpaid wallet order,
/// or an unpaid cashier (`auto`) order whose merchant enabled the wallet and whose way is not
/// yet another.
pub async fn wallet_way(app: &App, headers: &HeaderMap, order: &OrderRecord) -> Option<WalletWay> {
    if !order.status.is_unpaid_open() {
        return None;
    }
    match order.pay_type {
        PayType::Wallet => {}
        PayType::Auto
            if order
                .chosen_pay_type
                .is_none_or(|way| way == PayType::Wallet) =>
        {
            let merchant = app.get_merchant(&order.merchant_id).await.ok()??;
            if !merchant.pay_types.contains(&PayType::Wallet) {
                return None;
            }
        }
        _ => return None,
    }
    let mut balance = None;
    if let Some(session) = session_of(app, headers).await {
        if session.grant.merchant == order.merchant_id {
            balance = app
                .session_balance(&session)
                .await
                .ok()
                .map(|amount| Money::new(amount, order.currency).to_major_string());
        }
    }
    Some(WalletWay {
        balance,
        link: format!("/cashier/{}/wallet", order.trade_no),
    })
}

/// What the wallet page says went wrong, if anything.
struct Problem {
    status: StatusCode,
    reason: &'static str,
    message: String,
}

impl Problem {
    fn new(status: StatusCode, reason: &'static str, message: &str) -> Problem {
        Problem {
            status,
            reason,
            message: message.to_owned(),
        }
    }

    fn html(&self) -> String {
        format!(
            "<p id=\"wallet-error\" role=\"alert\" data-reason=\"{}\">{}</p>",
            self.reason,
            escape(&self.message)
        )
    }
}

/// What the page says of a refusal; `None` for an internal failure (logged here), which the
/// payer sees as "try again".
fn refusal_problem(refusal: WalletPayRefusal) -> Option<Problem> {
    Some(match refusal {
        WalletPayRefusal::NotPayable(why) => Problem {
            status: StatusCode::CONFLICT,
            reason: "not-payable",
            message: format!(
                "此订单不能用钱包支付。This order cannot be paid from the wallet: {why}."
            ),
        },
        WalletPayRefusal::NoPassword => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "no-password",
            "请先设置支付密码。Please set a pay password first.",
        ),
        WalletPayRefusal::WrongPassword => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "wrong-password",
            "支付密码错误，未扣款。Wrong pay password; nothing was charged.",
        ),
        WalletPayRefusal::Locked { .. } => Problem::new(
            StatusCode::LOCKED,
            "locked",
            "密码错误次数过多，钱包支付已锁定 15 分钟。Too many wrong pay passwords: wallet \
             payments are locked for 15 minutes.",
        ),
        WalletPayRefusal::InsufficientBalance => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "insufficient-balance",
            "余额不足，未扣款。Insufficient balance; nothing was charged.",
        ),
        WalletPayRefusal::Failed(error) => {
            tracing::error!(%error, "wallet payment in the cashier failed");
            return None;
        }
    })
}

/// The wallet page of `trade_no` for `session`, showing `problem` if any.
async fn wallet_page(
    app: &App,
    session: &CashierSession,
    trade_no: &TradeNo,
    problem: Option<Problem>,
) -> Response {
    let order = match app.wallet_payable_order(session, trade_no).await {
        Ok(Ok(order)) => order,
        Ok(Err(refusal)) => {
            let Some(problem) = refusal_problem(refusal) else {
                return unavailable();
            };
            let body = format!(
                "<main id=\"wallet\" data-trade-no=\"{trade_no}\"><h1>钱包支付 Pay from wallet</h1>{}\
                 <p><a href=\"/cashier/{trade_no}\">返回收银台 Back to the cashier</a></p></main>",
                problem.html()
            );
            return page(problem.status, Page::new("钱包支付 Pay from wallet", body));
        }
        Err(error) => {
            tracing::error!(%error, "wallet page lookup failed");
            return unavailable();
        }
    };
    let details = async {
        let balance = app.session_balance(session).await?;
        let has_password = app.has_pay_password(session).await?;
        let merchant = app.get_merchant(&order.merchant_id).await?;
        Ok::<_, paygate_app::AppError>((balance, has_password, merchant))
    };
    let (balance, has_password, merchant) = match details.await {
        Ok(details) => details,
        Err(error) => {
            tracing::error!(%error, "wallet page lookup failed");
            return unavailable();
        }
    };
    let merchant_name = merchant.map(|m| m.name).unwrap_or_default();
    let csrf = session.token.csrf_token();
    let form = if has_password {
        format!(
            "<form method=\"post\" action=\"/cashier/{trade_no}/wallet\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <label for=\"pay-password\">支付密码 Pay password (6 digits)</label>\
             <input id=\"pay-password\" name=\"pay_password\" type=\"password\" inputmode=\"numeric\" \
             pattern=\"[0-9]{{6}}\" maxlength=\"6\" autocomplete=\"off\" required>\
             <button id=\"wallet-confirm\" type=\"submit\">确认支付 Confirm payment</button></form>"
        )
    } else {
        format!(
            "<form method=\"post\" action=\"/cashier/{trade_no}/wallet\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <p>请先设置 6 位数字支付密码。Set a 6-digit pay password first.</p>\
             <label for=\"new-pay-password\">新支付密码 New pay password</label>\
             <input id=\"new-pay-password\" name=\"new_pay_password\" type=\"password\" \
             inputmode=\"numeric\" pattern=\"[0-9]{{6}}\" maxlength=\"6\" autocomplete=\"new-password\" required>\
             <label for=\"new-pay-password-again\">再次输入 Again</label>\
             <input id=\"new-pay-password-again\" name=\"new_pay_password_again\" type=\"password\" \
             inputmode=\"numeric\" pattern=\"[0-9]{{6}}\" maxlength=\"6\" autocomplete=\"new-password\" required>\
             <button id=\"wallet-set-password\" type=\"submit\">设置密码 Set password</button></form>"
        )
    };
    let currency = order.currency;
    let body = format!(
        "<main id=\"wallet\" data-trade-no=\"{trade_no}\"><h1>钱包支付 Pay from wallet</h1>\
         <p>商户 Merchant: <span id=\"merchant-name\">{merchant}</span></p>\
         <p>商品 Subject: <span id=\"subject\">{subject}</span></p>\
         <p>金额 Amount: <span id=\"amount\">{amount}</span> {currency}</p>\
         <p>钱包余额 Balance: <span id=\"wallet-balance\">{balance}</span> {currency}</p>\
         {problem}{form}\
         <p><a href=\"/cashier/{trade_no}\">返回收银台 Back to the cashier</a></p></main>",
        merchant = escape(&merchant_name),
        subject = escape(&order.subject),
        amount = Money::new(order.total_amount, currency).to_major_string(),
        balance = Money::new(balance, currency).to_major_string(),
        problem = problem.as_ref().map(Problem::html).unwrap_or_default(),
    );
    let status = problem.map_or(StatusCode::OK, |p| p.status);
    page(status, Page::new("钱包支付 Pay from wallet", body))
}

fn not_found() -> Response {
    page(
        StatusCode::NOT_FOUND,
        Page::new(
            "订单不存在 No such order",
            "<p role=\"alert\">订单不存在。No such order.</p>".into(),
        ),
    )
}

/// The wallet payment page of an order: balance, and the pay password to confirm with (or,
/// for an account without one, the form that sets it). Needs the payer's `pg_cashier` session
/// of the order's merchant.
#[utoipa::path(get, path = "/cashier/{trade_no}/wallet", tag = "cashier",
    params(("trade_no" = String, Path, description = "Our trade number")),
    responses((status = 200, description = "HTML page: `#wallet-balance`, `input#pay-password`, \
                                             `button#wallet-confirm` (or the set-password form)",
               content_type = "text/html"),
              (status = 401, description = "no cashier session (log in through the partner)"),
              (status = 404, description = "no such order"),
              (status = 409, description = "the order is not this session's merchant's, not \
                                             unpaid, expired, or not payable from the wallet")))]
pub async fn wallet_get(
    State(app): State<App>,
    Path(trade_no): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(session) = session_of(&app, &headers).await else {
        return no_session();
    };
    let Ok(trade_no) = TradeNo::parse(&trade_no) else {
        return not_found();
    };
    wallet_page(&app, &session, &trade_no, None).await
}

/// The wallet form: `csrf` always; `pay_password` to pay, or `new_pay_password` twice to set
/// the account's first pay password.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct WalletForm {
    /// The session's anti-forgery token from the page.
    csrf: String,
    /// 6 digits.
    pay_password: Option<String>,
    /// 6 digits.
    new_pay_password: Option<String>,
    new_pay_password_again: Option<String>,
}

/// Whether the form carries this session's anti-forgery token, compared in constant time.
fn csrf_holds(session: &CashierSession, form: &WalletForm) -> bool {
    let expected = session.token.csrf_token();
    expected.as_bytes().ct_eq(form.csrf.as_bytes()).into()
}

async fn set_password(
    app: &App,
    session: &CashierSession,
    trade_no: &TradeNo,
    form: &WalletForm,
) -> Response {
    let first = form.new_pay_password.as_deref().unwrap_or_default();
    let again = form.new_pay_password_again.as_deref().unwrap_or_default();
    let problem = |reason, message| {
        Some(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            reason,
            message,
        ))
    };
    let Ok(password) = PayPassword::parse(first) else {
        let why = "支付密码须为 6 位数字。The pay password must be 6 digits.";
        return wallet_page(app, session, trade_no, problem("bad-password", why)).await;
    };
    if first != again {
        let why = "两次输入不一致。The two entries differ.";
        return wallet_page(app, session, trade_no, problem("password-mismatch", why)).await;
    }
    match app.set_pay_password(session, password).await {
        // Already set (another tab): the page now asks for it either way.
        Ok(_) => (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, format!("/cashier/{trade_no}/wallet"))],
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "setting the pay password failed");
            unavailable()
        }
    }
}

/// Pay the order from the session's wallet with the pay password (or set the first pay
/// password). Nothing is charged without the right password; five wrong ones in a row lock
/// wallet payments of the account for 15 minutes. Success redirects to the order's result page.
#[utoipa::path(post, path = "/cashier/{trade_no}/wallet", tag = "cashier",
    params(("trade_no" = String, Path, description = "Our trade number")),
    request_body(content = WalletForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "paid: `Location: /cashier/{trade_no}/result`; or \
                                             the password was set: back to the wallet page"),
              (status = 401, description = "no cashier session"),
              (status = 403, description = "the form's anti-forgery token is wrong"),
              (status = 404, description = "no such order"),
              (status = 409, description = "the order cannot be paid from this session's wallet"),
              (status = 422, description = "wrong or malformed password, or insufficient \
                                             balance; nothing charged (`#wallet-error`)"),
              (status = 423, description = "wallet payments locked after 5 wrong passwords")))]
pub async fn wallet_post(
    State(app): State<App>,
    Path(trade_no): Path<String>,
    headers: HeaderMap,
    Form(form): Form<WalletForm>,
) -> Response {
    let Some(session) = session_of(&app, &headers).await else {
        return no_session();
    };
    let Ok(trade_no) = TradeNo::parse(&trade_no) else {
        return not_found();
    };
    if !csrf_holds(&session, &form) {
        let body =
            "<p id=\"wallet-error\" role=\"alert\" data-reason=\"csrf\">页面已失效，请返回重试。\
                    This page expired; go back and try again.</p>";
        return page(
            StatusCode::FORBIDDEN,
            Page::new("钱包支付 Pay from wallet", body.into()),
        );
    }
    if form.new_pay_password.is_some() {
        return set_password(&app, &session, &trade_no, &form).await;
    }
    let password = form
        .pay_password
        .as_deref()
        .and_then(|text| PayPassword::parse(text).ok());
    match app.pay_from_wallet(&session, &trade_no, password).await {
        Ok(_) => (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, format!("/cashier/{trade_no}/result"))],
        )
            .into_response(),
        Err(refusal) => match refusal_problem(refusal) {
            Some(problem) => wallet_page(&app, &session, &trade_no, Some(problem)).await,
            None => unavailable(),
        },
    }
}

/// The QR code of `text` as an inline SVG element (the cashier's renderer, without the XML
/// declaration, which is out of place inline in HTML).
fn qr_svg(text: &str) -> String {
    let Some(image) = crate::cashier::qr_svg(text, 200) else {
        return String::new();
    };
    match image.find("<svg") {
        Some(start) => image[start..].to_owned(),
        None => image,
    }
}

/// "My pay code": a fresh one-time code of the session's wallet (18 digits starting 88, valid
/// 60 s) as text `#pay-code` and QR `#pay-code-qr`, for a merchant to scan at its counter.
/// Never cached.
#[utoipa::path(get, path = "/cashier/me", tag = "cashier",
    responses((status = 200, description = "HTML page with `#pay-code` and `#pay-code-qr`; \
                                             `Cache-Control: no-store`",
               content_type = "text/html"),
              (status = 401, description = "no cashier session")))]
pub async fn me(State(app): State<App>, headers: HeaderMap) -> Response {
    let Some(session) = session_of(&app, &headers).await else {
        return no_session();
    };
    let issued = match app.issue_pay_code(&session.grant.account).await {
        Ok(issued) => issued,
        Err(error) => {
            tracing::error!(%error, "issuing a cashier pay code failed");
            return unavailable();
        }
    };
    let code = issued.code.as_str();
    let body = format!(
        "<main id=\"me\"><h1>我的付款码 My pay code</h1>\
         <p>向商户出示，{secs} 秒内有效，仅可使用一次。Show it to the merchant; valid {secs} s, once.</p>\
         <div id=\"pay-code-qr\" role=\"img\" aria-label=\"付款码二维码 Pay code QR\">{qr}</div>\
         <p id=\"pay-code\">{code}</p>\
         <p><a href=\"/cashier/me\">刷新 Refresh</a></p></main>",
        secs = issued.expires_in_secs,
        qr = qr_svg(code),
    );
    page(StatusCode::OK, Page::new("我的付款码 My pay code", body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pay_code_renders_as_an_inline_svg() {
        let svg = qr_svg("881234567890123456");
        assert!(svg.starts_with("<svg"), "{}", &svg[..40.min(svg.len())]);
        assert!(svg.ends_with("</svg>"));
    }
}
