//! The Alipay sandbox over HTTP, as a merchant's client meets it: requests signed with the app's
//! key (`paygate_channels::alipay::sign`), answers and notifications verified with Alipay's.

mod flows;
mod gateway;
mod helpers;
