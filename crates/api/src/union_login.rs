//! `POST /api/union-login` (seed 000 §三): the partner names its user (the phone number only as
//! its MD5) and gets back a cashier login link encrypted with the merchant's union-login key.

use crate::envelope::success_schema;
use crate::field;
use crate::fields::{serde_via_fields, Answer, Fields};
use crate::schema::{int_prop, object, request_schema, string, text, text_prop, OUT_NO};
use crate::{paths, ApiRequest, DecodeError, FieldError};
use paygate_domain::union_login::{PhoneMd5, TICKET_TTL_SECS};
use paygate_domain::OutTradeNo;
use serde_json::{Map, Value};
use std::borrow::Cow;
use utoipa::openapi::schema::{AllOfBuilder, Ref, Schema};
use utoipa::openapi::RefOr;

pub const PARTNER_USER_ID: &str = "partner_user_id";
pub const PHONE_MD5: &str = "phone_md5";
pub const NICKNAME: &str = "nickname";
pub const ENCRYPTED_URL: &str = "encrypted_url";
pub const EXPIRES_IN: &str = "expires_in";

pub const PARTNER_USER_ID_CHARS_MAX: usize = 64;
pub const NICKNAME_CHARS_MAX: usize = 64;

/// How a partner opens `encrypted_url`; the operation's documentation repeats it.
pub const DECRYPTION: &str = "encrypted_url is base64 (standard alphabet, with padding) of \
    nonce || ciphertext || tag: a 12-byte nonce, then the AES-256-GCM ciphertext of the login \
    URL (UTF-8), then the 16-byte tag, with no associated data. The key is the merchant's \
    union-login key, 32 bytes given to the merchant as 64 hex characters (`paygate merchant \
    union-login-key <merchant_id>`). Decrypt, check the tag, and redirect the user's browser to \
    the URL (`<public_url>/cashier/login?ticket=...`). The ticket is single use and expires \
    after expires_in seconds (300).";

/// The partner's user to log into the cashier, and optionally the order to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnionLogin {
    pub partner_user_id: String,
    pub phone_md5: PhoneMd5,
    pub nickname: Option<String>,
    pub out_trade_no: Option<OutTradeNo>,
}

impl ApiRequest for UnionLogin {
    const PATH: &'static str = paths::UNION_LOGIN;

    fn parse(fields: &Map<String, Value>, _now_secs: i64) -> Result<Self, FieldError> {
        let f = Fields(fields);
        let partner_user_id = f
            .required(PARTNER_USER_ID, PARTNER_USER_ID_CHARS_MAX)?
            .to_owned();
        let phone_md5 = PhoneMd5::parse(f.required(PHONE_MD5, 32)?)
            .map_err(|e| FieldError::new(PHONE_MD5, e.to_string()))?;
        let nickname = f.text(NICKNAME, NICKNAME_CHARS_MAX)?.map(str::to_owned);
        let out_trade_no = f.id(field::OUT_TRADE_NO, OutTradeNo::parse)?;
        Ok(UnionLogin {
            partner_user_id,
            phone_md5,
            nickname,
            out_trade_no,
        })
    }

    fn to_fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert(PARTNER_USER_ID.into(), self.partner_user_id.clone().into());
        fields.insert(PHONE_MD5.into(), self.phone_md5.as_str().into());
        if let Some(nickname) = &self.nickname {
            fields.insert(NICKNAME.into(), nickname.clone().into());
        }
        if let Some(number) = &self.out_trade_no {
            fields.insert(field::OUT_TRADE_NO.into(), number.as_str().into());
        }
        fields
    }
}

request_schema!(
    UnionLogin,
    "UnionLoginRequest",
    [crate::envelope::SignedFields],
    AllOfBuilder::new()
        .item(Ref::from_schema_name("SignedFields"))
        .item(object(
            vec![
                (
                    PARTNER_USER_ID,
                    text(
                        PARTNER_USER_ID_CHARS_MAX,
                        "The user's id at the partner (1-64 characters); the same id is the \
                         same payer and wallet account, per merchant."
                    )
                    .into()
                ),
                (
                    PHONE_MD5,
                    string(
                        "^[0-9a-f]{32}$",
                        (32, 32),
                        "MD5 of the user's phone number as 32 lowercase hex characters; never \
                         the number itself."
                    )
                    .into()
                ),
                (
                    NICKNAME,
                    text(NICKNAME_CHARS_MAX, "The user's display name (optional).").into()
                ),
                (
                    field::OUT_TRADE_NO,
                    string(
                        OUT_NO,
                        (1, crate::schema::TEXT_CHARS_MAX_ID),
                        "An order of this merchant to open in the cashier after login \
                         (optional; another merchant's or an unknown number answers 1003)."
                    )
                    .into()
                ),
            ],
            &[PARTNER_USER_ID, PHONE_MD5]
        ))
        .into()
);

/// The encrypted login link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnionLoginView {
    pub encrypted_url: String,
    pub expires_in: i64,
}

impl UnionLoginView {
    pub fn to_fields(&self) -> Map<String, Value> {
        let mut view = Map::new();
        view.insert(ENCRYPTED_URL.into(), self.encrypted_url.clone().into());
        view.insert(EXPIRES_IN.into(), self.expires_in.into());
        view
    }

    pub fn from_fields(body: Map<String, Value>) -> Result<UnionLoginView, DecodeError> {
        let fields = Answer(&body);
        Ok(UnionLoginView {
            encrypted_url: fields.parse(ENCRYPTED_URL, |t| Ok::<_, String>(t.to_owned()))?,
            expires_in: fields.parse(EXPIRES_IN, str::parse::<i64>)?,
        })
    }
}

serde_via_fields!(UnionLoginView);

impl utoipa::PartialSchema for UnionLoginView {
    fn schema() -> RefOr<Schema> {
        success_schema(vec![
            text_prop(ENCRYPTED_URL, Some(DECRYPTION)),
            int_prop(
                EXPIRES_IN,
                Some("Seconds the login link's ticket stays valid: 300."),
            ),
        ])
    }
}

impl utoipa::ToSchema for UnionLoginView {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("UnionLoginResponse")
    }
}

const _: () = assert!(TICKET_TTL_SECS == 300, "DECRYPTION states 300 seconds");

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(body: Value) -> Result<UnionLogin, FieldError> {
        UnionLogin::parse(body.as_object().unwrap(), 0)
    }

    #[test]
    fn a_login_round_trips_through_the_wire() {
        let login = UnionLogin {
            partner_user_id: "user-42".into(),
            phone_md5: PhoneMd5::parse("0123456789abcdef0123456789abcdef").unwrap(),
            nickname: Some("小明".into()),
            out_trade_no: Some(OutTradeNo::parse("ORDER-1").unwrap()),
        };
        assert_eq!(UnionLogin::parse(&login.to_fields(), 0).unwrap(), login);
    }

    #[test]
    fn bad_fields_are_refused_naming_them() {
        let md5 = "0123456789abcdef0123456789abcdef";
        let cases = [
            (json!({"phone_md5": md5}), PARTNER_USER_ID),
            (
                json!({"partner_user_id": "x".repeat(65), "phone_md5": md5}),
                PARTNER_USER_ID,
            ),
            (json!({"partner_user_id": "u"}), PHONE_MD5),
            (
                json!({"partner_user_id": "u", "phone_md5": "13800138000"}),
                PHONE_MD5,
            ),
            (
                json!({"partner_user_id": "u", "phone_md5": md5.to_uppercase()}),
                PHONE_MD5,
            ),
            (
                json!({"partner_user_id": "u", "phone_md5": md5, "out_trade_no": "a b"}),
                field::OUT_TRADE_NO,
            ),
        ];
        for (body, named) in cases {
            assert_eq!(parse(body.clone()).unwrap_err().field, named, "{body}");
        }
    }
}
