//! The gateway under test: real `paygate serve` child processes on the benchmark database,
//! started together and stopped with SIGTERM, as a service manager would. The `paygate` binary
//! is the one built next to this one (`cargo build --release -p paygate`), or `PAYGATE_BIN`. std's process API
//! is used (with a reader thread per child) because this workspace's tokio has no `process`
//! feature, and turning it on would rebuild most of the dependency tree.

use anyhow::Context;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

/// How long a process may take to print its listening line.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a process may take to stop after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// Names the `paygate` binary to run instead of the one next to this executable.
const GATEWAY_BIN_ENV: &str = "PAYGATE_BIN";

/// What every gateway process of a run is given.
pub struct Launch<'a> {
    pub database_url: &'a str,
    pub master_key_hex: &'a str,
    pub order_ttl_secs: i64,
}

/// Running gateway processes. `stop` ends them; dropping them without it (an error or Ctrl-C
/// elsewhere) stops them too, blocking the thread for as long as that takes.
pub struct Gateways {
    children: Vec<Child>,
    /// When the first of them printed its listening line.
    pub first_ready_at: Instant,
    /// When the last of them did.
    pub ready_at: Instant,
}

impl Gateways {
    /// Spawns `count` processes at once and waits until each is listening. On failure (or if
    /// this is cancelled), the ones already spawned are stopped.
    pub async fn start(count: usize, launch: &Launch<'_>) -> anyhow::Result<Gateways> {
        let exe = gateway_binary()?;
        let now = Instant::now();
        // Built first, so its `Drop` stops whatever was spawned on every way out.
        let mut gateways = Gateways {
            children: Vec::with_capacity(count),
            first_ready_at: now,
            ready_at: now,
        };
        let mut ready = Vec::with_capacity(count);
        for _ in 0..count {
            let mut child = command(&exe, launch)
                .spawn()
                .with_context(|| format!("spawn {} serve", exe.display()))?;
            let stdout = child.stdout.take().expect("stdout is piped");
            ready.push(watch_stdout(stdout));
            gateways.children.push(child);
        }
        let mut ready_times = Vec::with_capacity(count);
        for signal in ready {
            match tokio::time::timeout(READY_TIMEOUT, signal).await {
                Ok(Ok(at)) => ready_times.push(at),
                Ok(Err(_)) => anyhow::bail!(
                    "a gateway process exited before listening (its errors are above)"
                ),
                Err(_) => anyhow::bail!(
                    "a gateway process did not listen within {} s",
                    READY_TIMEOUT.as_secs()
                ),
            }
        }
        gateways.first_ready_at = ready_times.iter().copied().min().unwrap_or(now);
        gateways.ready_at = ready_times.iter().copied().max().unwrap_or(now);
        Ok(gateways)
    }

    /// SIGTERM to each, then waits for them; an error if one had exited on its own or had to be
    /// killed.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        stop_all(std::mem::take(&mut self.children)).await
    }
}

impl Drop for Gateways {
    fn drop(&mut self) {
        if !self.children.is_empty() {
            let _ = stop_now(std::mem::take(&mut self.children));
        }
    }
}

/// `PAYGATE_BIN`, or `paygate` in this executable's directory: cargo puts both binaries of a
/// profile in the same target directory.
pub fn gateway_binary() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os(GATEWAY_BIN_ENV) {
        let path = PathBuf::from(path);
        anyhow::ensure!(
            path.is_file(),
            "{GATEWAY_BIN_ENV}={} is not a file",
            path.display()
        );
        return Ok(path);
    }
    let exe = std::env::current_exe().context("find this executable")?;
    let path = exe.with_file_name(format!("paygate{}", std::env::consts::EXE_SUFFIX));
    anyhow::ensure!(
        path.is_file(),
        "the gateway binary {} is missing: build it with `cargo build --release -p paygate` \
         (or set {GATEWAY_BIN_ENV} to a paygate binary)",
        path.display()
    );
    Ok(path)
}

fn command(exe: &Path, launch: &Launch<'_>) -> Command {
    let mut command = Command::new(exe);
    // The rest of the environment is inherited, so PAYGATE_NOTIFY_* and the like pass through.
    command
        .arg("serve")
        .env_remove(GATEWAY_BIN_ENV)
        .env("PAYGATE_DATABASE_URL", launch.database_url)
        .env("PAYGATE_LISTEN", "127.0.0.1:0")
        .env("PAYGATE_MASTER_KEY", launch.master_key_hex)
        .env("PAYGATE_NOTIFY_ALLOW_PRIVATE", "true")
        .env("PAYGATE_DEMO", "false")
        .env("PAYGATE_LOG", "warn")
        .env("PAYGATE_ORDER_TTL_SECS", launch.order_ttl_secs.to_string())
        // serve creates its data directory even on PostgreSQL; keep it out of the caller's cwd.
        .env("PAYGATE_DATA_DIR", std::env::temp_dir())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    command
}

/// Reads a child's stdout on its own thread: the receiver resolves to when the listening line
/// was read (or fails if the child closes stdout first). The rest is read and dropped, so
/// the child never blocks on a full pipe.
fn watch_stdout(stdout: ChildStdout) -> oneshot::Receiver<Instant> {
    let (listening, signal) = oneshot::channel();
    std::thread::spawn(move || {
        let mut listening = Some(listening);
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.starts_with("listening on") {
                if let Some(listening) = listening.take() {
                    let _ = listening.send(Instant::now());
                }
            }
        }
    });
    signal
}

async fn stop_all(children: Vec<Child>) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(move || stop_now(children))
        .await
        .context("stop the gateway processes")?
}

fn stop_now(mut children: Vec<Child>) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    for child in &mut children {
        match child.try_wait() {
            Ok(Some(status)) => problems.push(format!(
                "gateway process {} had exited on its own ({status})",
                child.id()
            )),
            _ => terminate(child.id()),
        }
    }
    let deadline = Instant::now() + STOP_TIMEOUT;
    for child in &mut children {
        loop {
            match child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Ok(None) | Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    problems.push(format!(
                        "gateway process {} did not stop within {} s of SIGTERM; killed",
                        child.id(),
                        STOP_TIMEOUT.as_secs()
                    ));
                    break;
                }
            }
        }
    }
    anyhow::ensure!(problems.is_empty(), "{}", problems.join("; "));
    Ok(())
}

fn terminate(pid: u32) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: kill(2) touches no memory of ours, and the pid is our own child not yet reaped,
    // so it cannot name another process.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
}
