//! The OpenAPI document may only gain (issue #7, acceptance 2): everything the committed
//! baseline (`openapi_baseline.json`, the document before the wire moved to `paygate_api`) says
//! is still said, the same way; paths, operations, schemas and properties may be added.

use serde_json::Value;

/// Patterns deliberately widened since the baseline, each accepting everything it accepted.
const WIDENED: [(&str, &str, &str); 1] = [(
    // Issue #8: WeChat Pay's pay codes (10-15 and 16 digits) joined ours (88 and 16 digits);
    // issue #9: Alipay's, UnionPay's and face codes, whose exact shapes each pay type's branch
    // states.
    "/components/schemas/CreateOrderRequest/allOf/1/properties/auth_code/pattern",
    "^88[0-9]{16}$",
    "^[0-9A-Za-z_-]{1,128}$",
)];

/// Where `baseline` says something `now` does not, as a JSON pointer and why.
fn losses(baseline: &Value, now: &Value, at: &str, out: &mut Vec<String>) {
    match (baseline, now) {
        (Value::Object(old), Value::Object(new)) => {
            for (key, old_value) in old {
                let here = format!("{at}/{key}");
                match new.get(key) {
                    None => out.push(format!("{here}: gone")),
                    Some(new_value) if key == "required" => {
                        same_required(old, old_value, new_value, &here, out)
                    }
                    Some(new_value) => losses(old_value, new_value, &here, out),
                }
            }
        }
        // A list may gain items at its end (a new enum value, a new `oneOf` branch, a new tag).
        (Value::Array(old), Value::Array(new)) if old.len() <= new.len() => {
            for (i, (old_item, new_item)) in old.iter().zip(new).enumerate() {
                losses(old_item, new_item, &format!("{at}/{i}"), out);
            }
        }
        (old, new) if old == new => {}
        // A length bound may only loosen.
        (Value::Number(old), Value::Number(new))
            if (at.ends_with("/minLength") && new.as_u64() <= old.as_u64())
                || (at.ends_with("/maxLength") && new.as_u64() >= old.as_u64()) => {}
        // A description may say more; a pattern only where a deliberate widening is listed.
        (Value::String(old), Value::String(new))
            if at.ends_with("/description") && new.starts_with(old.trim_end_matches('.')) => {}
        (old, Value::String(new))
            if WIDENED
                .iter()
                .any(|(pointer, was, now)| *pointer == at && old == *was && new == now) => {}
        (old, new) => out.push(format!("{at}: was {old}, now {new}")),
    }
}

/// A property the baseline lists keeps its required-ness; new properties may be either.
fn same_required(
    old_schema: &serde_json::Map<String, Value>,
    old_required: &Value,
    new_required: &Value,
    at: &str,
    out: &mut Vec<String>,
) {
    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n.as_str().map(str::to_owned))
            .collect()
    };
    let (old_names, new_names) = (names(old_required), names(new_required));
    for name in &old_names {
        if !new_names.contains(name) {
            out.push(format!("{at}: {name} is no longer required"));
        }
    }
    let old_properties = old_schema.get("properties").and_then(Value::as_object);
    let listed_before = |name: &String| old_properties.is_some_and(|p| p.contains_key(name));
    for name in &new_names {
        if !old_names.contains(name) && (listed_before(name) || old_properties.is_none()) {
            out.push(format!("{at}: {name} became required"));
        }
    }
}

#[test]
fn the_document_only_gains_on_the_baseline() {
    let baseline: Value =
        serde_json::from_str(include_str!("openapi_baseline.json")).expect("baseline is JSON");
    let now = paygate_http::openapi::document();
    let mut out = Vec::new();
    losses(&baseline, &now, "", &mut out);
    assert!(out.is_empty(), "the document lost:\n{}", out.join("\n"));
}

#[test]
fn a_loss_is_noticed() {
    let baseline = serde_json::json!({"paths": {"/a": {"post": {}}}, "components": {"schemas":
        {"S": {"type": "object", "required": ["x"], "properties": {"x": {"type": "string"}}}}}});
    let mut gained = baseline.clone();
    gained["components"]["schemas"]["S"]["properties"]["y"] =
        serde_json::json!({"type": "integer"});
    gained["paths"]["/b"] = serde_json::json!({"get": {}});
    let mut out = Vec::new();
    losses(&baseline, &gained, "", &mut out);
    assert!(out.is_empty(), "{out:?}");
    for lose in [
        |d: &mut Value| d["paths"]["/a"].as_object_mut().unwrap().clear(),
        |d: &mut Value| d["components"]["schemas"]["S"]["required"] = serde_json::json!([]),
        |d: &mut Value| {
            d["components"]["schemas"]["S"]["properties"]["x"]["type"] = "integer".into()
        },
    ] {
        let mut lost = baseline.clone();
        lose(&mut lost);
        let mut out = Vec::new();
        losses(&baseline, &lost, "", &mut out);
        assert!(!out.is_empty(), "{lost}");
    }
}
