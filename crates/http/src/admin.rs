//! The operator API, behind its own bearer token (`PAYGATE_ADMIN_TOKEN`); without a token set
//! (or with an empty one) it does not exist. Merchant credentials never open it.

use crate::bearer;
use crate::ApiError;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use paygate_api::admin::{
    Anomalies, LedgerBalancesView, Notification, OrderNotifications, SettlementRunView,
    Settlements, StatementView, UnionLoginKeyView,
};
use paygate_api::admin::{
    FeeSchedulesInput, FeeSchedulesView, MerchantMoneyInput, MerchantMoneyView,
};
use paygate_api::admin::{PayoutLimitsInput, PayoutLimitsView};
use paygate_api::ErrorResponse;
use paygate_app::{App, AppError};
use paygate_domain::fee::FeeSchedule;
use paygate_domain::merchant_money::MerchantMoney;
use paygate_domain::payout_rules::PayoutLimits;
use paygate_domain::settlement::BusinessDate;
use paygate_domain::{Currency, MerchantId, PayType, TradeNo};
use serde::Deserialize;

/// Proof that the request carried the admin token.
pub struct Admin;

impl FromRequestParts<App> for Admin {
    type Rejection = Response;

    /// An unset or empty token means the admin API is off (404); otherwise only the exact bearer
    /// token passes, and a missing header is a 401 like a wrong one.
    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let expected = app
            .settings()
            .admin_token
            .as_ref()
            .map_or("", |t| t.expose());
        if expected.is_empty() {
            return Err(StatusCode::NOT_FOUND.into_response());
        }
        if bearer::matches(&parts.headers, expected) {
            Ok(Admin)
        } else {
            let refused = AppError::Sign("admin token missing or wrong".into());
            Err(failure(app, refused))
        }
    }
}

/// The merchant API's error body (`code`, `error_code`, `msg`, `error_field`), unsigned: the
/// operator is no merchant.
fn failure(app: &App, error: AppError) -> Response {
    ApiError {
        error,
        app: app.clone(),
        merchant: None,
    }
    .into_response()
}

/// Every notification of an order, with every delivery attempt.
#[utoipa::path(get, path = "/admin/orders/{trade_no}/notifications", tag = "admin",
    params(("trade_no" = String, Path, description = "Our trade number",
             pattern = "^[0-9A-Za-z]{8,32}$", min_length = 8, max_length = 32)),
    security(("admin_token" = [])),
    responses((status = 200, description = "notifications with their attempt logs", body = OrderNotifications),
              (status = 400, description = "1001: trade_no is malformed", body = ErrorResponse),
              (status = 401, description = "1002: admin token missing or wrong", body = ErrorResponse),
              (status = 404, description = "admin API off (PAYGATE_ADMIN_TOKEN unset or empty): no body"),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn order_notifications(
    _: Admin,
    State(app): State<App>,
    Path(trade_no): Path<String>,
) -> Response {
    let trade_no = match TradeNo::parse(&trade_no) {
        Ok(trade_no) => trade_no,
        Err(error) => return failure(&app, AppError::param("trade_no", error.to_string())),
    };
    match app.order_notifications(&trade_no).await {
        Ok(notifications) => Json(OrderNotifications {
            trade_no: trade_no.as_str().into(),
            notifications,
        })
        .into_response(),
        Err(error) => failure(&app, error),
    }
}

/// Make a notification due now, whatever its state.
#[utoipa::path(post, path = "/admin/notifications/{id}/resend", tag = "admin",
    params(("id" = i64, Path, description = "Notification id", minimum = 1)),
    security(("admin_token" = [])),
    responses((status = 200, description = "the notification, queued", body = Notification),
              (status = 400, description = "1001 naming `id`: not a notification id, or no such notification", body = ErrorResponse),
              (status = 401, description = "1002: admin token missing or wrong", body = ErrorResponse),
              (status = 404, description = "admin API off (no PAYGATE_ADMIN_TOKEN): no body"),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn resend(_: Admin, State(app): State<App>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return failure(&app, AppError::param("id", "must be a notification id"));
    };
    match app.resend_notification(id).await {
        Ok(notification) => Json(notification).into_response(),
        Err(error) => failure(&app, error),
    }
}

/// Open anomalies, such as a payment reported after the order was closed.
#[utoipa::path(get, path = "/admin/anomalies", tag = "admin",
    security(("admin_token" = [])),
    responses((status = 200, description = "open anomalies", body = Anomalies),
              (status = 401, description = "1002: admin token missing or wrong", body = ErrorResponse),
              (status = 404, description = "admin API off (no PAYGATE_ADMIN_TOKEN): no body"),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn anomalies(_: Admin, State(app): State<App>) -> Response {
    match app.anomalies().await {
        Ok(anomalies) => Json(Anomalies { anomalies }).into_response(),
        Err(error) => failure(&app, error),
    }
}

/// A merchant's union-login key (created now if the merchant has none yet), for the operator
/// to hand over: it decrypts the merchant's `POST /api/union-login` links.
#[utoipa::path(get, path = "/admin/merchants/{merchant_id}/union-login-key", tag = "admin",
    params(("merchant_id" = String, Path, description = "The merchant's id",
             pattern = "^[0-9A-Za-z_-]{2,32}$", min_length = 2, max_length = 32)),
    security(("admin_token" = [])),
    responses((status = 200, description = "the key", body = UnionLoginKeyView),
              (status = 400, description = "1001 naming `merchant_id`: malformed or unknown", body = ErrorResponse),
              (status = 401, description = "1002: admin token missing or wrong", body = ErrorResponse),
              (status = 404, description = "admin API off (no PAYGATE_ADMIN_TOKEN): no body"),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn union_login_key(
    _: Admin,
    State(app): State<App>,
    Path(merchant_id): Path<String>,
) -> Response {
    let merchant = match MerchantId::parse(&merchant_id) {
        Ok(merchant) => merchant,
        Err(error) => return failure(&app, AppError::param("merchant_id", error.to_string())),
    };
    match app.union_login_key(&merchant).await {
        Ok(key) => Json(UnionLoginKeyView {
            merchant_id: merchant.as_str().into(),
            union_login_key: key.to_hex(),
        })
        .into_response(),
        Err(error) => failure(&app, error),
    }
}

/// `?merchant_id=`: only this merchant's settlements.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SettlementsQuery {
    /// The merchant's id; every merchant's when absent.
    #[param(pattern = "^[0-9A-Za-z_-]{2,32}$", min_length = 2, max_length = 32)]
    merchant_id: Option<String>,
}

/// The latest settlements (at most 500, newest business day first).
#[utoipa::path(get, path = "/admin/settlements", tag = "admin",
    params(SettlementsQuery),
    security(("admin_token" = [])),
    responses((status = 200, description = "settlements, newest first", body = Settlements),
              (status = 400, description = "1001 naming `merchant_id`: malformed", body = ErrorResponse),
              (status = 401, description = "1002: admin token missing or wrong", body = ErrorResponse),
              (status = 404, description = "admin API off (no PAYGATE_ADMIN_TOKEN): no body"),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn settlements(
    _: Admin,
    State(app): State<App>,
    Query(query): Query<SettlementsQuery>,
) -> Response {
    let merchant = match query
        .merchant_id
        .as_deref()
        .map(MerchantId::parse)
        .transpose()
    {
        Ok(merchant) => merchant,
        Err(error) => return failure(&app, AppError::param("merchant_id", error.to_string())),
    };
    match app.settlement_views(merchant.as_ref()).await {
        Ok(settlements) => Json(Settlements { settlements }).into_response(),
        Err(error) => failure(&app, error),
    }
}

/// `?date=YYYY-MM-DD`: the business day to run.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunQuery {
    /// The business day (China time) whose settlement runs.
    #[param(pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    date: String,
}

/// Runs one business day's settlement now. Idempotent: a merchant's day settles at most once,
/// however often (and from however many processes) it runs.
#[utoipa::path(post, path = "/admin/settlements/run", tag = "admin",
    params(RunQuery),
    security(("admin_token" = [])),
    responses((status = 200, description = "what the run did", body = SettlementRunView),
              (status = 400, description = "1001 naming `date`: not a YYYY-MM-DD date", body = ErrorResponse),
              (status = 401, description = "1002: admin token missing or wrong", body = ErrorResponse),
              (status = 404, description = "admin API off (no PAYGATE_ADMIN_TOKEN): no body"),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn run_settlements(
    _: Admin,
    State(app): State<App>,
    Query(query): Query<RunQuery>,
) -> Response {
    let date = match BusinessDate::parse(&query.date) {
        Ok(date) => date,
        Err(error) => return failure(&app, AppError::param("date", error.to_string())),
    };
    match app.run_settlement_day(date).await {
        Ok(report) => Json(report.view(date)).into_response(),
        Err(error) => failure(&app, error),
    }
}

/// `?merchant_id=` of `GET /admin/ledger/balances`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BalancesQuery {
    /// Only this merchant's accounts (and its receivers').
    #[param(pattern = "^[0-9A-Za-z_-]{2,32}$", min_length = 2, max_length = 32)]
    pub merchant_id: Option<String>,
}

/// Every ledger account's debits, credits and balance, and the ledger's imbalance per
/// currency, which is always 0.
#[utoipa::path(get, path = "/admin/ledger/balances", tag = "admin",
    params(BalancesQuery),
    security(("admin_token" = [])),
    responses((status = 200, description = "account totals in minor units (fen)", body = LedgerBalancesView),
              (status = 400, description = "1001 naming `merchant_id`: malformed", body = ErrorResponse),
              (status = 401, description = "1002: admin token missing or wrong", body = ErrorResponse),
              (status = 404, description = "admin API off (no PAYGATE_ADMIN_TOKEN): no body"),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn ledger_balances(
    _: Admin,
    State(app): State<App>,
    Query(query): Query<BalancesQuery>,
) -> Response {
    let merchant = match query
        .merchant_id
        .as_deref()
        .map(MerchantId::parse)
        .transpose()
    {
        Ok(merchant) => merchant,
        Err(error) => return failure(&app, AppError::param("merchant_id", error.to_string())),
    };
    match app.ledger_balances(merchant.as_ref()).await {
        Ok(view) => Json(view).into_response(),
        Err(error) => failure(&app, error),
    }
}

/// `GET /admin/ledger/statement`'s query.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatementQuery {
    /// The account, e.g. `merchant:M100001:pending`, `platform:fee_income`,
    /// `channel:wechat:clearing`.
    #[param(min_length = 1, max_length = 140)]
    pub account: String,
    /// CNY when absent.
    #[param(pattern = "^(CNY|HKD|USD|JPY)$")]
    pub currency: Option<String>,
    /// Entries after this entry id (the previous page's `next_after`); 0 when absent.
    #[param(minimum = 0)]
    pub after: Option<i64>,
    /// At most this many lines, 1 to 1000; 100 when absent.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// One account's entries, oldest first, a page at a time.
#[utoipa::path(get, path = "/admin/ledger/statement", tag = "admin",
    params(StatementQuery),
    security(("admin_token" = [])),
    responses((status = 200, description = "the statement page, amounts in minor units (fen)", body = StatementView),
              (status = 400, description = "1001 naming `account`, `currency`, `after` or `limit`", body = ErrorResponse),
              (status = 401, description = "1002: admin token missing or wrong", body = ErrorResponse),
              (status = 404, description = "admin API off (no PAYGATE_ADMIN_TOKEN): no body"),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn ledger_statement(
    _: Admin,
    State(app): State<App>,
    Query(query): Query<StatementQuery>,
) -> Response {
    let currency = match query
        .currency
        .as_deref()
        .map(str::parse::<Currency>)
        .transpose()
    {
        Ok(currency) => currency.unwrap_or(Currency::Cny),
        Err(_) => {
            return failure(
                &app,
                AppError::param("currency", "must be CNY, HKD, USD or JPY"),
            )
        }
    };
    let after = query.after.unwrap_or(0);
    let limit = query.limit.unwrap_or(STATEMENT_LINES_DEFAULT);
    match app
        .account_statement(&query.account, currency, after, limit)
        .await
    {
        Ok(view) => Json(view).into_response(),
        Err(error) => failure(&app, error),
    }
}

/// Statement lines per page when the request does not say.
const STATEMENT_LINES_DEFAULT: i64 = 100;

fn merchant_of(text: &str) -> Result<MerchantId, AppError> {
    MerchantId::parse(text).map_err(|error| AppError::param("merchant_id", error.to_string()))
}

fn limits_view(merchant: &MerchantId, limits: &PayoutLimits) -> Response {
    Json(PayoutLimitsView {
        merchant_id: merchant.as_str().into(),
        limits: PayoutLimitsInput::of(limits),
    })
    .into_response()
}

/// A merchant's payout limits in force: its own, or the configured defaults.
#[utoipa::path(get, path = "/admin/merchants/{merchant_id}/payout-limits", tag = "admin",
    params(("merchant_id" = String, Path, description = "The merchant's id",
             pattern = "^[0-9A-Za-z_-]{2,32}$", min_length = 2, max_length = 32)),
    security(("admin_token" = [])),
    responses((status = 200, description = "the limits", body = PayoutLimitsView),
              (status = 400, description = "1001 naming `merchant_id`: malformed", body = ErrorResponse),
              (status = 401, description = "1002: admin token missing or wrong", body = ErrorResponse),
              (status = 404, description = "admin API off (no PAYGATE_ADMIN_TOKEN): no body"),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn payout_limits(
    _: Admin,
    State(app): State<App>,
    Path(merchant_id): Path<String>,
) -> Response {
    let merchant = match merchant_of(&merchant_id) {
        Ok(merchant) => merchant,
        Err(error) => return failure(&app, error),
    };
    match app.payout_limits(&merchant).await {
        Ok(limits) => limits_view(&merchant, &limits),
        Err(error) => failure(&app, error),
    }
}

/// Set a merchant's payout limits.
#[utoipa::path(put, path = "/admin/merchants/{merchant_id}/payout-limits", tag = "admin",
    params(("merchant_id" = String, Path, description = "The merchant's id",
             pattern = "^[0-9A-Za-z_-]{2,32}$", min_length = 2, max_length = 32)),
    request_body = PayoutLimitsInput,
    security(("admin_token" = [])),
    responses((status = 200, description = "the limits now in force", body = PayoutLimitsView),
              (status = 400, description = "1001 naming the field: malformed body, a value out of range, or an unknown merchant", body = ErrorResponse),
              (status = 401, description = "1002: admin token missing or wrong", body = ErrorResponse),
              (status = 404, description = "admin API off (no PAYGATE_ADMIN_TOKEN): no body"),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn set_payout_limits(
    _: Admin,
    State(app): State<App>,
    Path(merchant_id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let merchant = match merchant_of(&merchant_id) {
        Ok(merchant) => merchant,
        Err(error) => return failure(&app, error),
    };
    let limits = serde_json::from_slice::<PayoutLimitsInput>(&body)
        .map_err(|e| AppError::param("body", e.to_string()))
        .and_then(|input| input.to_limits().map_err(AppError::from));
    let limits = match limits {
        Ok(limits) => limits,
        Err(error) => return failure(&app, error),
    };
    match app.set_payout_limits(&merchant, &limits).await {
        Ok(limits) => limits_view(&merchant, &limits),
        Err(error) => failure(&app, error),
    }
}

/// A merchant the operator named does not exist: 404 with no body, like a disabled admin API.
fn no_such_merchant() -> Response {
    (StatusCode::NOT_FOUND, "no such merchant").into_response()
}

fn money_view(merchant: &MerchantId, money: &MerchantMoney) -> Response {
    Json(MerchantMoneyView {
        merchant_id: merchant.as_str().into(),
        money: MerchantMoneyInput::of(money),
        missing_qualifications: money
            .missing_qualifications()
            .into_iter()
            .map(String::from)
            .collect(),
    })
    .into_response()
}

/// A merchant's money settings: category, settlement mode and cycle, fee bearer and
/// qualifications (the physical-goods defaults until an operator sets them).
#[utoipa::path(get, path = "/admin/merchants/{merchant_id}/money", tag = "admin",
    params(("merchant_id" = String, Path, description = "The merchant's id",
             pattern = "^[0-9A-Za-z_-]{2,32}$", min_length = 2, max_length = 32)),
    security(("admin_token" = [])),
    responses((status = 200, description = "the settings", body = MerchantMoneyView),
              (status = 400, description = "1001 naming `merchant_id`: malformed", body = ErrorResponse),
              (status = 401, description = "1002: admin token missing or wrong", body = ErrorResponse),
              (status = 404, description = "no such merchant, or admin API off (no PAYGATE_ADMIN_TOKEN)"),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn merchant_money(
    _: Admin,
    State(app): State<App>,
    Path(merchant_id): Path<String>,
) -> Response {
    let merchant = match merchant_of(&merchant_id) {
        Ok(merchant) => merchant,
        Err(error) => return failure(&app, error),
    };
    match app.merchant_money(&merchant).await {
        Ok(Some(money)) => money_view(&merchant, &money),
        Ok(None) => no_such_merchant(),
        Err(error) => failure(&app, error),
    }
}

/// Set a merchant's money settings. `platform` settlement is refused while the category's
/// qualifications are not all on record.
#[utoipa::path(put, path = "/admin/merchants/{merchant_id}/money", tag = "admin",
    params(("merchant_id" = String, Path, description = "The merchant's id",
             pattern = "^[0-9A-Za-z_-]{2,32}$", min_length = 2, max_length = 32)),
    request_body = MerchantMoneyInput,
    security(("admin_token" = [])),
    responses((status = 200, description = "the settings now in force", body = MerchantMoneyView),
              (status = 400, description = "1001 naming the field: malformed body or a value out of range; `qualifications` naming the missing ones when `platform` mode lacks them", body = ErrorResponse),
              (status = 401, description = "1002: admin token missing or wrong", body = ErrorResponse),
              (status = 404, description = "no such merchant, or admin API off (no PAYGATE_ADMIN_TOKEN)"),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn set_merchant_money(
    _: Admin,
    State(app): State<App>,
    Path(merchant_id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let merchant = match merchant_of(&merchant_id) {
        Ok(merchant) => merchant,
        Err(error) => return failure(&app, error),
    };
    let money = serde_json::from_slice::<MerchantMoneyInput>(&body)
        .map_err(|e| AppError::param("body", e.to_string()))
        .and_then(|input| input.to_money().map_err(AppError::from));
    let money = match money {
        Ok(money) => money,
        Err(error) => return failure(&app, error),
    };
    match app.set_merchant_money(&merchant, &money).await {
        Ok(Some(money)) => money_view(&merchant, &money),
        Ok(None) => no_such_merchant(),
        Err(error) => failure(&app, error),
    }
}

fn fees_view(
    merchant: &MerchantId,
    fees: &(MerchantMoney, Vec<(PayType, FeeSchedule)>),
) -> Response {
    Json(FeeSchedulesView::of(merchant.as_str(), &fees.0, &fees.1)).into_response()
}

/// A merchant's own fee schedules, and each pay type's default (its category's rate) that
/// applies where it has none.
#[utoipa::path(get, path = "/admin/merchants/{merchant_id}/fees", tag = "admin",
    params(("merchant_id" = String, Path, description = "The merchant's id",
             pattern = "^[0-9A-Za-z_-]{2,32}$", min_length = 2, max_length = 32)),
    security(("admin_token" = [])),
    responses((status = 200, description = "the schedules", body = FeeSchedulesView),
              (status = 400, description = "1001 naming `merchant_id`: malformed", body = ErrorResponse),
              (status = 401, description = "1002: admin token missing or wrong", body = ErrorResponse),
              (status = 404, description = "no such merchant, or admin API off (no PAYGATE_ADMIN_TOKEN)"),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn merchant_fees(
    _: Admin,
    State(app): State<App>,
    Path(merchant_id): Path<String>,
) -> Response {
    let merchant = match merchant_of(&merchant_id) {
        Ok(merchant) => merchant,
        Err(error) => return failure(&app, error),
    };
    match app.merchant_fees(&merchant).await {
        Ok(Some(fees)) => fees_view(&merchant, &fees),
        Ok(None) => no_such_merchant(),
        Err(error) => failure(&app, error),
    }
}

/// Replace a merchant's fee schedules; later payments snapshot the new ones.
#[utoipa::path(put, path = "/admin/merchants/{merchant_id}/fees", tag = "admin",
    params(("merchant_id" = String, Path, description = "The merchant's id",
             pattern = "^[0-9A-Za-z_-]{2,32}$", min_length = 2, max_length = 32)),
    request_body = FeeSchedulesInput,
    security(("admin_token" = [])),
    responses((status = 200, description = "the schedules now in force", body = FeeSchedulesView),
              (status = 400, description = "1001 naming the field: malformed body, a value out of range, or a pay type twice", body = ErrorResponse),
              (status = 401, description = "1002: admin token missing or wrong", body = ErrorResponse),
              (status = 404, description = "no such merchant, or admin API off (no PAYGATE_ADMIN_TOKEN)"),
              (status = 503, description = "1006: retry later", body = ErrorResponse)))]
pub async fn set_merchant_fees(
    _: Admin,
    State(app): State<App>,
    Path(merchant_id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let merchant = match merchant_of(&merchant_id) {
        Ok(merchant) => merchant,
        Err(error) => return failure(&app, error),
    };
    let schedules = serde_json::from_slice::<FeeSchedulesInput>(&body)
        .map_err(|e| AppError::param("body", e.to_string()))
        .and_then(|input| {
            if input.schedules.len() > FEE_SCHEDULES_MAX {
                return Err(AppError::param("schedules", "at most 64"));
            }
            input
                .schedules
                .iter()
                .map(|s| s.to_schedule().map_err(AppError::from))
                .collect::<Result<Vec<_>, _>>()
        });
    let schedules = match schedules {
        Ok(schedules) => schedules,
        Err(error) => return failure(&app, error),
    };
    match app.set_merchant_fees(&merchant, &schedules).await {
        Ok(Some(fees)) => fees_view(&merchant, &fees),
        Ok(None) => no_such_merchant(),
        Err(error) => failure(&app, error),
    }
}

/// Schedules per PUT: more than the pay types there are is a mistake.
const FEE_SCHEDULES_MAX: usize = 64;
