//! The adapter against the UnionPay sandbox, configured only from the credentials file the
//! sandbox writes: web and WAP forms, APP `tn`, QR apply and pay codes are paid, queried and
//! notified; refunds and a same-day void go through; faults leave outcomes to queries and
//! forged notifications are refused; the reconciliation file of a clearing day (23:00 to 23:00)
//! holds exactly that day's transactions. Each side checks the other's signatures.

mod clearing;
mod payments;
mod refunds;
mod support;
