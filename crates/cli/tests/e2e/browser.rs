//! A headless Chromium driven over WebDriver for the dashboard tests: starts `chromedriver` on a
//! free port, opens a session with downloads going to a temp directory and the browser's console
//! recorded, and reads that console back so a test can insist on no errors.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// How long any one wait for the page lasts before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A chromedriver process and a browser session on it.
pub struct Browser {
    pub client: Client,
    driver: Child,
    driver_url: String,
    session: String,
    /// Where the browser saves downloads.
    pub downloads: PathBuf,
    http: reqwest::Client,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session `width` by `height` pixels.
    pub async fn start(width: u32, height: u32) -> Browser {
        let port = free_port();
        let driver_bin = std::env::var("BULKWRITE_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        // A process group of its own, which the browser it starts joins: ending the group ends
        // them all (see `end_driver`), even when the session could not be closed.
        let driver = Command::new(driver_bin)
            .process_group(0)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn chromedriver");
        let driver_url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let deadline = Instant::now() + PATIENCE;
        loop {
            let ready = http.get(format!("{driver_url}/status")).send().await;
            if let Ok(response) = ready {
                let body: Value = response.json().await.unwrap_or(Value::Null);
                if body["value"]["ready"] == true {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "chromedriver never became ready");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let downloads = tempfile::tempdir().expect("temp dir").keep();
        let mut options = json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--no-first-run", "--disable-extensions", format!("--window-size={width},{height}")],
            "prefs": {"download.default_directory": downloads, "download.prompt_for_download": false},
        });
        if width < 500 {
            // Desktop windows are at least 500 pixels wide: a phone is emulated.
            options["mobileEmulation"] =
                json!({"deviceMetrics": {"width": width, "height": height, "pixelRatio": 1.0}});
        }
        if let Ok(binary) = std::env::var("BULKWRITE_CHROMIUM") {
            options["binary"] = json!(binary);
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".into(), options);
        capabilities.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver_url)
            .await
            .expect("a browser session");
        let session = client.session_id().await.expect("session id").expect("a session");
        Browser { client, driver, driver_url, session, downloads, http }
    }

    /// The element `css` once it is on the page.
    pub async fn wait(&self, css: &str) -> fantoccini::elements::Element {
        match self.client.wait().at_most(PATIENCE).for_element(Locator::Css(css)).await {
            Ok(element) => element,
            Err(error) => {
                let text = self.client.find(Locator::Css("main")).await.ok();
                let text = match text {
                    Some(main) => main.text().await.unwrap_or_default(),
                    None => String::new(),
                };
                panic!("{css}: {error}; the page shows:\n{text}\nconsole: {:#?}", self.console().await)
            }
        }
    }

    /// Waits until the text of `css` contains `text`; answers the whole text.
    pub async fn wait_text(&self, css: &str, text: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                if let Ok(found) = element.text().await {
                    if found.contains(text) {
                        return found;
                    }
                }
            }
            if Instant::now() >= deadline {
                let main = match self.client.find(Locator::Css("main")).await {
                    Ok(main) => main.text().await.unwrap_or_default(),
                    Err(_) => String::new(),
                };
                panic!("{css} never showed {text:?}; the page shows:\n{main}\nconsole: {:#?}", self.console().await);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until the text of `css` is exactly `text`.
    pub async fn wait_exact(&self, css: &str, text: &str) {
        let deadline = Instant::now() + PATIENCE;
        let mut last = String::new();
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                if let Ok(found) = element.text().await {
                    if found == text {
                        return;
                    }
                    last = found;
                }
            }
            assert!(Instant::now() < deadline, "{css} never showed exactly {text:?} (last {last:?})");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Runs `script` (which returns a value) until `done` accepts what it returns; answers that.
    pub async fn wait_script(&self, script: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let value = self.client.execute(script, vec![]).await.expect("the script runs");
            if done(&value) {
                return value;
            }
            assert!(Instant::now() < deadline, "{what} never came; last {value}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Presses Enter on the element `css` (a button, as a keyboard user does).
    pub async fn press_enter(&self, css: &str) {
        let element = self.wait(css).await;
        element.send_keys(&char::from(fantoccini::key::Key::Enter).to_string()).await.expect("press Enter");
    }

    /// Asserts the page does not scroll sideways (it fits the window's width).
    pub async fn assert_fits_width(&self, what: &str) {
        let overflow = self
            .client
            .execute("return document.documentElement.scrollWidth - window.innerWidth", vec![])
            .await
            .expect("the script runs");
        assert!(overflow.as_i64().unwrap_or(1) <= 0, "{what} scrolls sideways by {overflow}px");
    }

    /// Waits until the `value` of the form control `css` is `value`.
    pub async fn wait_value(&self, css: &str, value: &str) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                if element.prop("value").await.ok().flatten().as_deref() == Some(value) {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "{css} never had the value {value:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Takes a PNG of the viewport. With `BULKWRITE_UPDATE_SCREENSHOTS=1` it replaces
    /// `docs/screenshots/NAME.png` in the repository (the README's pictures); otherwise it goes to
    /// the target directory, so a test run leaves the tree as it was.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        let dir = if std::env::var_os("BULKWRITE_UPDATE_SCREENSHOTS").is_some() {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/screenshots")
        } else {
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots")
        };
        std::fs::create_dir_all(&dir).expect("screenshots dir");
        std::fs::write(dir.join(format!("{name}.png")), png).expect("write screenshot");
    }

    /// The browser console's entries since the last call (chromedriver's `se/log`).
    pub async fn console(&self) -> Vec<Value> {
        let url = format!("{}/session/{}/se/log", self.driver_url, self.session);
        let response = self.http.post(url).json(&json!({"type": "browser"})).send().await.expect("console log");
        let body: Value = response.json().await.expect("json");
        body["value"].as_array().cloned().unwrap_or_default()
    }

    /// Fails the test if the console holds an error (`SEVERE`) since the last look.
    pub async fn assert_no_console_errors(&self) {
        let errors: Vec<Value> = self.console().await.into_iter().filter(|entry| entry["level"] == "SEVERE").collect();
        assert!(errors.is_empty(), "console errors: {errors:#?}");
    }

    /// Waits for a downloaded file whose name ends with `suffix`; answers its bytes.
    pub async fn downloaded(&self, suffix: &str) -> Vec<u8> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let done = std::fs::read_dir(&self.downloads).expect("downloads").filter_map(Result::ok).find(|entry| {
                let name = entry.file_name().to_string_lossy().to_string();
                name.ends_with(suffix) && !name.ends_with(".crdownload")
            });
            if let Some(entry) = done {
                return std::fs::read(entry.path()).expect("read download");
            }
            assert!(Instant::now() < deadline, "no download ending {suffix} in {}", self.downloads.display());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Ends the session, then the driver and its browser.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        self.end_driver();
    }

    /// Kills the driver's process group (the driver and the Chromium it started): killing the
    /// driver alone left the browser's processes running after every test.
    fn end_driver(&mut self) {
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.end_driver();
    }
}
