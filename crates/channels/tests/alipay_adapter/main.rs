//! The Alipay adapter against a stand-in for Alipay's gateway that checks our request
//! signatures as Alipay does and signs its answers and notifications with Alipay's key.

mod bill;
mod callbacks;
mod failures;
mod operations;
mod prepare;
mod support;
