//! The dashboard in a real headless Chromium, driven over the WebDriver protocol by
//! chromedriver: a new user signs up, creates a chat space, renames it, creates an API key,
//! uses it, and revokes it. Skipped when Chromium is not installed, unless
//! `DOCENT_REQUIRE_BROWSER=1` (CI) makes that a failure. Set `DOCENT_SCREENSHOT_DIR` to keep
//! screenshots of each step.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Backend, TestApp};

pub(crate) const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub(crate) struct Browser {
    http: reqwest::Client,
    base: String,
    driver: Child,
    profile: PathBuf,
}

fn find_program(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Ok(path) = std::env::var(env) {
        return Some(PathBuf::from(path));
    }
    candidates.iter().map(PathBuf::from).find(|p| p.exists())
}

/// Chromium, when installed (else None, and the caller skips, unless
/// `DOCENT_REQUIRE_BROWSER` is set).
pub(crate) fn chromium() -> Option<PathBuf> {
    let found = find_program(
        "DOCENT_CHROMIUM",
        &[
            "/usr/bin/chromium",
            "/usr/bin/chromium-browser",
            "/usr/bin/google-chrome",
        ],
    );
    if found.is_none() {
        assert!(
            std::env::var("DOCENT_REQUIRE_BROWSER").is_err(),
            "DOCENT_REQUIRE_BROWSER is set but Chromium is missing"
        );
        eprintln!("skipped: Chromium not installed");
    }
    found
}

impl Browser {
    pub(crate) async fn start() -> Option<Browser> {
        let driver_bin = find_program(
            "DOCENT_CHROMEDRIVER",
            &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"],
        );
        let (Some(driver_bin), Some(chrome_bin)) = (driver_bin, chromium()) else {
            assert!(
                std::env::var("DOCENT_REQUIRE_BROWSER").is_err(),
                "DOCENT_REQUIRE_BROWSER is set but Chromium or chromedriver is missing"
            );
            eprintln!("skipped: Chromium or chromedriver not installed");
            return None;
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("port")
            .local_addr()
            .expect("addr")
            .port();
        let driver = Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        docent_ingest::fetch::init_tls();
        // A page stuck in a loop must fail the test, not hang it.
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(90))
            .build()
            .expect("client");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = http.get(format!("{base}/status")).send().await
                && r.status().is_success()
            {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = std::env::temp_dir().join(format!("docent-chrome-{}", uuid::Uuid::now_v7()));
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": chrome_bin,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-background-networking", "--disable-component-update", "--no-first-run",
                         "--disable-sync", "--window-size=1280,900", format!("--user-data-dir={}", profile.display())]
            }
        }}});
        let session: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("json");
        let id = session["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {session}"))
            .to_owned();
        Some(Browser {
            http,
            base: format!("{base}/session/{id}"),
            driver,
            profile,
        })
    }

    pub(crate) async fn cmd(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let value: Value = request
            .send()
            .await
            .expect("webdriver")
            .json()
            .await
            .expect("json");
        value["value"].clone()
    }

    pub(crate) async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    pub(crate) async fn url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Waits up to 10 s for an element matching `css`.
    pub(crate) async fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let found = self
                .cmd(
                    reqwest::Method::POST,
                    "/element",
                    Some(json!({"using": "css selector", "value": css})),
                )
                .await;
            if let Some(id) = found[ELEMENT].as_str() {
                return id.to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "no element {css} on {}",
                self.url().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub(crate) async fn click(&self, css: &str) {
        let el = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{el}/click"),
            Some(json!({})),
        )
        .await;
    }

    pub(crate) async fn fill(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{el}/clear"),
            Some(json!({})),
        )
        .await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{el}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    pub(crate) async fn text(&self, css: &str) -> String {
        let el = self.find(css).await;
        self.cmd(reqwest::Method::GET, &format!("/element/{el}/text"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub(crate) async fn property(&self, css: &str, name: &str) -> String {
        let el = self.find(css).await;
        self.cmd(
            reqwest::Method::GET,
            &format!("/element/{el}/property/{name}"),
            None,
        )
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    pub(crate) async fn script(&self, script: &str) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .await
    }

    /// Runs `script` (a function body) with `arguments[0..]` = `args`.
    pub(crate) async fn script_with(&self, script: &str, args: Vec<Value>) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// The warnings and errors the browser's console received since the last call (page
    /// scripts' `console.warn`/`console.error`, uncaught exceptions, failed loads), as
    /// "LEVEL message" lines. A host page's missing favicon is not counted.
    pub(crate) async fn console_problems(&self) -> Vec<String> {
        let entries = self
            .cmd(
                reqwest::Method::POST,
                "/se/log",
                Some(json!({"type": "browser"})),
            )
            .await;
        let entries = entries
            .as_array()
            .unwrap_or_else(|| panic!("chromedriver gave no browser log: {entries}"));
        entries
            .iter()
            .filter(|e| matches!(e["level"].as_str(), Some("WARNING" | "SEVERE")))
            .map(|e| {
                format!(
                    "{} {}",
                    e["level"].as_str().unwrap_or_default(),
                    e["message"].as_str().unwrap_or_default()
                )
            })
            .filter(|line| !line.contains("/favicon.ico"))
            .collect()
    }

    /// Waits until the page's URL satisfies `ok`.
    pub(crate) async fn wait_url(&self, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let url = self.url().await;
            if ok(&url) {
                return url;
            }
            assert!(Instant::now() < deadline, "stuck on {url}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Logs in on the dashboard of `base` as `email` (with the tests' password) and waits for
    /// the dashboard.
    pub(crate) async fn log_in(&self, base: &str, email: &str) {
        self.goto(&format!("{base}/login")).await;
        self.fill("#email", email).await;
        self.fill("#password", "correct horse battery").await;
        self.click("[data-docent=login-submit]").await;
        self.wait_url(|u| u.ends_with("/app")).await;
    }

    /// Waits up to 10 s until the element `css` shows `needle` (the next page has loaded).
    pub(crate) async fn wait_text(&self, css: &str, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let found = self
                .cmd(
                    reqwest::Method::POST,
                    "/element",
                    Some(json!({"using": "css selector", "value": css})),
                )
                .await;
            if let Some(id) = found[ELEMENT].as_str() {
                let text = self
                    .cmd(reqwest::Method::GET, &format!("/element/{id}/text"), None)
                    .await;
                if text.as_str().is_some_and(|t| t.contains(needle)) {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{css} never showed {needle:?} on {}",
                self.url().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub(crate) async fn accept_alert(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let answer = self
                .cmd(reqwest::Method::POST, "/alert/accept", Some(json!({})))
                .await;
            if answer.is_null() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no confirmation dialog: {answer}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub(crate) async fn screenshot(&self, name: &str) {
        let Ok(dir) = std::env::var("DOCENT_SCREENSHOT_DIR") else {
            return;
        };
        let png = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        let bytes = base64_decode(png.as_str().unwrap_or_default());
        std::fs::create_dir_all(&dir).ok();
        std::fs::write(PathBuf::from(dir).join(format!("{name}.png")), bytes)
            .expect("write screenshot");
    }

    pub(crate) async fn resize(&self, width: u32, height: u32) {
        self.cmd(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        )
        .await;
    }
}

impl Browser {
    /// Waits up to 10 s for an element matching `css` inside the widget's shadow root.
    pub(crate) async fn shadow(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        let script = format!(
            "var host = document.querySelector('docent-chat'); \
             return host && host.shadowRoot ? host.shadowRoot.querySelector({}) : null;",
            serde_json::to_string(css).expect("css")
        );
        loop {
            let found = self.script(&script).await;
            if let Some(id) = found[ELEMENT].as_str() {
                return id.to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "no {css} in the widget on {}",
                self.url().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub(crate) async fn click_element(&self, id: &str) -> Value {
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        )
        .await
    }

    pub(crate) async fn type_into(&self, id: &str, text: &str) {
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            Some(json!({"text": text})),
        )
        .await;
    }

    /// Waits until `script` (a function body) returns something truthy; returns it.
    pub(crate) async fn until(&self, what: &str, script: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let value = self.script(script).await;
            let truthy = !(value.is_null()
                || value == json!(false)
                || value == json!("")
                || value == json!(0)
                || value.get("error").is_some());
            if truthy {
                return value;
            }
            assert!(
                Instant::now() < deadline,
                "never: {what} (last {value}) on {}",
                self.url().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Whether a dialog (`alert`, `confirm`, `prompt`) is open: a script ran that should not.
    pub(crate) async fn alert_open(&self) -> bool {
        let text = self.cmd(reqwest::Method::GET, "/alert/text", None).await;
        text.is_string()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        // Chromium outlives a killed chromedriver: end the processes of this profile too.
        let _ = Command::new("pkill")
            .arg("-KILL")
            .arg("-f")
            .arg(format!("user-data-dir={}", self.profile.display()))
            .status();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

pub(crate) fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let digits: Vec<u32> = text.bytes().filter_map(value).collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, d)| acc | (d << (18 - 6 * i)));
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len().saturating_sub(1)]);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_signs_up_creates_renames_and_manages_keys() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let base = &app.base;

    // A wrong sign-up shows field errors inline, keeping what was typed.
    browser.goto(&format!("{base}/signup")).await;
    browser.screenshot("01-signup").await;
    browser.fill("#name", "Ana <b>Bold</b>").await;
    browser.fill("#email", "not an email").await;
    browser.fill("#password", "short").await;
    browser.click("[data-docent=signup-submit]").await;
    assert!(browser.text("#email-error").await.contains("valid email"));
    assert!(
        browser
            .text("#password-error")
            .await
            .contains("at least 10")
    );
    assert_eq!(browser.property("#name", "value").await, "Ana <b>Bold</b>");
    browser.screenshot("02-signup-errors").await;

    browser.fill("#email", "ana@example.com").await;
    browser.fill("#password", "correct horse battery").await;
    browser.click("[data-docent=signup-submit]").await;
    browser.wait_url(|u| u.ends_with("/app")).await;
    assert!(browser.text(".flash").await.contains("Welcome"));
    browser.screenshot("03-empty-dashboard").await;

    // Create a chat space whose name is a script payload: it shows as text, never runs.
    browser.click("[data-docent=new-chat-space]").await;
    browser
        .fill("#name", "<img src=x onerror=window.__xss=1>Acme")
        .await;
    browser.click("[data-docent=create-chat-space]").await;
    // A new chat space opens where its knowledge is added.
    browser
        .wait_url(|u| u.contains("/app/chat-spaces/") && u.ends_with("/knowledge"))
        .await;
    browser
        .wait_text("[data-docent=setup]", "0 of 4 done")
        .await;
    browser.click("[data-docent=settings-tab]").await;
    let space_url = browser
        .wait_url(|u| u.contains("/app/chat-spaces/") && !u.ends_with("/knowledge"))
        .await;
    assert_eq!(
        browser.text("[data-docent=chat-space-name]").await,
        "<img src=x onerror=window.__xss=1>Acme"
    );
    assert_eq!(
        browser.script("return window.__xss === undefined").await,
        json!(true),
        "the payload ran"
    );

    // Rename it.
    browser.fill("#name", "Acme Help Desk").await;
    browser.click("[data-docent=save-chat-space]").await;
    // The form posts to the page's own address: wait for the new page's flash.
    browser.wait_text(".flash", "Changes saved").await;
    assert_eq!(browser.url().await, space_url);
    assert_eq!(
        browser.text("[data-docent=chat-space-name]").await,
        "Acme Help Desk"
    );
    browser.screenshot("04-chat-space").await;

    // Create an API key; the secret shows once and works.
    browser.fill("#key_name", "Website backend").await;
    browser.click("[data-docent=create-api-key]").await;
    let secret = browser
        .property("[data-docent=api-key-secret]", "value")
        .await;
    assert!(secret.starts_with("dk_"), "{secret}");
    browser.screenshot("05-api-key").await;
    let program = app.with_key(&secret);
    let (status, list) = program.get("/api/chat-spaces").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["data"][0]["name"], "Acme Help Desk");

    // Revoke it (the page asks first).
    browser.goto(&space_url).await;
    browser.click("[data-docent=revoke-api-key]").await;
    browser.accept_alert().await;
    assert!(browser.text(".flash").await.contains("API key revoked"));
    assert_eq!(
        browser
            .text("[data-docent=api-key-revoked]")
            .await
            .to_lowercase(),
        "revoked"
    );
    let (status, _) = program.get("/api/chat-spaces").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The cards list shows the renamed chat space, and the page fits a phone.
    browser.goto(&format!("{base}/app")).await;
    assert!(
        browser
            .text("[data-docent=chat-space-card]")
            .await
            .contains("Acme Help Desk")
    );
    browser.screenshot("06-cards").await;
    browser.resize(390, 844).await;
    let overflow = browser
        .script("return document.documentElement.scrollWidth > window.innerWidth")
        .await;
    assert_eq!(overflow, json!(false), "no horizontal scrolling on a phone");
    browser.screenshot("07-phone").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knowledge_uploads_show_live_progress_and_chunks() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let (_stop, stopping) = tokio::sync::watch::channel(false);
    let _workers = docent_app::jobs::spawn_workers(&app.state, 1, stopping);
    let base = &app.base;

    browser.goto(&format!("{base}/signup")).await;
    browser.fill("#email", "kim@example.com").await;
    browser.fill("#password", "correct horse battery").await;
    browser.click("[data-docent=signup-submit]").await;
    browser.wait_url(|u| u.ends_with("/app")).await;
    browser.click("[data-docent=new-chat-space]").await;
    browser.fill("#name", "Kettle help").await;
    browser.click("[data-docent=create-chat-space]").await;
    browser
        .wait_url(|u| u.contains("/app/chat-spaces/") && !u.ends_with("/new"))
        .await;
    browser.click("[data-docent=knowledge-tab]").await;
    browser.wait_url(|u| u.ends_with("/knowledge")).await;

    let dir = std::env::temp_dir().join(format!("docent-upload-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("descaling.md");
    std::fs::write(&file, "# Descaling\n\nDescale the kettle every month with white vinegar.\n\n## Warranty\n\nTwo years.\n").expect("write");
    browser
        .fill("[data-docent=file-input]", &file.display().to_string())
        .await;
    browser.click("[data-docent=upload]").await;
    // The page follows processing by itself until the document is ready.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = browser.text("[data-docent=document-status]").await;
        if status.eq_ignore_ascii_case("completed") {
            break;
        }
        assert!(Instant::now() < deadline, "still {status}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    browser.screenshot("08-knowledge").await;
    browser.click("[data-docent=document-row] a").await;
    browser.wait_url(|u| u.contains("/app/documents/")).await;
    assert!(
        browser
            .text("[data-docent=chunk]")
            .await
            .contains("white vinegar")
    );
    browser.screenshot("09-chunks").await;

    // The playground streams an answer (extractive: no model here), cites the file, and
    // lists what was retrieved.
    let space_url = format!(
        "{base}/app/chat-spaces/{}",
        app.state
            .store
            .find_chat_space_by_slug("kettle-help")
            .await
            .expect("find")
            .expect("space")
            .id
    );
    browser.goto(&format!("{space_url}/playground")).await;
    browser
        .fill(
            "[data-docent=question]",
            "How often should I descale the kettle?",
        )
        .await;
    browser.click("[data-docent=ask]").await;
    browser
        .wait_text(".msg-assistant .citations", "descaling")
        .await;
    let answer = browser.text(".msg-assistant .bubble").await;
    assert!(
        answer.contains("white vinegar") && answer.contains("[1]"),
        "{answer}"
    );
    assert!(
        browser
            .text("[data-sources]")
            .await
            .contains("white vinegar")
    );
    browser.screenshot("10-playground").await;
    // A follow-up continues the same conversation; a reload shows it from the server.
    browser
        .fill("[data-docent=question]", "What about the warranty?")
        .await;
    browser.click("[data-docent=ask]").await;
    browser.wait_text(".chat-log", "Two years").await;
    let conversation = browser.property("[data-conversation]", "value").await;
    assert!(!conversation.is_empty());
    browser
        .goto(&format!(
            "{space_url}/playground?conversation={conversation}"
        ))
        .await;
    assert_eq!(
        browser
            .script("return document.querySelectorAll('.chat-log .msg').length")
            .await,
        serde_json::json!(4)
    );
    std::fs::remove_dir_all(dir).ok();
}
