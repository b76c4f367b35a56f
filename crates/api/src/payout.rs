//! `POST /api/payout/create` and `POST /api/payout/query`: a payout (代付) from the merchant's
//! available balance to one of our wallet accounts or a bank card, idempotent on
//! `out_payout_no`; and the payout as the API shows it (the answer to both, and the body of the
//! payout notifications). A card number never comes back whole: views show its last four digits.

use crate::envelope::success_schema;
use crate::fields::{balance, format_time, insert_opt, serde_via_fields, Answer, Fields};
use crate::fields::{AMOUNT_CHARS_MAX, URL_CHARS_MAX};
use crate::schema::{
    enum_prop, object, one_of_values, opt_text_prop, request_schema, requires, string, text,
    text_prop, values, AMOUNT_CENTS, AMOUNT_WHOLE, OUR_NO, URL,
};
use crate::{field, paths, ApiRequest, DecodeError, FieldError};
use chrono::{DateTime, Utc};
use paygate_domain::payout::{BankCard, Payee, PayeeType, PayoutRecord, PayoutStatus};
use paygate_domain::{MerchantId, Money, OutPayoutNo, PayoutNo, WalletAccountId};
use serde_json::{Map, Value};
use std::borrow::Cow;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::schema::{AllOfBuilder, AnyOfBuilder, ObjectBuilder, OneOfBuilder, Ref};
use utoipa::openapi::RefOr;

pub const OUT_PAYOUT_NO: &str = "out_payout_no";
pub const PAYOUT_NO: &str = "payout_no";
pub const AMOUNT: &str = "amount";
pub const FEE: &str = "fee";
pub const PAYEE_TYPE: &str = "payee_type";
pub const ACCOUNT_ID: &str = "account_id";
pub const CARD_NO: &str = "card_no";
pub const ACCOUNT_NAME: &str = "account_name";
pub const BANK_CODE: &str = "bank_code";
pub const REMARK: &str = "remark";
pub const PAYOUT_STATUS: &str = "payout_status";
pub const REASON: &str = "reason";
pub const CREATE_TIME: &str = "create_time";
pub const FINISH_TIME: &str = "finish_time";
pub const RETURNED_TIME: &str = "returned_time";

pub const REMARK_CHARS_MAX: usize = 100;
const OUT_PAYOUT_NO_PATTERN: &str = "^[0-9A-Za-z_-]{6,32}$";
const CARD_NO_PATTERN: &str = "^[0-9]{12,19}$";
const BANK_CODE_PATTERN: &str = "^[0-9A-Z]{2,16}$";
const WALLET_PATTERN: &str = "^[0-9A-Za-z_-]{1,64}$";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatePayout {
    /// The payout's idempotency key.
    pub out_payout_no: OutPayoutNo,
    pub money: Money,
    pub payee: Payee,
    pub remark: Option<String>,
    /// Where the payout's outcome is announced; without it the merchant queries.
    pub notify_url: Option<String>,
}

fn payee(f: &Fields<'_>) -> Result<Payee, FieldError> {
    let payee_type: PayeeType = f
        .required(PAYEE_TYPE, 16)?
        .parse()
        .map_err(|e: String| FieldError::new(PAYEE_TYPE, e))?;
    match payee_type {
        PayeeType::Wallet => {
            let account = f
                .id(ACCOUNT_ID, WalletAccountId::parse)?
                .ok_or_else(|| FieldError::new(ACCOUNT_ID, "is required for a wallet payout"))?;
            Ok(Payee::Wallet(account))
        }
        PayeeType::BankCard => {
            let card_no = f.required(CARD_NO, 19)?;
            let name = f.required(ACCOUNT_NAME, BankCard::ACCOUNT_NAME_CHARS_MAX)?;
            let bank_code = f.required(BANK_CODE, 16)?;
            BankCard::parse(card_no, name, bank_code)
                .map(Payee::BankCard)
                .map_err(|e| {
                    let name = match e {
                        paygate_domain::payout::PayeeError::CardNo => CARD_NO,
                        paygate_domain::payout::PayeeError::AccountName => ACCOUNT_NAME,
                        paygate_domain::payout::PayeeError::BankCode => BANK_CODE,
                    };
                    FieldError::new(name, e.to_string())
                })
        }
    }
}

impl ApiRequest for CreatePayout {
    const PATH: &'static str = paths::PAYOUT_CREATE;

    fn parse(fields: &Map<String, Value>, _now_secs: i64) -> Result<CreatePayout, FieldError> {
        let f = Fields(fields);
        let out_payout_no = f
            .id(OUT_PAYOUT_NO, OutPayoutNo::parse)?
            .ok_or_else(|| FieldError::new(OUT_PAYOUT_NO, "is required"))?;
        let currency = f.currency()?;
        let money = f.money(AMOUNT, currency)?;
        let payee = payee(&f)?;
        let remark = f.text(REMARK, REMARK_CHARS_MAX)?.map(str::to_owned);
        let notify_url = f.url(field::NOTIFY_URL)?;
        Ok(CreatePayout {
            out_payout_no,
            money,
            payee,
            remark,
            notify_url,
        })
    }

    fn to_fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert(OUT_PAYOUT_NO.into(), self.out_payout_no.as_str().into());
        fields.insert(AMOUNT.into(), self.money.to_major_string().into());
        fields.insert(field::CURRENCY.into(), self.money.currency.as_str().into());
        fields.insert(PAYEE_TYPE.into(), self.payee.payee_type().as_str().into());
        match &self.payee {
            Payee::Wallet(account) => {
                fields.insert(ACCOUNT_ID.into(), account.as_str().into());
            }
            Payee::BankCard(card) => {
                fields.insert(CARD_NO.into(), card.card_no.digits().into());
                fields.insert(ACCOUNT_NAME.into(), card.account_name.as_str().into());
                fields.insert(BANK_CODE.into(), card.bank_code.as_str().into());
            }
        }
        insert_opt(&mut fields, REMARK, self.remark.as_deref());
        insert_opt(&mut fields, field::NOTIFY_URL, self.notify_url.as_deref());
        fields
    }
}

fn payee_branches() -> Schema {
    let wallet = ObjectBuilder::new()
        .property(PAYEE_TYPE, one_of_values(&["wallet"], "A wallet account."))
        .required(ACCOUNT_ID);
    let card = ObjectBuilder::new()
        .property(PAYEE_TYPE, one_of_values(&["bank_card"], "A bank card."))
        .required(CARD_NO)
        .required(ACCOUNT_NAME)
        .required(BANK_CODE);
    OneOfBuilder::new().item(wallet).item(card).into()
}

fn amount_branches() -> Schema {
    let cents = ObjectBuilder::new()
        .property(
            field::CURRENCY,
            one_of_values(&["CNY", "HKD", "USD"], "Up to two decimals."),
        )
        .property(
            AMOUNT,
            string(AMOUNT_CENTS, (1, AMOUNT_CHARS_MAX), "Amount."),
        );
    let whole = ObjectBuilder::new()
        .property(field::CURRENCY, one_of_values(&["JPY"], "A whole number."))
        .property(
            AMOUNT,
            string(AMOUNT_WHOLE, (1, AMOUNT_CHARS_MAX), "Amount."),
        )
        .required(field::CURRENCY);
    OneOfBuilder::new().item(cents).item(whole).into()
}

request_schema!(
    CreatePayout,
    "CreatePayoutRequest",
    [crate::envelope::SignedFields],
    {
        let fields = vec![
            (
                OUT_PAYOUT_NO,
                string(
                    OUT_PAYOUT_NO_PATTERN,
                    (6, 32),
                    "The payout's idempotency key.",
                )
                .into(),
            ),
            (
                AMOUNT,
                string(
                    AMOUNT_CENTS,
                    (1, AMOUNT_CHARS_MAX),
                    "Paid to the payee, in the major unit; the fee comes on top of it.",
                )
                .into(),
            ),
            (
                field::CURRENCY,
                one_of_values(&["CNY", "HKD", "USD", "JPY"], "Default CNY.").into(),
            ),
            (
                PAYEE_TYPE,
                one_of_values(
                    &PayeeType::ALL.map(PayeeType::as_str),
                    "wallet: free, at once; bank_card: a fixed fee, asynchronous.",
                )
                .into(),
            ),
            (
                ACCOUNT_ID,
                string(
                    WALLET_PATTERN,
                    (1, 64),
                    "The wallet account (payee_type wallet).",
                )
                .into(),
            ),
            (
                CARD_NO,
                string(
                    CARD_NO_PATTERN,
                    (12, 19),
                    "The card number (payee_type bank_card).",
                )
                .into(),
            ),
            (
                ACCOUNT_NAME,
                text(BankCard::ACCOUNT_NAME_CHARS_MAX, "The card holder's name.").into(),
            ),
            (
                BANK_CODE,
                string(BANK_CODE_PATTERN, (2, 16), "The bank's code, e.g. ICBC.").into(),
            ),
            (REMARK, text(REMARK_CHARS_MAX, "Shown to the payee.").into()),
            (
                field::NOTIFY_URL,
                string(URL, (9, URL_CHARS_MAX), "Where the outcome is sent.").into(),
            ),
        ];
        AllOfBuilder::new()
            .item(Ref::from_schema_name("SignedFields"))
            .item(object(fields, &[OUT_PAYOUT_NO, AMOUNT, PAYEE_TYPE]))
            .item(payee_branches())
            .item(amount_branches())
            .into()
    }
);

/// A payout named by our `payout_no` (wins when both are given) or the merchant's number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryPayout {
    PayoutNo(PayoutNo),
    OutPayoutNo(OutPayoutNo),
}

impl ApiRequest for QueryPayout {
    const PATH: &'static str = paths::PAYOUT_QUERY;

    fn parse(fields: &Map<String, Value>, _now_secs: i64) -> Result<QueryPayout, FieldError> {
        let f = Fields(fields);
        if let Some(no) = f.id(PAYOUT_NO, PayoutNo::parse)? {
            return Ok(QueryPayout::PayoutNo(no));
        }
        f.id(OUT_PAYOUT_NO, OutPayoutNo::parse)?
            .map(QueryPayout::OutPayoutNo)
            .ok_or_else(|| FieldError::new(OUT_PAYOUT_NO, "out_payout_no or payout_no is required"))
    }

    fn to_fields(&self) -> Map<String, Value> {
        let (key, value) = match self {
            QueryPayout::PayoutNo(no) => (PAYOUT_NO, no.as_str()),
            QueryPayout::OutPayoutNo(no) => (OUT_PAYOUT_NO, no.as_str()),
        };
        let mut fields = Map::new();
        fields.insert(key.into(), value.into());
        fields
    }
}

request_schema!(
    QueryPayout,
    "PayoutRefRequest",
    [crate::envelope::SignedFields],
    AllOfBuilder::new()
        .item(Ref::from_schema_name("SignedFields"))
        .item(object(
            vec![
                (
                    PAYOUT_NO,
                    string(
                        OUR_NO,
                        (8, 32),
                        "Our payout number; wins when both are given."
                    )
                    .into(),
                ),
                (
                    OUT_PAYOUT_NO,
                    string(
                        OUT_PAYOUT_NO_PATTERN,
                        (6, 32),
                        "The merchant's payout number."
                    )
                    .into(),
                ),
            ],
            &[],
        ))
        .item(
            AnyOfBuilder::new()
                .item(requires(PAYOUT_NO))
                .item(requires(OUT_PAYOUT_NO)),
        )
        .into()
);

/// A payout as the API shows it; `payee_account` is the wallet account or the masked card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutView {
    pub merchant_id: MerchantId,
    pub payout_no: PayoutNo,
    pub out_payout_no: OutPayoutNo,
    pub amount: Money,
    pub fee: Money,
    pub payee_type: PayeeType,
    pub payee_account: String,
    pub payout_status: PayoutStatus,
    pub reason: Option<String>,
    pub remark: Option<String>,
    pub create_time: DateTime<Utc>,
    pub finish_time: Option<DateTime<Utc>>,
    pub returned_time: Option<DateTime<Utc>>,
    /// The whole verified body as received; empty when built to be sent.
    pub raw: Map<String, Value>,
}

pub const PAYEE_ACCOUNT: &str = "payee_account";

fn time(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

impl PayoutView {
    pub fn of(payout: &PayoutRecord) -> PayoutView {
        PayoutView {
            merchant_id: payout.merchant_id.clone(),
            payout_no: payout.payout_no.clone(),
            out_payout_no: payout.out_payout_no.clone(),
            amount: Money::new(payout.amount, payout.currency),
            fee: Money::new(payout.fee, payout.currency),
            payee_type: payout.payee.payee_type(),
            payee_account: payout.payee.shown_account(),
            payout_status: payout.status,
            reason: payout.reason.clone(),
            remark: payout.remark.clone(),
            create_time: time(payout.created_at_ms),
            finish_time: payout.finished_at_ms.map(time),
            returned_time: payout.returned_at_ms.map(time),
            raw: Map::new(),
        }
    }

    pub fn to_fields(&self) -> Map<String, Value> {
        let mut view = Map::new();
        let mut put = |key: &str, value: String| {
            view.insert(key.into(), value.into());
        };
        put(field::MERCHANT_ID, self.merchant_id.as_str().into());
        put(PAYOUT_NO, self.payout_no.as_str().into());
        put(OUT_PAYOUT_NO, self.out_payout_no.as_str().into());
        put(AMOUNT, self.amount.to_major_string());
        put(FEE, self.fee.to_major_string());
        put(field::CURRENCY, self.amount.currency.as_str().into());
        put(PAYEE_TYPE, self.payee_type.as_str().into());
        put(PAYEE_ACCOUNT, self.payee_account.clone());
        put(PAYOUT_STATUS, self.payout_status.as_str().into());
        put(
            CREATE_TIME,
            format_time(self.create_time.timestamp_millis()),
        );
        for (key, at) in [
            (FINISH_TIME, self.finish_time),
            (RETURNED_TIME, self.returned_time),
        ] {
            if let Some(at) = at {
                put(key, format_time(at.timestamp_millis()));
            }
        }
        insert_opt(&mut view, REASON, self.reason.as_deref());
        insert_opt(&mut view, REMARK, self.remark.as_deref());
        view
    }

    /// Reads a body whose signature has already been checked.
    pub fn from_fields(body: Map<String, Value>) -> Result<PayoutView, DecodeError> {
        let f = Answer(&body);
        let currency = f.currency()?;
        Ok(PayoutView {
            merchant_id: f.parse(field::MERCHANT_ID, MerchantId::parse)?,
            payout_no: f.parse(PAYOUT_NO, PayoutNo::parse)?,
            out_payout_no: f.parse(OUT_PAYOUT_NO, OutPayoutNo::parse)?,
            amount: f.parse(AMOUNT, |t| Money::parse(t, currency))?,
            fee: f.parse(FEE, |t| balance(t, currency))?,
            payee_type: f.parse(PAYEE_TYPE, str::parse::<PayeeType>)?,
            payee_account: f
                .text(PAYEE_ACCOUNT)
                .ok_or_else(|| DecodeError(format!("missing field {PAYEE_ACCOUNT}")))?,
            payout_status: f.parse(PAYOUT_STATUS, str::parse::<PayoutStatus>)?,
            reason: f.text(REASON),
            remark: f.text(REMARK),
            create_time: f
                .time_opt(CREATE_TIME)?
                .ok_or_else(|| DecodeError(format!("missing field {CREATE_TIME}")))?,
            finish_time: f.time_opt(FINISH_TIME)?,
            returned_time: f.time_opt(RETURNED_TIME)?,
            raw: body,
        })
    }
}

serde_via_fields!(PayoutView);

impl utoipa::PartialSchema for PayoutView {
    fn schema() -> RefOr<Schema> {
        success_schema(vec![
            text_prop(field::MERCHANT_ID, None),
            text_prop(PAYOUT_NO, Some("Our payout number.")),
            text_prop(OUT_PAYOUT_NO, None),
            text_prop(AMOUNT, Some("Paid to the payee.")),
            text_prop(
                FEE,
                Some("Charged on top of the amount; 0 for wallet payouts."),
            ),
            text_prop(field::CURRENCY, None),
            enum_prop(
                PAYEE_TYPE,
                values(PayeeType::ALL.map(PayeeType::as_str), "Who is paid."),
            ),
            text_prop(
                PAYEE_ACCOUNT,
                Some(
                    "The wallet account, or the card number with all but its last 4 digits masked.",
                ),
            ),
            enum_prop(
                PAYOUT_STATUS,
                values(
                    PayoutStatus::ALL.map(PayoutStatus::as_str),
                    "PROCESSING, then SUCCESS or FAILED; a SUCCESS may later become RETURNED.",
                ),
            ),
            text_prop(CREATE_TIME, None),
            opt_text_prop(FINISH_TIME, Some("When it succeeded or failed.")),
            opt_text_prop(RETURNED_TIME, Some("When the bank returned it.")),
            opt_text_prop(REASON, Some("Why it failed or was returned.")),
            opt_text_prop(REMARK, None),
        ])
    }
}

impl utoipa::ToSchema for PayoutView {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("PayoutResponse")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use paygate_domain::Currency;
    use serde_json::json;

    fn card_payout() -> CreatePayout {
        CreatePayout {
            out_payout_no: OutPayoutNo::parse("PAY-000001").unwrap(),
            money: Money::parse("12.30", Currency::Cny).unwrap(),
            payee: Payee::BankCard(
                BankCard::parse("6222020200112233", "Zhang San", "ICBC").unwrap(),
            ),
            remark: Some("refund of deposit".into()),
            notify_url: Some("https://shop.example/payouts".into()),
        }
    }

    #[test]
    fn a_payout_request_reads_back_what_it_wrote() {
        let fields = card_payout().to_fields();
        assert_eq!(fields["card_no"], "6222020200112233");
        assert_eq!(CreatePayout::parse(&fields, 0), Ok(card_payout()));
    }

    #[test]
    fn each_bad_field_is_named() {
        for (key, value) in [
            ("out_payout_no", "SHORT"),
            ("amount", "1.001"),
            ("payee_type", "alipay"),
            ("card_no", "6222 0202"),
            ("bank_code", "icbc"),
            ("notify_url", "ftp://x"),
        ] {
            let mut fields = card_payout().to_fields();
            fields.insert(key.into(), json!(value));
            let refused = CreatePayout::parse(&fields, 0).unwrap_err();
            assert_eq!(refused.field, key, "{value}");
        }
        let mut wallet = card_payout().to_fields();
        wallet.insert("payee_type".into(), json!("wallet"));
        assert_eq!(
            CreatePayout::parse(&wallet, 0).unwrap_err().field,
            "account_id"
        );
    }
}
