//! `paygate-bench cashier`: how soon the hosted cashier page starts arriving in a payer's
//! browser (issue #10: first byte under 20 ms at p99 with 8 browsers at once).
//!
//! Each worker plays one browser: its own kept-alive HTTP/1.1 connection, a browser's headers
//! (desktop and mobile user agents in turn, `Accept-Language: zh-CN`), and a page load followed
//! by the status poll the page's script makes. Time to first byte is measured from writing the
//! request until the response head has arrived (hyper resolves the response there, before the
//! body); the body is then read to its end and checked to be the order's page, so a fast error
//! page never counts as a fast cashier.

use super::load::OPS_PER_WORKER_MAX;
use super::stats::{percentile, Summary, Tally};
use super::target::{BenchDb, Target};
use super::{dedup, BenchBackend, Machine, DEFAULT_PG_URL};
use anyhow::Context;
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use paygate::config::Settings;
use paygate_client::CreateOrder;
use paygate_domain::sign::SignType;
use paygate_domain::{Currency, Money, OutTradeNo, PayType, TradeNo};
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The target for the page's first byte at p99.
pub const TTFB_P99_TARGET_MS: f64 = 20.0;

const DESKTOP_UA: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                          Chrome/156.0.0.0 Safari/537.36";
const MOBILE_UA: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) \
                         AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148";

#[derive(clap::Args, Debug)]
pub struct CashierArgs {
    /// Browsers loading cashier pages at once, one run per value (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [8u16],
          value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub(crate) concurrency: Vec<u16>,
    /// Orders created first; the browsers open their pages in turn.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub(crate) orders: u32,
    /// Seconds measured per run, after the warm-up.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(crate) duration_secs: u64,
    /// Seconds each run goes unrecorded first.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=600))]
    pub(crate) warmup_secs: u64,
    /// Databases to measure (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [BenchBackend::Sqlite, BenchBackend::Postgres])]
    pub(crate) backends: Vec<BenchBackend>,
    /// PostgreSQL server to create the benchmark database on.
    #[arg(long, env = "PAYGATE_BENCH_PG_URL", default_value = DEFAULT_PG_URL)]
    pub(crate) pg_url: String,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Serialize)]
struct Row {
    backend: &'static str,
    concurrency: u16,
    /// Time to the page's first byte.
    page_ttfb: Summary,
    /// The whole page, head to last byte, of the same loads.
    page_total_p99_ms: f64,
    /// Status polls made alongside (not in the page figures).
    status_polls: u64,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    machine: Machine,
    duration_secs: u64,
    warmup_secs: u64,
    orders: u32,
    target_p99_ms: f64,
    results: &'a [Row],
}

pub async fn run(settings: Settings, args: CashierArgs) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    for backend in dedup(&args.backends) {
        eprintln!("bench cashier: {backend}: fresh database");
        let db = BenchDb::create(backend.store_backend(), &args.pg_url).await?;
        let measured = tokio::select! {
            measured = bench_backend(backend, &db.url, &settings, &args) => measured,
            _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
        };
        let removed = db.remove().await;
        rows.extend(measured?);
        removed.context("remove the benchmark database")?;
    }
    if args.json {
        let report = JsonReport {
            machine: Machine::probe(),
            duration_secs: args.duration_secs,
            warmup_secs: args.warmup_secs,
            orders: args.orders,
            target_p99_ms: TTFB_P99_TARGET_MS,
            results: &rows,
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_table(&rows);
    }
    Ok(())
}

async fn bench_backend(
    backend: BenchBackend,
    url: &str,
    settings: &Settings,
    args: &CashierArgs,
) -> anyhow::Result<Vec<Row>> {
    let target = Target::start_for(url, settings, SignType::Md5, ENABLED).await?;
    let orders: Arc<[TradeNo]> = create_orders(&target, args.orders).await?.into();
    let address = target.address();
    let mut rows = Vec::new();
    for &concurrency in &args.concurrency {
        eprintln!("bench cashier: {backend} c={concurrency}: cashier page loads");
        let warmup = Duration::from_secs(args.warmup_secs);
        let window = Duration::from_secs(args.duration_secs);
        let measure_from = Instant::now() + warmup;
        let deadline = measure_from + window;
        let browsers: Vec<_> = (0..concurrency)
            .map(|worker| {
                tokio::spawn(browse(
                    address,
                    orders.clone(),
                    worker,
                    measure_from,
                    deadline,
                ))
            })
            .collect();
        let mut seen = Seen::default();
        for browser in browsers {
            match browser.await {
                Ok(one) => seen.merge(one),
                Err(join) => seen
                    .first_byte
                    .record_error(&anyhow::anyhow!("browser panicked: {join}")),
            }
        }
        seen.totals_us.sort_unstable();
        rows.push(Row {
            backend: backend.name(),
            concurrency,
            page_total_p99_ms: percentile(&seen.totals_us, 99.0)
                .map_or(0.0, |us| us as f64 / 1000.0),
            status_polls: seen.polls,
            page_ttfb: Summary::of(seen.first_byte, window),
        });
    }
    target.stop().await?;
    Ok(rows)
}

/// What one browser saw in the measured window.
#[derive(Default)]
struct Seen {
    first_byte: Tally,
    totals_us: Vec<u64>,
    polls: u64,
}

impl Seen {
    fn merge(&mut self, other: Seen) {
        self.first_byte.merge(other.first_byte);
        self.totals_us.extend(other.totals_us);
        self.polls += other.polls;
    }
}

/// One browser: page loads one after another on its kept-alive connection (reopened if the
/// server closed it), each followed by the page's status poll.
async fn browse(
    address: SocketAddr,
    orders: Arc<[TradeNo]>,
    worker: u16,
    measure_from: Instant,
    deadline: Instant,
) -> Seen {
    let mut seen = Seen::default();
    let mut connection: Option<SendRequest<Empty<Bytes>>> = None;
    for seq in 0..OPS_PER_WORKER_MAX {
        let started = Instant::now();
        if started >= deadline {
            break;
        }
        let index = (u64::from(worker) * 7919 + seq) % orders.len() as u64;
        let user_agent = if seq % 2 == 0 { DESKTOP_UA } else { MOBILE_UA };
        let result = load_page(
            &mut connection,
            address,
            &orders[index as usize],
            user_agent,
        )
        .await;
        if started < measure_from {
            continue;
        }
        match result {
            Ok(load) => {
                seen.first_byte.record_ok(load.first_byte);
                seen.totals_us
                    .push(u64::try_from(load.total.as_micros()).unwrap_or(u64::MAX));
                seen.polls += 1;
            }
            Err(error) => {
                connection = None;
                seen.first_byte.record_error(&error);
            }
        }
    }
    seen
}

struct PageLoad {
    first_byte: Duration,
    total: Duration,
}

/// One page load and the status poll its script makes; only the page is timed.
async fn load_page(
    connection: &mut Option<SendRequest<Empty<Bytes>>>,
    address: SocketAddr,
    trade_no: &TradeNo,
    user_agent: &str,
) -> anyhow::Result<PageLoad> {
    if connection.as_ref().is_none_or(SendRequest::is_closed) {
        *connection = Some(connect(address).await?);
    }
    let sender = connection.as_mut().expect("connected above");
    let started = Instant::now();
    let page = get(sender, &format!("/cashier/{trade_no}"), user_agent).await?;
    let first_byte = started.elapsed();
    let status = page.status();
    let body = page.into_body().collect().await?.to_bytes();
    let total = started.elapsed();
    anyhow::ensure!(status == 200, "cashier page answered {status}");
    let needle = trade_no.as_str().as_bytes();
    anyhow::ensure!(
        body.windows(needle.len()).any(|w| w == needle),
        "the page does not name its order"
    );
    let poll = get(sender, &format!("/cashier/{trade_no}/status"), user_agent).await?;
    let poll_status = poll.status();
    poll.into_body().collect().await?;
    anyhow::ensure!(poll_status == 200, "status poll answered {poll_status}");
    Ok(PageLoad { first_byte, total })
}

/// The benchmark's orders are cashier orders (`auto`, no scene): their page lists the ways.
const CASHIER_PAY_TYPE: PayType = PayType::Auto;
/// What the benchmark's merchant has enabled: every way a desktop or a phone is offered.
const ENABLED: &[PayType] = &[
    PayType::Auto,
    PayType::Wallet,
    PayType::WechatNative,
    PayType::WechatH5,
    PayType::AlipayNative,
    PayType::AlipayH5,
    PayType::UnionpayNative,
    PayType::UnionpayH5,
];

async fn create_orders(target: &Target, count: u32) -> anyhow::Result<Vec<TradeNo>> {
    let money = Money::parse("12.34", Currency::Cny).expect("a valid amount");
    let mut trade_nos = Vec::with_capacity(count as usize);
    for n in 0..count {
        let out_trade_no = OutTradeNo::parse(&format!("cashier{n}")).expect("a valid number");
        let mut request = CreateOrder::new(
            out_trade_no,
            money,
            "收银台压测 bench",
            super::workload::NOTIFY_URL,
        );
        request.pay_type = CASHIER_PAY_TYPE;
        let view = target.client.create_order(&request).await?;
        trade_nos.push(view.trade_no);
    }
    Ok(trade_nos)
}

async fn connect(address: SocketAddr) -> anyhow::Result<SendRequest<Empty<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(address).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

async fn get(
    sender: &mut SendRequest<Empty<Bytes>>,
    path: &str,
    user_agent: &str,
) -> anyhow::Result<hyper::Response<hyper::body::Incoming>> {
    sender.ready().await?;
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, "127.0.0.1")
        .header(hyper::header::USER_AGENT, user_agent)
        .header(hyper::header::ACCEPT, "text/html,application/xhtml+xml")
        .header(hyper::header::ACCEPT_LANGUAGE, "zh-CN,zh;q=0.9,en;q=0.8")
        .body(Empty::new())?;
    Ok(sender.send_request(request).await?)
}

fn print_table(rows: &[Row]) {
    println!(
        "cashier page, time to first byte (target: p99 < {TTFB_P99_TARGET_MS} ms)\n\
         {:<9} {:>5} {:>9} {:>9} {:>9} {:>9} {:>12} {:>7} {:>7}",
        "backend", "conc", "pages/s", "p50 ms", "p99 ms", "max ms", "total p99", "errors", "met"
    );
    for row in rows {
        let s = &row.page_ttfb;
        println!(
            "{:<9} {:>5} {:>9.0} {:>9.2} {:>9.2} {:>9.2} {:>12.2} {:>7} {:>7}",
            row.backend,
            row.concurrency,
            s.per_sec,
            s.p50_ms,
            s.p99_ms,
            s.max_ms,
            row.page_total_p99_ms,
            s.errors,
            if s.p99_ms < TTFB_P99_TARGET_MS && s.errors == 0 {
                "yes"
            } else {
                "NO"
            }
        );
        for sample in &s.error_samples {
            println!("  error: {sample}");
        }
    }
}
