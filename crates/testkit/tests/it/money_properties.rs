//! Issue #11, acceptance 1: for random sequences of payments, partial refunds, shares, share
//! returns, payouts (paid, refused by the bank, returned by the bank later) and settlements,
//! through the merchant API of a `platform`-mode merchant, after every step
//! (b) all accounts sum to zero and (c) no merchant or receiver balance is negative, and at the
//! end (a) every account's balance equals the sum of its statement lines and (d) no order has
//! refunded + shared-not-returned above what was paid. Each sequence runs on a fresh app; the
//! sequences come from a fixed seed, so a failure names a sequence that replays.

use crate::day_in_the_life::assert_statements_add_up;
use crate::support::wallet_order;
use paygate_app::jobs::{poll_step, JobSettings};
use paygate_app::{AppSettings, Clock, ManualClock};
use paygate_client::split::{AddReceiver, ApplySplit, QuerySplit, ReturnSplit, ShareRequest};
use paygate_client::{ClientError, CreatePayout, OrderRef, Refund};
use paygate_domain::merchant_money::{
    MerchantCategory, MerchantMoney, SettlementCycle, SettlementMode,
};
use paygate_domain::payout::{BankCard, Payee};
use paygate_domain::settlement::BusinessDate;
use paygate_domain::split::{ReceiverId, ReceiverType};
use paygate_domain::{
    Amount, Currency, Money, OutPayoutNo, OutRefundNo, OutReturnNo, OutSplitNo, TradeNo,
};
use paygate_testkit::{both_databases, spawn_app_with, DbBackend, TestApp, TestOptions};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::sync::Arc;

const RECEIVERS: [&str; 2] = ["RA", "RB"];
const SEQUENCES: usize = 16;

#[derive(Debug, Clone)]
enum Op {
    Pay {
        fen: i64,
    },
    Refund {
        order: usize,
        permille: i64,
    },
    Share {
        order: usize,
        receiver: usize,
        permille: i64,
    },
    Return {
        split: usize,
        permille: i64,
    },
    Payout {
        fen: i64,
        card: Card,
    },
    /// Time passes (seconds) and the poller asks the bank about payouts in flight.
    Poll {
        secs: i64,
    },
    Settle,
}

#[derive(Debug, Clone, Copy)]
enum Card {
    Wallet,
    Paid,
    Closed,
    ReturnedLater,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1i64..50_000).prop_map(|fen| Op::Pay { fen }),
        3 => (0usize..8, 1i64..=1000).prop_map(|(order, permille)| Op::Refund { order, permille }),
        3 => (0usize..8, 0usize..2, 1i64..=600)
            .prop_map(|(order, receiver, permille)| Op::Share { order, receiver, permille }),
        1 => (0usize..6, 1i64..=1000).prop_map(|(split, permille)| Op::Return { split, permille }),
        2 => (1i64..30_000, prop_oneof![
                Just(Card::Wallet), Just(Card::Paid), Just(Card::Closed), Just(Card::ReturnedLater)
            ]).prop_map(|(fen, card)| Op::Payout { fen, card }),
        1 => prop_oneof![Just(10i64), Just(3_700)].prop_map(|secs| Op::Poll { secs }),
        1 => Just(Op::Settle),
    ]
}

fn sequences() -> Vec<Vec<Op>> {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &[11; 32]),
    );
    let strategy = prop::collection::vec(op(), 5..40);
    (0..SEQUENCES)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect()
}

fn money(minor: i64) -> Money {
    Money::new(Amount::from_minor(minor).unwrap(), Currency::Cny)
}

/// Refusals a random step may meet (insufficient balance, over the shareable amount, an order
/// not refundable...); anything else is a failure.
fn refused_as_expected(result: Result<impl std::fmt::Debug, ClientError>) -> bool {
    if let Err(error) = result {
        let ClientError::Api { error_code, .. } = &error else {
            panic!("unexpected failure: {error:?}");
        };
        assert!(
            ["1004", "1005", "1007", "1015", "1016"].contains(&error_code.as_str()),
            "unexpected refusal: {error:?}"
        );
        return false;
    }
    true
}

struct World {
    t: TestApp,
    clock: Arc<ManualClock>,
    orders: Vec<(TradeNo, i64)>,
    splits: Vec<(String, usize)>,
    settlements: u32,
    n: usize,
    /// How many steps of each kind went through, so the test shows it exercised each.
    done: std::collections::BTreeMap<&'static str, usize>,
}

impl World {
    fn count(&mut self, kind: &'static str, went_through: bool) {
        if went_through {
            *self.done.entry(kind).or_default() += 1;
        }
    }

    fn number(&mut self, prefix: &str) -> String {
        self.n += 1;
        format!("{prefix}-{:06}", self.n)
    }

    async fn step(&mut self, op: &Op) {
        match *op {
            Op::Pay { fen } => {
                let code = self.t.pay_code("payer").await;
                let number = self.number("P");
                let order = self
                    .t
                    .client
                    .create_order(&wallet_order(&number, &money(fen).to_major_string(), &code))
                    .await
                    .expect("a wallet payment");
                self.orders.push((order.trade_no, fen));
                self.count("pay", true);
            }
            Op::Refund { order, permille } => {
                let Some((trade_no, paid)) = self.orders.get(order).cloned() else {
                    return;
                };
                let number = self.number("R");
                let result = self
                    .t
                    .client
                    .refund(&Refund {
                        order: OrderRef::TradeNo(trade_no),
                        out_refund_no: OutRefundNo::parse(&number).unwrap(),
                        refund_amount: money((paid * permille / 1000).max(1)),
                        refund_reason: "property".into(),
                    })
                    .await;
                self.count("refund", refused_as_expected(result));
            }
            Op::Share {
                order,
                receiver,
                permille,
            } => {
                let Some((trade_no, paid)) = self.orders.get(order).cloned() else {
                    return;
                };
                let number = self.number("S");
                let result = self
                    .t
                    .client
                    .apply_split(&ApplySplit {
                        order: OrderRef::TradeNo(trade_no),
                        out_split_no: OutSplitNo::parse(&number).unwrap(),
                        receivers: vec![ShareRequest {
                            receiver_id: ReceiverId::parse(RECEIVERS[receiver]).unwrap(),
                            amount: money((paid * permille / 1000).max(1)),
                        }],
                        return_policy: None,
                    })
                    .await;
                if result.is_ok() {
                    self.splits.push((number, receiver));
                }
                self.count("share", refused_as_expected(result));
            }
            Op::Return { split, permille } => {
                let Some((out_split_no, receiver)) = self.splits.get(split).cloned() else {
                    return;
                };
                let view = self
                    .t
                    .client
                    .query_split(&QuerySplit {
                        out_split_no: OutSplitNo::parse(&out_split_no).unwrap(),
                    })
                    .await
                    .unwrap();
                let share = &view.receivers[0];
                let held = share.amount.amount.minor() - share.returned_amount.amount.minor();
                let number = self.number("B");
                let result = self
                    .t
                    .client
                    .return_split(&ReturnSplit {
                        out_return_no: OutReturnNo::parse(&number).unwrap(),
                        out_split_no: OutSplitNo::parse(&out_split_no).unwrap(),
                        receiver_id: ReceiverId::parse(RECEIVERS[receiver]).unwrap(),
                        amount: money((held * permille / 1000).max(1)),
                    })
                    .await;
                self.count("return", refused_as_expected(result));
            }
            Op::Payout { fen, card } => {
                let payee = match card {
                    Card::Wallet => Payee::Wallet(self.t.fund_wallet("supplier", "0.01").await),
                    Card::Paid => bank("6222020200112233"),
                    Card::Closed => bank("6222020200110000"),
                    Card::ReturnedLater => bank("6222020200119999"),
                };
                let number = self.number("D");
                let result = self
                    .t
                    .client
                    .create_payout(&CreatePayout {
                        out_payout_no: OutPayoutNo::parse(&number).unwrap(),
                        money: money(fen),
                        payee,
                        remark: None,
                        notify_url: Some("https://merchant.example.com/payouts".into()),
                    })
                    .await;
                self.count("payout", refused_as_expected(result));
            }
            Op::Poll { secs } => {
                self.clock.advance_ms(secs * 1000);
                for _ in 0..3 {
                    poll_step(&self.t.app, &JobSettings::default())
                        .await
                        .unwrap();
                }
            }
            Op::Settle => {
                // Each run is a later business day, so each settles what is pending now.
                self.settlements += 1;
                let day = chrono::DateTime::from_timestamp_millis(self.clock.now_ms()).unwrap()
                    + chrono::Duration::hours(8)
                    + chrono::Duration::days(i64::from(self.settlements));
                let date = BusinessDate::parse(&day.format("%Y-%m-%d").to_string()).unwrap();
                let report = self.t.app.run_settlement_day(date).await.unwrap();
                assert_eq!(report.failed, 0);
                self.count("settle", report.settled > 0);
            }
        }
    }
}

fn bank(card: &str) -> Payee {
    Payee::BankCard(BankCard::parse(card, "Li Si", "CMB").unwrap())
}

/// (b) and (c): the books sum to zero and nobody we owe is owed less than nothing.
async fn assert_invariants(t: &TestApp, after: &Op) {
    for (currency, net) in t.store().ledger_imbalance().await.unwrap() {
        assert_eq!(net, 0, "{currency} after {after:?}");
    }
    for account in t.store().ledger_balances(None).await.unwrap() {
        if account.account.must_not_go_negative() {
            assert!(
                account.balance >= 0,
                "{} = {} after {after:?}",
                account.account,
                account.balance
            );
        }
    }
}

/// (d): per order, refunded + shared and not returned never exceeds what was paid.
async fn assert_no_order_overspent(world: &World) {
    for (trade_no, paid) in &world.orders {
        let order = crate::support::query_order(&world.t, trade_no).await;
        let refunded = order.refunded_amount.map_or(0, |m| m.amount.minor());
        let mut held = 0;
        for (out_split_no, _) in &world.splits {
            let view = world
                .t
                .client
                .query_split(&QuerySplit {
                    out_split_no: OutSplitNo::parse(out_split_no).unwrap(),
                })
                .await
                .unwrap();
            if &view.trade_no == trade_no {
                held += view
                    .receivers
                    .iter()
                    .map(|r| r.amount.amount.minor() - r.returned_amount.amount.minor())
                    .sum::<i64>();
            }
        }
        assert!(
            refunded + held <= *paid,
            "{trade_no}: {refunded} + {held} > {paid}"
        );
    }
}

async fn random_money_movements_keep_the_books(backend: DbBackend) {
    let mut done: std::collections::BTreeMap<&'static str, usize> = Default::default();
    let mut payout_endings: std::collections::BTreeMap<String, usize> = Default::default();
    for (i, ops) in sequences().into_iter().enumerate() {
        let (mut options, clock) = TestOptions::with_manual_clock();
        options.settings = AppSettings {
            // The test moves the gateway's clock ahead of the client's by up to hours.
            timestamp_window_secs: 2 * 86_400,
            ..AppSettings::default()
        };
        let t = spawn_app_with(backend, options).await;
        let settings = MerchantMoney {
            settlement_mode: SettlementMode::Platform,
            cycle: SettlementCycle::Auto {
                days: 1,
                minimum: Amount::ZERO,
            },
            ..MerchantMoney::for_category(MerchantCategory::PhysicalGoods)
        };
        t.store()
            .set_merchant_money(t.merchant_id(), &settings, 0)
            .await
            .unwrap();
        for receiver in RECEIVERS {
            t.client
                .add_receiver(&AddReceiver {
                    receiver_id: ReceiverId::parse(receiver).unwrap(),
                    receiver_type: ReceiverType::Personal,
                    name: receiver.into(),
                    relation: "PARTNER".into(),
                })
                .await
                .unwrap();
        }
        t.fund_wallet("payer", "100000.00").await;
        let mut world = World {
            t,
            clock,
            orders: Vec::new(),
            splits: Vec::new(),
            settlements: 0,
            n: 0,
            done: Default::default(),
        };
        eprintln!("sequence {i}: {ops:?}");
        for op in &ops {
            world.step(op).await;
            assert_invariants(&world.t, op).await;
        }
        assert_statements_add_up(&world.t).await;
        assert_no_order_overspent(&world).await;
        for (kind, n) in &world.done {
            *done.entry(kind).or_default() += n;
        }
        for account in world.t.store().ledger_balances(None).await.unwrap() {
            for line in world
                .t
                .store()
                .account_statement(&account.account, Currency::Cny, 0, 10_000)
                .await
                .unwrap()
            {
                *payout_endings.entry(line.kind.to_string()).or_default() += 1;
            }
        }
        world.t.stop().await;
    }
    // Every kind of step went through somewhere, and payouts ended every way a bank ends them.
    for kind in ["pay", "refund", "share", "return", "payout", "settle"] {
        assert!(
            done.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} went through: {done:?}"
        );
    }
    for kind in [
        "payout",
        "payout_release",
        "payout_returned",
        "share_return",
        "settlement",
    ] {
        assert!(
            payout_endings.contains_key(kind),
            "no {kind} entry: {payout_endings:?}"
        );
    }
}
both_databases!(random_money_movements_keep_the_books);
