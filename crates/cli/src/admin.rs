//! Operator commands: merchants, wallet top-ups, pay codes and payer tokens. Secrets are printed
//! once, when issued.

use crate::config::Settings;
use crate::wiring;
use clap::Subcommand;
use paygate_api::admin::{
    FeeScheduleInput, FeeSchedulesView, MerchantMoneyInput, PayoutLimitsInput, SettlementCycleInput,
};
use paygate_app::{CreatedMerchant, Downgrade, NewMerchantInput, RotateKeyInput};
use paygate_domain::address::PrivateTargets;
use paygate_domain::merchant_money::{MerchantMoney, SettlementCycle};
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
    /// Show the merchant's money settings; with any option given, change it (the others stay).
    /// `--settlement-mode platform` needs the category's qualifications on record.
    Money {
        id: String,
        /// physical_goods, virtual_goods or public_institution.
        #[arg(long)]
        category: Option<String>,
        /// direct or platform.
        #[arg(long)]
        settlement_mode: Option<String>,
        /// merchant or platform.
        #[arg(long)]
        fee_bearer: Option<String>,
        /// Settle automatically T+N days after payment (0 to 30).
        #[arg(long, conflicts_with = "manual")]
        settle_days: Option<u32>,
        /// Settle only when the merchant asks.
        #[arg(long)]
        manual: bool,
        /// The smallest sum an automatic settlement moves, in yuan, e.g. 100.00.
        #[arg(long, conflicts_with = "manual")]
        settle_minimum: Option<String>,
        #[arg(long)]
        withdraw_on_settlement: Option<bool>,
        /// A qualification document, name=reference (repeatable; adds or replaces).
        #[arg(long = "qualification", value_parser = parse_qualification)]
        qualifications: Vec<(String, String)>,
        #[arg(long)]
        json: bool,
    },
    /// Show the merchant's fee schedules and each pay type's default; with --set, add or
    /// replace a pay type's schedule (the others stay).
    Fees {
        id: String,
        /// pay_type=rate_ppm[:fixed yuan], e.g. wallet=3800:0.10 (repeatable).
        #[arg(long = "set", value_parser = parse_fee_setting)]
        set: Vec<FeeScheduleInput>,
        #[arg(long)]
        json: bool,
    },
}

fn parse_qualification(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, reference)) if !name.is_empty() && !reference.is_empty() => {
            Ok((name.into(), reference.into()))
        }
        _ => Err("must be name=reference".into()),
    }
}

fn parse_fee_setting(text: &str) -> Result<FeeScheduleInput, String> {
    let (pay_type, rest) = text
        .split_once('=')
        .ok_or("must be pay_type=rate_ppm[:fixed]")?;
    let (rate, fixed) = rest.split_once(':').unwrap_or((rest, "0"));
    let input = FeeScheduleInput {
        pay_type: pay_type.parse()?,
        rate_ppm: rate
            .parse()
            .map_err(|_| format!("rate_ppm {rate:?} must be 0 to 100000"))?,
        fixed: fixed.into(),
    };
    input
        .to_schedule()
        .map_err(|e| format!("{}: {}", e.field, e.reason))?;
    Ok(input)
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
        MerchantCommand::Money {
            id,
            category,
            settlement_mode,
            fee_bearer,
            settle_days,
            manual,
            settle_minimum,
            withdraw_on_settlement,
            qualifications,
            json,
        } => {
            let changes = MoneyChanges {
                category,
                settlement_mode,
                fee_bearer,
                settle_days,
                manual,
                settle_minimum,
                withdraw_on_settlement,
                qualifications,
            };
            merchant_money(&app, &merchant_id(&id)?, changes, json).await?;
        }
        MerchantCommand::Fees { id, set, json } => {
            merchant_fees(&app, &merchant_id(&id)?, set, json).await?;
        }
    }
    Ok(())
}

/// The money settings, changed by whichever options are given.
struct MoneyChanges {
    category: Option<String>,
    settlement_mode: Option<String>,
    fee_bearer: Option<String>,
    settle_days: Option<u32>,
    manual: bool,
    settle_minimum: Option<String>,
    withdraw_on_settlement: Option<bool>,
    qualifications: Vec<(String, String)>,
}

impl MoneyChanges {
    fn is_empty(&self) -> bool {
        self.category.is_none()
            && self.settlement_mode.is_none()
            && self.fee_bearer.is_none()
            && self.settle_days.is_none()
            && !self.manual
            && self.settle_minimum.is_none()
            && self.withdraw_on_settlement.is_none()
            && self.qualifications.is_empty()
    }

    /// The changed settings, checked as the admin API checks them.
    fn apply(self, money: &MerchantMoney) -> anyhow::Result<MerchantMoney> {
        let mut input = MerchantMoneyInput::of(money);
        for (given, field) in [
            (self.category, &mut input.category),
            (self.settlement_mode, &mut input.settlement_mode),
            (self.fee_bearer, &mut input.fee_bearer),
        ] {
            if let Some(text) = given {
                *field = text;
            }
        }
        if self.manual {
            input.cycle = SettlementCycleInput::Manual;
        } else if self.settle_days.is_some() || self.settle_minimum.is_some() {
            let (days, minimum) = match input.cycle {
                SettlementCycleInput::Auto {
                    settle_days,
                    settle_minimum,
                } => (settle_days, settle_minimum),
                SettlementCycleInput::Manual => (money.category.default_settle_days(), "0".into()),
            };
            input.cycle = SettlementCycleInput::Auto {
                settle_days: self.settle_days.unwrap_or(days),
                settle_minimum: self.settle_minimum.unwrap_or(minimum),
            };
        }
        if let Some(withdraw) = self.withdraw_on_settlement {
            input.withdraw_on_settlement = withdraw;
        }
        input.qualifications.extend(self.qualifications);
        input
            .to_money()
            .map_err(|e| anyhow::anyhow!("--{}: {}", e.field.replace('_', "-"), e.reason))
    }
}

fn unknown_merchant(id: &MerchantId) -> anyhow::Error {
    anyhow::anyhow!("no merchant {id}")
}

async fn merchant_money(
    app: &paygate_app::App,
    id: &MerchantId,
    changes: MoneyChanges,
    json: bool,
) -> anyhow::Result<()> {
    let mut money = app
        .merchant_money(id)
        .await
        .map_err(app_error)?
        .ok_or_else(|| unknown_merchant(id))?;
    if !changes.is_empty() {
        let wanted = changes.apply(&money)?;
        money = app
            .set_merchant_money(id, &wanted)
            .await
            .map_err(app_error)?
            .ok_or_else(|| unknown_merchant(id))?;
    }
    let missing = money.missing_qualifications();
    if json {
        let value = serde_json::json!({
            "merchant_id": id.as_str(),
            "money": MerchantMoneyInput::of(&money),
            "missing_qualifications": missing,
        });
        println!("{value}");
        return Ok(());
    }
    println!("category={}", money.category);
    println!("settlement_mode={}", money.settlement_mode);
    println!("fee_bearer={}", money.fee_bearer);
    match money.cycle {
        SettlementCycle::Manual => println!("cycle=manual"),
        SettlementCycle::Auto { days, minimum } => {
            println!("cycle=T+{days}");
            println!(
                "settle_minimum={}",
                Money::new(minimum, Currency::Cny).to_major_string()
            );
        }
    }
    println!("withdraw_on_settlement={}", money.withdraw_on_settlement);
    for (name, reference) in &money.qualifications {
        println!("qualification {name}={reference}");
    }
    if !missing.is_empty() {
        println!("missing_qualifications={}", missing.join(","));
    }
    Ok(())
}

async fn merchant_fees(
    app: &paygate_app::App,
    id: &MerchantId,
    set: Vec<FeeScheduleInput>,
    json: bool,
) -> anyhow::Result<()> {
    let (mut money, mut schedules) = app
        .merchant_fees(id)
        .await
        .map_err(app_error)?
        .ok_or_else(|| unknown_merchant(id))?;
    if !set.is_empty() {
        for input in &set {
            let (pay_type, schedule) = input
                .to_schedule()
                .map_err(|e| anyhow::anyhow!("--set: {}: {}", e.field, e.reason))?;
            schedules.retain(|(p, _)| *p != pay_type);
            schedules.push((pay_type, schedule));
        }
        (money, schedules) = app
            .set_merchant_fees(id, &schedules)
            .await
            .map_err(app_error)?
            .ok_or_else(|| unknown_merchant(id))?;
    }
    let view = FeeSchedulesView::of(id.as_str(), &money, &schedules);
    if json {
        println!("{}", serde_json::to_string(&view)?);
        return Ok(());
    }
    println!("category={}", view.category);
    for schedule in &view.schedules {
        println!(
            "{} rate_ppm={} fixed={}",
            schedule.pay_type, schedule.rate_ppm, schedule.fixed
        );
    }
    let defaults: Vec<_> = view
        .defaults
        .iter()
        .filter(|d| d.in_force)
        .map(|d| d.pay_type.as_str())
        .collect();
    if !defaults.is_empty() {
        println!(
            "default rate_ppm={} for {}",
            money.category.default_fee_rate().ppm(),
            defaults.join(",")
        );
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
