//! Log injection before authentication (issue #6, item 9): text from an unsigned request, here a
//! JSON key holding a newline and a terminal escape, reaches the log only escaped, and the log
//! carries no colour codes when stderr is not a terminal. Checked on the real binary's stderr.

use paygate_client::Client;
use paygate_domain::sign::SignKey;
use paygate_domain::MerchantId;
use serde_json::{Map, Value};
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What an attacker would like the log to show as a line of its own, in the log's own format.
const FORGED_LINE: &str = "2026-11-29T06:00:00.000000Z  INFO paygate: admin login accepted";

fn fresh_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!(
        "paygate-cli-log-injection-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Starts `paygate serve` logging at info, and returns it with the demo merchant and base URL.
fn serve(dir: &PathBuf) -> (Child, MerchantId, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_paygate"))
        .arg("serve")
        .env("PAYGATE_DATA_DIR", dir)
        .env("PAYGATE_LISTEN", "127.0.0.1:0")
        .env("PAYGATE_LOG", "info")
        .env_remove("NO_COLOR")
        .env_remove("PAYGATE_LOG_FORMAT")
        .env_remove("PAYGATE_DATABASE_URL")
        .env_remove("PAYGATE_MASTER_KEY")
        .env_remove("PAYGATE_PUBLIC_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut merchant = None;
    let mut base_url = None;
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("demo merchant: ") {
            merchant = rest
                .split(' ')
                .find_map(|kv| kv.strip_prefix("merchant_id="))
                .and_then(|id| MerchantId::parse(id).ok());
        }
        if let Some(url) = line.strip_prefix("listening on ") {
            base_url = Some(url.to_owned());
            break;
        }
    }
    match (merchant, base_url) {
        (Some(merchant), Some(base_url)) => (child, merchant, base_url),
        _ => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("serve did not print a demo merchant and a listening line");
        }
    }
}

fn stop(mut child: Child) -> String {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "serve did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    stderr
}

#[test]
fn a_json_key_with_a_newline_and_an_escape_is_logged_escaped() {
    let dir = fresh_dir();
    let (child, merchant, base_url) = serve(&dir);
    let evil_key = format!("evil\n{FORGED_LINE}\u{1b}[31m");
    let mut body = Map::new();
    body.insert("merchant_id".into(), merchant.as_str().into());
    body.insert("timestamp".into(), now_secs().into());
    body.insert("nonce".into(), "LogInjection0001".into());
    body.insert("sign".into(), "not checked before the type".into());
    body.insert(evil_key.clone(), Value::Object(Map::new()));

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (status, answer) = runtime.block_on(async {
        let client = Client::new(base_url, merchant, SignKey::Md5("unused".into())).unwrap();
        client
            .send_unsigned("/api/payment/create", body)
            .await
            .expect("an answer")
    });
    let stderr = stop(child);
    let _ = std::fs::remove_dir_all(dir);

    assert_eq!(status, 400, "{answer:?}");
    assert_eq!(answer["error_field"], evil_key.as_str());
    let escaped = format!("evil\\n{FORGED_LINE}\\u{{1b}}[31m");
    assert!(stderr.contains(&escaped), "no escaped key in:\n{stderr}");
    assert!(
        !stderr.lines().any(|line| line.starts_with(FORGED_LINE)),
        "a forged line reached the log:\n{stderr}"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "an escape character reached a log that is not a terminal:\n{stderr:?}"
    );
}

fn now_secs() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(since_epoch.as_secs()).unwrap()
}
