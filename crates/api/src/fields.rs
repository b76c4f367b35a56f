//! Reading a verified request's flat fields. Every refusal names its field; absent, `null` and
//! empty text all mean "not given".

use crate::field;
use crate::{DecodeError, FieldError};
use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use paygate_domain::{Amount, AmountError, Currency, IdError, Money};
use serde_json::{Map, Value};
use std::fmt::Display;

/// Any id's text is refused beyond this before its own rule is asked.
const ID_CHARS_MAX: usize = 256;
/// An amount's text is refused beyond this before it is parsed.
pub(crate) const AMOUNT_CHARS_MAX: usize = 32;
pub(crate) const URL_CHARS_MAX: usize = 256;

pub(crate) struct Fields<'a>(pub(crate) &'a Map<String, Value>);

impl Fields<'_> {
    pub(crate) fn text(&self, name: &str, chars_max: usize) -> Result<Option<&str>, FieldError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) if s.chars().count() > chars_max => Err(FieldError::new(
                name,
                format!("must be at most {chars_max} characters"),
            )),
            Some(Value::String(s)) if s.chars().any(char::is_control) => {
                Err(FieldError::new(name, "must not contain control characters"))
            }
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(FieldError::new(name, "must be a string")),
        }
    }

    pub(crate) fn required(&self, name: &str, chars_max: usize) -> Result<&str, FieldError> {
        self.text(name, chars_max)?
            .ok_or_else(|| FieldError::new(name, "is required"))
    }

    pub(crate) fn id<T>(
        &self,
        name: &str,
        parse: fn(&str) -> Result<T, IdError>,
    ) -> Result<Option<T>, FieldError> {
        self.text(name, ID_CHARS_MAX)?
            .map(|s| parse(s).map_err(|e| FieldError::new(name, e.to_string())))
            .transpose()
    }

    pub(crate) fn url(&self, name: &str) -> Result<Option<String>, FieldError> {
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
            Err(FieldError::new(name, "must be an http(s) URL"))
        }
    }

    /// An integer, or the same integer as a string of digits (both are signed alike).
    pub(crate) fn integer(&self, name: &str) -> Result<Option<i64>, FieldError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| FieldError::new(name, "must be an integer")),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => s
                .parse()
                .map(Some)
                .map_err(|_| FieldError::new(name, "must be an integer")),
            Some(_) => Err(FieldError::new(name, "must be an integer")),
        }
    }

    /// A boolean, or the same as the text `true` / `false` (both are signed alike).
    pub(crate) fn boolean(&self, name: &str) -> Result<Option<bool>, FieldError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) if s == "true" => Ok(Some(true)),
            Some(Value::String(s)) if s == "false" => Ok(Some(false)),
            Some(_) => Err(FieldError::new(name, "must be true or false")),
        }
    }

    /// `currency`, CNY when not given.
    pub(crate) fn currency(&self) -> Result<Currency, FieldError> {
        match self.text(field::CURRENCY, 3)? {
            None => Ok(Currency::Cny),
            Some(text) => text
                .parse()
                .map_err(|_| FieldError::new(field::CURRENCY, "must be CNY, HKD, USD or JPY")),
        }
    }

    /// A decimal amount string in the major unit of `currency`.
    pub(crate) fn money(&self, name: &str, currency: Currency) -> Result<Money, FieldError> {
        let text = self.required(name, AMOUNT_CHARS_MAX)?;
        Money::parse(text, currency).map_err(|e| FieldError::new(name, e.to_string()))
    }
}

/// An answer's body, read leniently about shape (numbers may come as text and back, empty text
/// counts as absent, unknown fields are ignored) and strictly about meaning: an id, status or
/// amount that does not parse is an error, never a default.
pub(crate) struct Answer<'a>(pub(crate) &'a Map<String, Value>);

impl Answer<'_> {
    /// A string, integer or boolean field as text; absent, null, nested and empty read as `None`.
    pub(crate) fn text(&self, key: &str) -> Option<String> {
        match self.0.get(key)? {
            Value::String(s) if s.is_empty() => None,
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    pub(crate) fn parse_opt<T, E: Display>(
        &self,
        key: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<Option<T>, DecodeError> {
        self.text(key)
            .map(|text| parse(&text).map_err(|e| DecodeError(format!("{key} = {text:?}: {e}"))))
            .transpose()
    }

    pub(crate) fn parse<T, E: Display>(
        &self,
        key: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<T, DecodeError> {
        self.parse_opt(key, parse)?
            .ok_or_else(|| DecodeError(format!("missing field {key}")))
    }

    /// `currency`, CNY when the body names none (the API's default).
    pub(crate) fn currency(&self) -> Result<Currency, DecodeError> {
        Ok(self
            .parse_opt(field::CURRENCY, str::parse::<Currency>)?
            .unwrap_or(Currency::Cny))
    }

    pub(crate) fn time_opt(&self, key: &str) -> Result<Option<DateTime<Utc>>, DecodeError> {
        self.parse_opt(key, parse_time)
    }
}

/// Like `Money::parse`, but zero is a valid balance here (`refunded_amount` of an unrefunded
/// order), even though it is never a valid amount to pay.
pub(crate) fn balance(text: &str, currency: Currency) -> Result<Money, AmountError> {
    match Money::parse(text, currency) {
        Err(AmountError::NotPositive) => Ok(Money::new(Amount::ZERO, currency)),
        other => other,
    }
}

/// Unix seconds (as a number or digits), or RFC 3339 text.
fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        let secs: i64 = text.parse().map_err(|_| "out of range".to_owned())?;
        return DateTime::from_timestamp(secs, 0).ok_or_else(|| "out of range".to_owned());
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| e.to_string())
}

/// RFC 3339 in China Standard Time, as answers and notifications show times.
pub fn format_time(ms: i64) -> String {
    let cst = FixedOffset::east_opt(8 * 3600).expect("+08:00 is a valid offset");
    cst.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false))
        .unwrap_or_default()
}

pub(crate) fn insert_opt(fields: &mut Map<String, Value>, key: &str, value: Option<&str>) {
    if let Some(text) = value.filter(|t| !t.is_empty()) {
        fields.insert(key.into(), text.into());
    }
}

/// Serde for an answer type through its own `to_fields` and `from_fields`, so serde, the server
/// and the client all read and write it the same way.
macro_rules! serde_via_fields {
    ($ty:ident) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                self.to_fields().serialize(serializer)
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<$ty, D::Error> {
                let body = serde_json::Map::deserialize(deserializer)?;
                $ty::from_fields(body).map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use serde_via_fields;

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_shown_in_china_standard_time() {
        assert_eq!(super::format_time(0), "1970-01-01T08:00:00+08:00");
    }
}
