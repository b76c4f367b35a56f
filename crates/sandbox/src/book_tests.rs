use super::*;
use chrono::TimeZone;
use paygate_channels::wechat::v3_wire::OrderAmount;

fn at(days: i64) -> DateTime<FixedOffset> {
    FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(2026, 1, 1, 10, 0, 0)
        .unwrap()
        + Duration::days(days)
}

fn order(out_trade_no: &str, total: i64) -> CreateOrder {
    CreateOrder {
        appid: "wxd678efh567hg6787".into(),
        mchid: "1900000109".into(),
        description: "green tea".into(),
        out_trade_no: out_trade_no.into(),
        time_expire: None,
        attach: None,
        notify_url: "https://gateway.example/callback/wechat/pay".into(),
        amount: OrderAmount {
            total,
            currency: Some("CNY".into()),
        },
        payer: None,
        scene_info: None,
    }
}

fn trade(out_trade_no: &str, total: i64) -> Trade {
    Trade::opened(
        out_trade_no.into(),
        Origin::V3(TradeType::Native, order(out_trade_no, total)),
        Created {
            code_url: Some(format!("weixin://wxpay/bizpayurl?pr={out_trade_no}")),
            ..Created::default()
        },
    )
}

fn paid_book(out_trade_no: &str, total: i64) -> Book {
    let mut book = Book::default();
    book.create(trade(out_trade_no, total)).unwrap();
    book.pay(out_trade_no, "4200000000202601010000000001".into(), at(0))
        .unwrap();
    book
}

fn ask(out_refund_no: &str, refund: i64, total: i64) -> RefundAsk {
    RefundAsk {
        out_trade_no: "T100001".into(),
        out_refund_no: out_refund_no.into(),
        refund,
        total,
        reason: None,
        notify_url: None,
        refund_id: format!("50{out_refund_no}"),
    }
}

#[test]
fn a_retried_create_gets_its_first_answer_and_other_parameters_are_refused() {
    let mut book = Book::default();
    let first = book.create(trade("T100001", 100)).unwrap();
    let Recorded::New(first) = first else {
        panic!("first create is new")
    };
    let mut again = trade("T100001", 100);
    again.answer.code_url = Some("weixin://wxpay/bizpayurl?pr=other".into());
    let Recorded::Replay(replayed) = book.create(again).unwrap() else {
        panic!("same parameters replay")
    };
    assert_eq!(replayed.answer, first.answer);
    assert_eq!(
        book.create(trade("T100001", 101)).unwrap_err(),
        BookError::NumberReused
    );
    book.close("T100001").unwrap();
    assert_eq!(
        book.create(trade("T100001", 100)).unwrap_err(),
        BookError::Closed
    );
}

#[test]
fn refunds_may_not_exceed_what_was_paid() {
    let mut book = paid_book("T100001", 100);
    book.refund(ask("R1", 60, 100), at(1)).unwrap();
    assert_eq!(
        book.refund(ask("R2", 41, 100), at(1)).unwrap_err(),
        BookError::RefundExceedsPaid
    );
    book.refund(ask("R2", 40, 100), at(1)).unwrap();
    assert_eq!(book.trade("T100001").unwrap().state, TradeState::Refund);
}

#[test]
fn the_fifty_first_refund_of_a_trade_is_refused() {
    let mut book = paid_book("T100001", 1_000);
    for n in 0..REFUNDS_PER_TRADE_MAX {
        book.refund(ask(&format!("R{n}"), 1, 1_000), at(1)).unwrap();
    }
    assert_eq!(
        book.refund(ask("R50", 1, 1_000), at(1)).unwrap_err(),
        BookError::TooManyRefunds
    );
}

#[test]
fn a_refund_more_than_365_days_after_payment_is_refused() {
    let mut book = paid_book("T100001", 100);
    assert_eq!(
        book.refund(ask("R1", 10, 100), at(365) + Duration::seconds(1))
            .unwrap_err(),
        BookError::RefundWindowPassed
    );
    assert!(book.refund(ask("R1", 10, 100), at(365)).is_ok());
}

#[test]
fn a_retried_refund_number_replays_and_a_changed_one_is_refused() {
    let mut book = paid_book("T100001", 100);
    let Recorded::New(first) = book.refund(ask("R1", 30, 100), at(1)).unwrap() else {
        panic!("first refund is new")
    };
    assert_eq!(
        book.refund(ask("R1", 30, 100), at(2)).unwrap(),
        Recorded::Replay(first)
    );
    assert_eq!(
        book.refund(ask("R1", 31, 100), at(2)).unwrap_err(),
        BookError::NumberReused
    );
    assert_eq!(
        book.refund(ask("R2", 10, 99), at(2)).unwrap_err(),
        BookError::TotalMismatch
    );
}

#[test]
fn a_paid_trade_cannot_be_closed_and_an_abandoned_one_cannot_be_paid() {
    let mut book = paid_book("T100001", 100);
    assert_eq!(book.close("T100001").unwrap_err(), BookError::Paid);
    book.create(trade("T100002", 100)).unwrap();
    book.set_unpaid("T100002", UnpaidMove::Abandon).unwrap();
    assert_eq!(
        book.pay("T100002", "4200000000202601010000000002".into(), at(0))
            .unwrap_err(),
        BookError::State("abandoned")
    );
}
