//! A minimal hosted cashier page, so every `pay_url` leads somewhere real. The full cashier
//! (ways to pay per client, QR codes, countdown) is a later piece of work.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use paygate_app::App;
use paygate_domain::{Money, TradeNo};

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
pub async fn page(State(app): State<App>, Path(trade_no): Path<String>) -> Response {
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
    let amount = Money::new(order.total_amount, order.currency).to_major_string();
    Html(format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>Paygate 收银台</title></head>\
         <body><h1>{subject}</h1><p class=\"amount\">{currency} {amount}</p>\
         <p>订单号 {trade_no}</p><p class=\"status\">{status}</p></body></html>",
        subject = escape(&order.subject),
        currency = order.currency,
        status = order.status,
    ))
    .into_response()
}
