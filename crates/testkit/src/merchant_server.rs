//! A merchant's notify endpoint for tests: it records every notification it receives and answers
//! from a script (a failure status, a wrong body, a redirect, a slow answer, any status and body),
//! then `success`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use paygate_app::Clock;
use serde_json::{Map, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub enum Answer {
    Success,
    Status(u16),
    Body(&'static str),
    Redirect,
    /// A 302 to this URL (e.g. another server that would answer `success`).
    RedirectTo(String),
    /// Any status with any body (an empty 204, a 200 with a megabyte of padding).
    Reply {
        status: u16,
        body: String,
    },
    /// Answers `success`, but only after this long (longer than the notifier's timeout).
    Slow(Duration),
}

#[derive(Default)]
struct Inner {
    script: VecDeque<Answer>,
    default: Option<Answer>,
    received: Vec<Map<String, Value>>,
    /// The wall clock (ms since the epoch) at each receipt, in step with `received`.
    received_at_ms: Vec<i64>,
}

#[derive(Clone, Default)]
pub struct MerchantServer {
    inner: Arc<Mutex<Inner>>,
    pub url: String,
}

async fn receive(State(server): State<MerchantServer>, body: Bytes) -> Response {
    let answer = {
        let mut inner = server.inner.lock().expect("merchant lock");
        if let Ok(Value::Object(map)) = serde_json::from_slice(&body) {
            inner.received.push(map);
            inner.received_at_ms.push(paygate_app::SystemClock.now_ms());
        }
        inner
            .script
            .pop_front()
            .or_else(|| inner.default.clone())
            .unwrap_or(Answer::Success)
    };
    match answer {
        Answer::Success => "success".into_response(),
        Answer::Status(code) => StatusCode::from_u16(code)
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            .into_response(),
        Answer::Body(text) => text.into_response(),
        Answer::Redirect => (
            StatusCode::FOUND,
            [(header::LOCATION, "http://127.0.0.1:9/elsewhere")],
        )
            .into_response(),
        Answer::RedirectTo(location) => {
            (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
        }
        Answer::Reply { status, body } => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body,
        )
            .into_response(),
        Answer::Slow(delay) => {
            tokio::time::sleep(delay).await;
            "success".into_response()
        }
    }
}

impl MerchantServer {
    pub async fn start() -> MerchantServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind merchant server");
        let server = MerchantServer {
            url: format!("http://{}/notify", listener.local_addr().expect("addr")),
            ..MerchantServer::default()
        };
        let app = Router::new()
            .route("/notify", post(receive))
            .with_state(server.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        server
    }

    /// The next answers, in order; after them, `success` (or the default).
    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.inner
            .lock()
            .expect("merchant lock")
            .script
            .extend(answers);
    }

    pub fn answer_always(&self, answer: Answer) {
        self.inner.lock().expect("merchant lock").default = Some(answer);
    }

    pub fn received(&self) -> Vec<Map<String, Value>> {
        self.inner.lock().expect("merchant lock").received.clone()
    }

    /// Each notification received with the wall-clock time (ms) it arrived.
    pub fn arrivals(&self) -> Vec<(Map<String, Value>, i64)> {
        let inner = self.inner.lock().expect("merchant lock");
        inner
            .received
            .iter()
            .cloned()
            .zip(inner.received_at_ms.iter().copied())
            .collect()
    }
}
