//! `POST /api/withdraw/create` (withdraw available money to the merchant's own account,
//! idempotent on `out_withdraw_no`), `POST /api/withdraw/query`, and
//! `POST /api/settlement/request` (a manual-cycle merchant settles what the channels have
//! cleared), with their answers.

use crate::envelope::success_schema;
use crate::field;
use crate::fields::{balance, insert_opt, serde_via_fields, Answer, Fields};
use crate::schema::{
    amount, enum_prop, object, one_of_values, opt_text_prop, request_schema, string, text_prop,
    values, OUT_NO, TEXT_CHARS_MAX_ID,
};
use crate::{paths, ApiRequest, DecodeError, FieldError};
use paygate_domain::{Currency, Money, OutWithdrawNo, WithdrawNo};
use serde_json::{Map, Value};
use std::borrow::Cow;
use utoipa::openapi::schema::{AllOfBuilder, Ref, Schema};
use utoipa::openapi::RefOr;

pub const OUT_WITHDRAW_NO: &str = "out_withdraw_no";
pub const WITHDRAW_NO: &str = "withdraw_no";
pub const AMOUNT: &str = "amount";
pub const SETTLEMENT_NO: &str = "settlement_no";
pub const SETTLEMENT_STATUS: &str = "settlement_status";
pub const BUSINESS_DATE: &str = "business_date";
pub const CREATED_AT: &str = "created_at";

fn out_withdraw_no(f: &Fields<'_>) -> Result<OutWithdrawNo, FieldError> {
    f.id(OUT_WITHDRAW_NO, OutWithdrawNo::parse)?
        .ok_or_else(|| FieldError::new(OUT_WITHDRAW_NO, "is required"))
}

fn out_withdraw_no_schema() -> RefOr<Schema> {
    string(
        OUT_NO,
        (1, TEXT_CHARS_MAX_ID),
        "The withdrawal's idempotency key.",
    )
    .into()
}

fn currency_schema() -> RefOr<Schema> {
    one_of_values(&["CNY", "HKD", "USD", "JPY"], "Default CNY.").into()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateWithdraw {
    pub out_withdraw_no: OutWithdrawNo,
    pub amount: Money,
}

impl ApiRequest for CreateWithdraw {
    const PATH: &'static str = paths::WITHDRAW_CREATE;

    fn parse(fields: &Map<String, Value>, _now_secs: i64) -> Result<CreateWithdraw, FieldError> {
        let f = Fields(fields);
        let out_withdraw_no = out_withdraw_no(&f)?;
        let currency = f.currency()?;
        let amount = f.money(AMOUNT, currency)?;
        Ok(CreateWithdraw {
            out_withdraw_no,
            amount,
        })
    }

    fn to_fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert(OUT_WITHDRAW_NO.into(), self.out_withdraw_no.as_str().into());
        fields.insert(AMOUNT.into(), self.amount.to_major_string().into());
        fields.insert(field::CURRENCY.into(), self.amount.currency.as_str().into());
        fields
    }
}

request_schema!(
    CreateWithdraw,
    "WithdrawRequest",
    [crate::envelope::SignedFields],
    AllOfBuilder::new()
        .item(Ref::from_schema_name("SignedFields"))
        .item(object(
            vec![
                (OUT_WITHDRAW_NO, out_withdraw_no_schema()),
                (
                    AMOUNT,
                    amount("Decimal string in the currency's major unit, e.g. \"100.00\"; at most the available balance.").into(),
                ),
                (field::CURRENCY, currency_schema()),
            ],
            &[OUT_WITHDRAW_NO, AMOUNT],
        ))
        .into()
);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryWithdraw {
    pub out_withdraw_no: OutWithdrawNo,
}

impl ApiRequest for QueryWithdraw {
    const PATH: &'static str = paths::WITHDRAW_QUERY;

    fn parse(fields: &Map<String, Value>, _now_secs: i64) -> Result<QueryWithdraw, FieldError> {
        Ok(QueryWithdraw {
            out_withdraw_no: out_withdraw_no(&Fields(fields))?,
        })
    }

    fn to_fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert(OUT_WITHDRAW_NO.into(), self.out_withdraw_no.as_str().into());
        fields
    }
}

request_schema!(
    QueryWithdraw,
    "WithdrawQueryRequest",
    [crate::envelope::SignedFields],
    AllOfBuilder::new()
        .item(Ref::from_schema_name("SignedFields"))
        .item(object(
            vec![(OUT_WITHDRAW_NO, out_withdraw_no_schema())],
            &[OUT_WITHDRAW_NO]
        ))
        .into()
);

/// A withdrawal as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawView {
    pub withdraw_no: WithdrawNo,
    pub out_withdraw_no: OutWithdrawNo,
    pub amount: Money,
    /// When the money left (RFC 3339, China time).
    pub created_at: String,
}

impl WithdrawView {
    pub fn to_fields(&self) -> Map<String, Value> {
        let mut view = Map::new();
        view.insert(WITHDRAW_NO.into(), self.withdraw_no.as_str().into());
        view.insert(OUT_WITHDRAW_NO.into(), self.out_withdraw_no.as_str().into());
        view.insert(AMOUNT.into(), self.amount.to_major_string().into());
        view.insert(field::CURRENCY.into(), self.amount.currency.as_str().into());
        view.insert(CREATED_AT.into(), self.created_at.clone().into());
        view
    }

    pub fn from_fields(body: Map<String, Value>) -> Result<WithdrawView, DecodeError> {
        let fields = Answer(&body);
        let currency = fields.currency()?;
        Ok(WithdrawView {
            withdraw_no: fields.parse(WITHDRAW_NO, WithdrawNo::parse)?,
            out_withdraw_no: fields.parse(OUT_WITHDRAW_NO, OutWithdrawNo::parse)?,
            amount: fields.parse(AMOUNT, |t| balance(t, currency))?,
            created_at: fields.text(CREATED_AT).unwrap_or_default(),
        })
    }
}

serde_via_fields!(WithdrawView);

impl utoipa::PartialSchema for WithdrawView {
    fn schema() -> RefOr<Schema> {
        success_schema(vec![
            text_prop(WITHDRAW_NO, None),
            text_prop(OUT_WITHDRAW_NO, None),
            text_prop(AMOUNT, None),
            text_prop(field::CURRENCY, None),
            text_prop(CREATED_AT, None),
        ])
    }
}

impl utoipa::ToSchema for WithdrawView {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("WithdrawResponse")
    }
}

/// A manual-cycle merchant's request to settle one currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSettlement {
    pub currency: Currency,
}

impl ApiRequest for RequestSettlement {
    const PATH: &'static str = paths::SETTLEMENT_REQUEST;

    fn parse(fields: &Map<String, Value>, _now_secs: i64) -> Result<RequestSettlement, FieldError> {
        Ok(RequestSettlement {
            currency: Fields(fields).currency()?,
        })
    }

    fn to_fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert(field::CURRENCY.into(), self.currency.as_str().into());
        fields
    }
}

request_schema!(
    RequestSettlement,
    "SettlementRequest",
    [crate::envelope::SignedFields],
    AllOfBuilder::new()
        .item(Ref::from_schema_name("SignedFields"))
        .item(object(vec![(field::CURRENCY, currency_schema())], &[]))
        .into()
);

/// What a settlement request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementRequestView {
    /// `SETTLED` (now or earlier today, named by `settlement_no`) or `NOTHING_TO_SETTLE`.
    pub settlement_status: String,
    pub settlement_no: Option<String>,
    pub business_date: Option<String>,
    pub amount: Money,
}

impl SettlementRequestView {
    pub fn to_fields(&self) -> Map<String, Value> {
        let mut view = Map::new();
        view.insert(
            SETTLEMENT_STATUS.into(),
            self.settlement_status.clone().into(),
        );
        insert_opt(&mut view, SETTLEMENT_NO, self.settlement_no.as_deref());
        insert_opt(&mut view, BUSINESS_DATE, self.business_date.as_deref());
        view.insert(AMOUNT.into(), self.amount.to_major_string().into());
        view.insert(field::CURRENCY.into(), self.amount.currency.as_str().into());
        view
    }

    pub fn from_fields(body: Map<String, Value>) -> Result<SettlementRequestView, DecodeError> {
        let fields = Answer(&body);
        let currency = fields.currency()?;
        Ok(SettlementRequestView {
            settlement_status: fields
                .text(SETTLEMENT_STATUS)
                .ok_or_else(|| DecodeError(format!("{SETTLEMENT_STATUS} is missing")))?,
            settlement_no: fields.text(SETTLEMENT_NO),
            business_date: fields.text(BUSINESS_DATE),
            amount: fields.parse(AMOUNT, |t| balance(t, currency))?,
        })
    }
}

serde_via_fields!(SettlementRequestView);

impl utoipa::PartialSchema for SettlementRequestView {
    fn schema() -> RefOr<Schema> {
        success_schema(vec![
            enum_prop(
                SETTLEMENT_STATUS,
                values(
                    ["SETTLED", "NOTHING_TO_SETTLE"],
                    "Whether cleared money was settled (now or earlier the same business day).",
                ),
            ),
            opt_text_prop(SETTLEMENT_NO, None),
            opt_text_prop(BUSINESS_DATE, None),
            text_prop(AMOUNT, None),
            text_prop(field::CURRENCY, None),
        ])
    }
}

impl utoipa::ToSchema for SettlementRequestView {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("SettlementRequestResponse")
    }
}
