//! The operations contract of `paygate serve` (DESIGN §13), checked on the real binary: a fresh
//! data directory gets a demo merchant that can sign a create at once; SIGTERM stops it cleanly;
//! a taken address or an unreachable database is a clear non-zero exit. Production defaults are
//! safe (issue #6, item 3): on PostgreSQL no demo data unless asked and no start without a master
//! key; a short admin token refuses to start. Key rotation never downgrades silently (item 5).
//!
//! The PostgreSQL tests fail when the server is unreachable, unless `PAYGATE_TEST_SKIP_PG=1`.

use paygate_client::{Client, CreateOrder};
use paygate_domain::secret::MasterKey;
use paygate_domain::sign::{SignKey, VerifyKey};
use paygate_domain::{Currency, MerchantId, Money, OrderStatus, OutTradeNo};
use paygate_testkit::{pg_skipped, DbBackend, TestDb};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn fresh_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir =
        std::env::temp_dir().join(format!("paygate-cli-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `paygate <args>` on `data_dir` with nothing from the caller's `PAYGATE_*` environment.
fn paygate_command(data_dir: &PathBuf, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_paygate"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PAYGATE_") {
            cmd.env_remove(key);
        }
    }
    cmd.args(args)
        .env("PAYGATE_DATA_DIR", data_dir)
        .env("PAYGATE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn paygate(data_dir: &PathBuf, listen: &str) -> Command {
    let mut cmd = paygate_command(data_dir, &["serve"]);
    cmd.env("PAYGATE_LISTEN", listen);
    cmd
}

/// Waits for the child to exit, killing it after `limit`.
fn wait_with_limit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("paygate did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn stderr_of(child: &mut Child) -> String {
    let mut text = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

#[test]
fn a_fresh_data_dir_starts_with_a_demo_merchant_that_can_create_an_order() {
    let dir = fresh_dir("demo");
    let mut child = paygate(&dir, "127.0.0.1:0").spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut demo = None;
    let mut base_url = None;
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("demo merchant: ") {
            demo = Some(rest.to_owned());
        }
        if let Some(url) = line.strip_prefix("listening on ") {
            base_url = Some(url.to_owned());
            break;
        }
    }
    let demo = demo.expect("a demo merchant line before listening");
    let base_url = base_url.expect("a listening line");
    let field = |name: &str| {
        demo.split(' ')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} in {demo:?}"))
            .to_owned()
    };
    assert_eq!(field("sign_type"), "MD5");
    let merchant = MerchantId::parse(&field("merchant_id")).unwrap();
    let secret = field("secret");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let order = runtime.block_on(async {
        let client = Client::builder(&base_url, merchant, SignKey::Md5(secret.clone().into()))
            .verify_key(VerifyKey::Md5(secret.into()))
            .build()
            .unwrap();
        let create = CreateOrder::new(
            OutTradeNo::parse("DEMO-1").unwrap(),
            Money::parse("0.01", Currency::Cny).unwrap(),
            "first order",
            "https://shop.example/notify",
        );
        client
            .create_order(&create)
            .await
            .expect("signed create succeeds")
    });
    assert_eq!(order.trade_status, OrderStatus::WaitPay);
    let pay_url = order.pay_url.expect("a pay_url");
    assert!(
        pay_url.starts_with(&format!("{base_url}/cashier/")),
        "{pay_url}"
    );

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = wait_with_limit(&mut child, Duration::from_secs(10));
    assert!(exit.success(), "SIGTERM ends serve cleanly, got {exit:?}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_taken_address_is_a_clear_non_zero_exit() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = fresh_dir("taken");
    let mut child = paygate(&dir, &addr).spawn().unwrap();
    let exit = wait_with_limit(&mut child, Duration::from_secs(20));
    assert!(!exit.success());
    assert!(stderr_of(&mut child).contains(&format!("cannot listen on {addr}")));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_unreachable_database_is_a_clear_non_zero_exit() {
    let dir = fresh_dir("nodb");
    let mut child = paygate(&dir, "127.0.0.1:0")
        .env(
            "PAYGATE_DATABASE_URL",
            "postgres://paygate:hunter2@127.0.0.1:1/none",
        )
        // PostgreSQL needs a master key before the database is even tried.
        .env("PAYGATE_MASTER_KEY", MasterKey::generate_hex())
        .spawn()
        .unwrap();
    let exit = wait_with_limit(&mut child, Duration::from_secs(30));
    assert!(!exit.success());
    let stderr = stderr_of(&mut child);
    assert!(stderr.contains("database unreachable"), "{stderr}");
    assert!(
        !stderr.contains("hunter2"),
        "the password never reaches the output"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// A fresh PostgreSQL database for one test; `None` only when PostgreSQL tests are switched off.
fn fresh_postgres() -> Option<TestDb> {
    if pg_skipped() {
        eprintln!("PAYGATE_TEST_SKIP_PG=1: skipping the PostgreSQL run");
        return None;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    Some(runtime.block_on(TestDb::create(DbBackend::Postgres)))
}

/// Runs a command that must fail (exit non-zero) and returns its stderr.
fn run_failing(mut cmd: Command) -> String {
    let mut child = cmd.spawn().unwrap();
    let exit = wait_with_limit(&mut child, Duration::from_secs(30));
    let stderr = stderr_of(&mut child);
    assert!(!exit.success(), "must exit non-zero: {stderr}");
    stderr
}

/// Runs a one-shot command that must succeed and returns its stdout.
fn run_ok(mut cmd: Command) -> String {
    let output = cmd.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Starts serve, collects stdout up to the `listening on` line, then stops it with SIGTERM.
fn stdout_until_listening(mut cmd: Command) -> Vec<String> {
    let mut child = cmd.spawn().unwrap();
    let mut printed = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        let listening = line.starts_with("listening on ");
        printed.push(line);
        if listening {
            break;
        }
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let exit = wait_with_limit(&mut child, Duration::from_secs(10));
    let last = printed.last().cloned().unwrap_or_default();
    assert!(
        last.starts_with("listening on "),
        "serve did not start: {printed:?} {exit:?} {}",
        stderr_of(&mut child)
    );
    printed
}

#[test]
fn postgres_without_a_master_key_refuses_to_start_in_one_line() {
    let Some(db) = fresh_postgres() else { return };
    let dir = fresh_dir("pg-nokey");
    let mut cmd = paygate(&dir, "127.0.0.1:0");
    cmd.env("PAYGATE_DATABASE_URL", &db.url);
    let stderr = run_failing(cmd);
    assert_eq!(
        stderr.trim_end().lines().collect::<Vec<_>>(),
        vec![
            "error: PAYGATE_MASTER_KEY must be set when the database is PostgreSQL \
             (a master key is generated only for the embedded SQLite database)"
        ]
    );
    assert!(!dir.join("master.key").exists(), "no key file is generated");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_short_admin_token_refuses_to_start_in_one_line() {
    let dir = fresh_dir("short-admin");
    let mut cmd = paygate(&dir, "127.0.0.1:0");
    cmd.env("PAYGATE_ADMIN_TOKEN", "a".repeat(20));
    let stderr = run_failing(cmd);
    assert_eq!(
        stderr.trim_end().lines().collect::<Vec<_>>(),
        vec![
            "error: PAYGATE_ADMIN_TOKEN must be at least 32 characters (it has 20); \
             set it empty to turn the admin API off"
        ]
    );
    assert!(
        !stderr.contains(&"a".repeat(20)),
        "the token is never printed"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn postgres_gets_demo_data_only_when_asked() {
    let Some(db) = fresh_postgres() else { return };
    let dir = fresh_dir("pg-demo");
    let key = MasterKey::generate_hex();
    let on_postgres = |args: &[&str]| {
        let mut cmd = paygate_command(&dir, args);
        cmd.env("PAYGATE_DATABASE_URL", &db.url)
            .env("PAYGATE_MASTER_KEY", &key)
            .env("PAYGATE_LISTEN", "127.0.0.1:0");
        cmd
    };
    let printed = stdout_until_listening(on_postgres(&["serve"]));
    assert!(
        !printed.iter().any(|l| l.starts_with("demo merchant:")),
        "{printed:?}"
    );
    assert_eq!(run_ok(on_postgres(&["merchant", "list", "--json"])), "");
    assert!(!dir.join("master.key").exists());

    let mut asked = on_postgres(&["serve"]);
    asked.env("PAYGATE_DEMO", "true");
    let printed = stdout_until_listening(asked);
    assert!(
        printed.iter().any(|l| l.starts_with("demo merchant:")),
        "{printed:?}"
    );
    let listed = run_ok(on_postgres(&["merchant", "list", "--json"]));
    assert_eq!(listed.lines().count(), 1, "{listed}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn demo_false_means_no_demo_data_even_on_sqlite() {
    let dir = fresh_dir("demo-off");
    let mut cmd = paygate(&dir, "127.0.0.1:0");
    cmd.env("PAYGATE_DEMO", "false");
    let printed = stdout_until_listening(cmd);
    assert!(
        !printed.iter().any(|l| l.starts_with("demo merchant:")),
        "{printed:?}"
    );
    assert_eq!(
        run_ok(paygate_command(&dir, &["merchant", "list", "--json"])),
        ""
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn merchants_default_to_hmac_and_rotation_never_downgrades_silently() {
    let dir = fresh_dir("rotate");
    let cli = |args: &[&str]| paygate_command(&dir, args);
    let created: Value = serde_json::from_str(&run_ok(cli(&[
        "merchant", "create", "--name", "Tea", "--json",
    ])))
    .unwrap();
    assert_eq!(created["sign_type"], "HMAC-SHA256");
    let id = created["merchant_id"].as_str().unwrap();

    let kept: Value =
        serde_json::from_str(&run_ok(cli(&["merchant", "rotate-key", id, "--json"]))).unwrap();
    assert_eq!(kept["sign_type"], "HMAC-SHA256", "the sign type is kept");
    assert_ne!(kept["secret"], created["secret"], "a new secret is issued");
    let union_key = created["union_login_key"].as_str().unwrap();
    assert_eq!(union_key.len(), 64);
    assert!(union_key.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(
        kept["union_login_key"], union_key,
        "rotation keeps the union-login key"
    );
    let shown_key: Value =
        serde_json::from_str(&run_ok(cli(&["merchant", "union-login-key", id, "--json"]))).unwrap();
    assert_eq!(shown_key["union_login_key"], union_key);

    let stderr = run_failing(cli(&["merchant", "rotate-key", id, "--sign-type", "MD5"]));
    assert!(
        stderr.contains("MD5 is weaker than the merchant's current HMAC-SHA256"),
        "{stderr}"
    );
    assert!(stderr.contains("--allow-downgrade"), "{stderr}");
    let shown: Value =
        serde_json::from_str(&run_ok(cli(&["merchant", "show", id, "--json"]))).unwrap();
    assert_eq!(
        shown["sign_type"], "HMAC-SHA256",
        "a refused rotation changes nothing"
    );

    let downgraded: Value = serde_json::from_str(&run_ok(cli(&[
        "merchant",
        "rotate-key",
        id,
        "--sign-type",
        "MD5",
        "--allow-downgrade",
        "--json",
    ])))
    .unwrap();
    assert_eq!(downgraded["sign_type"], "MD5");
    let _ = std::fs::remove_dir_all(dir);
}
