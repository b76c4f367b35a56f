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

async fn shoot(device: Device, out_trade_no: &str, name: &str) {
    let t = sandboxed(DbBackend::Sqlite).await;
    let Some(b) = harness::open(device).await else {
        return;
    };
    let order = create(&t, &cashier_request(out_trade_no, None)).await;
    b.goto(&pay_url(&order)).await;
    b.wait_visible("ul#ways").await;
    if let Some(path) = target(name) {
        b.screenshot(&path).await;
        println!("wrote {}", path.display());
    }
    b.close().await;
}

// The pictures show the page, not the database: one run, on SQLite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screenshots_of_the_cashier_on_desktop() {
    shoot(DESKTOP, "SHOTDESK0001", "cashier-desktop.png").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screenshots_of_the_cashier_on_a_phone() {
    let phone = Device {
        scale: 1.0,
        ..MOBILE
    };
    shoot(phone, "SHOTMOBI0001", "cashier-mobile.png").await;
}
