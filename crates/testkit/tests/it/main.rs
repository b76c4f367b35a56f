//! Paygate's integration tests: the real app on a random port against a fresh database, driven
//! through the merchant SDK. Each test body runs on SQLite and on PostgreSQL.
//!
//! The modules follow issue #2's acceptance list: `orders` (states through the API),
//! `idempotency` and `refunds` (exactly-once effects), `signing` (authentic requests and
//! answers), `bad_input` (parameter errors that write nothing), `wallet` (money moves exactly)
//! and `metrics`. `support` holds the builders and assertions they share. `wechat` runs issue
//! #8's WeChat Pay flows end to end against the in-process sandbox; `alipay` and `unionpay`
//! issue #9's Alipay and UnionPay flows, and `aggregated` its aggregated micropay and QR code.

// Amounts in fen are written with the separator where the decimal point would be (`12_34` is
// 12.34 yuan), which reads as money; clippy's digit grouping would hide that.
#![allow(clippy::inconsistent_digit_grouping)]

mod admin;
mod aggregated;
mod alipay;
mod bad_input;
mod balances;
mod cashier;
mod consent;
mod corrupt_rows;
mod day_in_the_life;
mod fees;
mod idempotency;
mod jobs;
mod keys;
mod ledger;
mod maintenance;
mod merchant_money;
mod metrics;
mod money_properties;
mod notify;
mod notify_pipeline;
mod notify_targets;
mod notify_verdicts;
mod openapi_requests;
mod order_fees;
mod orders;
mod partner_sync;
mod payout_cards;
mod payouts;
mod refunds;
mod replay;
mod settlement;
mod signing;
mod slow_connections;
mod smoke;
mod split_rules;
mod splits;
mod support;
mod union_login;
mod unionpay;
mod wallet;
mod wechat;
