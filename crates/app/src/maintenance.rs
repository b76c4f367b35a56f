//! Housekeeping workers. Each is a `try_step` that does one bounded unit of work, driven by a
//! loop that only sleeps and stops on the shutdown token; tests call `try_step` directly.

use crate::{App, AppError};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// What one step of a worker did, so the loop knows whether to go again at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    DidWork(u64),
    Idle,
}

/// Deletes request nonces whose timestamp window has passed; a request that old is refused on
/// its timestamp anyway, so its nonce no longer protects anything.
pub async fn prune_nonces_step(app: &App) -> Result<Outcome, AppError> {
    let removed = app.store().prune_nonces(app.clock().now_ms()).await?;
    Ok(if removed == 0 {
        Outcome::Idle
    } else {
        Outcome::DidWork(removed)
    })
}

/// Deletes pay codes that expired unused: they can never be presented again, and nothing else
/// refers to them (a code a trade presented is kept with that trade).
pub async fn prune_pay_codes_step(app: &App) -> Result<Outcome, AppError> {
    let removed = app
        .store()
        .prune_unused_pay_codes(app.clock().now_ms())
        .await?;
    Ok(if removed == 0 {
        Outcome::Idle
    } else {
        Outcome::DidWork(removed)
    })
}

pub const NONCE_PRUNE_INTERVAL_MS: u64 = 60_000;

pub async fn run_nonce_pruner(app: App, shutdown: CancellationToken) {
    let pause = Duration::from_millis(NONCE_PRUNE_INTERVAL_MS);
    loop {
        match prune_nonces_step(&app).await {
            Ok(Outcome::DidWork(n)) => tracing::debug!(removed = n, "pruned expired nonces"),
            Ok(Outcome::Idle) => {}
            Err(error) => tracing::warn!(%error, "nonce pruning failed; will retry"),
        }
        match prune_pay_codes_step(&app).await {
            Ok(Outcome::DidWork(n)) => tracing::debug!(removed = n, "pruned unused pay codes"),
            Ok(Outcome::Idle) => {}
            Err(error) => tracing::warn!(%error, "pay code pruning failed; will retry"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(pause) => {}
        }
    }
}
