//! Union login and the payer's cashier session (seed 000 §三, DESIGN §3 payer consent): the
//! partner asks for an encrypted login link for its user; the link's one-time ticket opens a
//! short session bound to the user's wallet account and the merchant; in that session the payer
//! pays an order from the wallet by typing the pay password, which issues a one-time pay code
//! for the account and charges through the wallet channel like any pay-code payment.

use crate::{App, AppError, MerchantKeys};
use paygate_api::union_login::UnionLogin;
use paygate_channels::Payer;
use paygate_domain::union_login::{
    LoginTicket, PayPassword, SessionToken, UnionLoginKey, PAY_LOCK_SECS,
    PAY_PASSWORD_FAILURES_MAX, SESSION_TTL_SECS, TICKET_TTL_SECS,
};
use paygate_domain::{Amount, OrderRecord, PayType, TradeNo, WalletAccountId};
pub use paygate_store::{CashierGrant, TicketRefusal};
use paygate_store::{NewTicket, OrderRef, Store, UnionUserLogin};
use rand::distributions::{Alphanumeric, DistString};

/// The login link, encrypted for the partner, and how long its ticket lasts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnionLoginLink {
    pub encrypted_url: String,
    pub expires_in_secs: i64,
}

/// A session just opened by a ticket: the cookie's token and where the payer goes.
#[derive(Debug, Clone)]
pub struct CashierLogin {
    pub token: SessionToken,
    pub trade_no: Option<TradeNo>,
}

/// A live cashier session.
#[derive(Debug, Clone)]
pub struct CashierSession {
    pub token: SessionToken,
    pub grant: CashierGrant,
}

/// Why a wallet payment in the cashier was not made; nothing was charged in any case.
#[derive(Debug)]
pub enum WalletPayRefusal {
    /// The order is not this session's merchant's, is paid, closed, expired, or not payable
    /// from the wallet.
    NotPayable(String),
    NoPassword,
    WrongPassword,
    Locked {
        until_ms: i64,
    },
    InsufficientBalance,
    Failed(AppError),
}

impl From<AppError> for WalletPayRefusal {
    fn from(error: AppError) -> Self {
        WalletPayRefusal::Failed(error)
    }
}

/// A fresh account id for a partner's user: `ul` and 30 random letters and digits.
fn mint_account() -> WalletAccountId {
    let random = Alphanumeric.sample_string(&mut rand::thread_rng(), 30);
    WalletAccountId::parse(&format!("ul{random}")).expect("a minted account id is valid")
}

impl App {
    /// The merchant's union-login key, created on first use (merchants made before union login
    /// get theirs here). This is what the merchant is given to decrypt links with.
    pub async fn union_login_key(
        &self,
        merchant: &paygate_domain::MerchantId,
    ) -> Result<UnionLoginKey, AppError> {
        let owner = Store::union_login_key_owner(merchant);
        let candidate = self
            .inner
            .master_key
            .seal(&UnionLoginKey::generate().to_hex(), &owner);
        let sealed = self
            .store()
            .union_login_key_or_insert(merchant, &candidate)
            .await?
            .ok_or_else(|| AppError::param("merchant_id", "unknown merchant"))?;
        let hex = self.inner.master_key.unseal(&sealed, &owner)?;
        UnionLoginKey::from_hex(&hex).map_err(|e| AppError::Internal(e.into()))
    }

    /// `POST /api/union-login`: binds the partner's user to a wallet account and answers a
    /// login link encrypted with the merchant's key. A named order must be the merchant's own.
    pub async fn union_login(
        &self,
        merchant: &MerchantKeys,
        request: &UnionLogin,
    ) -> Result<UnionLoginLink, AppError> {
        let trade_no = match &request.out_trade_no {
            Some(number) => Some(
                self.find_order(merchant, &OrderRef::OutTradeNo(number.clone()))
                    .await?
                    .trade_no,
            ),
            None => None,
        };
        let now = self.clock().now_ms();
        let account = self
            .store()
            .union_user_login(&UnionUserLogin {
                merchant: &merchant.record.id,
                partner_user_id: &request.partner_user_id,
                phone_md5: request.phone_md5.as_str(),
                nickname: request.nickname.as_deref(),
                new_account: &mint_account(),
                at_ms: now,
            })
            .await?;
        let ticket = LoginTicket::mint();
        self.store()
            .insert_cashier_ticket(&NewTicket {
                ticket_sha256: &ticket.digest(),
                merchant: &merchant.record.id,
                account: &account,
                trade_no: trade_no.as_ref(),
                at_ms: now,
                expires_at_ms: now + TICKET_TTL_SECS * 1000,
            })
            .await?;
        let url = format!(
            "{}/cashier/login?ticket={}",
            self.settings().public_url,
            ticket.as_str()
        );
        let key = self.union_login_key(&merchant.record.id).await?;
        Ok(UnionLoginLink {
            encrypted_url: key.encrypt(&url),
            expires_in_secs: TICKET_TTL_SECS,
        })
    }

    /// Uses a login ticket up and opens a session. Unknown, expired and used tickets are
    /// refused, saying which.
    pub async fn cashier_login(
        &self,
        ticket: &LoginTicket,
    ) -> Result<Result<CashierLogin, TicketRefusal>, AppError> {
        let now = self.clock().now_ms();
        let grant = match self
            .store()
            .consume_cashier_ticket(&ticket.digest(), now)
            .await?
        {
            Ok(grant) => grant,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let token = SessionToken::mint();
        self.store()
            .insert_cashier_session(&token.digest(), &grant, now, now + SESSION_TTL_SECS * 1000)
            .await?;
        Ok(Ok(CashierLogin {
            token,
            trade_no: grant.trade_no,
        }))
    }

    /// The live session a cookie's token names, if any.
    pub async fn cashier_session(
        &self,
        presented: &str,
    ) -> Result<Option<CashierSession>, AppError> {
        let Some(token) = SessionToken::presented(presented) else {
            return Ok(None);
        };
        let now = self.clock().now_ms();
        let grant = self.store().cashier_session(&token.digest(), now).await?;
        Ok(grant.map(|grant| CashierSession { token, grant }))
    }

    /// The session's wallet balance.
    pub async fn session_balance(&self, session: &CashierSession) -> Result<Amount, AppError> {
        Ok(self
            .store()
            .wallet_balance(&session.grant.account)
            .await?
            .unwrap_or(Amount::ZERO))
    }

    pub async fn has_pay_password(&self, session: &CashierSession) -> Result<bool, AppError> {
        let state = self
            .store()
            .pay_password_state(&session.grant.account)
            .await?;
        Ok(state.is_some_and(|s| s.hash.is_some()))
    }

    /// Sets the account's first pay password. False when it already has one.
    pub async fn set_pay_password(
        &self,
        session: &CashierSession,
        password: PayPassword,
    ) -> Result<bool, AppError> {
        let hash = tokio::task::spawn_blocking(move || password.hash())
            .await
            .map_err(|e| AppError::Internal(e.into()))?;
        Ok(self
            .store()
            .set_pay_password_if_absent(&session.grant.account, &hash, self.clock().now_ms())
            .await?)
    }

    /// The order as the session may pay it from the wallet: the session's merchant's, unpaid,
    /// unexpired, and a wallet order or a cashier (`auto`) order whose merchant enabled the
    /// wallet and whose way is not yet another.
    pub async fn wallet_payable_order(
        &self,
        session: &CashierSession,
        trade_no: &TradeNo,
    ) -> Result<Result<OrderRecord, WalletPayRefusal>, AppError> {
        let not_payable = |why: &str| Ok(Err(WalletPayRefusal::NotPayable(why.to_owned())));
        let Some(order) = self.store().get_order(trade_no).await? else {
            return not_payable("no such order");
        };
        if order.merchant_id != session.grant.merchant {
            return not_payable("no such order");
        }
        if !order.status.is_unpaid_open() {
            return not_payable("the order is no longer waiting for payment");
        }
        if order.expire_at_ms <= self.clock().now_ms() {
            return not_payable("the order has expired");
        }
        let merchant = self.get_merchant(&order.merchant_id).await?;
        let enabled = merchant.is_some_and(|m| m.pay_types.contains(&PayType::Wallet));
        let wallet_way = match order.pay_type {
            PayType::Wallet => true,
            PayType::Auto => {
                enabled
                    && order
                        .chosen_pay_type
                        .is_none_or(|way| way == PayType::Wallet)
            }
            _ => false,
        };
        if !wallet_way {
            return not_payable("the order cannot be paid from the wallet");
        }
        Ok(Ok(order))
    }

    /// Checks the pay password against the lock and the stored hash, counting a wrong one.
    async fn check_pay_password(
        &self,
        account: &WalletAccountId,
        password: Option<PayPassword>,
    ) -> Result<(), WalletPayRefusal> {
        let now = self.clock().now_ms();
        let state = self
            .store()
            .pay_password_state(account)
            .await
            .map_err(AppError::from)?
            .ok_or(WalletPayRefusal::NoPassword)?;
        if let Some(until_ms) = state.locked_until_ms.filter(|until| *until > now) {
            return Err(WalletPayRefusal::Locked { until_ms });
        }
        let hash = state.hash.ok_or(WalletPayRefusal::NoPassword)?;
        let right = match password {
            Some(password) => tokio::task::spawn_blocking(move || password.verify(&hash))
                .await
                .map_err(|e| AppError::Internal(e.into()))?,
            None => false,
        };
        if right {
            self.store()
                .reset_pay_password_failures(account)
                .await
                .map_err(AppError::from)?;
            return Ok(());
        }
        let lock_until = now + PAY_LOCK_SECS * 1000;
        let locked = self
            .store()
            .record_pay_password_failure(account, PAY_PASSWORD_FAILURES_MAX, lock_until)
            .await
            .map_err(AppError::from)?;
        match locked {
            Some(until_ms) if until_ms > now => Err(WalletPayRefusal::Locked { until_ms }),
            _ => Err(WalletPayRefusal::WrongPassword),
        }
    }

    /// Pays `trade_no` from the session's wallet on the payer's pay password. The account
    /// issues a one-time pay code and the wallet channel charges with it, exactly as a pay code
    /// shown at a counter would; an `auto` order records the wallet as its way first.
    pub async fn pay_from_wallet(
        &self,
        session: &CashierSession,
        trade_no: &TradeNo,
        password: Option<PayPassword>,
    ) -> Result<OrderRecord, WalletPayRefusal> {
        let order = self.wallet_payable_order(session, trade_no).await??;
        let account = &session.grant.account;
        self.check_pay_password(account, password).await?;
        let order = if order.pay_type == PayType::Auto && order.chosen_pay_type.is_none() {
            let now = self.clock().now_ms();
            self.store()
                .choose_pay_type(trade_no, PayType::Wallet, now)
                .await
                .map_err(AppError::from)?;
            let order = self.reload(trade_no).await?;
            if order.chosen_pay_type != Some(PayType::Wallet) || !order.status.is_unpaid_open() {
                return Err(WalletPayRefusal::NotPayable(
                    "the order is being paid another way".into(),
                ));
            }
            order
        } else {
            order
        };
        let channel = self
            .channel(PayType::Wallet)
            .ok_or_else(|| AppError::pay_type_not_enabled(PayType::Wallet))?
            .clone();
        let code = self.issue_pay_code(account).await?.code;
        match self
            .charge_now(channel, order, Payer::AuthCode(code), None)
            .await
        {
            Ok(order) => Ok(order),
            Err(AppError::InsufficientBalance) => Err(WalletPayRefusal::InsufficientBalance),
            Err(other) => Err(WalletPayRefusal::Failed(other)),
        }
    }
}
