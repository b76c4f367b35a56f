use super::*;
use chrono::TimeZone;

fn at(minutes: i64) -> DateTime<FixedOffset> {
    FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 11, 29, 10, 0, 0)
        .unwrap()
        + chrono::Duration::minutes(minutes)
}

fn ask(out_trade_no: &str, total_cents: i64) -> TradeAsk {
    TradeAsk {
        out_trade_no: out_trade_no.into(),
        total_cents,
        subject: "green tea".into(),
        product: Product::Precreate,
        notify_url: None,
        return_url: None,
        buyer_id: None,
    }
}

fn paid_book(out_trade_no: &str, total_cents: i64) -> Book {
    let mut book = Book::default();
    let trade = Trade::opened(
        ask(out_trade_no, total_cents),
        "2026112922001400000000000001".into(),
        at(0),
    );
    book.open(trade).unwrap();
    book.pay(out_trade_no, "2088000000000001".into(), at(1))
        .unwrap();
    book
}

#[test]
fn a_repeated_out_request_no_is_a_replay_that_moves_no_money() {
    let mut book = paid_book("T1", 10_000);
    let first = book.refund("T1", "R1", 3_000, at(2)).unwrap();
    let again = book.refund("T1", "R1", 3_000, at(3)).unwrap();
    let Recorded::New((trade, refund)) = first else {
        panic!("first is new")
    };
    assert_eq!(trade.refunded_cents, 3_000);
    assert_eq!(refund.at, at(2));
    let Recorded::Replay((trade, refund)) = again else {
        panic!("second is a replay")
    };
    assert_eq!(trade.refunded_cents, 3_000);
    assert_eq!(refund.at, at(2));
    assert_eq!(book.trade("T1").unwrap().refund_nos, vec!["R1".to_owned()]);
}

#[test]
fn a_refund_beyond_what_is_left_is_refused() {
    let mut book = paid_book("T1", 10_000);
    book.refund("T1", "R1", 7_000, at(2)).unwrap();
    assert_eq!(
        book.refund("T1", "R2", 3_001, at(3)),
        Err(BookError::RefundExceedsPaid)
    );
    assert_eq!(book.trade("T1").unwrap().refunded_cents, 7_000);
    assert!(matches!(
        book.refund("T1", "R2", 3_000, at(4)),
        Ok(Recorded::New(_))
    ));
    assert_eq!(book.trade("T1").unwrap().status, TradeStatus::TradeClosed);
}

#[test]
fn the_same_out_request_no_with_another_amount_is_refused() {
    let mut book = paid_book("T1", 10_000);
    book.refund("T1", "R1", 1_000, at(2)).unwrap();
    assert_eq!(
        book.refund("T1", "R1", 2_000, at(3)),
        Err(BookError::Inconsistent)
    );
}

#[test]
fn an_unpaid_trade_cannot_be_refunded_and_closes_once() {
    let mut book = Book::default();
    book.open(Trade::opened(
        ask("T2", 100),
        "2026112922001400000000000002".into(),
        at(0),
    ))
    .unwrap();
    assert_eq!(book.refund("T2", "R1", 100, at(1)), Err(BookError::State));
    assert_eq!(
        book.close("T2", at(2)).unwrap().status,
        TradeStatus::TradeClosed
    );
    assert_eq!(book.close("T2", at(3)).unwrap_err(), BookError::State);
    assert_eq!(
        book.pay("T2", "2088".into(), at(4)).unwrap_err(),
        BookError::Closed
    );
}

#[test]
fn reopening_a_waiting_trade_with_other_parameters_is_refused() {
    let mut book = Book::default();
    let first = Trade::opened(ask("T3", 100), "2026112922001400000000000003".into(), at(0));
    book.open(first).unwrap();
    let same = Trade::opened(ask("T3", 100), "2026112922001400000000000004".into(), at(1));
    let Recorded::Replay(trade) = book.open(same).unwrap() else {
        panic!("a replay")
    };
    assert_eq!(trade.trade_no, "2026112922001400000000000003");
    let other = Trade::opened(ask("T3", 200), "2026112922001400000000000005".into(), at(1));
    assert_eq!(book.open(other).unwrap_err(), BookError::Inconsistent);
}
