//! The operations contract of `paygate serve` (DESIGN §13), checked on the real binary: a fresh
//! data directory gets a demo merchant that can sign a create at once; SIGTERM stops it cleanly;
//! a taken address or an unreachable database is a clear non-zero exit.

use paygate_client::{Client, CreateOrder};
use paygate_domain::sign::{SignKey, VerifyKey};
use paygate_domain::{Currency, MerchantId, Money, OrderStatus, OutTradeNo};
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

fn paygate(data_dir: &PathBuf, listen: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_paygate"));
    cmd.arg("serve")
        .env("PAYGATE_DATA_DIR", data_dir)
        .env("PAYGATE_LISTEN", listen)
        .env("PAYGATE_LOG", "warn")
        .env_remove("PAYGATE_DATABASE_URL")
        .env_remove("PAYGATE_MASTER_KEY")
        .env_remove("PAYGATE_PUBLIC_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
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
        let client = Client::builder(&base_url, merchant, SignKey::Md5(secret.clone()))
            .verify_key(VerifyKey::Md5(secret))
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
