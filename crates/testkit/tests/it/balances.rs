//! Balances and statements (issue #11): the merchant reads its pending, available and reserved
//! balances through the signed API; the operator reads every account's totals, the ledger's
//! imbalance and an account's statement page by page through the admin API.

use crate::support::{assert_books_balance, refund_of, wallet_order};
use paygate_app::AppSettings;
use paygate_client::QueryBalance;
use paygate_domain::{Currency, Money};
use paygate_testkit::{both_databases, spawn_app_with, DbBackend, TestOptions};
use serde_json::{json, Value};

const TOKEN: &str = "ledger-operator-token-0123456789-abcdef";

async fn admin_get(url: String) -> (u16, Value) {
    let answer = reqwest::Client::new()
        .get(url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap())
}

/// (kind, debit, credit) of each line of a statement page.
fn lines(page: &Value) -> Vec<(String, i64, i64)> {
    page["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let kind = l["kind"].as_str().unwrap().to_owned();
            (
                kind,
                l["debit"].as_i64().unwrap(),
                l["credit"].as_i64().unwrap(),
            )
        })
        .collect()
}

both_databases!(balances_and_statements_show_the_books_to_the_fen);
async fn balances_and_statements_show_the_books_to_the_fen(backend: DbBackend) {
    let options = TestOptions {
        settings: AppSettings {
            admin_token: Some(TOKEN.into()),
            ..AppSettings::default()
        },
        ..TestOptions::default()
    };
    let t = spawn_app_with(backend, options).await;
    t.fund_wallet("alice", "100.00").await;
    let code = t.pay_code("alice").await;
    let order = t
        .client
        .create_order(&wallet_order("BAL-1", "10.00", &code))
        .await
        .unwrap();
    t.client
        .refund(&refund_of(&order.trade_no, "BAL-1-R", "4.00"))
        .await
        .unwrap();

    // 10.00 less its 0.06 fee, less the 4.00 refunded (the wallet keeps its fee).
    let balance = t
        .client
        .query_balance(&QueryBalance {
            currency: Currency::Cny,
        })
        .await
        .expect("balance query");
    let yuan = |text: &str| {
        let fen: i64 = text.replace('.', "").parse().unwrap();
        Money::new(
            paygate_domain::Amount::from_minor(fen).unwrap(),
            Currency::Cny,
        )
    };
    assert_eq!(
        (balance.pending, balance.available, balance.reserved),
        (yuan("5.94"), yuan("0.00"), yuan("0.00"))
    );

    let merchant = t.merchant_id().as_str().to_owned();
    let (status, mine) = admin_get(format!(
        "{}/admin/ledger/balances?merchant_id={merchant}",
        t.base_url
    ))
    .await;
    assert_eq!(status, 200);
    let pending = format!("merchant:{merchant}:pending");
    let accounts = mine["accounts"].as_array().unwrap();
    assert!(accounts
        .iter()
        .all(|a| a["account"].as_str().unwrap().contains(merchant.as_str())));
    let pending_totals = accounts.iter().find(|a| a["account"] == pending.as_str());
    assert_eq!(
        pending_totals.unwrap(),
        &json!({"account": pending, "currency": "CNY", "debits": 6 + 4_00,
                "credits": 10_00, "balance": 5_94})
    );
    assert_eq!(
        mine["imbalance"],
        json!([{"currency": "CNY", "imbalance": 0}])
    );

    let (_, all) = admin_get(format!("{}/admin/ledger/balances", t.base_url)).await;
    let clearing = all["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["account"] == "channel:wallet:clearing")
        .unwrap()
        .clone();
    assert_eq!(clearing["balance"], 10_00 - 6 - 4_00);

    let statement = format!(
        "{}/admin/ledger/statement?account={pending}&currency=CNY",
        t.base_url
    );
    let (_, first) = admin_get(format!("{statement}&limit=2")).await;
    assert_eq!(
        lines(&first),
        [("payment".into(), 0, 10_00), ("fee".into(), 6, 0)]
    );
    assert_eq!(first["lines"][0]["reference"], order.trade_no.as_str());
    let after = first["next_after"].as_i64().expect("another page");
    let (_, second) = admin_get(format!("{statement}&limit=2&after={after}")).await;
    assert_eq!(lines(&second), [("refund_hold".into(), 4_00, 0)]);
    assert_eq!(second["next_after"], Value::Null);

    let (status, refused) = admin_get(format!(
        "{}/admin/ledger/statement?account=merchant:{merchant}:savings",
        t.base_url
    ))
    .await;
    assert_eq!((status, &refused["error_code"]), (400, &json!("1001")));
    assert_eq!(refused["error_field"], "account");
    assert_books_balance(t.store()).await;
    t.stop().await;
}
