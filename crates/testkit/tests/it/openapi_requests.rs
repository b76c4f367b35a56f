//! Requests generated from the OpenAPI document's own schemas are accepted (issue #6,
//! acceptance 3). For every merchant operation the document lists, samples are drawn from its
//! request schema alone (patterns, enums, lengths, `oneOf`/`anyOf` branches, optional fields),
//! signed by a merchant of the generated `sign_type`, and sent. None may be refused for its form
//! (1001) or its signature (1002); business answers such as 1003 for a generated `trade_no` are
//! fine. A document looser than the server (a nonce pattern allowing 40 characters, a missing
//! enum, an amount pattern allowing "0") fails here.
//!
//! The admin API's refusals are checked against the document's `ErrorResponse` too.

use crate::support::alice_paid_ten_yuan;
use paygate_app::AppSettings;
use paygate_client::Client;
use paygate_domain::sign::SignType;
use paygate_testkit::{
    both_databases, client_for, create_merchant, spawn_app, spawn_app_with, DbBackend, TestApp,
    TestOptions,
};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

const SAMPLES_PER_OPERATION: usize = 20;
/// In the order their operations are sampled: the fixed seed's draws for the payment operations
/// stay what they were before the partner's operation joined.
const MERCHANT_PATH_PREFIXES: [&str; 2] = ["/api/payment/", "/api/partner/"];

/// Draws values from JSON Schemas (the subset the document uses), with a fixed seed.
struct Generator {
    doc: Value,
    runner: TestRunner,
}

/// An object schema with its `allOf` parts merged and one branch of each `oneOf`/`anyOf` taken.
#[derive(Default)]
struct Shape {
    properties: BTreeMap<String, Map<String, Value>>,
    required: BTreeSet<String>,
}

impl Generator {
    fn new(doc: Value) -> Generator {
        let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &[6; 32]);
        Generator {
            doc,
            runner: TestRunner::new_with_rng(Config::default(), rng),
        }
    }

    fn draw<S: Strategy>(&mut self, strategy: S) -> S::Value {
        strategy
            .new_tree(&mut self.runner)
            .expect("draw a value")
            .current()
    }

    fn pick(&mut self, n: usize) -> usize {
        assert!(n > 0, "nothing to pick from");
        self.draw(0..n)
    }

    fn resolve(&self, schema: &Value) -> Value {
        match schema["$ref"].as_str() {
            Some(reference) => {
                let name = reference
                    .strip_prefix("#/components/schemas/")
                    .unwrap_or_else(|| panic!("unsupported $ref {reference}"));
                self.doc["components"]["schemas"][name].clone()
            }
            None => schema.clone(),
        }
    }

    /// Later parts narrow earlier ones: a branch's `enum` or `pattern` replaces the base's.
    fn shape(&mut self, schema: &Value, shape: &mut Shape) {
        let schema = self.resolve(schema);
        for part in schema["allOf"].as_array().into_iter().flatten() {
            self.shape(part, shape);
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(branches) = schema[key].as_array() {
                let branch = branches[self.pick(branches.len())].clone();
                self.shape(&branch, shape);
            }
        }
        for (name, property) in schema["properties"].as_object().into_iter().flatten() {
            let merged = shape.properties.entry(name.clone()).or_default();
            let property = self.resolve(property);
            for (key, value) in property
                .as_object()
                .expect("a property schema is an object")
            {
                merged.insert(key.clone(), value.clone());
            }
        }
        for name in schema["required"].as_array().into_iter().flatten() {
            shape
                .required
                .insert(name.as_str().expect("names").to_owned());
        }
    }

    fn value(&mut self, schema: &Value) -> Value {
        let schema = self.resolve(schema);
        if let Some(branches) = schema["oneOf"].as_array().or(schema["anyOf"].as_array()) {
            let branch = branches[self.pick(branches.len())].clone();
            return self.value(&branch);
        }
        if let Some(values) = schema["enum"].as_array() {
            return values[self.pick(values.len())].clone();
        }
        let types: Vec<&str> = match &schema["type"] {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
            _ => panic!("a request value without a type: {schema}"),
        };
        match types[self.pick(types.len())] {
            "null" => Value::Null,
            "string" => Value::String(self.string(&schema)),
            "integer" => {
                let min = schema["minimum"].as_i64().unwrap_or(i64::MIN);
                let max = schema["maximum"].as_i64().unwrap_or(i64::MAX);
                Value::from(self.draw(min..=max))
            }
            "boolean" => Value::Bool(self.pick(2) == 1),
            other => panic!("the generator does not know type {other}"),
        }
    }

    fn string(&mut self, schema: &Value) -> String {
        let pattern = schema["pattern"]
            .as_str()
            .unwrap_or_else(|| panic!("every request string states its pattern: {schema}"));
        let body = pattern
            .strip_prefix('^')
            .and_then(|p| p.strip_suffix('$'))
            .unwrap_or_else(|| panic!("pattern {pattern} is anchored at both ends"));
        let min = schema["minLength"].as_u64().unwrap_or(0) as usize;
        let max = schema["maxLength"].as_u64().unwrap_or(u64::MAX) as usize;
        let strategy = proptest::string::string_regex(body).expect("a pattern we can generate");
        for _ in 0..200 {
            let text = self.draw(&strategy);
            if (min..=max).contains(&text.chars().count()) {
                return text;
            }
        }
        panic!("no string of {min}..={max} characters from {pattern}");
    }
}

fn matches(schema: &Map<String, Value>, text: &str) -> bool {
    let pattern = schema["pattern"].as_str().expect("a pattern");
    regex::Regex::new(pattern)
        .expect("a valid pattern")
        .is_match(text)
}

/// A merchant of each sign type, with a client that signs as it.
struct Merchants(Vec<(SignType, Client)>);

impl Merchants {
    async fn one_of_each(t: &TestApp) -> Merchants {
        let mut clients = vec![(SignType::Md5, t.client.clone())];
        for sign_type in [SignType::HmacSha256, SignType::Rsa2] {
            let merchant = create_merchant(&t.app, sign_type).await;
            clients.push((sign_type, client_for(&t.base_url, &merchant)));
        }
        Merchants(clients)
    }

    fn signing_as(&self, sign_type: &str) -> &Client {
        &self
            .0
            .iter()
            .find(|(t, _)| t.as_str() == sign_type)
            .unwrap_or_else(|| panic!("the document's sign_type {sign_type} is one the server has"))
            .1
    }
}

/// One request body for `operation`: required fields always, optional ones in the second sample
/// and at random after. Signing fields come from the merchant and the clock, in the form the
/// schema chose.
fn sample(
    gen: &mut Generator,
    request_schema: &Value,
    index: usize,
    now_secs: i64,
) -> (Map<String, Value>, String) {
    let mut shape = Shape::default();
    gen.shape(request_schema, &mut shape);
    let mut fields = Map::new();
    let mut sign_type = "MD5".to_owned();
    for (name, schema) in &shape.properties {
        let wanted = shape.required.contains(name) || index == 1 || (index > 1 && gen.pick(2) == 0);
        if !wanted || name == "sign" || name == "merchant_id" {
            continue;
        }
        let schema = Value::Object(schema.clone());
        let value = match name.as_str() {
            "timestamp" => seconds_as_schema_says(gen, &schema, now_secs),
            "expire_time" => {
                let ahead = gen.draw(120i64..=7 * 24 * 3600 - 120);
                seconds_as_schema_says(gen, &schema, now_secs + ahead)
            }
            _ => gen.value(&schema),
        };
        if name == "sign_type" {
            if let Some(t) = value.as_str() {
                sign_type = t.to_owned();
            }
        }
        fields.insert(name.clone(), value);
    }
    (fields, sign_type)
}

/// Unix seconds as the schema's chosen branch wants them: an integer or a digit string.
fn seconds_as_schema_says(gen: &mut Generator, schema: &Value, secs: i64) -> Value {
    let branches = schema["oneOf"]
        .as_array()
        .expect("seconds are oneOf integer or digits");
    let chosen = gen.pick(branches.len());
    let branch = gen.resolve(&branches[chosen]);
    match branch["type"].as_str() {
        Some("integer") => Value::from(secs),
        Some("string") => {
            let text = secs.to_string();
            assert!(
                matches(branch.as_object().unwrap(), &text),
                "{text} fits {branch}"
            );
            Value::from(text)
        }
        other => panic!("unexpected branch type {other:?}"),
    }
}

/// Points a refund's order reference at a paid order, keeping the form the schema chose.
fn refer_to_paid_order(
    fields: &mut Map<String, Value>,
    shape_doc: &Value,
    paid: &(String, String),
) {
    let properties = &shape_doc["properties"];
    for (name, value) in [("trade_no", &paid.0), ("out_trade_no", &paid.1)] {
        if fields.contains_key(name) {
            let schema = properties[name]
                .as_object()
                .expect("order reference schema");
            assert!(
                matches(schema, value),
                "the paid order's {name} {value} fits the document"
            );
            fields.insert(name.into(), Value::from(value.as_str()));
        }
    }
}

/// Every merchant operation and its request schema, as the document lists them, grouped by
/// `MERCHANT_PATH_PREFIXES`.
fn merchant_operations(doc: &Value) -> Vec<(String, Value)> {
    let paths = doc["paths"].as_object().expect("paths");
    MERCHANT_PATH_PREFIXES
        .iter()
        .flat_map(|prefix| {
            paths
                .iter()
                .filter(move |(path, _)| path.starts_with(prefix))
        })
        .map(|(path, item)| {
            let schema =
                item["post"]["requestBody"]["content"]["application/json"]["schema"].clone();
            assert!(schema.is_object(), "{path} documents its request body");
            (path.clone(), schema)
        })
        .collect()
}

async fn requests_generated_from_the_document_are_accepted(backend: DbBackend) {
    let t = spawn_app(backend).await;
    let doc = paygate_http::openapi::document();
    let operations = merchant_operations(&doc);
    assert_eq!(
        operations.len(),
        6,
        "create, query, close, refund, refund query, partner order status"
    );
    let merchants = Merchants::one_of_each(&t).await;
    let merchant_id_schema = doc["components"]["schemas"]["SignedFields"]["properties"]
        ["merchant_id"]
        .as_object()
        .expect("merchant_id schema")
        .clone();
    for (_, client) in &merchants.0 {
        assert!(matches(&merchant_id_schema, client.merchant_id().as_str()));
    }
    let (_, paid_trade_no) = alice_paid_ten_yuan(&t, "PAID-BY-ALICE").await;
    let paid = (paid_trade_no.to_string(), "PAID-BY-ALICE".to_owned());
    let refund_fields = doc["components"]["schemas"]["RefundRequest"]["allOf"][1].clone();

    let mut gen = Generator::new(doc.clone());
    let mut outcomes: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for (path, schema) in &operations {
        for index in 0..SAMPLES_PER_OPERATION {
            let now_secs = chrono_now_secs();
            let (mut fields, sign_type) = sample(&mut gen, schema, index, now_secs);
            if path.ends_with("/refund") && sign_type == "MD5" {
                refer_to_paid_order(&mut fields, &refund_fields, &paid);
            }
            let client = merchants.signing_as(&sign_type);
            let sent = fields.clone();
            let (status, body) = client.call_raw(path, fields).await.expect("an answer");
            let code = body
                .get("error_code")
                .and_then(Value::as_str)
                .unwrap_or("OK")
                .to_owned();
            assert!(
                !matches!(code.as_str(), "1001" | "1002") && status < 500,
                "{path} refused a request generated from its own schema ({sign_type}):\n\
                 {}\n-> {status} {}",
                Value::Object(sent),
                Value::Object(body)
            );
            *outcomes
                .entry(path.clone())
                .or_default()
                .entry(code)
                .or_default() += 1;
        }
    }
    eprintln!("outcomes by operation: {outcomes:?}");
    let created = outcomes["/api/payment/create"]
        .get("OK")
        .copied()
        .unwrap_or(0);
    assert!(
        created > 0,
        "some generated orders were created: {outcomes:?}"
    );
    let refunded = outcomes["/api/payment/refund"]
        .get("OK")
        .copied()
        .unwrap_or(0);
    assert!(
        refunded > 0,
        "some generated refunds went through: {outcomes:?}"
    );
    t.stop().await;
}
both_databases!(requests_generated_from_the_document_are_accepted);

fn chrono_now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

const ADMIN_TOKEN: &str = "operator-token-0123456789-abcdefghijklmnop";

/// Checks a flat body against a component schema: only known fields, every required one, enum
/// values from the enum.
fn assert_conforms(doc: &Value, schema_name: &str, body: &Value) {
    let schema = &doc["components"]["schemas"][schema_name];
    let properties = schema["properties"].as_object().expect("properties");
    let body = body
        .as_object()
        .unwrap_or_else(|| panic!("a JSON object: {body}"));
    for (name, value) in body {
        let property = properties
            .get(name)
            .unwrap_or_else(|| panic!("{name} is not in {schema_name}: {body:?}"));
        if let Some(values) = property["enum"].as_array() {
            assert!(
                values.contains(value),
                "{name}={value} is one of {values:?}"
            );
        }
    }
    for name in schema["required"].as_array().into_iter().flatten() {
        let name = name.as_str().expect("names");
        assert!(
            body.contains_key(name),
            "{schema_name} requires {name}: {body:?}"
        );
    }
}

async fn admin_errors_have_the_documented_error_shape(backend: DbBackend) {
    let options = TestOptions {
        settings: AppSettings {
            admin_token: Some(ADMIN_TOKEN.into()),
            ..AppSettings::default()
        },
        ..TestOptions::default()
    };
    let t = spawn_app_with(backend, options).await;
    let doc = paygate_http::openapi::document();
    let http = reqwest::Client::new();
    let cases = [
        (
            "GET",
            "/admin/anomalies",
            Some("wrong-token"),
            401,
            "1002",
            None,
        ),
        ("GET", "/admin/anomalies", None, 401, "1002", None),
        (
            "GET",
            "/admin/orders/P1/notifications",
            Some(ADMIN_TOKEN),
            400,
            "1001",
            Some("trade_no"),
        ),
        (
            "POST",
            "/admin/notifications/abc/resend",
            Some(ADMIN_TOKEN),
            400,
            "1001",
            Some("id"),
        ),
        (
            "POST",
            "/admin/notifications/999999/resend",
            Some(ADMIN_TOKEN),
            400,
            "1001",
            Some("id"),
        ),
        (
            "GET",
            "/admin/merchants/NO-SUCH-M/union-login-key",
            Some(ADMIN_TOKEN),
            400,
            "1001",
            Some("merchant_id"),
        ),
    ];
    for (method, path, token, status, error_code, error_field) in cases {
        let mut request = match method {
            "GET" => http.get(format!("{}{path}", t.base_url)),
            _ => http.post(format!("{}{path}", t.base_url)),
        };
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("an answer");
        assert_eq!(response.status(), status, "{method} {path}");
        let body: Value = response.json().await.expect("a JSON body");
        assert_conforms(&doc, "ErrorResponse", &body);
        assert_eq!(body["code"], "FAIL", "{method} {path}");
        assert_eq!(body["error_code"], error_code, "{method} {path}");
        assert_eq!(body["error_field"], json!(error_field), "{method} {path}");
        assert!(body["msg"].is_string(), "{method} {path}");
        assert!(
            body.get("sign").is_none(),
            "the operator's answers are not signed"
        );
    }
    t.stop().await;
}
both_databases!(admin_errors_have_the_documented_error_shape);
