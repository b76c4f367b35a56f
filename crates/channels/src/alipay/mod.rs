//! Alipay (open API, RSA2): face-to-face pay and QR codes, JSAPI, WAP, desktop and app pay,
//! queries, close, cancel, refunds and the trade bill. `sign` and `cert` hold the protocol's
//! cryptography, shared by the adapter and the sandbox that plays Alipay's gateway.

pub mod cert;
pub mod sign;
