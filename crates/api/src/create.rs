//! `POST /api/payment/create`: create an order, idempotent on `out_trade_no`.

use crate::field;
use crate::fields::{insert_opt, Fields, AMOUNT_CHARS_MAX, URL_CHARS_MAX};
use crate::schema::{
    amount, boolean, integer_or_digits, object, one_of_values, request_schema, string, text,
    AMOUNT_CENTS, AMOUNT_WHOLE, OUT_NO, PAY_CODE, TEXT_CHARS_MAX_ID, URL,
};
use crate::{paths, ApiRequest, FieldError};
use chrono::{DateTime, Utc};
use paygate_domain::split_rules::OrderSplit;
use paygate_domain::{
    AuthCode, CodeIssuer, FaceCode, Money, OutTradeNo, PayFlow, PayType, Scene, WalletAccountId,
};
use serde_json::{Map, Value};
use std::net::IpAddr;
use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, OneOfBuilder, Ref, Schema};

pub const SUBJECT_CHARS_MAX: usize = 128;
pub const BODY_CHARS_MAX: usize = 512;
pub const ATTACH_CHARS_MAX: usize = 128;
/// An order may stay payable at most this long (WeChat and Alipay cap near this too).
pub const EXPIRE_SECS_MAX: i64 = 7 * 24 * 3600;
pub const EXPIRE_SECS_MIN: i64 = 60;
pub const OPENID_CHARS_MAX: usize = 128;
const IPV4: &str = "^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$";

/// Build with `new` and set optional fields by struct update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateOrder {
    pub out_trade_no: OutTradeNo,
    /// On the wire as `total_amount` (major-unit decimal text) and `currency`.
    pub amount: Money,
    pub subject: String,
    pub body: Option<String>,
    pub pay_type: PayType,
    pub notify_url: String,
    pub return_url: Option<String>,
    pub attach: Option<String>,
    /// When the order stops being payable, if the merchant says; sent as Unix seconds.
    pub expire_time: Option<DateTime<Utc>>,
    /// A wallet account the merchant knows the payer by. Recorded with the order, but it never
    /// charges: without `auth_code` the order waits for the payer (the cashier).
    pub buyer_id: Option<WalletAccountId>,
    /// The payer's one-time pay code (18 digits starting 88, valid 60 s), scanned from the
    /// payer's wallet: the payer's consent to be charged now (micropay).
    pub auth_code: Option<AuthCode>,
    /// The payer's `openid` under the channel's app: required by `wechat_jsapi`.
    pub openid: Option<String>,
    /// The payer's device address as the merchant saw it: required by `wechat_h5`, passed to
    /// the channel's risk checks by the others.
    pub client_ip: Option<IpAddr>,
    /// How the payer is present: with `auto`, none (or `cashier`) lets the payer choose the way
    /// in our cashier; `face` for a face-pay code.
    pub scene: Option<PayScene>,
    /// Hides credit (credit cards, Huabei and its installments) from the payer, in our cashier
    /// and at every channel whose protocol can say so.
    pub disable_credit: bool,
    /// Share rules (`split_rules`, `split_mode`), applied once the order is paid.
    pub split: Option<OrderSplit>,
}

paygate_domain::text_enum! {
    /// How the payer is present at an aggregated (`auto`) or pay-code order.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum PayScene, unknown(_text) => "must be micropay, face, native or cashier".to_owned(), String {
        /// The merchant scanned the payer's pay code (B scans C).
        Micropay = "micropay",
        /// The payer confirmed by face; `auth_code` is the face SDK's code.
        Face = "face",
        /// The payer scans the merchant's QR code with any wallet's app (C scans B).
        Native = "native",
        /// The payer chooses the way in our hosted cashier (the default of `auto`).
        Cashier = "cashier",
    }
}

/// The pay type an aggregated micropay resolves to: the wallet that issued the code.
pub fn pay_type_of_code(code: &AuthCode) -> PayType {
    match code.issuer() {
        None => PayType::Wallet,
        Some(CodeIssuer::Wechat) => PayType::WechatMicropay,
        Some(CodeIssuer::Alipay) => PayType::AlipayMicropay,
        Some(CodeIssuer::Unionpay) => PayType::UnionpayMicropay,
    }
}

/// `scene` with `pay_type` and `auth_code`: `auto` becomes the pay type of the code's issuer
/// (micropay, face) or stays `auto` for an aggregated QR (native) and the cashier (no scene, or
/// `cashier`); a scene that does not fit the pay type is refused.
fn resolve_scene(
    f: &Fields<'_>,
    pay_type: PayType,
) -> Result<(PayType, Option<PayScene>, Option<AuthCode>), FieldError> {
    let scene = f
        .text(field::SCENE, 16)?
        .map(|text| {
            text.parse::<PayScene>()
                .map_err(|e| FieldError::new(field::SCENE, e))
        })
        .transpose()?;
    let auth_code = match scene {
        Some(PayScene::Face) => f
            .text(field::AUTH_CODE, 128)?
            .map(|text| {
                FaceCode::parse(text)
                    .map(AuthCode::Face)
                    .map_err(|e| FieldError::new(field::AUTH_CODE, e.to_string()))
            })
            .transpose()?,
        _ => pay_code(f)?,
    };
    let unfit = || FieldError::new(field::SCENE, format!("does not fit pay_type {pay_type}"));
    let resolved = match (pay_type, scene) {
        // A pay code without its scene is more likely a forgotten scene than a cashier order.
        (PayType::Auto, None) if auth_code.is_some() => {
            return Err(FieldError::new(
                field::SCENE,
                "is required with auth_code (micropay or face)",
            ))
        }
        (PayType::Auto, None | Some(PayScene::Native | PayScene::Cashier)) => {
            if auth_code.is_some() {
                return Err(FieldError::new(field::AUTH_CODE, "does not fit this scene"));
            }
            PayType::Auto
        }
        (PayType::Auto, Some(_)) => match &auth_code {
            Some(code) => pay_type_of_code(code),
            None => {
                return Err(FieldError::new(
                    field::AUTH_CODE,
                    "is required by scene micropay and face",
                ))
            }
        },
        (PayType::AlipayMicropay, Some(PayScene::Face)) => pay_type,
        // The wallet's pay code is a micropay too.
        (PayType::Wallet, Some(PayScene::Micropay)) => pay_type,
        (_, Some(PayScene::Face | PayScene::Cashier)) => return Err(unfit()),
        (_, Some(PayScene::Micropay)) if pay_type.flow() != PayFlow::PayCode => return Err(unfit()),
        (_, Some(PayScene::Native))
            if pay_type.flow()
                != paygate_domain::PayFlow::Prepare(paygate_domain::Scene::Native) =>
        {
            return Err(unfit())
        }
        _ => pay_type,
    };
    Ok((resolved, scene, auth_code))
}

impl CreateOrder {
    /// A wallet order with no optional fields set.
    pub fn new(
        out_trade_no: OutTradeNo,
        amount: Money,
        subject: impl Into<String>,
        notify_url: impl Into<String>,
    ) -> CreateOrder {
        CreateOrder {
            out_trade_no,
            amount,
            subject: subject.into(),
            body: None,
            pay_type: PayType::Wallet,
            notify_url: notify_url.into(),
            return_url: None,
            attach: None,
            expire_time: None,
            buyer_id: None,
            auth_code: None,
            openid: None,
            client_ip: None,
            scene: None,
            disable_credit: false,
            split: None,
        }
    }
}

/// `auth_code`, the payer's pay code: its shape is checked here (1001), its validity by the
/// wallet that issued it (1011).
fn pay_code(f: &Fields<'_>) -> Result<Option<AuthCode>, FieldError> {
    f.text(field::AUTH_CODE, 32)?
        .map(|text| {
            AuthCode::parse(text).map_err(|e| FieldError::new(field::AUTH_CODE, e.to_string()))
        })
        .transpose()
}

/// `expire_time`, which must lie between one minute and seven days after `now_secs`.
fn expire_time(f: &Fields<'_>, now_secs: i64) -> Result<Option<DateTime<Utc>>, FieldError> {
    let Some(at) = f.integer(field::EXPIRE_TIME)? else {
        return Ok(None);
    };
    let refused = || {
        FieldError::new(
            field::EXPIRE_TIME,
            "must be Unix seconds between 1 minute and 7 days from now",
        )
    };
    if at < now_secs + EXPIRE_SECS_MIN || at > now_secs + EXPIRE_SECS_MAX {
        return Err(refused());
    }
    DateTime::from_timestamp(at, 0)
        .map(Some)
        .ok_or_else(refused)
}

impl ApiRequest for CreateOrder {
    const PATH: &'static str = paths::CREATE;

    fn parse(fields: &Map<String, Value>, now_secs: i64) -> Result<CreateOrder, FieldError> {
        let f = Fields(fields);
        let out_trade_no = f
            .id(field::OUT_TRADE_NO, OutTradeNo::parse)?
            .ok_or_else(|| FieldError::new(field::OUT_TRADE_NO, "is required"))?;
        let currency = f.currency()?;
        let amount = f.money(field::TOTAL_AMOUNT, currency)?;
        let subject = f.required(field::SUBJECT, SUBJECT_CHARS_MAX)?.to_owned();
        let pay_type = f
            .required(field::PAY_TYPE, 32)?
            .parse::<PayType>()
            .map_err(|e| FieldError::new(field::PAY_TYPE, e))?;
        let notify_url = f
            .url(field::NOTIFY_URL)?
            .ok_or_else(|| FieldError::new(field::NOTIFY_URL, "is required"))?;
        let expire_time = expire_time(&f, now_secs)?;
        let (pay_type, scene, auth_code) = resolve_scene(&f, pay_type)?;
        Ok(CreateOrder {
            out_trade_no,
            amount,
            subject,
            body: f.text(field::BODY, BODY_CHARS_MAX)?.map(str::to_owned),
            pay_type,
            notify_url,
            return_url: f.url(field::RETURN_URL)?,
            attach: f.text(field::ATTACH, ATTACH_CHARS_MAX)?.map(str::to_owned),
            expire_time,
            buyer_id: f.id(field::BUYER_ID, WalletAccountId::parse)?,
            auth_code,
            openid: f.text(field::OPENID, OPENID_CHARS_MAX)?.map(str::to_owned),
            client_ip: client_ip(&f)?,
            scene,
            disable_credit: f.boolean(field::DISABLE_CREDIT)?.unwrap_or(false),
            split: crate::split_rules::read(&f, currency)?,
        })
    }

    fn to_fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert(
            field::OUT_TRADE_NO.into(),
            self.out_trade_no.as_str().into(),
        );
        fields.insert(
            field::TOTAL_AMOUNT.into(),
            self.amount.to_major_string().into(),
        );
        fields.insert(field::CURRENCY.into(), self.amount.currency.as_str().into());
        fields.insert(field::SUBJECT.into(), self.subject.as_str().into());
        insert_opt(&mut fields, field::BODY, self.body.as_deref());
        fields.insert(field::PAY_TYPE.into(), self.pay_type.as_str().into());
        fields.insert(field::NOTIFY_URL.into(), self.notify_url.as_str().into());
        insert_opt(&mut fields, field::RETURN_URL, self.return_url.as_deref());
        insert_opt(&mut fields, field::ATTACH, self.attach.as_deref());
        if let Some(at) = self.expire_time {
            fields.insert(field::EXPIRE_TIME.into(), at.timestamp().into());
        }
        let buyer_id = self.buyer_id.as_ref().map(WalletAccountId::as_str);
        insert_opt(&mut fields, field::BUYER_ID, buyer_id);
        insert_opt(
            &mut fields,
            field::AUTH_CODE,
            self.auth_code.as_ref().map(AuthCode::as_str),
        );
        insert_opt(&mut fields, field::OPENID, self.openid.as_deref());
        if let Some(ip) = self.client_ip {
            fields.insert(field::CLIENT_IP.into(), ip.to_string().into());
        }
        insert_opt(&mut fields, field::SCENE, self.scene.map(PayScene::as_str));
        if self.disable_credit {
            fields.insert(field::DISABLE_CREDIT.into(), true.into());
        }
        if let Some(split) = &self.split {
            crate::split_rules::write(&mut fields, split, self.amount.currency);
        }
        fields
    }
}

/// `client_ip`, an IPv4 or IPv6 address in its usual text form.
fn client_ip(f: &Fields<'_>) -> Result<Option<IpAddr>, FieldError> {
    f.text(field::CLIENT_IP, 45)?
        .map(|text| {
            text.parse::<IpAddr>()
                .map_err(|_| FieldError::new(field::CLIENT_IP, "must be an IPv4 or IPv6 address"))
        })
        .transpose()
}

fn create_fields() -> Schema {
    let url = |what: &str| string(URL, (9, URL_CHARS_MAX), what);
    let mut properties = vec![
        (
            field::OUT_TRADE_NO,
            string(OUT_NO, (1, TEXT_CHARS_MAX_ID), "The idempotency key.").into(),
        ),
        (
            field::TOTAL_AMOUNT,
            amount("Decimal string in the major unit, e.g. \"0.01\"; see the currency rules.")
                .into(),
        ),
        (
            field::CURRENCY,
            one_of_values(&["CNY", "HKD", "USD", "JPY"], "Default CNY.").into(),
        ),
        (
            field::SUBJECT,
            text(SUBJECT_CHARS_MAX, "What is paid for.").into(),
        ),
        (
            field::BODY,
            text(BODY_CHARS_MAX, "A longer description.").into(),
        ),
        (
            field::PAY_TYPE,
            one_of_values(&PayType::ALL.map(PayType::as_str), "The payment method.").into(),
        ),
        (
            field::NOTIFY_URL,
            url("Where the payment notification is sent.").into(),
        ),
        (
            field::RETURN_URL,
            url("Where the cashier sends the payer afterwards.").into(),
        ),
        (
            field::ATTACH,
            text(ATTACH_CHARS_MAX, "Echoed in notifications.").into(),
        ),
        (
            field::EXPIRE_TIME,
            integer_or_digits(&format!(
                "Unix seconds, between {EXPIRE_SECS_MIN} s and {EXPIRE_SECS_MAX} s (7 days) \
                     after the request; default 30 minutes after creation."
            ))
            .into(),
        ),
        (
            field::BUYER_ID,
            string(
                OUT_NO,
                (1, TEXT_CHARS_MAX_ID),
                "A wallet account the merchant knows the payer by. Recorded only: it never \
                     charges. For alipay_jsapi (required) the payer's Alipay user id (buyer_id \
                     or open_id), whom the trade is opened for.",
            )
            .into(),
        ),
        (
            field::AUTH_CODE,
            string(
                PAY_CODE,
                (1, 128),
                "The payer's one-time pay code (micropay, B scans C): 18 digits starting 88, \
                     issued by the payer's wallet and valid 60 s. With pay_type=wallet the order \
                     is charged at once; an unknown, expired or already used code answers 1011. \
                     Other wallets' codes go to the wallet that issued them: WeChat Pay's are 18 \
                     digits starting 10-15, Alipay's 16-24 digits starting 25-30, UnionPay's 19 \
                     digits starting 62; with scene=face, an Alipay face SDK's code. Required by \
                     the micropay pay types; each branch below states its shape.",
            )
            .into(),
        ),
        (
            field::OPENID,
            text(
                OPENID_CHARS_MAX,
                "The payer's openid under the channel's app; required by wechat_jsapi.",
            )
            .into(),
        ),
        (
            field::SCENE,
            one_of_values(
                &PayScene::ALL.map(PayScene::as_str),
                "How the payer is present. With pay_type auto: none or cashier (a cashier \
                     order: no channel trade is opened; pay_url is our hosted cashier, where \
                     the payer chooses among the merchant's ways that fit their device), \
                     micropay (the pay code in auth_code picks the channel), face (auth_code is \
                     an Alipay face SDK's code; the order becomes alipay_micropay) or native (an \
                     aggregated QR code whose content is the cashier link; the payer's app picks \
                     the way). Optional with the micropay pay types (micropay; alipay_micropay \
                     also face) and the native ones (native); refused with any other pay type.",
            )
            .into(),
        ),
        (
            field::CLIENT_IP,
            string(
                IPV4,
                (7, 45),
                "The payer's device IP address (for wechat_micropay the cashier terminal's); \
                     required by wechat_h5 and wechat_micropay. IPv4 as the pattern says, or \
                     IPv6 in its usual text form.",
            )
            .into(),
        ),
        (
            field::DISABLE_CREDIT,
            boolean(
                "true hides credit from the payer: no installments or credit in the \
                     cashier, and Alipay is told disable_pay_channels=credit_group. Default \
                     false. Part of the order: a retry must send the same value.",
            )
            .into(),
        ),
    ];
    properties.extend(crate::split_rules::create_properties());
    object(
        properties,
        &[
            field::OUT_TRADE_NO,
            field::TOTAL_AMOUNT,
            field::SUBJECT,
            field::PAY_TYPE,
            field::NOTIFY_URL,
        ],
    )
}

/// The currencies each pay type's channel accepts (`ChannelInfo::currencies`); anything else
/// is refused with 1001 naming `currency`.
const PAY_TYPE_CURRENCIES: &[(PayType, &[&str])] = &[
    (PayType::Wallet, &["CNY"]),
    (PayType::WechatJsapi, &["CNY"]),
    (PayType::WechatNative, &["CNY"]),
    (PayType::WechatH5, &["CNY"]),
    (PayType::WechatApp, &["CNY"]),
    (PayType::WechatMicropay, &["CNY"]),
    (PayType::AlipayNative, &["CNY"]),
    (PayType::AlipayJsapi, &["CNY"]),
    (PayType::AlipayH5, &["CNY"]),
    (PayType::AlipayPc, &["CNY"]),
    (PayType::AlipayApp, &["CNY"]),
    (PayType::AlipayMicropay, &["CNY"]),
    (PayType::UnionpayWeb, &["CNY"]),
    (PayType::UnionpayH5, &["CNY"]),
    (PayType::UnionpayApp, &["CNY"]),
    (PayType::UnionpayNative, &["CNY"]),
    (PayType::UnionpayMicropay, &["CNY"]),
    (PayType::Auto, &["CNY"]),
];

/// The fields a pay type's scenario cannot do without: stated in the document's branch for the
/// pay type and checked by the app, from this one table.
pub fn required_by(pay_type: PayType) -> &'static [&'static str] {
    match pay_type {
        PayType::WechatMicropay => &[field::AUTH_CODE, field::CLIENT_IP],
        PayType::WechatJsapi => &[field::OPENID],
        PayType::WechatH5 => &[field::CLIENT_IP],
        PayType::AlipayMicropay | PayType::UnionpayMicropay => &[field::AUTH_CODE],
        PayType::AlipayJsapi => &[field::BUYER_ID],
        _ => &[],
    }
}

const WALLET_CODE: &str = "^88[0-9]{16}$";
const WECHAT_CODE: &str = "^1[0-5][0-9]{16}$";
const ALIPAY_CODE: &str = "^(2[5-9]|30)[0-9]{14,22}$";
const UNIONPAY_CODE: &str = "^62[0-9]{17}$";
const ANY_WALLETS_CODE: &str =
    "^(88[0-9]{16}|1[0-5][0-9]{16}|(2[5-9]|30)[0-9]{14,22}|62[0-9]{17})$";
const FACE_CODE: &str = "^[0-9A-Za-z_-]{1,128}$";

/// One way a pay type is asked for: the `scene` values it takes (none: `scene` is not taken),
/// whether `scene` must be sent, the `auth_code` it takes, and what else it requires.
struct Way {
    scenes: &'static [&'static str],
    scene_required: bool,
    code: (&'static str, (usize, usize), &'static str),
    required: &'static [&'static str],
}

const NO_CODE: (&str, (usize, usize), &str) = ("^$", (0, 0), "Not taken by this pay type.");

/// The ways of each pay type, each a branch of the document: exactly one holds for a request.
fn ways_of(pay_type: PayType) -> Vec<Way> {
    let way = |scenes, code| Way {
        scenes,
        scene_required: false,
        code,
        required: required_by(pay_type),
    };
    match pay_type {
        PayType::Wallet => vec![way(
            &["micropay"],
            (WALLET_CODE, (18, 18), "The platform wallet's pay code."),
        )],
        PayType::WechatMicropay => vec![way(
            &["micropay"],
            (
                WECHAT_CODE,
                (18, 18),
                "The payer's WeChat pay code (required).",
            ),
        )],
        PayType::UnionpayMicropay => vec![way(
            &["micropay"],
            (
                UNIONPAY_CODE,
                (19, 19),
                "The payer's UnionPay pay code (required).",
            ),
        )],
        PayType::AlipayMicropay => vec![
            way(
                &["micropay"],
                (
                    ALIPAY_CODE,
                    (16, 24),
                    "The payer's Alipay pay code (required).",
                ),
            ),
            Way {
                scenes: &["face"],
                scene_required: true,
                code: (
                    FACE_CODE,
                    (1, 128),
                    "The Alipay face SDK's code (required).",
                ),
                required: &[field::AUTH_CODE],
            },
        ],
        PayType::Auto => vec![
            Way {
                scenes: &["cashier"],
                scene_required: false,
                code: NO_CODE,
                required: &[],
            },
            Way {
                scenes: &["native"],
                scene_required: true,
                code: NO_CODE,
                required: &[],
            },
            Way {
                scenes: &["micropay"],
                scene_required: true,
                code: (
                    ANY_WALLETS_CODE,
                    (16, 24),
                    "Any wallet's pay code, which picks the channel (required).",
                ),
                // WeChat Pay's micropay needs the terminal's address.
                required: &[field::AUTH_CODE, field::CLIENT_IP],
            },
            Way {
                scenes: &["face"],
                scene_required: true,
                code: (
                    FACE_CODE,
                    (1, 128),
                    "The Alipay face SDK's code (required).",
                ),
                required: &[field::AUTH_CODE],
            },
        ],
        _ if pay_type.flow() == PayFlow::Prepare(Scene::Native) => vec![way(&["native"], NO_CODE)],
        _ => vec![way(&[], NO_CODE)],
    }
}

fn scene_of(way: &Way) -> Schema {
    if way.scenes.is_empty() {
        // Empty counts as absent, as for every optional field.
        one_of_values(&[""], "Not taken by this pay type.").into()
    } else {
        one_of_values(way.scenes, "Taken with this pay type.").into()
    }
}

/// Which currencies go with which pay type, and the amount's decimals with the currency: two
/// for CNY (the default), HKD and USD, none for JPY. Exactly one branch holds for any request.
fn amount_by_pay_type_and_currency() -> Schema {
    let mut branches = OneOfBuilder::new();
    for (pay_type, accepted) in PAY_TYPE_CURRENCIES {
        let groups: [(&[&str], &str, &str); 2] = [
            (&["CNY", "HKD", "USD"], AMOUNT_CENTS, "Up to two decimals."),
            (&["JPY"], AMOUNT_WHOLE, "A whole number."),
        ];
        for (group, pattern, description) in groups {
            let currencies: Vec<&str> = group
                .iter()
                .copied()
                .filter(|c| accepted.contains(c))
                .collect();
            if currencies.is_empty() {
                continue;
            }
            for way in ways_of(*pay_type) {
                let (code_pattern, code_length, code_description) = way.code;
                let mut branch = ObjectBuilder::new()
                    .property(
                        field::PAY_TYPE,
                        one_of_values(&[pay_type.as_str()], "This pay type."),
                    )
                    .property(
                        field::CURRENCY,
                        one_of_values(&currencies, "Accepted with it."),
                    )
                    .property(
                        field::TOTAL_AMOUNT,
                        string(pattern, (1, AMOUNT_CHARS_MAX), description),
                    )
                    .property(
                        field::AUTH_CODE,
                        string(code_pattern, code_length, code_description),
                    )
                    .property(field::SCENE, scene_of(&way))
                    .required(field::PAY_TYPE);
                if !currencies.contains(&"CNY") {
                    branch = branch.required(field::CURRENCY);
                }
                if way.scene_required {
                    branch = branch.required(field::SCENE);
                }
                for name in way.required {
                    branch = branch.required(*name);
                }
                branches = branches.item(branch);
            }
        }
    }
    branches.into()
}

request_schema!(
    CreateOrder,
    "CreateOrderRequest",
    [crate::envelope::SignedFields],
    AllOfBuilder::new()
        .item(Ref::from_schema_name("SignedFields"))
        .item(create_fields())
        .item(amount_by_pay_type_and_currency())
        .item(crate::split_rules::create_branches())
        .into()
);

#[cfg(test)]
#[path = "create_tests.rs"]
mod tests;
