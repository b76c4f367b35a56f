//! WeChat Pay's fields to ours and back: fen, Beijing-time timestamps, trade and refund states,
//! and the invoke parameters a payer's WeChat is started with. The only place in Paygate that
//! converts an amount to or from WeChat Pay's unit.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, SecondsFormat};
use paygate_domain::sign::SignKey;
use paygate_domain::{Amount, Currency, Money};

use super::v3_auth::{app_pay_message, jsapi_pay_message};
use super::v3_wire::{self, RefundStatus, Transaction};
use crate::{RefundOutcome, TradeState};

/// WeChat Pay writes times in Beijing time.
const BEIJING_OFFSET_SECS: i32 = 8 * 3600;
pub(crate) const CNY: &str = "CNY";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum MappingError {
    #[error("WeChat Pay takes CNY only, not {}", .0.as_str())]
    Currency(Currency),
    #[error("{0} is not an amount in fen")]
    Fen(i64),
    #[error("{0:?} is not an RFC 3339 time")]
    Time(String),
    #[error("{0} is missing")]
    Missing(&'static str),
}

/// Our money as WeChat Pay's `total` / `refund`: integer fen.
pub(crate) fn to_fen(money: Money) -> Result<i64, MappingError> {
    match money.currency {
        Currency::Cny => Ok(money.amount.minor()),
        other => Err(MappingError::Currency(other)),
    }
}

pub(crate) fn from_fen(fen: i64) -> Result<Money, MappingError> {
    let amount = Amount::from_minor(fen).map_err(|_| MappingError::Fen(fen))?;
    Ok(Money::new(amount, Currency::Cny))
}

/// `time_expire`: RFC 3339 in Beijing time, to the second (`2026-11-29T20:00:00+08:00`).
pub(crate) fn beijing_time(at_ms: i64) -> Result<String, MappingError> {
    let offset = FixedOffset::east_opt(BEIJING_OFFSET_SECS).expect("+08:00 is a valid offset");
    let at = DateTime::from_timestamp_millis(at_ms)
        .ok_or_else(|| MappingError::Time(at_ms.to_string()))?;
    Ok(at
        .with_timezone(&offset)
        .to_rfc3339_opts(SecondsFormat::Secs, false))
}

pub(crate) fn parse_time_ms(text: &str) -> Result<i64, MappingError> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.timestamp_millis())
        .map_err(|_| MappingError::Time(text.to_owned()))
}

/// The trade layer of a transaction. `PAYERROR` (the payer's bank refused) is "not paid, still
/// open": WeChat Pay lets the payer try again with another card until the trade expires, and
/// our expiry closes it otherwise, so the order waits exactly as for `NOTPAY`.
pub(crate) fn trade_state(tx: &Transaction) -> Result<TradeState, MappingError> {
    Ok(match tx.trade_state {
        // REFUND: it was paid, and refunds are ours to track.
        v3_wire::TradeState::Success | v3_wire::TradeState::Refund => TradeState::Paid {
            channel_trade_no: tx
                .transaction_id
                .clone()
                .ok_or(MappingError::Missing("transaction_id"))?,
            paid_at_ms: parse_time_ms(
                tx.success_time
                    .as_deref()
                    .ok_or(MappingError::Missing("success_time"))?,
            )?,
        },
        v3_wire::TradeState::Notpay | v3_wire::TradeState::Payerror => TradeState::WaitingPayment,
        v3_wire::TradeState::Userpaying => TradeState::PayerConfirming,
        v3_wire::TradeState::Closed | v3_wire::TradeState::Revoked => TradeState::Closed,
    })
}

/// A refund's state as the create, the query and the callback report it.
pub(crate) fn refund_outcome(status: RefundStatus, refund_id: &str) -> RefundOutcome {
    match status {
        RefundStatus::Success => RefundOutcome::Succeeded {
            channel_refund_no: Some(refund_id.to_owned()),
        },
        RefundStatus::Processing => RefundOutcome::Processing,
        RefundStatus::Closed => RefundOutcome::Failed("CLOSED: the refund was closed".into()),
        RefundStatus::Abnormal => RefundOutcome::Failed(
            "ABNORMAL: the payer's account or card could not take the refund".into(),
        ),
    }
}

/// What the parameters' signatures need besides the prepay id.
pub(crate) struct Invoke<'a> {
    pub appid: &'a str,
    pub mchid: &'a str,
    pub timestamp: i64,
    pub nonce: &'a str,
    pub key: &'a SignKey,
}

type Params = BTreeMap<String, String>;

fn params<const N: usize>(pairs: [(&str, String); N]) -> Params {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// `wx.requestPayment` / `WeixinJSBridge.invoke('getBrandWCPayRequest')` takes exactly these.
pub(crate) fn jsapi_params(
    invoke: &Invoke<'_>,
    prepay_id: &str,
) -> Result<Params, paygate_domain::sign::SignError> {
    let message = jsapi_pay_message(invoke.appid, invoke.timestamp, invoke.nonce, prepay_id);
    Ok(params([
        ("appId", invoke.appid.to_owned()),
        ("timeStamp", invoke.timestamp.to_string()),
        ("nonceStr", invoke.nonce.to_owned()),
        ("package", format!("prepay_id={prepay_id}")),
        ("signType", "RSA".to_owned()),
        ("paySign", invoke.key.sign_string(&message)?),
    ]))
}

/// The APP SDK's `PayReq` fields.
pub(crate) fn app_params(
    invoke: &Invoke<'_>,
    prepay_id: &str,
) -> Result<Params, paygate_domain::sign::SignError> {
    let message = app_pay_message(invoke.appid, invoke.timestamp, invoke.nonce, prepay_id);
    Ok(params([
        ("appid", invoke.appid.to_owned()),
        ("partnerid", invoke.mchid.to_owned()),
        ("prepayid", prepay_id.to_owned()),
        ("package", "Sign=WXPay".to_owned()),
        ("noncestr", invoke.nonce.to_owned()),
        ("timestamp", invoke.timestamp.to_string()),
        ("sign", invoke.key.sign_string(&message)?),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_written_in_beijing_time_to_the_second() {
        // 2026-11-29T12:00:00Z, plus 999 ms that WeChat Pay's format has no room for.
        assert_eq!(
            beijing_time(1_795_953_600_999).unwrap(),
            "2026-11-29T20:00:00+08:00"
        );
        assert_eq!(
            parse_time_ms("2026-11-29T20:00:00+08:00").unwrap(),
            1_795_953_600_000
        );
        assert!(parse_time_ms("2026-11-29 20:00:00").is_err());
    }

    #[test]
    fn only_cny_converts_to_fen_and_back_exactly() {
        let money = Money::new(Amount::from_minor(1_999).unwrap(), Currency::Cny);
        assert_eq!(to_fen(money), Ok(1_999));
        assert_eq!(from_fen(1_999), Ok(money));
        let usd = Money::new(Amount::from_minor(1_999).unwrap(), Currency::Usd);
        assert_eq!(to_fen(usd), Err(MappingError::Currency(Currency::Usd)));
        assert_eq!(from_fen(-1), Err(MappingError::Fen(-1)));
    }
}
