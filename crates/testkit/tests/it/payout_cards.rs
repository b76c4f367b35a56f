//! Payout card numbers sealed at rest (issue #11, PCI DSS 3.4): a bank payout's row holds no
//! digit of the card beyond the last four, in any column, while the rail still gets the whole
//! number; a replay with the same card is the same payout and one with another card is refused;
//! rows an older release wrote in the clear are sealed when the app starts, once.

use crate::support::{assert_api_error, count_rows};
use async_trait::async_trait;
use paygate_app::jobs::{poll_step, JobSettings};
use paygate_app::secrets::{seal_clear_card_numbers, SealedCardNos};
use paygate_app::{App, AppSettings, ManualClock, SystemClock};
use paygate_channels::payout::{PayoutOrder, PayoutRail, RailOutcome, SandboxBankRail};
use paygate_channels::ChannelError;
use paygate_client::{CreatePayout, PayoutView};
use paygate_domain::ledger::{Account, EntryKind, LedgerName, Posting, PostingKind};
use paygate_domain::payout::{BankCard, CardNo, Payee, PayeeType, PayoutStatus, SealedCardNo};
use paygate_domain::{Amount, Currency, Money, OutPayoutNo, PayoutNo};
use paygate_store::{Store, StoreOptions};
use paygate_testkit::{both_databases, spawn_app_with, DbBackend, TestApp, TestOptions};
use sqlx::Row;
use std::sync::{Arc, Mutex};

const CARD_OK: &str = "6222020200112233";
const CARD_CLOSED: &str = "6222020200110000";
const CARD_OTHER: &str = "6222020200445566";

/// The sandbox bank, remembering every card number it was given whole.
#[derive(Default)]
struct RecordingBank {
    bank: SandboxBankRail,
    cards_seen: Mutex<Vec<String>>,
}

impl RecordingBank {
    fn seen(&self) -> Vec<String> {
        self.cards_seen.lock().unwrap().clone()
    }

    fn remember(&self, order: &PayoutOrder) {
        if let Payee::BankCard(card) = &order.payee {
            let digits = card.card_no.digits().to_owned();
            self.cards_seen.lock().unwrap().push(digits);
        }
    }
}

#[async_trait]
impl PayoutRail for RecordingBank {
    fn name(&self) -> &'static str {
        self.bank.name()
    }

    fn payee_type(&self) -> PayeeType {
        self.bank.payee_type()
    }

    fn may_return(&self) -> bool {
        self.bank.may_return()
    }

    async fn submit(&self, order: &PayoutOrder) -> Result<RailOutcome, ChannelError> {
        self.remember(order);
        self.bank.submit(order).await
    }

    async fn query(&self, order: &PayoutOrder) -> Result<RailOutcome, ChannelError> {
        self.remember(order);
        self.bank.query(order).await
    }
}

async fn app_with_recording_bank(
    backend: DbBackend,
) -> (TestApp, Arc<ManualClock>, Arc<RecordingBank>) {
    let (options, clock) = TestOptions::with_manual_clock();
    let bank = Arc::new(RecordingBank::default());
    let options = TestOptions {
        payout_rail: Some(bank.clone()),
        ..options
    };
    let t = spawn_app_with(backend, options).await;
    let posting = Posting::new(PostingKind::Payment, "FUND-1", Currency::Cny).transfer(
        EntryKind::Payment,
        Account::ChannelClearing(LedgerName::parse("wechat").unwrap()),
        Account::MerchantAvailable(t.merchant_id().clone()),
        Amount::from_minor(100_00).unwrap(),
    );
    t.store().post_to_ledger(&posting, 1).await.unwrap();
    (t, clock, bank)
}

fn card_payout(number: &str, card: &str) -> CreatePayout {
    CreatePayout {
        out_payout_no: OutPayoutNo::parse(number).unwrap(),
        money: Money::parse("10.00", Currency::Cny).unwrap(),
        payee: Payee::BankCard(BankCard::parse(card, "Zhang San", "ICBC").unwrap()),
        remark: Some("supplier settlement".into()),
        notify_url: None,
    }
}

/// Every text column of the payout's row, by name.
async fn text_columns(t: &TestApp, payout_no: &PayoutNo) -> Vec<(&'static str, Option<String>)> {
    const COLUMNS: [&str; 17] = [
        "payout_no",
        "merchant_id",
        "out_payout_no",
        "currency",
        "payee_type",
        "wallet_account_id",
        "card_no",
        "card_no_sealed",
        "card_no_hmac",
        "card_no_masked",
        "account_name",
        "bank_code",
        "rail",
        "remark",
        "notify_url",
        "status",
        "reason",
    ];
    let row = sqlx::query(&format!(
        "SELECT {} FROM payouts WHERE payout_no = $1",
        COLUMNS.join(", ")
    ))
    .bind(payout_no.as_str())
    .fetch_one(t.store().pool())
    .await
    .expect("payout row");
    COLUMNS
        .into_iter()
        .map(|column| (column, row.try_get::<Option<String>, _>(column).unwrap()))
        .collect()
}

/// The row shows the card's last four digits and nothing before them: no run of six digits
/// that reaches into the hidden part appears in it (the ids are left out: a payout number holds
/// the time's digits, which may happen to look like part of a card number).
async fn assert_row_hides_card(t: &TestApp, payout_no: &PayoutNo, card: &str) {
    let hidden_runs: Vec<&str> = (0..card.len() - 4)
        .map(|start| &card[start..(start + 6).min(card.len())])
        .filter(|run| run.len() == 6)
        .collect();
    for (column, value) in text_columns(t, payout_no).await {
        if ["payout_no", "merchant_id"].contains(&column) {
            continue;
        }
        let value = value.unwrap_or_default();
        for run in &hidden_runs {
            assert!(!value.contains(run), "{column} = {value:?} holds {run}");
        }
    }
}

/// The sealed columns of the payout's row, checked against the master key: the number opens
/// for this payout only, and the digest is the key's digest of it for this payout.
async fn assert_sealed_for(t: &TestApp, payout_no: &PayoutNo, card: &str) {
    let columns = text_columns(t, payout_no).await;
    let column = |name: &str| {
        columns
            .iter()
            .find(|(column, _)| *column == name)
            .and_then(|(_, value)| value.clone())
    };
    assert_eq!(column("card_no"), None);
    let masked = format!("{}{}", "*".repeat(card.len() - 4), &card[card.len() - 4..]);
    assert_eq!(column("card_no_masked"), Some(masked.clone()));
    let key = &t.master_key;
    assert_eq!(
        column("card_no_hmac"),
        Some(key.digest(card, payout_no.as_str()))
    );
    let sealed = SealedCardNo::from_stored(
        column("card_no_sealed").unwrap(),
        column("card_no_hmac").unwrap(),
        masked,
    )
    .unwrap();
    assert_eq!(
        sealed.open(key, payout_no),
        Ok(CardNo::parse(card).unwrap())
    );
    let another = PayoutNo::mint(0);
    assert!(sealed.open(key, &another).is_err(), "bound to its payout");
}

async fn poll_until(t: &TestApp, clock: &ManualClock, payout_no: &PayoutNo, done: PayoutStatus) {
    for _ in 0..20 {
        clock.advance_ms(5_000);
        poll_step(&t.app, &JobSettings::default()).await.unwrap();
        let now = t.store().get_payout(payout_no).await.unwrap().unwrap();
        if now.status == done {
            return;
        }
    }
    panic!("payout {payout_no} never reached {done}");
}

async fn a_bank_payout_row_holds_no_card_digit_beyond_the_last_four(backend: DbBackend) {
    let (t, clock, bank) = app_with_recording_bank(backend).await;

    let payout = t
        .client
        .create_payout(&card_payout("SEALED-001", CARD_OK))
        .await
        .expect("bank payout");

    assert_eq!(payout.payee_account, "************2233");
    assert_row_hides_card(&t, &payout.payout_no, CARD_OK).await;
    assert_sealed_for(&t, &payout.payout_no, CARD_OK).await;
    poll_until(&t, &clock, &payout.payout_no, PayoutStatus::Success).await;
    // Submitted once, then asked once a second later: the whole number both times.
    assert_eq!(bank.seen(), [CARD_OK, CARD_OK]);
    assert_row_hides_card(&t, &payout.payout_no, CARD_OK).await;
    t.stop().await;
}
both_databases!(a_bank_payout_row_holds_no_card_digit_beyond_the_last_four);

async fn a_replay_with_the_same_card_is_the_same_payout_and_another_card_is_refused(
    backend: DbBackend,
) {
    let (t, _clock, _bank) = app_with_recording_bank(backend).await;
    let first: PayoutView = t
        .client
        .create_payout(&card_payout("AGAIN-0001", CARD_OK))
        .await
        .expect("payout");

    let again = t
        .client
        .create_payout(&card_payout("AGAIN-0001", CARD_OK))
        .await
        .expect("replay");
    let other_card = t
        .client
        .create_payout(&card_payout("AGAIN-0001", CARD_OTHER))
        .await;

    assert_eq!(again.payout_no, first.payout_no);
    assert_eq!(again.payee_account, "************2233");
    assert_eq!(assert_api_error(other_card, "1004"), 409);
    assert_eq!(count_rows(&t, "payouts").await, 1);
    t.stop().await;
}
both_databases!(a_replay_with_the_same_card_is_the_same_payout_and_another_card_is_refused);

/// Rewrites a payout's row as a release before sealing wrote it: the number in the clear.
async fn write_in_the_clear(t: &TestApp, payout_no: &PayoutNo, card: &str) {
    let changed = sqlx::query(
        "UPDATE payouts SET card_no = $1, card_no_sealed = NULL, card_no_hmac = NULL,
                            card_no_masked = NULL
         WHERE payout_no = $2",
    )
    .bind(card)
    .bind(payout_no.as_str())
    .execute(t.store().pool())
    .await
    .expect("write the row in the clear")
    .rows_affected();
    assert_eq!(changed, 1);
}

/// A second process starting over the test app's database with the same master key.
async fn start_another_process(t: &TestApp) -> App {
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

async fn card_numbers_written_in_the_clear_are_sealed_at_start_once(backend: DbBackend) {
    let (t, clock, bank) = app_with_recording_bank(backend).await;
    let ok = t
        .client
        .create_payout(&card_payout("CLEAR-0001", CARD_OK))
        .await
        .expect("payout");
    let closed = t
        .client
        .create_payout(&card_payout("CLEAR-0002", CARD_CLOSED))
        .await
        .expect("payout");
    write_in_the_clear(&t, &ok.payout_no, CARD_OK).await;
    write_in_the_clear(&t, &closed.payout_no, CARD_CLOSED).await;
    assert!(
        t.store().get_payout(&ok.payout_no).await.is_err(),
        "a clear row does not read until a start seals it"
    );

    // Two processes start at once; each row is sealed once, and a further run changes nothing.
    tokio::join!(start_another_process(&t), start_another_process(&t));
    assert_sealed_for(&t, &ok.payout_no, CARD_OK).await;
    assert_sealed_for(&t, &closed.payout_no, CARD_CLOSED).await;
    assert_row_hides_card(&t, &ok.payout_no, CARD_OK).await;
    assert_row_hides_card(&t, &closed.payout_no, CARD_CLOSED).await;
    let again = seal_clear_card_numbers(t.store(), &t.master_key).await;
    assert_eq!(again.unwrap(), SealedCardNos::default());

    // The rail gets the whole numbers back (the sandbox bank fails a card ending 0000), and a
    // replay is still recognised by the digest the start wrote.
    poll_until(&t, &clock, &ok.payout_no, PayoutStatus::Success).await;
    poll_until(&t, &clock, &closed.payout_no, PayoutStatus::Failed).await;
    let seen = bank.seen();
    assert!(
        seen.iter().filter(|c| *c == CARD_OK).count() >= 2,
        "{seen:?}"
    );
    assert!(seen.iter().any(|c| c == CARD_CLOSED), "{seen:?}");
    let replay = t
        .client
        .create_payout(&card_payout("CLEAR-0001", CARD_OK))
        .await
        .expect("replay");
    assert_eq!(replay.payout_no, ok.payout_no);
    assert_eq!(replay.payout_status, PayoutStatus::Success);

    // A clear value that is no card number is left as it is, and counted.
    write_in_the_clear(&t, &closed.payout_no, "not-a-card").await;
    let malformed = seal_clear_card_numbers(t.store(), &t.master_key).await;
    assert_eq!(
        malformed.unwrap(),
        SealedCardNos {
            sealed: 0,
            malformed: 1
        }
    );
    t.stop().await;
}
both_databases!(card_numbers_written_in_the_clear_are_sealed_at_start_once);
