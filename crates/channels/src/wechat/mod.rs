//! WeChat Pay: API v3 for JSAPI, Native, H5, APP, queries, close and refunds; API v2 (XML,
//! HMAC-SHA256) for micropay. The protocol's cryptography and wire types (`v3_auth`,
//! `v3_wire`, `v2_*`) are shared by the channel adapter and the sandbox that plays WeChat Pay's
//! server; `WechatPay` is the adapter, configured by `WechatConfig` alone.

mod adapter;
pub mod bill;
mod callback;
pub mod config;
mod http;
mod mapping;
pub mod micropay;
pub mod oauth;
pub mod v2_sign;
pub mod v2_xml;
pub mod v3_auth;
pub mod v3_wire;
pub mod verify;

pub use adapter::{WechatPay, CHANNEL_NAME};
pub use config::{ConfigError, PlatformKey, WechatConfig};
pub use oauth::WechatSignIn;
