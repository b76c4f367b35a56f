//! Alipay (open API, RSA2): face-to-face pay and QR codes, JSAPI, WAP, desktop and app pay,
//! queries, close, cancel, refunds and the trade bill. `sign` and `cert` hold the protocol's
//! cryptography, shared by the adapter and the sandbox that plays Alipay's gateway; `AlipayPay`
//! is the adapter, configured by `AlipayConfig` alone.

mod adapter;
pub mod bill;
mod callback;
pub mod cert;
pub mod config;
mod gateway;
mod mapping;
pub mod sign;

pub use adapter::{AlipayPay, CANCEL_ATTEMPTS_MAX, CHANNEL_NAME};
pub use config::{AlipayConfig, AlipayKey, ConfigError};
