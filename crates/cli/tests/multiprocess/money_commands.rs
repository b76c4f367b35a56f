//! The operator's money commands on the real binary, against a SQLite data directory seeded
//! through the binary itself (a merchant, its settings, one wallet payment through `serve`):
//! `paygate merchant money|fees|payout-limits` show and change a merchant's settings,
//! `paygate ledger balances|statement` show the payment's postings, and
//! `paygate settlement run|list` settle its business day once. Each output is checked whole.

use crate::deployment::{Deployment, Merchant};
use crate::gateway::Gateway;
use crate::load::pay_code;
use chrono::{Duration, NaiveDate};
use paygate_client::CreateOrder;
use paygate_domain::{Currency, Money, OrderStatus, OutTradeNo};
use serde_json::Value;
use tokio::task::block_in_place;

/// The cut-off hour of a business day, China time (the default `settlement_cutoff_hour`).
const CUTOFF_HOUR: i64 = 2;
const CHINA_OFFSET_HOURS: i64 = 8;

fn run(deployment: &Deployment, args: &[&str]) -> String {
    block_in_place(|| deployment.run(args))
}

fn json(deployment: &Deployment, args: &[&str]) -> Value {
    let printed = run(deployment, args);
    serde_json::from_str(printed.trim()).unwrap_or_else(|e| panic!("{args:?}: {e}: {printed}"))
}

/// The business day (China time, from the cut-off hour) an instant in Unix milliseconds falls
/// in.
fn business_date_of(at_ms: i64) -> NaiveDate {
    let shifted_ms = at_ms + (CHINA_OFFSET_HOURS - CUTOFF_HOUR) * 3_600_000;
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap() + Duration::days(shifted_ms.div_euclid(86_400_000))
}

fn merchant_settings_are_shown_and_changed(deployment: &Deployment, id: &str) {
    assert_eq!(
        run(deployment, &["merchant", "money", id]),
        "category=physical_goods\nsettlement_mode=direct\nfee_bearer=merchant\ncycle=T+1\n\
         settle_minimum=0.00\nwithdraw_on_settlement=false\n\
         missing_qualifications=business_licence\n"
    );
    assert_eq!(
        run(
            deployment,
            &[
                "merchant",
                "money",
                id,
                "--settle-days",
                "0",
                "--settle-minimum",
                "50.00",
                "--qualification",
                "business_licence=BL-0001"
            ]
        ),
        "category=physical_goods\nsettlement_mode=direct\nfee_bearer=merchant\ncycle=T+0\n\
         settle_minimum=50.00\nwithdraw_on_settlement=false\n\
         qualification business_licence=BL-0001\n"
    );
    assert_eq!(
        run(
            deployment,
            &["merchant", "fees", id, "--set", "wallet=3800:0.10"]
        ),
        "category=physical_goods\nwallet rate_ppm=3800 fixed=0.10\n\
         default rate_ppm=6000 for wechat_jsapi,wechat_native,wechat_h5,wechat_app,\
         wechat_micropay,alipay_native,alipay_jsapi,alipay_h5,alipay_pc,alipay_app,\
         alipay_micropay,unionpay_web,unionpay_h5,unionpay_app,unionpay_native,\
         unionpay_micropay,auto\n"
    );
    assert_eq!(
        run(deployment, &["merchant", "payout-limits", id]),
        "per_payout_max=50000.00\ndaily_max=200000.00\nmonthly_max=1000000.00\n\
         calls_per_minute_max=60\n"
    );
    assert_eq!(
        run(
            deployment,
            &[
                "merchant",
                "payout-limits",
                id,
                "--daily-max",
                "5000.00",
                "--calls-per-minute-max",
                "5"
            ]
        ),
        "per_payout_max=50000.00\ndaily_max=5000.00\nmonthly_max=1000000.00\n\
         calls_per_minute_max=5\n"
    );
    let limits = json(deployment, &["merchant", "payout-limits", id, "--json"]);
    assert_eq!(limits["limits"]["daily_max_minor"], 500_000);
    assert_eq!(limits["limits"]["calls_per_minute_max"], 5);
}

/// One order of 100.00 paid from the payer's wallet through a `serve` process; its trade
/// number.
async fn pay_one_order(deployment: &Deployment, merchant: &Merchant) -> String {
    let gateway = block_in_place(|| Gateway::start(deployment));
    let code = pay_code(&gateway.base_url, &merchant.payer_token)
        .await
        .expect("pay code");
    let mut create = CreateOrder::new(
        OutTradeNo::parse("MONEY-CLI-1").unwrap(),
        Money::parse("100.00", Currency::Cny).unwrap(),
        "money commands",
        "https://shop.example/notify",
    );
    create.auth_code = Some(code.into());
    let order = merchant
        .client(&gateway.base_url)
        .create_order(&create)
        .await
        .expect("paid order");
    assert_eq!(order.trade_status, OrderStatus::Success);
    let stopped = block_in_place(|| gateway.terminate());
    assert!(stopped.success(), "{stopped:?}");
    order.trade_no.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn money_commands_show_a_seeded_merchant_exactly() {
    let deployment = Deployment::sqlite();
    let merchant = block_in_place(|| deployment.open_merchant());
    let id = merchant.id.as_str();
    merchant_settings_are_shown_and_changed(&deployment, id);

    let trade_no = pay_one_order(&deployment, &merchant).await;

    // 100.00 paid, less the fee of 0.38% + 0.10 = 0.48, is pending for the merchant.
    assert_eq!(
        run(&deployment, &["ledger", "balances", "--merchant", id]),
        format!(
            "merchant:{id}:pending CNY debits=48 credits=10000 balance=9952\n\
             imbalance CNY 0\n"
        )
    );
    let pending = format!("merchant:{id}:pending");
    let statement = json(&deployment, &["ledger", "statement", &pending, "--json"]);
    let lines = statement["lines"].as_array().expect("statement lines");
    assert_eq!(lines.len(), 2, "{statement}");
    let at = lines[0]["at"].as_str().expect("entry time");
    assert_eq!(lines[1]["at"], at, "one posting");
    let (first, second) = (&lines[0]["entry_id"], &lines[1]["entry_id"]);
    assert_eq!(
        run(&deployment, &["ledger", "statement", &pending]),
        format!(
            "#{first} {at} payment {trade_no} payment debit=0 credit=10000\n\
             #{second} {at} payment {trade_no} fee debit=48 credit=0\n"
        )
    );

    // The day the payment falls in settles once, the day after its cut-off.
    let now_ms = chrono::Utc::now().timestamp_millis();
    let day = business_date_of(now_ms).succ_opt().unwrap().to_string();
    assert_eq!(
        run(&deployment, &["settlement", "run", "--date", &day]),
        format!("{day}: settled=1 already_settled=0 below_minimum=0 failed=0\n")
    );
    assert_eq!(
        run(&deployment, &["settlement", "run", "--date", &day]),
        format!("{day}: settled=0 already_settled=1 below_minimum=0 failed=0\n")
    );
    // In `direct` mode the settled money goes on to the merchant's own account at once.
    let compact_day = day.replace('-', "");
    assert_eq!(
        run(&deployment, &["settlement", "list", "--merchant-id", id]),
        format!("{day} ST{compact_day}CNY{id} {id} auto 99.52 CNY withdrawn=99.52\n")
    );
    assert_eq!(
        run(&deployment, &["ledger", "balances", "--merchant", id]),
        format!(
            "merchant:{id}:available CNY debits=9952 credits=9952 balance=0\n\
             merchant:{id}:external CNY debits=0 credits=9952 balance=-9952\n\
             merchant:{id}:pending CNY debits=10000 credits=10000 balance=0\n\
             imbalance CNY 0\n"
        )
    );
}
