//! Browser tests (issue #10): the hosted cashier, the demo shop and union login as a payer lives
//! them, in headless Chromium against the real app on a random port with the channels'
//! in-process sandboxes. One Chromium serves the whole binary (`harness`); each test has its own
//! incognito context and device. Each test body runs on SQLite and on PostgreSQL.
//!
//! `cashier` holds the payer's flows (desktop QR, mobile H5, WeChat's browser, expiry, re-entry,
//! merchant text escaped), `union_login` the partner's user paying from the wallet, `demo_shop`
//! the merchant app end to end, and `screenshots` the pictures in `docs/`; `harness_checks`
//! tests the harness itself.

// Amounts in fen are written with the separator where the decimal point would be (`87_66` is
// 87.66 yuan).
#![allow(clippy::inconsistent_digit_grouping)]

mod cashier;
mod demo_shop;
mod harness;
mod harness_checks;
mod screenshots;
mod support;
mod union_login;
