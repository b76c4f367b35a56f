//! Fees and refund funding (issue #11): a payment's fee is snapshotted on the order from the
//! merchant's schedule or its category's default; the payment posts it as its settlement mode
//! says; a refund is held from unsettled funds first, then the available balance, then (direct
//! mode only) the merchant's own channel account, and gives the fees back by each channel's
//! rule. After every scenario all accounts sum to zero.

use crate::support::{
    account_fen, assert_books_balance, count_rows, fen, refund_of, wallet_order, yuan, NOTIFY_URL,
};
use paygate_app::{AppSettings, ChannelFeeRates};
use paygate_channels::{PayOutcome, RefundOutcome};
use paygate_client::CreateOrder;
use paygate_domain::fee::{FeeRate, FeeSchedule};
use paygate_domain::ledger::{Account, EntryKind, LedgerName, Posting, PostingKind};
use paygate_domain::merchant_money::{FeeBearer, MerchantCategory, MerchantMoney, SettlementMode};
use paygate_domain::{Amount, AuthCode, Currency, PayType, RefundNo, RefundStatus, TradeNo};
use paygate_store::StatementLine;
use paygate_testkit::{
    both_databases, spawn_app, spawn_app_with, DbBackend, ScriptedChannel, TestApp, TestOptions,
};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

fn ledger(name: &str) -> LedgerName {
    LedgerName::parse(name).unwrap()
}

/// How long a test waits for a channel to finish a refund on its own.
const REFUND_WAIT_MS_MAX: u64 = 10_000;

/// Sets the merchant's money settings as an operator does, through the app, so that this
/// process's cached fee terms follow at once.
async fn set_money(t: &TestApp, mode: SettlementMode, bearer: FeeBearer) {
    let mut money = MerchantMoney::for_category(MerchantCategory::PhysicalGoods);
    money.settlement_mode = mode;
    money.fee_bearer = bearer;
    money
        .qualifications
        .insert("business_licence".into(), "91310000MA1FL0000X".into());
    t.app
        .set_merchant_money(t.merchant_id(), &money)
        .await
        .unwrap()
        .expect("the merchant exists");
}

/// (posting kind, reference, entry kind, debit, credit) of every line of `account`.
async fn statement(
    t: &TestApp,
    account: Account,
) -> Vec<(PostingKind, String, EntryKind, i64, i64)> {
    let lines: Vec<StatementLine> = t
        .store()
        .account_statement(&account, Currency::Cny, 0, 100)
        .await
        .unwrap();
    lines
        .into_iter()
        .map(|l| (l.posting_kind, l.reference, l.kind, l.debit, l.credit))
        .collect()
}

/// A wallet order of `amount` paid by alice with a fresh pay code.
async fn wallet_paid(t: &TestApp, number: &str, amount: &str) -> TradeNo {
    let code = t.pay_code("alice").await;
    let order = t
        .client
        .create_order(&wallet_order(number, amount, &code))
        .await
        .expect("create a paid order");
    order.trade_no
}

/// Waits until the refund has ended and returns its status.
async fn refund_ended(t: &TestApp, refund_no: &RefundNo) -> RefundStatus {
    for _ in 0..REFUND_WAIT_MS_MAX / 50 {
        let refund = t.store().get_refund(refund_no).await.unwrap().unwrap();
        if refund.status != RefundStatus::Processing {
            return refund.status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("refund {refund_no} still processing");
}

/// Refunds `amount` of the order and waits for the channel's success; returns the merchant's
/// fee it gave back, in fen.
async fn refunded(t: &TestApp, trade_no: &TradeNo, number: &str, amount: &str) -> i64 {
    let asked = t
        .client
        .refund(&refund_of(trade_no, number, amount))
        .await
        .expect("refund accepted");
    assert_eq!(
        refund_ended(t, &asked.refund_no).await,
        RefundStatus::Success
    );
    let funding = t.store().refund_funding(&asked.refund_no).await.unwrap();
    funding.unwrap().fee_returned.minor()
}

async fn order_fee_returned(t: &TestApp, trade_no: &TradeNo) -> (i64, i64) {
    let fees = t.store().order_fees(trade_no).await.unwrap().unwrap();
    (fees.fee_returned.minor(), fees.channel_fee_returned.minor())
}

both_databases!(a_fee_is_snapshotted_from_the_products_schedule_or_the_categorys_default);
async fn a_fee_is_snapshotted_from_the_products_schedule_or_the_categorys_default(
    backend: DbBackend,
) {
    let t = spawn_app(backend).await;
    t.fund_wallet("alice", "100.00").await;
    let default = wallet_paid(&t, "FEE-DEFAULT", "10.00").await;

    let mut money = MerchantMoney::for_category(MerchantCategory::PublicInstitution);
    money
        .qualifications
        .insert("public_institution_certificate".into(), "12100000".into());
    t.app
        .set_merchant_money(t.merchant_id(), &money)
        .await
        .unwrap()
        .expect("the merchant exists");
    let public = wallet_paid(&t, "FEE-PUBLIC", "10.00").await;

    let schedule = FeeSchedule {
        rate: FeeRate::from_ppm(3_800).unwrap(),
        fixed: fen(10),
    };
    let schedules = [
        (PayType::Wallet, schedule),
        (
            PayType::WechatNative,
            FeeSchedule {
                rate: FeeRate::from_ppm(2_500).unwrap(),
                fixed: Amount::ZERO,
            },
        ),
    ];
    t.app
        .set_merchant_fees(t.merchant_id(), &schedules)
        .await
        .unwrap()
        .expect("the merchant exists");
    assert_eq!(
        t.store()
            .merchant_fee_schedules(t.merchant_id())
            .await
            .unwrap()
            .len(),
        2
    );
    let scheduled = wallet_paid(&t, "FEE-SCHEDULED", "10.00").await;

    let mut seen = Vec::new();
    for trade_no in [&default, &public, &scheduled] {
        let fees = t.store().order_fees(trade_no).await.unwrap().unwrap();
        let s = fees.snapshot;
        assert_eq!(
            (s.pay_type, s.mode),
            (PayType::Wallet, SettlementMode::Direct)
        );
        assert_eq!(
            s.channel_fee, s.fee,
            "in direct mode the channel's fee is the merchant's"
        );
        seen.push((
            s.merchant.rate.ppm(),
            s.merchant.fixed.minor(),
            s.fee.minor(),
        ));
    }
    // 0.6% and 0.2% of 10.00; 0.38% (3.8 fen, half-up 4) plus the fixed 0.10.
    assert_eq!(seen, [(6_000, 0, 6), (2_000, 0, 2), (3_800, 10, 4 + 10)]);
    let order = t.store().get_order(&scheduled).await.unwrap().unwrap();
    assert_eq!(order.total_amount, fen(10_00));
    assert_eq!(
        account_fen(&t, Account::MerchantPending(t.merchant_id().clone())).await,
        (10_00 - 6) + (10_00 - 2) + (10_00 - 14)
    );
    assert_books_balance(t.store()).await;
    t.stop().await;
}

both_databases!(platform_and_direct_payments_post_their_fees_exactly);
async fn platform_and_direct_payments_post_their_fees_exactly(backend: DbBackend) {
    let mut rates = BTreeMap::new();
    rates.insert(ledger("wallet"), FeeRate::from_ppm(2_000).unwrap());
    let options = TestOptions {
        settings: AppSettings {
            channel_fee_rates: ChannelFeeRates::new(rates),
            ..AppSettings::default()
        },
        ..TestOptions::default()
    };
    let t = spawn_app_with(backend, options).await;
    t.fund_wallet("alice", "100.00").await;
    let merchant = t.merchant_id().clone();
    let direct = wallet_paid(&t, "FEE-DIRECT", "10.00").await;
    set_money(&t, SettlementMode::Platform, FeeBearer::Merchant).await;
    let platform = wallet_paid(&t, "FEE-PLATFORM", "10.00").await;

    let fees = t.store().order_fees(&platform).await.unwrap().unwrap();
    assert_eq!(fees.snapshot.mode, SettlementMode::Platform);
    assert_eq!(
        (fees.snapshot.fee, fees.snapshot.channel_fee),
        (fen(6), fen(2))
    );
    assert_eq!(fees.snapshot.channel_rate.ppm(), 2_000);

    let clearing = Account::ChannelClearing(ledger("wallet"));
    assert_eq!(
        statement(&t, clearing.clone()).await,
        [
            (
                PostingKind::Payment,
                direct.to_string(),
                EntryKind::Payment,
                10_00,
                0
            ),
            (
                PostingKind::Payment,
                direct.to_string(),
                EntryKind::Fee,
                0,
                6
            ),
            (
                PostingKind::Payment,
                platform.to_string(),
                EntryKind::Payment,
                10_00,
                0
            ),
            (
                PostingKind::Payment,
                platform.to_string(),
                EntryKind::ChannelFee,
                0,
                2
            ),
        ]
    );
    assert_eq!(account_fen(&t, clearing).await, 20_00 - 6 - 2);
    assert_eq!(
        account_fen(&t, Account::MerchantPending(merchant.clone())).await,
        2 * (10_00 - 6)
    );
    assert_eq!(account_fen(&t, Account::PlatformFeeIncome).await, 6);
    assert_eq!(
        account_fen(&t, Account::ChannelFeeExpense(ledger("wallet"))).await,
        2
    );
    assert_books_balance(t.store()).await;
    t.stop().await;
}

both_databases!(wechat_returns_its_fee_proportionally_half_up_and_the_rest_on_the_last_refund);
async fn wechat_returns_its_fee_proportionally_half_up_and_the_rest_on_the_last_refund(
    backend: DbBackend,
) {
    let s = crate::wechat::scene(backend).await;
    let create =
        crate::wechat::wechat_order(PayType::WechatMicropay, "FEE-WX", "10.00", NOTIFY_URL);
    let trade_no = s.t.client.create_order(&create).await.unwrap().trade_no;
    // 0.6% of 3.00 is 1.8 fen, half-up 2; the completing refund returns the 4 left of 6.
    assert_eq!(refunded(&s.t, &trade_no, "FEE-WX-R1", "3.00").await, 2);
    assert_eq!(refunded(&s.t, &trade_no, "FEE-WX-R2", "7.00").await, 4);
    assert_eq!(order_fee_returned(&s.t, &trade_no).await, (6, 6));
    // Direct mode: the second refund's 0.04 beyond the 6.96 unsettled came from the merchant's
    // own WeChat account, and the fee WeChat gave back lands in its unsettled funds.
    let merchant = s.t.merchant_id().clone();
    assert_eq!(
        account_fen(&s.t, Account::MerchantPending(merchant.clone())).await,
        4
    );
    assert_eq!(
        account_fen(&s.t, Account::MerchantExternal(merchant)).await,
        4
    );
    assert_eq!(
        account_fen(&s.t, Account::ChannelClearing(ledger("wechat"))).await,
        0
    );
    assert_books_balance(s.t.store()).await;
    s.t.stop().await;
}

both_databases!(alipay_keeps_its_fee_and_a_platform_bearer_returns_the_merchants_share);
async fn alipay_keeps_its_fee_and_a_platform_bearer_returns_the_merchants_share(
    backend: DbBackend,
) {
    let s = crate::alipay::scene(backend).await;
    let kept =
        crate::alipay::alipay_order(PayType::AlipayMicropay, "FEE-ALI-1", "10.00", NOTIFY_URL);
    let kept = s.t.client.create_order(&kept).await.unwrap().trade_no;
    assert_eq!(refunded(&s.t, &kept, "FEE-ALI-1-R", "10.00").await, 0);
    assert_eq!(order_fee_returned(&s.t, &kept).await, (0, 0));

    set_money(&s.t, SettlementMode::Platform, FeeBearer::Platform).await;
    let borne =
        crate::alipay::alipay_order(PayType::AlipayMicropay, "FEE-ALI-2", "10.00", NOTIFY_URL);
    let borne = s.t.client.create_order(&borne).await.unwrap().trade_no;
    // The merchant gets 0.6% of 4.00 (2.4 fen, 2) back; Alipay keeps its whole 6.
    assert_eq!(refunded(&s.t, &borne, "FEE-ALI-2-R", "4.00").await, 2);
    assert_eq!(order_fee_returned(&s.t, &borne).await, (2, 0));
    assert_eq!(account_fen(&s.t, Account::PlatformFeeIncome).await, 6 - 2);
    assert_eq!(
        account_fen(&s.t, Account::ChannelFeeExpense(ledger("alipay"))).await,
        6
    );
    // The first order was fully refunded (its 6 fen fee kept); the second holds 10.00 − 0.06
    // − 4.00 + 0.02.
    let pending = Account::MerchantPending(s.t.merchant_id().clone());
    assert_eq!(account_fen(&s.t, pending).await, 10_00 - 6 - 4_00 + 2);
    assert_eq!(
        account_fen(&s.t, Account::MerchantExternal(s.t.merchant_id().clone())).await,
        6,
        "the first refund's shortfall came from the merchant's own Alipay account"
    );
    assert_books_balance(s.t.store()).await;
    s.t.stop().await;
}

both_databases!(unionpay_returns_nothing_below_its_minimum_unit);
async fn unionpay_returns_nothing_below_its_minimum_unit(backend: DbBackend) {
    let s = crate::unionpay::scene(backend).await;
    let create =
        crate::unionpay::unionpay_order(PayType::UnionpayMicropay, "FEE-UP", "100.00", NOTIFY_URL);
    let trade_no = s.t.client.create_order(&create).await.unwrap().trade_no;
    // 0.6% of 10.00 is 6 fen, under UnionPay's 8: nothing; the rest (54 fen share) completes
    // the payment and returns all 60.
    assert_eq!(refunded(&s.t, &trade_no, "FEE-UP-R1", "10.00").await, 0);
    assert_eq!(refunded(&s.t, &trade_no, "FEE-UP-R2", "90.00").await, 60);
    assert_eq!(order_fee_returned(&s.t, &trade_no).await, (60, 60));
    assert_books_balance(s.t.store()).await;
    s.t.stop().await;
}

both_databases!(a_refund_is_held_from_pending_first_then_available);
async fn a_refund_is_held_from_pending_first_then_available(backend: DbBackend) {
    let t = spawn_app(backend).await;
    t.fund_wallet("alice", "100.00").await;
    set_money(&t, SettlementMode::Platform, FeeBearer::Merchant).await;
    let merchant = t.merchant_id().clone();
    let first = wallet_paid(&t, "FUND-1", "10.00").await;
    // Settlement is another part of issue #11; its posting stands in for it here.
    let settled = Posting::new(PostingKind::Settlement, "S1", Currency::Cny).transfer(
        EntryKind::Settlement,
        Account::MerchantPending(merchant.clone()),
        Account::MerchantAvailable(merchant.clone()),
        fen(10_00 - 6),
    );
    t.store().post_to_ledger(&settled, 1).await.unwrap();
    let second = wallet_paid(&t, "FUND-2", "2.00").await;

    let asked = t
        .client
        .refund(&refund_of(&first, "FUND-1-R", "5.00"))
        .await
        .expect("refund accepted");
    assert_eq!(asked.refund_status, RefundStatus::Success);
    let funding = t
        .store()
        .refund_funding(&asked.refund_no)
        .await
        .unwrap()
        .unwrap();
    // 2.00 less its 1 fen fee was unsettled; the rest of 5.00 came from the available 9.94.
    assert_eq!(
        (
            funding.from_pending.minor(),
            funding.from_available.minor(),
            funding.from_external.minor()
        ),
        (199, 301, 0)
    );
    let refund = asked.refund_no.to_string();
    assert_eq!(
        statement(&t, Account::MerchantPending(merchant.clone())).await,
        [
            (
                PostingKind::Payment,
                first.to_string(),
                EntryKind::Payment,
                0,
                10_00
            ),
            (
                PostingKind::Payment,
                first.to_string(),
                EntryKind::Fee,
                6,
                0
            ),
            (
                PostingKind::Settlement,
                "S1".into(),
                EntryKind::Settlement,
                994,
                0
            ),
            (
                PostingKind::Payment,
                second.to_string(),
                EntryKind::Payment,
                0,
                2_00
            ),
            (
                PostingKind::Payment,
                second.to_string(),
                EntryKind::Fee,
                1,
                0
            ),
            (
                PostingKind::RefundAccepted,
                refund.clone(),
                EntryKind::RefundHold,
                199,
                0
            ),
        ]
    );
    assert_eq!(
        statement(&t, Account::MerchantAvailable(merchant.clone())).await,
        [
            (
                PostingKind::Settlement,
                "S1".into(),
                EntryKind::Settlement,
                0,
                994
            ),
            (
                PostingKind::RefundAccepted,
                refund.clone(),
                EntryKind::RefundHold,
                301,
                0
            ),
        ]
    );
    assert_eq!(
        statement(&t, Account::MerchantReserved(merchant.clone())).await,
        [
            (
                PostingKind::RefundAccepted,
                refund.clone(),
                EntryKind::RefundHold,
                0,
                199
            ),
            (
                PostingKind::RefundAccepted,
                refund.clone(),
                EntryKind::RefundHold,
                0,
                301
            ),
            (
                PostingKind::RefundSucceeded,
                refund.clone(),
                EntryKind::Refund,
                5_00,
                0
            ),
        ]
    );
    let balances = t
        .store()
        .merchant_balances(&merchant, Currency::Cny)
        .await
        .unwrap();
    assert_eq!(
        (balances.pending, balances.available, balances.reserved),
        (0, 994 - 301, 0)
    );
    assert_books_balance(t.store()).await;
    t.stop().await;
}

both_databases!(a_platform_refund_the_balances_cannot_fund_is_1005_and_writes_nothing);
async fn a_platform_refund_the_balances_cannot_fund_is_1005_and_writes_nothing(backend: DbBackend) {
    let t = spawn_app(backend).await;
    t.fund_wallet("alice", "100.00").await;
    set_money(&t, SettlementMode::Platform, FeeBearer::Merchant).await;
    let trade_no = wallet_paid(&t, "SHORT-1", "10.00").await;
    let tables = ["refunds", "ledger_entries", "wallet_refunds"];
    let mut before = Vec::new();
    for table in tables {
        before.push(count_rows(&t, table).await);
    }
    // The fee left 9.94 of the 10.00 paid: a full refund cannot be funded.
    let refused = t
        .client
        .refund(&refund_of(&trade_no, "SHORT-1-R", "10.00"))
        .await;
    assert_eq!(crate::support::assert_api_error(refused, "1005"), 402);
    let mut after = Vec::new();
    for table in tables {
        after.push(count_rows(&t, table).await);
    }
    assert_eq!(after, before, "nothing written");
    let order = t.store().get_order(&trade_no).await.unwrap().unwrap();
    assert_eq!(order.refund_reserved, Amount::ZERO);

    let asked = t
        .client
        .refund(&refund_of(&trade_no, "SHORT-1-R2", "9.94"))
        .await
        .expect("a refund the balance covers");
    assert_eq!(asked.refund_status, RefundStatus::Success);
    let merchant = t.merchant_id().clone();
    let balances = t
        .store()
        .merchant_balances(&merchant, Currency::Cny)
        .await
        .unwrap();
    assert_eq!(
        (balances.pending, balances.available, balances.reserved),
        (0, 0, 0)
    );
    assert_books_balance(t.store()).await;
    t.stop().await;
}

both_databases!(a_failed_refund_gives_its_hold_back_where_it_came_from);
async fn a_failed_refund_gives_its_hold_back_where_it_came_from(backend: DbBackend) {
    let channel = Arc::new(ScriptedChannel::new());
    let options = TestOptions {
        channel: Some(channel.clone()),
        ..TestOptions::default()
    };
    let t = spawn_app_with(backend, options).await;
    let merchant = t.merchant_id().clone();
    channel.on_pay(Ok(PayOutcome::Paid {
        channel_trade_no: "CH-1".into(),
        paid_at_ms: 0,
    }));
    let create = CreateOrder {
        auth_code: Some(AuthCode::parse("880000000000000001").unwrap()),
        ..CreateOrder::new(
            crate::support::out_trade_no("FAIL-1"),
            yuan("10.00"),
            "green tea",
            NOTIFY_URL,
        )
    };
    let trade_no = t.client.create_order(&create).await.unwrap().trade_no;
    channel.on_refund(Ok(RefundOutcome::Failed("account frozen".into())));
    // Direct mode: the 9.94 unsettled is held first, the 0.06 fee from the merchant's own
    // account.
    let asked = t
        .client
        .refund(&refund_of(&trade_no, "FAIL-1-R", "10.00"))
        .await
        .expect("refund answered");
    assert_eq!(asked.refund_status, RefundStatus::Fail);
    let funding = t
        .store()
        .refund_funding(&asked.refund_no)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (funding.from_pending.minor(), funding.from_external.minor()),
        (994, 6)
    );
    let refund = asked.refund_no.to_string();
    assert_eq!(
        statement(&t, Account::MerchantExternal(merchant.clone())).await,
        [
            (
                PostingKind::RefundAccepted,
                refund.clone(),
                EntryKind::RefundHold,
                6,
                0
            ),
            (
                PostingKind::RefundFailed,
                refund.clone(),
                EntryKind::RefundRelease,
                0,
                6
            ),
        ]
    );
    let balances = t
        .store()
        .merchant_balances(&merchant, Currency::Cny)
        .await
        .unwrap();
    assert_eq!(
        (balances.pending, balances.available, balances.reserved),
        (994, 0, 0)
    );
    let order = t.store().get_order(&trade_no).await.unwrap().unwrap();
    assert_eq!(order.refund_reserved, Amount::ZERO);
    assert_books_balance(t.store()).await;
    t.stop().await;
}
