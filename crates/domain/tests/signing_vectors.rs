//! The README's signing pitfalls, checked against docs/signing-vectors.json: vectors computed
//! outside Paygate (Python's hashlib/hmac, the openssl command line; see
//! scripts/signing-vectors.py), so this is not our own output echoed back.

use paygate_domain::sign::{string_to_sign, RsaPrivateKey, RsaPublicKey, SignKey, VerifyKey};
use serde_json::{Map, Value};

const VECTORS: &str = include_str!("../../../docs/signing-vectors.json");

fn document() -> Map<String, Value> {
    serde_json::from_str(VECTORS).expect("docs/signing-vectors.json is a JSON object")
}

fn text<'a>(object: &'a Map<String, Value>, key: &str) -> &'a str {
    object[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is a string"))
}

/// The signing and verifying keys of an algorithm, from the file's secret and key pair.
fn keys(doc: &Map<String, Value>, sign_type: &str) -> (SignKey, VerifyKey) {
    let secret = text(doc, "secret").to_owned();
    match sign_type {
        "MD5" => (
            SignKey::Md5(secret.clone().into()),
            VerifyKey::Md5(secret.into()),
        ),
        "HMAC-SHA256" => (
            SignKey::HmacSha256(secret.clone().into()),
            VerifyKey::HmacSha256(secret.into()),
        ),
        "RSA2" => (
            SignKey::Rsa2(RsaPrivateKey::from_text(text(doc, "rsa_private_key_pkcs8")).unwrap()),
            VerifyKey::Rsa2(RsaPublicKey::from_text(text(doc, "rsa_public_key_spki")).unwrap()),
        ),
        other => panic!("unknown sign type {other}"),
    }
}

fn vectors(doc: &Map<String, Value>) -> Vec<Map<String, Value>> {
    let list = doc["vectors"].as_array().expect("a list of vectors");
    assert!(list.len() >= 6, "one vector per pitfall at least");
    list.iter()
        .map(|v| v.as_object().expect("a vector object").clone())
        .collect()
}

#[test]
fn every_vector_gives_the_same_string_to_sign_and_sign() {
    let doc = document();
    for vector in vectors(&doc) {
        let pitfall = text(&vector, "pitfall");
        let fields = vector["fields"].as_object().expect("fields");
        let signatures = vector["signatures"].as_object().expect("signatures");
        assert_eq!(signatures.len(), 3, "{pitfall}: MD5, HMAC-SHA256 and RSA2");
        for (sign_type, expected) in signatures {
            let expected = expected.as_object().expect("a signature object");
            let (signer, verifier) = keys(&doc, sign_type);
            let mut body = fields.clone();

            signer.sign_in_place(&mut body).expect("flat fields sign");

            let context = format!("{pitfall} ({sign_type})");
            assert_eq!(body["sign_type"], sign_type.as_str(), "{context}");
            assert_eq!(
                string_to_sign(&body).unwrap(),
                text(expected, "string_to_sign"),
                "{context}"
            );
            assert_eq!(body["sign"], expected["sign"], "{context}");
            assert_eq!(verifier.verify(&body), Ok(()), "{context}");
        }
    }
}

/// `sign_type` is part of what is signed: the same fields under another claimed type fail.
#[test]
fn the_sign_type_is_signed() {
    let doc = document();
    for vector in vectors(&doc) {
        let hmac = &vector["signatures"]["HMAC-SHA256"];
        let mut body = vector["fields"].as_object().unwrap().clone();
        body.insert("sign".into(), hmac["sign"].clone());
        let (_, verifier) = keys(&doc, "HMAC-SHA256");
        assert!(verifier.verify(&body).is_err(), "without sign_type");
        body.insert("sign_type".into(), "MD5".into());
        assert!(verifier.verify(&body).is_err(), "with another sign_type");
        body.insert("sign_type".into(), "HMAC-SHA256".into());
        assert_eq!(verifier.verify(&body), Ok(()));
    }
}

/// A base64 signature wrapped at 76 characters (Java's MIME encoder, PHP's chunk_split) is
/// refused: RSA2 signs are one line.
#[test]
fn an_rsa2_sign_with_line_breaks_is_refused() {
    let doc = document();
    let (_, verifier) = keys(&doc, "RSA2");
    for vector in vectors(&doc) {
        let rsa2 = vector["signatures"]["RSA2"].as_object().unwrap();
        let sign = text(rsa2, "sign");
        assert!(
            !sign.contains(['\n', '\r']),
            "the vector's sign is one line"
        );
        let wrapped: Vec<String> = sign
            .as_bytes()
            .chunks(76)
            .map(|c| String::from_utf8(c.to_vec()).unwrap())
            .collect();
        let s = text(rsa2, "string_to_sign");
        assert_eq!(verifier.verify_string(s, sign), Ok(()));
        assert!(verifier.verify_string(s, &wrapped.join("\r\n")).is_err());
    }
}

/// What the usual mistakes produce is a different string, so a different sign.
#[test]
fn the_usual_mistakes_change_the_string_to_sign() {
    let doc = document();
    let by_pitfall = |word: &str| {
        vectors(&doc)
            .into_iter()
            .find(|v| text(v, "pitfall").contains(word))
            .unwrap_or_else(|| panic!("a vector about {word}"))
    };
    let boolean = by_pitfall("booleans");
    let mut python_style = boolean["fields"].as_object().unwrap().clone();
    python_style.insert("disable_credit".into(), "True".into());
    python_style.insert("sign_type".into(), "MD5".into());
    assert_ne!(
        string_to_sign(&python_style).unwrap(),
        text(
            boolean["signatures"]["MD5"].as_object().unwrap(),
            "string_to_sign"
        )
    );

    let seconds = by_pitfall("seconds");
    let fields = seconds["fields"].as_object().unwrap();
    let mut as_integer = fields.clone();
    as_integer.insert("timestamp".into(), 1_795_000_000.into());
    as_integer.insert("sign_type".into(), "MD5".into());
    let expected = text(
        seconds["signatures"]["MD5"].as_object().unwrap(),
        "string_to_sign",
    );
    assert_eq!(string_to_sign(&as_integer).unwrap(), expected);
    as_integer.insert("timestamp".into(), 1_795_000_000_000_i64.into());
    assert_ne!(string_to_sign(&as_integer).unwrap(), expected);
}
