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
//! - `raw_no_ping` (PostgreSQL): the raw transaction over a second pool that skips sqlx's
//!   liveness ping on every acquire (`test_before_acquire`, on by default and in the store), to
//!   price that round trip, which a create pays twice and a raw transaction once.

use super::cpu::Probe;
use super::load::{self, OpId, Plan};
use super::report::Breakdown;
use super::stats::{Summary, Tally};
use super::workload::{
    out_trade_no, unix_now_ms, AMOUNT, NONCE_TTL_MS, NOTIFY_URL, ORDER_TTL_MS, SUBJECT,
};
use anyhow::Context;
use paygate_app::App;
use paygate_client::{fresh_nonce, ApiRequest, Client, CreateOrder};
use paygate_domain::{
    Currency, MerchantId, Money, Nonce, OrderEvent, OrderStatus, PayType, TradeNo,
};
use paygate_store::{Inserted, NewOrder, NonceOutcome, Store};
use serde_json::{Map, Value};
use sqlx::any::AnyPoolOptions;
use std::sync::Arc;

/// What the breakdown runs need from the target.
pub struct On<'a> {
    pub app: App,
    pub client: Client,
    pub merchant: MerchantId,
    pub url: &'a str,
    pub pg_connections_max: u32,
}

/// The breakdown runs of one concurrency, one after the other. `label` names them in progress
/// lines; run tags start with `s`, `a` and `n` (the HTTP and raw runs use `h` and `r`).
pub async fn measure(on: &On<'_>, plan: Plan, probe: &Probe, label: &str) -> Breakdown {
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
    let raw_no_ping = if on.app.store().backend() == paygate_store::Backend::Postgres {
        eprintln!("bench: {label}: breakdown: raw transactions without the acquire ping");
        Some(raw_without_ping(on, plan, probe, tag("n")).await)
    } else {
        None
    };
    Breakdown {
        store: store_only,
        app: in_process,
        raw_no_ping,
    }
}

async fn raw_without_ping(on: &On<'_>, plan: Plan, probe: &Probe, run: Arc<str>) -> Summary {
    let pool = AnyPoolOptions::new()
        .max_connections(on.pg_connections_max)
        .test_before_acquire(false)
        .connect(on.url)
        .await;
    let pool = match pool {
        Ok(pool) => pool,
        Err(error) => {
            let mut tally = Tally::default();
            tally.record_error(&anyhow::Error::new(error).context("connect a second pool"));
            return Summary::of(tally, plan.measure);
        }
    };
    let (p, merchant) = (pool.clone(), on.merchant.clone());
    let summary = load::drive(plan, probe, move |id| {
        super::workload::raw_insert(p.clone(), merchant.clone(), run.clone(), id)
    })
    .await;
    pool.close().await;
    summary
}

/// The nonce, then the order: exactly the two store calls of a create.
pub async fn store_create(
    store: Store,
    merchant: MerchantId,
    run: Arc<str>,
    id: OpId,
) -> anyhow::Result<()> {
    let now_ms = unix_now_ms();
    let nonce = Nonce::parse(&fresh_nonce()).expect("fresh nonces are valid");
    let outcome = store
        .remember_nonce(&merchant, &nonce, now_ms + NONCE_TTL_MS)
        .await?;
    anyhow::ensure!(outcome == NonceOutcome::Fresh, "nonce collided");
    let money = Money::parse(AMOUNT, Currency::Cny).expect("a valid amount");
    let order = NewOrder {
        trade_no: TradeNo::mint(now_ms),
        merchant_id: merchant,
        out_trade_no: out_trade_no(&run, id),
        pay_type: PayType::Wallet,
        status: OrderStatus::Created
            .apply(OrderEvent::Submitted)
            .expect("a new order can always be submitted"),
        currency: money.currency,
        total_amount: money.amount,
        subject: SUBJECT.into(),
        body: None,
        notify_url: NOTIFY_URL.into(),
        return_url: None,
        attach: None,
        buyer_id: None,
        auth_code_sha256: None,
        expire_at_ms: now_ms + ORDER_TTL_MS,
        requested_expire_at_secs: None,
        created_at_ms: now_ms,
    };
    match store.insert_order(&order).await? {
        Inserted::New(_) => Ok(()),
        Inserted::Existing(_) | Inserted::Replayed => anyhow::bail!("order key collided"),
    }
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
        .verify_request(merchant, fields)
        .await
        .map_err(app_error)?;
    let now_secs = app.clock().now_ms() / 1000;
    let cmd =
        paygate_app::commands::CreateOrder::parse(&verified.fields, now_secs).map_err(app_error)?;
    let order = app
        .create_order(&verified.merchant, cmd)
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
