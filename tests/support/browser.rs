//! A real, headless browser for end-to-end tests: Debian's chromium driven by chromedriver over
//! the W3C WebDriver protocol (plain JSON over HTTP, so a few calls are all it takes).
//! `infra/browser.sh install` puts both in place; `make test` runs it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

/// The W3C key of an element reference in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn program(variable: &str, default: &str) -> String {
    let path = std::env::var(variable).unwrap_or_else(|_| default.to_owned());
    assert!(
        Path::new(&path).exists(),
        "{path} is missing: run `infra/browser.sh install` (`make test` does), or set {variable}"
    );
    path
}

/// A chromedriver process and one headless chromium session, ended when dropped.
pub struct Browser {
    driver: Child,
    http: reqwest::Client,
    session: String,
    base: String,
    _profile: tempfile::TempDir,
    screenshots: PathBuf,
    taken: usize,
}

impl Browser {
    /// Starts chromedriver and a headless chromium sized like a phone. Screenshots go to
    /// `screenshots` (created, and emptied of earlier runs' pictures).
    pub async fn start(screenshots: PathBuf) -> Self {
        let chromium = program("CLIENTWATCH_CHROMIUM", "/usr/bin/chromium");
        let chromedriver = program("CLIENTWATCH_CHROMEDRIVER", "/usr/bin/chromedriver");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let mut ready = false;
        for _ in 0..100 {
            if let Ok(answer) = http.get(format!("{base}/status")).send().await
                && answer.status().is_success()
            {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(ready, "chromedriver did not answer on {base} within 10 s");
        let profile = tempfile::tempdir().expect("a profile folder");
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--disable-extensions",
                    "--window-size=412,915", "--hide-scrollbars",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        }}});
        let answer: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .expect("chromedriver answers")
            .json()
            .await
            .expect("a JSON answer");
        let session = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromium did not start: {answer:#}"))
            .to_owned();
        // Browser tests run side by side and share the folder: each clears only its own
        // pictures (by their names' prefix) before it starts.
        std::fs::create_dir_all(&screenshots).expect("the screenshot folder");
        Self {
            driver,
            http,
            session,
            base,
            _profile: profile,
            screenshots,
            taken: 0,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        match self.try_call(method, path, body).await {
            Ok(value) => value,
            Err(error) => panic!("WebDriver {path}: {error}"),
        }
    }

    /// A WebDriver command's value, or its error (`stale element reference: ...`).
    async fn try_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut request = self.http.request(method, &url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer: Value = request
            .send()
            .await
            .expect("chromedriver answers")
            .json()
            .await
            .expect("a JSON answer");
        if let Some(error) = answer["value"]["error"].as_str() {
            return Err(format!(
                "{error}: {}",
                answer["value"]["message"].as_str().unwrap_or_default()
            ));
        }
        Ok(answer["value"].clone())
    }

    pub async fn goto(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    pub async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn title(&self) -> String {
        self.call(reqwest::Method::GET, "/title", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The visible text of the page's body.
    pub async fn text(&self) -> String {
        let body = self.find("body").await;
        self.call(reqwest::Method::GET, &format!("/element/{body}/text"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The first element matching a CSS selector (panics, naming it, when there is none).
    pub async fn find(&self, css: &str) -> String {
        let found = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_owned()
    }

    /// Clicks the element a CSS selector names, as a person would.
    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// Clicks a link or a form's button and waits for the next page: the click returns as soon
    /// as it is dispatched, so the old page's root going stale is the sign that the new one is
    /// in.
    pub async fn click_through(&self, css: &str) {
        let old = self.find("html").await;
        self.click(css).await;
        for _ in 0..200 {
            let probe = self
                .try_call(reqwest::Method::GET, &format!("/element/{old}/name"), None)
                .await;
            if probe.is_err_and(|e| e.starts_with("stale element reference")) {
                let ready = json!({"script": "return document.readyState", "args": []});
                for _ in 0..200 {
                    let state = self
                        .try_call(reqwest::Method::POST, "/execute/sync", Some(ready.clone()))
                        .await;
                    if state.is_ok_and(|s| s == "complete") {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(25)).await;
                }
                panic!("the page after clicking {css} did not finish loading");
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("clicking {css} did not lead to another page within 5 s");
    }

    /// Clears a field and types `text` into it.
    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/clear"),
            Some(json!({})),
        )
        .await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page and returns its
    /// answer.
    pub async fn script(&self, script: &str, args: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// Sizes the window (in headless chromium, the viewport) to `width` × `height` CSS pixels.
    pub async fn resize(&self, width: u32, height: u32) {
        self.call(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        )
        .await;
    }

    /// Presses the Tab key, as a keyboard user moving to the next control.
    pub async fn press_tab(&self) {
        let tab = "\u{E004}";
        self.call(
            reqwest::Method::POST,
            "/actions",
            Some(
                json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
                    {"type": "keyDown", "value": tab}, {"type": "keyUp", "value": tab}
                ]}]}),
            ),
        )
        .await;
    }

    /// Saves a PNG of the whole page, `width` CSS pixels wide, as `{name}.png` in the
    /// screenshot folder (through chromium's DevTools `Page.captureScreenshot` beyond the
    /// viewport: WebDriver's own screenshot holds the viewport only, and a window cannot grow
    /// past the screen). Returns its path.
    pub async fn screenshot_at(&self, name: &str, width: u32) -> PathBuf {
        self.resize(width, 900).await;
        let metrics = self.devtools("Page.getLayoutMetrics", json!({})).await;
        let height = metrics["cssContentSize"]["height"]
            .as_f64()
            .unwrap_or(900.0)
            .ceil();
        let png = self
            .devtools(
                "Page.captureScreenshot",
                json!({"format": "png", "captureBeyondViewport": true,
                       "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}}),
            )
            .await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png["data"].as_str().expect("base64 PNG"))
            .expect("valid base64");
        let path = self.screenshots.join(format!("{name}.png"));
        std::fs::write(&path, bytes).expect("the screenshot is written");
        path
    }

    /// Lays the page out for print (`@media print`) or for the screen again.
    pub async fn print_media(&self, print: bool) {
        let media = if print { "print" } else { "" };
        self.devtools("Emulation.setEmulatedMedia", json!({"media": media}))
            .await;
    }

    /// A Chrome DevTools Protocol command through chromedriver.
    async fn devtools(&self, cmd: &str, params: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            Some(json!({"cmd": cmd, "params": params})),
        )
        .await
    }

    /// Saves a PNG of the page as `NN-name.png` in the screenshot folder; returns its path.
    pub async fn screenshot(&mut self, name: &str) -> PathBuf {
        let png = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().expect("base64 PNG"))
            .expect("valid base64");
        self.taken += 1;
        let path = self
            .screenshots
            .join(format!("{:02}-{name}.png", self.taken));
        std::fs::write(&path, bytes).expect("the screenshot is written");
        path
    }
}

impl Browser {
    /// Ends the session (chromium exits with it) and the driver.
    pub async fn quit(mut self) {
        let url = format!("{}/session/{}", self.base, self.session);
        let _ = self.http.delete(url).send().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // After a failed step: at least the driver goes (quit() has already waited for it).
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
