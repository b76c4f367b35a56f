//! Share rules given at create (`split_rules`, `split_mode`; issue #11), and how an order's
//! answer shows them. Like the split API's `receivers`, the rules travel as one JSON text field
//! of the flat signed format and are signed as that text.

use crate::fields::{Answer, Fields, AMOUNT_CHARS_MAX};
use crate::schema::{one_of_values, opt_text_prop, string, values, Property};
use crate::split::{AMOUNT, OUT_SPLIT_NO, RECEIVER_ID};
use crate::{DecodeError, FieldError};
use paygate_domain::split::ReceiverId;
use paygate_domain::split_rules::{
    AutoSplitStatus, OrderSplit, SplitMode, SplitRule, AUTO_SPLIT_PREFIX, SPLIT_RULES_MAX,
    SPLIT_RULE_DESCRIPTION_CHARS_MAX,
};
use paygate_domain::{Currency, Money, OutSplitNo};
use serde_json::{json, Map, Value};
use utoipa::openapi::schema::{Object, ObjectBuilder, OneOfBuilder, Schema};
use utoipa::openapi::RefOr;

pub const SPLIT_RULES: &str = "split_rules";
pub const SPLIT_MODE: &str = "split_mode";
pub const SPLIT_STATUS: &str = "split_status";
pub const SPLIT_FAIL_REASON: &str = "split_fail_reason";
pub const DESCRIPTION: &str = "description";

/// The `split_rules` text's length bound: ten entries of the longest id, amount and
/// description fit.
const SPLIT_RULES_CHARS_MAX: usize = 4096;

/// One rule as the document states it. A little narrower than the server, as the URL pattern
/// is: no whitespace between tokens, no escapes, ASCII descriptions, and amounts below 10^11 so
/// that no ten of them overflow; whatever it generates parses.
const RULE: &str = concat!(
    "\\{\"receiver_id\":\"[!#-9;-\\[\\]-~]{1,64}\",",
    "\"amount\":\"([1-9][0-9]{0,10}(\\.[0-9]{1,2})?|0\\.([1-9][0-9]?|0[1-9]))\"",
    "(,\"description\":\"[ !#-\\[\\]-~]{0,80}\")?\\}"
);

fn rules_pattern() -> String {
    format!("^\\[{RULE}(,{RULE}){{0,{}}}\\]$", SPLIT_RULES_MAX - 1)
}

fn rule_of(entry: &Value, currency: Currency) -> Result<SplitRule, FieldError> {
    let bad = |why: String| FieldError::new(SPLIT_RULES, why);
    let entry = entry
        .as_object()
        .ok_or_else(|| bad("each entry must be an object".into()))?;
    if let Some(key) = entry
        .keys()
        .find(|k| ![RECEIVER_ID, AMOUNT, DESCRIPTION].contains(&k.as_str()))
    {
        return Err(bad(format!("unknown key {key:?} in an entry")));
    }
    let id = entry
        .get(RECEIVER_ID)
        .and_then(Value::as_str)
        .ok_or_else(|| bad("each entry needs a receiver_id string".into()))?;
    let amount = entry
        .get(AMOUNT)
        .and_then(Value::as_str)
        .filter(|a| a.len() <= AMOUNT_CHARS_MAX)
        .ok_or_else(|| bad("each entry needs an amount string".into()))?;
    let description = match entry.get(DESCRIPTION) {
        None | Some(Value::Null) => None,
        Some(Value::String(text))
            if text.chars().count() <= SPLIT_RULE_DESCRIPTION_CHARS_MAX
                && !text.chars().any(char::is_control) =>
        {
            Some(text.clone()).filter(|t| !t.is_empty())
        }
        Some(_) => {
            return Err(bad(format!(
                "a description must be text of at most {SPLIT_RULE_DESCRIPTION_CHARS_MAX} \
                 characters without control characters"
            )))
        }
    };
    Ok(SplitRule {
        receiver_id: ReceiverId::parse(id).map_err(|e| bad(e.to_string()))?,
        amount: Money::parse(amount, currency)
            .map_err(|e| bad(format!("amount {amount:?}: {e}")))?
            .amount,
        description,
    })
}

/// `split_rules` and `split_mode` of a create whose currency is `currency`; `split_mode` alone
/// is refused.
pub(crate) fn read(f: &Fields<'_>, currency: Currency) -> Result<Option<OrderSplit>, FieldError> {
    let mode = f
        .text(SPLIT_MODE, 16)?
        .map(|m| {
            m.parse::<SplitMode>()
                .map_err(|_| FieldError::new(SPLIT_MODE, "must be immediate or on_finish"))
        })
        .transpose()?;
    let Some(text) = f.text(SPLIT_RULES, SPLIT_RULES_CHARS_MAX)? else {
        return match mode {
            Some(_) => Err(FieldError::new(
                SPLIT_MODE,
                "is taken only with split_rules",
            )),
            None => Ok(None),
        };
    };
    let list: Vec<Value> = serde_json::from_str(text).map_err(|_| {
        FieldError::new(
            SPLIT_RULES,
            "must be a JSON array of {receiver_id, amount, description?}",
        )
    })?;
    if list.is_empty() || list.len() > SPLIT_RULES_MAX {
        return Err(FieldError::new(
            SPLIT_RULES,
            format!("must list 1 to {SPLIT_RULES_MAX} rules"),
        ));
    }
    let rules = list
        .iter()
        .map(|entry| rule_of(entry, currency))
        .collect::<Result<Vec<_>, _>>()?;
    OrderSplit::new(mode.unwrap_or_default(), rules)
        .map(Some)
        .map_err(|e| FieldError::new(SPLIT_RULES, e.to_string()))
}

/// The rules as the `split_rules` text: what a create sends and an order's answer shows.
pub fn rules_text(rules: &[SplitRule], currency: Currency) -> String {
    let list: Vec<Value> = rules
        .iter()
        .map(|r| {
            let mut entry = json!({
                RECEIVER_ID: r.receiver_id.as_str(),
                AMOUNT: Money::new(r.amount, currency).to_major_string(),
            });
            if let Some(description) = &r.description {
                entry[DESCRIPTION] = description.as_str().into();
            }
            entry
        })
        .collect();
    Value::Array(list).to_string()
}

/// Adds `split_rules` and `split_mode` to a create's fields.
pub(crate) fn write(fields: &mut Map<String, Value>, split: &OrderSplit, currency: Currency) {
    fields.insert(
        SPLIT_RULES.into(),
        rules_text(&split.rules, currency).into(),
    );
    fields.insert(SPLIT_MODE.into(), split.mode.as_str().into());
}

/// The create's two fields, for its document.
pub(crate) fn create_properties() -> Vec<(&'static str, RefOr<Schema>)> {
    vec![
        (
            SPLIT_RULES,
            string(
                &rules_pattern(),
                (1, SPLIT_RULES_CHARS_MAX),
                "Profit sharing (分账) of this order: a JSON array of 1-10 objects \
                 {\"receiver_id\": a receiver registered with /api/split/receiver/add and not \
                 removed, \"amount\": in the order's currency with up to two decimals and \
                 above zero, \"description\": optional, up to 80 characters}, each receiver \
                 once, e.g. [{\"receiver_id\":\"C\",\"amount\":\"20.00\"}]. Checked at create: \
                 a malformed list answers 1001; a receiver not registered or more receivers \
                 than the channel's cap (WeChat Pay 5, Alipay 10) 1014; a total above \
                 total_amount less the fee the merchant's current fee schedule gives for \
                 pay_type 1015. Part of the order: a retry must send the same rules (else \
                 1004). The rules are applied as one split request numbered \
                 auto-<trade_no> (see split_mode).",
            )
            .into(),
        ),
        (
            SPLIT_MODE,
            one_of_values(
                &SplitMode::ALL.map(SplitMode::as_str),
                "When split_rules are applied (only with split_rules): immediate (default) \
                 shortly after the order is paid, by a background step; on_finish when the \
                 merchant calls /api/split/finish, just before sharing ends. Either way a rule \
                 that can no longer be applied (a receiver removed since, a refund that left \
                 too little) makes the automatic split FAILED with its reason, shown by the \
                 order query, and nothing moves.",
            )
            .into(),
        ),
    ]
}

/// `split_mode` goes with `split_rules`: either both are absent (empty counts as absent) or
/// `split_rules` is given.
pub(crate) fn create_branches() -> Schema {
    let absent = |what: &str| one_of_values(&[""], what);
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .property(SPLIT_RULES, absent("No share rules."))
                .property(SPLIT_MODE, absent("Taken only with split_rules.")),
        )
        .item(ObjectBuilder::new().required(SPLIT_RULES))
        .into()
}

/// An order's share rules as its answer shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSplitView {
    pub split: OrderSplit,
    pub status: AutoSplitStatus,
    /// The merchant number the rules are applied under: `auto-<trade_no>`.
    pub out_split_no: OutSplitNo,
    pub fail_reason: Option<String>,
}

impl OrderSplitView {
    pub(crate) fn insert_into(&self, view: &mut Map<String, Value>, currency: Currency) {
        write(view, &self.split, currency);
        view.insert(SPLIT_STATUS.into(), self.status.as_str().into());
        view.insert(OUT_SPLIT_NO.into(), self.out_split_no.as_str().into());
        if let Some(reason) = &self.fail_reason {
            view.insert(SPLIT_FAIL_REASON.into(), reason.as_str().into());
        }
    }

    /// The rules an answer shows, if it shows any.
    pub(crate) fn read(
        f: &Answer<'_>,
        currency: Currency,
    ) -> Result<Option<OrderSplitView>, DecodeError> {
        if f.text(SPLIT_RULES).is_none() {
            return Ok(None);
        }
        let split = read(&Fields(f.0), currency)
            .map_err(|e| DecodeError(format!("{}: {}", e.field, e.reason)))?
            .ok_or_else(|| DecodeError("split_rules without rules".into()))?;
        Ok(Some(OrderSplitView {
            split,
            status: f.parse(SPLIT_STATUS, str::parse::<AutoSplitStatus>)?,
            out_split_no: f.parse(OUT_SPLIT_NO, OutSplitNo::parse)?,
            fail_reason: f.text(SPLIT_FAIL_REASON),
        }))
    }
}

fn opt_enum(name: &'static str, schema: Object) -> Property {
    Property {
        name,
        schema: schema.into(),
        required: false,
    }
}

/// The order answer's properties for its share rules, present only when the order has rules.
pub(crate) fn answer_properties() -> Vec<Property> {
    vec![
        opt_text_prop(
            SPLIT_RULES,
            Some(
                "The order's share rules as given at create (JSON text of \
                 [{receiver_id, amount, description?}]); absent when none were given.",
            ),
        ),
        opt_enum(
            SPLIT_MODE,
            values(
                SplitMode::ALL.map(SplitMode::as_str),
                "When the rules are applied; with split_rules.",
            ),
        ),
        opt_enum(
            SPLIT_STATUS,
            values(
                AutoSplitStatus::ALL.map(AutoSplitStatus::as_str),
                "PENDING: not applied yet; DONE: applied as the split numbered out_split_no \
                 (see /api/split/query); FAILED: could not be applied, see split_fail_reason \
                 (final: nothing was shared by the rules). With split_rules.",
            ),
        ),
        opt_text_prop(
            OUT_SPLIT_NO,
            Some(
                "The split number the rules are applied under: auto-<trade_no>. Merchants' own \
                 split numbers may not start with auto-. With split_rules.",
            ),
        ),
        opt_text_prop(
            SPLIT_FAIL_REASON,
            Some("Why the rules could not be applied; with split_status FAILED."),
        ),
    ]
}

/// Why a merchant's own split number is refused: the prefix belongs to the automatic split.
pub fn reserved_prefix_reason() -> String {
    format!("must not start with {AUTO_SPLIT_PREFIX} (reserved for split_rules)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::create::CreateOrder;
    use crate::ApiRequest;
    use paygate_domain::{Amount, OutTradeNo};

    fn order(split: Option<OrderSplit>) -> CreateOrder {
        CreateOrder {
            split,
            ..CreateOrder::new(
                OutTradeNo::parse("ORDER-1").unwrap(),
                Money::parse("100.00", Currency::Cny).unwrap(),
                "tea",
                "https://shop.example/notify",
            )
        }
    }

    fn refused(rules: &str, mode: Option<&str>) -> String {
        let mut fields = order(None).to_fields();
        fields.insert(SPLIT_RULES.into(), rules.into());
        if let Some(mode) = mode {
            fields.insert(SPLIT_MODE.into(), mode.into());
        }
        CreateOrder::parse(&fields, 0).unwrap_err().field
    }

    #[test]
    fn rules_read_back_what_the_client_wrote() {
        let rules = vec![
            SplitRule {
                receiver_id: ReceiverId::parse("C").unwrap(),
                amount: Amount::from_minor(20_00).unwrap(),
                description: Some("supplier".into()),
            },
            SplitRule {
                receiver_id: ReceiverId::parse("D").unwrap(),
                amount: Amount::from_minor(5).unwrap(),
                description: None,
            },
        ];
        let split = OrderSplit::new(SplitMode::OnFinish, rules).unwrap();
        let request = order(Some(split));
        let fields = request.to_fields();
        assert_eq!(
            fields[SPLIT_RULES],
            r#"[{"receiver_id":"C","amount":"20.00","description":"supplier"},{"receiver_id":"D","amount":"0.05"}]"#
        );
        assert_eq!(fields[SPLIT_MODE], "on_finish");
        assert_eq!(CreateOrder::parse(&fields, 0), Ok(request));
    }

    #[test]
    fn the_mode_defaults_to_immediate_and_needs_rules() {
        let mut fields = order(None).to_fields();
        fields.insert(
            SPLIT_RULES.into(),
            r#"[{"receiver_id":"C","amount":"1"}]"#.into(),
        );
        let split = CreateOrder::parse(&fields, 0).unwrap().split.unwrap();
        assert_eq!(split.mode, SplitMode::Immediate);
        assert_eq!(split.rules[0].amount, Amount::from_minor(1_00).unwrap());
        let mut alone = order(None).to_fields();
        alone.insert(SPLIT_MODE.into(), "immediate".into());
        assert_eq!(CreateOrder::parse(&alone, 0).unwrap_err().field, SPLIT_MODE);
    }

    #[test]
    fn malformed_rules_are_refused_naming_the_field() {
        for text in [
            "[]",
            "{}",
            "not json",
            r#"[{"receiver_id":"C"}]"#,
            r#"[{"receiver_id":"C","amount":"0"}]"#,
            r#"[{"receiver_id":"C","amount":"-1"}]"#,
            r#"[{"receiver_id":"C","amount":"1.001"}]"#,
            r#"[{"receiver_id":"a:b","amount":"1"}]"#,
            r#"[{"receiver_id":"C","amount":"1","share":"x"}]"#,
            r#"[{"receiver_id":"C","amount":"1"},{"receiver_id":"C","amount":"2"}]"#,
        ] {
            assert_eq!(refused(text, None), SPLIT_RULES, "{text}");
        }
        let long = "x".repeat(SPLIT_RULE_DESCRIPTION_CHARS_MAX + 1);
        let text = format!(r#"[{{"receiver_id":"C","amount":"1","description":"{long}"}}]"#);
        assert_eq!(refused(&text, None), SPLIT_RULES);
        let eleven: Vec<String> = (0..11)
            .map(|i| format!(r#"{{"receiver_id":"R{i}","amount":"1"}}"#))
            .collect();
        assert_eq!(
            refused(&format!("[{}]", eleven.join(",")), None),
            SPLIT_RULES
        );
        assert_eq!(
            refused(r#"[{"receiver_id":"C","amount":"1"}]"#, Some("later")),
            SPLIT_MODE
        );
    }
}
