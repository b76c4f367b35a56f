//! Trades the payer completes on their own device (DESIGN §6): the scenario a merchant asks
//! for and what the channel hands back to start it.

use paygate_domain::{MerchantId, Money, TradeNo};

/// Where the payer will pay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scenario {
    /// Inside the wallet's app (official account page, mini program, life page), as the payer's
    /// id there: WeChat's `openid` of the channel's app, Alipay's `buyer_id`.
    Jsapi { openid: String },
    /// A QR code the payer scans (C scans B).
    Native,
    /// A mobile browser outside the wallet's app, redirected into it.
    H5,
    /// The merchant's own app, through the wallet's SDK.
    App,
    /// A desktop browser sent to the channel's payment page (Alipay `page.pay`, UnionPay
    /// front consume).
    Web,
}

#[derive(Debug, Clone)]
pub struct PrepareRequest {
    pub trade_no: TradeNo,
    pub merchant_id: MerchantId,
    pub money: Money,
    pub subject: String,
    pub scenario: Scenario,
    /// The order's deadline; the channel's trade expires with it.
    pub expire_at_ms: i64,
    /// The payer's device address as the merchant reported it (required by H5).
    pub client_ip: Option<String>,
    /// Where the channel sends its payment callback (ours, `/callback/{channel}/pay`).
    pub notify_url: String,
    /// Where the channel's payment page sends the payer's browser afterwards (H5, Web), if the
    /// merchant gave one.
    pub return_url: Option<String>,
    /// What the payer chose in our cashier beyond the way: installments, and whether the
    /// merchant ruled credit out.
    pub payer_options: PayerOptions,
}

/// Whether the payer may pay on credit (credit cards, Huabei).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Credit {
    #[default]
    Allowed,
    /// The merchant's `disable_credit`: told to every channel whose protocol can say it.
    Disabled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PayerOptions {
    /// The number of installments the payer chose up front (one of the channel's
    /// `ChannelRules::installments`).
    pub installments: Option<u32>,
    pub credit: Credit,
}

/// What the merchant's page or app needs to start the payment.
pub use paygate_domain::PayData as Prepared;
