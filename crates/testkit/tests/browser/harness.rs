//! One headless Chromium for the whole test binary, driven over the DevTools protocol
//! (chromiumoxide).
//!
//! `cargo test` runs a binary's tests as threads of one process, each with its own tokio runtime.
//! The browser is started once, on first use, on a thread of its own whose runtime polls the
//! protocol connection for as long as the process lives; tests talk to it through channels, so
//! their runtimes may come and go. Each test gets its own incognito browser context (no cookies
//! shared between tests) with the device it asks for: user agent, viewport, touch.
//!
//! Why the DevTools protocol and not WebDriver (fantoccini, thirtyfour): a WebDriver session is
//! a browser process of its own, while over CDP one Chromium opens cheap incognito contexts and
//! takes the user agent, viewport and touch per page, with no chromedriver between. The price is
//! compile time (the generated protocol crate is large), paid once and only by this test binary.
//!
//! Chromium is required: without it the tests fail and say how to install it, unless
//! `PAYGATE_TEST_SKIP_BROWSER=1` (CI never sets it). `PAYGATE_CHROMIUM` names the executable
//! when it is not `chromium` on the PATH.

use chromiumoxide::cdp::browser_protocol::browser::BrowserContextId;
use chromiumoxide::cdp::browser_protocol::emulation::{
    SetDeviceMetricsOverrideParams, SetTouchEmulationEnabledParams,
};
use chromiumoxide::cdp::browser_protocol::network::SetUserAgentOverrideParams;
use chromiumoxide::cdp::browser_protocol::page::CaptureScreenshotFormat;
use chromiumoxide::cdp::browser_protocol::target::{
    CreateBrowserContextParams, CreateTargetParams,
};
use chromiumoxide::page::ScreenshotParams;
use chromiumoxide::{Browser, Page};
use futures::StreamExt;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const SKIP_ENV: &str = "PAYGATE_TEST_SKIP_BROWSER";
const EXECUTABLE_ENV: &str = "PAYGATE_CHROMIUM";
const INSTALL_HINT: &str = "the browser tests need Chromium: on Debian or Ubuntu \
    `apt-get install -y chromium` (or set PAYGATE_CHROMIUM to a Chrome or \
    Chromium executable); set PAYGATE_TEST_SKIP_BROWSER=1 to skip them";
/// A cold Chromium on a busy 2-core machine takes a few seconds to open its DevTools port.
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(30);
/// Long enough for the cashier's 2-second status poll to fire twice on a loaded machine.
pub const WAIT: Duration = Duration::from_secs(15);
const POLL_EVERY: Duration = Duration::from_millis(50);

/// What the page believes it runs on.
#[derive(Debug, Clone, Copy)]
pub struct Device {
    /// `None`: Chromium's own (a desktop Linux user agent).
    pub user_agent: Option<&'static str>,
    pub width: i64,
    pub height: i64,
    pub scale: f64,
    pub mobile: bool,
    /// The `Accept-Language` header; `None`: Chromium's own (`en-US` when headless).
    pub language: Option<&'static str>,
}

pub const DESKTOP: Device = Device {
    user_agent: None,
    width: 1280,
    height: 800,
    scale: 1.0,
    mobile: false,
    language: None,
};

pub const IPHONE_UA: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) \
    AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";

/// Safari on an iPhone 14-sized screen.
pub const MOBILE: Device = Device {
    user_agent: Some(IPHONE_UA),
    width: 390,
    height: 844,
    scale: 2.0,
    mobile: true,
    language: None,
};

/// WeChat's in-app browser on Android.
pub const WECHAT: Device = Device {
    user_agent: Some(
        "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) \
         Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 MMWEBSDK/20231202 \
         MMWEBID/2247 MicroMessenger/8.0.47.2560(0x28002F30) WeChat/arm64 Weixin \
         NetType/WIFI Language/zh_CN ABI/arm64",
    ),
    ..MOBILE
};

struct Shared {
    browser: Browser,
}

static SHARED: OnceLock<Result<Shared, String>> = OnceLock::new();

/// A fresh incognito context with one blank page set up as `device`; `None` only when the
/// browser is missing and the skip variable is set.
pub async fn open(device: Device) -> Option<Session> {
    let shared = match SHARED.get_or_init(start) {
        Ok(shared) => shared,
        Err(why) if skipped() => {
            eprintln!("skipped: {why} ({SKIP_ENV} is set)");
            return None;
        }
        Err(why) => panic!("{why}"),
    };
    let context = shared
        .browser
        .create_browser_context(CreateBrowserContextParams::default())
        .await
        .expect("an incognito browser context");
    let target = CreateTargetParams::builder()
        .url("about:blank")
        .browser_context_id(context.clone())
        .build()
        .expect("target parameters");
    let page = shared
        .browser
        .new_page(target)
        .await
        .expect("a page in the context");
    let session = Session {
        page,
        context: Some(context),
    };
    session.emulate(device).await;
    Some(session)
}

fn skipped() -> bool {
    std::env::var(SKIP_ENV).is_ok_and(|v| v == "1")
}

fn executable() -> Result<PathBuf, String> {
    if let Ok(path) = std::env::var(EXECUTABLE_ENV) {
        return Ok(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err(format!("no Chromium on the PATH: {INSTALL_HINT}"))
}

/// Starts Chromium and the thread that serves its connection; blocks until connected.
fn start() -> Result<Shared, String> {
    let executable = executable()?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("chromium".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("the browser's runtime");
            runtime.block_on(async move {
                let connected = match launch(&executable) {
                    Ok(ws_url) => Browser::connect(ws_url)
                        .await
                        .map_err(|e| format!("cannot connect to Chromium: {e}")),
                    Err(why) => Err(why),
                };
                match connected {
                    Ok((browser, mut handler)) => {
                        let _ = tx.send(Ok(browser));
                        // Messages the client cannot decode are logged by it and skipped; an
                        // error here is the connection's, after which the browser is gone.
                        while let Some(Ok(())) = handler.next().await {}
                    }
                    Err(why) => {
                        let _ = tx.send(Err(why));
                    }
                }
            });
        })
        .map_err(|e| format!("cannot start the browser thread: {e}"))?;
    let browser = rx
        .recv()
        .map_err(|_| "the browser thread died".to_owned())??;
    Ok(Shared { browser })
}

/// Spawns Chromium with a private profile and a DevTools port of its own choosing; answers the
/// DevTools WebSocket address it prints.
fn launch(executable: &Path) -> Result<String, String> {
    let profile = profile_dir()?;
    let mut command = Command::new(executable);
    command
        .args([
            "--headless=new",
            // CI runs as root, where Chromium's sandbox cannot start.
            "--no-sandbox",
            "--disable-gpu",
            // Containers often have a small /dev/shm.
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--mute-audio",
            "--hide-scrollbars",
            "--window-size=1280,800",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    kill_with_this_thread(&mut command);
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}; {INSTALL_HINT}", executable.display()))?;
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    // Chromium keeps writing to stderr; the pipe is drained for its whole life so it never
    // blocks on a full pipe.
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stderr).lines();
        let mut seen = Vec::new();
        for line in lines.by_ref().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("DevTools listening on ") {
                let _ = tx.send(Ok(url.trim().to_owned()));
                break;
            }
            seen.push(line);
        }
        let _ = tx.send(Err(seen.join("\n")));
        for _ in lines {}
    });
    match rx.recv_timeout(LAUNCH_TIMEOUT) {
        Ok(Ok(url)) => {
            // The process is reaped by the kernel's parent-death signal, not by us.
            std::mem::forget(child);
            Ok(url)
        }
        Ok(Err(output)) => Err(format!(
            "{} exited before opening its DevTools port: {output}\n{INSTALL_HINT}",
            executable.display()
        )),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(format!(
                "{} did not open its DevTools port within {LAUNCH_TIMEOUT:?}",
                executable.display()
            ))
        }
    }
}

/// The browser outlives every test and no destructor runs at process exit, so the kernel ends
/// Chromium when the thread that started it (the browser thread, alive until exit) goes away.
#[cfg(target_os = "linux")]
fn kill_with_this_thread(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn kill_with_this_thread(_command: &mut Command) {}

/// A profile directory under cargo's per-target scratch space, one per test process; those of
/// processes that are gone are removed first.
fn profile_dir() -> Result<PathBuf, String> {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("chromium-profiles");
    if let Ok(entries) = std::fs::read_dir(&root) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let alive = name
                .parse::<u32>()
                .is_ok_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
            if !alive {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let dir = root.join(std::process::id().to_string());
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

/// One page in its own incognito context.
pub struct Session {
    pub page: Page,
    context: Option<BrowserContextId>,
}

impl Session {
    async fn emulate(&self, device: Device) {
        let metrics = SetDeviceMetricsOverrideParams::new(
            device.width,
            device.height,
            device.scale,
            device.mobile,
        );
        self.page.execute(metrics).await.expect("device metrics");
        if device.mobile {
            let touch = SetTouchEmulationEnabledParams::new(true);
            self.page.execute(touch).await.expect("touch emulation");
        }
        if device.user_agent.is_none() && device.language.is_none() {
            return;
        }
        // The language is set with the user agent, so the override names one either way.
        let user_agent = match device.user_agent {
            Some(user_agent) => user_agent.to_owned(),
            None => self
                .page
                .user_agent()
                .await
                .expect("the browser's user agent"),
        };
        let mut params = SetUserAgentOverrideParams::new(user_agent);
        params.accept_language = device.language.map(str::to_owned);
        self.page
            .set_user_agent(params)
            .await
            .expect("user agent override");
    }

    /// Navigates and waits for the load event.
    pub async fn goto(&self, url: &str) {
        self.page
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    }

    /// The value of a JavaScript expression, or `None` while the page cannot answer (e.g. in
    /// the middle of a navigation).
    pub async fn try_eval<T: serde::de::DeserializeOwned>(&self, expression: &str) -> Option<T> {
        // Sent back as JSON text, so `null` and `undefined` arrive as values too.
        let wrapped = format!("JSON.stringify(({expression}) ?? null)");
        let evaluated = tokio::time::timeout(Duration::from_secs(2), async {
            self.page.evaluate_expression(wrapped).await
        })
        .await;
        let text: String = match evaluated {
            Ok(Ok(result)) => result.into_value().ok()?,
            _ => return None,
        };
        serde_json::from_str(&text).ok()
    }

    pub async fn eval<T: serde::de::DeserializeOwned>(&self, expression: &str) -> T {
        match self.try_eval(expression).await {
            Some(value) => value,
            None => panic!(
                "cannot evaluate `{expression}` at {}:\n{}",
                self.url().await,
                self.body_text().await
            ),
        }
    }

    /// Waits until `condition` (a JavaScript expression) is truthy, polling; fails after
    /// `WAIT` with where the page stands.
    pub async fn wait_until(&self, condition: &str) {
        let deadline = Instant::now() + WAIT;
        let expression = format!("!!({condition})");
        loop {
            if self.try_eval::<bool>(&expression).await == Some(true) {
                return;
            }
            if Instant::now() >= deadline {
                panic!(
                    "waited {WAIT:?} for `{condition}`; the page is at {}:\n{}",
                    self.url().await,
                    self.body_text().await
                );
            }
            tokio::time::sleep(POLL_EVERY).await;
        }
    }

    /// Waits until an element matches `selector`.
    pub async fn wait_for(&self, selector: &str) {
        self.wait_until(&format!("document.querySelector({})", js_string(selector)))
            .await;
    }

    /// Waits until an element matches `selector` and is rendered (has a box).
    pub async fn wait_visible(&self, selector: &str) {
        self.wait_until(&format!(
            "(e => e && e.getClientRects().length > 0 && getComputedStyle(e).visibility !== \
             'hidden')(document.querySelector({}))",
            js_string(selector)
        ))
        .await;
    }

    /// Clicks the element as a mouse would (scrolled into view, at its centre).
    pub async fn click(&self, selector: &str) {
        self.wait_visible(selector).await;
        let element = self
            .page
            .find_element(selector)
            .await
            .unwrap_or_else(|e| panic!("no {selector}: {e}"));
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("cannot click {selector}: {e}"));
    }

    /// Types into a field after focusing it with a click.
    pub async fn type_into(&self, selector: &str, text: &str) {
        self.click(selector).await;
        let element = self.page.find_element(selector).await.expect("the field");
        element.type_str(text).await.expect("typing");
    }

    pub async fn count(&self, selector: &str) -> usize {
        self.eval(&format!(
            "document.querySelectorAll({}).length",
            js_string(selector)
        ))
        .await
    }

    /// The attribute's value on the first match, `None` when there is no match or no attribute.
    pub async fn attr(&self, selector: &str, name: &str) -> Option<String> {
        self.eval(&format!(
            "(e => e && e.getAttribute({}))(document.querySelector({}))",
            js_string(name),
            js_string(selector)
        ))
        .await
    }

    /// The rendered text of the first match.
    pub async fn text(&self, selector: &str) -> String {
        let text: Option<String> = self
            .eval(&format!(
                "(e => e && e.innerText)(document.querySelector({}))",
                js_string(selector)
            ))
            .await;
        match text {
            Some(text) => text,
            None => panic!("no {selector} at {}", self.url().await),
        }
    }

    /// The values of `attribute` on every match, in document order.
    pub async fn attrs(&self, selector: &str, attribute: &str) -> Vec<String> {
        self.eval(&format!(
            "Array.from(document.querySelectorAll({})).map(e => e.getAttribute({}))",
            js_string(selector),
            js_string(attribute)
        ))
        .await
    }

    pub async fn url(&self) -> String {
        self.try_eval::<String>("location.href")
            .await
            .unwrap_or_default()
    }

    async fn body_text(&self) -> String {
        let text = self
            .try_eval::<String>("document.body ? document.body.innerText : ''")
            .await
            .unwrap_or_default();
        text.chars().take(2_000).collect()
    }

    /// A PNG of the viewport, at the device's size.
    pub async fn screenshot(&self, path: &Path) {
        let params = ScreenshotParams::builder()
            .format(CaptureScreenshotFormat::Png)
            .build();
        self.page
            .save_screenshot(params, path)
            .await
            .unwrap_or_else(|e| panic!("screenshot {}: {e}", path.display()));
    }

    /// Closes the page and drops its context (cookies and all).
    pub async fn close(mut self) {
        let _ = self.page.clone().close().await;
        if let (Some(context), Some(Ok(shared))) = (self.context.take(), SHARED.get()) {
            let _ = shared.browser.dispose_browser_context(context).await;
        }
    }
}

/// `text` as a JavaScript string literal.
pub fn js_string(text: &str) -> String {
    serde_json::to_string(text).expect("a string serialises")
}
