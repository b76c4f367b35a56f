//! Issue #11, acceptance 5: a day in the life of a `platform`-mode merchant. It takes 1,000
//! payments across WeChat Pay, Alipay, UnionPay (their sandboxes) and the platform wallet,
//! shares some, refunds some (fully and partly, some after sharing), settles the day, withdraws,
//! pays suppliers out (to a wallet, and to bank cards still in flight), and then every account of the ledger is reconciled to the fen: each account's balance
//! against the sum of its statement lines, and against what the orders, refunds and shares say
//! independently of the ledger.

use crate::support::{fen, out_refund_no, query_order, refund_of};
use paygate_api::QueryBalance;
use paygate_app::settlement::Withdraw;
use paygate_client::split::{AddReceiver, ApplySplit, QuerySplit, ShareRequest};
use paygate_client::{CreatePayout, OrderRef, QueryRefund};
use paygate_domain::fee::FeeRate;
use paygate_domain::ledger::{Account, LedgerName};
use paygate_domain::merchant_money::{
    MerchantCategory, MerchantMoney, SettlementCycle, SettlementMode,
};
use paygate_domain::payout::{BankCard, Payee, PayoutStatus};
use paygate_domain::settlement::BusinessDate;
use paygate_domain::split::{ReceiverId, ReceiverType};
use paygate_domain::{
    Amount, Currency, Money, OrderStatus, OutPayoutNo, OutSplitNo, OutWithdrawNo, PayType,
    RefundStatus, TradeNo,
};
use paygate_sandbox::{AlipaySandboxConfig, UnionpaySandboxConfig, WechatSandboxConfig};
use paygate_testkit::{both_databases, spawn_app_with, DbBackend, TestApp, TestOptions};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;

const PAYMENTS: usize = 1_000;
const RECEIVERS: [&str; 3] = ["R1", "R2", "R3"];

fn money(minor: i64) -> Money {
    Money::new(fen(minor), Currency::Cny)
}

/// The i-th payment's amount: spread from 0.01 to 999.99 yuan, deterministic.
fn amount_of(i: usize) -> i64 {
    (i as i64 * 7_919 + 13) % 99_999 + 1
}

/// The i-th payment's pay code, cycling through the four wallets' code formats.
fn code_of(wallet_codes: &mut Vec<String>, i: usize) -> String {
    match i % 4 {
        0 => format!("13{:016}", i),
        1 => format!("28{:014}", i),
        2 => format!("62{:017}", i),
        _ => wallet_codes
            .pop()
            .expect("a wallet pay code per wallet payment"),
    }
}

fn channel_of(pay_type: PayType) -> &'static str {
    match pay_type {
        PayType::WechatMicropay => "wechat",
        PayType::AlipayMicropay => "alipay",
        PayType::UnionpayMicropay => "unionpay",
        PayType::Wallet => "wallet",
        other => panic!("unexpected pay type {other}"),
    }
}

/// The channels' cost rates the app is configured with by default (`[fees]`).
fn channel_rate(channel: &str) -> FeeRate {
    let ppm = match channel {
        "wechat" | "alipay" => 6_000,
        "unionpay" => 5_000,
        _ => 0,
    };
    FeeRate::from_ppm(ppm).unwrap()
}

fn name(channel: &str) -> LedgerName {
    LedgerName::parse(channel).unwrap()
}

struct Paid {
    trade_no: TradeNo,
    amount: i64,
    channel: &'static str,
}

async fn pay(t: &TestApp, i: usize, code: &str) -> Paid {
    let mut fields = Map::new();
    for (k, v) in [
        ("out_trade_no", json!(format!("DAY-{i:04}"))),
        (
            "total_amount",
            json!(fen(amount_of(i)).to_major_string(Currency::Cny)),
        ),
        ("subject", json!("day in the life")),
        ("notify_url", json!("https://merchant.example.com/notify")),
        ("pay_type", json!("auto")),
        ("scene", json!("micropay")),
        ("auth_code", json!(code)),
        ("client_ip", json!("198.51.100.20")),
    ] {
        fields.insert(k.into(), v);
    }
    let (status, answer) = crate::support::create_raw(t, fields).await;
    assert_eq!(status, 200, "{answer:?}");
    assert_eq!(answer["trade_status"], Value::from("SUCCESS"), "{answer:?}");
    let pay_type: PayType = answer["pay_type"].as_str().unwrap().parse().unwrap();
    Paid {
        trade_no: TradeNo::parse(answer["trade_no"].as_str().unwrap()).unwrap(),
        amount: amount_of(i),
        channel: channel_of(pay_type),
    }
}

/// Tomorrow's business date (China time): its run settles everything paid today at T+1.
fn tomorrow() -> BusinessDate {
    let china = chrono::Utc::now() + chrono::Duration::hours(8) + chrono::Duration::days(1);
    BusinessDate::parse(&china.format("%Y-%m-%d").to_string()).unwrap()
}

async fn wait_for_refunds(t: &TestApp, refunds: &[String]) {
    for number in refunds {
        let mut tries = 0;
        loop {
            let view = t
                .client
                .query_refund(&QueryRefund::OutRefundNo(out_refund_no(number)))
                .await
                .expect("query refund");
            if view.refund_status == RefundStatus::Success {
                break;
            }
            assert_ne!(view.refund_status, RefundStatus::Fail, "{number}");
            tries += 1;
            assert!(tries < 200, "refund {number} still {}", view.refund_status);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Every account's balance is the sum of its statement, read line by line.
pub(crate) async fn assert_statements_add_up(t: &TestApp) -> BTreeMap<String, i64> {
    let store = t.store();
    let mut balances = BTreeMap::new();
    for account in store.ledger_balances(None).await.unwrap() {
        let (mut debits, mut credits, mut after) = (0, 0, 0);
        loop {
            let lines = store
                .account_statement(&account.account, account.currency, after, 500)
                .await
                .unwrap();
            let Some(last) = lines.last() else { break };
            after = last.entry_id;
            for line in &lines {
                debits += line.debit;
                credits += line.credit;
            }
        }
        assert_eq!(
            (debits, credits),
            (account.debits, account.credits),
            "{} statement",
            account.account
        );
        assert_eq!(account.balance, account.account.balance(debits, credits));
        if account.account.must_not_go_negative() {
            assert!(
                account.balance >= 0,
                "{} = {}",
                account.account,
                account.balance
            );
        }
        balances.insert(account.account.to_string(), account.balance);
    }
    assert_eq!(
        store.ledger_imbalance().await.unwrap(),
        vec![(Currency::Cny, 0)]
    );
    balances
}

async fn a_day_in_the_life_reconciles_to_the_fen(backend: DbBackend) {
    let t = spawn_app_with(
        backend,
        TestOptions {
            wechat_sandbox: Some(WechatSandboxConfig::default()),
            alipay_sandbox: Some(AlipaySandboxConfig::default()),
            unionpay_sandbox: Some(UnionpaySandboxConfig::default()),
            ..TestOptions::default()
        },
    )
    .await;
    let merchant = t.merchant_id().clone();
    let settings = MerchantMoney {
        settlement_mode: SettlementMode::Platform,
        cycle: SettlementCycle::Auto {
            days: 1,
            minimum: Amount::ZERO,
        },
        ..MerchantMoney::for_category(MerchantCategory::PhysicalGoods)
    };
    t.store()
        .set_merchant_money(&merchant, &settings, 0)
        .await
        .unwrap();
    for receiver in RECEIVERS {
        t.client
            .add_receiver(&AddReceiver {
                receiver_id: ReceiverId::parse(receiver).unwrap(),
                receiver_type: ReceiverType::Personal,
                name: format!("Partner {receiver}"),
                relation: "PARTNER".into(),
            })
            .await
            .unwrap();
    }
    t.fund_wallet("payer", "200000.00").await;
    let mut wallet_codes = Vec::new();
    for _ in 0..PAYMENTS / 4 {
        wallet_codes.push(t.pay_code("payer").await.as_str().to_owned());
    }

    // The day's payments, shares and refunds.
    let mut paid = Vec::new();
    let mut shares: BTreeMap<&str, i64> = BTreeMap::new();
    let mut refunds = Vec::new();
    for i in 0..PAYMENTS {
        let code = code_of(&mut wallet_codes, i);
        let order = pay(&t, i, &code).await;
        if i % 7 == 0 {
            let receiver = RECEIVERS[i % 3];
            let share = order.amount / 10;
            if share > 0 {
                t.client
                    .apply_split(&ApplySplit {
                        order: OrderRef::TradeNo(order.trade_no.clone()),
                        out_split_no: OutSplitNo::parse(&format!("DAY-S{i:04}")).unwrap(),
                        receivers: vec![ShareRequest {
                            receiver_id: ReceiverId::parse(receiver).unwrap(),
                            amount: money(share),
                        }],
                        return_policy: None,
                    })
                    .await
                    .expect("share");
                *shares.entry(receiver).or_default() += share;
            }
        }
        let refund = if i % 31 == 0 {
            Some(order.amount)
        } else if i % 9 == 0 && order.amount >= 2 {
            Some(order.amount / 2)
        } else {
            None
        };
        if let Some(refund) = refund {
            let number = format!("DAY-R{i:04}");
            t.client
                .refund(&refund_of(
                    &order.trade_no,
                    &number,
                    &fen(refund).to_major_string(Currency::Cny),
                ))
                .await
                .expect("refund");
            refunds.push(number);
        }
        paid.push(order);
    }
    wait_for_refunds(&t, &refunds).await;

    // The next day: settle, then withdraw part of what became available.
    let report = t.app.run_settlement_day(tomorrow()).await.unwrap();
    assert_eq!((report.settled, report.failed), (1, 0));
    let settled = t
        .store()
        .merchant_balances(&merchant, Currency::Cny)
        .await
        .unwrap();
    assert_eq!((settled.pending, settled.reserved), (0, 0));
    let withdrawn = settled.available / 3;
    t.app
        .withdraw(
            &merchant,
            Withdraw {
                out_withdraw_no: OutWithdrawNo::parse("DAY-W1").unwrap(),
                amount: money(withdrawn),
            },
        )
        .await
        .unwrap();

    // Payouts: three to a wallet (paid at once) and two to bank cards (still with the bank).
    let supplier = t.fund_wallet("supplier", "0.01").await;
    let (mut to_wallet, mut to_banks) = (0, 0);
    for n in 0..5 {
        let amount = 100_00 + n * 1_11;
        let payee = if n < 3 {
            Payee::Wallet(supplier.clone())
        } else {
            Payee::BankCard(BankCard::parse("6222020200112233", "Zhang San", "ICBC").unwrap())
        };
        let payout = t
            .client
            .create_payout(&CreatePayout {
                out_payout_no: OutPayoutNo::parse(&format!("DAY-P{n}")).unwrap(),
                money: money(amount),
                payee,
                remark: None,
                notify_url: Some("https://merchant.example.com/payouts".into()),
            })
            .await
            .expect("payout");
        if n < 3 {
            assert_eq!(payout.payout_status, PayoutStatus::Success);
            to_wallet += amount;
        } else {
            assert_eq!(payout.payout_status, PayoutStatus::Processing);
            to_banks += amount + payout.fee.amount.minor();
        }
    }
    assert_eq!(
        t.store().wallet_balance(&supplier).await.unwrap(),
        Some(fen(1 + to_wallet))
    );

    // What the orders, refunds and shares say, independently of the ledger.
    let mut clearing: BTreeMap<&str, i64> = BTreeMap::new();
    let mut fee_expense: BTreeMap<&str, i64> = BTreeMap::new();
    let (mut fee_income, mut merchant_total) = (0, 0);
    for order in &paid {
        let view = query_order(&t, &order.trade_no).await;
        assert_eq!(view.total_amount, money(order.amount));
        let refunded = view.refunded_amount.map_or(0, |m| m.amount.minor());
        let fees = t
            .store()
            .order_fees(&order.trade_no)
            .await
            .unwrap()
            .unwrap();
        // Physical goods pay 0.6% by default; each channel charges its configured cost.
        let fee = FeeRate::from_ppm(6_000)
            .unwrap()
            .apply(fen(order.amount))
            .minor();
        let channel_fee = channel_rate(order.channel).apply(fen(order.amount)).minor();
        assert_eq!(
            (fees.snapshot.fee.minor(), fees.snapshot.channel_fee.minor()),
            (fee, channel_fee),
            "{}",
            order.trade_no
        );
        if refunded == order.amount {
            assert_eq!(view.trade_status, OrderStatus::Refund);
        }
        *clearing.entry(order.channel).or_default() +=
            order.amount - refunded - channel_fee + fees.channel_fee_returned.minor();
        *fee_expense.entry(order.channel).or_default() +=
            channel_fee - fees.channel_fee_returned.minor();
        fee_income += fee - fees.fee_returned.minor();
        merchant_total += order.amount - refunded - fee + fees.fee_returned.minor();
    }
    let mut held_by_receivers: BTreeMap<&str, i64> = BTreeMap::new();
    for (i, order) in paid.iter().enumerate() {
        if i % 7 != 0 || order.amount / 10 == 0 {
            continue;
        }
        let split = t
            .client
            .query_split(&QuerySplit {
                out_split_no: OutSplitNo::parse(&format!("DAY-S{i:04}")).unwrap(),
            })
            .await
            .unwrap();
        let share = &split.receivers[0];
        let kept = share.amount.amount.minor() - share.returned_amount.amount.minor();
        *held_by_receivers.entry(RECEIVERS[i % 3]).or_default() += kept;
        merchant_total -= kept;
    }
    assert_eq!(
        shares.values().sum::<i64>(),
        held_by_receivers.values().sum::<i64>() + returned_shares(&t).await
    );

    // The ledger, account by account.
    let books = assert_statements_add_up(&t).await;
    let balance = |account: Account| books.get(&account.to_string()).copied().unwrap_or(0);
    for (channel, expected) in &clearing {
        assert_eq!(
            balance(Account::ChannelClearing(name(channel))),
            *expected,
            "{channel}"
        );
        assert_eq!(
            balance(Account::ChannelFeeExpense(name(channel))),
            fee_expense[channel],
            "{channel} fee expense"
        );
    }
    assert_eq!(balance(Account::PlatformFeeIncome), fee_income);
    for receiver in RECEIVERS {
        assert_eq!(
            balance(Account::receiver(merchant.clone(), receiver).unwrap()),
            held_by_receivers.get(receiver).copied().unwrap_or(0),
            "{receiver}"
        );
    }
    assert_eq!(balance(Account::MerchantPending(merchant.clone())), 0);
    assert_eq!(
        balance(Account::MerchantReserved(merchant.clone())),
        to_banks,
        "the bank payouts in flight are held"
    );
    assert_eq!(
        balance(Account::MerchantAvailable(merchant.clone())),
        merchant_total - withdrawn - to_wallet - to_banks
    );
    assert_eq!(balance(Account::PayoutRail(name("wallet"))), -to_wallet);
    // Outside accounts are debit-normal: money sent out to the merchant shows as negative.
    assert_eq!(
        balance(Account::MerchantExternal(merchant.clone())),
        -withdrawn
    );
    let api = t
        .client
        .query_balance(&QueryBalance {
            currency: Currency::Cny,
        })
        .await
        .unwrap();
    assert_eq!(
        api.available,
        money(merchant_total - withdrawn - to_wallet - to_banks)
    );
    assert!(
        held_by_receivers.values().sum::<i64>() < shares.values().sum::<i64>(),
        "some shares came back before full refunds"
    );
    t.stop().await;
}
both_databases!(a_day_in_the_life_reconciles_to_the_fen);

/// What receivers gave back, by the ledger's share-return lines.
async fn returned_shares(t: &TestApp) -> i64 {
    let mut returned = 0;
    for receiver in RECEIVERS {
        let account = Account::receiver(t.merchant_id().clone(), receiver).unwrap();
        let lines = t
            .store()
            .account_statement(&account, Currency::Cny, 0, 10_000)
            .await
            .unwrap();
        returned += lines.iter().map(|l| l.debit).sum::<i64>();
    }
    returned
}
