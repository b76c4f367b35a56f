//! A minimal hosted cashier page, so every `pay_url` leads somewhere real. The full cashier
//! (ways to pay per client, QR codes, countdown) is a later piece of work.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use paygate_app::aggregated::PayerApp;
use paygate_app::App;
use paygate_domain::{Money, OrderRecord, PayData, PayType, TradeNo};

fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// The hosted cashier page an order's `pay_url` leads to.
#[utoipa::path(get, path = "/cashier/{trade_no}", tag = "cashier",
    params(("trade_no" = String, Path, description = "Our trade number")),
    responses((status = 200, description = "HTML page", content_type = "text/html"),
              (status = 404, description = "no such order")))]
pub async fn page(
    State(app): State<App>,
    Path(trade_no): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Ok(trade_no) = TradeNo::parse(&trade_no) else {
        return (StatusCode::NOT_FOUND, "no such order").into_response();
    };
    let order = match app.cashier_order(&trade_no).await {
        Ok(Some(order)) => order,
        Ok(None) => return (StatusCode::NOT_FOUND, "no such order").into_response(),
        Err(error) => {
            tracing::error!(%error, "cashier lookup failed");
            return (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response();
        }
    };
    if order.pay_type == PayType::Auto && order.status.is_unpaid_open() {
        let user_agent = headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if let Some(payer_app) = PayerApp::of_user_agent(user_agent) {
            match app.choose_way(&order.trade_no, payer_app).await {
                Ok(chosen) => {
                    if let Some(start) = start_payment(&chosen) {
                        return start;
                    }
                }
                Err(error) => {
                    tracing::info!(trade_no = %order.trade_no, %error, "aggregated code not paid here");
                    return page_of(&order, Some(&error.to_string()));
                }
            }
        }
    }
    page_of(&order, None)
}

/// Sends the payer's browser on to the chosen way's payment page: a redirect, or the channel's
/// form posted at once (with a button for browsers without JavaScript).
fn start_payment(order: &OrderRecord) -> Option<Response> {
    match order.pay_data.as_ref()? {
        PayData::RedirectUrl(url) => Some(Redirect::to(url).into_response()),
        PayData::Form { action, fields } => {
            let inputs: String = fields
                .iter()
                .map(|(name, value)| {
                    format!(
                        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                        escape(name),
                        escape(value)
                    )
                })
                .collect();
            Some(
                Html(format!(
                    "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
                     <title>Paygate 收银台</title></head><body onload=\"document.forms[0].submit()\">\
                     <form method=\"post\" action=\"{action}\">{inputs}\
                     <button type=\"submit\">继续支付</button></form></body></html>",
                    action = escape(action),
                ))
                .into_response(),
            )
        }
        PayData::CodeUrl(_) | PayData::Params(_) => None,
    }
}

fn page_of(order: &OrderRecord, notice: Option<&str>) -> Response {
    let amount = Money::new(order.total_amount, order.currency).to_major_string();
    Html(format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>Paygate 收银台</title></head>\
         <body><h1>{subject}</h1><p class=\"amount\">{currency} {amount}</p>\
         <p>订单号 {trade_no}</p><p class=\"status\">{status}</p>{notice}</body></html>",
        subject = escape(&order.subject),
        currency = order.currency,
        status = order.status,
        trade_no = order.trade_no,
        notice = notice
            .map(|text| format!("<p class=\"notice\" role=\"alert\">{}</p>", escape(text)))
            .unwrap_or_default(),
    ))
    .into_response()
}
