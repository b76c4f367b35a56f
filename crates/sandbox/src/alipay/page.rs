//! The cashier a browser meets: `alipay.trade.wap.pay` and `alipay.trade.page.pay` arrive as a
//! signed GET (or POST form) to `/gateway.do`; the sandbox opens the trade and shows a small
//! page whose "pay" button plays the payer, then sends the browser to `return_url` with
//! Alipay's signed return parameters.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use paygate_channels::alipay::sign::{notify_content, sign_rsa2};
use serde::Deserialize;
use std::collections::BTreeMap;

use super::book::{Product, Trade};
use super::gateway::{Call, Method};
use super::money::yuan;
use super::{alipay_time, now_cst, trade, App};

/// Where the page's "pay" button posts.
pub const PAY_PATH: &str = "/sandbox/cashier/pay";

pub fn show(app: &App, call: &Call) -> Response {
    let (product, method) = match call.method {
        Method::WapPay => (Product::Wap, "alipay.trade.wap.pay"),
        _ => (Product::Page, "alipay.trade.page.pay"),
    };
    let opened = trade::ask_of(call, product).and_then(|ask| trade::open(app, ask, false));
    let trade = match opened {
        Ok(trade) => trade,
        Err(failure) => {
            let text = format!("{}: {}", failure.sub_code, failure.sub_msg);
            return (
                StatusCode::OK,
                Html(page("支付宝 sandbox: 错误", &escape(&text))),
            )
                .into_response();
        }
    };
    let body = format!(
        "<p>{method}: {} ¥{} ({})</p>\n\
         <form method=\"post\" action=\"{PAY_PATH}\">\
         <input type=\"hidden\" name=\"out_trade_no\" value=\"{}\">\
         <button type=\"submit\">pay</button></form>",
        escape(&trade.ask.subject),
        yuan(trade.ask.total_cents),
        escape(trade.out_trade_no()),
        escape(trade.out_trade_no()),
    );
    Html(page("支付宝 sandbox cashier", &body)).into_response()
}

#[derive(Debug, Deserialize)]
pub struct PayForm {
    out_trade_no: String,
}

pub async fn pay(State(app): State<App>, Form(form): Form<PayForm>) -> Response {
    let paid = match trade::pay_now(&app, &form.out_trade_no) {
        Ok(paid) => paid,
        Err(error) => {
            let text = escape(&error.to_string());
            return (
                StatusCode::CONFLICT,
                Html(page("支付宝 sandbox: 错误", &text)),
            )
                .into_response();
        }
    };
    match &paid.ask.return_url {
        Some(url) => Redirect::to(&return_url(&app, &paid, url)).into_response(),
        None => Html(page("支付宝 sandbox", "<p>paid</p>")).into_response(),
    }
}

/// `return_url` with Alipay's synchronous return parameters, signed as notifications are.
fn return_url(app: &App, trade: &Trade, url: &str) -> String {
    let method = match trade.ask.product {
        Product::Wap => "alipay.trade.wap.pay.return",
        _ => "alipay.trade.page.pay.return",
    };
    let mut fields: BTreeMap<String, String> = [
        ("app_id", app.credentials.app_id.clone()),
        ("auth_app_id", app.credentials.app_id.clone()),
        ("charset", "utf-8".to_owned()),
        ("method", method.to_owned()),
        ("out_trade_no", trade.out_trade_no().to_owned()),
        ("seller_id", app.credentials.seller_id.clone()),
        ("timestamp", alipay_time(now_cst())),
        ("total_amount", yuan(trade.ask.total_cents)),
        ("trade_no", trade.trade_no.clone()),
        ("version", "1.0".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let sign = sign_rsa2(&app.alipay_private, &notify_content(&fields));
    fields.insert("sign".into(), sign);
    fields.insert("sign_type".into(), "RSA2".into());
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&fields)
        .finish();
    let joiner = if url.contains('?') { '&' } else { '?' };
    format!("{url}{joiner}{query}")
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
         <body><h1>{title}</h1>\n{body}\n</body></html>\n"
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
