//! A deployment: the data directory, database and master key every process of one test shares,
//! and the one-shot `paygate` commands run against it.

use paygate_client::Client;
use paygate_domain::secret::MasterKey;
use paygate_domain::sign::{SignKey, VerifyKey};
use paygate_domain::MerchantId;
use paygate_testkit::{DbBackend, TempDir, TestDb};
use serde_json::Value;
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const PAYER: &str = "mp_payer";
const PAYER_FUNDS: &str = "100000.00";
const CLI_LIMIT: Duration = Duration::from_secs(30);

/// Where a gateway's state lives. Every process started from one deployment shares its
/// database and master key, as processes on one database must.
pub struct Deployment {
    pub data_dir: TempDir,
    /// The database and the master key every process is given; `None` means SQLite in the data
    /// directory, whose master key the first command generates there.
    pub postgres: Option<(TestDb, String)>,
    /// Further settings every process of this deployment gets.
    pub env: Vec<(&'static str, String)>,
    pub commands_run: AtomicU64,
}

pub struct Merchant {
    pub id: MerchantId,
    pub secret: String,
    /// The bearer token of the payer's app (`paygate wallet token`), which asks the gateway for
    /// a one-time pay code before every payment: the payer's consent, as in production.
    pub payer_token: String,
}

impl Deployment {
    pub fn sqlite() -> Deployment {
        Deployment {
            data_dir: TempDir::new("paygate-mp"),
            postgres: None,
            env: Vec::new(),
            commands_run: AtomicU64::new(0),
        }
    }

    pub async fn postgres() -> Deployment {
        let db = TestDb::create(DbBackend::Postgres).await;
        Deployment {
            postgres: Some((db, MasterKey::generate_hex())),
            ..Deployment::sqlite()
        }
    }

    pub fn with_env(mut self, key: &'static str, value: &str) -> Deployment {
        self.env.push((key, value.to_owned()));
        self
    }

    pub fn database_url(&self) -> String {
        match &self.postgres {
            Some((db, _)) => db.url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.0.join("paygate.db").display()
            ),
        }
    }

    /// `paygate <args>` with this deployment's settings and nothing from the caller's
    /// environment, so a stray `PAYGATE_*` variable cannot point the test elsewhere.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_paygate"));
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("PAYGATE_") {
                cmd.env_remove(key);
            }
        }
        // Few connections per process: the PostgreSQL server is shared with other test runs.
        cmd.args(args)
            .env("PAYGATE_DATA_DIR", &self.data_dir.0)
            .env("PAYGATE_DEMO", "false")
            .env("PAYGATE_LOG", "warn")
            .env("PAYGATE_PG_CONNECTIONS_MAX", "6");
        if let Some((db, key)) = &self.postgres {
            cmd.env("PAYGATE_DATABASE_URL", &db.url)
                .env("PAYGATE_MASTER_KEY", key);
        }
        cmd.envs(self.env.iter().map(|(key, value)| (key, value)));
        cmd
    }

    /// Runs a one-shot command to completion and returns what it printed.
    pub fn run(&self, args: &[&str]) -> String {
        let n = self.commands_run.fetch_add(1, Ordering::Relaxed);
        let out_path = self.data_dir.0.join(format!("cli-{n}.out"));
        let err_path = self.data_dir.0.join(format!("cli-{n}.err"));
        let mut child = self
            .command(args)
            .stdout(std::fs::File::create(&out_path).expect("stdout file"))
            .stderr(std::fs::File::create(&err_path).expect("stderr file"))
            .spawn()
            .expect("start paygate");
        let status = wait_with_limit(&mut child, CLI_LIMIT);
        let stdout = std::fs::read_to_string(&out_path).expect("read stdout");
        let stderr = std::fs::read_to_string(&err_path).expect("read stderr");
        assert!(status.success(), "paygate {args:?}: {status:?}\n{stderr}");
        stdout
    }

    /// A merchant made through the CLI, and a payer wallet funded for the whole run.
    pub fn open_merchant(&self) -> Merchant {
        // The merchant's notify server is on loopback.
        let printed = self.run(&[
            "merchant",
            "create",
            "--name",
            "Multiprocess",
            "--allow-private-notify",
            "--sign-type",
            "MD5",
            "--json",
        ]);
        let json: Value = serde_json::from_str(printed.trim()).expect("merchant JSON");
        let id = json["merchant_id"].as_str().expect("merchant_id");
        let secret = json["secret"].as_str().expect("secret").to_owned();
        assert_eq!(json["sign_type"], "MD5");
        self.run(&["wallet", "topup", PAYER, PAYER_FUNDS]);
        let printed = self.run(&["wallet", "token", PAYER, "--json"]);
        let token: Value = serde_json::from_str(printed.trim()).expect("payer token JSON");
        Merchant {
            id: MerchantId::parse(id).expect("merchant id"),
            secret,
            payer_token: token["payer_token"]
                .as_str()
                .expect("payer_token")
                .to_owned(),
        }
    }
}

impl Merchant {
    pub fn client(&self, base_url: &str) -> Client {
        Client::builder(
            base_url,
            self.id.clone(),
            SignKey::Md5(self.secret.clone().into()),
        )
        .verify_key(self.verify_key())
        .build()
        .expect("client")
    }

    pub fn verify_key(&self) -> VerifyKey {
        VerifyKey::Md5(self.secret.clone().into())
    }
}

/// Waits for the child to exit, killing it after `limit`.
pub fn wait_with_limit(child: &mut Child, limit: Duration) -> ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for paygate") {
            return status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("paygate did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
