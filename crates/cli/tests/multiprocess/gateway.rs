//! A `paygate serve` child process of a deployment, stopped with SIGTERM or SIGKILL.

use crate::deployment::{wait_with_limit, Deployment};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

const STARTUP_LIMIT: Duration = Duration::from_secs(30);
const EXIT_LIMIT: Duration = Duration::from_secs(20);
/// Enough of a gateway's log to explain a failure without holding all of it.
const STDERR_LINES_KEPT: usize = 200;

/// A running `paygate serve`. Its output is drained by threads, so a chatty log can never
/// block it on a full pipe.
pub struct Gateway {
    pub child: Child,
    pub base_url: String,
    pub stderr_tail: Arc<Mutex<VecDeque<String>>>,
}

impl Gateway {
    pub fn start(deployment: &Deployment) -> Gateway {
        let mut child = deployment
            .command(&["serve"])
            .env("PAYGATE_LISTEN", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start paygate serve");
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        let stderr = child.stderr.take().expect("stderr");
        let tail = stderr_tail.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut tail = tail.lock().expect("stderr lock");
                if tail.len() == STDERR_LINES_KEPT {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
        });
        let stdout = child.stdout.take().expect("stdout");
        let (lines_tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = lines_tx.send(line);
            }
        });
        let mut gateway = Gateway {
            child,
            base_url: String::new(),
            stderr_tail,
        };
        let deadline = Instant::now() + STARTUP_LIMIT;
        while gateway.base_url.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(url) = line.strip_prefix("listening on ") {
                        gateway.base_url = url.to_owned();
                    }
                }
                Err(_) => panic!("serve never said where it listens:\n{}", gateway.log()),
            }
        }
        gateway
    }

    pub fn log(&self) -> String {
        let tail = self.stderr_tail.lock().expect("stderr lock");
        tail.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    /// SIGTERM, as an operator or an orchestrator stops it; returns how it exited.
    pub fn terminate(mut self) -> ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM failed");
        let status = wait_with_limit(&mut self.child, EXIT_LIMIT);
        if !status.success() {
            eprintln!("gateway log:\n{}", self.log());
        }
        status
    }

    /// SIGKILL (`Child::kill` on Unix): no handler runs, nothing is flushed or released.
    pub fn kill_9(mut self) {
        self.child.kill().expect("kill -9");
        let status = self.child.wait().expect("reap");
        assert!(!status.success());
    }
}

impl Drop for Gateway {
    /// A failing test must not leave a gateway running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
