//! WeChat's web authorisation against the sandbox: the link is built in WeChat's documented
//! order, the sandbox sends the browser back with a code and the state, and the code is traded
//! for the payer's openid exactly once.

use paygate_channels::wechat::WechatSignIn;
use paygate_channels::{ChannelError, PayerSignIn};
use paygate_sandbox::{start_wechat, RunningWechatSandbox, WechatSandboxConfig};

const BACK: &str = "https://gw.example/cashier/P1/signed-in?lang=en";

async fn sandbox() -> (RunningWechatSandbox, tempfile::TempDir) {
    let data_dir = tempfile::tempdir().unwrap();
    let sandbox = start_wechat(WechatSandboxConfig {
        data_dir: data_dir.path().to_path_buf(),
        ..WechatSandboxConfig::default()
    })
    .await
    .unwrap();
    (sandbox, data_dir)
}

fn sign_in(sandbox: &RunningWechatSandbox, secret: &str) -> WechatSignIn {
    let c = &sandbox.credentials;
    WechatSignIn::new(&c.base_url, &c.base_url, &c.appid, secret.into(), 5_000).unwrap()
}

/// Follows the authorisation link as WeChat's browser would, up to the redirect back.
async fn visit(url: &str) -> reqwest::Response {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    browser.get(url).send().await.unwrap()
}

async fn code_for(sign_in: &WechatSignIn, state: &str) -> String {
    let answer = visit(&sign_in.authorize_url(BACK, state)).await;
    assert_eq!(answer.status(), 302);
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    let back = reqwest::Url::parse(&location).unwrap();
    let pairs: Vec<(String, String)> = back.query_pairs().into_owned().collect();
    assert_eq!(pairs[0], ("lang".into(), "en".into()), "{location}");
    assert_eq!(pairs[2], ("state".into(), state.into()), "{location}");
    assert_eq!(pairs[1].0, "code");
    assert_eq!(pairs[1].1.len(), 32);
    assert!(location.starts_with("https://gw.example/cashier/P1/signed-in?lang=en&code="));
    pairs[1].1.clone()
}

#[tokio::test]
async fn the_link_keeps_wechats_parameter_order_and_fragment() {
    let (sandbox, _dir) = sandbox().await;
    let c = &sandbox.credentials;
    let link = sign_in(&sandbox, &c.app_secret).authorize_url(BACK, "P1");
    assert_eq!(
        link,
        format!(
            "{}/connect/oauth2/authorize?appid={}&redirect_uri=https%3A%2F%2Fgw.example%2Fcashier%2FP1%2Fsigned-in%3Flang%3Den&response_type=code&scope=snsapi_base&state=P1#wechat_redirect",
            c.base_url, c.appid
        )
    );
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_code_gives_the_payers_openid_once() {
    let (sandbox, _dir) = sandbox().await;
    let c = sandbox.credentials.clone();
    let sign_in = sign_in(&sandbox, &c.app_secret);
    let code = code_for(&sign_in, "P1").await;
    assert_eq!(sign_in.payer_id(&code).await.unwrap(), c.payer_openid);
    assert!(c.payer_openid.starts_with('o') && c.payer_openid.len() == 28);
    match sign_in.payer_id(&code).await {
        Err(ChannelError::Rejected(why)) => assert_eq!(why, "40163: code been used"),
        other => panic!("a used code must be refused, got {other:?}"),
    }
    match sign_in.payer_id("not-a-code").await {
        Err(ChannelError::Rejected(why)) => assert_eq!(why, "40029: invalid code"),
        other => panic!("an unknown code must be refused, got {other:?}"),
    }
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_wrong_app_secret_or_appid_is_refused() {
    let (sandbox, _dir) = sandbox().await;
    let c = sandbox.credentials.clone();
    let code = code_for(&sign_in(&sandbox, &c.app_secret), "S").await;
    match sign_in(&sandbox, "0123456789abcdef0123456789abcdef")
        .payer_id(&code)
        .await
    {
        Err(ChannelError::Rejected(why)) => assert_eq!(why, "40125: invalid appsecret"),
        other => panic!("a wrong secret must be refused, got {other:?}"),
    }
    // The code was not spent by the refused trade.
    let right = sign_in(&sandbox, &c.app_secret);
    assert_eq!(right.payer_id(&code).await.unwrap(), c.payer_openid);
    let stranger = WechatSignIn::new(
        &c.base_url,
        &c.base_url,
        "wx0000",
        c.app_secret.as_str().into(),
        5_000,
    )
    .unwrap();
    assert_eq!(
        visit(&stranger.authorize_url(BACK, "S")).await.status(),
        400
    );
    sandbox.shutdown().await;
}
