//! The harness itself: the device a test asks for is the one the server sees, and contexts share
//! nothing.

use crate::harness::{self, DESKTOP, MOBILE, WECHAT};
use axum::http::{header, HeaderMap};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::Router;

/// Echoes the user agent and the cookie it got, and sets a cookie.
async fn echo(headers: HeaderMap) -> impl IntoResponse {
    let of = |name| {
        (headers.get(name))
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .replace(['<', '>', '"', '&'], " ")
    };
    (
        [(header::SET_COOKIE, "seen=1; Path=/")],
        Html(format!(
            "<meta name=\"viewport\" content=\"width=device-width\">\
             <main id=\"echo\" data-ua=\"{}\" data-cookie=\"{}\">echo</main>",
            of(header::USER_AGENT),
            of(header::COOKIE)
        )),
    )
}

async fn echo_site() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let url = format!("http://{}/", listener.local_addr().expect("bound"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, Router::new().route("/", get(echo))).await;
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_session_is_its_own_device_and_shares_no_cookies() {
    let url = echo_site().await;
    let Some(desktop) = harness::open(DESKTOP).await else {
        return;
    };
    let phone = harness::open(MOBILE).await.expect("the browser runs");
    let wechat = harness::open(WECHAT).await.expect("the browser runs");

    desktop.goto(&url).await;
    desktop.wait_for("main#echo").await;
    let ua = desktop.attr("main#echo", "data-ua").await.unwrap();
    assert!(ua.contains("Chrome/"), "{ua}");
    assert!(!ua.contains("Mobile"), "{ua}");
    assert_eq!(desktop.eval::<i64>("innerWidth").await, 1280);
    assert_eq!(desktop.attr("main#echo", "data-cookie").await.unwrap(), "");
    // The same context sends back what it was given.
    desktop.goto(&url).await;
    desktop.wait_for("main#echo").await;
    assert_eq!(
        desktop.attr("main#echo", "data-cookie").await.unwrap(),
        "seen=1"
    );

    phone.goto(&url).await;
    phone.wait_for("main#echo").await;
    assert_eq!(
        phone.attr("main#echo", "data-ua").await.unwrap(),
        harness::IPHONE_UA
    );
    assert_eq!(phone.eval::<i64>("innerWidth").await, 390);
    // Another context: none of the desktop's cookies.
    assert_eq!(phone.attr("main#echo", "data-cookie").await.unwrap(), "");

    wechat.goto(&url).await;
    wechat.wait_for("main#echo").await;
    let ua = wechat.attr("main#echo", "data-ua").await.unwrap();
    assert!(ua.contains("MicroMessenger/"), "{ua}");

    for session in [desktop, phone, wechat] {
        session.close().await;
    }
}
