//! Operator commands: merchants, wallet top-ups, pay codes and payer tokens. Secrets are printed
//! once, when issued.

use crate::config::Settings;
use crate::wiring;
use clap::Subcommand;
use paygate_api::admin::PayoutLimitsInput;
use paygate_app::{CreatedMerchant, Downgrade, NewMerchantInput, RotateKeyInput};
use paygate_domain::address::PrivateTargets;
use paygate_domain::payout_rules::PayoutLimits;
use paygate_domain::sign::SignType;
use paygate_domain::{Amount, Currency, MerchantId, Money, PayType, WalletAccountId};

#[derive(Subcommand)]
pub enum MerchantCommand {
    /// Create a merchant and print its credentials (shown only now).
    Create {
        #[arg(long)]
        name: String,
        /// Choose the id instead of minting one.
        #[arg(long)]
        id: Option<String>,
        #[arg(long, default_value = "HMAC-SHA256", value_parser = parse_sign_type)]
        sign_type: SignType,
        /// The merchant's RSA public key (base64 DER or PEM) for RSA2; generated when absent.
        #[arg(long)]
        rsa_public_key: Option<String>,
        #[arg(long, value_delimiter = ',', default_value = "wallet", value_parser = parse_pay_type)]
        pay_types: Vec<PayType>,
        /// Notification retry delays in seconds, e.g. 15,15,30,180 (default: seed 003's schedule).
        #[arg(long, value_delimiter = ',')]
        notify_delays: Option<Vec<i64>>,
        /// Let this merchant's notify_url and return_url point at loopback, private and other
        /// non-public addresses (a merchant on the gateway's own network; development).
        #[arg(long)]
        allow_private_notify: bool,
        #[arg(long)]
        json: bool,
    },
    /// Show one merchant (never its secret).
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// List merchants.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Issue new keys; the old ones stop working. The sign type stays the merchant's unless
    /// --sign-type is given.
    RotateKey {
        id: String,
        #[arg(long, value_parser = parse_sign_type)]
        sign_type: Option<SignType>,
        #[arg(long)]
        rsa_public_key: Option<String>,
        /// Allow a weaker sign type than the current one (MD5 < HMAC-SHA256 < RSA2).
        #[arg(long)]
        allow_downgrade: bool,
        #[arg(long)]
        json: bool,
    },
    /// Show the merchant's union-login key (64 hex characters: the AES-256-GCM key that
    /// decrypts `encrypted_url` of POST /api/union-login), creating it if the merchant has none.
    UnionLoginKey {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Show the merchant's payout limits; with any limit given, set it (the others stay).
    /// Amounts in yuan, e.g. --daily-max 200000.00.
    PayoutLimits {
        id: String,
        #[arg(long)]
        per_payout_max: Option<String>,
        #[arg(long)]
        daily_max: Option<String>,
        #[arg(long)]
        monthly_max: Option<String>,
        #[arg(long)]
        calls_per_minute_max: Option<u32>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum WalletCommand {
    /// Credit a payer's wallet account (opening it on first top-up).
    Topup {
        account: String,
        /// Decimal yuan, e.g. 100.00
        amount: String,
        #[arg(long)]
        json: bool,
    },
    /// Issue a one-time pay code for the account (as its payer's app would), valid 60 s. A
    /// merchant sends it as `auth_code` to charge the wallet.
    Paycode {
        account: String,
        /// Print {"auth_code": "...", "expires_in": 60}.
        #[arg(long)]
        json: bool,
    },
    /// Issue (or replace) the bearer token of the account's payer app, which asks for pay codes
    /// at POST /api/wallet/paycode. Shown only now; the previous token stops working.
    Token {
        account: String,
        #[arg(long)]
        json: bool,
    },
}

fn wallet_account(text: &str) -> anyhow::Result<WalletAccountId> {
    WalletAccountId::parse(text).map_err(|e| anyhow::anyhow!("{e}"))
}

fn parse_sign_type(text: &str) -> Result<SignType, String> {
    text.parse()
        .map_err(|_| "must be MD5, HMAC-SHA256 or RSA2".to_owned())
}

fn parse_pay_type(text: &str) -> Result<PayType, String> {
    text.parse()
}

fn app_error(error: paygate_app::AppError) -> anyhow::Error {
    anyhow::anyhow!("{error}")
}

fn print_credentials(created: &CreatedMerchant, union_login_key: &str, json: bool) {
    if json {
        let value = serde_json::json!({
            "merchant_id": created.id.as_str(),
            "sign_type": created.sign_type.as_str(),
            "secret": created.secret,
            "rsa_private_key": created.rsa_private_key,
            "rsa_public_key": created.rsa_public_key,
            "union_login_key": union_login_key,
        });
        println!("{value}");
        return;
    }
    println!("merchant_id={}", created.id);
    println!("sign_type={}", created.sign_type);
    println!("secret={}", created.secret.expose());
    if let Some(key) = &created.rsa_private_key {
        println!("rsa_private_key={key}");
    }
    println!("union_login_key={union_login_key}");
}

fn merchant_id(text: &str) -> anyhow::Result<MerchantId> {
    MerchantId::parse(text).map_err(|e| anyhow::anyhow!("{e}"))
}

pub async fn merchant(settings: Settings, command: MerchantCommand) -> anyhow::Result<()> {
    let app = wiring::open_app(&settings).await?;
    match command {
        MerchantCommand::Create {
            name,
            id,
            sign_type,
            rsa_public_key,
            pay_types,
            notify_delays,
            allow_private_notify,
            json,
        } => {
            let id = id.as_deref().map(merchant_id).transpose()?;
            let input = NewMerchantInput {
                id,
                name,
                sign_type,
                rsa_public_key,
                pay_types,
                notify_delays_secs: notify_delays,
                private_targets: if allow_private_notify {
                    PrivateTargets::Allowed
                } else {
                    PrivateTargets::Refused
                },
            };
            let created = app.create_merchant(input).await.map_err(app_error)?;
            let key = app.union_login_key(&created.id).await.map_err(app_error)?;
            print_credentials(&created, &key.to_hex(), json);
        }
        MerchantCommand::Show { id, json } => {
            let record = app
                .get_merchant(&merchant_id(&id)?)
                .await
                .map_err(app_error)?
                .ok_or_else(|| anyhow::anyhow!("no merchant {id}"))?;
            print_merchants(&[record], json);
        }
        MerchantCommand::List { json } => {
            print_merchants(&app.list_merchants().await.map_err(app_error)?, json);
        }
        MerchantCommand::RotateKey {
            id,
            sign_type,
            rsa_public_key,
            allow_downgrade,
            json,
        } => {
            let input = RotateKeyInput {
                sign_type,
                rsa_public_key,
                downgrade: if allow_downgrade {
                    Downgrade::Allow
                } else {
                    Downgrade::Refuse
                },
            };
            let created = app
                .rotate_merchant_key(&merchant_id(&id)?, input)
                .await
                .map_err(app_error)?;
            let key = app.union_login_key(&created.id).await.map_err(app_error)?;
            print_credentials(&created, &key.to_hex(), json);
        }
        MerchantCommand::UnionLoginKey { id, json } => {
            let key = app
                .union_login_key(&merchant_id(&id)?)
                .await
                .map_err(app_error)?;
            if json {
                let value = serde_json::json!({"merchant_id": id, "union_login_key": key.to_hex()});
                println!("{value}");
            } else {
                println!("union_login_key={}", key.to_hex());
            }
        }
        MerchantCommand::PayoutLimits {
            id,
            per_payout_max,
            daily_max,
            monthly_max,
            calls_per_minute_max,
            json,
        } => {
            let changes = LimitChanges {
                per_payout_max,
                daily_max,
                monthly_max,
                calls_per_minute_max,
            };
            payout_limits(&app, &merchant_id(&id)?, changes, json).await?;
        }
    }
    Ok(())
}

/// The limits in force, changed by whichever of the given values are set.
struct LimitChanges {
    per_payout_max: Option<String>,
    daily_max: Option<String>,
    monthly_max: Option<String>,
    calls_per_minute_max: Option<u32>,
}

impl LimitChanges {
    fn is_empty(&self) -> bool {
        self.per_payout_max.is_none()
            && self.daily_max.is_none()
            && self.monthly_max.is_none()
            && self.calls_per_minute_max.is_none()
    }

    fn apply(&self, mut limits: PayoutLimits) -> anyhow::Result<PayoutLimits> {
        let yuan = |text: &str| {
            Amount::parse_major(text, Currency::Cny).map_err(|e| anyhow::anyhow!("{text:?}: {e}"))
        };
        for (given, limit) in [
            (&self.per_payout_max, &mut limits.per_payout_max),
            (&self.daily_max, &mut limits.daily_max),
            (&self.monthly_max, &mut limits.monthly_max),
        ] {
            if let Some(text) = given {
                *limit = yuan(text)?;
            }
        }
        if let Some(calls) = self.calls_per_minute_max {
            anyhow::ensure!(calls > 0, "--calls-per-minute-max must be positive");
            limits.calls_per_minute_max = calls;
        }
        Ok(limits)
    }
}

async fn payout_limits(
    app: &paygate_app::App,
    id: &MerchantId,
    changes: LimitChanges,
    json: bool,
) -> anyhow::Result<()> {
    let mut limits = app.payout_limits(id).await.map_err(app_error)?;
    if !changes.is_empty() {
        let wanted = changes.apply(limits)?;
        limits = app
            .set_payout_limits(id, &wanted)
            .await
            .map_err(app_error)?;
    }
    let view = PayoutLimitsInput::of(&limits);
    if json {
        let value = serde_json::json!({"merchant_id": id.as_str(), "limits": view});
        println!("{value}");
    } else {
        let shown = |a: Amount| Money::new(a, Currency::Cny).to_major_string();
        println!("per_payout_max={}", shown(limits.per_payout_max));
        println!("daily_max={}", shown(limits.daily_max));
        println!("monthly_max={}", shown(limits.monthly_max));
        println!("calls_per_minute_max={}", limits.calls_per_minute_max);
    }
    Ok(())
}

fn print_merchants(records: &[paygate_store::MerchantRecord], json: bool) {
    for record in records {
        let pay_types: Vec<_> = record.pay_types.iter().map(|t| t.as_str()).collect();
        let allow_private_notify = record.private_targets == PrivateTargets::Allowed;
        if json {
            let value = serde_json::json!({
                "merchant_id": record.id.as_str(),
                "name": record.name,
                "sign_type": record.sign_type.as_str(),
                "pay_types": pay_types,
                "rsa_public_key": record.rsa_public_key,
                "allow_private_notify": allow_private_notify,
                "created_at": record.created_at_ms / 1000,
            });
            println!("{value}");
        } else {
            let private = if allow_private_notify {
                "\tallow-private-notify"
            } else {
                ""
            };
            println!(
                "{}\t{}\t{}\t{}{private}",
                record.id,
                record.sign_type,
                pay_types.join(","),
                record.name
            );
        }
    }
}

pub async fn wallet(settings: Settings, command: WalletCommand) -> anyhow::Result<()> {
    let app = wiring::open_app(&settings).await?;
    match command {
        WalletCommand::Topup {
            account,
            amount,
            json,
        } => {
            let account = wallet_account(&account)?;
            let money =
                Money::parse(&amount, Currency::Cny).map_err(|e| anyhow::anyhow!("amount: {e}"))?;
            let balance = app.wallet_topup(&account, money).await.map_err(app_error)?;
            let balance = balance.to_major_string(Currency::Cny);
            if json {
                println!(
                    "{}",
                    serde_json::json!({"account": account.as_str(), "balance": balance})
                );
            } else {
                println!("{account} balance={balance} CNY");
            }
        }
        WalletCommand::Paycode { account, json } => {
            let issued = app
                .issue_pay_code(&wallet_account(&account)?)
                .await
                .map_err(app_error)?;
            if json {
                let answer = paygate_api::payer::PayCodeResponse::from(&issued);
                let value = serde_json::to_string(&answer).expect("a pay code serialises");
                println!("{value}");
            } else {
                println!("{}", issued.code.as_str());
            }
        }
        WalletCommand::Token { account, json } => {
            let account = wallet_account(&account)?;
            let token = app.issue_payer_token(&account).await.map_err(app_error)?;
            if json {
                let value = serde_json::json!({
                    "account": account.as_str(),
                    "payer_token": token.as_str(),
                });
                println!("{value}");
            } else {
                println!("{}", token.as_str());
            }
        }
    }
    Ok(())
}

#[derive(Subcommand)]
pub enum NotifyCommand {
    /// Every notification of an order, with every attempt.
    List {
        trade_no: String,
        #[arg(long)]
        json: bool,
    },
    /// Send a notification again now (the running gateway delivers it).
    Resend {
        id: i64,
        #[arg(long)]
        json: bool,
    },
}

fn print_json_or_lines<T: serde::Serialize>(
    values: &[T],
    json: bool,
    line: impl Fn(&serde_json::Value) -> String,
) {
    for value in values {
        let value = serde_json::to_value(value).expect("an answer serialises");
        if json {
            println!("{value}");
        } else {
            println!("{}", line(&value));
        }
    }
}

fn notification_line(n: &serde_json::Value) -> String {
    let mut text = format!(
        "#{} {} {} attempts={} next={} last_error={}",
        n["id"],
        n["kind"].as_str().unwrap_or(""),
        n["status"].as_str().unwrap_or(""),
        n["attempts"],
        n["next_attempt_at"].as_str().unwrap_or(""),
        n["last_error"].as_str().unwrap_or("-"),
    );
    for a in n["attempt_log"].as_array().into_iter().flatten() {
        text.push_str(&format!(
            "\n  attempt {} at {} status={} {}ms {}",
            a["attempt_no"],
            a["at"].as_str().unwrap_or(""),
            a["http_status"],
            a["latency_ms"],
            a["outcome"].as_str().unwrap_or(""),
        ));
    }
    text
}

pub async fn notify(settings: Settings, command: NotifyCommand) -> anyhow::Result<()> {
    let app = wiring::open_app(&settings).await?;
    match command {
        NotifyCommand::List { trade_no, json } => {
            let trade_no =
                paygate_domain::TradeNo::parse(&trade_no).map_err(|e| anyhow::anyhow!("{e}"))?;
            let list = app
                .order_notifications(&trade_no)
                .await
                .map_err(app_error)?;
            anyhow::ensure!(!list.is_empty(), "no notifications for {trade_no}");
            print_json_or_lines(&list, json, notification_line);
        }
        NotifyCommand::Resend { id, json } => {
            let n = app.resend_notification(id).await.map_err(app_error)?;
            print_json_or_lines(&[n], json, |n| format!("queued: {}", notification_line(n)));
        }
    }
    Ok(())
}

pub async fn anomalies(settings: Settings, json: bool) -> anyhow::Result<()> {
    let app = wiring::open_app(&settings).await?;
    let list = app.anomalies().await.map_err(app_error)?;
    print_json_or_lines(&list, json, |a| {
        format!(
            "{} {} {} {}",
            a["detected_at"].as_str().unwrap_or(""),
            a["trade_no"].as_str().unwrap_or(""),
            a["kind"].as_str().unwrap_or(""),
            a["detail"].as_str().unwrap_or(""),
        )
    });
    Ok(())
}

#[derive(Subcommand)]
pub enum LedgerCommand {
    /// Every account's debits, credits and balance in minor units (fen), and the ledger's
    /// imbalance per currency (always 0).
    Balances {
        /// Only this merchant's accounts (and its receivers').
        #[arg(long)]
        merchant: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// One account's entries, oldest first, e.g. `merchant:M100001:pending`,
    /// `platform:fee_income`, `channel:wechat:clearing`.
    Statement {
        account: String,
        #[arg(long, default_value = "CNY")]
        currency: String,
        /// Entries after this entry id (a previous page's last).
        #[arg(long, default_value_t = 0)]
        after: i64,
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
}

pub async fn ledger(settings: Settings, command: LedgerCommand) -> anyhow::Result<()> {
    let app = wiring::open_app(&settings).await?;
    match command {
        LedgerCommand::Balances { merchant, json } => {
            let merchant = merchant.as_deref().map(merchant_id).transpose()?;
            let view = app
                .ledger_balances(merchant.as_ref())
                .await
                .map_err(app_error)?;
            if json {
                println!("{}", serde_json::to_string(&view)?);
                return Ok(());
            }
            for a in &view.accounts {
                println!(
                    "{} {} debits={} credits={} balance={}",
                    a.account, a.currency, a.debits, a.credits, a.balance
                );
            }
            for i in &view.imbalance {
                println!("imbalance {} {}", i.currency, i.imbalance);
            }
        }
        LedgerCommand::Statement {
            account,
            currency,
            after,
            limit,
            json,
        } => {
            let currency: Currency = currency
                .parse()
                .map_err(|_| anyhow::anyhow!("currency must be CNY, HKD, USD or JPY"))?;
            let view = app
                .account_statement(&account, currency, after, limit)
                .await
                .map_err(app_error)?;
            if json {
                println!("{}", serde_json::to_string(&view)?);
                return Ok(());
            }
            for l in &view.lines {
                println!(
                    "#{} {} {} {} {} debit={} credit={}",
                    l.entry_id, l.at, l.posting_kind, l.reference, l.kind, l.debit, l.credit
                );
            }
            if let Some(next) = view.next_after {
                println!("more: --after {next}");
            }
        }
    }
    Ok(())
}
