//! Settlement and withdrawal (issue #11, seed 002 资金结算方式) on both engines: T+1 settles
//! the payments of the day before only, refunds before settlement reduce it, a sum short of
//! the minimum carries over, a manual-cycle merchant settles only on request, a short
//! withdrawal writes nothing, and concurrent runs of one day settle it once.

use crate::support::{assert_books_balance, count_rows, fen, merchant_balances};
use paygate_app::jobs::JobSettings;
use paygate_app::maintenance::Outcome;
use paygate_app::settlement::{settlement_step, Withdraw};
use paygate_app::{Clock, ManualClock};
use paygate_domain::ledger::{Account, EntryKind, LedgerName, Posting, PostingKind};
use paygate_domain::merchant_money::{
    MerchantCategory, MerchantMoney, SettlementCycle, SettlementMode,
};
use paygate_domain::settlement::BusinessDate;
use paygate_domain::{Currency, ErrorCode, Money, OutWithdrawNo};
use paygate_store::{Posted, Settled};
use paygate_testkit::{both_databases, spawn_app_with, DbBackend, TestApp, TestOptions};
use std::sync::Arc;

/// Unix ms of a China-time instant, e.g. `2026-11-19T10:00`.
fn china(text: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(&format!("{text}:00+08:00"))
        .unwrap()
        .timestamp_millis()
}

fn date(text: &str) -> BusinessDate {
    BusinessDate::parse(text).unwrap()
}

fn wechat() -> LedgerName {
    LedgerName::parse("wechat").unwrap()
}

async fn start(backend: DbBackend) -> (TestApp, Arc<ManualClock>) {
    let (options, clock) = TestOptions::with_manual_clock();
    (spawn_app_with(backend, options).await, clock)
}

/// The merchant settles T+`days` with `minimum` in `platform` mode, keeping settled money
/// available.
async fn platform_t_plus(t: &TestApp, days: u32, minimum: i64) {
    let money = MerchantMoney {
        settlement_mode: SettlementMode::Platform,
        cycle: SettlementCycle::Auto {
            days,
            minimum: fen(minimum),
        },
        ..MerchantMoney::for_category(MerchantCategory::PhysicalGoods)
    };
    set_money(t, money).await;
}

async fn set_money(t: &TestApp, money: MerchantMoney) {
    t.store()
        .set_merchant_money(t.merchant_id(), &money, 0)
        .await
        .unwrap();
}

/// A payment of `minor` to the merchant, posted at `at_ms` as a paid order posts it.
async fn paid(t: &TestApp, reference: &str, minor: i64, at_ms: i64) {
    let posting = Posting::new(PostingKind::Payment, reference, Currency::Cny).transfer(
        EntryKind::Payment,
        Account::ChannelClearing(wechat()),
        Account::MerchantPending(t.merchant_id().clone()),
        fen(minor),
    );
    assert_eq!(
        t.store().post_to_ledger(&posting, at_ms).await.unwrap(),
        Posted::Posted
    );
}

/// A refund of `minor` funded from unsettled money, posted at `at_ms`.
async fn refunded(t: &TestApp, reference: &str, minor: i64, at_ms: i64) {
    let posting = Posting::new(PostingKind::RefundSucceeded, reference, Currency::Cny).transfer(
        EntryKind::Refund,
        Account::MerchantPending(t.merchant_id().clone()),
        Account::ChannelClearing(wechat()),
        fen(minor),
    );
    assert_eq!(
        t.store().post_to_ledger(&posting, at_ms).await.unwrap(),
        Posted::Posted
    );
}

/// What went out to the merchant's own account. The account is debit-normal, as the ledger
/// keeps every outside account, so money sent there shows as a negative balance.
async fn sent_out(t: &TestApp) -> i64 {
    -t.store()
        .account_balance(
            &Account::MerchantExternal(t.merchant_id().clone()),
            Currency::Cny,
        )
        .await
        .unwrap()
}

fn jobs(worker: &str) -> JobSettings {
    JobSettings {
        worker_id: worker.into(),
        ..JobSettings::default()
    }
}

async fn settled_amount(t: &TestApp, day: &str) -> Option<i64> {
    let day = date(day);
    t.store()
        .settlements(Some(t.merchant_id()), 100)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.business_date == day)
        .map(|s| s.amount.minor())
}

both_databases!(t_plus_one_settles_the_payments_of_the_day_before_only);
async fn t_plus_one_settles_the_payments_of_the_day_before_only(backend: DbBackend) {
    let (t, clock) = start(backend).await;
    platform_t_plus(&t, 1, 0).await;
    paid(&t, "P1", 100_00, china("2026-11-19T10:00")).await;
    paid(&t, "P2", 20_00, china("2026-11-20T01:30")).await;
    paid(&t, "P3", 50_00, china("2026-11-20T10:00")).await;

    clock.set_ms(china("2026-11-20T01:59"));
    let worker = jobs("w1");
    assert_eq!(
        settlement_step(&t.app, &worker).await.unwrap(),
        Outcome::DidWork(0),
        "the run of 2026-11-19 settles the payments of the 18th and before: none"
    );
    assert_eq!(count_rows(&t, "settlements").await, 0);

    clock.set_ms(china("2026-11-20T12:00"));
    assert_eq!(
        settlement_step(&t.app, &worker).await.unwrap(),
        Outcome::DidWork(1)
    );
    assert_eq!(
        settled_amount(&t, "2026-11-20").await,
        Some(120_00),
        "the 19th's payments, including those before the 02:00 cut-off, and not the 20th's"
    );
    let b = merchant_balances(&t).await;
    assert_eq!((b.pending, b.available), (50_00, 120_00));
    assert_eq!(
        settlement_step(&t.app, &worker).await.unwrap(),
        Outcome::Idle,
        "a finished day is not run again"
    );

    clock.set_ms(china("2026-11-21T02:00"));
    settlement_step(&t.app, &jobs("w2")).await.unwrap();
    assert_eq!(settled_amount(&t, "2026-11-21").await, Some(50_00));
    let b = merchant_balances(&t).await;
    assert_eq!((b.pending, b.available), (0, 170_00));
    assert_eq!(count_rows(&t, "settlements").await, 2);
    assert_books_balance(t.store()).await;
}

both_databases!(a_refund_before_settlement_reduces_it);
async fn a_refund_before_settlement_reduces_it(backend: DbBackend) {
    let (t, clock) = start(backend).await;
    platform_t_plus(&t, 1, 0).await;
    paid(&t, "P1", 100_00, china("2026-11-19T10:00")).await;
    refunded(&t, "R1", 30_00, china("2026-11-19T20:00")).await;
    paid(&t, "P2", 40_00, china("2026-11-20T09:00")).await;
    refunded(&t, "R2", 60_00, china("2026-11-20T09:30")).await;

    clock.set_ms(china("2026-11-20T10:00"));
    let report = t.app.run_settlement_day(date("2026-11-20")).await.unwrap();
    assert_eq!(report.settled, 1);
    assert_eq!(
        settled_amount(&t, "2026-11-20").await,
        Some(50_00),
        "70.00 cleared, but a refund since left only 50.00 pending"
    );
    let b = merchant_balances(&t).await;
    assert_eq!((b.pending, b.available), (0, 50_00));
    assert_books_balance(t.store()).await;
}

both_databases!(a_sum_below_the_minimum_carries_over_until_it_reaches_it);
async fn a_sum_below_the_minimum_carries_over_until_it_reaches_it(backend: DbBackend) {
    let (t, clock) = start(backend).await;
    platform_t_plus(&t, 1, 100_00).await;
    paid(&t, "P1", 60_00, china("2026-11-19T10:00")).await;

    clock.set_ms(china("2026-11-20T03:00"));
    let report = t.app.run_settlement_day(date("2026-11-20")).await.unwrap();
    assert_eq!((report.settled, report.below_minimum), (0, 1));
    assert_eq!(count_rows(&t, "settlements").await, 0);
    assert_eq!(merchant_balances(&t).await.pending, 60_00);

    paid(&t, "P2", 50_00, china("2026-11-20T10:00")).await;
    clock.set_ms(china("2026-11-21T03:00"));
    t.app.run_settlement_day(date("2026-11-21")).await.unwrap();
    assert_eq!(settled_amount(&t, "2026-11-21").await, Some(110_00));
    let b = merchant_balances(&t).await;
    assert_eq!((b.pending, b.available), (0, 110_00));
    assert_books_balance(t.store()).await;
}

both_databases!(a_manual_cycle_merchant_settles_only_on_request);
async fn a_manual_cycle_merchant_settles_only_on_request(backend: DbBackend) {
    let (t, clock) = start(backend).await;
    set_money(
        &t,
        MerchantMoney {
            settlement_mode: SettlementMode::Platform,
            cycle: SettlementCycle::Manual,
            ..MerchantMoney::for_category(MerchantCategory::PhysicalGoods)
        },
    )
    .await;
    paid(&t, "P1", 80_00, china("2026-11-18T10:00")).await;
    paid(&t, "P2", 5_00, china("2026-11-20T10:00")).await;

    clock.set_ms(china("2026-11-20T12:00"));
    assert_eq!(
        settlement_step(&t.app, &jobs("w1")).await.unwrap(),
        Outcome::DidWork(0)
    );
    assert_eq!(count_rows(&t, "settlements").await, 0);

    let settled = t
        .app
        .request_settlement(t.merchant_id(), Currency::Cny)
        .await
        .unwrap();
    let Settled::Settled(record) = settled else {
        panic!("expected a settlement, got {settled:?}");
    };
    assert_eq!(
        record.amount,
        fen(80_00),
        "what was paid before today's cut-off"
    );
    let again = t
        .app
        .request_settlement(t.merchant_id(), Currency::Cny)
        .await
        .unwrap();
    assert_eq!(again, Settled::AlreadySettled(record));
    let b = merchant_balances(&t).await;
    assert_eq!((b.pending, b.available), (5_00, 80_00));
    assert_books_balance(t.store()).await;
}

both_databases!(an_automatic_merchant_may_not_request_settlement);
async fn an_automatic_merchant_may_not_request_settlement(backend: DbBackend) {
    let (t, _clock) = start(backend).await;
    let refused = t
        .app
        .request_settlement(t.merchant_id(), Currency::Cny)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), ErrorCode::WithdrawalNotAllowed);
    assert_eq!(refused.code().code(), "1021");
}

both_databases!(direct_mode_settlement_moves_the_money_on_to_the_merchants_account);
async fn direct_mode_settlement_moves_the_money_on_to_the_merchants_account(backend: DbBackend) {
    let (t, clock) = start(backend).await;
    paid(&t, "P1", 100_00, china("2026-11-19T10:00")).await;
    clock.set_ms(china("2026-11-20T03:00"));
    t.app.run_settlement_day(date("2026-11-20")).await.unwrap();
    let settled = t.store().settlements(None, 10).await.unwrap();
    assert_eq!(settled.len(), 1);
    assert_eq!(
        (settled[0].amount, settled[0].withdrawn),
        (fen(100_00), fen(100_00))
    );
    let b = merchant_balances(&t).await;
    assert_eq!((b.pending, b.available), (0, 0));
    assert_eq!(sent_out(&t).await, 100_00);
    assert_books_balance(t.store()).await;
}

fn withdraw(number: &str, minor: i64) -> Withdraw {
    Withdraw {
        out_withdraw_no: OutWithdrawNo::parse(number).unwrap(),
        amount: Money::new(fen(minor), Currency::Cny),
    }
}

both_databases!(a_withdrawal_beyond_available_money_is_refused_and_writes_nothing);
async fn a_withdrawal_beyond_available_money_is_refused_and_writes_nothing(backend: DbBackend) {
    let (t, clock) = start(backend).await;
    platform_t_plus(&t, 1, 0).await;
    paid(&t, "P1", 100_00, china("2026-11-19T10:00")).await;
    clock.set_ms(china("2026-11-20T03:00"));
    t.app.run_settlement_day(date("2026-11-20")).await.unwrap();
    let entries_before = count_rows(&t, "ledger_entries").await;

    let refused = t
        .app
        .withdraw(t.merchant_id(), withdraw("W-1", 100_01))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), ErrorCode::InsufficientBalance);
    assert_eq!(count_rows(&t, "withdrawals").await, 0);
    assert_eq!(count_rows(&t, "ledger_entries").await, entries_before);

    let first = t
        .app
        .withdraw(t.merchant_id(), withdraw("W-1", 100_00))
        .await
        .unwrap();
    let replay = t
        .app
        .withdraw(t.merchant_id(), withdraw("W-1", 100_00))
        .await
        .unwrap();
    assert_eq!(
        replay, first,
        "the same out_withdraw_no answers the same withdrawal"
    );
    let reused = t
        .app
        .withdraw(t.merchant_id(), withdraw("W-1", 1_00))
        .await
        .unwrap_err();
    assert_eq!(reused.code(), ErrorCode::OrderStatusError);
    assert_eq!(merchant_balances(&t).await.available, 0);
    assert_eq!(sent_out(&t).await, 100_00);
    assert_eq!(count_rows(&t, "withdrawals").await, 1);
    assert_books_balance(t.store()).await;
}

both_databases!(concurrent_runs_of_one_day_settle_it_once);
async fn concurrent_runs_of_one_day_settle_it_once(backend: DbBackend) {
    let (t, clock) = start(backend).await;
    platform_t_plus(&t, 1, 0).await;
    for i in 0..20 {
        paid(&t, &format!("P{i}"), 10_00 + i, china("2026-11-19T10:00")).await;
    }
    clock.set_ms(china("2026-11-20T03:00"));
    let day = date("2026-11-20");
    let runs: Vec<_> = (0..8)
        .map(|i| {
            let app = t.app.clone();
            tokio::spawn(async move {
                if i % 2 == 0 {
                    app.run_settlement_day(day).await.map(|r| r.settled)
                } else {
                    let worker = jobs(&format!("w{i}"));
                    settlement_step(&app, &worker).await.map(|o| match o {
                        Outcome::DidWork(n) => n,
                        Outcome::Idle => 0,
                    })
                }
            })
        })
        .collect();
    let mut settled = 0;
    for run in runs {
        settled += run.await.unwrap().unwrap();
    }
    assert_eq!(
        settled, 1,
        "one run settled the day; the others found it done"
    );
    assert_eq!(count_rows(&t, "settlements").await, 1);
    let total: i64 = (0..20).map(|i| 10_00 + i).sum();
    assert_eq!(settled_amount(&t, "2026-11-20").await, Some(total));
    let b = merchant_balances(&t).await;
    assert_eq!((b.pending, b.available), (0, total));
    assert_books_balance(t.store()).await;
}

/// At least `ADMIN_TOKEN_CHARS_MIN` characters, as `serve` requires.
const ADMIN_TOKEN: &str = "operator-token-0123456789-abcdefghij";

both_databases!(operators_run_a_day_again_and_list_what_settled);
async fn operators_run_a_day_again_and_list_what_settled(backend: DbBackend) {
    let (mut options, clock) = TestOptions::with_manual_clock();
    options.settings.admin_token = Some(ADMIN_TOKEN.into());
    let t = spawn_app_with(backend, options).await;
    platform_t_plus(&t, 1, 0).await;
    paid(&t, "P1", 30_00, china("2026-11-19T10:00")).await;
    clock.set_ms(china("2026-11-20T03:00"));
    let http = reqwest::Client::new();
    let run_url = format!("{}/admin/settlements/run?date=2026-11-20", t.base_url);
    let mut answers = Vec::new();
    for _ in 0..2 {
        let answer = http
            .post(&run_url)
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
        answers.push(answer.json::<serde_json::Value>().await.unwrap());
    }
    assert_eq!(answers[0]["settled"], 1);
    assert_eq!(
        (&answers[1]["settled"], &answers[1]["already_settled"]),
        (&serde_json::json!(0), &serde_json::json!(1)),
        "running a day again settles nothing twice"
    );

    let list_url = format!(
        "{}/admin/settlements?merchant_id={}",
        t.base_url,
        t.merchant_id()
    );
    let list: serde_json::Value = http
        .get(&list_url)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let settlements = list["settlements"].as_array().unwrap();
    assert_eq!(settlements.len(), 1);
    assert_eq!(settlements[0]["amount"], "30.00");
    assert_eq!(settlements[0]["business_date"], "2026-11-20");
    assert_eq!(settlements[0]["trigger"], "auto");

    let bad_date = http
        .post(format!(
            "{}/admin/settlements/run?date=2026-11-31",
            t.base_url
        ))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(bad_date.status(), 400);
    assert_eq!(count_rows(&t, "settlements").await, 1);
}

both_databases!(merchants_settle_on_request_and_withdraw_through_the_signed_api);
async fn merchants_settle_on_request_and_withdraw_through_the_signed_api(backend: DbBackend) {
    use paygate_client::{CreateWithdraw, QueryWithdraw, RequestSettlement};
    let (t, clock) = start(backend).await;
    set_money(
        &t,
        MerchantMoney {
            settlement_mode: SettlementMode::Platform,
            cycle: SettlementCycle::Manual,
            ..MerchantMoney::for_category(MerchantCategory::PhysicalGoods)
        },
    )
    .await;
    let two_days_ago = clock.now_ms() - 2 * 86_400_000;
    paid(&t, "P1", 100_00, two_days_ago).await;

    let request = RequestSettlement {
        currency: Currency::Cny,
    };
    let settled = t.client.request_settlement(&request).await.unwrap();
    assert_eq!(settled.settlement_status, "SETTLED");
    assert_eq!(settled.amount, Money::new(fen(100_00), Currency::Cny));
    let again = t.client.request_settlement(&request).await.unwrap();
    assert_eq!(again.settlement_no, settled.settlement_no);

    let create = |minor| CreateWithdraw {
        out_withdraw_no: OutWithdrawNo::parse("W-API-1").unwrap(),
        amount: Money::new(fen(minor), Currency::Cny),
    };
    crate::support::assert_api_error(t.client.withdraw(&create(150_00)).await, "1005");
    assert_eq!(count_rows(&t, "withdrawals").await, 0);
    let made = t.client.withdraw(&create(60_00)).await.unwrap();
    let found = t
        .client
        .query_withdraw(&QueryWithdraw {
            out_withdraw_no: OutWithdrawNo::parse("W-API-1").unwrap(),
        })
        .await
        .unwrap();
    assert_eq!(found.withdraw_no, made.withdraw_no);
    assert_eq!(found.amount, Money::new(fen(60_00), Currency::Cny));
    let b = merchant_balances(&t).await;
    assert_eq!((b.pending, b.available), (0, 40_00));
    assert_eq!(sent_out(&t).await, 60_00);
    assert_books_balance(t.store()).await;
}
