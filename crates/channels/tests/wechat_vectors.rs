//! Known-answer tests of WeChat Pay's cryptography, with inputs and outputs taken from WeChat
//! Pay's published documentation and its official SDKs' test data (each cited where used), so
//! our implementation is checked against theirs, not against itself.

use paygate_channels::wechat::v2_sign::{self, V2SignType};
use paygate_channels::wechat::v3_auth::{open_resource, seal_resource, Authorization, Request};
use paygate_domain::sign::{RsaPrivateKey, SignKey, VerifyKey};
use std::collections::BTreeMap;

/// wechatpay-apiv3/wechatpay-go (commit 6dbd7ce2), `core/auth/signers/sha256withrsa_signer_test.go`:
/// its test key (in `vectors/`), the message `source`, and the SHA256withRSA signature it expects.
const GO_SDK_KEY: &str = include_str!("vectors/wechatpay-go-signer-test-key.pem");
const GO_SDK_MESSAGE: &str = "source";
const GO_SDK_SIGNATURE: &str = "BKyAfU4iMCuvXMXS0Wzam3V/cnxZ+JaqigPM5OhljS2iOT95OO6Fsuml2JkFANJU9K6q9bLlDhPXuoVz+pp4hAm6\
pHU4ld815U4jsKu1RkyaII+1CYBUYC8TK0XtJ8FwUXXz8vZHh58rrAVN1XwNyvD1vfpxrMT4SL536GLwvpUHlCqIMzoZUguLli/K8V29QiOh\
uH6IEqLNJn8e9b3nwNcQ7be3CzYGpDAKBfDGPCqCv8Rw5zndhlffk2FEA70G4hvMwe51qMN/RAJbknXG23bSlObuTCN7Ndj1aJGH6/L+hdwf\
LpUtJm4QYVazzW7DFD27EpSQEqA8bX9+8m1rLg==";

#[test]
fn sha256_with_rsa_signs_as_the_official_go_sdk_does() {
    let key = RsaPrivateKey::from_text(GO_SDK_KEY).unwrap();
    let signed = SignKey::Rsa2(key.clone())
        .sign_string(GO_SDK_MESSAGE)
        .unwrap();
    assert_eq!(signed, GO_SDK_SIGNATURE);
    let verify = VerifyKey::Rsa2(key.public_key());
    assert_eq!(
        verify.verify_string(GO_SDK_MESSAGE, GO_SDK_SIGNATURE),
        Ok(())
    );
    assert!(verify.verify_string("sourcE", GO_SDK_SIGNATURE).is_err());
}

/// wechatpay-go, `core/auth/credentials/wechat_pay_credential_test.go`: the text a request's
/// signature covers, for a GET without a body and a POST with one.
#[test]
fn the_v3_request_message_is_method_url_timestamp_nonce_and_body_each_on_its_line() {
    for (method, body, message) in [
        (
            "GET",
            "",
            "GET\n/v3/certificates\n1624523846\nA1B2C3D4E5F6G7\n\n",
        ),
        (
            "POST",
            "Hello World!\n",
            "POST\n/v3/certificates\n1624523846\nA1B2C3D4E5F6G7\nHello World!\n\n",
        ),
    ] {
        let request = Request {
            method,
            url: "/v3/certificates",
            body,
        };
        assert_eq!(request.message(1624523846, "A1B2C3D4E5F6G7"), message);
    }
}

#[test]
fn a_signed_authorization_header_verifies_over_its_request_only() {
    let key = RsaPrivateKey::from_text(GO_SDK_KEY).unwrap();
    let request = Request {
        method: "POST",
        url: "/v3/pay/transactions/native",
        body: "{\"amount\":{\"total\":1}}",
    };
    let auth = Authorization::sign(
        &SignKey::Rsa2(key.clone()),
        "1234567890",
        "F5765756002FDD77",
        1624523846,
        "A1B2C3D4E5F6G7",
        &request,
    )
    .unwrap();
    let header = auth.header_value();
    assert!(header.starts_with(
        "WECHATPAY2-SHA256-RSA2048 mchid=\"1234567890\",nonce_str=\"A1B2C3D4E5F6G7\",signature=\""
    ));
    let read = Authorization::parse(&header).unwrap();
    let verify = VerifyKey::Rsa2(key.public_key());
    assert_eq!(read.verify(&verify, &request), Ok(()));
    let tampered = Request {
        body: "{\"amount\":{\"total\":100}}",
        ..request
    };
    assert!(read.verify(&verify, &tampered).is_err());
}

/// wechatpay-apiv3/wechatpay-java, `core/src/test/java/com/wechat/pay/java/core/cipher/
/// AeadAesCipherTest.java` with `TestConfig.API_V3_KEY`: AEAD_AES_256_GCM under a 32-byte
/// APIv3 key.
#[test]
fn callback_resources_open_as_the_official_java_sdk_seals_them() {
    let apiv3_key = "a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb";
    let ciphertext = "ulwSiIajGClcvcOYvOQ7+l+0PAbzzwI=";
    assert_eq!(
        open_resource(apiv3_key, "uluk4a9R25RW", "associatedData", ciphertext).unwrap(),
        "message"
    );
    assert_eq!(
        seal_resource(apiv3_key, "uluk4a9R25RW", "associatedData", "message").unwrap(),
        ciphertext
    );
}

/// WeChat Pay API v2 documentation, 安全规范 → 签名算法
/// (pay.weixin.qq.com/wiki/doc/api/micropay.php?chapter=4_3): its worked example, with the
/// MD5 and HMAC-SHA256 signatures it gives.
#[test]
fn v2_signatures_match_the_documented_example() {
    let params: BTreeMap<String, String> = [
        ("appid", "wxd930ea5d5a258f4f"),
        ("mch_id", "10000100"),
        ("device_info", "1000"),
        ("body", "test"),
        ("nonce_str", "ibuaiVcKdpRxkhJA"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let key = "192006250b4c09247ec02edce69f6a2d";
    assert_eq!(
        v2_sign::string_to_sign(&params),
        "appid=wxd930ea5d5a258f4f&body=test&device_info=1000&mch_id=10000100&nonce_str=ibuaiVcKdpRxkhJA"
    );
    assert_eq!(
        v2_sign::sign(&params, key, V2SignType::Md5),
        "9A0A8659F005D6984697E2CA0A9CF3B7"
    );
    let hmac = v2_sign::sign(&params, key, V2SignType::HmacSha256);
    assert_eq!(
        hmac,
        "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6"
    );

    let mut signed = params.clone();
    signed.insert("sign".into(), hmac);
    signed.insert("attach".into(), String::new());
    assert!(
        v2_sign::verify(&signed, key, V2SignType::HmacSha256),
        "empty values and the sign itself are not signed"
    );
    signed.insert("body".into(), "test2".into());
    assert!(!v2_sign::verify(&signed, key, V2SignType::HmacSha256));
}
