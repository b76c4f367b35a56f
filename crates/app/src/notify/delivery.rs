//! One HTTP attempt to deliver a notification, and what it came to.

use super::target;
use super::NotifierSettings;
use crate::AppError;
use paygate_domain::address::{ForbiddenAddress, PrivateTargets};
use paygate_domain::concurrency::Answer;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;

/// What one HTTP attempt came to.
pub(super) struct Delivery {
    pub(super) http_status: Option<i64>,
    pub(super) excerpt: Option<String>,
    /// `None` when delivered, else why not.
    pub(super) failure: Option<String>,
}

impl Delivery {
    pub(super) fn refused(refusal: ForbiddenAddress) -> Delivery {
        Delivery {
            http_status: None,
            excerpt: None,
            failure: Some(format!("forbidden address: {refusal}")),
        }
    }

    /// A request that got no answer: refused by the resolver, timed out, or never connected.
    fn unsent(error: &reqwest::Error) -> Delivery {
        if let Some(refusal) = target::refusal_in(error) {
            return Delivery::refused(refusal);
        }
        let failure = if error.is_timeout() {
            "timeout".to_owned()
        } else if error.is_connect() {
            "connection failed".to_owned()
        } else {
            format!("transport error: {error}")
        };
        Delivery {
            http_status: None,
            excerpt: None,
            failure: Some(failure),
        }
    }
}

/// How much of a merchant's answer was read.
enum BodyRead {
    Complete,
    /// Longer than the bound; the rest was never read.
    TooLarge,
    Broken(String),
}

/// Reads a merchant's answer chunk by chunk, stopping once it passes `bytes_max`.
async fn read_capped(mut response: reqwest::Response, bytes_max: usize) -> (Vec<u8>, BodyRead) {
    let mut bytes = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) if bytes.len() + chunk.len() > bytes_max => {
                let room = bytes_max - bytes.len();
                bytes.extend_from_slice(&chunk[..room]);
                return (bytes, BodyRead::TooLarge);
            }
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) => return (bytes, BodyRead::Complete),
            Err(error) => return (bytes, BodyRead::Broken(error.to_string())),
        }
    }
}

impl Delivery {
    pub(super) fn failed(why: &str) -> Delivery {
        Delivery {
            http_status: None,
            excerpt: None,
            failure: Some(why.to_owned()),
        }
    }

    /// What the attempt says about the host's health: an answer (whatever it said) or none.
    pub(super) fn answer(&self, latency_ms: u64) -> Answer {
        match self.http_status {
            Some(status) if status < 500 && status != 429 => Answer::Answered { latency_ms },
            _ => Answer::Failed,
        }
    }
}

/// The HTTP clients the notifier posts with. Each keeps its connections to a host alive and
/// reuses them, so a busy host costs one handshake per slot, not one per notification.
pub(super) struct Sender {
    /// For merchants whose URLs must stay on the public internet: every host name is resolved
    /// by `target::PublicOnlyResolver`, and no proxy is used, since a proxy would connect to an
    /// address we never checked.
    guarded: reqwest::Client,
    /// For merchants allowed private addresses (or every merchant, by the operator's switch).
    open: reqwest::Client,
    response_bytes_max: usize,
    excerpt_chars_max: usize,
}

impl Sender {
    pub(super) fn new(settings: &NotifierSettings) -> Result<Sender, AppError> {
        // A redirect is a failed attempt, never followed: it could lead anywhere.
        let builder = || {
            reqwest::Client::builder()
                .timeout(Duration::from_millis(settings.http_timeout_ms))
                .redirect(reqwest::redirect::Policy::none())
                .pool_max_idle_per_host(settings.per_host_in_flight_max)
                .tcp_nodelay(true)
        };
        let guarded = builder()
            .no_proxy()
            .dns_resolver(Arc::new(target::PublicOnlyResolver))
            .build()
            .map_err(|e| AppError::Internal(e.into()))?;
        let open = builder()
            .build()
            .map_err(|e| AppError::Internal(e.into()))?;
        Ok(Sender {
            guarded,
            open,
            response_bytes_max: settings.response_bytes_max,
            excerpt_chars_max: settings.response_excerpt_chars_max,
        })
    }

    pub(super) async fn post(
        &self,
        url: &str,
        body: &Map<String, Value>,
        targets: PrivateTargets,
    ) -> Delivery {
        let client = match targets {
            PrivateTargets::Allowed => &self.open,
            PrivateTargets::Refused => {
                // A literal address never reaches the resolver, so it is checked here.
                let literal = target::literal_ip(url).map(|ip| targets.check(ip));
                if let Some(Err(refusal)) = literal {
                    return Delivery::refused(refusal);
                }
                &self.guarded
            }
        };
        let response = match client.post(url).json(body).send().await {
            Ok(response) => response,
            Err(error) => return Delivery::unsent(&error),
        };
        let status = response.status();
        let (bytes, read) = read_capped(response, self.response_bytes_max).await;
        let text = String::from_utf8_lossy(&bytes);
        let excerpt: String = text.chars().take(self.excerpt_chars_max).collect();
        let answer = text.trim();
        let failure = if status.is_redirection() {
            Some(format!("redirect {}", status.as_u16()))
        } else if status != reqwest::StatusCode::OK {
            Some(format!("http {}", status.as_u16()))
        } else if let BodyRead::TooLarge = read {
            Some(format!(
                "body longer than {} bytes",
                self.response_bytes_max
            ))
        } else if let BodyRead::Broken(why) = read {
            Some(format!("unreadable body: {why}"))
        } else if answer == "success" || answer == "SUCCESS" {
            None
        } else {
            Some("body was not success".to_owned())
        };
        Delivery {
            http_status: Some(status.as_u16() as i64),
            excerpt: Some(excerpt),
            failure,
        }
    }
}
