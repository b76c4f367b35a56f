//! Turning a verified request's flat fields into typed commands. Every rule about a field lives
//! here, and every refusal names the field (error 1001).

use crate::notify::target::literal_ip;
use crate::AppError;
use paygate_domain::address::PrivateTargets;
use paygate_domain::{
    Currency, Money, OutRefundNo, OutTradeNo, PayCode, PayType, RefundNo, TradeNo, WalletAccountId,
};
use paygate_store::{OrderRef, RefundRef};
use serde_json::{Map, Value};

pub const SUBJECT_CHARS_MAX: usize = 128;
pub const BODY_CHARS_MAX: usize = 512;
pub const URL_CHARS_MAX: usize = 256;
pub const ATTACH_CHARS_MAX: usize = 128;
pub const REASON_CHARS_MAX: usize = 256;
/// An order may stay payable at most this long (WeChat and Alipay cap near this too).
pub const EXPIRE_SECS_MAX: i64 = 7 * 24 * 3600;
pub const EXPIRE_SECS_MIN: i64 = 60;

struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    fn text(&self, name: &str, chars_max: usize) -> Result<Option<&str>, AppError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) if s.chars().count() > chars_max => Err(AppError::param(
                name,
                format!("must be at most {chars_max} characters"),
            )),
            Some(Value::String(s)) if s.chars().any(char::is_control) => {
                Err(AppError::param(name, "must not contain control characters"))
            }
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(AppError::param(name, "must be a string")),
        }
    }

    fn required(&self, name: &str, chars_max: usize) -> Result<&str, AppError> {
        self.text(name, chars_max)?
            .ok_or_else(|| AppError::param(name, "is required"))
    }

    fn id<T>(
        &self,
        name: &str,
        parse: fn(&str) -> Result<T, paygate_domain::IdError>,
    ) -> Result<Option<T>, AppError> {
        self.text(name, 256)?
            .map(|s| parse(s).map_err(|e| AppError::param(name, e.to_string())))
            .transpose()
    }

    fn url(&self, name: &str) -> Result<Option<String>, AppError> {
        let Some(text) = self.text(name, URL_CHARS_MAX)? else {
            return Ok(None);
        };
        // Parsed as the notifier's HTTP client will parse it, so both see the same host.
        let parsed = url::Url::parse(text).ok();
        let ok = (text.starts_with("http://") || text.starts_with("https://"))
            && text.len() > "https://".len()
            && !text.contains(char::is_whitespace)
            && parsed.is_some_and(|url| url.host().is_some());
        if ok {
            Ok(Some(text.to_owned()))
        } else {
            Err(AppError::param(name, "must be an http(s) URL"))
        }
    }

    fn integer(&self, name: &str) -> Result<Option<i64>, AppError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| AppError::param(name, "must be an integer")),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => s
                .parse()
                .map(Some)
                .map_err(|_| AppError::param(name, "must be an integer")),
            Some(_) => Err(AppError::param(name, "must be an integer")),
        }
    }

    fn currency(&self) -> Result<Currency, AppError> {
        match self.text("currency", 3)? {
            None => Ok(Currency::Cny),
            Some(text) => text
                .parse()
                .map_err(|_| AppError::param("currency", "must be CNY, HKD, USD or JPY")),
        }
    }

    fn money(&self, name: &str, currency: Currency) -> Result<Money, AppError> {
        let text = self.required(name, 32)?;
        Money::parse(text, currency).map_err(|e| AppError::param(name, e.to_string()))
    }

    /// `trade_no` (ours) wins over `out_trade_no` when both are given.
    fn order_ref(&self) -> Result<OrderRef, AppError> {
        if let Some(trade_no) = self.id("trade_no", TradeNo::parse)? {
            return Ok(OrderRef::TradeNo(trade_no));
        }
        self.id("out_trade_no", OutTradeNo::parse)?
            .map(OrderRef::OutTradeNo)
            .ok_or_else(|| AppError::param("out_trade_no", "out_trade_no or trade_no is required"))
    }
}

#[derive(Debug, Clone)]
pub struct CreateOrder {
    pub out_trade_no: OutTradeNo,
    pub money: Money,
    pub subject: String,
    pub body: Option<String>,
    pub pay_type: PayType,
    pub notify_url: String,
    pub return_url: Option<String>,
    pub attach: Option<String>,
    /// Absolute expiry, Unix seconds, if the merchant set one.
    pub expire_time: Option<i64>,
    /// A wallet account the merchant names; recorded, never charged on its own (DESIGN §3).
    pub buyer_id: Option<WalletAccountId>,
    /// The payer's one-time pay code (micropay): the payer's consent to be charged now.
    pub auth_code: Option<PayCode>,
}

/// `auth_code`, the payer's pay code: its shape is checked here (1001), its validity by the
/// wallet that issued it (1011). Its presence makes the create a micropay.
fn pay_code(f: &Fields<'_>) -> Result<Option<PayCode>, AppError> {
    f.text("auth_code", 32)?
        .map(|text| PayCode::parse(text).map_err(|e| AppError::param("auth_code", e.to_string())))
        .transpose()
}

impl CreateOrder {
    pub fn parse(fields: &Map<String, Value>, now_secs: i64) -> Result<CreateOrder, AppError> {
        let f = Fields(fields);
        let out_trade_no = f
            .id("out_trade_no", OutTradeNo::parse)?
            .ok_or_else(|| AppError::param("out_trade_no", "is required"))?;
        let currency = f.currency()?;
        let money = f.money("total_amount", currency)?;
        let subject = f.required("subject", SUBJECT_CHARS_MAX)?.to_owned();
        let pay_type = f
            .required("pay_type", 32)?
            .parse::<PayType>()
            .map_err(|e| AppError::param("pay_type", e))?;
        let notify_url = f
            .url("notify_url")?
            .ok_or_else(|| AppError::param("notify_url", "is required"))?;
        let expire_time = f.integer("expire_time")?;
        if let Some(at) = expire_time {
            if at < now_secs + EXPIRE_SECS_MIN || at > now_secs + EXPIRE_SECS_MAX {
                return Err(AppError::param(
                    "expire_time",
                    "must be Unix seconds between 1 minute and 7 days from now",
                ));
            }
        }
        Ok(CreateOrder {
            out_trade_no,
            money,
            subject,
            body: f.text("body", BODY_CHARS_MAX)?.map(str::to_owned),
            pay_type,
            notify_url,
            return_url: f.url("return_url")?,
            attach: f.text("attach", ATTACH_CHARS_MAX)?.map(str::to_owned),
            expire_time,
            buyer_id: f.id("buyer_id", WalletAccountId::parse)?,
            auth_code: pay_code(&f)?,
        })
    }
}

impl CreateOrder {
    /// Refuses a `notify_url` or `return_url` whose host is a literal address outside the public
    /// internet (1001 naming the field) unless `targets` allows it. A host name is checked when
    /// a notification is delivered, on the addresses it then resolves to.
    pub fn check_targets(&self, targets: PrivateTargets) -> Result<(), AppError> {
        let urls = [
            ("notify_url", Some(&self.notify_url)),
            ("return_url", self.return_url.as_ref()),
        ];
        for (field, url) in urls {
            if let Some(ip) = url.and_then(|url| literal_ip(url)) {
                targets
                    .check(ip)
                    .map_err(|e| AppError::param(field, format!("must not point at {e}")))?;
            }
        }
        Ok(())
    }
}

/// Query and close name an order and nothing else.
pub fn parse_order_ref(fields: &Map<String, Value>) -> Result<OrderRef, AppError> {
    Fields(fields).order_ref()
}

#[derive(Debug, Clone)]
pub struct RefundOrder {
    pub order: OrderRef,
    pub out_refund_no: OutRefundNo,
    /// Parsed against the order's currency once the order is found.
    pub refund_amount: String,
    pub reason: String,
}

impl RefundOrder {
    pub fn parse(fields: &Map<String, Value>) -> Result<RefundOrder, AppError> {
        let f = Fields(fields);
        let order = f.order_ref()?;
        let out_refund_no = f
            .id("out_refund_no", OutRefundNo::parse)?
            .ok_or_else(|| AppError::param("out_refund_no", "is required"))?;
        let refund_amount = f.required("refund_amount", 32)?.to_owned();
        // Validate the shape now, so a bad amount is refused before any lookup.
        Money::parse(&refund_amount, Currency::Cny)
            .or_else(|_| Money::parse(&refund_amount, Currency::Jpy))
            .map_err(|e| AppError::param("refund_amount", e.to_string()))?;
        let reason = f.required("refund_reason", REASON_CHARS_MAX)?.to_owned();
        Ok(RefundOrder {
            order,
            out_refund_no,
            refund_amount,
            reason,
        })
    }
}

pub fn parse_refund_ref(fields: &Map<String, Value>) -> Result<RefundRef, AppError> {
    let f = Fields(fields);
    if let Some(refund_no) = f.id("refund_no", RefundNo::parse)? {
        return Ok(RefundRef::RefundNo(refund_no));
    }
    f.id("out_refund_no", OutRefundNo::parse)?
        .map(RefundRef::OutRefundNo)
        .ok_or_else(|| AppError::param("out_refund_no", "out_refund_no or refund_no is required"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn create(overrides: Value) -> Result<CreateOrder, AppError> {
        let mut fields = json!({
            "out_trade_no": "T1", "total_amount": "10.00", "subject": "tea",
            "pay_type": "wallet", "notify_url": "https://shop.example/notify"
        })
        .as_object()
        .unwrap()
        .clone();
        for (k, v) in overrides.as_object().unwrap() {
            fields.insert(k.clone(), v.clone());
        }
        CreateOrder::parse(&fields, 1_795_000_000)
    }

    fn refused_field(result: Result<CreateOrder, AppError>) -> String {
        match result {
            Err(AppError::Param { field, .. }) => field,
            other => panic!("expected a parameter error, got {other:?}"),
        }
    }

    #[test]
    fn a_complete_create_request_parses() {
        let cmd = create(json!({})).unwrap();
        assert_eq!(cmd.money.amount.minor(), 1000);
        assert_eq!(cmd.money.currency, Currency::Cny);
    }

    #[test]
    fn each_bad_field_is_named() {
        assert_eq!(
            refused_field(create(json!({"total_amount": "1.001"}))),
            "total_amount"
        );
        assert_eq!(
            refused_field(create(json!({"total_amount": 10}))),
            "total_amount"
        );
        assert_eq!(refused_field(create(json!({"subject": null}))), "subject");
        assert_eq!(
            refused_field(create(json!({"subject": "x".repeat(129)}))),
            "subject"
        );
        assert_eq!(
            refused_field(create(json!({"pay_type": "cash"}))),
            "pay_type"
        );
        assert_eq!(
            refused_field(create(json!({"notify_url": "ftp://x"}))),
            "notify_url"
        );
        assert_eq!(
            refused_field(create(json!({"currency": "XYZ"}))),
            "currency"
        );
        assert_eq!(
            refused_field(create(json!({"out_trade_no": "a b"}))),
            "out_trade_no"
        );
        assert_eq!(
            refused_field(create(json!({"expire_time": 1}))),
            "expire_time"
        );
        assert_eq!(refused_field(create(json!({"attach": true}))), "attach");
        for bad_code in [
            "12345",
            "280000000000000001",
            "88000000000000000x",
            "8800000000000000001",
        ] {
            assert_eq!(
                refused_field(create(json!({"auth_code": bad_code}))),
                "auth_code"
            );
        }
        assert_eq!(
            refused_field(create(json!({"auth_code": 880000000000000001_i64}))),
            "auth_code"
        );
    }

    #[test]
    fn a_pay_code_parses_and_is_optional() {
        let code = "880000000000000001";
        let plain = create(json!({"auth_code": code})).unwrap();
        assert_eq!(plain.auth_code.unwrap().as_str(), code);
        assert!(create(json!({})).unwrap().auth_code.is_none());
    }

    #[test]
    fn a_literal_private_address_is_refused_naming_its_field_unless_allowed() {
        for url in [
            "http://127.0.0.1/x",
            "http://0x7f.1/",
            "http://2130706433/",
            "http://10.0.0.1/",
            "http://169.254.169.254/latest",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
        ] {
            for field in ["notify_url", "return_url"] {
                let cmd = create(json!({ field: url })).unwrap();
                let refused = cmd.check_targets(PrivateTargets::Refused);
                assert_eq!(refused_field(refused.map(|()| cmd.clone())), field, "{url}");
                assert!(cmd.check_targets(PrivateTargets::Allowed).is_ok(), "{url}");
            }
        }
        let public = create(json!({"return_url": "https://shop.example/done"})).unwrap();
        assert!(public.check_targets(PrivateTargets::Refused).is_ok());
        // A host name is judged on what it resolves to, at delivery.
        let named = create(json!({"notify_url": "http://localhost:9/n"})).unwrap();
        assert!(named.check_targets(PrivateTargets::Refused).is_ok());
    }

    #[test]
    fn a_url_without_a_host_is_refused() {
        assert_eq!(
            refused_field(create(json!({"notify_url": "http://:80/"}))),
            "notify_url"
        );
    }
}
