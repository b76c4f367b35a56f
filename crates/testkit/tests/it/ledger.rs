//! The ledger's core rules on both engines: postings balance, a reference posts each kind once,
//! nothing takes a merchant's balance below zero, and concurrent takers are serialised.

use crate::support::{all_at_once, assert_books_balance, fen, unpaid_order};
use paygate_channels::TradeState;
use paygate_domain::ledger::{Account, EntryKind, LedgerName, Posting, PostingKind};
use paygate_domain::{Currency, MerchantId, OrderStatus};
use paygate_store::{Posted, Store, StoreOptions};
use paygate_testkit::{both_databases, spawn_app, DbBackend, TestDb};
use sqlx::Row;

async fn store_on(db: &TestDb) -> Store {
    let store = Store::connect(&db.url, &StoreOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store
}

fn merchant() -> MerchantId {
    MerchantId::parse("M100001").unwrap()
}

fn wechat() -> LedgerName {
    LedgerName::parse("wechat").unwrap()
}

fn payment(reference: &str, minor: i64) -> Posting {
    Posting::new(PostingKind::Payment, reference, Currency::Cny).transfer(
        EntryKind::Payment,
        Account::ChannelClearing(wechat()),
        Account::MerchantAvailable(merchant()),
        fen(minor),
    )
}

fn payout(reference: &str, minor: i64) -> Posting {
    Posting::new(PostingKind::PayoutAccepted, reference, Currency::Cny).transfer(
        EntryKind::PayoutHold,
        Account::MerchantAvailable(merchant()),
        Account::MerchantReserved(merchant()),
        fen(minor),
    )
}

both_databases!(a_reference_posts_each_kind_once_and_all_accounts_sum_to_zero);
async fn a_reference_posts_each_kind_once_and_all_accounts_sum_to_zero(backend: DbBackend) {
    let db = TestDb::create(backend).await;
    let store = store_on(&db).await;
    assert_eq!(
        store
            .post_to_ledger(&payment("T1", 100_00), 1)
            .await
            .unwrap(),
        Posted::Posted
    );
    assert_eq!(
        store
            .post_to_ledger(&payment("T1", 100_00), 2)
            .await
            .unwrap(),
        Posted::AlreadyPosted
    );
    let balances = store
        .merchant_balances(&merchant(), Currency::Cny)
        .await
        .unwrap();
    assert_eq!(balances.available, 100_00);
    assert_eq!(
        store
            .account_balance(&Account::ChannelClearing(wechat()), Currency::Cny)
            .await
            .unwrap(),
        100_00
    );
    assert_eq!(
        store.ledger_imbalance().await.unwrap(),
        vec![(Currency::Cny, 0)]
    );
    let lines = store
        .account_statement(
            &Account::MerchantAvailable(merchant()),
            Currency::Cny,
            0,
            10,
        )
        .await
        .unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(
        (lines[0].kind, lines[0].credit, lines[0].debit),
        (EntryKind::Payment, 100_00, 0)
    );
    assert_eq!(lines[0].reference, "T1");

    assert_eq!(
        store.post_to_ledger(&payout("P1", 40_00), 3).await.unwrap(),
        Posted::Posted
    );
    assert_eq!(
        store.post_to_ledger(&payout("P1", 40_00), 4).await.unwrap(),
        Posted::AlreadyPosted
    );
    let balances = store
        .merchant_balances(&merchant(), Currency::Cny)
        .await
        .unwrap();
    assert_eq!((balances.available, balances.reserved), (60_00, 40_00));
}

both_databases!(a_payment_is_posted_once_however_often_its_order_is_reported_paid);
/// Payments are not in the once-per-posting index (migration 0021): the order's PAID
/// compare-and-set keeps each once. Ten reports of one payment at the same instant, each from
/// the order as it stood before any of them, leave one posting: two entries on the merchant's
/// pending account (the payment and its fee) and four in all.
async fn a_payment_is_posted_once_however_often_its_order_is_reported_paid(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let created = t
        .client
        .create_order(&unpaid_order("ONCE-1", "100.00"))
        .await
        .expect("create");
    let waiting = t
        .store()
        .get_order(&created.trade_no)
        .await
        .unwrap()
        .unwrap();
    let settled = all_at_once(10, |i| {
        let (app, order) = (t.app.clone(), waiting.clone());
        async move {
            let state = TradeState::Paid {
                channel_trade_no: format!("W-ONCE-{i}"),
                paid_at_ms: 0,
            };
            app.settle(order, state).await.expect("settle").status
        }
    })
    .await;
    assert_eq!(settled, vec![OrderStatus::Success; 10]);
    let row = sqlx::query(
        "SELECT COUNT(*) AS entries FROM ledger_entries
         WHERE posting_kind = 'payment' AND reference = $1",
    )
    .bind(created.trade_no.as_str())
    .fetch_one(t.store().pool())
    .await
    .unwrap();
    assert_eq!(row.get::<i64, _>("entries"), 4);
    let pending = t
        .store()
        .account_statement(
            &Account::MerchantPending(t.merchant_id().clone()),
            Currency::Cny,
            0,
            10,
        )
        .await
        .unwrap();
    assert_eq!(
        pending
            .iter()
            .map(|l| (l.kind, l.debit, l.credit))
            .collect::<Vec<_>>(),
        vec![(EntryKind::Payment, 0, 100_00), (EntryKind::Fee, 60, 0)]
    );
    assert_books_balance(t.store()).await;
    t.stop().await;
}

both_databases!(a_posting_that_would_overdraw_a_merchant_writes_nothing);
async fn a_posting_that_would_overdraw_a_merchant_writes_nothing(backend: DbBackend) {
    let db = TestDb::create(backend).await;
    let store = store_on(&db).await;
    store
        .post_to_ledger(&payment("T1", 50_00), 1)
        .await
        .unwrap();
    assert_eq!(
        store.post_to_ledger(&payout("P1", 50_01), 2).await.unwrap(),
        Posted::Overdraft {
            account: Account::MerchantAvailable(merchant()),
            balance: 50_00
        }
    );
    assert_eq!(
        store.post_to_ledger(&payout("P1", 50_00), 3).await.unwrap(),
        Posted::Posted
    );
    let balances = store
        .merchant_balances(&merchant(), Currency::Cny)
        .await
        .unwrap();
    assert_eq!((balances.available, balances.reserved), (0, 50_00));
}

both_databases!(concurrent_takers_never_overdraw);
async fn concurrent_takers_never_overdraw(backend: DbBackend) {
    let db = TestDb::create(backend).await;
    let store = store_on(&db).await;
    store
        .post_to_ledger(&payment("T1", 60_00), 1)
        .await
        .unwrap();
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .post_to_ledger(&payout(&format!("P{i}"), 3_00), 2)
                    .await
            })
        })
        .collect();
    let mut posted = 0;
    for task in tasks {
        if task.await.unwrap().unwrap() == Posted::Posted {
            posted += 1;
        }
    }
    assert_eq!(posted, 20, "60.00 covers exactly twenty payouts of 3.00");
    let balances = store
        .merchant_balances(&merchant(), Currency::Cny)
        .await
        .unwrap();
    assert_eq!((balances.available, balances.reserved), (0, 60_00));
}

both_databases!(merchant_money_settings_read_back_with_category_defaults_until_set);
async fn merchant_money_settings_read_back_with_category_defaults_until_set(backend: DbBackend) {
    use paygate_domain::merchant_money::{
        FeeBearer, MerchantCategory, MerchantMoney, SettlementCycle, SettlementMode,
    };
    let app = paygate_testkit::spawn_app(backend).await;
    let store = app.store();
    let merchant = app.merchant_id().clone();
    assert_eq!(
        store.merchant_money(&merchant).await.unwrap(),
        MerchantMoney::for_category(MerchantCategory::PhysicalGoods)
    );
    let mut money = MerchantMoney::for_category(MerchantCategory::VirtualGoods);
    money.settlement_mode = SettlementMode::Platform;
    money.fee_bearer = FeeBearer::Platform;
    money.cycle = SettlementCycle::Auto {
        days: 7,
        minimum: fen(100_00),
    };
    money
        .qualifications
        .insert("business_licence".into(), "91310000MA1FL0000X".into());
    assert_eq!(
        money.missing_qualifications(),
        vec!["internet_culture_licence"]
    );
    store
        .set_merchant_money(&merchant, &money, 1)
        .await
        .unwrap();
    assert_eq!(store.merchant_money(&merchant).await.unwrap(), money);
    money.cycle = SettlementCycle::Manual;
    store
        .set_merchant_money(&merchant, &money, 2)
        .await
        .unwrap();
    assert_eq!(
        store.merchant_money(&merchant).await.unwrap().cycle,
        SettlementCycle::Manual
    );
    app.stop().await;
}

both_databases!(migrations_0017_and_0020_keep_every_entry_of_an_older_ledger);
/// Migration 0017 folds the postings table into the entries and 0020 gives merchants' and
/// receivers' entries their owner: a ledger written by the older schema keeps every balance,
/// statement line, merchant's list of accounts and once-per-reference rule, and new entries
/// number after the old ones.
async fn migrations_0017_and_0020_keep_every_entry_of_an_older_ledger(backend: DbBackend) {
    let db = TestDb::create(backend).await;
    let store = Store::connect(&db.url, &StoreOptions::default())
        .await
        .unwrap();
    store.migrate_through(16).await.unwrap();
    let available = Account::MerchantAvailable(merchant()).to_string();
    let reserved = Account::MerchantReserved(merchant()).to_string();
    let clearing = Account::ChannelClearing(wechat()).to_string();
    let receiver = Account::receiver(merchant(), "R1").unwrap().to_string();
    for sql in [
        "INSERT INTO ledger_postings (id, kind, reference, currency, at)
         VALUES (1, 'payment', 'T1', 'CNY', 10), (2, 'payout_accepted', 'PO1', 'CNY', 20),
                (3, 'profit_share', 'S1', 'CNY', 25)"
            .to_owned(),
        format!(
            "INSERT INTO ledger_entries
               (id, posting_id, kind, account, merchant_id, currency, debit, credit, at)
             VALUES (1, 1, 'payment', '{clearing}', NULL, 'CNY', 10000, 0, 10),
                    (2, 1, 'payment', '{available}', 'M100001', 'CNY', 0, 10000, 10),
                    (3, 2, 'payout_hold', '{available}', 'M100001', 'CNY', 3000, 0, 20),
                    (4, 2, 'payout_hold', '{reserved}', 'M100001', 'CNY', 0, 3000, 20),
                    (5, 3, 'profit_share', '{available}', 'M100001', 'CNY', 1000, 0, 25),
                    (6, 3, 'profit_share', '{receiver}', 'M100001', 'CNY', 0, 1000, 25)"
        ),
    ] {
        sqlx::query(&sql).execute(store.pool()).await.unwrap();
    }
    store.migrate().await.unwrap();

    let balances = store
        .merchant_balances(&merchant(), Currency::Cny)
        .await
        .unwrap();
    assert_eq!((balances.available, balances.reserved), (60_00, 30_00));
    let owned: Vec<(String, i64)> = store
        .ledger_balances(Some(&merchant()))
        .await
        .unwrap()
        .into_iter()
        .map(|b| (b.account.to_string(), b.balance))
        .collect();
    assert_eq!(
        owned,
        vec![
            (available.clone(), 60_00),
            (reserved.clone(), 30_00),
            (receiver.clone(), 10_00),
        ],
        "the merchant's accounts and its receiver's, and not the channel's"
    );
    let clearing_lines = store
        .account_statement(&Account::ChannelClearing(wechat()), Currency::Cny, 0, 10)
        .await
        .unwrap();
    assert_eq!(
        clearing_lines
            .iter()
            .map(|l| (l.entry_id, l.debit))
            .collect::<Vec<_>>(),
        vec![(1, 100_00)]
    );
    let lines = store
        .account_statement(
            &Account::MerchantAvailable(merchant()),
            Currency::Cny,
            0,
            10,
        )
        .await
        .unwrap();
    let seen: Vec<(i64, PostingKind, &str, i64, i64)> = lines
        .iter()
        .map(|l| {
            (
                l.entry_id,
                l.posting_kind,
                l.reference.as_str(),
                l.debit,
                l.credit,
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (2, PostingKind::Payment, "T1", 0, 100_00),
            (3, PostingKind::PayoutAccepted, "PO1", 30_00, 0),
            (5, PostingKind::ProfitShare, "S1", 10_00, 0),
        ]
    );
    assert_eq!(
        store
            .post_to_ledger(&payment("T1", 100_00), 30)
            .await
            .unwrap(),
        Posted::AlreadyPosted
    );
    assert_eq!(
        store
            .post_to_ledger(&payout("PO1", 30_00), 35)
            .await
            .unwrap(),
        Posted::AlreadyPosted
    );
    assert_eq!(
        store
            .post_to_ledger(&payment("T2", 5_00), 40)
            .await
            .unwrap(),
        Posted::Posted
    );
    let after = store
        .account_statement(
            &Account::MerchantAvailable(merchant()),
            Currency::Cny,
            5,
            10,
        )
        .await
        .unwrap();
    assert_eq!(after.len(), 1);
    assert!(
        after[0].entry_id > 6,
        "new entries number after the old ones"
    );
    assert_eq!(
        store.ledger_imbalance().await.unwrap(),
        vec![(Currency::Cny, 0)]
    );
}
