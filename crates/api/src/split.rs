//! Profit sharing (分账) and its return (分账回退), shaped after WeChat Pay v3
//! (`profitsharing/receivers/add`, `orders`, `orders/unfreeze`, `return-orders`) and Alipay
//! (`alipay.trade.royalty.relation.bind`, `alipay.trade.order.settle`):
//!
//! - `/api/split/receiver/add` and `/remove`: the receivers a merchant may share to;
//! - `/api/split/apply`: shares of a paid order, idempotent on `out_split_no`;
//! - `/api/split/finish`: no more shares for the order (WeChat's unfreeze);
//! - `/api/split/query`: a split request by `out_split_no`;
//! - `/api/split/return`: part of a share back from its receiver, idempotent on
//!   `out_return_no`.
//!
//! The signed format is flat, so a request's list of receivers travels as one JSON text field
//! (as WeChat Pay v2's `receivers` did) and is signed as that text.

use crate::envelope::success_schema;
use crate::field;
use crate::fields::{balance, format_time, Answer, Fields, AMOUNT_CHARS_MAX};
use crate::order_ref::{names_an_order, order_ref_fields, OrderRef};
use crate::schema::{
    amount, enum_prop, object, one_of_values, request_schema, string, text, text_prop, values,
    OUT_NO, TEXT_CHARS_MAX_ID,
};
use crate::{paths, ApiRequest, DecodeError, FieldError};
use paygate_domain::split::{
    ReceiverId, ReceiverType, ReturnPolicy, SplitKind, RECEIVER_NAME_CHARS_MAX, RELATION_CHARS_MAX,
};
use paygate_domain::{
    AmountError, Currency, Money, OutReturnNo, OutSplitNo, ReturnNo, SplitNo, TradeNo,
};
use serde_json::{json, Map, Value};
use std::borrow::Cow;
use utoipa::openapi::schema::{AllOfBuilder, Ref, Schema};
use utoipa::openapi::RefOr;

pub const RECEIVER_ID: &str = "receiver_id";
pub const RECEIVER_TYPE: &str = "type";
pub const NAME: &str = "name";
pub const RELATION: &str = "relation";
pub const OUT_SPLIT_NO: &str = "out_split_no";
pub const SPLIT_NO: &str = "split_no";
pub const RECEIVERS: &str = "receivers";
pub const RETURN_POLICY: &str = "return_policy";
pub const AMOUNT: &str = "amount";
pub const RETURNED_AMOUNT: &str = "returned_amount";
pub const KIND: &str = "kind";
pub const OUT_RETURN_NO: &str = "out_return_no";
pub const RETURN_NO: &str = "return_no";
pub const CREATE_TIME: &str = "create_time";
pub const RECEIVER_STATUS: &str = "receiver_status";

/// The most receivers one request's `receivers` text may list (Alipay's cap, the larger).
pub const RECEIVERS_PER_REQUEST_MAX: usize = 10;
/// The `receivers` text's length bound: ten entries of the longest id and amount fit.
const RECEIVERS_CHARS_MAX: usize = 2048;
/// A receiver id: printable ASCII other than `:`.
const RECEIVER_ID_PATTERN: &str = "^[!-9;-~]{1,64}$";

fn receiver_id(f: &Fields<'_>) -> Result<ReceiverId, FieldError> {
    let text = f.required(RECEIVER_ID, 64)?;
    ReceiverId::parse(text).map_err(|e| FieldError::new(RECEIVER_ID, e.to_string()))
}

fn receiver_id_schema() -> RefOr<Schema> {
    string(
        RECEIVER_ID_PATTERN,
        (1, 64),
        "The receiver's account (an openid or merchant number): 1-64 printable ASCII \
         characters other than ':'.",
    )
    .into()
}

/// An amount read before the order (and so its currency) is known, as refunds read theirs: a
/// whole number reads as yen and anything with decimals as yuan, so `to_major_string` gives back
/// the text that was sent, to be read again in the order's currency.
fn provisional(name: &str, text: &str) -> Result<Money, FieldError> {
    Money::parse(text, Currency::Jpy)
        .or_else(|jpy| Money::parse(text, Currency::Cny).map_err(|_| jpy))
        .map_err(|e| FieldError::new(name, e.to_string()))
}

/// Reads an amount sent before the order was known in the order's currency.
pub fn amount_in(money: &Money, currency: Currency) -> Result<Money, AmountError> {
    Money::parse(&money.to_major_string(), currency)
}

/// `POST /api/split/receiver/add`: registers (or updates) a receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddReceiver {
    pub receiver_id: ReceiverId,
    pub receiver_type: ReceiverType,
    pub name: String,
    pub relation: String,
}

impl ApiRequest for AddReceiver {
    const PATH: &'static str = paths::SPLIT_RECEIVER_ADD;

    fn parse(fields: &Map<String, Value>, _now_secs: i64) -> Result<AddReceiver, FieldError> {
        let f = Fields(fields);
        let receiver_id = receiver_id(&f)?;
        let receiver_type = f
            .required(RECEIVER_TYPE, 16)?
            .parse()
            .map_err(|_| FieldError::new(RECEIVER_TYPE, "must be personal or business"))?;
        let name = f.required(NAME, RECEIVER_NAME_CHARS_MAX)?.to_owned();
        let relation = f.required(RELATION, RELATION_CHARS_MAX)?.to_owned();
        Ok(AddReceiver {
            receiver_id,
            receiver_type,
            name,
            relation,
        })
    }

    fn to_fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert(RECEIVER_ID.into(), self.receiver_id.as_str().into());
        fields.insert(RECEIVER_TYPE.into(), self.receiver_type.as_str().into());
        fields.insert(NAME.into(), self.name.as_str().into());
        fields.insert(RELATION.into(), self.relation.as_str().into());
        fields
    }
}

request_schema!(
    AddReceiver,
    "SplitReceiverAddRequest",
    [crate::envelope::SignedFields],
    {
        AllOfBuilder::new()
            .item(Ref::from_schema_name("SignedFields"))
            .item(object(
                vec![
                    (RECEIVER_ID, receiver_id_schema()),
                    (
                        RECEIVER_TYPE,
                        one_of_values(
                            &ReceiverType::ALL.map(ReceiverType::as_str),
                            "A person (an openid) or a business (a merchant number).",
                        )
                        .into(),
                    ),
                    (
                        NAME,
                        text(RECEIVER_NAME_CHARS_MAX, "The receiver's name.").into(),
                    ),
                    (
                        RELATION,
                        text(
                            RELATION_CHARS_MAX,
                            "The receiver's relation to the merchant (e.g. SUPPLIER, PARTNER).",
                        )
                        .into(),
                    ),
                ],
                &[RECEIVER_ID, RECEIVER_TYPE, NAME, RELATION],
            ))
            .into()
    }
);

/// `POST /api/split/receiver/remove`: the merchant may no longer share to the receiver; what
/// it holds stays its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoveReceiver {
    pub receiver_id: ReceiverId,
}

impl ApiRequest for RemoveReceiver {
    const PATH: &'static str = paths::SPLIT_RECEIVER_REMOVE;

    fn parse(fields: &Map<String, Value>, _now_secs: i64) -> Result<RemoveReceiver, FieldError> {
        Ok(RemoveReceiver {
            receiver_id: receiver_id(&Fields(fields))?,
        })
    }

    fn to_fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert(RECEIVER_ID.into(), self.receiver_id.as_str().into());
        fields
    }
}

request_schema!(
    RemoveReceiver,
    "SplitReceiverRemoveRequest",
    [crate::envelope::SignedFields],
    AllOfBuilder::new()
        .item(Ref::from_schema_name("SignedFields"))
        .item(object(
            vec![(RECEIVER_ID, receiver_id_schema())],
            &[RECEIVER_ID]
        ))
        .into()
);

/// A receiver as the API shows it (the answer to add and remove).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverView {
    pub receiver_id: ReceiverId,
    pub receiver_type: ReceiverType,
    pub name: String,
    pub relation: String,
    /// Whether the merchant may share to it.
    pub active: bool,
}

impl ReceiverView {
    pub fn to_fields(&self) -> Map<String, Value> {
        let mut view = Map::new();
        view.insert(RECEIVER_ID.into(), self.receiver_id.as_str().into());
        view.insert(RECEIVER_TYPE.into(), self.receiver_type.as_str().into());
        view.insert(NAME.into(), self.name.as_str().into());
        view.insert(RELATION.into(), self.relation.as_str().into());
        let status = if self.active { "ACTIVE" } else { "REMOVED" };
        view.insert(RECEIVER_STATUS.into(), status.into());
        view
    }

    pub fn from_fields(body: Map<String, Value>) -> Result<ReceiverView, DecodeError> {
        let f = Answer(&body);
        Ok(ReceiverView {
            receiver_id: f.parse(RECEIVER_ID, ReceiverId::parse)?,
            receiver_type: f.parse(RECEIVER_TYPE, str::parse::<ReceiverType>)?,
            name: f.text(NAME).unwrap_or_default(),
            relation: f.text(RELATION).unwrap_or_default(),
            active: f.text(RECEIVER_STATUS).as_deref() == Some("ACTIVE"),
        })
    }
}

impl utoipa::PartialSchema for ReceiverView {
    fn schema() -> RefOr<Schema> {
        success_schema(vec![
            text_prop(RECEIVER_ID, None),
            enum_prop(
                RECEIVER_TYPE,
                values(
                    ReceiverType::ALL.map(ReceiverType::as_str),
                    "The receiver's kind.",
                ),
            ),
            text_prop(NAME, None),
            text_prop(RELATION, None),
            enum_prop(
                RECEIVER_STATUS,
                values(
                    ["ACTIVE", "REMOVED"],
                    "ACTIVE: the merchant may share to it; REMOVED: no longer.",
                ),
            ),
        ])
    }
}

impl utoipa::ToSchema for ReceiverView {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("SplitReceiverResponse")
    }
}

/// One entry of a request's `receivers`: `amount` (provisional until the order's currency is
/// known) to `receiver_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareRequest {
    pub receiver_id: ReceiverId,
    pub amount: Money,
}

fn read_receivers(f: &Fields<'_>) -> Result<Vec<ShareRequest>, FieldError> {
    let text = f.required(RECEIVERS, RECEIVERS_CHARS_MAX)?;
    let bad = |why: &str| FieldError::new(RECEIVERS, why);
    let list: Vec<Value> = serde_json::from_str(text)
        .map_err(|_| bad("must be a JSON array of {receiver_id, amount}"))?;
    if list.is_empty() || list.len() > RECEIVERS_PER_REQUEST_MAX {
        return Err(bad("must list 1 to 10 receivers"));
    }
    list.iter()
        .map(|entry| {
            let entry = entry
                .as_object()
                .ok_or_else(|| bad("each entry must be an object"))?;
            let id = entry
                .get(RECEIVER_ID)
                .and_then(Value::as_str)
                .ok_or_else(|| bad("each entry needs a receiver_id string"))?;
            let amount = entry
                .get(AMOUNT)
                .and_then(Value::as_str)
                .filter(|a| a.len() <= AMOUNT_CHARS_MAX)
                .ok_or_else(|| bad("each entry needs an amount string"))?;
            Ok(ShareRequest {
                receiver_id: ReceiverId::parse(id)
                    .map_err(|e| FieldError::new(RECEIVERS, e.to_string()))?,
                amount: provisional(RECEIVERS, amount)?,
            })
        })
        .collect()
}

fn receivers_text(shares: &[ShareRequest]) -> String {
    let list: Vec<Value> = shares
        .iter()
        .map(|s| json!({RECEIVER_ID: s.receiver_id.as_str(), AMOUNT: s.amount.to_major_string()}))
        .collect();
    Value::Array(list).to_string()
}

/// `POST /api/split/apply`: shares of a paid order to registered receivers, idempotent on
/// `out_split_no`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplySplit {
    pub order: OrderRef,
    pub out_split_no: OutSplitNo,
    pub receivers: Vec<ShareRequest>,
    /// How a later refund takes shares back from this order; kept from the last request that
    /// names it, `proportional` when none does.
    pub return_policy: Option<ReturnPolicy>,
}

fn out_split_no(f: &Fields<'_>) -> Result<OutSplitNo, FieldError> {
    f.id(OUT_SPLIT_NO, OutSplitNo::parse)?
        .ok_or_else(|| FieldError::new(OUT_SPLIT_NO, "is required"))
}

fn out_split_no_schema() -> RefOr<Schema> {
    string(
        OUT_NO,
        (1, TEXT_CHARS_MAX_ID),
        "The merchant's number of the split request: its idempotency key. It may not start \
         with auto- (1001): auto-<trade_no> is the number an order's split_rules are applied \
         under.",
    )
    .into()
}

impl ApiRequest for ApplySplit {
    const PATH: &'static str = paths::SPLIT_APPLY;

    fn parse(fields: &Map<String, Value>, _now_secs: i64) -> Result<ApplySplit, FieldError> {
        let f = Fields(fields);
        let order = OrderRef::read(&f)?;
        let out_split_no = out_split_no(&f)?;
        let receivers = read_receivers(&f)?;
        let return_policy = f
            .text(RETURN_POLICY, 16)?
            .map(|p| {
                p.parse().map_err(|_| {
                    FieldError::new(RETURN_POLICY, "must be proportional or latest_first")
                })
            })
            .transpose()?;
        Ok(ApplySplit {
            order,
            out_split_no,
            receivers,
            return_policy,
        })
    }

    fn to_fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        self.order.insert_into(&mut fields);
        fields.insert(OUT_SPLIT_NO.into(), self.out_split_no.as_str().into());
        fields.insert(RECEIVERS.into(), receivers_text(&self.receivers).into());
        if let Some(policy) = self.return_policy {
            fields.insert(RETURN_POLICY.into(), policy.as_str().into());
        }
        fields
    }
}

request_schema!(
    ApplySplit,
    "SplitApplyRequest",
    [crate::envelope::SignedFields],
    {
        let mut fields = order_ref_fields();
        fields.extend([
            (OUT_SPLIT_NO, out_split_no_schema()),
            (
                RECEIVERS,
                text(
                    RECEIVERS_CHARS_MAX,
                    "A JSON array of 1-10 objects {\"receiver_id\": registered receiver, \
                 \"amount\": amount in the order's currency, up to two decimals}, each receiver \
                 once, e.g. [{\"receiver_id\":\"C\",\"amount\":\"20.00\"}]. The total must not \
                 exceed paid - fee - refunded - already shared and not returned (1015); an order \
                 shares to at most its channel's receiver cap (WeChat Pay 5, Alipay 10; 1014).",
                )
                .into(),
            ),
            (
                RETURN_POLICY,
                one_of_values(
                    &ReturnPolicy::ALL.map(ReturnPolicy::as_str),
                    "How a refund takes shares back: proportional (default; to the fen, the \
                 remainder from the largest share) or latest_first.",
                )
                .into(),
            ),
        ]);
        AllOfBuilder::new()
            .item(Ref::from_schema_name("SignedFields"))
            .item(object(fields, &[OUT_SPLIT_NO, RECEIVERS]))
            .item(names_an_order())
            .into()
    }
);

/// `POST /api/split/finish`: the order shares no more (WeChat's unfreeze); idempotent on
/// `out_split_no`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishSplit {
    pub order: OrderRef,
    pub out_split_no: OutSplitNo,
}

impl ApiRequest for FinishSplit {
    const PATH: &'static str = paths::SPLIT_FINISH;

    fn parse(fields: &Map<String, Value>, _now_secs: i64) -> Result<FinishSplit, FieldError> {
        let f = Fields(fields);
        Ok(FinishSplit {
            order: OrderRef::read(&f)?,
            out_split_no: out_split_no(&f)?,
        })
    }

    fn to_fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        self.order.insert_into(&mut fields);
        fields.insert(OUT_SPLIT_NO.into(), self.out_split_no.as_str().into());
        fields
    }
}

request_schema!(
    FinishSplit,
    "SplitFinishRequest",
    [crate::envelope::SignedFields],
    {
        let mut fields = order_ref_fields();
        fields.push((OUT_SPLIT_NO, out_split_no_schema()));
        AllOfBuilder::new()
            .item(Ref::from_schema_name("SignedFields"))
            .item(object(fields, &[OUT_SPLIT_NO]))
            .item(names_an_order())
            .into()
    }
);

/// `POST /api/split/query`: a split request by the merchant's number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuerySplit {
    pub out_split_no: OutSplitNo,
}

impl ApiRequest for QuerySplit {
    const PATH: &'static str = paths::SPLIT_QUERY;

    fn parse(fields: &Map<String, Value>, _now_secs: i64) -> Result<QuerySplit, FieldError> {
        Ok(QuerySplit {
            out_split_no: out_split_no(&Fields(fields))?,
        })
    }

    fn to_fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert(OUT_SPLIT_NO.into(), self.out_split_no.as_str().into());
        fields
    }
}

request_schema!(
    QuerySplit,
    "SplitQueryRequest",
    [crate::envelope::SignedFields],
    AllOfBuilder::new()
        .item(Ref::from_schema_name("SignedFields"))
        .item(object(
            vec![(OUT_SPLIT_NO, out_split_no_schema())],
            &[OUT_SPLIT_NO]
        ))
        .into()
);

/// One share of a split as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareView {
    pub receiver_id: ReceiverId,
    pub amount: Money,
    pub returned_amount: Money,
}

/// A split request as the API shows it: the answer to apply, finish and query, and the body of
/// the `SPLIT_SUCCESS` notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitView {
    pub split_no: SplitNo,
    pub out_split_no: OutSplitNo,
    pub trade_no: TradeNo,
    pub kind: SplitKind,
    /// The shares' total in the order's currency; zero for a finish.
    pub amount: Money,
    pub receivers: Vec<ShareView>,
    pub create_time_ms: i64,
}

impl SplitView {
    pub fn to_fields(&self) -> Map<String, Value> {
        let mut view = Map::new();
        view.insert(SPLIT_NO.into(), self.split_no.as_str().into());
        view.insert(OUT_SPLIT_NO.into(), self.out_split_no.as_str().into());
        view.insert(field::TRADE_NO.into(), self.trade_no.as_str().into());
        view.insert(KIND.into(), self.kind.as_str().into());
        view.insert(AMOUNT.into(), self.amount.to_major_string().into());
        view.insert(field::CURRENCY.into(), self.amount.currency.as_str().into());
        let list: Vec<Value> = self
            .receivers
            .iter()
            .map(|s| {
                json!({
                    RECEIVER_ID: s.receiver_id.as_str(),
                    AMOUNT: s.amount.to_major_string(),
                    RETURNED_AMOUNT: s.returned_amount.to_major_string(),
                })
            })
            .collect();
        view.insert(RECEIVERS.into(), Value::Array(list).to_string().into());
        view.insert(CREATE_TIME.into(), format_time(self.create_time_ms).into());
        view
    }

    pub fn from_fields(body: Map<String, Value>) -> Result<SplitView, DecodeError> {
        let f = Answer(&body);
        let currency = f.currency()?;
        let money = |text: &str| balance(text, currency);
        let list: Vec<Value> = f.parse(RECEIVERS, |t| serde_json::from_str(t))?;
        let receivers = list
            .iter()
            .map(|entry| {
                let text = |key: &str| {
                    entry
                        .get(key)
                        .and_then(Value::as_str)
                        .ok_or_else(|| DecodeError(format!("receivers entry without {key}")))
                };
                let bad = |e: String| DecodeError(format!("receivers: {e}"));
                Ok(ShareView {
                    receiver_id: ReceiverId::parse(text(RECEIVER_ID)?)
                        .map_err(|e| bad(e.to_string()))?,
                    amount: money(text(AMOUNT)?).map_err(|e| bad(e.to_string()))?,
                    returned_amount: money(text(RETURNED_AMOUNT)?)
                        .map_err(|e| bad(e.to_string()))?,
                })
            })
            .collect::<Result<_, DecodeError>>()?;
        Ok(SplitView {
            split_no: f.parse(SPLIT_NO, SplitNo::parse)?,
            out_split_no: f.parse(OUT_SPLIT_NO, OutSplitNo::parse)?,
            trade_no: f.parse(field::TRADE_NO, TradeNo::parse)?,
            kind: f.parse(KIND, str::parse::<SplitKind>)?,
            amount: f.parse(AMOUNT, money)?,
            receivers,
            create_time_ms: f
                .time_opt(CREATE_TIME)?
                .map(|t| t.timestamp_millis())
                .unwrap_or_default(),
        })
    }
}

impl utoipa::PartialSchema for SplitView {
    fn schema() -> RefOr<Schema> {
        success_schema(vec![
            text_prop(SPLIT_NO, Some("Our number of the split request.")),
            text_prop(OUT_SPLIT_NO, None),
            text_prop(field::TRADE_NO, None),
            enum_prop(
                KIND,
                values(
                    SplitKind::ALL.map(SplitKind::as_str),
                    "share: gave shares; finish: ended the order's sharing.",
                ),
            ),
            text_prop(AMOUNT, Some("The shares' total; 0.00 for a finish.")),
            text_prop(field::CURRENCY, None),
            text_prop(
                RECEIVERS,
                Some(
                    "A JSON array of {receiver_id, amount, returned_amount}: what each receiver \
                     was given and what came back from it.",
                ),
            ),
            text_prop(CREATE_TIME, Some("RFC 3339, China Standard Time.")),
        ])
    }
}

impl utoipa::ToSchema for SplitView {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("SplitResponse")
    }
}

/// `POST /api/split/return`: part of a share back from its receiver to the merchant (分账回退),
/// idempotent on `out_return_no`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnSplit {
    pub out_return_no: OutReturnNo,
    pub out_split_no: OutSplitNo,
    pub receiver_id: ReceiverId,
    /// Provisional until the split (and so the currency) is known.
    pub amount: Money,
}

impl ApiRequest for ReturnSplit {
    const PATH: &'static str = paths::SPLIT_RETURN;

    fn parse(fields: &Map<String, Value>, _now_secs: i64) -> Result<ReturnSplit, FieldError> {
        let f = Fields(fields);
        let out_return_no = f
            .id(OUT_RETURN_NO, OutReturnNo::parse)?
            .ok_or_else(|| FieldError::new(OUT_RETURN_NO, "is required"))?;
        let out_split_no = out_split_no(&f)?;
        let receiver_id = receiver_id(&f)?;
        let amount = provisional(AMOUNT, f.required(AMOUNT, AMOUNT_CHARS_MAX)?)?;
        Ok(ReturnSplit {
            out_return_no,
            out_split_no,
            receiver_id,
            amount,
        })
    }

    fn to_fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert(OUT_RETURN_NO.into(), self.out_return_no.as_str().into());
        fields.insert(OUT_SPLIT_NO.into(), self.out_split_no.as_str().into());
        fields.insert(RECEIVER_ID.into(), self.receiver_id.as_str().into());
        fields.insert(AMOUNT.into(), self.amount.to_major_string().into());
        fields
    }
}

request_schema!(
    ReturnSplit,
    "SplitReturnRequest",
    [crate::envelope::SignedFields],
    {
        AllOfBuilder::new()
            .item(Ref::from_schema_name("SignedFields"))
            .item(object(
                vec![
                (
                    OUT_RETURN_NO,
                    string(
                        OUT_NO,
                        (1, TEXT_CHARS_MAX_ID),
                        "The merchant's number of the return: its idempotency key.",
                    )
                    .into(),
                ),
                (OUT_SPLIT_NO, out_split_no_schema()),
                (RECEIVER_ID, receiver_id_schema()),
                (
                    AMOUNT,
                    amount(
                        "In the order's currency, at most what the receiver still holds of this \
                         split's share (1015).",
                    )
                    .into(),
                ),
            ],
                &[OUT_RETURN_NO, OUT_SPLIT_NO, RECEIVER_ID, AMOUNT],
            ))
            .into()
    }
);

/// A share return as the API shows it: the answer to return, and the body of the
/// `SPLIT_RETURNED` notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnView {
    pub return_no: ReturnNo,
    pub out_return_no: OutReturnNo,
    pub split_no: SplitNo,
    pub out_split_no: OutSplitNo,
    pub trade_no: TradeNo,
    pub receiver_id: ReceiverId,
    pub amount: Money,
    pub create_time_ms: i64,
}

impl ReturnView {
    pub fn to_fields(&self) -> Map<String, Value> {
        let mut view = Map::new();
        view.insert(RETURN_NO.into(), self.return_no.as_str().into());
        view.insert(OUT_RETURN_NO.into(), self.out_return_no.as_str().into());
        view.insert(SPLIT_NO.into(), self.split_no.as_str().into());
        view.insert(OUT_SPLIT_NO.into(), self.out_split_no.as_str().into());
        view.insert(field::TRADE_NO.into(), self.trade_no.as_str().into());
        view.insert(RECEIVER_ID.into(), self.receiver_id.as_str().into());
        view.insert(AMOUNT.into(), self.amount.to_major_string().into());
        view.insert(field::CURRENCY.into(), self.amount.currency.as_str().into());
        view.insert(CREATE_TIME.into(), format_time(self.create_time_ms).into());
        view
    }

    pub fn from_fields(body: Map<String, Value>) -> Result<ReturnView, DecodeError> {
        let f = Answer(&body);
        let currency = f.currency()?;
        Ok(ReturnView {
            return_no: f.parse(RETURN_NO, ReturnNo::parse)?,
            out_return_no: f.parse(OUT_RETURN_NO, OutReturnNo::parse)?,
            split_no: f.parse(SPLIT_NO, SplitNo::parse)?,
            out_split_no: f.parse(OUT_SPLIT_NO, OutSplitNo::parse)?,
            trade_no: f.parse(field::TRADE_NO, TradeNo::parse)?,
            receiver_id: f.parse(RECEIVER_ID, ReceiverId::parse)?,
            amount: f.parse(AMOUNT, |t| balance(t, currency))?,
            create_time_ms: f
                .time_opt(CREATE_TIME)?
                .map(|t| t.timestamp_millis())
                .unwrap_or_default(),
        })
    }
}

impl utoipa::PartialSchema for ReturnView {
    fn schema() -> RefOr<Schema> {
        success_schema(vec![
            text_prop(RETURN_NO, Some("Our number of the return.")),
            text_prop(OUT_RETURN_NO, None),
            text_prop(SPLIT_NO, None),
            text_prop(OUT_SPLIT_NO, None),
            text_prop(field::TRADE_NO, None),
            text_prop(RECEIVER_ID, None),
            text_prop(AMOUNT, None),
            text_prop(field::CURRENCY, None),
            text_prop(CREATE_TIME, Some("RFC 3339, China Standard Time.")),
        ])
    }
}

impl utoipa::ToSchema for ReturnView {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("SplitReturnResponse")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_split_request_reads_back_what_the_client_wrote() {
        let request = ApplySplit {
            order: OrderRef::TradeNo(TradeNo::parse("P2026112900000001").unwrap()),
            out_split_no: OutSplitNo::parse("S-1").unwrap(),
            receivers: vec![ShareRequest {
                receiver_id: ReceiverId::parse("C").unwrap(),
                amount: Money::parse("20.00", Currency::Cny).unwrap(),
            }],
            return_policy: Some(ReturnPolicy::LatestFirst),
        };
        let fields = request.to_fields();
        assert_eq!(
            fields[RECEIVERS],
            Value::from(r#"[{"receiver_id":"C","amount":"20.00"}]"#)
        );
        let parsed = ApplySplit::parse(&fields, 0).unwrap();
        assert_eq!(
            amount_in(&parsed.receivers[0].amount, Currency::Cny).unwrap(),
            Money::parse("20.00", Currency::Cny).unwrap()
        );
        assert_eq!(parsed.return_policy, Some(ReturnPolicy::LatestFirst));
    }

    #[test]
    fn malformed_receivers_are_refused_naming_the_field() {
        for text in [
            "",
            "{}",
            "[]",
            r#"[{"receiver_id":"a:b","amount":"1.00"}]"#,
            r#"[{"receiver_id":"C","amount":"-1"}]"#,
        ] {
            let mut fields = Map::new();
            fields.insert("trade_no".into(), "P2026112900000001".into());
            fields.insert(OUT_SPLIT_NO.into(), "S-1".into());
            fields.insert(RECEIVERS.into(), text.into());
            let error = ApplySplit::parse(&fields, 0).unwrap_err();
            assert_eq!(error.field, RECEIVERS, "{text}");
        }
    }
}
