//! Share rules given at create (`split_rules`, issue #11), on both engines: checked at create
//! with nothing written on refusal, stored with the order, applied once after payment by the
//! background step (or at finish for `on_finish`) as the split `auto-<trade_no>`, and failed
//! with a reason when they can no longer be applied. Amounts are exact to the fen.

use crate::splits::{fee_free_app, pending_fen, receiver, receiver_fen, register};
use crate::support::{
    assert_api_error, assert_books_balance, assert_param_error, assert_raw_error, count_rows,
    create_fields, query_order, refund_of, unpaid_order, wallet_order, yuan,
};
use paygate_app::jobs::JobSettings;
use paygate_app::maintenance::Outcome;
use paygate_app::split_rules::auto_split_step;
use paygate_app::{App, AppSettings, SystemClock};
use paygate_channels::TradeState;
use paygate_client::split::{ApplySplit, FinishSplit, QuerySplit, RemoveReceiver};
use paygate_client::{paths, ApiRequest, CloseOrder, CreateOrder, OrderRef};
use paygate_domain::split::SplitKind;
use paygate_domain::split_rules::{AutoSplitStatus, OrderSplit, SplitMode, SplitRule};
use paygate_domain::{OrderStatus, OutSplitNo, TradeNo};
use paygate_store::{Store, StoreOptions};
use paygate_testkit::{both_databases, spawn_app, DbBackend, TestApp};
use serde_json::Value;
use std::sync::Arc;

/// What a refused create must leave untouched, and what sharing writes.
const TABLES: [&str; 7] = [
    "orders",
    "order_transitions",
    "order_split_rules",
    "splits",
    "split_shares",
    "ledger_entries",
    "notifications",
];

async fn counts(t: &TestApp) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in TABLES {
        counts.push(count_rows(t, table).await);
    }
    counts
}

fn rules(mode: SplitMode, shares: &[(&str, &str)]) -> OrderSplit {
    let rules = shares
        .iter()
        .map(|(id, amount)| SplitRule {
            receiver_id: receiver(id),
            amount: yuan(amount).amount,
            description: Some(format!("share of {id}")),
        })
        .collect();
    OrderSplit::new(mode, rules).unwrap()
}

/// A wallet order of `amount` with `split`, paid as it is created.
async fn paid_with_rules(t: &TestApp, number: &str, amount: &str, split: OrderSplit) -> TradeNo {
    t.fund_wallet("alice", "1000.00").await;
    let code = t.pay_code("alice").await;
    let order = t
        .client
        .create_order(&CreateOrder {
            split: Some(split),
            ..wallet_order(number, amount, &code)
        })
        .await
        .expect("create a paid order with rules");
    assert_eq!(order.trade_status, OrderStatus::Success);
    order.trade_no
}

async fn step(app: &App) -> Outcome {
    auto_split_step(app, &JobSettings::default())
        .await
        .expect("automatic split step")
}

async fn split_status(t: &TestApp, trade_no: &TradeNo) -> (AutoSplitStatus, Option<String>) {
    let order = query_order(t, trade_no).await;
    let split = order.split.expect("the order shows its rules");
    assert_eq!(split.out_split_no, auto_no(trade_no));
    (split.status, split.fail_reason)
}

fn auto_no(trade_no: &TradeNo) -> OutSplitNo {
    OutSplitNo::parse(&format!("auto-{trade_no}")).unwrap()
}

async fn immediate_rules_share_after_payment_with_the_default_fee(backend: DbBackend) {
    // The default 0.6%: 100.00 paid leaves 99.40 pending, of which 30.50 is shared.
    let t = spawn_app(backend).await;
    register(&t, &["C", "D"]).await;
    let split = rules(SplitMode::Immediate, &[("C", "20.00"), ("D", "10.50")]);
    let trade_no = paid_with_rules(&t, "RULES-FEE", "100.00", split.clone()).await;
    let shown = query_order(&t, &trade_no).await.split.unwrap();
    assert_eq!(shown.split, split, "the query shows the rules as given");
    assert_eq!(shown.status, AutoSplitStatus::Pending);
    assert_eq!(pending_fen(&t).await, 99_40);
    assert_eq!(receiver_fen(&t, "C").await, 0);

    assert_eq!(step(&t.app).await, Outcome::DidWork(1));
    assert_eq!(receiver_fen(&t, "C").await, 20_00);
    assert_eq!(receiver_fen(&t, "D").await, 10_50);
    assert_eq!(pending_fen(&t).await, 68_90);
    assert_eq!(
        split_status(&t, &trade_no).await,
        (AutoSplitStatus::Done, None)
    );
    let applied = t
        .client
        .query_split(&QuerySplit {
            out_split_no: auto_no(&trade_no),
        })
        .await
        .expect("the automatic split is queried by its derived number");
    assert_eq!(applied.kind, SplitKind::Share);
    assert_eq!(applied.amount, yuan("30.50"));
    assert_eq!(applied.trade_no, trade_no);

    // A second run finds nothing; a run that replays the rules (as after a crash between the
    // split and its mark) meets the split's number and moves nothing more.
    let after = counts(&t).await;
    assert_eq!(step(&t.app).await, Outcome::Idle);
    let status = AutoSplitStatus::Pending.as_str();
    sqlx::query("UPDATE order_split_rules SET status = $1")
        .bind(status)
        .execute(t.store().pool())
        .await
        .unwrap();
    assert_eq!(step(&t.app).await, Outcome::DidWork(1));
    assert_eq!(counts(&t).await, after);
    assert_eq!(receiver_fen(&t, "C").await, 20_00);
    assert_eq!(pending_fen(&t).await, 68_90);
    assert_eq!(
        split_status(&t, &trade_no).await,
        (AutoSplitStatus::Done, None)
    );
    assert_eq!(count_rows(&t, "splits").await, 1);
    assert_books_balance(t.store()).await;
    t.stop().await;
}
both_databases!(immediate_rules_share_after_payment_with_the_default_fee);

async fn a_fee_free_merchant_may_share_the_whole_order(backend: DbBackend) {
    let t = fee_free_app(backend).await;
    register(&t, &["C"]).await;
    let split = rules(SplitMode::Immediate, &[("C", "100.00")]);
    let trade_no = paid_with_rules(&t, "RULES-FREE", "100.00", split).await;
    assert_eq!(pending_fen(&t).await, 100_00);
    assert_eq!(step(&t.app).await, Outcome::DidWork(1));
    assert_eq!(receiver_fen(&t, "C").await, 100_00);
    assert_eq!(pending_fen(&t).await, 0);
    assert_eq!(
        split_status(&t, &trade_no).await,
        (AutoSplitStatus::Done, None)
    );
    assert_eq!(count_rows(&t, "split_shares").await, 1);
    assert_books_balance(t.store()).await;
    t.stop().await;
}
both_databases!(a_fee_free_merchant_may_share_the_whole_order);

/// A create's fields with `split_rules` (and `split_mode`, if given) as raw text.
fn with_rules(number: &str, amount: &str, text: &str, mode: Option<&str>) -> Vec<(String, Value)> {
    let mut fields = create_fields(number, amount);
    fields.insert("split_rules".into(), text.into());
    if let Some(mode) = mode {
        fields.insert("split_mode".into(), mode.into());
    }
    fields.into_iter().collect()
}

/// A refused create: its number, `split_rules`, `split_mode`, the error code, and the field a
/// 1001 names.
type Refusal = (
    &'static str,
    String,
    Option<&'static str>,
    &'static str,
    Option<&'static str>,
);

async fn invalid_rules_are_refused_at_create_and_write_nothing(backend: DbBackend) {
    let t = spawn_app(backend).await;
    register(&t, &["C", "R1", "R2", "R3", "R4", "R5", "GONE"]).await;
    t.client
        .remove_receiver(&RemoveReceiver {
            receiver_id: receiver("GONE"),
        })
        .await
        .unwrap();
    let before = counts(&t).await;
    let six = (1..=5)
        .map(|i| format!(r#"{{"receiver_id":"R{i}","amount":"1.00"}}"#))
        .chain([r#"{"receiver_id":"C","amount":"1.00"}"#.to_owned()])
        .collect::<Vec<_>>()
        .join(",");
    let cases: Vec<Refusal> = vec![
        (
            "BAD-1",
            "not json".into(),
            None,
            "1001",
            Some("split_rules"),
        ),
        ("BAD-2", "[]".into(), None, "1001", Some("split_rules")),
        (
            "BAD-3",
            r#"[{"receiver_id":"C","amount":"0"}]"#.into(),
            None,
            "1001",
            Some("split_rules"),
        ),
        (
            "BAD-4",
            r#"[{"receiver_id":"C","amount":"1.00"},{"receiver_id":"C","amount":"2.00"}]"#.into(),
            None,
            "1001",
            Some("split_rules"),
        ),
        (
            "BAD-5",
            r#"[{"receiver_id":"C","amount":"1.00"}]"#.into(),
            Some("later"),
            "1001",
            Some("split_mode"),
        ),
        (
            "BAD-6",
            r#"[{"receiver_id":"NOBODY","amount":"1.00"}]"#.into(),
            None,
            "1014",
            None,
        ),
        (
            "BAD-7",
            r#"[{"receiver_id":"GONE","amount":"1.00"}]"#.into(),
            None,
            "1014",
            None,
        ),
        ("BAD-8", format!("[{six}]"), None, "1014", None),
        // 100.00 less the 0.60 fee leaves 99.40.
        (
            "BAD-9",
            r#"[{"receiver_id":"C","amount":"99.41"}]"#.into(),
            None,
            "1015",
            None,
        ),
    ];
    for (number, text, mode, code, field) in cases {
        let fields = with_rules(number, "100.00", &text, mode);
        let answer = t
            .client
            .call_raw(paths::CREATE, fields.into_iter().collect())
            .await
            .expect("an answer");
        match field {
            Some(field) => assert_eq!(assert_param_error(&answer), field, "{number}"),
            None => {
                assert_raw_error(&answer, code);
            }
        }
        assert_eq!(counts(&t).await, before, "{number} wrote nothing");
    }
    let mut alone = create_fields("BAD-10", "100.00");
    alone.insert("split_mode".into(), "immediate".into());
    let answer = t.client.call_raw(paths::CREATE, alone).await.unwrap();
    assert_eq!(assert_param_error(&answer), "split_mode");
    assert_eq!(counts(&t).await, before);

    // At the bound: the whole of total less fee is accepted.
    let fields = with_rules(
        "GOOD-1",
        "100.00",
        r#"[{"receiver_id":"C","amount":"99.40"}]"#,
        None,
    );
    let answer = t
        .client
        .call_raw(paths::CREATE, fields.into_iter().collect())
        .await
        .unwrap();
    assert_eq!(answer.1["code"], "SUCCESS", "{:?}", answer.1);
    assert_eq!(answer.1["split_status"], "PENDING");
    assert_eq!(answer.1["split_mode"], "immediate");
    assert_eq!(count_rows(&t, "orders").await, before[0] + 1);
    assert_eq!(count_rows(&t, "order_split_rules").await, before[2] + 1);
    t.stop().await;
}
both_databases!(invalid_rules_are_refused_at_create_and_write_nothing);

async fn a_retried_create_must_send_the_same_rules(backend: DbBackend) {
    let t = spawn_app(backend).await;
    register(&t, &["C", "D"]).await;
    let create = CreateOrder {
        split: Some(rules(SplitMode::Immediate, &[("C", "5.00")])),
        ..unpaid_order("RETRY-1", "10.00")
    };
    let first = t.client.create_order(&create).await.unwrap();
    let again = t.client.create_order(&create).await.unwrap();
    assert_eq!(again.trade_no, first.trade_no);
    assert_eq!(again.split, first.split);
    let before = counts(&t).await;
    for (changed, field) in [
        (
            Some(rules(SplitMode::Immediate, &[("C", "5.01")])),
            "split_rules",
        ),
        (
            Some(rules(SplitMode::Immediate, &[("D", "5.00")])),
            "split_rules",
        ),
        (None, "split_rules"),
        (
            Some(rules(SplitMode::OnFinish, &[("C", "5.00")])),
            "split_mode",
        ),
    ] {
        let changed = CreateOrder {
            split: changed,
            ..create.clone()
        };
        assert_api_error(t.client.create_order(&changed).await, "1004");
        let raw = t
            .client
            .call_raw(paths::CREATE, changed.to_fields())
            .await
            .unwrap();
        assert_raw_error(&raw, "1004");
        assert_eq!(raw.1["error_field"], field);
    }
    assert_eq!(counts(&t).await, before);
    // Without rules, a retry of an order without rules still answers it.
    let plain = unpaid_order("RETRY-2", "10.00");
    let a = t.client.create_order(&plain).await.unwrap();
    assert_eq!(
        t.client.create_order(&plain).await.unwrap().trade_no,
        a.trade_no
    );
    assert!(a.split.is_none());
    t.stop().await;
}
both_databases!(a_retried_create_must_send_the_same_rules);

async fn on_finish_rules_wait_for_the_finish(backend: DbBackend) {
    let t = fee_free_app(backend).await;
    register(&t, &["C", "D"]).await;
    let split = rules(SplitMode::OnFinish, &[("C", "30.00")]);
    let trade_no = paid_with_rules(&t, "RULES-FIN", "100.00", split).await;
    assert_eq!(step(&t.app).await, Outcome::Idle, "on_finish rules wait");
    assert_eq!(receiver_fen(&t, "C").await, 0);

    // The merchant may still share by API meanwhile.
    let manual = ApplySplit {
        order: OrderRef::TradeNo(trade_no.clone()),
        out_split_no: OutSplitNo::parse("MANUAL-1").unwrap(),
        receivers: vec![paygate_client::split::ShareRequest {
            receiver_id: receiver("D"),
            amount: yuan("10.00"),
        }],
        return_policy: None,
    };
    t.client.apply_split(&manual).await.expect("a manual share");
    assert_eq!(receiver_fen(&t, "D").await, 10_00);
    assert_eq!(
        split_status(&t, &trade_no).await,
        (AutoSplitStatus::Pending, None)
    );

    let finished = t
        .client
        .finish_split(&FinishSplit {
            order: OrderRef::TradeNo(trade_no.clone()),
            out_split_no: OutSplitNo::parse("FIN-1").unwrap(),
        })
        .await
        .expect("finish");
    assert_eq!(finished.kind, SplitKind::Finish);
    assert_eq!(receiver_fen(&t, "C").await, 30_00);
    assert_eq!(receiver_fen(&t, "D").await, 10_00);
    assert_eq!(pending_fen(&t).await, 60_00);
    assert_eq!(
        split_status(&t, &trade_no).await,
        (AutoSplitStatus::Done, None)
    );
    assert_eq!(
        count_rows(&t, "splits").await,
        3,
        "manual, automatic, finish"
    );
    // Sharing has ended: a later share is refused and the step has nothing to do.
    let later = ApplySplit {
        out_split_no: OutSplitNo::parse("MANUAL-2").unwrap(),
        ..manual
    };
    assert_api_error(t.client.apply_split(&later).await, "1016");
    assert_eq!(step(&t.app).await, Outcome::Idle);
    assert_books_balance(t.store()).await;
    t.stop().await;
}
both_databases!(on_finish_rules_wait_for_the_finish);

async fn rules_that_can_no_longer_apply_fail_with_their_reason(backend: DbBackend) {
    let t = fee_free_app(backend).await;
    register(&t, &["C"]).await;
    // A receiver removed between the create and the payment: nothing moves.
    let created = t
        .client
        .create_order(&CreateOrder {
            split: Some(rules(SplitMode::Immediate, &[("C", "20.00")])),
            ..unpaid_order("RULES-GONE", "100.00")
        })
        .await
        .unwrap();
    let removed = created.trade_no;
    t.client
        .remove_receiver(&RemoveReceiver {
            receiver_id: receiver("C"),
        })
        .await
        .unwrap();
    let order = t.store().get_order(&removed).await.unwrap().unwrap();
    let paid = TradeState::Paid {
        channel_trade_no: "CH-GONE".into(),
        paid_at_ms: 0,
    };
    let order = t
        .app
        .settle(order, paid)
        .await
        .expect("the channel reports payment");
    assert_eq!(order.status, OrderStatus::Success);
    let entries = count_rows(&t, "ledger_entries").await;
    assert_eq!(step(&t.app).await, Outcome::DidWork(1));
    assert_eq!(
        split_status(&t, &removed).await,
        (
            AutoSplitStatus::Failed,
            Some("receiver C is not registered".into())
        )
    );
    assert_eq!(receiver_fen(&t, "C").await, 0);
    assert_eq!(pending_fen(&t).await, 100_00);
    assert_eq!(count_rows(&t, "splits").await, 0);
    assert_eq!(count_rows(&t, "ledger_entries").await, entries);
    assert_eq!(step(&t.app).await, Outcome::Idle, "a failure is final");

    // A refund before the step left too little to share.
    register(&t, &["C"]).await;
    let refunded = paid_with_rules(
        &t,
        "RULES-REFUND",
        "100.00",
        rules(SplitMode::Immediate, &[("C", "50.00")]),
    )
    .await;
    t.client
        .refund(&refund_of(&refunded, "RULES-REFUND-R", "60.00"))
        .await
        .expect("refund 60.00");
    assert_eq!(step(&t.app).await, Outcome::DidWork(1));
    assert_eq!(
        split_status(&t, &refunded).await,
        (
            AutoSplitStatus::Failed,
            Some("share exceeds the shareable amount 40.00".into())
        )
    );
    assert_eq!(receiver_fen(&t, "C").await, 0);

    // An order closed unpaid never shares.
    let unpaid = t
        .client
        .create_order(&CreateOrder {
            split: Some(rules(SplitMode::Immediate, &[("C", "1.00")])),
            ..unpaid_order("RULES-CLOSED", "10.00")
        })
        .await
        .unwrap();
    assert_eq!(step(&t.app).await, Outcome::Idle, "an unpaid order waits");
    t.client
        .close_order(&CloseOrder::from(OrderRef::TradeNo(
            unpaid.trade_no.clone(),
        )))
        .await
        .unwrap();
    assert_eq!(step(&t.app).await, Outcome::DidWork(1));
    assert_eq!(
        split_status(&t, &unpaid.trade_no).await,
        (
            AutoSplitStatus::Failed,
            Some("order is CLOSED and cannot be shared".into())
        )
    );
    assert_eq!(count_rows(&t, "splits").await, 0);
    assert_books_balance(t.store()).await;
    t.stop().await;
}
both_databases!(rules_that_can_no_longer_apply_fail_with_their_reason);

/// A second process over the test app's database, as after a crash and restart.
async fn another_process(t: &TestApp) -> App {
    let store = Store::connect(&t.db.url, &StoreOptions::default())
        .await
        .expect("connect");
    App::new(
        store,
        t.master_key.clone(),
        AppSettings::default(),
        Arc::new(SystemClock),
    )
    .await
    .expect("start")
}

async fn rules_survive_a_crash_after_payment_and_share_once(backend: DbBackend) {
    let t = fee_free_app(backend).await;
    register(&t, &["C"]).await;
    // The payment commits; the process that took it never runs the step.
    let trade_no = paid_with_rules(
        &t,
        "RULES-CRASH",
        "80.00",
        rules(SplitMode::Immediate, &[("C", "12.34")]),
    )
    .await;
    let restarted = another_process(&t).await;
    assert_eq!(step(&restarted).await, Outcome::DidWork(1));
    assert_eq!(step(&t.app).await, Outcome::Idle);
    assert_eq!(step(&restarted).await, Outcome::Idle);
    assert_eq!(receiver_fen(&t, "C").await, 12_34);
    assert_eq!(pending_fen(&t).await, 67_66);
    assert_eq!(count_rows(&t, "splits").await, 1);
    assert_eq!(
        split_status(&t, &trade_no).await,
        (AutoSplitStatus::Done, None)
    );
    assert_books_balance(t.store()).await;
    t.stop().await;
}
both_databases!(rules_survive_a_crash_after_payment_and_share_once);

async fn merchants_may_not_use_the_automatic_split_numbers(backend: DbBackend) {
    let t = fee_free_app(backend).await;
    register(&t, &["C"]).await;
    let trade_no = paid_with_rules(
        &t,
        "RULES-OWN",
        "10.00",
        rules(SplitMode::OnFinish, &[("C", "1.00")]),
    )
    .await;
    let taken = ApplySplit {
        order: OrderRef::TradeNo(trade_no.clone()),
        out_split_no: auto_no(&trade_no),
        receivers: vec![paygate_client::split::ShareRequest {
            receiver_id: receiver("C"),
            amount: yuan("2.00"),
        }],
        return_policy: None,
    };
    assert_api_error(t.client.apply_split(&taken).await, "1001");
    assert_eq!(count_rows(&t, "splits").await, 0);
    t.stop().await;
}
both_databases!(merchants_may_not_use_the_automatic_split_numbers);
