//! What the cashier pages say and how: the payer's language (Chinese unless they ask for
//! English), the texts in both, and the askama templates they fill. Every merchant-supplied
//! string goes through askama's HTML escaping.

use askama::Template;
use paygate_app::cashier::{CashierView, Client, Installment, Notice};
use paygate_domain::{Amount, Currency, PayData, PayFlow, PayType, Scene};

/// The languages the cashier speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn parse(text: &str) -> Option<Lang> {
        match text {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The language an `Accept-Language` header prefers among ours: the highest q-value wins,
    /// `q=0` means "not this one", ties go to the earlier entry, and Chinese when none fits.
    pub fn of_accept_language(header: &str) -> Lang {
        let mut best: Option<(Lang, u16)> = None;
        for entry in header.split(',') {
            let mut parts = entry.split(';');
            let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let primary = tag.split('-').next().unwrap_or("");
            let Some(lang) = Lang::parse(primary) else {
                continue;
            };
            let mut quality = 1000;
            for parameter in parts {
                if let Some(q) = parameter.trim().strip_prefix("q=") {
                    quality = parse_quality(q).unwrap_or(0);
                }
            }
            if quality > 0 && best.is_none_or(|(_, q)| quality > q) {
                best = Some((lang, quality));
            }
        }
        best.map(|(lang, _)| lang).unwrap_or(Lang::Zh)
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }
}

/// A q-value (`0`, `0.5`, `1.000`) in thousandths; `None` if malformed.
fn parse_quality(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let thousandths: u16 = format!("{fraction:0<3}").parse().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

pub struct Texts {
    pub html_lang: &'static str,
    pub title: &'static str,
    pub merchant: &'static str,
    pub amount: &'static str,
    pub pay_by: &'static str,
    pub expires_at: &'static str,
    pub remaining: &'static str,
    pub minutes: &'static str,
    pub seconds: &'static str,
    pub choose_way: &'static str,
    pub installments: &'static str,
    pub installment_plan: &'static str,
    pub first_period: &'static str,
    pub scan: &'static str,
    pub qr_alt: &'static str,
    pub sandbox_pay: &'static str,
    pub sandbox_note: &'static str,
    pub back_to_merchant: &'static str,
    pub balance: &'static str,
    pub jsapi_pay: &'static str,
    pub expired: &'static str,
    pub closed: &'static str,
    pub paid: &'static str,
    pub no_way: &'static str,
    pub waiting: &'static str,
    pub success: &'static str,
    pub redirecting: &'static str,
    pub continue_to_pay: &'static str,
    pub refused: &'static str,
    pub other_language: &'static str,
    pub other_language_code: &'static str,
}

const ZH: Texts = Texts {
    html_lang: "zh-CN",
    title: "收银台",
    merchant: "收款方",
    amount: "应付金额",
    pay_by: "支付截止",
    expires_at: "（北京时间）",
    remaining: "剩余",
    minutes: "分",
    seconds: "秒",
    choose_way: "选择支付方式",
    installments: "分期（花呗分期）",
    installment_plan: "期，每期",
    first_period: "首期",
    scan: "请使用对应的 App 扫码支付，支付完成后本页自动跳转。",
    qr_alt: "付款二维码",
    sandbox_pay: "沙箱：模拟付款人支付",
    sandbox_note: "沙箱模式：不会产生真实扣款。",
    back_to_merchant: "返回商户",
    balance: "余额",
    jsapi_pay: "确认支付",
    expired: "订单已过期，无法继续支付。",
    closed: "订单已关闭，无法继续支付。",
    paid: "订单已支付。",
    no_way: "当前设备没有可用的支付方式，请换一个设备或浏览器打开。",
    waiting: "等待支付结果……",
    success: "支付成功",
    redirecting: "即将返回商户页面。",
    continue_to_pay: "继续支付",
    refused: "未能发起支付：",
    other_language: "English",
    other_language_code: "en",
};

const EN: Texts = Texts {
    html_lang: "en",
    title: "Checkout",
    merchant: "Pay to",
    amount: "Amount due",
    pay_by: "Pay by",
    expires_at: "(China time)",
    remaining: "Time left",
    minutes: "min",
    seconds: "s",
    choose_way: "Choose how to pay",
    installments: "Installments (Huabei)",
    installment_plan: "payments of",
    first_period: "first",
    scan: "Scan the code with the matching app; this page moves on by itself once you paid.",
    qr_alt: "QR code to pay",
    sandbox_pay: "Sandbox: pay as the payer",
    sandbox_note: "Sandbox mode: no real money moves.",
    back_to_merchant: "Back to the merchant",
    balance: "Balance",
    jsapi_pay: "Pay now",
    expired: "This order has expired and can no longer be paid.",
    closed: "This order is closed and can no longer be paid.",
    paid: "This order is paid.",
    no_way: "No way to pay fits this device; open the link on another device or browser.",
    waiting: "Waiting for the payment…",
    success: "Payment successful",
    redirecting: "Taking you back to the merchant.",
    continue_to_pay: "Continue to pay",
    refused: "The payment could not start: ",
    other_language: "中文",
    other_language_code: "zh",
};

/// The name of a way in the payer's language.
pub fn way_label(way: PayType, lang: Lang) -> &'static str {
    let (zh, en) = match way {
        PayType::WechatNative => ("微信支付（扫码）", "WeChat Pay (scan)"),
        PayType::WechatH5 => ("微信支付", "WeChat Pay"),
        PayType::WechatJsapi => ("微信支付", "WeChat Pay"),
        PayType::WechatApp => ("微信支付（App）", "WeChat Pay (app)"),
        PayType::WechatMicropay => ("微信付款码", "WeChat pay code"),
        PayType::AlipayNative => ("支付宝（扫码）", "Alipay (scan)"),
        PayType::AlipayH5 | PayType::AlipayJsapi => ("支付宝", "Alipay"),
        PayType::AlipayPc => ("支付宝（网页）", "Alipay (web)"),
        PayType::AlipayApp => ("支付宝（App）", "Alipay (app)"),
        PayType::AlipayMicropay => ("支付宝付款码", "Alipay pay code"),
        PayType::UnionpayNative => ("云闪付（扫码）", "UnionPay (scan)"),
        PayType::UnionpayH5 | PayType::UnionpayWeb => ("银联在线支付", "UnionPay online"),
        PayType::UnionpayApp => ("云闪付（App）", "UnionPay (app)"),
        PayType::UnionpayMicropay => ("云闪付付款码", "UnionPay pay code"),
        PayType::Wallet => ("平台钱包", "Platform wallet"),
        PayType::Auto => ("任选支付方式", "Any way"),
    };
    match lang {
        Lang::Zh => zh,
        Lang::En => en,
    }
}

/// `12.34`: the amount in the major unit with the currency's minor digits.
pub fn amount_text(amount: Amount, currency: Currency) -> String {
    amount.to_major_string(currency)
}

pub fn currency_sign(currency: Currency) -> &'static str {
    match currency {
        Currency::Cny => "¥",
        Currency::Hkd => "HK$",
        Currency::Usd => "US$",
        Currency::Jpy => "JP¥",
    }
}

/// `2026-11-29 20:30:00`, China time, for the text beside the live countdown.
pub fn china_time(ms: i64) -> String {
    let offset = chrono::FixedOffset::east_opt(8 * 3600).expect("a valid offset");
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|at| {
            at.with_timezone(&offset)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        })
        .unwrap_or_default()
}

pub struct InstallmentView {
    pub count: u32,
    pub text: String,
}

pub struct WayView {
    pub pay_type: &'static str,
    pub label: &'static str,
    pub wallet: bool,
    /// The wallet way's balance, shown to a payer logged in through union login.
    pub balance: Option<String>,
    pub installments: Vec<InstallmentView>,
}

fn installment_text(plan: &Installment, currency: Currency, lang: Lang) -> String {
    let t = lang.texts();
    let each = amount_text(plan.each, currency);
    let sign = currency_sign(currency);
    if plan.first == plan.each {
        format!("{} {} {sign}{each}", plan.count, t.installment_plan)
    } else {
        let first = amount_text(plan.first, currency);
        let (open, close) = match lang {
            Lang::Zh => ("（", "）"),
            Lang::En => (" (", ")"),
        };
        format!(
            "{} {} {sign}{each}{open}{} {sign}{first}{close}",
            plan.count, t.installment_plan, t.first_period
        )
    }
}

pub struct NoticeView {
    pub reason: &'static str,
    pub text: &'static str,
}

/// The cashier page.
#[derive(Template)]
#[template(path = "cashier.html")]
pub struct PageTemplate {
    pub t: &'static Texts,
    /// `?client=..&lang=..` as the payer gave them, kept on the page's own links.
    pub query: String,
    pub trade_no: String,
    pub status: &'static str,
    pub client: &'static str,
    pub merchant_name: String,
    pub subject: String,
    pub body: Option<String>,
    pub currency_sign: &'static str,
    pub amount: String,
    pub expire_at_ms: i64,
    pub expire_text: String,
    pub remaining_text: String,
    pub notice: Option<NoticeView>,
    pub error: Option<String>,
    pub return_link: Option<String>,
    pub ways: Vec<WayView>,
    pub qr: bool,
    /// A chosen JSAPI way's invoke parameters as JSON, for WeChat's JS bridge.
    pub jsapi_params: Option<String>,
    pub sandbox_pay: bool,
    pub poll: bool,
}

/// The payer's browser posts the channel's form at once (a button for browsers without
/// JavaScript).
#[derive(Template)]
#[template(path = "cashier_form.html")]
pub struct FormTemplate {
    pub t: &'static Texts,
    pub action: String,
    pub fields: Vec<(String, String)>,
}

/// The result page after payment.
#[derive(Template)]
#[template(path = "cashier_result.html")]
pub struct ResultTemplate {
    pub t: &'static Texts,
    pub trade_no: String,
    pub status: &'static str,
    pub merchant_name: String,
    pub subject: String,
    pub currency_sign: &'static str,
    pub amount: String,
    pub return_link: Option<String>,
}

/// What the page is asked with besides the order.
pub struct PageAsk {
    pub client: Client,
    pub lang: Lang,
    pub query: String,
    pub now_ms: i64,
    pub error: Option<String>,
    pub return_link: Option<String>,
    /// The payer's wallet balance, when a cashier session of the order's merchant is open.
    pub wallet_balance: Option<String>,
}

pub fn page(view: &CashierView, ask: PageAsk) -> PageTemplate {
    let lang = ask.lang;
    let t = lang.texts();
    let order = &view.order;
    let notice = view.notice(ask.now_ms);
    let remaining_secs = ((order.expire_at_ms - ask.now_ms) / 1000).max(0);
    let chosen_native = view
        .chosen
        .is_some_and(|way| way.flow() == PayFlow::Prepare(Scene::Native))
        && matches!(order.pay_data, Some(PayData::CodeUrl(_)))
        && (order.pay_type != PayType::Auto || order.chosen_pay_type.is_some());
    let open = notice.is_none();
    let jsapi_params = match (&order.pay_data, view.chosen) {
        (Some(PayData::Params(params)), Some(way))
            if open && way.flow() == PayFlow::Prepare(Scene::Jsapi) =>
        {
            serde_json::to_string(params).ok()
        }
        _ => None,
    };
    let ways = if open {
        view.ways
            .iter()
            .map(|way| WayView {
                pay_type: way.pay_type.as_str(),
                label: way_label(way.pay_type, lang),
                wallet: way.pay_type == PayType::Wallet,
                balance: (way.pay_type == PayType::Wallet)
                    .then(|| ask.wallet_balance.clone())
                    .flatten(),
                installments: way
                    .installments
                    .iter()
                    .map(|plan| InstallmentView {
                        count: plan.count,
                        text: installment_text(plan, order.currency, lang),
                    })
                    .collect(),
            })
            .collect()
    } else {
        Vec::new()
    };
    PageTemplate {
        t,
        query: ask.query,
        trade_no: order.trade_no.to_string(),
        status: order.status.as_str(),
        client: ask.client.as_str(),
        merchant_name: view.merchant_name.clone(),
        subject: order.subject.clone(),
        body: order.body.clone(),
        currency_sign: currency_sign(order.currency),
        amount: amount_text(order.total_amount, order.currency),
        expire_at_ms: order.expire_at_ms,
        expire_text: china_time(order.expire_at_ms),
        remaining_text: format!(
            "{} {} {} {} {}",
            t.remaining,
            remaining_secs / 60,
            t.minutes,
            remaining_secs % 60,
            t.seconds
        ),
        notice: notice.map(|notice| NoticeView {
            reason: notice.reason(),
            text: match notice {
                Notice::Expired => t.expired,
                Notice::Closed => t.closed,
                Notice::Paid => t.paid,
                Notice::NoWay => t.no_way,
            },
        }),
        error: ask.error,
        return_link: ask.return_link,
        ways,
        qr: open && chosen_native,
        sandbox_pay: open && (chosen_native || jsapi_params.is_some()) && view.sandbox_pay,
        jsapi_params,
        poll: order.status.is_unpaid_open() && notice.is_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_highest_quality_of_ours() {
        let cases = [
            ("", Lang::Zh),
            ("en", Lang::En),
            ("en-US,en;q=0.9", Lang::En),
            ("zh-CN,zh;q=0.9,en;q=0.8", Lang::Zh),
            ("en;q=0.5,zh;q=0.9", Lang::Zh),
            ("zh;q=0.4,en-GB;q=0.6", Lang::En),
            ("fr-FR,fr;q=0.9,en;q=0.1", Lang::En),
            ("en;q=0", Lang::Zh),
            ("de, *;q=0.5", Lang::Zh),
            ("EN-us", Lang::En),
            ("en;q=1.5", Lang::Zh),
            ("en;q=abc,zh;q=0.1", Lang::Zh),
            ("en;q=0.700, zh;q=0.7", Lang::En),
        ];
        for (header, lang) in cases {
            assert_eq!(Lang::of_accept_language(header), lang, "{header:?}");
        }
    }

    #[test]
    fn quality_values_are_read_in_thousandths() {
        assert_eq!(parse_quality("1"), Some(1000));
        assert_eq!(parse_quality("1.000"), Some(1000));
        assert_eq!(parse_quality("0.5"), Some(500));
        assert_eq!(parse_quality("0.125"), Some(125));
        assert_eq!(parse_quality("0"), Some(0));
        assert_eq!(parse_quality("0.1234"), None);
        assert_eq!(parse_quality("2"), None);
    }

    #[test]
    fn an_installment_text_names_the_first_periods_remainder() {
        let plan = paygate_app::cashier::installment_plan(Amount::from_minor(10_000).unwrap(), 3);
        assert_eq!(
            installment_text(&plan, Currency::Cny, Lang::En),
            "3 payments of ¥33.33 (first ¥33.34)"
        );
        let even = paygate_app::cashier::installment_plan(Amount::from_minor(1_200).unwrap(), 12);
        assert_eq!(
            installment_text(&even, Currency::Cny, Lang::Zh),
            "12 期，每期 ¥1.00"
        );
    }
}
