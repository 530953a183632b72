//! The test harness: spawn the app on a free port, and sessions that talk to it.

use std::sync::Arc;

use docent_core::Settings;
use docent_server::{AppState, build_app, serve};
use docent_store::Store;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// Runs `$test(app)` once on SQLite and once on PostgreSQL (skipped when unavailable);
/// with `settings = f;` first, each app's settings are tuned by `f` (as
/// [`TestApp::spawn_with`] does).
#[macro_export]
macro_rules! on_both_backends {
    (settings = $tune:expr; $($test:ident),* $(,)?) => {$(
        mod $test {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::common::TestApp::spawn_with($crate::common::Backend::Sqlite, $tune).await.expect("sqlite app");
                super::$test(app).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(app) = $crate::common::TestApp::spawn_with($crate::common::Backend::Postgres, $tune).await else {
                    eprintln!("skipped: no PostgreSQL (set DOCENT_TEST_DATABASE_URL)");
                    return;
                };
                super::$test(app).await;
            }
        }
    )*};
    ($($test:ident),* $(,)?) => {
        $crate::on_both_backends!(settings = |_: &mut docent_core::Settings| {}; $($test),*);
    };
}

#[derive(Clone, Copy, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub base: String,
    pub state: AppState,
    /// The first of [`TestApp::spawn_replicas`], as its concrete store.
    pub postgres: Option<docent_store_postgres::PostgresStore>,
    /// The SQLite store of a [`Backend::Sqlite`] app.
    pub sqlite: Option<docent_store_sqlite::SqliteStore>,
    _shutdown: oneshot::Sender<()>,
}

/// The app's data directory goes with it (only the one made above: a test may point it
/// elsewhere).
impl Drop for TestApp {
    fn drop(&mut self) {
        let dir = &self.state.settings.data_dir;
        let made_here = dir
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.starts_with("docent-test-data-"));
        if made_here {
            std::fs::remove_dir_all(dir).ok();
        }
    }
}

/// Lifts the widget's rate limits, for tests that send much traffic from one address.
/// A visitor's request to the widget API (no cookies); its status and body.
pub async fn visitor_call(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .request(method, format!("{}{path}", app.base))
        .json(&body)
        .send()
        .await
        .expect("send");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub fn unlimited_widget(s: &mut Settings) {
    s.widget_messages_per_minute = u32::MAX;
    s.widget_requests_per_minute = u32::MAX;
    s.widget_conversations_per_minute = u32::MAX;
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, tune: impl FnOnce(&mut Settings)) -> Option<TestApp> {
        Some(match backend {
            Backend::Sqlite => {
                let store = docent_store_sqlite::fresh_test_store().await;
                let mut app = Self::spawn_on(Arc::new(store.clone()), tune).await;
                app.sqlite = Some(store);
                app
            }
            Backend::Postgres => {
                let store = docent_store_postgres::fresh_test_store().await?;
                let mut app = Self::spawn_on(Arc::new(store.clone()), tune).await;
                app.postgres = Some(store);
                app
            }
        })
    }

    /// The tables with a row holding `needle` (see the stores' `tables_mentioning`).
    pub async fn tables_mentioning(&self, needle: &str) -> Vec<String> {
        match (&self.sqlite, &self.postgres) {
            (Some(store), _) => store.tables_mentioning(needle).await,
            (None, Some(store)) => store.tables_mentioning(needle).await,
            (None, None) => panic!("no concrete store to look in"),
        }
    }

    /// Moves a conversation and its messages to `at` (see the stores' `move_conversation`).
    pub async fn move_conversation(&self, id: &str, at: chrono::DateTime<chrono::Utc>) {
        let id = docent_core::ConversationId(id.parse().expect("a conversation id"));
        let moved = match (&self.sqlite, &self.postgres) {
            (Some(store), _) => store.move_conversation(id, at).await,
            (None, Some(store)) => store.move_conversation(id, at).await,
            (None, None) => panic!("no concrete store to move a conversation in"),
        };
        moved.expect("move the conversation");
    }

    /// Two replicas on one fresh PostgreSQL database, each with its own pool, indexes and
    /// hub, as two `docent serve` behind a load balancer; they share the file store (as
    /// replicas share a bucket).
    pub async fn spawn_replicas() -> Option<(TestApp, TestApp)> {
        Self::spawn_replicas_with(|_| {}).await
    }

    /// [`TestApp::spawn_replicas`] with both replicas' settings tuned by `tune`.
    pub async fn spawn_replicas_with(tune: impl Fn(&mut Settings)) -> Option<(TestApp, TestApp)> {
        let one = docent_store_postgres::fresh_test_store().await?;
        let two = one.another_replica().await;
        let mut front = Self::spawn_on(Arc::new(one.clone()), &tune).await;
        front.postgres = Some(one);
        let files = front.state.settings.data_dir.clone();
        let back = Self::spawn_on(Arc::new(two), |s| {
            tune(s);
            s.data_dir = files;
        })
        .await;
        Some((front, back))
    }

    async fn spawn_on(store: Arc<dyn Store>, tune: impl FnOnce(&mut Settings)) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut settings = Settings {
            listen: addr,
            public_url: Some(format!("http://{addr}")),
            data_dir: std::env::temp_dir()
                .join(format!("docent-test-data-{}", uuid::Uuid::now_v7())),
            ..Settings::default()
        };
        tune(&mut settings);
        let state = AppState::new(store, settings).expect("state");
        let app = build_app(state.clone());
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(serve(listener, app, async {
            rx.await.ok();
        }));
        TestApp {
            base: format!("http://{addr}"),
            state,
            postgres: None,
            sqlite: None,
            _shutdown: tx,
        }
    }

    /// A client with its own cookie jar and no session.
    pub fn anonymous(&self) -> Session {
        Session::new(&self.base, None)
    }

    /// A new account (and its organization), logged in.
    pub async fn signup(&self, email: &str) -> Session {
        let session = self.anonymous();
        let (status, body) = session
            .post("/api/auth/signup", json!({"email": email, "password": "correct horse battery", "name": email.split('@').next()}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "signup {email}: {body}");
        session
    }

    /// A session authenticated with an API key instead of cookies.
    pub fn with_key(&self, key: &str) -> Session {
        Session::new(&self.base, Some(key.to_owned()))
    }
}

pub struct Session {
    pub base: String,
    pub client: reqwest::Client,
    jar: Arc<Jar>,
    bearer: Option<String>,
}

impl Session {
    fn new(base: &str, bearer: Option<String>) -> Session {
        docent_ingest::fetch::init_tls();
        let jar = Arc::new(Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Session {
            base: base.to_owned(),
            client,
            jar,
            bearer,
        }
    }

    /// This browser talking to another replica: cookies are kept by host, not port, so its
    /// session goes along.
    pub fn on(&self, app: &TestApp) -> Session {
        Session {
            base: app.base.clone(),
            client: self.client.clone(),
            jar: self.jar.clone(),
            bearer: self.bearer.clone(),
        }
    }

    /// Puts a cookie in this browser's jar, as a sibling site or a network could.
    pub fn plant_cookie(&self, name: &str, value: &str) {
        let url = self.base.parse().expect("url");
        self.jar
            .add_cookie_str(&format!("{name}={value}; Path=/"), &url);
    }

    /// The value of a cookie the server set.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let url = self.base.parse().expect("url");
        let header = self.jar.cookies(&url)?;
        header
            .to_str()
            .ok()?
            .split(';')
            .filter_map(|c| c.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
    }

    /// Fetches the CSRF cookie when the jar has none yet.
    pub async fn csrf(&self) -> String {
        if let Some(token) = self.cookie("docent_csrf") {
            return token;
        }
        self.client
            .get(format!("{}/health", self.base))
            .send()
            .await
            .expect("health");
        self.cookie("docent_csrf").expect("csrf cookie set")
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(key) = &self.bearer {
            request = request.bearer_auth(key);
        }
        request
    }

    /// Sends JSON (with the CSRF header) and returns the status and the JSON answer.
    pub async fn json(&self, method: Method, path: &str, body: Value) -> (StatusCode, Value) {
        let csrf = self.csrf().await;
        let response = self
            .request(method, path)
            .header("x-csrf-token", csrf)
            .json(&body)
            .send()
            .await
            .expect("send");
        read(response).await
    }

    /// Sends a request without a body (with the CSRF header).
    pub async fn call(&self, method: Method, path: &str) -> (StatusCode, Value) {
        let csrf = self.csrf().await;
        let response = self
            .request(method, path)
            .header("x-csrf-token", csrf)
            .send()
            .await
            .expect("send");
        read(response).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path).await
    }

    /// [`Session::json`] with `POST`.
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.json(Method::POST, path, body).await
    }

    /// [`Session::json`] with `PATCH`.
    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.json(Method::PATCH, path, body).await
    }

    /// [`Session::json`] with `PUT`.
    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.json(Method::PUT, path, body).await
    }

    /// Uploads files (name, bytes) as multipart to `path`.
    pub async fn upload(
        &self,
        path: &str,
        files: &[(&str, &[u8])],
        citable: Option<&str>,
    ) -> (StatusCode, Value) {
        let csrf = self.csrf().await;
        let mut form = reqwest::multipart::Form::new();
        for (name, bytes) in files {
            form = form.part(
                "file",
                reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name.to_string()),
            );
        }
        if let Some(citable) = citable {
            form = form.text("citable", citable.to_owned());
        }
        let response = self
            .request(Method::POST, path)
            .header("x-csrf-token", csrf)
            .multipart(form)
            .send()
            .await
            .expect("send");
        read(response).await
    }

    /// Posts a dashboard form (with its csrf_token field) and returns status and HTML.
    pub async fn form(&self, path: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
        let csrf = self.csrf().await;
        let mut fields: Vec<(&str, &str)> = fields.to_vec();
        fields.push(("csrf_token", &csrf));
        let response = self
            .request(Method::POST, path)
            .form(&fields)
            .send()
            .await
            .expect("send");
        let status = response.status();
        (status, response.text().await.expect("text"))
    }

    pub async fn page(&self, path: &str) -> (StatusCode, String) {
        let response = self.request(Method::GET, path).send().await.expect("send");
        let status = response.status();
        (status, response.text().await.expect("text"))
    }
}

async fn read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("body");
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, value)
}

/// The error code of an error answer.
pub fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no error code>")
}

/// Runs queued jobs until none is left; returns how many ran.
pub async fn drain_jobs(app: &TestApp) -> usize {
    let worker = docent_app::jobs::Worker::new(app.state.app.clone(), "test-worker");
    let mut ran = 0;
    while worker.run_once().await.expect("worker").is_some() {
        ran += 1;
    }
    ran
}

/// Marks a chat space's knowledge as ready, as the ingestion pipeline will.
pub async fn add_completed_document(app: &TestApp, org: &str, space: &str) {
    app.state
        .store
        .create_document(
            org.parse().expect("org id"),
            docent_core::NewDocument {
                chat_space_id: space.parse().expect("chat space id"),
                parent_id: None,
                doc_type: "text".into(),
                title: "Handbook".into(),
                file_name: Some("handbook.txt".into()),
                file_size: None,
                content_hash: None,
                storage_key: None,
                source_url: None,
                citable: true,
                status: docent_core::DocumentStatus::Completed,
            },
        )
        .await
        .expect("document");
}

impl TestApp {
    /// `owner` invites `email` as `role`; that person signs up and accepts.
    pub async fn invite_and_join(&self, owner: &Session, email: &str, role: &str) -> Session {
        let (status, invite) = owner
            .post(
                "/api/organization/invitations",
                json!({"email": email, "role": role}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{invite}");
        let token = invite["accept_url"]
            .as_str()
            .and_then(|link| link.split("token=").nth(1))
            .expect("an accept link with a token")
            .to_owned();
        let member = self.signup(email).await;
        let (status, body) = member
            .post("/api/invitations/accept", json!({"token": token}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        member
    }
}

/// A small valid PDF with one page of text per entry of `pages`.
pub fn tiny_pdf(pages: &[&str]) -> Vec<u8> {
    docent_ingest::pdf::sample(pages)
}

/// Whether PDFium is installed here; CI sets `DOCENT_REQUIRE_PDFIUM` so that its absence
/// fails instead of skipping.
pub fn pdfium_available() -> bool {
    let found = docent_ingest::pdf::available();
    assert!(
        found || std::env::var("DOCENT_REQUIRE_PDFIUM").is_err(),
        "DOCENT_REQUIRE_PDFIUM is set but libpdfium.so was not found"
    );
    found
}

/// A listener on a free loopback port and its base URL, for the small servers tests run
/// (a website, a model provider).
pub async fn loopback() -> (tokio::net::TcpListener, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    (listener, base)
}

/// Serves `app` on `listener` until the test ends.
pub fn serve_in_background(listener: tokio::net::TcpListener, app: axum::Router) {
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
}

/// Reads a server-sent-events body into (event, data) pairs.
pub fn events(body: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for block in body.split("\n\n") {
        let mut event = String::from("message");
        let mut data = String::new();
        for line in block.lines() {
            if let Some(e) = line.strip_prefix("event:") {
                event = e.trim().to_owned();
            } else if let Some(d) = line.strip_prefix("data:") {
                data.push_str(d.strip_prefix(' ').unwrap_or(d));
            }
        }
        if !data.is_empty() {
            out.push((event, serde_json::from_str(&data).expect("JSON data")));
        }
    }
    out
}

/// A streamed chat completion in the OpenAI wire format: `text` in pieces of `piece_chars`
/// characters, a stop, the usage when given, and `[DONE]`.
pub fn completion_stream(
    text: &str,
    piece_chars: usize,
    usage: Option<Value>,
) -> axum::response::Response {
    let chars: Vec<char> = text.chars().collect();
    let mut sse = String::new();
    for piece in chars.chunks(piece_chars.max(1)) {
        let delta: String = piece.iter().collect();
        sse.push_str(&format!(
            "data: {}\n\n",
            json!({"choices": [{"index": 0, "delta": {"content": delta}}]})
        ));
    }
    sse.push_str(&format!(
        "data: {}\n\n",
        json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    ));
    if let Some(usage) = usage {
        sse.push_str(&format!(
            "data: {}\n\n",
            json!({"choices": [], "usage": usage})
        ));
    }
    sse.push_str("data: [DONE]\n\n");
    axum::response::Response::builder()
        .header("content-type", "text/event-stream")
        .body(axum::body::Body::from(sse))
        .expect("response")
}

/// The fields every save of a chat space's Settings form sends, for one with `slug`; a test
/// adds the section it is about.
pub fn settings_fields(slug: &str) -> Vec<(&'static str, &str)> {
    vec![
        ("name", "Shop help"),
        ("endpoint_slug", slug),
        ("description", ""),
        ("ai_config.model", "openai/gpt-4o-mini"),
        ("ai_config.temperature", "0.3"),
        ("ai_config.system_prompt", "Be kind."),
        ("ai_config.dont_know_reply", "I don't know."),
        ("ai_config.max_tokens", "1024"),
        ("retrieval_config.top_k", "5"),
        ("retrieval_config.similarity_threshold", "0.2"),
    ]
}
