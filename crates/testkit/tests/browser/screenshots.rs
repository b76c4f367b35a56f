//! The cashier's pictures in `docs/screenshots/`: made when `PAYGATE_SCREENSHOTS_DIR` names a
//! directory (`PAYGATE_SCREENSHOTS_DIR=$PWD/docs/screenshots cargo test -p paygate-testkit
//! --test browser screenshots`); otherwise the same pages are only checked to render. The page
//! is Chinese by default: install a CJK font first (Debian: `fonts-wqy-microhei`).

use crate::harness::{self, Device, DESKTOP, MOBILE};
use crate::support::{cashier_request, create, pay_url, sandboxed};
use paygate_testkit::DbBackend;
use std::path::PathBuf;

const DIR_ENV: &str = "PAYGATE_SCREENSHOTS_DIR";

fn target(name: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os(DIR_ENV)?);
    std::fs::create_dir_all(&dir).expect("the screenshots directory");
    Some(dir.join(name))
}

/// The cashier in its default language, Chinese.
fn in_chinese(device: Device) -> Device {
    Device {
        language: Some("zh-CN,zh;q=0.9"),
        // At the device's CSS size, so the pictures are 1280×800 and 390×844.
        scale: 1.0,
        ..device
    }
}

async fn save(b: &harness::Session, name: &str) {
    if let Some(path) = target(name) {
        b.screenshot(&path).await;
        println!("wrote {}", path.display());
    }
}

/// The ways to pay as the page first shows them; on a desktop then the QR code of a chosen way.
async fn shoot(device: Device, out_trade_no: &str, name: &str, qr_name: Option<&str>) {
    let t = sandboxed(DbBackend::Sqlite).await;
    let Some(b) = harness::open(in_chinese(device)).await else {
        return;
    };
    let order = create(&t, &cashier_request(out_trade_no, None)).await;
    b.goto(&pay_url(&order)).await;
    b.wait_visible("ul#ways").await;
    assert_eq!(b.attr("html", "lang").await.as_deref(), Some("zh-CN"));
    save(&b, name).await;
    if let Some(qr_name) = qr_name {
        b.click("ul#ways > li.way[data-way=\"wechat_native\"] button")
            .await;
        b.wait_visible("#qr").await;
        // The image is loaded before the picture is taken.
        b.wait_until("document.getElementById('qr').complete").await;
        save(&b, qr_name).await;
    }
    b.close().await;
}

// The pictures show the page, not the database: one run, on SQLite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screenshots_of_the_cashier_on_desktop() {
    shoot(
        DESKTOP,
        "SHOTDESK0001",
        "cashier-desktop.png",
        Some("cashier-desktop-qr.png"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screenshots_of_the_cashier_on_a_phone() {
    shoot(MOBILE, "SHOTMOBI0001", "cashier-mobile.png", None).await;
}
