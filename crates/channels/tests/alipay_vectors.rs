//! Known answers for Alipay's RSA2 signing and certificate SNs, from Alipay's official Node.js
//! SDK: github.com/alipay/alipay-sdk-nodejs-all at commit
//! e1676390871eb7a69b4f81aa15de8327ac15738a. The fixture files under
//! `tests/vectors/alipay-sdk-nodejs/` are copied unchanged from its `test/fixtures/`.

use std::collections::BTreeMap;

use paygate_channels::alipay::{cert, sign};
use paygate_domain::sign::{RsaPrivateKey, RsaPublicKey};

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/vectors/alipay-sdk-nodejs"
);

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{VECTORS}/{name}")).unwrap()
}

fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A real trade notification Alipay sent, and the public key that verifies it:
/// `test/alipay.test.ts`, "verify sign should delete sign_type / with sign_type arguments verify
/// success" (`notifyAlipayPublicKeyV1`). `fund_bill_list` arrives as JSON text in the form.
const NOTIFY_PUBLIC_KEY: &str = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAqObrdC7hrgAVM98tK0nv3hSQRGGKT4lBsQjHiGjeYZjOPIPHR5knm2jnnz/YGIXIofVHkA/tAlBAd5DrY7YpvI4tP5EONLtZKC2ghBMx7McI2wRD0xiqzxOQr1FuhZGJ8/AUokBzJrzY+aGX2xcOrxFYRlFilvVLTXg4LWjR1tdPkO6+i7wQZAIVMClPkwVRZEbaERRHlKqTzv2gGv5rDU8gRoe1LeaN+6BlbTqHWkQcNCUNrA8C6l17XAXGKDsm/9TFWwO8EPHHHCaQdjtV5/FdcWIt+L8SR1ss7EXTjYDFtxcKVv9rEoY1lX8T4mX+GbXfZHraG5NCF1+XioL5JwIDAQAB";

fn real_notification() -> BTreeMap<String, String> {
    params(&[
        ("gmt_create", "2019-08-15 15:56:22"),
        ("charset", "utf-8"),
        ("seller_email", "z97-yuquerevenue@service.aliyun.com"),
        ("subject", "语雀空间 500人规模"),
        ("sign", "QfTb8tqE1BMhS5qAnXtvsF3/jBkEvu9q9en0pdbBUDDjvKycZhQb7h8GDs4FKfi049PynaNuatxSgLb/nLWZpXyyh0LEWdK2S6Ri7nPwrVgOs08zugLO20vOQz44y3ti2Ncm8/wZts1Fr2gZ7pShnVX3d1B50hbsXnObT1r/U8ONNQjWXd0HIul4TG+Q3fm3svmSvFEy0WnzuhcyHPX5Gm4ELNctL6Qd5YniGJFNcc7kopHYtI/XD9YCKCH6Ct02rzUs9i11C9CsadtZn+WhxF26Dqt9sGEFajkJ8cxUTLi8+VCpLHsgPE8P0y095uQcDdK0YjCh4x7wVSov+lrmOQ=="),
        ("buyer_id", "2088102534368455"),
        ("invoice_amount", "0.10"),
        ("notify_id", "2019081500222155624068450559358070"),
        ("fund_bill_list", r#"[{"amount":"0.10","fundChannel":"ALIPAYACCOUNT"}]"#),
        ("notify_type", "trade_status_sync"),
        ("trade_status", "TRADE_SUCCESS"),
        ("receipt_amount", "0.10"),
        ("buyer_pay_amount", "0.10"),
        ("sign_type", "RSA2"),
        ("app_id", "2019073166072302"),
        ("seller_id", "2088531891668739"),
        ("gmt_payment", "2019-08-15 15:56:24"),
        ("notify_time", "2019-08-15 15:56:25"),
        ("version", "1.0"),
        ("out_trade_no", "20190815155618536-564-57"),
        ("total_amount", "0.10"),
        ("trade_no", "2019081522001468450512505578"),
        ("auth_app_id", "2019073166072302"),
        ("buyer_logon_id", "xud***@126.com"),
        ("point_amount", "0.00"),
    ])
}

#[test]
fn a_real_alipay_notification_verifies_without_sign_type_in_the_content() {
    let key = RsaPublicKey::from_text(NOTIFY_PUBLIC_KEY).unwrap();
    let notification = real_notification();
    let content = sign::notify_content(&notification);
    assert!(content.starts_with("app_id=2019073166072302&auth_app_id=2019073166072302&buyer_id="));
    assert!(!content.contains("sign_type"));
    assert!(sign::verify_rsa2(&key, &content, &notification["sign"]));
    // The request rule (which keeps sign_type) does not give the string Alipay signed.
    assert!(!sign::verify_rsa2(
        &key,
        &sign::request_content(&notification),
        &notification["sign"]
    ));
}

#[test]
fn a_tampered_real_notification_does_not_verify() {
    let key = RsaPublicKey::from_text(NOTIFY_PUBLIC_KEY).unwrap();
    let mut notification = real_notification();
    notification.insert("total_amount".into(), "1.10".into());
    let content = sign::notify_content(&notification);
    assert!(!sign::verify_rsa2(&key, &content, &notification["sign"]));
}

/// A real answer from Alipay's test gateway and the key that verifies it: `test/alipay.test.ts`,
/// "checkResponseSign() / should work", verified with `fixtures/alipay-public-key.pem`.
#[test]
fn a_real_answer_verifies_over_the_raw_response_text() {
    let body = r#"{"alipay_open_file_upload_response":{"code":"10000","msg":"Success","file_id":"CAxAToWB1JsAAAAAAAAAAAAADgSLAQBr"},"sign":"F+LDzpTNiavn7xVZPGuPCSSVRSmWzJGgtuji6tVELGEaqMaNj0jRKXUEr5nloZJBBmwEnddOyCjjepMmrTKTvoOqQ0Efxpr/R1iEeHTHVbb/Q8TTh6Up5gHJDkILdaWS2q1cWeQ6VT+HQY9P3WRXS7uhILHuDODIhpAyCu5KhWGt0rMCIG+Im6NODJP2oohtSCtmTFXg58HH587Z2y2bdbjzOxLvzD9IrU1imghXQ2S/Q+wMIvRk9on6cWnBLkrNvJKapA2ReNGWOwyuASvB9zDVzhMPbR+3mfRGkVDxsq5HYLjBKGskJMXHw0HuugZij6ScRuaLPODhmHwr/pJ9yw=="}"#;
    let content = sign::response_content(body, "alipay.open.file.upload").unwrap();
    assert_eq!(
        content,
        r#"{"code":"10000","msg":"Success","file_id":"CAxAToWB1JsAAAAAAAAAAAAADgSLAQBr"}"#
    );
    let sign_value: serde_json::Value = serde_json::from_str(body).unwrap();
    let key = RsaPublicKey::from_text(&fixture("alipay-public-key.pem")).unwrap();
    assert!(sign::verify_rsa2(
        &key,
        content,
        sign_value["sign"].as_str().unwrap()
    ));
}

/// The string to sign follows Alipay's documented rule, and SHA256withRSA over it with the SDK's
/// app key (`fixtures/app-private-key-pkcs8.pem`) gives the signature below. No official SDK
/// test publishes a request signature (they compare with OpenSSL at run time, as
/// python-alipay-sdk's `test_sign_data_with_private_key_sha256` does), so the expected value was
/// produced by `openssl dgst -sha256 -sign app-private-key-pkcs8.pem | base64` over `CONTENT`.
#[test]
fn a_request_is_signed_over_the_sorted_non_empty_params() {
    const CONTENT: &str = r#"app_id=2021000122671080&biz_content={"out_trade_no":"20150320010101001","total_amount":"88.88","subject":"Iphone6 16G"}&charset=utf-8&format=JSON&method=alipay.trade.precreate&notify_url=https://api.example.com/callback/alipay/pay&sign_type=RSA2&timestamp=2014-07-24 03:07:50&version=1.0"#;
    const EXPECTED: &str = "Tsr6d0H4+CFV17651SuGl5PkYdwFDzotXcffvzlaiZqTXCGo1bWVW3mJ9VJrQSiKEUPLQRWV1c2He2P8D6XD+3hwP+Q4DgXh2wv5e4ZU7X8IfE9KAEuQh1dxbG40O4cb8BjP1Q1npEbGCY27whUxLqHhe2khhtlOju7TdTheGTJvvuET2ccVnXZdZvGGWIqJLKjRujZHSf+5+86dpLa8K4o4dIkerhgaVESMY2QLeFpZxX2r/rXV4n9LCeI7JohdlJPLuEecrE9yZcl4KocXYy2EiN+r71D4ARAp0tnUHhYbTFWR1+TA9iyxK+wkodAFNfWdURidH89q7aT7AfMfLA==";
    let request = params(&[
        ("version", "1.0"),
        ("timestamp", "2014-07-24 03:07:50"),
        ("method", "alipay.trade.precreate"),
        ("app_id", "2021000122671080"),
        ("sign_type", "RSA2"),
        ("charset", "utf-8"),
        ("format", "JSON"),
        ("notify_url", "https://api.example.com/callback/alipay/pay"),
        ("app_auth_token", ""),
        (
            "biz_content",
            r#"{"out_trade_no":"20150320010101001","total_amount":"88.88","subject":"Iphone6 16G"}"#,
        ),
    ]);
    assert_eq!(sign::request_content(&request), CONTENT);
    let key = RsaPrivateKey::from_text(&fixture("app-private-key-pkcs8.pem")).unwrap();
    assert_eq!(sign::sign_rsa2(&key, CONTENT), EXPECTED);
    let public = RsaPublicKey::from_text(&fixture("app-public-key.pem")).unwrap();
    assert!(sign::verify_rsa2(&public, CONTENT, EXPECTED));
}

/// `test/antcertutil.test.ts`: `appCertSnVal`, `alipayPublicCertSnVal`, `rootCertSnVal`,
/// `publicKeyVal`.
#[test]
fn certificate_sns_match_the_official_sdk() {
    assert_eq!(
        cert::cert_sn(&fixture("appCertPublicKey_2021001161683774.crt")).unwrap(),
        "866efef280dec9137a87d047ac446315"
    );
    assert_eq!(
        cert::cert_sn(&fixture("alipayCertPublicKey_RSA2.crt")).unwrap(),
        "7513daaaa48aa3ba2e4018d84402479c"
    );
    assert_eq!(
        cert::root_cert_sn(&fixture("alipayRootCert.crt")).unwrap(),
        "687b59193f3f462dd5336e5abf83c5d8_02941eef3187dddf3d3b83462e1dfcf6"
    );
}

#[test]
fn the_public_key_comes_out_of_alipays_certificate() {
    const PUBLIC_KEY: &str = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAhoVesfcGvUv1XvUndmX0rmSZ/2posJBCooySbSVFpV79RtHMzrVz2aKkC3WvOXeT5iNeQK4mK8gp3vNkWrHTkQGx5BcmkeO1WS384CQde7dAS0gmxeFs5bs+cCQqV2A2c2R9/5rJMtFtp1Ot/rIiMBUn6Ei0UoztM7AneavqQEzSwYlCKNhPFFtHCiz7u4O5R9CIyvUmYr+zpem2HXBN9ygPAZ0aXBQipGbc45+G07ZCNsmY4hV/Igya1aBf+Ye8p10Ew8uBBri0sIknhSC2LqKKy2IH1fO6q1d1jhN240QRHvbpRNv60kAfZsEulBASBrCMBi49NiJyr5nre7SNywIDAQAB";
    assert_eq!(
        cert::public_key_text_of(&fixture("alipayCertPublicKey_RSA2.crt")).unwrap(),
        PUBLIC_KEY
    );
    assert!(cert::public_key_of(&fixture("alipayCertPublicKey_RSA2.crt")).is_ok());
}

#[test]
fn a_bundle_without_rsa_certificates_or_garbage_is_refused() {
    assert_eq!(
        cert::root_cert_sn(""),
        Err(cert::CertError::NoRsaCertificate)
    );
    assert!(matches!(
        cert::cert_sn("not a cert"),
        Err(cert::CertError::Parse(_))
    ));
}
