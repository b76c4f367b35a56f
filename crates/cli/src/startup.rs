//! One way to build the running gateway: `Application::build` turns settings into an app bound
//! to its address (settings checked, listener bound, store opened and migrated, secrets
//! re-sealed, the app's channels in place), and `run_until_stopped` serves it, with the
//! background workers, until the shutdown future resolves.
//!
//! `paygate serve`, the tests (`paygate-testkit`) and the benchmark (`paygate-bench`) all start
//! the app here, so the tests exercise the router, connection limits, store opening and secret
//! handling that production runs. It lives in the `paygate` package's library because it needs
//! every layer below (store, app, http) and the `Settings` the commands read; the tests and the
//! bench depend on that library, never on a copy of the wiring.

use crate::channels::{self, SandboxConfigs, Sandboxes};
use crate::config::Settings;
use crate::wiring;
use anyhow::Context;
use paygate_app::jobs::JobSettings;
use paygate_app::notify::{Notifier, NotifierSettings};
use paygate_app::{App, AppSettings, Clock, SystemClock};
use paygate_channels::Channel;
use paygate_domain::PayType;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Whether the background workers (notifier, expiry and poll jobs, nonce pruner, gauges) run
/// beside the server. Most tests drive `Notifier::try_step` and the jobs themselves, at a clock
/// they control, so they turn the workers off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workers {
    Run,
    Off,
}

/// What a caller may put in place of production's parts. `serve` uses the defaults.
pub struct Overrides {
    pub clock: Arc<dyn Clock>,
    /// Used instead of the app settings derived from `Settings`; its `public_url` is replaced
    /// by the address actually bound (or `Settings::public_url`), as production's is.
    pub app_settings: Option<AppSettings>,
    /// Channels serving these pay types instead of the built-in ones.
    pub channels: Vec<(PayType, Arc<dyn Channel>)>,
    pub workers: Workers,
    /// How the sandboxes run when the settings turn them on (default: each channel's real
    /// callback schedule, credentials in the data directory).
    pub sandbox: Option<SandboxConfigs>,
    /// A payout rail to add (tests' sandbox bank, without the channel sandboxes).
    pub payout_rail: Option<Arc<dyn paygate_channels::payout::PayoutRail>>,
}

impl Default for Overrides {
    fn default() -> Self {
        Overrides {
            clock: Arc::new(SystemClock),
            app_settings: None,
            channels: Vec::new(),
            workers: Workers::Run,
            sandbox: None,
            payout_rail: None,
        }
    }
}

/// The gateway, bound and opened, not yet serving.
pub struct Application {
    settings: Settings,
    app: App,
    listener: TcpListener,
    addr: SocketAddr,
    /// Present when the workers run; made at build time so a bad setting fails before serving.
    notifier: Option<Notifier>,
    /// The in-process channel sandboxes, when on; stopped after the server.
    sandboxes: Sandboxes,
    /// Every pay type a channel serves here.
    pay_types: Vec<PayType>,
}

impl Application {
    /// Production's wiring: system clock, built-in channels, workers running.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        Application::build_with(settings, Overrides::default()).await
    }

    pub async fn build_with(
        mut settings: Settings,
        overrides: Overrides,
    ) -> anyhow::Result<Application> {
        // Refuse unsafe settings before taking the address, so nothing listens half-configured.
        settings.validate()?;
        let listener = bind(&settings.listen)
            .await
            .with_context(|| format!("cannot listen on {}", settings.listen))?;
        let addr = listener.local_addr().context("local address")?;
        // With port 0 the links we hand out must carry the port actually bound.
        if settings.public_url.is_none() {
            settings.public_url = Some(format!("http://{addr}"));
        }
        let mut app_settings = overrides
            .app_settings
            .unwrap_or_else(|| wiring::app_settings(&settings));
        app_settings.public_url = settings.public_url();
        let app = wiring::open_app_with(&settings, app_settings, overrides.clock).await?;
        let sandbox = settings.sandbox().then(|| {
            overrides
                .sandbox
                .unwrap_or_else(|| SandboxConfigs::in_dir(&settings.data_dir))
        });
        let external = channels::open(&settings, sandbox).await?;
        let mut pay_types = vec![PayType::Wallet];
        let served = external.served.into_iter().chain(overrides.channels);
        let app = served.fold(app, |app, (pay_type, channel)| {
            if !pay_types.contains(&pay_type) {
                pay_types.push(pay_type);
            }
            app.with_channel(pay_type, channel)
        });
        // The sandbox bank pays bank cards whenever the sandboxes run; tests may bring another.
        let bank = overrides.payout_rail.or_else(|| {
            settings.sandbox().then(|| {
                Arc::new(paygate_channels::payout::SandboxBankRail::default())
                    as Arc<dyn paygate_channels::payout::PayoutRail>
            })
        });
        let app = match bank {
            Some(rail) => app.with_payout_rail(rail),
            None => app,
        };
        let app = (external.sandboxes.payer_bases().into_iter())
            .fold(app, |app, (channel, base)| {
                app.with_sandbox_payer(channel, base)
            });
        // The aggregated QR needs a way that a wallet's app opens in its own browser.
        if pay_types.contains(&PayType::AlipayH5) || pay_types.contains(&PayType::UnionpayH5) {
            pay_types.push(PayType::Auto);
        }
        let notifier = match overrides.workers {
            Workers::Run => Some(
                Notifier::new(app.clone(), notifier_settings(&settings))
                    .map_err(|e| anyhow::anyhow!("start notifier: {e}"))?,
            ),
            Workers::Off => None,
        };
        Ok(Application {
            settings,
            app,
            listener,
            addr,
            notifier,
            sandboxes: external.sandboxes,
            pay_types,
        })
    }

    pub fn app(&self) -> &App {
        &self.app
    }

    /// The settings in force, `public_url` filled in.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The in-process channel sandboxes that run.
    pub fn sandboxes(&self) -> &Sandboxes {
        &self.sandboxes
    }

    /// Every pay type a channel serves here, the wallet first.
    pub fn pay_types(&self) -> &[PayType] {
        &self.pay_types
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Serves until `shutdown` resolves and in-flight requests finish, then stops the workers
    /// and closes the store.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let workers = CancellationToken::new();
        let background = match self.notifier {
            Some(notifier) => spawn_workers(&self.app, &self.settings, notifier, &workers),
            None => Vec::new(),
        };
        let limits = self.settings.connection_limits();
        let served = paygate_http::serve(self.listener, self.app.clone(), limits, shutdown).await;
        // Stop claiming work; in-flight deliveries finish, anything else is left to its lease.
        workers.cancel();
        for task in background {
            let _ = task.await;
        }
        self.sandboxes.shutdown().await;
        self.app.store().close().await;
        served.context("server failed")
    }
}

fn notifier_settings(settings: &Settings) -> NotifierSettings {
    NotifierSettings {
        lease_ms: settings.notify_lease_ms,
        http_timeout_ms: settings.notify_timeout_ms,
        per_host_in_flight_max: settings.notify_per_host_max,
        in_flight_max: settings.notify_in_flight_max,
        ..NotifierSettings::default()
    }
}

fn spawn_workers(
    app: &App,
    settings: &Settings,
    notifier: Notifier,
    stop: &CancellationToken,
) -> Vec<tokio::task::JoinHandle<()>> {
    let job_settings = JobSettings {
        pause_ms: settings.jobs_interval_ms,
        ..JobSettings::default()
    };
    vec![
        tokio::spawn(paygate_app::maintenance::run_nonce_pruner(
            app.clone(),
            stop.clone(),
        )),
        tokio::spawn(notifier.run(stop.clone())),
        tokio::spawn(paygate_app::jobs::run_jobs(
            app.clone(),
            job_settings,
            stop.clone(),
        )),
        tokio::spawn(paygate_app::gauges::run_gauge_refresher(
            app.clone(),
            paygate_app::gauges::REFRESH_INTERVAL,
            stop.clone(),
        )),
    ]
}

/// The first address `listen` resolves to, bound with the HTTP server's listen backlog.
async fn bind(listen: &str) -> std::io::Result<TcpListener> {
    let addr = tokio::net::lookup_host(listen)
        .await?
        .next()
        .ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "no address to listen on")
        })?;
    paygate_http::listen(addr)
}
