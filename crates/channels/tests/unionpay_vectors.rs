//! Known answers for UnionPay's certificate signature (`signMethod=01`, version 5.1.0) and its
//! reconciliation file, from UnionPay's published test material:
//!
//! - `acp_test_sign.pfx` (password `000000`), the test signing certificate every merchant used
//!   against UnionPay's test environment, shipped in UnionPay's official ACP demo projects
//!   (`assets/测试环境证书/`); its key and certificate are in `vectors/unionpay/` as PEM,
//!   extracted with `openssl pkcs12 -legacy`. Its certId is 68759663125.
//! - A 5.1.0 request signed with that certificate against the test gateway, published verbatim
//!   in a public project (`Test3.java` of winston's htmlunit practice, a `frontTransReq.do` URL
//!   with `txnType=79`): `vectors/unionpay/published_request_5_1_0.txt`.
//! - The sample reconciliation file `INN15090588ZM_802310048993424` from the same ACP demo
//!   (`assets/对账文件样例/802310048993424_20150905.zip`).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use paygate_channels::unionpay::{bill, sign, wire};
use paygate_channels::BillLineKind;
use paygate_domain::sign::RsaPrivateKey;

const KEY_PEM: &str = include_str!("vectors/unionpay/acp_test_sign.key.pem");
const CERT_PEM: &str = include_str!("vectors/unionpay/acp_test_sign.cert.pem");
const PUBLISHED: &str = include_str!("vectors/unionpay/published_request_5_1_0.txt");
const SAMPLE_FILE: &str = include_str!("vectors/unionpay/INN15090588ZM_802310048993424");

fn published() -> BTreeMap<String, String> {
    wire::parse_form(PUBLISHED.trim().as_bytes())
}

#[test]
fn the_test_certificates_cert_id_is_its_serial_in_decimal() {
    assert_eq!(sign::cert_id(CERT_PEM).unwrap(), "68759663125");
    assert_eq!(published()["certId"], "68759663125");
}

#[test]
fn the_digest_signed_is_the_hex_sha256_of_the_sorted_fields() {
    let fields = published();
    let string = sign::string_to_sign(&fields);
    assert!(string.starts_with("accNo=VhWfvL+r08Jp6VJa3j9m+3+v+IVKDVPV8VOHO433XBe9"));
    assert!(string.ends_with("&tokenPayData={trId=62000000001&tokenType=01}&txnSubType=00&txnTime=20190128185454&txnType=79&version=5.1.0"));
    assert!(!string.contains("signature="));
    assert_eq!(
        sign::digest_hex(&fields),
        "3b54b49f7c203bf75bde38329657da495fa2ba5e7f392ad00512d6522795503c"
    );
}

#[test]
fn signing_the_published_request_with_the_test_key_gives_the_published_signature() {
    let fields = published();
    let key = RsaPrivateKey::from_text(KEY_PEM).unwrap();
    // PKCS #1 v1.5 is deterministic: the same key and message give the same signature.
    assert_eq!(sign::sign(&key, &fields).unwrap(), fields["signature"]);
}

#[test]
fn the_published_signature_verifies_under_the_test_certificate_and_no_longer_once_changed() {
    let cert = sign::SigningCert::from_pem(CERT_PEM).unwrap();
    let mut fields = published();
    assert_eq!(sign::verify(&cert.public_key, &fields), Ok(()));
    fields.insert("txnAmt".into(), "1".into());
    assert!(sign::verify(&cert.public_key, &fields).is_err());
}

#[test]
fn the_sample_reconciliation_file_reads_to_its_eight_consumes() {
    let lines = bill::parse(SAMPLE_FILE).unwrap();
    assert_eq!(lines.len(), 8);
    let first = &lines[0];
    assert_eq!(first.code, "S56");
    assert_eq!(first.trace_no, "190624");
    assert_eq!(first.trace_time, "0906112203");
    assert_eq!(first.amount_fen, 476_800);
    assert_eq!(first.query_id, "201509061122031906248");
    assert_eq!(first.order_id, "10078087");
    assert_eq!(first.fee_fen, 2_861);
    assert_eq!(first.settle_fen, 473_939);
    assert_eq!(first.txn_type, "01");
    assert_eq!(first.biz_type, "000201");
    assert_eq!(first.mer_id, "802310048993424");
    // Every consume settles its amount less its fee.
    for line in &lines {
        assert_eq!(line.amount_fen - line.fee_fen, line.settle_fen, "{line:?}");
    }
    let total: i64 = lines.iter().map(|l| l.amount_fen).sum();
    assert_eq!(
        total,
        476_800 + 83_800 + 9_900 + 10_000 + 456_700 + 10_000 + 142_200 + 133_300
    );
}

#[test]
fn the_sample_file_becomes_bill_lines_and_our_writer_reproduces_its_columns() {
    let day = NaiveDate::from_ymd_opt(2015, 9, 5).unwrap();
    let lines = bill::to_lines(SAMPLE_FILE, day).unwrap();
    assert_eq!(lines[0].kind, BillLineKind::Payment);
    assert_eq!(lines[0].trade_no, "10078087");
    assert_eq!(lines[0].amount.amount.minor(), 476_800);
    assert_eq!(lines[0].fee.amount.minor(), 2_861);
    // 2015-09-06 11:22:03 Beijing time.
    assert_eq!(lines[0].at_ms, 1_441_509_723_000);
    let parsed = bill::parse(SAMPLE_FILE).unwrap();
    let written = parsed[0].write();
    assert_eq!(written.chars().count(), bill::LINE_CHARS);
    assert_eq!(bill::TradeLine::parse(&written).unwrap(), parsed[0]);
}

#[test]
fn file_content_packs_and_unpacks_to_the_trade_file() {
    let day = NaiveDate::from_ymd_opt(2015, 9, 5).unwrap();
    let name = bill::trade_file_name(day, "802310048993424");
    assert_eq!(name, "INN15090588ZM_802310048993424");
    let content = bill::pack(&[(name, SAMPLE_FILE.to_owned())]).unwrap();
    assert_eq!(
        bill::unpack(&content, "802310048993424").unwrap(),
        SAMPLE_FILE
    );
    assert!(bill::unpack(&content, "777290058110048").is_err());
}
