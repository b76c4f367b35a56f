//! `--breakdown`: more operations around the raw ceiling and the HTTP create, so the gap between
//! them can be split by subtraction.
//!
//! - `store`: the store calls a create makes, as it makes them (the nonce in its own statement,
//!   then the order and its transition in one transaction): the database cost of a create.
//! - `app`: the whole create in-process without the HTTP transport: the client signs the fields,
//!   they go through JSON text and back, the app identifies the merchant, verifies the request,
//!   parses the command, creates the order and signs the view, which goes through JSON text and
//!   is verified by the client. What remains between `app` and `http` is hyper, axum, tower
//!   layers and reqwest.

use super::cpu::Probe;
use super::load::{self, OpId, Plan};
use super::report::Breakdown;
use super::workload::{out_trade_no, raw_insert, AMOUNT, NOTIFY_URL, SUBJECT};
use anyhow::Context;
use paygate_app::App;
use paygate_client::{ApiRequest, Client, CreateOrder};
use paygate_domain::{Currency, MerchantId, Money};
use paygate_store::Store;
use serde_json::{Map, Value};
use std::sync::Arc;

/// What the breakdown runs need from the target.
pub struct On {
    pub app: App,
    pub client: Client,
    pub merchant: MerchantId,
}

/// The breakdown runs of one concurrency, one after the other. `label` names them in progress
/// lines; run tags start with `s` and `a` (the HTTP and raw runs use `h` and `r`).
pub async fn measure(on: &On, plan: Plan, probe: &Probe, label: &str) -> Breakdown {
    let tag = |what: &str| -> Arc<str> { format!("{what}{}", plan.concurrency).into() };
    eprintln!("bench: {label}: breakdown: store calls of a create");
    let (store, merchant, run) = (on.app.store().clone(), on.merchant.clone(), tag("s"));
    let store_only = load::drive(plan, probe, move |id| {
        store_create(store.clone(), merchant.clone(), run.clone(), id)
    })
    .await;
    eprintln!("bench: {label}: breakdown: in-process create without HTTP");
    let (app, client, run) = (on.app.clone(), on.client.clone(), tag("a"));
    let in_process = load::drive(plan, probe, move |id| {
        app_create(app.clone(), client.clone(), run.clone(), id)
    })
    .await;
    Breakdown {
        store: store_only,
        app: in_process,
    }
}

/// The store call of a create: since the nonce is recorded in the order's own transaction, this
/// is the raw ceiling's one call (kept as its own row so the table's layers stay comparable).
pub async fn store_create(
    store: Store,
    merchant: MerchantId,
    run: Arc<str>,
    id: OpId,
) -> anyhow::Result<()> {
    raw_insert(store, merchant, run, id).await
}

/// The create as the handler runs it, with JSON text in place of the HTTP transport.
pub async fn app_create(app: App, client: Client, run: Arc<str>, id: OpId) -> anyhow::Result<()> {
    let money = Money::parse(AMOUNT, Currency::Cny).expect("a valid amount");
    let request = CreateOrder::new(out_trade_no(&run, id), money, SUBJECT, NOTIFY_URL);
    let wire = Value::Object(client.sign_fields(request.to_fields())?).to_string();
    let fields = json_object(&wire)?;
    let merchant = paygate_app::auth::identify(&app, &fields)
        .await
        .map_err(app_error)?;
    let verified = app
        .verify_request_deferring_nonce(merchant, fields)
        .map_err(app_error)?;
    let now_secs = app.clock().now_ms() / 1000;
    let cmd =
        paygate_app::commands::CreateOrder::parse(&verified.fields, now_secs).map_err(Into::into);
    let order = app
        .create_signed_order(&verified.merchant, cmd, &verified.nonce)
        .await
        .map_err(app_error)?;
    let mut body = paygate_app::views::success(&app, app.order_view(&order));
    app.sign_for(&verified.merchant, &mut body)
        .map_err(app_error)?;
    let answer = json_object(&Value::Object(body).to_string())?;
    client.verify(&answer).await?;
    Ok(())
}

fn json_object(text: &str) -> anyhow::Result<Map<String, Value>> {
    match serde_json::from_str(text).context("JSON text")? {
        Value::Object(map) => Ok(map),
        _ => anyhow::bail!("not a JSON object"),
    }
}

fn app_error(error: paygate_app::AppError) -> anyhow::Error {
    anyhow::anyhow!("{error}")
}
