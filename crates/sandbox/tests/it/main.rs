//! The WeChat Pay sandbox driven from outside, as a merchant's client would: requests signed
//! with `paygate_channels::wechat::v3_auth`, answers and callbacks verified with the platform
//! key from the credentials file.

mod bill;
mod callbacks;
mod credentials;
mod faults;
mod helpers;
mod micropay;
mod orders;
mod refunds;
