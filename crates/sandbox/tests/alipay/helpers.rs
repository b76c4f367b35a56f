//! The harness: a sandbox on a fresh data directory, a client that signs with the app's key and
//! verifies answers with Alipay's, and a notify_url that records what it is sent.

use paygate_channels::alipay::sign::{request_content, response_content, sign_rsa2, verify_rsa2};
use paygate_domain::sign::{RsaPrivateKey, RsaPublicKey};
use paygate_sandbox::alipay::{
    start_alipay, AlipayCredentials, AlipaySandboxConfig, RunningAlipaySandbox,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// When a notification arrived, and its fields.
pub type Delivery = (Instant, BTreeMap<String, String>);

pub struct Harness {
    pub sandbox: RunningAlipaySandbox,
    pub credentials: AlipayCredentials,
    pub http: reqwest::Client,
    pub app_key: RsaPrivateKey,
    pub alipay_key: RsaPublicKey,
    _data_dir: tempfile::TempDir,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    PublicKey,
    Certificate,
}

pub async fn start(callback_delays_ms: Vec<u64>) -> Harness {
    let data_dir = tempfile::tempdir().unwrap();
    let sandbox = start_alipay(AlipaySandboxConfig {
        data_dir: data_dir.path().to_path_buf(),
        callback_delays_ms,
        ..AlipaySandboxConfig::default()
    })
    .await
    .unwrap();
    let credentials = sandbox.credentials.clone();
    Harness {
        app_key: RsaPrivateKey::from_text(&credentials.app_private_key_pem).unwrap(),
        alipay_key: RsaPublicKey::from_text(&credentials.alipay_public_key_pem).unwrap(),
        credentials,
        sandbox,
        http: reqwest::Client::new(),
        _data_dir: data_dir,
    }
}

impl Harness {
    pub fn base(&self) -> String {
        format!("http://{}", self.sandbox.local_addr)
    }

    pub fn params(&self, method: &str, biz: Value, mode: Mode) -> BTreeMap<String, String> {
        let now =
            chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap());
        let mut params: BTreeMap<String, String> = [
            ("app_id", self.credentials.app_id.as_str()),
            ("method", method),
            ("format", "JSON"),
            ("charset", "utf-8"),
            ("sign_type", "RSA2"),
            ("version", "1.0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        params.insert(
            "timestamp".into(),
            now.format("%Y-%m-%d %H:%M:%S").to_string(),
        );
        params.insert("biz_content".into(), biz.to_string());
        if mode == Mode::Certificate {
            params.insert("app_cert_sn".into(), self.credentials.app_cert_sn.clone());
            params.insert(
                "alipay_root_cert_sn".into(),
                self.credentials.alipay_root_cert_sn.clone(),
            );
        }
        params
    }

    /// `params` with the app's signature over them.
    pub fn signed(&self, mut params: BTreeMap<String, String>) -> BTreeMap<String, String> {
        let sign = sign_rsa2(&self.app_key, &request_content(&params));
        params.insert("sign".into(), sign);
        params
    }

    pub async fn post(&self, params: &BTreeMap<String, String>) -> String {
        self.http
            .post(&self.credentials.gateway_url)
            .form(params)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Signs and sends a call; returns the verified inner answer and the whole body.
    pub async fn call_in(&self, method: &str, biz: Value, mode: Mode) -> (Value, Value) {
        let mut params = self.params(method, biz, mode);
        let sign = sign_rsa2(&self.app_key, &request_content(&params));
        params.insert("sign".into(), sign);
        let body = self.post(&params).await;
        let inner = response_content(&body, method).expect("an answer under its method");
        let whole: Value = serde_json::from_str(&body).unwrap();
        let sign = whole["sign"].as_str().expect("a signed answer");
        assert!(
            verify_rsa2(&self.alipay_key, inner, sign),
            "answer signed by Alipay's key"
        );
        (serde_json::from_str(inner).unwrap(), whole)
    }

    pub async fn call(&self, method: &str, biz: Value) -> Value {
        self.call_in(method, biz, Mode::PublicKey).await.0
    }

    /// A trade of `total` yuan, paid by the payer simulator, notifying `notify_url`.
    pub async fn paid_trade(&self, out_trade_no: &str, total: &str, notify_url: &str) -> Value {
        let mut params = self.params(
            "alipay.trade.precreate",
            json!({"out_trade_no": out_trade_no, "total_amount": total, "subject": "绿茶"}),
            Mode::PublicKey,
        );
        params.insert("notify_url".into(), notify_url.into());
        let sign = sign_rsa2(&self.app_key, &request_content(&params));
        params.insert("sign".into(), sign);
        let body = self.post(&params).await;
        assert!(body.contains("\"code\":\"10000\""), "{body}");
        self.http
            .post(format!("{}/sandbox/payer", self.base()))
            .json(&json!({"out_trade_no": out_trade_no, "action": "pay"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// A notify_url that answers `fail` to its first `refusals` deliveries, then `success`.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    pub deliveries: Arc<Mutex<Vec<Delivery>>>,
}

impl Receiver {
    pub async fn start(refusals: usize) -> Receiver {
        let deliveries: Arc<Mutex<Vec<Delivery>>> = Arc::default();
        let kept = deliveries.clone();
        let app = axum::Router::new().route(
            "/notify",
            axum::routing::post(move |body: String| {
                let kept = kept.clone();
                async move {
                    let fields = url::form_urlencoded::parse(body.as_bytes())
                        .into_owned()
                        .collect();
                    let mut kept = kept.lock().unwrap();
                    kept.push((Instant::now(), fields));
                    if kept.len() <= refusals {
                        "fail"
                    } else {
                        "success"
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/notify", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, deliveries }
    }

    pub async fn wait_for(&self, n: usize) -> Vec<Delivery> {
        for _ in 0..200 {
            if self.deliveries.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        self.deliveries.lock().unwrap().clone()
    }
}
