//! UnionPay's online gateway (全渠道, version 5.1.0): form-encoded requests signed with the
//! merchant's certificate key (`signMethod=01`), answers and back notifications signed by
//! UnionPay's signing certificate. `sign` and `wire` (signing, the form and answer formats,
//! Beijing times) and `bill` (the reconciliation file) are shared by the adapter and the sandbox
//! that plays UnionPay's server; `UnionPay` is the adapter, configured by `UnionpayConfig` alone.

mod adapter;
pub mod bill;
mod callback;
pub mod config;
mod http;
pub mod sign;
pub mod wire;

pub use adapter::{UnionPay, CHANNEL_NAME};
pub use config::{ConfigError, UnionpayConfig};
