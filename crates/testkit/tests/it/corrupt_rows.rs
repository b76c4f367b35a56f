//! Invariants are asserted where rows are read back (debug builds): a corrupt row stops the run
//! instead of flowing on as if it were an order.

use crate::support::unpaid_order;
use paygate_domain::OrderStatus;
use paygate_testkit::{both_databases, spawn_app, DbBackend, TestApp};

/// An assignment putting the order in `status` with its `time` column empty.
fn corrupt(status: OrderStatus, time: &str) -> String {
    format!("status = '{status}', {time} = NULL")
}

/// Rewrites the order's row with `set` behind the store's back, then reads it back through the
/// store; returns whether the read-back panicked.
async fn read_back_panics(t: &TestApp, set: &str) -> bool {
    let order = t
        .client
        .create_order(&unpaid_order("CORRUPT-1", "10.00"))
        .await;
    let trade_no = order.expect("create").trade_no;
    sqlx::query(&format!("UPDATE orders SET {set} WHERE trade_no = $1"))
        .bind(trade_no.as_str())
        .execute(t.store().pool())
        .await
        .expect("corrupt the row");
    let store = t.store().clone();
    let read = tokio::spawn(async move { store.get_order(&trade_no).await });
    read.await.is_err_and(|e| e.is_panic())
}

async fn a_paid_order_without_a_paid_time_stops_the_run(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let panicked = read_back_panics(&t, &corrupt(OrderStatus::Success, "paid_at")).await;
    assert_eq!(panicked, cfg!(debug_assertions));
    t.stop().await;
}
both_databases!(a_paid_order_without_a_paid_time_stops_the_run);

/// (Refunded beyond the reservation cannot be written at all: the schema's CHECK refuses it.)
async fn a_closed_order_without_a_closed_time_stops_the_run(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let panicked = read_back_panics(&t, &corrupt(OrderStatus::Closed, "closed_at")).await;
    assert_eq!(panicked, cfg!(debug_assertions));
    t.stop().await;
}
both_databases!(a_closed_order_without_a_closed_time_stops_the_run);
