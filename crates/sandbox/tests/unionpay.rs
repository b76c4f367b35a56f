//! The UnionPay sandbox from the outside, with nothing but its credentials file and HTTP: the
//! file is private and survives a restart with the same certificates, requests not signed by
//! the merchant's certificate are refused as UnionPay refuses them, and a notification is sent
//! again on the configured schedule until it is answered 200.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use paygate_channels::unionpay::{sign, wire};
use paygate_domain::sign::RsaPrivateKey;
use paygate_sandbox::{start_unionpay, UnionpayCredentials, UnionpaySandboxConfig};

fn config(dir: &std::path::Path, delays_ms: Vec<u64>) -> UnionpaySandboxConfig {
    UnionpaySandboxConfig {
        data_dir: dir.to_path_buf(),
        callback_delays_ms: delays_ms,
        ..UnionpaySandboxConfig::default()
    }
}

/// A pay-code consume of `fen`, signed with `key` under `cert_id`.
fn consume(c: &UnionpayCredentials, key: &RsaPrivateKey, cert_id: &str, back_url: &str) -> String {
    let mut fields: BTreeMap<String, String> = [
        ("version", "5.1.0"),
        ("encoding", "UTF-8"),
        ("signMethod", "01"),
        ("txnType", "01"),
        ("txnSubType", "06"),
        ("bizType", "000000"),
        ("channelType", "08"),
        ("accessType", "0"),
        ("orderId", "P20261129020000000abcdefghij"),
        ("txnTime", "20261129100000"),
        ("txnAmt", "100"),
        ("currencyCode", "156"),
        ("qrNo", "6225000000000000001"),
        ("backUrl", back_url),
        ("certId", cert_id),
        ("merId", &c.mer_id),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let signature = sign::sign(key, &fields).unwrap();
    fields.insert("signature".into(), signature);
    wire::encode_form(&fields)
}

async fn post_form(url: &str, body: String) -> BTreeMap<String, String> {
    let text = reqwest::Client::new()
        .post(url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    wire::parse_answer(&text)
}

#[tokio::test]
async fn the_credentials_file_is_private_and_a_restart_keeps_its_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let first = start_unionpay(config(dir.path(), vec![])).await.unwrap();
    let path = first.credentials_path.clone();
    assert_eq!(path, dir.path().join("sandbox").join("unionpay.json"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let written: UnionpayCredentials =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(written, first.credentials);
    assert_eq!(
        written.front_url,
        format!("http://{}/gateway/api/frontTransReq.do", first.local_addr)
    );
    assert_eq!(
        sign::cert_id(&written.sign_cert_pem).unwrap(),
        written.cert_id
    );
    first.shutdown().await;

    let second = start_unionpay(config(dir.path(), vec![])).await.unwrap();
    let again = &second.credentials;
    assert_eq!(again.mer_id, written.mer_id);
    assert_eq!(again.cert_id, written.cert_id);
    assert_eq!(again.sign_key_pem, written.sign_key_pem);
    assert_eq!(again.verify_cert_pem, written.verify_cert_pem);
    second.shutdown().await;
}

#[tokio::test]
async fn requests_not_signed_by_the_merchants_certificate_are_refused_unsigned() {
    let dir = tempfile::tempdir().unwrap();
    let sandbox = start_unionpay(config(dir.path(), vec![])).await.unwrap();
    let c = sandbox.credentials.clone();
    let key = RsaPrivateKey::from_text(&c.sign_key_pem).unwrap();
    let stranger = RsaPrivateKey::generate().unwrap();
    let back_url = "http://127.0.0.1:9/none";
    for body in [
        consume(&c, &stranger, &c.cert_id, back_url),
        consume(&c, &key, "12345678901", back_url),
    ] {
        let answer = post_form(&c.back_url, body).await;
        assert_eq!(answer.get("respCode").map(String::as_str), Some("11"));
        assert!(!answer.contains_key("signature"));
    }
    let answer = post_form(&c.back_url, consume(&c, &key, &c.cert_id, back_url)).await;
    assert_eq!(answer["respCode"], "00");
    assert_eq!(answer["signPubKeyCert"], c.verify_cert_pem);
    let unionpay = sign::SigningCert::from_pem(&c.verify_cert_pem).unwrap();
    assert_eq!(sign::verify(&unionpay.public_key, &answer), Ok(()));
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_notification_is_sent_again_until_it_is_answered_200() {
    let attempts = Arc::new(AtomicUsize::new(0));
    let counted = attempts.clone();
    let receiver = Router::new().route(
        "/notify",
        post(move || {
            let counted = counted.clone();
            async move {
                // Refused twice, then taken.
                if counted.fetch_add(1, Ordering::SeqCst) < 2 {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver_addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, receiver).await });

    let dir = tempfile::tempdir().unwrap();
    let sandbox = start_unionpay(config(dir.path(), vec![50, 50, 50]))
        .await
        .unwrap();
    let c = sandbox.credentials.clone();
    let key = RsaPrivateKey::from_text(&c.sign_key_pem).unwrap();
    let back_url = format!("http://{receiver_addr}/notify");
    let answer = post_form(&c.back_url, consume(&c, &key, &c.cert_id, &back_url)).await;
    assert_eq!(answer["respCode"], "00");
    let deadline = Instant::now() + Duration::from_secs(5);
    while attempts.load(Ordering::SeqCst) < 3 {
        assert!(Instant::now() < deadline, "only {attempts:?} attempts");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    sandbox.shutdown().await;
}
