use crate::helpers::start;
use axum::http::StatusCode;
use paygate_channels::wechat::v2_sign::V2SignType;
use serde_json::json;

const AUTH_CODE: &str = "134567890123456789";

fn micropay<'a>(out_trade_no: &'a str, auth_code: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("body", "image形象店-深圳腾大- QQ公仔"),
        ("out_trade_no", out_trade_no),
        ("total_fee", "888"),
        ("spbill_create_ip", "14.17.22.52"),
        ("auth_code", auth_code),
    ]
}

#[tokio::test]
async fn a_micropay_with_a_valid_code_is_paid_at_once() {
    let h = start().await;
    let answer = h
        .v2(
            "/pay/micropay",
            &micropay("M20261129001", AUTH_CODE),
            V2SignType::HmacSha256,
        )
        .await;
    assert_eq!(answer["return_code"], "SUCCESS");
    assert_eq!(answer["result_code"], "SUCCESS");
    assert_eq!(answer["trade_type"], "MICROPAY");
    assert_eq!(answer["total_fee"], "888");
    assert_eq!(answer["transaction_id"].len(), 28);
    assert_eq!(answer["time_end"].len(), 14);
    let mchid = &h.credentials.mchid;
    let query = h
        .get(&format!(
            "/v3/pay/transactions/out-trade-no/M20261129001?mchid={mchid}"
        ))
        .await;
    assert_eq!(query.body["trade_state"], "SUCCESS");
    assert_eq!(query.body["trade_type"], "MICROPAY");
    let refund = h
        .post(
            "/v3/refund/domestic/refunds",
            &h.refund("M20261129001", "RM20261129001", 888, 888, None),
        )
        .await;
    assert_eq!(refund.status, StatusCode::OK);
}

#[tokio::test]
async fn a_micropay_in_userpaying_succeeds_once_the_payer_pays() {
    let h = start().await;
    let arranged = h
        .payer(json!({"auth_code": AUTH_CODE, "action": "userpaying"}))
        .await;
    assert_eq!(arranged.status, StatusCode::OK);
    let answer = h
        .v2(
            "/pay/micropay",
            &micropay("M20261129002", AUTH_CODE),
            V2SignType::Md5,
        )
        .await;
    assert_eq!(answer["return_code"], "SUCCESS");
    assert_eq!(answer["result_code"], "FAIL");
    assert_eq!(answer["err_code"], "USERPAYING");
    let query = [("out_trade_no", "M20261129002")];
    let waiting = h.v2("/pay/orderquery", &query, V2SignType::Md5).await;
    assert_eq!(waiting["trade_state"], "USERPAYING");

    let paid = h
        .payer(json!({"out_trade_no": "M20261129002", "action": "pay"}))
        .await;
    assert_eq!(paid.body["trade_state"], "SUCCESS");
    let settled = h.v2("/pay/orderquery", &query, V2SignType::Md5).await;
    assert_eq!(settled["result_code"], "SUCCESS");
    assert_eq!(settled["trade_state"], "SUCCESS");
    assert_eq!(
        settled["transaction_id"],
        paid.body["transaction_id"].as_str().unwrap()
    );
}

#[tokio::test]
async fn a_reversed_micropay_is_revoked() {
    let h = start().await;
    h.payer(json!({"auth_code": AUTH_CODE, "action": "userpaying"}))
        .await;
    h.v2(
        "/pay/micropay",
        &micropay("M20261129003", AUTH_CODE),
        V2SignType::HmacSha256,
    )
    .await;
    let reversed = h
        .v2(
            "/secapi/pay/reverse",
            &[("out_trade_no", "M20261129003")],
            V2SignType::HmacSha256,
        )
        .await;
    assert_eq!(reversed["result_code"], "SUCCESS");
    assert_eq!(reversed["recall"], "N");
    let query = h
        .v2(
            "/pay/orderquery",
            &[("out_trade_no", "M20261129003")],
            V2SignType::HmacSha256,
        )
        .await;
    assert_eq!(query["trade_state"], "REVOKED");
    let late_pay = h
        .payer(json!({"out_trade_no": "M20261129003", "action": "pay"}))
        .await;
    assert_eq!(late_pay.status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_micropay_with_a_bad_code_or_a_bad_signature_is_refused() {
    let h = start().await;
    for code in [
        "2345678901234567890",
        "164567890123456789",
        "abcdefghijklmnopqr",
    ] {
        let answer = h
            .v2(
                "/pay/micropay",
                &micropay("M20261129004", code),
                V2SignType::Md5,
            )
            .await;
        assert_eq!(answer["err_code"], "AUTH_CODE_INVALID", "{code}");
    }
    h.payer(json!({"auth_code": AUTH_CODE, "action": "fail"}))
        .await;
    let declined = h
        .v2(
            "/pay/micropay",
            &micropay("M20261129005", AUTH_CODE),
            V2SignType::Md5,
        )
        .await;
    assert_eq!(declined["err_code"], "NOTENOUGH");

    let forged = h
        .post_xml(
            "/pay/micropay",
            "<xml><appid>wx1</appid><sign>ABC</sign></xml>".into(),
        )
        .await;
    assert_eq!(forged["return_code"], "FAIL");
    assert_eq!(forged["return_msg"], "签名错误");
}
