//! Profit sharing (分账) and its return (分账回退), issue #11, on both engines: seed 002's
//! example to the fen, the receiver cap, the shareable amount, idempotency on the merchant's
//! numbers, the end of sharing, explicit returns, and a refund that takes shares back first.
//! Every test ends with the ledger summing to zero.

use crate::support::{
    all_at_once, assert_api_error, assert_books_balance, count_rows, out_trade_no, query_order,
    refund_of, unpaid_order, wallet_order, yuan,
};
use paygate_app::AppSettings;
use paygate_client::split::{
    AddReceiver, ApplySplit, FinishSplit, QuerySplit, RemoveReceiver, ReturnSplit, ShareRequest,
};
use paygate_client::{ClientError, OrderRef};
use paygate_domain::fee::{FeeRate, FeeSchedule};
use paygate_domain::ledger::{Account, EntryKind, LedgerName, Posting, PostingKind};
use paygate_domain::split::{ReceiverId, ReceiverType, ReturnPolicy, SplitKind};
use paygate_domain::{Amount, Currency, OrderStatus, OutReturnNo, OutSplitNo, PayType, TradeNo};
use paygate_testkit::{both_databases, spawn_app, spawn_app_with, DbBackend, TestApp, TestOptions};

/// The tables a refused split or return must leave untouched.
const SPLIT_TABLES: [&str; 5] = [
    "splits",
    "split_shares",
    "split_returns",
    "ledger_entries",
    "notifications",
];

async fn split_counts(t: &TestApp) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in SPLIT_TABLES {
        counts.push(count_rows(t, table).await);
    }
    counts
}

/// The app with a merchant that pays no fee on wallet payments, so the seed's figures are exact
/// ("after fees as configured": here, none).
pub(crate) async fn fee_free_app(backend: DbBackend) -> TestApp {
    let t = spawn_app(backend).await;
    let free = FeeSchedule {
        rate: FeeRate::ZERO,
        fixed: Amount::ZERO,
    };
    t.store()
        .set_merchant_fee_schedules(t.merchant_id(), &[(PayType::Wallet, free)], 0)
        .await
        .unwrap();
    t
}

pub(crate) fn receiver(id: &str) -> ReceiverId {
    ReceiverId::parse(id).unwrap()
}

/// An order of `amount` paid from a wallet holding plenty.
async fn paid_order(t: &TestApp, number: &str, amount: &str) -> TradeNo {
    t.fund_wallet("alice", "1000.00").await;
    let code = t.pay_code("alice").await;
    let order = t
        .client
        .create_order(&wallet_order(number, amount, &code))
        .await
        .expect("create a paid order");
    assert_eq!(order.trade_status, OrderStatus::Success);
    order.trade_no
}

pub(crate) async fn register(t: &TestApp, ids: &[&str]) {
    for id in ids {
        let added = t
            .client
            .add_receiver(&AddReceiver {
                receiver_id: receiver(id),
                receiver_type: ReceiverType::Business,
                name: format!("Merchant {id}"),
                relation: "PARTNER".into(),
            })
            .await
            .expect("add a receiver");
        assert!(added.active);
    }
}

fn shares_of(trade_no: &TradeNo, number: &str, shares: &[(&str, &str)]) -> ApplySplit {
    ApplySplit {
        order: OrderRef::TradeNo(trade_no.clone()),
        out_split_no: OutSplitNo::parse(number).unwrap(),
        receivers: shares
            .iter()
            .map(|(id, amount)| ShareRequest {
                receiver_id: receiver(id),
                amount: yuan(amount),
            })
            .collect(),
        return_policy: None,
    }
}

fn return_of(number: &str, split: &str, id: &str, amount: &str) -> ReturnSplit {
    ReturnSplit {
        out_return_no: OutReturnNo::parse(number).unwrap(),
        out_split_no: OutSplitNo::parse(split).unwrap(),
        receiver_id: receiver(id),
        amount: yuan(amount),
    }
}

pub(crate) async fn pending_fen(t: &TestApp) -> i64 {
    let balances = t
        .store()
        .merchant_balances(t.merchant_id(), Currency::Cny)
        .await
        .unwrap();
    assert_eq!(balances.available, 0, "nothing settled in these tests");
    balances.pending
}

pub(crate) async fn receiver_fen(t: &TestApp, id: &str) -> i64 {
    let account = Account::receiver(t.merchant_id().clone(), id).unwrap();
    t.store()
        .account_balance(&account, Currency::Cny)
        .await
        .unwrap()
}

async fn seed_002s_example_a_full_refund_returns_cs_share_first(backend: DbBackend) {
    let t = fee_free_app(backend).await;
    let trade_no = paid_order(&t, "SEED-FULL", "100.00").await;
    register(&t, &["C"]).await;

    let split = t
        .client
        .apply_split(&shares_of(&trade_no, "SEED-S1", &[("C", "20.00")]))
        .await
        .expect("share 20.00 to C");
    assert_eq!(split.kind, SplitKind::Share);
    assert_eq!(split.amount, yuan("20.00"));
    assert_eq!(pending_fen(&t).await, 80_00);
    assert_eq!(receiver_fen(&t, "C").await, 20_00);
    assert_books_balance(t.store()).await;

    let refund = t
        .client
        .refund(&refund_of(&trade_no, "SEED-R1", "100.00"))
        .await
        .expect("full refund");
    assert_eq!(receiver_fen(&t, "C").await, 0);
    let order = query_order(&t, &trade_no).await;
    assert_eq!(order.trade_status, OrderStatus::Refund);
    let lines = t
        .store()
        .account_statement(
            &Account::MerchantPending(t.merchant_id().clone()),
            Currency::Cny,
            0,
            100,
        )
        .await
        .unwrap();
    let kinds: Vec<_> = lines.iter().map(|l| (l.kind, l.debit, l.credit)).collect();
    assert_eq!(
        kinds[..3],
        [
            (EntryKind::Payment, 0, 100_00),
            (EntryKind::ProfitShare, 20_00, 0),
            (EntryKind::ShareReturn, 0, 20_00),
        ],
        "the share comes back before anything the refund itself takes"
    );
    assert_eq!(lines[2].posting_kind, PostingKind::ShareReturn);
    assert_eq!(lines[2].reference, refund.refund_no.as_str());
    let queried = t
        .client
        .query_split(&QuerySplit {
            out_split_no: OutSplitNo::parse("SEED-S1").unwrap(),
        })
        .await
        .unwrap();
    assert_eq!(queried.receivers[0].returned_amount, yuan("20.00"));
    assert_eq!(count_rows(&t, "split_returns").await, 1);
    assert_books_balance(t.store()).await;
    t.stop().await;
}
both_databases!(seed_002s_example_a_full_refund_returns_cs_share_first);

async fn seed_002s_example_with_the_default_fee(backend: DbBackend) {
    // A physical-goods merchant pays 0.6% by default: 100.00 paid leaves 99.40 to share from.
    let t = spawn_app(backend).await;
    let trade_no = paid_order(&t, "SEED-FEE", "100.00").await;
    register(&t, &["C"]).await;
    t.client
        .apply_split(&shares_of(&trade_no, "FEE-S1", &[("C", "20.00")]))
        .await
        .expect("share 20.00 to C");
    assert_eq!(pending_fen(&t).await, 79_40);
    assert_eq!(receiver_fen(&t, "C").await, 20_00);
    let error = t
        .client
        .apply_split(&shares_of(&trade_no, "FEE-S2", &[("C", "79.41")]))
        .await;
    assert_api_error(error, "1015");

    t.client
        .refund(&refund_of(&trade_no, "FEE-R1", "100.00"))
        .await
        .expect("full refund");
    assert_eq!(receiver_fen(&t, "C").await, 0, "C's 20.00 came back first");
    assert_eq!(count_rows(&t, "split_returns").await, 1);
    assert_books_balance(t.store()).await;
    t.stop().await;
}
both_databases!(seed_002s_example_with_the_default_fee);

async fn a_partial_refund_within_what_the_merchant_kept_returns_nothing(backend: DbBackend) {
    let t = fee_free_app(backend).await;
    let trade_no = paid_order(&t, "SEED-HALF", "100.00").await;
    register(&t, &["C"]).await;
    t.client
        .apply_split(&shares_of(&trade_no, "HALF-S1", &[("C", "20.00")]))
        .await
        .unwrap();

    t.client
        .refund(&refund_of(&trade_no, "HALF-R1", "50.00"))
        .await
        .expect("refund 50.00");
    assert_eq!(receiver_fen(&t, "C").await, 20_00);
    assert_eq!(count_rows(&t, "split_returns").await, 0);
    // 50 refunded + 20 shared: 30.00 is left to share, no more.
    let error = t
        .client
        .apply_split(&shares_of(&trade_no, "HALF-S2", &[("C", "30.01")]))
        .await;
    assert_api_error(error, "1015");
    t.client
        .apply_split(&shares_of(&trade_no, "HALF-S3", &[("C", "30.00")]))
        .await
        .expect("share what is left");
    assert_eq!(receiver_fen(&t, "C").await, 50_00);
    assert_books_balance(t.store()).await;
    t.stop().await;
}
both_databases!(a_partial_refund_within_what_the_merchant_kept_returns_nothing);

async fn receivers_must_be_registered_and_within_the_cap(backend: DbBackend) {
    let t = fee_free_app(backend).await;
    let trade_no = paid_order(&t, "CAP", "100.00").await;
    register(&t, &["R1", "R2", "R3", "R4", "R5", "R6"]).await;
    let before = split_counts(&t).await;

    let six: Vec<(&str, &str)> = ["R1", "R2", "R3", "R4", "R5", "R6"]
        .iter()
        .map(|r| (*r, "1.00"))
        .collect();
    let error = t
        .client
        .apply_split(&shares_of(&trade_no, "CAP-1", &six))
        .await;
    assert_api_error(error, "1014");
    let error = t
        .client
        .apply_split(&shares_of(&trade_no, "CAP-2", &[("NOBODY", "1.00")]))
        .await;
    assert_api_error(error, "1014");
    assert_eq!(split_counts(&t).await, before, "refusals write nothing");

    t.client
        .apply_split(&shares_of(&trade_no, "CAP-3", &six[..5]))
        .await
        .expect("five receivers");
    // A sixth receiver on the same order, in a later request, is over the cap too.
    let error = t
        .client
        .apply_split(&shares_of(&trade_no, "CAP-4", &[("R6", "1.00")]))
        .await;
    assert_api_error(error, "1014");
    t.client
        .apply_split(&shares_of(&trade_no, "CAP-5", &[("R1", "1.00")]))
        .await
        .expect("a receiver the order already has");

    t.client
        .remove_receiver(&RemoveReceiver {
            receiver_id: receiver("R2"),
        })
        .await
        .expect("remove R2");
    let error = t
        .client
        .apply_split(&shares_of(&trade_no, "CAP-6", &[("R2", "1.00")]))
        .await;
    assert_api_error(error, "1014");
    assert_eq!(
        receiver_fen(&t, "R2").await,
        1_00,
        "a removed receiver keeps what it got"
    );
    assert_books_balance(t.store()).await;
    t.stop().await;
}
both_databases!(receivers_must_be_registered_and_within_the_cap);

async fn a_share_over_the_shareable_amount_or_of_an_unpaid_order_writes_nothing(
    backend: DbBackend,
) {
    let t = fee_free_app(backend).await;
    let trade_no = paid_order(&t, "OVER", "100.00").await;
    register(&t, &["C", "D"]).await;
    let before = split_counts(&t).await;

    let error = t
        .client
        .apply_split(&shares_of(
            &trade_no,
            "OVER-1",
            &[("C", "60.00"), ("D", "40.01")],
        ))
        .await;
    assert_api_error(error, "1015");
    assert_eq!(split_counts(&t).await, before);
    assert_eq!(pending_fen(&t).await, 100_00);

    let unpaid = t
        .client
        .create_order(&unpaid_order("UNPAID", "10.00"))
        .await
        .unwrap();
    let error = t
        .client
        .apply_split(&shares_of(&unpaid.trade_no, "OVER-2", &[("C", "1.00")]))
        .await;
    assert_api_error(error, "1016");
    assert_eq!(split_counts(&t).await, before);

    t.client
        .apply_split(&shares_of(
            &trade_no,
            "OVER-3",
            &[("C", "60.00"), ("D", "40.00")],
        ))
        .await
        .expect("all of it");
    assert_eq!(pending_fen(&t).await, 0);
    t.client
        .refund(&refund_of(&trade_no, "OVER-R1", "100.00"))
        .await
        .expect("a refund takes every share back");
    assert_eq!(receiver_fen(&t, "C").await + receiver_fen(&t, "D").await, 0);
    assert_books_balance(t.store()).await;
    t.stop().await;
}
both_databases!(a_share_over_the_shareable_amount_or_of_an_unpaid_order_writes_nothing);

async fn a_repeated_split_answers_the_same_and_moves_money_once(backend: DbBackend) {
    let t = fee_free_app(backend).await;
    let trade_no = paid_order(&t, "REPLAY", "100.00").await;
    register(&t, &["C"]).await;
    let request = shares_of(&trade_no, "REPLAY-S1", &[("C", "20.00")]);

    let first = t.client.apply_split(&request).await.unwrap();
    let notifications = count_rows(&t, "notifications").await;
    let second = t.client.apply_split(&request).await.unwrap();
    assert_eq!(second.split_no, first.split_no);
    assert_eq!(receiver_fen(&t, "C").await, 20_00);
    assert_eq!(count_rows(&t, "splits").await, 1);
    assert_eq!(count_rows(&t, "notifications").await, notifications);

    let changed = shares_of(&trade_no, "REPLAY-S1", &[("C", "21.00")]);
    match t.client.apply_split(&changed).await {
        Err(ClientError::Api {
            error_code, msg, ..
        }) => {
            assert_eq!(error_code, "1004");
            assert!(msg.contains("out_split_no"), "{msg}");
        }
        other => panic!("expected 1004, got {other:?}"),
    }
    assert_eq!(receiver_fen(&t, "C").await, 20_00);
    assert_books_balance(t.store()).await;
    t.stop().await;
}
both_databases!(a_repeated_split_answers_the_same_and_moves_money_once);

async fn finishing_an_orders_sharing_refuses_later_shares(backend: DbBackend) {
    let t = fee_free_app(backend).await;
    let trade_no = paid_order(&t, "FIN", "100.00").await;
    register(&t, &["C"]).await;
    t.client
        .apply_split(&shares_of(&trade_no, "FIN-S1", &[("C", "10.00")]))
        .await
        .unwrap();
    let finish = FinishSplit {
        order: OrderRef::OutTradeNo(out_trade_no("FIN")),
        out_split_no: OutSplitNo::parse("FIN-END").unwrap(),
    };
    let finished = t.client.finish_split(&finish).await.unwrap();
    assert_eq!(finished.kind, SplitKind::Finish);
    assert_eq!(
        finished.amount,
        paygate_domain::Money::new(Amount::ZERO, Currency::Cny)
    );
    let again = t.client.finish_split(&finish).await.unwrap();
    assert_eq!(again.split_no, finished.split_no);

    let before = split_counts(&t).await;
    let error = t
        .client
        .apply_split(&shares_of(&trade_no, "FIN-S2", &[("C", "1.00")]))
        .await;
    assert_api_error(error, "1016");
    assert_eq!(split_counts(&t).await, before);
    assert_eq!(pending_fen(&t).await, 90_00);
    assert_books_balance(t.store()).await;
    t.stop().await;
}
both_databases!(finishing_an_orders_sharing_refuses_later_shares);

async fn an_explicit_return_moves_part_of_a_share_back_once(backend: DbBackend) {
    let t = fee_free_app(backend).await;
    let trade_no = paid_order(&t, "BACK", "100.00").await;
    register(&t, &["C"]).await;
    t.client
        .apply_split(&shares_of(&trade_no, "BACK-S1", &[("C", "20.00")]))
        .await
        .unwrap();
    let notifications = count_rows(&t, "notifications").await;

    let back = t
        .client
        .return_split(&return_of("BACK-B1", "BACK-S1", "C", "5.00"))
        .await
        .expect("return 5.00");
    assert_eq!(back.amount, yuan("5.00"));
    assert_eq!(back.trade_no, trade_no);
    assert_eq!(receiver_fen(&t, "C").await, 15_00);
    assert_eq!(pending_fen(&t).await, 85_00);
    assert_eq!(count_rows(&t, "notifications").await, notifications + 1);

    let again = t
        .client
        .return_split(&return_of("BACK-B1", "BACK-S1", "C", "5.00"))
        .await
        .unwrap();
    assert_eq!(again.return_no, back.return_no);
    assert_eq!(receiver_fen(&t, "C").await, 15_00);
    let reused = t
        .client
        .return_split(&return_of("BACK-B1", "BACK-S1", "C", "6.00"))
        .await;
    assert_api_error(reused, "1004");

    let before = split_counts(&t).await;
    let too_much = t
        .client
        .return_split(&return_of("BACK-B2", "BACK-S1", "C", "15.01"))
        .await;
    assert_api_error(too_much, "1015");
    let nobody = t
        .client
        .return_split(&return_of("BACK-B3", "BACK-S1", "D", "1.00"))
        .await;
    assert_api_error(nobody, "1014");
    let no_split = t
        .client
        .return_split(&return_of("BACK-B4", "NO-SUCH", "C", "1.00"))
        .await;
    assert_api_error(no_split, "1003");
    assert_eq!(split_counts(&t).await, before);

    let queried = t
        .client
        .query_split(&QuerySplit {
            out_split_no: OutSplitNo::parse("BACK-S1").unwrap(),
        })
        .await
        .unwrap();
    assert_eq!(queried.receivers[0].returned_amount, yuan("5.00"));
    let notified: Vec<(String, serde_json::Value)> = t
        .store()
        .notifications_for_trade(&trade_no)
        .await
        .unwrap()
        .into_iter()
        .filter(|n| n.kind.starts_with("SPLIT_"))
        .map(|n| (n.kind, serde_json::from_str(&n.payload).unwrap()))
        .collect();
    assert_eq!(notified.len(), 2, "{notified:?}");
    let (kind, shared) = &notified[0];
    assert_eq!(kind, "SPLIT_SUCCESS");
    assert_eq!(shared["notify_type"], "SPLIT_SUCCESS");
    assert_eq!(shared["out_split_no"], "BACK-S1");
    assert_eq!(shared["out_trade_no"], "BACK");
    assert_eq!(
        shared["receivers"],
        r#"[{"receiver_id":"C","amount":"20.00","returned_amount":"0.00"}]"#
    );
    let (kind, returned) = &notified[1];
    assert_eq!(kind, "SPLIT_RETURNED");
    assert_eq!(returned["out_return_no"], "BACK-B1");
    assert_eq!(returned["amount"], "5.00");
    // What came back may be shared again.
    t.client
        .apply_split(&shares_of(&trade_no, "BACK-S2", &[("C", "85.00")]))
        .await
        .expect("share the rest");
    assert_books_balance(t.store()).await;
    t.stop().await;
}
both_databases!(an_explicit_return_moves_part_of_a_share_back_once);

async fn a_refund_takes_shares_back_by_the_orders_policy(backend: DbBackend) {
    let t = fee_free_app(backend).await;
    register(&t, &["C", "D"]).await;

    let proportional = paid_order(&t, "PROP", "100.00").await;
    t.client
        .apply_split(&shares_of(
            &proportional,
            "PROP-S1",
            &[("C", "30.00"), ("D", "10.00")],
        ))
        .await
        .unwrap();
    // 70 refunded + 40 shared exceeds 100 by 10: C gives 7.50 and D 2.50.
    t.client
        .refund(&refund_of(&proportional, "PROP-R1", "70.00"))
        .await
        .unwrap();
    assert_eq!(receiver_fen(&t, "C").await, 22_50);
    assert_eq!(receiver_fen(&t, "D").await, 7_50);

    let latest = paid_order(&t, "LATEST", "100.00").await;
    t.client
        .apply_split(&ApplySplit {
            return_policy: Some(ReturnPolicy::LatestFirst),
            ..shares_of(&latest, "LATEST-S1", &[("C", "30.00")])
        })
        .await
        .unwrap();
    t.client
        .apply_split(&shares_of(&latest, "LATEST-S2", &[("D", "10.00")]))
        .await
        .unwrap();
    // The same 10 over, taken from the newest share (D's) first.
    t.client
        .refund(&refund_of(&latest, "LATEST-R1", "70.00"))
        .await
        .unwrap();
    assert_eq!(receiver_fen(&t, "C").await, 22_50 + 30_00);
    assert_eq!(receiver_fen(&t, "D").await, 7_50);
    assert_books_balance(t.store()).await;
    t.stop().await;
}
both_databases!(a_refund_takes_shares_back_by_the_orders_policy);

async fn a_refund_whose_share_return_the_receiver_cannot_cover_is_refused(backend: DbBackend) {
    let t = fee_free_app(backend).await;
    let trade_no = paid_order(&t, "SHORT", "100.00").await;
    register(&t, &["C"]).await;
    t.client
        .apply_split(&shares_of(&trade_no, "SHORT-S1", &[("C", "20.00")]))
        .await
        .unwrap();
    // C's money has left its account (as a payout to it would take it).
    let gone = Posting::new(PostingKind::Withdrawal, "C-OUT", Currency::Cny).transfer(
        EntryKind::Withdrawal,
        Account::receiver(t.merchant_id().clone(), "C").unwrap(),
        Account::PayoutRail(LedgerName::parse("bank").unwrap()),
        Amount::from_minor(15_00).unwrap(),
    );
    t.store().post_to_ledger(&gone, 1).await.unwrap();
    let refunds = count_rows(&t, "refunds").await;
    let before = split_counts(&t).await;

    match t
        .client
        .refund(&refund_of(&trade_no, "SHORT-R1", "100.00"))
        .await
    {
        Err(ClientError::Api {
            error_code, msg, ..
        }) => {
            assert_eq!(error_code, "1005");
            assert!(msg.contains("receiver:"), "{msg}");
        }
        other => panic!("expected 1005, got {other:?}"),
    }
    assert_eq!(count_rows(&t, "refunds").await, refunds);
    assert_eq!(split_counts(&t).await, before);
    assert_eq!(receiver_fen(&t, "C").await, 5_00);
    let order = query_order(&t, &trade_no).await;
    assert_eq!(order.trade_status, OrderStatus::Success);
    // A refund that needs nothing back still goes through.
    t.client
        .refund(&refund_of(&trade_no, "SHORT-R2", "80.00"))
        .await
        .expect("refund what the merchant kept");
    assert_books_balance(t.store()).await;
    t.stop().await;
}
both_databases!(a_refund_whose_share_return_the_receiver_cannot_cover_is_refused);

async fn the_configured_receiver_cap_overrides_the_channels(backend: DbBackend) {
    let options = TestOptions {
        settings: AppSettings {
            split_receivers_max: Some(2),
            ..AppSettings::default()
        },
        ..TestOptions::default()
    };
    let t = spawn_app_with(backend, options).await;
    let trade_no = paid_order(&t, "CFG", "100.00").await;
    register(&t, &["A", "B", "C"]).await;
    let three = [("A", "1.00"), ("B", "1.00"), ("C", "1.00")];
    let error = t
        .client
        .apply_split(&shares_of(&trade_no, "CFG-1", &three))
        .await;
    assert_api_error(error, "1014");
    t.client
        .apply_split(&shares_of(&trade_no, "CFG-2", &three[..2]))
        .await
        .expect("two receivers");
    assert_books_balance(t.store()).await;
    t.stop().await;
}
both_databases!(the_configured_receiver_cap_overrides_the_channels);

/// Ten shares of 20.00 race for a 100.00 order: five win, the rest are over the shareable
/// amount, and the merchant's pending balance ends at zero, never below.
async fn concurrent_shares_never_exceed_the_shareable_amount(backend: DbBackend) {
    let t = fee_free_app(backend).await;
    let trade_no = paid_order(&t, "RACE-S", "100.00").await;
    register(&t, &["C"]).await;

    let answers = all_at_once(10, |i| {
        let request = shares_of(&trade_no, &format!("RACE-S{i:02}"), &[("C", "20.00")]);
        let client = t.client.clone();
        async move { client.apply_split(&request).await }
    })
    .await;
    let mut won = 0;
    for answer in answers {
        match answer {
            Ok(_) => won += 1,
            Err(error) => assert_eq!(error.error_code(), Some("1015"), "{error:?}"),
        }
    }
    assert_eq!(won, 5);
    assert_eq!(receiver_fen(&t, "C").await, 100_00);
    assert_eq!(pending_fen(&t).await, 0);
    assert_books_balance(t.store()).await;
    t.stop().await;
}
both_databases!(concurrent_shares_never_exceed_the_shareable_amount);
