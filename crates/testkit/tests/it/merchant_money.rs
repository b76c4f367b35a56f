//! The operator's money settings and fee schedules of a merchant (`/admin/merchants/{id}/money`
//! and `/fees`): defaults, read back, `platform` mode gated on qualifications, refusals, and a
//! payment snapshotting the schedule set through the API.

use crate::support::wallet_order;
use paygate_app::AppSettings;
use paygate_domain::fee::{FeeRate, FeeSchedule};
use paygate_domain::merchant_money::{MerchantCategory, SettlementCycle, SettlementMode};
use paygate_domain::Amount;
use paygate_testkit::{both_databases, spawn_app_with, DbBackend, TestApp, TestOptions};
use serde_json::{json, Value};

const ADMIN_TOKEN: &str = "operator-token-0123456789-abcdefghij";

async fn admin_app(backend: DbBackend) -> TestApp {
    let options = TestOptions {
        settings: AppSettings {
            admin_token: Some(ADMIN_TOKEN.into()),
            ..AppSettings::default()
        },
        ..TestOptions::default()
    };
    spawn_app_with(backend, options).await
}

fn url(t: &TestApp, merchant: &str, what: &str) -> String {
    format!("{}/admin/merchants/{merchant}/{what}", t.base_url)
}

async fn get(url: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(url)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn put(url: &str, body: &Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .put(url)
        .bearer_auth(ADMIN_TOKEN)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn settings(mode: &str, qualifications: Value) -> Value {
    json!({
        "category": "virtual_goods", "settlement_mode": mode, "fee_bearer": "platform",
        "cycle": {"kind": "auto", "settle_days": 3, "settle_minimum": "100.00"},
        "withdraw_on_settlement": true, "qualifications": qualifications
    })
}

both_databases!(operators_read_and_set_a_merchants_money_settings);
async fn operators_read_and_set_a_merchants_money_settings(backend: DbBackend) {
    let t = admin_app(backend).await;
    let money = url(&t, t.merchant_id().as_str(), "money");

    let (status, defaults) = get(&money).await;
    assert_eq!(status, 200);
    assert_eq!(defaults["money"]["category"], "physical_goods");
    assert_eq!(defaults["money"]["settlement_mode"], "direct");
    assert_eq!(
        defaults["money"]["cycle"],
        json!({"kind": "auto", "settle_days": 1, "settle_minimum": "0.00"})
    );
    assert_eq!(
        defaults["missing_qualifications"],
        json!(["business_licence"])
    );

    let (status, set) = put(&money, &settings("direct", json!({}))).await;
    assert_eq!(status, 200, "{set}");
    let stored = t.store().merchant_money(t.merchant_id()).await.unwrap();
    assert_eq!(stored.category, MerchantCategory::VirtualGoods);
    assert_eq!(
        stored.cycle,
        SettlementCycle::Auto {
            days: 3,
            minimum: Amount::from_minor(100_00).unwrap()
        }
    );
    assert!(stored.withdraw_on_settlement);
    let (_, read) = get(&money).await;
    assert_eq!(read, set);

    let (status, refused) = put(
        &money,
        &settings("platform", json!({"business_licence": "91310000X"})),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(refused["error_code"], "1001");
    assert_eq!(refused["error_field"], "qualifications");
    let msg = refused["msg"].as_str().unwrap();
    assert!(msg.contains("internet_culture_licence"), "{msg}");
    assert!(!msg.contains("business_licence"), "{msg}");
    let unchanged = t.store().merchant_money(t.merchant_id()).await.unwrap();
    assert_eq!(unchanged.settlement_mode, SettlementMode::Direct);

    let qualified = json!({
        "business_licence": "91310000X", "internet_culture_licence": "沪网文〔2024〕1234-567号"
    });
    let (status, accepted) = put(&money, &settings("platform", qualified)).await;
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["missing_qualifications"], json!([]));
    let (status, manual) = put(
        &money,
        &json!({
            "category": "physical_goods", "settlement_mode": "direct", "fee_bearer": "merchant",
            "cycle": {"kind": "manual"}, "withdraw_on_settlement": false, "qualifications": {}
        }),
    )
    .await;
    assert_eq!(status, 200, "{manual}");
    let stored = t.store().merchant_money(t.merchant_id()).await.unwrap();
    assert_eq!(stored.cycle, SettlementCycle::Manual);
    assert_eq!(stored.settlement_mode, SettlementMode::Direct);
    t.stop().await;
}

both_databases!(bad_money_settings_unknown_merchants_and_missing_tokens_are_refused);
async fn bad_money_settings_unknown_merchants_and_missing_tokens_are_refused(backend: DbBackend) {
    let t = admin_app(backend).await;
    let money = url(&t, t.merchant_id().as_str(), "money");
    let fees = url(&t, t.merchant_id().as_str(), "fees");
    let bad_days = json!({
        "category": "virtual_goods", "settlement_mode": "direct", "fee_bearer": "merchant",
        "cycle": {"kind": "auto", "settle_days": 31, "settle_minimum": "0"},
        "withdraw_on_settlement": false, "qualifications": {}
    });
    let mut bad_minimum = bad_days.clone();
    bad_minimum["cycle"] = json!({"kind": "auto", "settle_days": 2, "settle_minimum": "-1"});
    let mut bad_category = bad_days.clone();
    bad_category["cycle"] = json!({"kind": "manual"});
    bad_category["category"] = json!("casino");
    let mut bad_mode = bad_category.clone();
    bad_mode["category"] = json!("physical_goods");
    bad_mode["settlement_mode"] = json!("offshore");
    for (body, field) in [
        (bad_days, "settle_days"),
        (bad_minimum, "settle_minimum"),
        (bad_category, "category"),
        (bad_mode, "settlement_mode"),
    ] {
        let (status, refused) = put(&money, &body).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(refused["error_code"], "1001");
        assert_eq!(refused["error_field"], field, "{refused}");
    }
    for body in [
        json!({"schedules": [{"pay_type": "wallet", "rate_ppm": 100_001, "fixed": "0"}]}),
        json!({"schedules": [{"pay_type": "wallet", "rate_ppm": 10, "fixed": "0.001"}]}),
        json!({"schedules": [{"pay_type": "cash", "rate_ppm": 10, "fixed": "0"}]}),
        json!({"schedules": [{"pay_type": "wallet", "rate_ppm": 10, "fixed": "0"},
                             {"pay_type": "wallet", "rate_ppm": 20, "fixed": "0"}]}),
    ] {
        let (status, refused) = put(&fees, &body).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(refused["error_code"], "1001");
    }
    assert!(t
        .store()
        .merchant_fee_schedules(t.merchant_id())
        .await
        .unwrap()
        .is_empty());

    let (status, _) = get(&url(&t, "nobody", "money")).await;
    assert_eq!(status, 404);
    let (status, _) = put(&url(&t, "nobody", "fees"), &json!({"schedules": []})).await;
    assert_eq!(status, 404);
    let anonymous = reqwest::Client::new().get(&money).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let anonymous = reqwest::Client::new()
        .put(&fees)
        .json(&json!({"schedules": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    t.stop().await;
}

both_databases!(a_fee_schedule_set_by_the_operator_is_snapshotted_by_the_next_payment);
async fn a_fee_schedule_set_by_the_operator_is_snapshotted_by_the_next_payment(backend: DbBackend) {
    let t = admin_app(backend).await;
    let fees = url(&t, t.merchant_id().as_str(), "fees");
    let (status, before) = get(&fees).await;
    assert_eq!(status, 200);
    assert_eq!(before["schedules"], json!([]));
    let wallet_default = before["defaults"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["pay_type"] == "wallet")
        .unwrap()
        .clone();
    assert_eq!(
        wallet_default,
        json!({"pay_type": "wallet", "rate_ppm": 6_000, "in_force": true})
    );

    let wanted = json!({"schedules": [
        {"pay_type": "wallet", "rate_ppm": 3_800, "fixed": "0.10"},
        {"pay_type": "wechat_native", "rate_ppm": 2_500, "fixed": "0"}
    ]});
    let (status, set) = put(&fees, &wanted).await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(
        set["schedules"][0],
        json!({"pay_type": "wallet", "rate_ppm": 3_800, "fixed": "0.10"})
    );
    let (_, read) = get(&fees).await;
    assert_eq!(read, set);
    let wallet = read["defaults"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["pay_type"] == "wallet")
        .unwrap();
    assert_eq!(wallet["in_force"], false);

    t.fund_wallet("alice", "100.00").await;
    let code = t.pay_code("alice").await;
    let order = t
        .client
        .create_order(&wallet_order("FEE-ADMIN", "10.00", &code))
        .await
        .expect("create a paid order");
    let snapshot = t
        .store()
        .order_fees(&order.trade_no)
        .await
        .unwrap()
        .unwrap()
        .snapshot;
    assert_eq!(
        snapshot.merchant,
        FeeSchedule {
            rate: FeeRate::from_ppm(3_800).unwrap(),
            fixed: Amount::from_minor(10).unwrap(),
        }
    );
    assert_eq!(snapshot.fee, snapshot.merchant.fee_for(order_amount()));
    t.stop().await;
}

fn order_amount() -> Amount {
    Amount::from_minor(10_00).unwrap()
}
