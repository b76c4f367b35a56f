//! The reconciliation file by clearing day (23:00 to 23:00 Beijing time).

use crate::support::*;

#[tokio::test]
async fn a_clearing_days_file_holds_exactly_its_transactions_and_23_30_belongs_to_the_next_day() {
    let w = world().await;
    // Beijing times: 19 Nov 23:30 and 20 Nov 10:00 are of the 20 Nov clearing day; 20 Nov 23:30
    // is of the 21st.
    let late_before = trade_no_at("20261119153000");
    let morning = trade_no_at("20261120020000");
    let late = trade_no_at("20261120153000");
    for (trade_no, fen) in [(&late_before, 1000), (&morning, 2000), (&late, 3000)] {
        w.paid_by_code(trade_no, fen).await;
    }
    let refund_no = refund_no_at("20261120030000");
    w.pay
        .refund(&refund_request(&morning, &refund_no, 500))
        .await
        .unwrap();

    let day = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    let lines = w.pay.bill(day).await.unwrap();
    let summary: Vec<(BillLineKind, String, Option<String>, i64, i64)> = lines
        .iter()
        .map(|l| {
            (
                l.kind,
                l.trade_no.clone(),
                l.refund_no.clone(),
                l.amount.amount.minor(),
                l.fee.amount.minor(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                BillLineKind::Payment,
                late_before.as_str().to_owned(),
                None,
                1000,
                6
            ),
            (
                BillLineKind::Payment,
                morning.as_str().to_owned(),
                None,
                2000,
                12
            ),
            // 500 × 0.6% is 3 fen, below the 0.08 yuan minimum: no fee comes back.
            (
                BillLineKind::Refund,
                morning.as_str().to_owned(),
                Some(refund_no.as_str().to_owned()),
                500,
                0
            ),
        ]
    );
    assert_eq!(
        lines[0].at_ms,
        wire::parse_beijing_time("20261119233000").unwrap()
    );
    assert_eq!(lines[1].channel_trade_no, query_id_of(&w, &morning).await);

    let next = w.pay.bill(day.succ_opt().unwrap()).await.unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(
        (
            next[0].trade_no.as_str(),
            next[0].amount.amount.minor(),
            next[0].fee.amount.minor()
        ),
        (late.as_str(), 3000, 18)
    );
    assert_eq!(
        w.pay
            .bill(NaiveDate::from_ymd_opt(2026, 11, 10).unwrap())
            .await
            .unwrap(),
        vec![]
    );
    w.sandbox.shutdown().await;
}
