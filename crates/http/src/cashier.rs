//! The hosted cashier (issue #10) that an order's `pay_url` leads to: the page with the ways
//! that fit the payer's client, choosing a way, the status the page polls, the QR code of a
//! native way, the result with the signed return to the merchant, and the sandbox's "pay as
//! the payer". Every answer carries the cashier's security headers; the page's script and style
//! are static assets, so the content security policy allows no inline code.

use crate::cashier_view::{self, Lang, PageAsk};
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Json;
use paygate_app::aggregated::PayerApp;
use paygate_app::cashier::{CashierView, Client, SignInStep, WayChoice};
use paygate_app::{App, AppError};
use paygate_domain::{OrderRecord, PayData, PayFlow, PayType, Scene, TradeNo};
use serde::{Deserialize, Serialize};

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                   connect-src 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The headers every cashier answer carries: no framing, no referrer (the URL names the
/// order), no caching (the page shows live state), no inline code.
fn secured(response: impl IntoResponse) -> Response {
    let mut response = response.into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

fn not_found() -> Response {
    secured((StatusCode::NOT_FOUND, "no such order"))
}

fn unavailable(error: &AppError) -> Response {
    tracing::error!(%error, "cashier failed");
    secured((StatusCode::SERVICE_UNAVAILABLE, "try again"))
}

fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => secured(Html(html)),
        Err(error) => {
            tracing::error!(%error, "cashier template failed");
            secured((StatusCode::INTERNAL_SERVER_ERROR, "try again"))
        }
    }
}

/// `?client=` and `?lang=`, the payer's overrides of the user agent and `Accept-Language`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Overrides the client told from the user agent.
    #[param(pattern = "^(desktop|mobile|wechat|alipay|unionpay)$")]
    client: Option<String>,
    /// Overrides `Accept-Language`: Chinese (the default) or English.
    #[param(pattern = "^(zh|en)$")]
    lang: Option<String>,
}

/// Who is asking: the client and language, and the overrides to keep on the page's links.
struct Asker {
    client: Client,
    lang: Lang,
    query: String,
}

impl Asker {
    fn of(query: &PageQuery, headers: &HeaderMap) -> Asker {
        let header_text = |name| {
            headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
                .unwrap_or("")
        };
        let client_override = query.client.as_deref().and_then(Client::parse);
        let lang_override = query.lang.as_deref().and_then(Lang::parse);
        let mut pairs = Vec::new();
        if let Some(client) = client_override {
            pairs.push(format!("client={}", client.as_str()));
        }
        if let Some(lang) = lang_override {
            pairs.push(format!("lang={}", lang.as_str()));
        }
        Asker {
            client: client_override
                .unwrap_or_else(|| Client::of_user_agent(header_text(header::USER_AGENT))),
            lang: lang_override
                .unwrap_or_else(|| Lang::of_accept_language(header_text(header::ACCEPT_LANGUAGE))),
            query: if pairs.is_empty() {
                String::new()
            } else {
                format!("?{}", pairs.join("&"))
            },
        }
    }
}

fn trade_no_of(text: &str) -> Option<TradeNo> {
    TradeNo::parse(text).ok()
}

/// The hosted cashier page an order's `pay_url` leads to.
#[utoipa::path(get, path = "/cashier/{trade_no}", tag = "cashier",
    params(("trade_no" = String, Path, description = "Our trade number"), PageQuery),
    responses((status = 200, description = "HTML page: the ways that fit the payer's client \
                (WeChat's browser: wechat_jsapi; Alipay's: alipay_h5; UnionPay's: unionpay_h5; \
                other phones: the H5 ways and the wallet; desktops: the QR ways and the wallet), \
                or a notice for an expired, closed or paid order", content_type = "text/html"),
              (status = 303, description = "a paid order: to its result page; a wallet's \
                in-app browser on an aggregated order: straight to that wallet's payment page"),
              (status = 404, description = "no such order")))]
pub async fn page(
    State(app): State<App>,
    Path(trade_no): Path<String>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let Some(trade_no) = trade_no_of(&trade_no) else {
        return not_found();
    };
    let asker = Asker::of(&query, &headers);
    let view = match app.cashier_view(&trade_no, asker.client).await {
        Ok(Some(view)) => view,
        Ok(None) => return not_found(),
        Err(error) => return unavailable(&error),
    };
    // A paid order shows its result (seed 000 §二.8: re-entry after payment), whichever
    // entry the payer came back by.
    if view.order.status.is_paid() {
        return secured(Redirect::to(&format!(
            "/cashier/{trade_no}/result{}",
            asker.query
        )));
    }
    // An aggregated code scanned in a wallet's app goes straight to that wallet's way.
    let payer_app = match asker.client {
        Client::Alipay => Some(PayerApp::Alipay),
        Client::Unionpay => Some(PayerApp::Unionpay),
        _ => None,
    };
    let open = view.notice(app.clock().now_ms()).is_none();
    if let (Some(payer_app), true) = (payer_app, open && view.order.pay_type == PayType::Auto) {
        let fits = view
            .chosen
            .is_none_or(|way| asker.client.ways().contains(&way));
        if fits && !view.ways.is_empty() {
            return match app.choose_way(&trade_no, payer_app).await {
                Ok(order) => match start_payment(&order, &asker) {
                    Some(start) => start,
                    None => page_of(&app, &view, &asker, &headers, None).await,
                },
                Err(error) => page_of(&app, &view, &asker, &headers, Some(error)).await,
            };
        }
    }
    page_of(&app, &view, &asker, &headers, None).await
}

async fn page_of(
    app: &App,
    view: &CashierView,
    asker: &Asker,
    headers: &HeaderMap,
    error: Option<AppError>,
) -> Response {
    // A paid order's way back carries the signed result, as the result page's does.
    let return_link = if view.order.status.is_paid() {
        match app.cashier_return_url(&view.order).await {
            Ok(link) => link,
            Err(error) => return unavailable(&error),
        }
    } else {
        view.order.return_url.clone()
    };
    let error = error.map(|error| {
        tracing::info!(trade_no = %view.order.trade_no, %error, "cashier way refused");
        error.public_message()
    });
    let wallet_balance = match view.ways.iter().any(|way| way.pay_type == PayType::Wallet) {
        true => crate::cashier_session::wallet_way(app, headers, &view.order)
            .await
            .and_then(|way| way.balance),
        false => None,
    };
    let ask = PageAsk {
        client: asker.client,
        lang: asker.lang,
        query: asker.query.clone(),
        now_ms: app.clock().now_ms(),
        error,
        return_link,
        wallet_balance,
    };
    render(&cashier_view::page(view, ask))
}

/// Sends the payer's browser on to the chosen way's payment page: a redirect, or the channel's
/// form posted at once; `None` when the way is paid on our page (QR) or elsewhere here.
fn start_payment(order: &OrderRecord, asker: &Asker) -> Option<Response> {
    match order.pay_data.as_ref()? {
        PayData::RedirectUrl(url) => Some(secured(Redirect::to(url))),
        PayData::Form { action, fields } => Some(render(&cashier_view::FormTemplate {
            t: asker.lang.texts(),
            action: action.clone(),
            fields: fields
                .iter()
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
        })),
        PayData::CodeUrl(_) | PayData::Params(_) => None,
    }
}

/// The way form: the way, and the installments chosen with it. Anything else the browser
/// sends (an amount, say) is ignored: the order is what was stored.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct WayForm {
    /// A pay type the page offered.
    way: String,
    /// One of the way's installment counts (3, 6 or 12 for Alipay); none pays at once.
    #[serde(default)]
    installments: Option<String>,
}

/// Choose a way to pay: settles it (once) and opens its trade at the channel.
#[utoipa::path(post, path = "/cashier/{trade_no}/way", tag = "cashier",
    params(("trade_no" = String, Path, description = "Our trade number"), PageQuery),
    request_body(content = WayForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 303, description = "to the channel's payment page (H5), the wallet's \
                page, or back to the cashier (QR ways)"),
              (status = 200, description = "the channel's form, posted at once; or the page with \
                why the way was refused", content_type = "text/html"),
              (status = 404, description = "no such order")))]
pub async fn choose(
    State(app): State<App>,
    Path(trade_no): Path<String>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
    Form(form): Form<WayForm>,
) -> Response {
    let Some(trade_no) = trade_no_of(&trade_no) else {
        return not_found();
    };
    let asker = Asker::of(&query, &headers);
    let choice = match parse_choice(&form) {
        Ok(choice) => choice,
        Err(error) => return refused_page(&app, &trade_no, &asker, &headers, error).await,
    };
    if choice.way == PayType::Wallet {
        // The wallet's own page asks for the payer's confirmation and settles the way then.
        return secured(Redirect::to(&format!(
            "/cashier/{trade_no}/wallet{}",
            asker.query
        )));
    }
    if choice.way.flow() == PayFlow::Prepare(Scene::Jsapi) {
        // JSAPI pays as a payer the wallet names: its sign-in comes first, and comes back to
        // `signed-in`, which opens the trade.
        let back = format!(
            "{}/cashier/{trade_no}/signed-in?way={}",
            app.settings().public_url,
            choice.way
        );
        return match app.cashier_sign_in(&trade_no, choice.way, &back).await {
            Ok(SignInStep::SignIn(link)) => secured(Redirect::to(&link)),
            Ok(SignInStep::Ready) => back_to_page(&trade_no, &asker),
            Err(AppError::OrderNotFound) => not_found(),
            Err(error) => refused_page(&app, &trade_no, &asker, &headers, error).await,
        };
    }
    match app.cashier_choose(&trade_no, choice).await {
        Ok(order) => {
            start_payment(&order, &asker).unwrap_or_else(|| back_to_page(&trade_no, &asker))
        }
        Err(AppError::OrderNotFound) => not_found(),
        Err(error) => refused_page(&app, &trade_no, &asker, &headers, error).await,
    }
}

/// What the wallet's sign-in sends the payer's browser back with.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SignedIn {
    /// The way that asked for the sign-in (`wechat_jsapi`).
    way: String,
    /// The wallet's one-time code.
    code: Option<String>,
    /// Ours, given to the wallet: the trade number.
    state: Option<String>,
}

/// Where WeChat's web authorisation sends the payer back: trades the code for the payer's
/// openid and opens the JSAPI trade for that payer.
#[utoipa::path(get, path = "/cashier/{trade_no}/signed-in", tag = "cashier",
    params(("trade_no" = String, Path, description = "Our trade number"), SignedIn),
    responses((status = 303, description = "signed in: back to the cashier page, which offers \
                to pay in the wallet"),
              (status = 200, description = "the page with why the sign-in was not accepted \
                (no code: the payer declined; a used or unknown code)", content_type = "text/html"),
              (status = 404, description = "no such order")))]
pub async fn signed_in(
    State(app): State<App>,
    Path(trade_no): Path<String>,
    Query(query): Query<SignedIn>,
    headers: HeaderMap,
) -> Response {
    let Some(trade_no) = trade_no_of(&trade_no) else {
        return not_found();
    };
    let asker = Asker::of(&PageQuery::default(), &headers);
    let way = match query.way.parse::<PayType>() {
        Ok(way) if way.flow() == PayFlow::Prepare(Scene::Jsapi) => way,
        _ => {
            let error = AppError::param("way", "is not a way that signs in");
            return refused_page(&app, &trade_no, &asker, &headers, error).await;
        }
    };
    // The state names the order the sign-in was started for; a code for another is not used.
    let code = match (query.code, query.state) {
        (Some(code), Some(state)) if state == trade_no.as_str() && !code.is_empty() => code,
        _ => {
            let error = AppError::param("code", "the wallet's sign-in did not complete");
            return refused_page(&app, &trade_no, &asker, &headers, error).await;
        }
    };
    match app.cashier_signed_in(&trade_no, way, &code).await {
        Ok(_) => back_to_page(&trade_no, &asker),
        Err(AppError::OrderNotFound) => not_found(),
        Err(error) => refused_page(&app, &trade_no, &asker, &headers, error).await,
    }
}

fn parse_choice(form: &WayForm) -> Result<WayChoice, AppError> {
    let way = form
        .way
        .parse::<PayType>()
        .map_err(|_| AppError::param("way", "is not a way to pay"))?;
    let installments = match form.installments.as_deref() {
        None | Some("") => None,
        Some(text) => Some(
            text.parse::<u32>()
                .map_err(|_| AppError::param("installments", "must be a number"))?,
        ),
    };
    Ok(WayChoice {
        way,
        installments,
        payer_id: None,
    })
}

fn back_to_page(trade_no: &TradeNo, asker: &Asker) -> Response {
    secured(Redirect::to(&format!("/cashier/{trade_no}{}", asker.query)))
}

async fn refused_page(
    app: &App,
    trade_no: &TradeNo,
    asker: &Asker,
    headers: &HeaderMap,
    error: AppError,
) -> Response {
    match app.cashier_view(trade_no, asker.client).await {
        Ok(Some(view)) => page_of(app, &view, asker, headers, Some(error)).await,
        Ok(None) => not_found(),
        Err(error) => unavailable(&error),
    }
}

/// What the page polls.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CashierStatus {
    /// The order's status: WAIT_PAY, SUCCESS, CLOSED, ...
    status: String,
    /// Whether the order is paid (SUCCESS or refunded since).
    paid: bool,
}

/// The order's status, for the page's polling.
#[utoipa::path(get, path = "/cashier/{trade_no}/status", tag = "cashier",
    params(("trade_no" = String, Path, description = "Our trade number")),
    responses((status = 200, body = CashierStatus, description = "never cached"),
              (status = 404, description = "no such order")))]
pub async fn status(State(app): State<App>, Path(trade_no): Path<String>) -> Response {
    let Some(trade_no) = trade_no_of(&trade_no) else {
        return not_found();
    };
    match app.cashier_status(&trade_no).await {
        Ok(status) => secured(Json(CashierStatus {
            status: status.as_str().to_owned(),
            paid: status.is_paid(),
        })),
        Err(AppError::OrderNotFound) => not_found(),
        Err(error) => unavailable(&error),
    }
}

/// The chosen QR way's code as an SVG image, drawn here so the code never leaves us.
#[utoipa::path(get, path = "/cashier/{trade_no}/qr.svg", tag = "cashier",
    params(("trade_no" = String, Path, description = "Our trade number")),
    responses((status = 200, description = "the QR code", content_type = "image/svg+xml"),
              (status = 404, description = "no such order, or no QR way chosen")))]
pub async fn qr(State(app): State<App>, Path(trade_no): Path<String>) -> Response {
    let Some(trade_no) = trade_no_of(&trade_no) else {
        return not_found();
    };
    let order = match app.cashier_order(&trade_no).await {
        Ok(Some(order)) => order,
        Ok(None) => return not_found(),
        Err(error) => return unavailable(&error),
    };
    // An aggregated order's own code is the link to this page; only a chosen way's code shows.
    let chosen = order.pay_type != PayType::Auto || order.chosen_pay_type.is_some();
    match (&order.pay_data, chosen) {
        (Some(PayData::CodeUrl(content)), true) => match qr_svg(content, 240) {
            Some(svg) => secured(([(header::CONTENT_TYPE, "image/svg+xml")], svg)),
            None => not_found(),
        },
        _ => not_found(),
    }
}

/// The QR code of `content` as an SVG document, at least `size` pixels square.
pub(crate) fn qr_svg(content: &str, size: u32) -> Option<String> {
    let code = qrcode::QrCode::new(content.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(size, size)
            .quiet_zone(true)
            .build(),
    )
}

/// After payment: success and the way back to the merchant, with the result signed as
/// notifications are; an unpaid order goes back to its page.
#[utoipa::path(get, path = "/cashier/{trade_no}/result", tag = "cashier",
    params(("trade_no" = String, Path, description = "Our trade number"), PageQuery),
    responses((status = 200, description = "paid: the result page, moving on to the merchant's \
                return_url + merchant_id, out_trade_no, trade_no, total_amount, currency, \
                trade_status, timestamp, nonce, sign_type, sign (signed like a notification)",
                content_type = "text/html"),
              (status = 303, description = "not paid: back to the cashier page"),
              (status = 404, description = "no such order")))]
pub async fn result(
    State(app): State<App>,
    Path(trade_no): Path<String>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let Some(trade_no) = trade_no_of(&trade_no) else {
        return not_found();
    };
    let asker = Asker::of(&query, &headers);
    let view = match app.cashier_view(&trade_no, asker.client).await {
        Ok(Some(view)) => view,
        Ok(None) => return not_found(),
        Err(error) => return unavailable(&error),
    };
    let order = &view.order;
    if !order.status.is_paid() {
        return back_to_page(&trade_no, &asker);
    }
    let return_link = match app.cashier_return_url(order).await {
        Ok(link) => link,
        Err(error) => return unavailable(&error),
    };
    render(&cashier_view::ResultTemplate {
        t: asker.lang.texts(),
        trade_no: order.trade_no.to_string(),
        status: order.status.as_str(),
        merchant_name: view.merchant_name.clone(),
        subject: order.subject.clone(),
        currency_sign: cashier_view::currency_sign(order.currency),
        amount: cashier_view::amount_text(order.total_amount, order.currency),
        return_link,
    })
}

/// In the sandbox only: asks the chosen way's in-process sandbox to pay as the payer would.
#[utoipa::path(post, path = "/cashier/{trade_no}/sandbox-pay", tag = "cashier",
    params(("trade_no" = String, Path, description = "Our trade number"), PageQuery),
    responses((status = 303, description = "paid at the sandbox; back to the cashier page"),
              (status = 404, description = "no such order, no way chosen, or no in-process \
                sandbox serves the chosen way")))]
pub async fn sandbox_pay(
    State(app): State<App>,
    Path(trade_no): Path<String>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let Some(trade_no) = trade_no_of(&trade_no) else {
        return not_found();
    };
    let asker = Asker::of(&query, &headers);
    match app.cashier_sandbox_pay(&trade_no).await {
        Ok(true) => back_to_page(&trade_no, &asker),
        Ok(false) | Err(AppError::OrderNotFound) => not_found(),
        Err(error) => refused_page(&app, &trade_no, &asker, &headers, error).await,
    }
}

/// The cashier's script and style, served from the binary so the page needs no inline code.
#[utoipa::path(get, path = "/assets/{file}", tag = "cashier",
    params(("file" = String, Path, description = "cashier.js or cashier.css")),
    responses((status = 200, description = "the asset"),
              (status = 404, description = "no such asset")))]
pub async fn asset(Path(file): Path<String>) -> Response {
    let (content_type, body) = match file.as_str() {
        "cashier.js" => (
            "text/javascript; charset=utf-8",
            include_str!("../assets/cashier.js"),
        ),
        "cashier.css" => (
            "text/css; charset=utf-8",
            include_str!("../assets/cashier.css"),
        ),
        _ => return secured((StatusCode::NOT_FOUND, "no such asset")),
    };
    let mut response = secured(([(header::CONTENT_TYPE, content_type)], body));
    // Assets change only with the binary; an hour keeps repeat visits fast.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}
