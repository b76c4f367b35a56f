//! Payouts (issue #11, DESIGN §8): limits and eligibility refuse with their own codes and write
//! nothing; the available balance is never overdrawn, even by a hundred payouts at once; the
//! wallet pays at once, the sandbox bank later (success, failure, and a return after success),
//! each step posting to the ledger with its notification; a payout number is idempotent.

use crate::support::{
    account_fen, all_at_once, assert_api_error, assert_books_balance, assert_wallet_books_balance,
    count_rows, fen, merchant_balances,
};
use paygate_app::jobs::{poll_step, JobSettings};
use paygate_app::{AppError, AppSettings, ManualClock};
use paygate_client::{CreatePayout, PayoutView, QueryPayout};
use paygate_domain::ledger::{Account, EntryKind, LedgerName, Posting, PostingKind};
use paygate_domain::payout::{BankCard, Payee, PayeeType, PayoutStatus};
use paygate_domain::payout_rules::{EligibilityRule, PayoutLimits};
use paygate_domain::{Amount, Currency, Money, OutPayoutNo, TradeNo, WalletAccountId};
use paygate_testkit::{both_databases, spawn_app, spawn_app_with, DbBackend, TestApp, TestOptions};
use std::sync::Arc;

const CARD_OK: &str = "6222020200112233";
const CARD_CLOSED: &str = "6222020200110000";
const CARD_RETURNED: &str = "6222020200119999";
const NOTIFY_URL: &str = "https://shop.example/payout-notify";

fn cny(text: &str) -> Money {
    Money::parse(text, Currency::Cny).unwrap()
}

fn card_payout(number: &str, amount: &str, card: &str) -> CreatePayout {
    CreatePayout {
        out_payout_no: OutPayoutNo::parse(number).unwrap(),
        money: cny(amount),
        payee: Payee::BankCard(BankCard::parse(card, "Zhang San", "ICBC").unwrap()),
        remark: Some("supplier settlement".into()),
        notify_url: Some(NOTIFY_URL.into()),
    }
}

fn wallet_payout(number: &str, amount: &str, account: &WalletAccountId) -> CreatePayout {
    CreatePayout {
        out_payout_no: OutPayoutNo::parse(number).unwrap(),
        money: cny(amount),
        payee: Payee::Wallet(account.clone()),
        remark: None,
        notify_url: Some(NOTIFY_URL.into()),
    }
}

/// Gives the merchant `minor` of available balance, as settlement would.
async fn fund(t: &TestApp, reference: &str, minor: i64) {
    let posting = Posting::new(PostingKind::Payment, reference, Currency::Cny).transfer(
        EntryKind::Payment,
        Account::ChannelClearing(LedgerName::parse("wechat").unwrap()),
        Account::MerchantAvailable(t.merchant_id().clone()),
        fen(minor),
    );
    t.store().post_to_ledger(&posting, 1).await.unwrap();
}

async fn set_limits(t: &TestApp, limits: PayoutLimits) {
    t.app
        .set_payout_limits(t.merchant_id(), &limits)
        .await
        .unwrap();
}

/// Rows a payout may write: payouts, ledger postings and entries, notifications, polls.
async fn payout_writes(t: &TestApp) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in ["payouts", "ledger_entries", "notifications", "status_polls"] {
        counts.push(count_rows(t, table).await);
    }
    counts
}

async fn notification_kinds(t: &TestApp, payout: &PayoutView) -> Vec<String> {
    let subject = TradeNo::parse(payout.payout_no.as_str()).unwrap();
    t.store()
        .notifications_for_trade(&subject)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.kind)
        .collect()
}

async fn query(t: &TestApp, payout: &PayoutView) -> PayoutView {
    t.client
        .query_payout(&QueryPayout::PayoutNo(payout.payout_no.clone()))
        .await
        .expect("query payout")
}

/// A test app whose clock the test moves, with the sandbox bank.
async fn app_with_clock(backend: DbBackend) -> (TestApp, Arc<ManualClock>) {
    let (options, clock) = TestOptions::with_manual_clock();
    (spawn_app_with(backend, options).await, clock)
}

/// Moves the clock by `step_ms` and runs the poller, up to `steps` times or until `done`.
async fn poll_until(
    t: &TestApp,
    clock: &ManualClock,
    payout: &PayoutView,
    step_ms: i64,
    done: PayoutStatus,
) -> PayoutView {
    let jobs = JobSettings::default();
    for _ in 0..40 {
        clock.advance_ms(step_ms);
        poll_step(&t.app, &jobs).await.unwrap();
        let now = t
            .store()
            .get_payout(&payout.payout_no)
            .await
            .unwrap()
            .unwrap();
        if now.status == done {
            return paygate_api::payout::PayoutView::of(&now);
        }
    }
    panic!("payout {} never reached {done}", payout.payout_no);
}

async fn a_wallet_payout_succeeds_at_once_and_credits_the_wallet(backend: DbBackend) {
    let t = spawn_app(backend).await;
    fund(&t, "FUND-1", 100_00).await;
    let bob = t.fund_wallet("bob-wallet", "1.00").await;

    let payout = t
        .client
        .create_payout(&wallet_payout("WALLET-001", "30.00", &bob))
        .await
        .expect("wallet payout");

    assert_eq!(payout.payout_status, PayoutStatus::Success);
    assert_eq!(payout.fee, Money::new(Amount::ZERO, Currency::Cny));
    assert_eq!(payout.payee_type, PayeeType::Wallet);
    assert_eq!(
        t.store().wallet_balance(&bob).await.unwrap(),
        Some(fen(31_00))
    );
    let after = merchant_balances(&t).await;
    assert_eq!((after.available, after.reserved), (70_00, 0));
    let rail = Account::PayoutRail(LedgerName::parse("wallet").unwrap());
    assert_eq!(account_fen(&t, rail).await, -30_00);
    assert_eq!(notification_kinds(&t, &payout).await, ["PAYOUT_SUCCESS"]);
    assert_wallet_books_balance(&t, "a wallet payout").await;
    assert_books_balance(t.store()).await;
    t.stop().await;
}
both_databases!(a_wallet_payout_succeeds_at_once_and_credits_the_wallet);

async fn a_bank_payout_is_held_then_paid_when_the_poller_learns_it(backend: DbBackend) {
    let (t, clock) = app_with_clock(backend).await;
    fund(&t, "FUND-1", 100_00).await;

    let payout = t
        .client
        .create_payout(&card_payout("BANK-OK-01", "10.00", CARD_OK))
        .await
        .expect("bank payout");

    assert_eq!(payout.payout_status, PayoutStatus::Processing);
    assert_eq!(payout.fee, cny("1.00"));
    assert_eq!(payout.payee_account, "************2233");
    let held = merchant_balances(&t).await;
    assert_eq!((held.available, held.reserved), (89_00, 11_00));

    let paid = poll_until(&t, &clock, &payout, 5_000, PayoutStatus::Success).await;
    assert!(paid.finish_time.is_some());
    let after = merchant_balances(&t).await;
    assert_eq!((after.available, after.reserved), (89_00, 0));
    assert_eq!(account_fen(&t, Account::PlatformFeeIncome).await, 1_00);
    let bank = Account::PayoutRail(LedgerName::parse("bank").unwrap());
    assert_eq!(account_fen(&t, bank).await, -10_00);
    let kinds = notification_kinds(&t, &payout).await;
    assert_eq!(kinds, ["PAYOUT_SUCCESS"]);
    let subject = TradeNo::parse(payout.payout_no.as_str()).unwrap();
    let sent = t.store().notifications_for_trade(&subject).await.unwrap();
    assert!(!sent[0].payload.contains(CARD_OK), "{}", sent[0].payload);
    assert!(sent[0].payload.contains("************2233"));
    assert_books_balance(t.store()).await;
    t.stop().await;
}
both_databases!(a_bank_payout_is_held_then_paid_when_the_poller_learns_it);

async fn a_failed_bank_payout_gives_the_hold_back(backend: DbBackend) {
    let (t, clock) = app_with_clock(backend).await;
    fund(&t, "FUND-1", 100_00).await;

    let payout = t
        .client
        .create_payout(&card_payout("BANK-NO-01", "40.00", CARD_CLOSED))
        .await
        .expect("bank payout");
    let held = merchant_balances(&t).await;
    assert_eq!((held.available, held.reserved), (59_00, 41_00));

    let failed = poll_until(&t, &clock, &payout, 5_000, PayoutStatus::Failed).await;

    assert_eq!(failed.reason.as_deref(), Some("account closed"));
    let after = merchant_balances(&t).await;
    assert_eq!((after.available, after.reserved), (100_00, 0));
    assert_eq!(account_fen(&t, Account::PlatformFeeIncome).await, 0);
    assert_eq!(notification_kinds(&t, &payout).await, ["PAYOUT_FAIL"]);
    assert_books_balance(t.store()).await;
    t.stop().await;
}
both_databases!(a_failed_bank_payout_gives_the_hold_back);

async fn a_payout_the_bank_returns_later_comes_back_without_its_fee(backend: DbBackend) {
    let (t, clock) = app_with_clock(backend).await;
    fund(&t, "FUND-1", 100_00).await;

    let payout = t
        .client
        .create_payout(&card_payout("BANK-RT-01", "20.00", CARD_RETURNED))
        .await
        .expect("bank payout");
    poll_until(&t, &clock, &payout, 5_000, PayoutStatus::Success).await;
    let paid = merchant_balances(&t).await;
    assert_eq!((paid.available, paid.reserved), (79_00, 0));

    let returned = poll_until(&t, &clock, &payout, 10 * 60_000, PayoutStatus::Returned).await;

    assert!(returned.returned_time.is_some());
    let after = merchant_balances(&t).await;
    assert_eq!((after.available, after.reserved), (99_00, 0));
    assert_eq!(account_fen(&t, Account::PlatformFeeIncome).await, 1_00);
    let bank = Account::PayoutRail(LedgerName::parse("bank").unwrap());
    assert_eq!(account_fen(&t, bank).await, 0);
    assert_eq!(
        notification_kinds(&t, &payout).await,
        ["PAYOUT_SUCCESS", "PAYOUT_RETURNED"]
    );
    assert_books_balance(t.store()).await;
    t.stop().await;
}
both_databases!(a_payout_the_bank_returns_later_comes_back_without_its_fee);

async fn a_payout_the_balance_cannot_cover_is_refused_and_writes_nothing(backend: DbBackend) {
    let t = spawn_app(backend).await;
    fund(&t, "FUND-1", 10_00).await;
    let before = payout_writes(&t).await;

    // 9.50 plus the 1.00 fee is more than 10.00.
    let refused = t
        .client
        .create_payout(&card_payout("POOR-00001", "9.50", CARD_OK))
        .await;

    assert_eq!(assert_api_error(refused, "1005"), 402);
    assert_eq!(payout_writes(&t).await, before);
    let after = merchant_balances(&t).await;
    assert_eq!((after.available, after.reserved), (10_00, 0));
    t.stop().await;
}
both_databases!(a_payout_the_balance_cannot_cover_is_refused_and_writes_nothing);

/// Payouts through the use case at the app's clock (signed requests carry the wall clock).
async fn pay_out_at(t: &TestApp, cmd: CreatePayout) -> Result<PayoutStatus, AppError> {
    let keys = t.app.merchant_keys(t.merchant_id()).await.unwrap().unwrap();
    t.app.create_payout(&keys, cmd).await.map(|p| p.status)
}

fn code_of(result: Result<PayoutStatus, AppError>) -> &'static str {
    result.expect_err("refused").code().code()
}

async fn each_payout_limit_refuses_with_its_code_and_writes_nothing(backend: DbBackend) {
    // Mid-month in China time, so a day later is still the same month.
    let mid_november = 1_794_276_000_000; // 2026-11-10T10:00+08:00
    let clock = Arc::new(ManualClock::new(mid_november));
    let options = TestOptions {
        clock: clock.clone(),
        ..TestOptions::default()
    };
    let t = spawn_app_with(backend, options).await;
    fund(&t, "FUND-1", 10_000_00).await;
    set_limits(
        &t,
        PayoutLimits {
            per_payout_max: fen(100_00),
            daily_max: fen(150_00),
            monthly_max: fen(200_00),
            calls_per_minute_max: 3,
        },
    )
    .await;
    let n = |i: u32| format!("LIMIT-{i:04}");

    let before = payout_writes(&t).await;
    let per_payout = pay_out_at(&t, card_payout(&n(1), "100.01", CARD_OK)).await;
    assert_eq!(code_of(per_payout), "1017");
    assert_eq!(payout_writes(&t).await, before);

    assert!(pay_out_at(&t, card_payout(&n(2), "100.00", CARD_OK))
        .await
        .is_ok());
    let before = payout_writes(&t).await;
    let daily = pay_out_at(&t, card_payout(&n(3), "50.01", CARD_OK)).await;
    assert_eq!(code_of(daily), "1017");
    assert_eq!(payout_writes(&t).await, before);
    assert!(pay_out_at(&t, card_payout(&n(4), "50.00", CARD_OK))
        .await
        .is_ok());

    // The next day: the daily sum starts again, the monthly one does not.
    clock.advance_ms(86_400_000);
    assert!(pay_out_at(&t, card_payout(&n(5), "40.00", CARD_OK))
        .await
        .is_ok());
    let before = payout_writes(&t).await;
    let monthly = pay_out_at(&t, card_payout(&n(6), "10.01", CARD_OK)).await;
    assert_eq!(code_of(monthly), "1017");
    assert_eq!(payout_writes(&t).await, before);

    // Three payouts this minute are the limit; the fourth waits for the next minute.
    for i in 7..9 {
        assert!(pay_out_at(&t, card_payout(&n(i), "0.01", CARD_OK))
            .await
            .is_ok());
    }
    let before = payout_writes(&t).await;
    let hurried = pay_out_at(&t, card_payout(&n(9), "0.01", CARD_OK)).await;
    assert_eq!(code_of(hurried), "1019");
    assert_eq!(payout_writes(&t).await, before);
    clock.advance_ms(60_001);
    assert!(pay_out_at(&t, card_payout(&n(10), "0.01", CARD_OK))
        .await
        .is_ok());
    assert_books_balance(t.store()).await;
    t.stop().await;
}
both_databases!(each_payout_limit_refuses_with_its_code_and_writes_nothing);

async fn a_merchant_not_meeting_the_bank_card_rule_is_refused(backend: DbBackend) {
    let mut settings = AppSettings::default();
    settings
        .payouts
        .eligibility
        .push(EligibilityRule::wechat(PayeeType::BankCard));
    let options = TestOptions {
        settings,
        ..TestOptions::default()
    };
    let t = spawn_app_with(backend, options).await;
    fund(&t, "FUND-1", 100_00).await;
    let bob = t.fund_wallet("bob-wallet", "0.01").await;
    let before = payout_writes(&t).await;

    let refused = t
        .client
        .create_payout(&card_payout("YOUNG-0001", "10.00", CARD_OK))
        .await;

    assert_eq!(assert_api_error(refused, "1018"), 403);
    assert_eq!(payout_writes(&t).await, before);
    let wallet = t
        .client
        .create_payout(&wallet_payout("YOUNG-0002", "10.00", &bob))
        .await
        .expect("the rule is for bank cards only");
    assert_eq!(wallet.payout_status, PayoutStatus::Success);
    t.stop().await;
}
both_databases!(a_merchant_not_meeting_the_bank_card_rule_is_refused);

const CONCURRENT_PAYOUTS: usize = 100;
const COVERED_PAYOUTS: i64 = 60;

/// A hundred 1.00 bank payouts (2.00 each with the fee) race for a balance of 120.00: exactly
/// sixty are accepted, the rest answer 1005, and the balance never goes below zero.
async fn concurrent_payouts_never_overdraw_the_available_balance(backend: DbBackend) {
    let t = spawn_app(backend).await;
    set_limits(
        &t,
        PayoutLimits {
            calls_per_minute_max: 1_000,
            ..PayoutLimits::default()
        },
    )
    .await;
    fund(&t, "FUND-1", COVERED_PAYOUTS * 2_00).await;

    let answers = all_at_once(CONCURRENT_PAYOUTS, |i| {
        let client = t.client.clone();
        let payout = card_payout(&format!("RACE-{i:04}"), "1.00", CARD_OK);
        async move { client.create_payout(&payout).await }
    })
    .await;

    let mut accepted = 0;
    for answer in answers {
        match answer {
            Ok(payout) => {
                assert_eq!(payout.payout_status, PayoutStatus::Processing);
                accepted += 1;
            }
            Err(error) => assert_eq!(error.error_code(), Some("1005"), "{error:?}"),
        }
    }
    assert_eq!(accepted, COVERED_PAYOUTS);
    assert_eq!(count_rows(&t, "payouts").await, COVERED_PAYOUTS);
    let after = merchant_balances(&t).await;
    assert_eq!(after.available, 0);
    assert_eq!(after.reserved, COVERED_PAYOUTS * (1_00 + 1_00));
    assert_books_balance(t.store()).await;
    t.stop().await;
}
both_databases!(concurrent_payouts_never_overdraw_the_available_balance);

async fn a_repeated_payout_is_the_same_payout_and_a_changed_one_is_refused(backend: DbBackend) {
    let t = spawn_app(backend).await;
    fund(&t, "FUND-1", 100_00).await;
    let request = card_payout("AGAIN-0001", "10.00", CARD_OK);

    let first = t.client.create_payout(&request).await.expect("payout");
    let second = t.client.create_payout(&request).await.expect("replay");
    let changed = t
        .client
        .create_payout(&card_payout("AGAIN-0001", "12.00", CARD_OK))
        .await;

    assert_eq!(second.payout_no, first.payout_no);
    assert_eq!(assert_api_error(changed, "1004"), 409);
    assert_eq!(count_rows(&t, "payouts").await, 1);
    let after = merchant_balances(&t).await;
    assert_eq!((after.available, after.reserved), (89_00, 11_00));
    let by_theirs = t
        .client
        .query_payout(&QueryPayout::OutPayoutNo(first.out_payout_no.clone()))
        .await
        .expect("query by out_payout_no");
    assert_eq!(by_theirs.payout_no, first.payout_no);
    assert_eq!(query(&t, &first).await.amount, cny("10.00"));
    let unknown = t
        .client
        .query_payout(&QueryPayout::OutPayoutNo(
            OutPayoutNo::parse("NEVER-0001").unwrap(),
        ))
        .await;
    assert_eq!(assert_api_error(unknown, "1020"), 404);
    t.stop().await;
}
both_databases!(a_repeated_payout_is_the_same_payout_and_a_changed_one_is_refused);

const ADMIN_TOKEN: &str = "operator-token-0123456789-abcdefghij";

async fn operators_read_and_set_payout_limits(backend: DbBackend) {
    let options = TestOptions {
        settings: AppSettings {
            admin_token: Some(ADMIN_TOKEN.into()),
            ..AppSettings::default()
        },
        ..TestOptions::default()
    };
    let t = spawn_app_with(backend, options).await;
    let url = format!(
        "{}/admin/merchants/{}/payout-limits",
        t.base_url,
        t.merchant_id()
    );
    let http = reqwest::Client::new();

    let defaults: serde_json::Value = (http.get(&url).bearer_auth(ADMIN_TOKEN).send().await)
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(defaults["limits"]["calls_per_minute_max"], 60);
    let wanted = serde_json::json!({
        "per_payout_max_minor": 500_00, "daily_max_minor": 1_000_00,
        "monthly_max_minor": 5_000_00, "calls_per_minute_max": 5
    });
    let set = http
        .put(&url)
        .bearer_auth(ADMIN_TOKEN)
        .json(&wanted)
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 200);
    let limits = t.app.payout_limits(t.merchant_id()).await.unwrap();
    assert_eq!(limits.per_payout_max, fen(500_00));
    assert_eq!(limits.calls_per_minute_max, 5);
    let bad = serde_json::json!({
        "per_payout_max_minor": 0, "daily_max_minor": 1, "monthly_max_minor": 1,
        "calls_per_minute_max": 5
    });
    let refused = http
        .put(&url)
        .bearer_auth(ADMIN_TOKEN)
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let anonymous = http.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    t.stop().await;
}
both_databases!(operators_read_and_set_payout_limits);
