//! The delivery pipeline (issue #12): a slow merchant host keeps only its own few slots while
//! the others are notified as fast as ever, a host with no room is left out of a claim instead
//! of being claimed and written back, and many outcomes are recorded in one commit that still
//! records each attempt once and only for the lease holder.

use crate::support::{wallet_order, yuan};
use paygate_app::notify::{Notifier, NotifierSettings};
use paygate_app::Clock;
use paygate_client::CreateOrder;
use paygate_domain::schedule::{url_host, NotificationStatus};
use paygate_domain::{OrderStatus, OutTradeNo, TradeNo};
use paygate_store::{AttemptOutcome, AttemptRecord, AttemptVerdict, NotificationRecord};
use paygate_testkit::{both_databases, spawn_app, Answer, DbBackend, MerchantServer, TestApp};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Alice pays 1.00 for an order that notifies `notify_url`.
async fn paid_order(t: &TestApp, number: &str, notify_url: &str) -> TradeNo {
    let mut create = CreateOrder::new(
        OutTradeNo::parse(number).unwrap(),
        yuan("1.00"),
        "green tea",
        notify_url,
    );
    create.auth_code = Some(t.pay_code("alice").await.into());
    let order = t.client.create_order(&create).await.unwrap();
    assert_eq!(order.trade_status, OrderStatus::Success);
    order.trade_no
}

async fn notification_of(t: &TestApp, trade_no: &TradeNo) -> NotificationRecord {
    let mut all = t.store().notifications_for_trade(trade_no).await.unwrap();
    assert_eq!(all.len(), 1);
    all.remove(0)
}

async fn until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..300 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting until {what}");
}

async fn a_merchant_answering_in_eight_seconds_delays_no_other(backend: DbBackend) {
    let t = spawn_app(backend).await;
    t.fund_wallet("alice", "1000.00").await;
    let slow = MerchantServer::start().await;
    slow.answer_always(Answer::Slow(Duration::from_secs(8)));
    let fast = MerchantServer::start().await;
    for i in 0..20 {
        paid_order(&t, &format!("S{i}"), &slow.url).await;
    }
    let notifier = Notifier::new(t.app.clone(), NotifierSettings::default()).unwrap();
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(notifier.clone().run(shutdown.clone()));
    until("the slow host has its first four", || {
        slow.received().len() == 4
    })
    .await;

    let mut fast_trades = Vec::new();
    for i in 0..20 {
        fast_trades.push(paid_order(&t, &format!("F{i}"), &fast.url).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    until("every fast notification arrived", || {
        fast.received().len() == 20
    })
    .await;
    for (body, arrived_at) in fast.arrivals() {
        let trade_no = TradeNo::parse(body["trade_no"].as_str().unwrap()).unwrap();
        let lag = arrived_at - notification_of(&t, &trade_no).await.created_at;
        assert!(
            lag < 1_000,
            "{trade_no} took {lag} ms while the slow host was busy"
        );
    }
    assert_eq!(
        slow.received().len(),
        4,
        "the slow host got no more than its initial slots in its first 8 s"
    );

    let slow_host = url_host(&slow.url);
    until("the slow host's first answers came", || {
        notifier.host_limit(slow_host) != Some(4)
    })
    .await;
    assert_eq!(
        notifier.host_limit(slow_host),
        Some(2),
        "slow answers halve the host's slots, once for the round"
    );
    assert_eq!(
        notifier.host_limit(url_host(&fast.url)),
        Some(7),
        "a fast host earns a slot per window of fast answers: 4+5+6 answers, then 5 of 7"
    );

    shutdown.cancel();
    running.await.unwrap();
    for trade_no in &fast_trades {
        let n = notification_of(&t, trade_no).await;
        assert_eq!(n.status, NotificationStatus::Delivered);
        let attempts = t.store().notification_attempts(n.id).await.unwrap();
        assert_eq!(attempts.len(), 1, "one attempt, recorded once");
    }
    t.stop().await;
}
both_databases!(a_merchant_answering_in_eight_seconds_delays_no_other);

async fn a_host_with_no_room_is_left_out_of_a_claim_untouched(backend: DbBackend) {
    let t = spawn_app(backend).await;
    t.fund_wallet("alice", "1000.00").await;
    let busy = MerchantServer::start().await;
    let free = MerchantServer::start().await;
    let busy_trade = paid_order(&t, "B1", &busy.url).await;
    let free_trade = paid_order(&t, "F1", &free.url).await;
    let before = notification_of(&t, &busy_trade).await;
    let now = paygate_app::SystemClock.now_ms();

    let store = t.store();
    let busy_hosts = [url_host(&busy.url).to_owned()];
    let claimed = store
        .claim_due_notifications("w1", now, 60_000, 10, &busy_hosts)
        .await
        .unwrap();
    let trades: Vec<_> = claimed.iter().map(|n| n.trade_no.clone()).collect();
    assert_eq!(trades, std::slice::from_ref(&free_trade));
    assert_eq!(
        notification_of(&t, &busy_trade).await,
        before,
        "not written"
    );

    // What a worker gives back is due as before, for anyone.
    assert_eq!(
        store
            .release_notifications("w1", &[claimed[0].id])
            .await
            .unwrap(),
        1
    );
    let again = store
        .claim_due_notifications("w2", now, 60_000, 10, &[])
        .await
        .unwrap();
    let mut trades: Vec<_> = again.iter().map(|n| n.trade_no.clone()).collect();
    trades.sort();
    let mut expected = vec![busy_trade, free_trade];
    expected.sort();
    assert_eq!(trades, expected);
    assert!(again
        .iter()
        .all(|n| n.attempts == 0 && n.next_attempt_at <= now));
    t.stop().await;
}
both_databases!(a_host_with_no_room_is_left_out_of_a_claim_untouched);

fn delivered(notification: &NotificationRecord, worker: &str, at: i64) -> AttemptOutcome {
    AttemptOutcome {
        notification_id: notification.id,
        attempt: AttemptRecord {
            attempt_no: notification.attempts + 1,
            at,
            http_status: Some(200),
            latency_ms: 3,
            outcome: "delivered".into(),
            response_excerpt: Some("success".into()),
            worker: worker.into(),
        },
        verdict: AttemptVerdict::Delivered,
    }
}

async fn a_batch_records_each_attempt_once_and_only_for_the_lease_holder(backend: DbBackend) {
    let t = spawn_app(backend).await;
    t.fund_wallet("alice", "1000.00").await;
    let mut trades = Vec::new();
    for i in 0..3 {
        let code = t.pay_code("alice").await;
        let order = t
            .client
            .create_order(&wallet_order(&format!("R{i}"), "1.00", &code))
            .await
            .unwrap();
        trades.push(order.trade_no);
    }
    let store = t.store();
    let now = paygate_app::SystemClock.now_ms();
    let mine = store
        .claim_due_notifications("w1", now, 1_000, 10, &[])
        .await
        .unwrap();
    assert_eq!(mine.len(), 3);
    // The lease on all three runs out; w2 claims them and records the second one first.
    let theirs = store
        .claim_due_notifications("w2", now + 2_000, 60_000, 1, &[])
        .await
        .unwrap();
    assert_eq!(theirs.len(), 1);
    let taken = &theirs[0];
    assert_eq!(
        store
            .record_notification_attempts("w2", &[delivered(taken, "w2", now + 2_100)])
            .await
            .unwrap(),
        [true]
    );

    let batch: Vec<_> = mine
        .iter()
        .map(|n| delivered(n, "w1", now + 2_200))
        .collect();
    let recorded = store
        .record_notification_attempts("w1", &batch)
        .await
        .unwrap();
    let expected: Vec<bool> = mine.iter().map(|n| n.id != taken.id).collect();
    assert_eq!(recorded, expected, "w1 lost the lease on the one w2 took");
    for n in &mine {
        let attempts = store.notification_attempts(n.id).await.unwrap();
        let workers: Vec<_> = attempts.iter().map(|a| a.worker.as_str()).collect();
        let by = if n.id == taken.id { "w2" } else { "w1" };
        assert_eq!(workers, [by], "one attempt, recorded by its lease holder");
        let now_n = store.get_notification(n.id).await.unwrap().unwrap();
        assert_eq!(now_n.status, NotificationStatus::Delivered);
        assert_eq!(now_n.attempts, 1);
    }
    // The same batch again records nothing: every attempt 1 is taken.
    let again = store
        .record_notification_attempts("w1", &batch)
        .await
        .unwrap();
    assert_eq!(again, [false, false, false]);
    assert_eq!(store.count_rows("notification_attempts").await.unwrap(), 3);
    t.stop().await;
}
both_databases!(a_batch_records_each_attempt_once_and_only_for_the_lease_holder);

/// A state change this process writes wakes its notifier at once: with an idle pause of a
/// minute, the merchant still hears of the payment within seconds.
async fn a_payment_made_here_is_delivered_without_waiting_for_the_next_poll(backend: DbBackend) {
    let t = spawn_app(backend).await;
    t.fund_wallet("alice", "1000.00").await;
    let merchant = MerchantServer::start().await;
    let settings = NotifierSettings {
        idle_pause_ms: 60_000,
        ..NotifierSettings::default()
    };
    let notifier = Notifier::new(t.app.clone(), settings).unwrap();
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(notifier.run(shutdown.clone()));
    // The notifier's first claim finds nothing and it settles into its minute-long pause.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(merchant.received().is_empty());

    let trade_no = paid_order(&t, "WAKE-1", &merchant.url).await;
    until("the payment's notification arrived", || {
        merchant.received().len() == 1
    })
    .await;
    assert_eq!(merchant.received()[0]["trade_no"], trade_no.as_str());
    shutdown.cancel();
    running.await.unwrap();
    t.stop().await;
}
both_databases!(a_payment_made_here_is_delivered_without_waiting_for_the_next_poll);
