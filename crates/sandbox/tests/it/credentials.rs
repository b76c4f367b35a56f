use paygate_sandbox::{start_wechat, WechatSandboxConfig};
use serde_json::Value;

fn config(data_dir: &std::path::Path) -> WechatSandboxConfig {
    WechatSandboxConfig {
        data_dir: data_dir.to_path_buf(),
        ..WechatSandboxConfig::default()
    }
}

#[tokio::test]
async fn the_credentials_file_holds_what_an_sdk_needs_and_keys_survive_a_restart() {
    let data_dir = tempfile::tempdir().unwrap();
    let first = start_wechat(config(data_dir.path())).await.unwrap();
    assert_eq!(
        first.credentials_path,
        data_dir.path().join("sandbox/wechat.json")
    );
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(&first.credentials_path).unwrap()).unwrap();
    let fields: Vec<&str> = file
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        [
            "base_url",
            "mchid",
            "appid",
            "merchant_serial_no",
            "merchant_private_key_pem",
            "apiv3_key",
            "platform_public_key_pem",
            "platform_public_key_id",
            "v2_key",
            "app_secret",
            "payer_openid"
        ]
    );
    let credentials = first.credentials.clone();
    assert_eq!(credentials.base_url, format!("http://{}", first.local_addr));
    assert_eq!(file["base_url"], credentials.base_url.as_str());
    assert!(credentials
        .platform_public_key_id
        .starts_with("PUB_KEY_ID_"));
    assert!(credentials.platform_public_key_id["PUB_KEY_ID_".len()..]
        .bytes()
        .all(|b| b.is_ascii_digit()));
    assert_eq!(credentials.apiv3_key.len(), 32);
    assert_eq!(credentials.v2_key.len(), 32);
    // The official account's AppSecret for web authorisation: 32 lowercase hex, as WeChat's.
    assert_eq!(credentials.app_secret.len(), 32);
    assert!(credentials
        .app_secret
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    assert!(credentials.payer_openid.starts_with('o') && credentials.payer_openid.len() == 28);
    assert!(credentials
        .merchant_private_key_pem
        .starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(credentials
        .platform_public_key_pem
        .starts_with("-----BEGIN PUBLIC KEY-----"));
    assert!(!file.to_string().contains("platform_private"));
    first.shutdown().await;

    let second = start_wechat(config(data_dir.path())).await.unwrap();
    let mut expected = credentials.clone();
    expected.base_url = second.credentials.base_url.clone();
    assert_eq!(second.credentials, expected);
    second.shutdown().await;
}

#[cfg(unix)]
#[tokio::test]
async fn the_key_files_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let data_dir = tempfile::tempdir().unwrap();
    let sandbox = start_wechat(config(data_dir.path())).await.unwrap();
    for name in ["wechat.json", "wechat-platform-private-key.pem"] {
        let path = data_dir.path().join("sandbox").join(name);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name}");
    }
    let pem = std::fs::read_to_string(
        data_dir
            .path()
            .join("sandbox/wechat-platform-private-key.pem"),
    )
    .unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    sandbox.shutdown().await;
}
