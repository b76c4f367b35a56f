//! Test support: `spawn_app` starts the real HTTP app on a random loopback port against a fresh
//! database (a SQLite file in a temporary directory, or a new PostgreSQL database), with a merchant
//! and a signing client ready.
//!
//! PostgreSQL is required by default: a test on PostgreSQL fails when the server is unreachable.
//! Set `PAYGATE_TEST_SKIP_PG=1` to skip those tests on a machine without it (CI never does).
//! `PAYGATE_TEST_PG_URL` names the server (default `postgres://postgres@127.0.0.1:5432/test`).
//!
//! Layout: `database` makes and drops the per-test database, `app` starts the app on it,
//! `merchants` creates merchants and their signed clients, `macros` holds `both_databases!`;
//! `merchant_server` and `scripted` stand in for the merchant's notify endpoint and a channel.

mod app;
mod database;
mod macros;
mod merchant_server;
mod merchants;
mod scripted;

pub use app::{spawn_app, spawn_app_with, TestApp, TestOptions, Workers};
pub use database::{pg_admin_url, pg_skipped, TempDir, TestDb, DEFAULT_PG_URL};
pub use merchant_server::{Answer, MerchantServer};
pub use merchants::{client_for, create_merchant, create_merchant_with, sign_key_of};
pub use paygate_store::Backend as DbBackend;
pub use scripted::ScriptedChannel;
