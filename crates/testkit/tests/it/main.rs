//! Paygate's integration tests: the real app on a random port against a fresh database, driven
//! through the merchant SDK. Each test body runs on SQLite and on PostgreSQL.

mod smoke;
