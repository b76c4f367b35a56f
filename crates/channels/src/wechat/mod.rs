//! WeChat Pay: API v3 for JSAPI, Native, H5, APP, queries, close and refunds; API v2 (XML,
//! HMAC-SHA256) for micropay. This module holds the protocol's cryptography, shared by the
//! channel adapter and the sandbox that plays WeChat Pay's server.

pub mod bill;
pub mod micropay;
pub mod v2_sign;
pub mod v2_xml;
pub mod v3_auth;
pub mod v3_wire;
