//! Browser tests (issue #10): the hosted cashier, the demo shop and union login as a payer lives
//! them, in headless Chromium against the real app on a random port with the channels'
//! in-process sandboxes. One Chromium serves the whole binary (`harness`); each test has its own
//! incognito context and device. Each test body runs on SQLite and on PostgreSQL.
//!
//! `cashier` holds the payer's flows (desktop QR, mobile H5, WeChat's browser, expiry, re-entry),
//! `demo_shop` the merchant app end to end, and `screenshots` the pictures in `docs/`.

mod cashier;
mod demo_shop;
mod harness;
mod harness_checks;
mod screenshots;
mod support;
