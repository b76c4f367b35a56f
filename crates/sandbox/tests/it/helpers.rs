use axum::http::{HeaderMap, StatusCode};
use paygate_channels::wechat::v2_sign::{self, V2SignType};
use paygate_channels::wechat::v2_xml;
use paygate_channels::wechat::v3_auth::{self, Authorization, Request};
use paygate_channels::wechat::v3_wire::Notification;
use paygate_domain::sign::{RsaPrivateKey, RsaPublicKey, SignKey, VerifyKey};
use paygate_sandbox::{start_wechat, RunningWechatSandbox, WechatCredentials, WechatSandboxConfig};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Harness {
    sandbox: RunningWechatSandbox,
    pub credentials: WechatCredentials,
    pub http: reqwest::Client,
    /// Deleted when the test ends.
    _data_dir: tempfile::TempDir,
    merchant_key: SignKey,
    platform_key: VerifyKey,
}

#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

/// How a test signs a v3 request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    Genuine,
    /// Signed over another body than the one sent.
    OtherBody,
    WrongSerial,
    /// Signed ten minutes ago.
    Stale,
}

pub async fn start() -> Harness {
    start_with(|_| {}).await
}

pub async fn start_with(adjust: impl FnOnce(&mut WechatSandboxConfig)) -> Harness {
    let data_dir = tempfile::tempdir().unwrap();
    let mut config = WechatSandboxConfig {
        data_dir: data_dir.path().to_path_buf(),
        callback_delays_ms: vec![100, 100],
        refund_delay_ms: 100,
        ..WechatSandboxConfig::default()
    };
    adjust(&mut config);
    let sandbox = start_wechat(config).await.unwrap();
    let credentials = sandbox.credentials.clone();
    Harness {
        merchant_key: SignKey::Rsa2(
            RsaPrivateKey::from_text(&credentials.merchant_private_key_pem).unwrap(),
        ),
        platform_key: VerifyKey::Rsa2(
            RsaPublicKey::from_text(&credentials.platform_public_key_pem).unwrap(),
        ),
        credentials,
        sandbox,
        http: reqwest::Client::new(),
        _data_dir: data_dir,
    }
}

impl Harness {
    pub async fn shutdown(self) {
        self.sandbox.shutdown().await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.credentials.base_url)
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.v3("POST", path, Some(body), Signing::Genuine).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.v3("GET", path, None, Signing::Genuine).await
    }

    /// Sends a signed v3 request and checks the answer's signature before returning it.
    pub async fn v3(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        signing: Signing,
    ) -> Answer {
        let response = self.send_v3(method, path, body, signing).await.unwrap();
        let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        self.verify_answer(&headers, &text);
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Answer { status, body }
    }

    pub async fn send_v3(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        signing: Signing,
    ) -> reqwest::Result<reqwest::Response> {
        let text = body.map(Value::to_string).unwrap_or_default();
        let signed_body = match signing {
            Signing::OtherBody => format!("{text} "),
            _ => text.clone(),
        };
        let serial = match signing {
            Signing::WrongSerial => "0000000000000000000000000000000000000000".to_owned(),
            _ => self.credentials.merchant_serial_no.clone(),
        };
        let now = chrono::Utc::now().timestamp();
        let timestamp = if signing == Signing::Stale {
            now - 600
        } else {
            now
        };
        let request = Request {
            method,
            url: path,
            body: &signed_body,
        };
        let auth = Authorization::sign(
            &self.merchant_key,
            &self.credentials.mchid,
            &serial,
            timestamp,
            "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
            &request,
        )
        .unwrap();
        let builder = self
            .http
            .request(method.parse().unwrap(), self.url(path))
            .header("Authorization", auth.header_value())
            .header("Accept", "application/json");
        let builder = if body.is_some() {
            builder
                .header("Content-Type", "application/json")
                .body(text)
        } else {
            builder
        };
        builder.send().await
    }

    fn verify_answer(&self, headers: &HeaderMap, body: &str) {
        let header = |name: &str| headers.get(name).unwrap().to_str().unwrap().to_owned();
        assert_eq!(
            header("Wechatpay-Serial"),
            self.credentials.platform_public_key_id
        );
        assert!(!header("Request-ID").is_empty());
        let message = v3_auth::response_message(
            header("Wechatpay-Timestamp").parse().unwrap(),
            &header("Wechatpay-Nonce"),
            body,
        );
        self.platform_key
            .verify_string(&message, &header("Wechatpay-Signature"))
            .expect("the sandbox signs its answers with the platform key");
    }

    /// Verifies a callback's signature with the platform key and opens its resource.
    pub fn open_callback(&self, delivery: &Delivery) -> Result<(Notification, Value), String> {
        let header = |name: &str| {
            delivery
                .headers
                .get(&name.to_lowercase())
                .cloned()
                .ok_or(format!("{name} missing"))
        };
        if header("Wechatpay-Serial")? != self.credentials.platform_public_key_id {
            return Err("unknown serial".into());
        }
        let timestamp: i64 = header("Wechatpay-Timestamp")?
            .parse()
            .map_err(|_| "timestamp")?;
        let message =
            v3_auth::response_message(timestamp, &header("Wechatpay-Nonce")?, &delivery.body);
        self.platform_key
            .verify_string(&message, &header("Wechatpay-Signature")?)
            .map_err(|e| e.to_string())?;
        let notification: Notification =
            serde_json::from_str(&delivery.body).map_err(|e| e.to_string())?;
        let resource = &notification.resource;
        let plain = v3_auth::open_resource(
            &self.credentials.apiv3_key,
            &resource.nonce,
            &resource.associated_data,
            &resource.ciphertext,
        )
        .map_err(|e| e.to_string())?;
        Ok((notification, serde_json::from_str(&plain).unwrap()))
    }

    pub async fn payer(&self, request: Value) -> Answer {
        self.plain("POST", "/sandbox/payer", Some(request)).await
    }

    pub async fn fault(&self, request: Value) {
        let answer = self.plain("POST", "/sandbox/faults", Some(request)).await;
        assert_eq!(answer.status, StatusCode::CREATED);
    }

    async fn plain(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let mut builder = self.http.request(method.parse().unwrap(), self.url(path));
        if let Some(body) = body {
            builder = builder.json(&body);
        }
        let response = builder.send().await.unwrap();
        let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer { status, body }
    }

    pub async fn clear_faults(&self) {
        let answer = self.plain("DELETE", "/sandbox/faults", None).await;
        assert_eq!(answer.status, StatusCode::NO_CONTENT);
    }

    /// A Native order's body.
    pub fn native(&self, out_trade_no: &str, total: i64, notify_url: &str) -> Value {
        json!({
            "appid": self.credentials.appid, "mchid": self.credentials.mchid,
            "description": "Image形象店-深圳腾大-QQ公仔", "out_trade_no": out_trade_no,
            "notify_url": notify_url, "amount": {"total": total, "currency": "CNY"}
        })
    }

    /// Creates a Native order and has the payer pay it.
    pub async fn paid_native(&self, out_trade_no: &str, total: i64, notify_url: &str) -> String {
        let created = self
            .post(
                "/v3/pay/transactions/native",
                &self.native(out_trade_no, total, notify_url),
            )
            .await;
        assert_eq!(created.status, StatusCode::OK, "{:?}", created.body);
        let paid = self
            .payer(json!({"out_trade_no": out_trade_no, "action": "pay"}))
            .await;
        assert_eq!(paid.body["trade_state"], "SUCCESS");
        paid.body["transaction_id"].as_str().unwrap().to_owned()
    }

    pub fn refund(
        &self,
        out_trade_no: &str,
        out_refund_no: &str,
        refund: i64,
        total: i64,
        notify_url: Option<&str>,
    ) -> Value {
        let mut body = json!({
            "out_trade_no": out_trade_no, "out_refund_no": out_refund_no,
            "amount": {"refund": refund, "total": total, "currency": "CNY"}
        });
        if let Some(url) = notify_url {
            body["notify_url"] = json!(url);
        }
        body
    }

    /// The China-time day (`YYYY-MM-DD`) the transaction was paid on: the day its bill lists it.
    pub async fn paid_day(&self, transaction_id: &str) -> String {
        let mchid = &self.credentials.mchid;
        let query = self
            .get(&format!(
                "/v3/pay/transactions/id/{transaction_id}?mchid={mchid}"
            ))
            .await;
        query.body["success_time"].as_str().unwrap()[..10].to_owned()
    }

    /// Posts a v2 XML body as it is and returns the answer's fields.
    pub async fn post_xml(&self, path: &str, xml: String) -> BTreeMap<String, String> {
        let text = self
            .http
            .post(self.url(path))
            .body(xml)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        v2_xml::from_xml(&text).unwrap()
    }

    /// Fetches, signed, the bill a `tradebill` answer's `download_url` points at.
    pub async fn download(&self, location: &Answer) -> Vec<u8> {
        let download_url = location.body["download_url"].as_str().unwrap();
        let path = download_url
            .strip_prefix(&self.credentials.base_url)
            .unwrap();
        let bill = self
            .send_v3("GET", path, None, Signing::Genuine)
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        bill.to_vec()
    }

    /// Sends v2 XML signed in `sign_type` and returns the answer's fields, its signature checked
    /// when the call succeeded.
    pub async fn v2(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        sign_type: V2SignType,
    ) -> BTreeMap<String, String> {
        let mut params: BTreeMap<String, String> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        params.insert("appid".into(), self.credentials.appid.clone());
        params.insert("mch_id".into(), self.credentials.mchid.clone());
        params.insert(
            "nonce_str".into(),
            "5K8264ILTKCH16CQ2502SI8ZNMTM67VS".into(),
        );
        if sign_type == V2SignType::HmacSha256 {
            params.insert("sign_type".into(), "HMAC-SHA256".into());
        }
        let sign = v2_sign::sign(&params, &self.credentials.v2_key, sign_type);
        params.insert("sign".into(), sign);
        let answer = self.post_xml(path, v2_xml::to_xml(&params)).await;
        if answer["return_code"] == "SUCCESS" {
            assert!(
                v2_sign::verify(&answer, &self.credentials.v2_key, sign_type),
                "{answer:?}"
            );
        }
        answer
    }
}

#[derive(Debug, Clone)]
pub struct Delivery {
    pub at: Instant,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

/// A merchant's callback endpoint: records every delivery and fails the first few.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    deliveries: Arc<Mutex<Vec<Delivery>>>,
}

impl Receiver {
    pub async fn start(failures: usize) -> Receiver {
        let deliveries = Arc::new(Mutex::new(Vec::new()));
        let failures_left = Arc::new(AtomicUsize::new(failures));
        let record = deliveries.clone();
        let app = axum::Router::new().route(
            "/notify",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let record = record.clone();
                let failures_left = failures_left.clone();
                async move {
                    let headers = headers
                        .iter()
                        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
                        .collect();
                    record.lock().unwrap().push(Delivery {
                        at: Instant::now(),
                        headers,
                        body,
                    });
                    let failing = failures_left
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                    if failing {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::NO_CONTENT
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/notify", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { url, deliveries }
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.deliveries.lock().unwrap().clone()
    }

    /// Waits until `count` deliveries arrived (panics after 10 s).
    pub async fn wait_for(&self, count: usize) -> Vec<Delivery> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let deliveries = self.deliveries();
            if deliveries.len() >= count {
                return deliveries;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {count} deliveries arrived",
                deliveries.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
