//! The WeChat Pay v3 adapter against a stand-in for WeChat Pay's server that checks our
//! signatures as WeChat Pay does and signs its answers and callbacks with a platform key.

mod bill;
mod callbacks;
mod failures;
mod operations;
mod support;
