use super::*;
use proptest::prelude::*;
use serde_json::json;

fn obj(value: Value) -> Map<String, Value> {
    value.as_object().unwrap().clone()
}

#[test]
fn keys_written_as_pem_read_back_and_verify_what_they_sign() {
    let key = RsaPrivateKey::generate().unwrap();
    let private = key.to_pem();
    let public = key.public_key_pem();
    assert!(private.starts_with("-----BEGIN PRIVATE KEY-----\n"));
    assert!(private.ends_with("-----END PRIVATE KEY-----\n"));
    assert!(public.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    let body_lines: Vec<&str> = private
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    assert!(body_lines.iter().all(|l| l.len() <= 64));
    assert!(body_lines[..body_lines.len() - 1]
        .iter()
        .all(|l| l.len() == 64));

    let reread = RsaPrivateKey::from_text(&private).unwrap();
    let signed = SignKey::Rsa2(reread)
        .sign_string("appid\n1\nnonce\n")
        .unwrap();
    let verify = VerifyKey::Rsa2(RsaPublicKey::from_text(&public).unwrap());
    assert_eq!(verify.verify_string("appid\n1\nnonce\n", &signed), Ok(()));
}

#[test]
fn string_to_sign_sorts_by_key_and_drops_sign_and_empty_values() {
    let params = obj(json!({
        "total_amount": "0.01", "merchant_id": "M1", "sign": "X", "body": "",
        "attach": null, "timestamp": 1795000000, "disable_credit": true, "Zeta": "upper first"
    }));
    assert_eq!(
        string_to_sign(&params).unwrap(),
        "Zeta=upper first&disable_credit=true&merchant_id=M1&timestamp=1795000000&total_amount=0.01"
    );
}

#[test]
fn nested_values_and_floats_are_not_signable_and_name_their_key() {
    for bad in [json!({"b": 1}), json!([1]), json!(1.5), json!([{"c": []}])] {
        let params = obj(json!({"ok": "1", "a": bad, "z": "2"}));
        assert_eq!(string_to_sign(&params), Err(SignError::NotFlat("a".into())));
    }
}

#[test]
fn md5_matches_the_classic_pay_api_construction() {
    // md5("a=1&b=2&key=secret"), computed independently with Python's hashlib.
    let key = SignKey::Md5("secret".into());
    assert_eq!(
        key.sign_string("a=1&b=2").unwrap(),
        "9F565CCD686CFA5DC3B06B3A89E4E3AD"
    );
}

#[test]
fn hmac_sha256_matches_rfc_4231_case_2() {
    let key = SignKey::HmacSha256("Jefe".into());
    assert_eq!(
        key.sign_string("what do ya want for nothing?").unwrap(),
        "5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843"
    );
}

#[test]
fn each_algorithm_round_trips_and_rejects_a_tampered_amount() {
    let signers = [
        SignKey::Md5("s3cret".into()),
        SignKey::HmacSha256("s3cret".into()),
        SignKey::Rsa2(RsaPrivateKey::generate().unwrap()),
    ];
    for signer in signers {
        let verifier = signer.verify_key();
        let mut params = obj(json!({"merchant_id": "M1", "total_amount": "10.00"}));
        signer.sign_in_place(&mut params).unwrap();
        assert_eq!(verifier.verify(&params), Ok(()), "{:?}", signer.sign_type());
        params.insert("total_amount".into(), "0.01".into());
        assert_eq!(verifier.verify(&params), Err(SignError::Mismatch));
    }
}

#[test]
fn lowercase_hex_signatures_are_accepted() {
    let key = SignKey::Md5("k".into());
    let sign = key.sign_string("a=1").unwrap().to_lowercase();
    assert_eq!(
        VerifyKey::Md5("k".into()).verify_string("a=1", &sign),
        Ok(())
    );
}

#[test]
fn rsa_keys_survive_their_text_form() {
    let key = RsaPrivateKey::generate().unwrap();
    let again = RsaPrivateKey::from_text(&key.to_text()).unwrap();
    let sign = SignKey::Rsa2(again).sign_string("a=1").unwrap();
    let public = RsaPublicKey::from_text(&key.public_key_text()).unwrap();
    assert_eq!(VerifyKey::Rsa2(public).verify_string("a=1", &sign), Ok(()));
    assert!(RsaPublicKey::from_text("not a key").is_err());
}

#[test]
fn the_window_is_inclusive_and_the_extremes_are_outside_it() {
    let now = 1_795_000_000;
    assert!(timestamp_in_window(now, now + 300, 300));
    assert!(timestamp_in_window(now, now - 300, 300));
    assert!(!timestamp_in_window(now, now + 301, 300));
    assert!(!timestamp_in_window(now, now - 301, 300));
    for far in [i64::MIN, i64::MIN + 1, -1, 0, i64::MAX - 1, i64::MAX] {
        assert!(!timestamp_in_window(now, far, 300), "{far}");
    }
    assert!(timestamp_in_window(i64::MIN, i64::MIN, 0));
    assert!(!timestamp_in_window(i64::MIN, i64::MAX, i64::MAX));
    assert!(!timestamp_in_window(now, now, -1));
}

fn field_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        "[a-zA-Z0-9 .:_-]{1,12}".prop_map(Value::String),
        any::<i64>().prop_map(|n| json!(n)),
        any::<bool>().prop_map(Value::Bool),
    ]
}

proptest! {
    /// Over the whole i64 range the check agrees with exact (i128) arithmetic: no panic, no
    /// wrap that lands a far value inside the window.
    #[test]
    fn the_window_check_is_exact_over_all_of_i64(
        now in any::<i64>(),
        timestamp in prop_oneof![
            any::<i64>(),
            Just(i64::MIN),
            Just(i64::MAX),
        ],
        window in prop_oneof![0i64..=600, any::<i64>()],
    ) {
        let exact = (i128::from(now) - i128::from(timestamp)).abs() <= i128::from(window);
        prop_assert_eq!(timestamp_in_window(now, timestamp, window), exact);
    }

    #[test]
    fn a_timestamp_near_now_is_judged_exactly(
        now in any::<i64>(),
        offset in -1000i64..=1000,
    ) {
        let timestamp = now.saturating_add(offset);
        let exact = (i128::from(now) - i128::from(timestamp)).abs() <= 300;
        prop_assert_eq!(timestamp_in_window(now, timestamp, 300), exact);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn changing_any_signed_field_breaks_the_signature(
        fields in proptest::collection::btree_map("[a-z_]{1,10}", field_value(), 1..8),
        pick in any::<prop::sample::Index>(),
        replacement in field_value(),
    ) {
        let mut params: Map<String, Value> = fields.into_iter().collect();
        params.remove("sign");
        prop_assume!(!params.is_empty());
        for (signer, verifier) in [
            (SignKey::Md5("k1".into()), VerifyKey::Md5("k1".into())),
            (SignKey::HmacSha256("k1".into()), VerifyKey::HmacSha256("k1".into())),
        ] {
            let mut signed = params.clone();
            signer.sign_in_place(&mut signed).unwrap();
            prop_assert!(verifier.verify(&signed).is_ok());
            let keys: Vec<String> = params.keys().cloned().collect();
            let key = &keys[pick.index(keys.len())];
            prop_assume!(signed[key] != replacement);
            signed.insert(key.clone(), replacement.clone());
            prop_assert_eq!(verifier.verify(&signed), Err(SignError::Mismatch));
        }
    }
}
