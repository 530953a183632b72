//! [`Settings`]: every knob of a Docent instance, with working defaults, read from defaults →
//! an optional `docent.toml` → `DOCENT_*` environment variables → command-line flags.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize, Serializer};

/// A value that must not reach logs: `Debug` and `Serialize` print `[redacted]`.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("[redacted]")
    }
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object a line, for log collectors.
    Json,
}

/// The effective configuration of one `docent` process.
#[derive(Clone, Debug, Serialize)]
pub struct Settings {
    /// Address the HTTP server listens on. `DOCENT_LISTEN`, `--listen`.
    pub listen: SocketAddr,
    /// Where the embedded database and uploaded files live. `DOCENT_DATA_DIR`, `--data-dir`.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; unset means SQLite in `data_dir`.
    /// `DOCENT_DATABASE_URL`, `--database-url`.
    pub database_url: Option<Secret>,
    /// Most connections in the database pool. `DOCENT_DATABASE_MAX_CONNECTIONS`.
    pub database_max_connections: u32,
    /// The address people reach this server at, for links in emails and embed code; unset
    /// means `http://{listen}`. `https://` also makes cookies `Secure`. `DOCENT_PUBLIC_URL`.
    pub public_url: Option<String>,
    /// `smtps://user:pass@host:465` (TLS), `smtp://…:587?tls=required` (STARTTLS) or plain
    /// `smtp://host:25`; unset writes emails to the log and the admin outbox instead.
    /// `DOCENT_SMTP_URL`.
    pub smtp_url: Option<Secret>,
    /// Sender of outgoing emails. `DOCENT_SMTP_FROM`.
    pub smtp_from: String,
    /// `text` or `json`. `DOCENT_LOG_FORMAT`.
    pub log_format: LogFormat,
    /// Largest JSON or form body accepted, in bytes. `DOCENT_MAX_BODY_BYTES`.
    pub max_body_bytes: usize,
    /// How long a login lasts, in days. `DOCENT_SESSION_DAYS`.
    pub session_days: u32,
    /// Failed logins per account within 15 minutes before it is throttled.
    /// `DOCENT_LOGIN_MAX_FAILURES_PER_ACCOUNT`.
    pub login_max_failures_per_account: u32,
    /// Failed logins per client IP within 15 minutes before it is throttled.
    /// `DOCENT_LOGIN_MAX_FAILURES_PER_IP`.
    pub login_max_failures_per_ip: u32,
    /// Take the client IP from `X-Forwarded-For` (only behind a trusted proxy).
    /// `DOCENT_TRUST_PROXY`.
    pub trust_proxy: bool,
    /// When set, `GET /metrics` answers only `Authorization: Bearer <this>` (Prometheus'
    /// `authorization` setting); unset, it answers anyone. `DOCENT_METRICS_TOKEN`.
    pub metrics_token: Option<Secret>,
    /// Largest uploaded file, in bytes. `DOCENT_MAX_UPLOAD_BYTES`.
    pub max_upload_bytes: usize,
    /// `libpdfium.so` or its directory; unset looks beside the binary and in the data
    /// directory. `DOCENT_PDFIUM_PATH`.
    pub pdfium_path: Option<PathBuf>,
    /// Headless Chromium for pages that build their text with JavaScript; unset fetches
    /// pages without running their scripts. `DOCENT_CHROMIUM_PATH`.
    pub chromium_path: Option<PathBuf>,
    /// Background workers (document processing) in this process; 0 runs none, for
    /// web-only replicas next to `docent worker` processes. `DOCENT_WORKERS`.
    pub workers: u32,
    /// The `docent` binary workers run as a child process to read each file, with memory and
    /// time limits; `docent serve` uses itself. Unset in-process extraction (tests).
    /// `DOCENT_EXTRACTOR`.
    pub extractor: Option<PathBuf>,
    /// Memory limit of one extraction child process, in MiB. `DOCENT_EXTRACT_MEMORY_MB`.
    pub extract_memory_mb: u32,
    /// Time limit of one extraction, in seconds. `DOCENT_EXTRACT_TIMEOUT_SECS`.
    pub extract_timeout_secs: u32,
    /// How long a worker holds a job without a heartbeat before another may take it over,
    /// in seconds. `DOCENT_JOB_LEASE_SECS`.
    pub job_lease_secs: u32,
    /// Let URL sources reach loopback and private addresses (tests, intranets). Off, only
    /// public addresses are fetched. `DOCENT_FETCH_ALLOW_PRIVATE`.
    pub fetch_allow_private: bool,
    /// Hosts URL sources may reach even though they are private, e.g. an intranet wiki.
    /// `DOCENT_FETCH_ALLOWED_HOSTS` (comma-separated).
    pub fetch_allowed_hosts: Vec<String>,
    /// Pause between two requests of a site crawl, in milliseconds (robots.txt's
    /// Crawl-delay wins when longer). `DOCENT_CRAWL_DELAY_MS`.
    pub crawl_delay_ms: u32,
    /// Embedding model of an OpenAI-compatible provider, e.g. `openai/text-embedding-3-small`;
    /// unset, knowledge is searched by full text only. `DOCENT_EMBEDDING_MODEL`.
    pub embedding_model: Option<String>,
    /// The provider's base URL (OpenRouter by default; OpenAI, Ollama and vLLM work by URL).
    /// `DOCENT_EMBEDDING_BASE_URL`.
    pub embedding_base_url: String,
    /// `DOCENT_EMBEDDING_API_KEY` (or `OPENROUTER_API_KEY`).
    pub embedding_api_key: Option<Secret>,
    /// A directory with all-MiniLM-L6-v2 (`config.json`, `model.safetensors`,
    /// `tokenizer.json`) to embed in process instead of calling a provider; needs a build
    /// with the `local-embeddings` feature. `DOCENT_EMBEDDING_MODEL_DIR`.
    pub embedding_model_dir: Option<PathBuf>,
    /// Keep uploaded files in this S3-compatible bucket instead of the data directory (needed
    /// when several replicas share PostgreSQL). `DOCENT_S3_BUCKET`; credentials and region
    /// also come from the usual `AWS_*` variables.
    pub s3_bucket: Option<String>,
    /// For MinIO, Cloudflare R2 and other non-AWS providers. `DOCENT_S3_ENDPOINT`.
    pub s3_endpoint: Option<String>,
    /// `DOCENT_S3_REGION`.
    pub s3_region: String,
    /// `DOCENT_S3_ACCESS_KEY_ID`.
    pub s3_access_key_id: Option<String>,
    /// `DOCENT_S3_SECRET_ACCESS_KEY`.
    pub s3_secret_access_key: Option<Secret>,
    /// Base URL of an OpenAI-compatible chat provider, e.g. `http://localhost:11434/v1` for
    /// Ollama. `DOCENT_LLM_BASE_URL`; with only a key set, OpenRouter is used. With neither,
    /// answers are extractive (best sentences of the knowledge, cited).
    pub llm_base_url: Option<String>,
    /// `DOCENT_LLM_API_KEY` (or `OPENROUTER_API_KEY`).
    pub llm_api_key: Option<Secret>,
    /// How long a model may take to start answering, and to go quiet mid-answer.
    /// `DOCENT_LLM_TIMEOUT_SECS`.
    pub llm_timeout_secs: u32,
    /// How long a webhook receiver may take to answer one delivery.
    /// `DOCENT_WEBHOOK_TIMEOUT_SECS`.
    pub webhook_timeout_secs: u32,
    /// Prices per million tokens by model, for the cost of each answer (`[llm_prices]` in
    /// docent.toml). Models not listed cost 0.
    pub llm_prices: BTreeMap<String, ModelPrice>,
    /// Requests a minute one address may make to the public widget API.
    /// `DOCENT_WIDGET_REQUESTS_PER_MINUTE`.
    pub widget_requests_per_minute: u32,
    /// Messages a minute one widget conversation may send.
    /// `DOCENT_WIDGET_MESSAGES_PER_MINUTE`.
    pub widget_messages_per_minute: u32,
    /// New widget conversations a minute one chat space accepts, from all visitors together,
    /// so that rotating addresses cannot fill the database.
    /// `DOCENT_WIDGET_CONVERSATIONS_PER_MINUTE`.
    pub widget_conversations_per_minute: u32,
    /// A widget conversation quiet this long is closed; the next message starts a new one.
    /// `DOCENT_WIDGET_IDLE_SECS`.
    pub widget_idle_secs: u32,
}

/// What a model costs, in US dollars per million tokens.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelPrice {
    pub input_per_million: f64,
    pub output_per_million: f64,
}

impl ModelPrice {
    /// The cost of a call in micro-USD.
    pub fn cost_micro_usd(&self, tokens_in: u32, tokens_out: u32) -> i64 {
        (f64::from(tokens_in) * self.input_per_million
            + f64::from(tokens_out) * self.output_per_million)
            .round() as i64
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("docent-data"),
            database_url: None,
            database_max_connections: 10,
            public_url: None,
            smtp_url: None,
            smtp_from: "Docent <no-reply@localhost>".to_owned(),
            log_format: LogFormat::Text,
            max_body_bytes: 1024 * 1024,
            session_days: 30,
            login_max_failures_per_account: 5,
            login_max_failures_per_ip: 30,
            trust_proxy: false,
            metrics_token: None,
            max_upload_bytes: 50 * 1024 * 1024,
            pdfium_path: None,
            chromium_path: None,
            workers: 2,
            extractor: None,
            extract_memory_mb: 1024,
            extract_timeout_secs: 120,
            job_lease_secs: 60,
            fetch_allow_private: false,
            fetch_allowed_hosts: Vec::new(),
            crawl_delay_ms: 500,
            embedding_model: None,
            embedding_base_url: "https://openrouter.ai/api/v1".to_owned(),
            embedding_api_key: None,
            embedding_model_dir: None,
            s3_bucket: None,
            s3_endpoint: None,
            s3_region: "us-east-1".to_owned(),
            s3_access_key_id: None,
            s3_secret_access_key: None,
            llm_base_url: None,
            llm_api_key: None,
            llm_timeout_secs: 60,
            webhook_timeout_secs: 15,
            llm_prices: default_prices(),
            widget_requests_per_minute: 100,
            widget_messages_per_minute: 12,
            widget_conversations_per_minute: 300,
            widget_idle_secs: 30 * 60,
        }
    }
}

/// A few well-known models, so costs show without configuration; docent.toml overrides.
fn default_prices() -> BTreeMap<String, ModelPrice> {
    [
        ("openai/gpt-4o-mini", 0.15, 0.60),
        ("openai/gpt-4o", 2.50, 10.0),
        ("openai/gpt-4.1-mini", 0.40, 1.60),
        ("anthropic/claude-3.5-haiku", 0.80, 4.0),
        ("google/gemini-2.0-flash-001", 0.10, 0.40),
    ]
    .into_iter()
    .map(|(model, input, output)| {
        (
            model.to_owned(),
            ModelPrice {
                input_per_million: input,
                output_per_million: output,
            },
        )
    })
    .collect()
}

/// One layer of settings: a `docent.toml`, the environment or the command line.
/// Every field is optional; a set field overrides the layers below it.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsLayer {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<Secret>,
    pub database_max_connections: Option<u32>,
    pub public_url: Option<String>,
    pub smtp_url: Option<Secret>,
    pub smtp_from: Option<String>,
    pub log_format: Option<LogFormat>,
    pub max_body_bytes: Option<usize>,
    pub session_days: Option<u32>,
    pub login_max_failures_per_account: Option<u32>,
    pub login_max_failures_per_ip: Option<u32>,
    pub trust_proxy: Option<bool>,
    pub metrics_token: Option<Secret>,
    pub max_upload_bytes: Option<usize>,
    pub pdfium_path: Option<PathBuf>,
    pub chromium_path: Option<PathBuf>,
    pub workers: Option<u32>,
    pub extractor: Option<PathBuf>,
    pub extract_memory_mb: Option<u32>,
    pub extract_timeout_secs: Option<u32>,
    pub job_lease_secs: Option<u32>,
    pub fetch_allow_private: Option<bool>,
    pub fetch_allowed_hosts: Option<Vec<String>>,
    pub crawl_delay_ms: Option<u32>,
    pub embedding_model: Option<String>,
    pub embedding_base_url: Option<String>,
    pub embedding_api_key: Option<Secret>,
    pub embedding_model_dir: Option<PathBuf>,
    pub s3_bucket: Option<String>,
    pub s3_endpoint: Option<String>,
    pub s3_region: Option<String>,
    pub s3_access_key_id: Option<String>,
    pub s3_secret_access_key: Option<Secret>,
    pub llm_base_url: Option<String>,
    pub llm_api_key: Option<Secret>,
    pub llm_timeout_secs: Option<u32>,
    pub webhook_timeout_secs: Option<u32>,
    pub llm_prices: Option<BTreeMap<String, ModelPrice>>,
    pub widget_requests_per_minute: Option<u32>,
    pub widget_messages_per_minute: Option<u32>,
    pub widget_conversations_per_minute: Option<u32>,
    pub widget_idle_secs: Option<u32>,
}

/// A setting that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("environment variable {name}={value:?}: {message}")]
    Env {
        name: String,
        value: String,
        message: String,
    },
    #[error("{0}")]
    Invalid(String),
}

macro_rules! apply_layer {
    // The layer is taken apart without `..`: a field left out of the lists does not compile.
    ($settings:expr, $layer:expr, [$($field:ident),*], [$($opt:ident),*]) => {{
        let SettingsLayer { $($field,)* $($opt,)* } = $layer;
        $(if let Some(v) = $field { $settings.$field = v; })*
        $(if $opt.is_some() { $settings.$opt = $opt; })*
    }};
}

impl Settings {
    /// Reads defaults, then `config_file` (or `./docent.toml` when it exists), then the
    /// environment (through `env`, so tests need not touch the process environment), then
    /// `flags`.
    pub fn load(
        config_file: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
        flags: SettingsLayer,
    ) -> Result<Settings, SettingsError> {
        let mut settings = Settings::default();
        let default_file = Path::new("docent.toml");
        let file = match config_file {
            Some(path) => Some(path),
            None if default_file.exists() => Some(default_file),
            None => None,
        };
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
                path: path.to_owned(),
                source,
            })?;
            let layer: SettingsLayer = toml::from_str(&text).map_err(|e| SettingsError::File {
                path: path.to_owned(),
                message: e.message().to_owned(),
            })?;
            settings.apply(layer);
        }
        settings.apply(SettingsLayer::from_env(env)?);
        settings.apply(flags);
        settings.check()?;
        Ok(settings)
    }

    fn apply(&mut self, layer: SettingsLayer) {
        apply_layer!(
            self,
            layer,
            [
                listen,
                data_dir,
                database_max_connections,
                smtp_from,
                log_format,
                max_body_bytes,
                session_days,
                login_max_failures_per_account,
                login_max_failures_per_ip,
                trust_proxy,
                max_upload_bytes,
                workers,
                extract_memory_mb,
                extract_timeout_secs,
                job_lease_secs,
                fetch_allow_private,
                fetch_allowed_hosts,
                crawl_delay_ms,
                embedding_base_url,
                s3_region,
                llm_timeout_secs,
                webhook_timeout_secs,
                llm_prices,
                widget_requests_per_minute,
                widget_messages_per_minute,
                widget_conversations_per_minute,
                widget_idle_secs
            ],
            [
                database_url,
                public_url,
                smtp_url,
                metrics_token,
                pdfium_path,
                chromium_path,
                extractor,
                embedding_model,
                embedding_api_key,
                embedding_model_dir,
                s3_bucket,
                s3_endpoint,
                s3_access_key_id,
                s3_secret_access_key,
                llm_base_url,
                llm_api_key
            ]
        );
    }

    fn check(&self) -> Result<(), SettingsError> {
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(SettingsError::Invalid(format!(
                "public_url {url:?} must start with http:// or https://"
            )));
        }
        if let Some(url) = &self.database_url {
            let url = url.expose();
            if !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
            {
                return Err(SettingsError::Invalid(
                    "database_url must start with sqlite:, postgres:// or postgresql://".into(),
                ));
            }
        }
        if self.database_max_connections == 0 || self.session_days == 0 || self.job_lease_secs < 2 {
            return Err(SettingsError::Invalid(
                "database_max_connections and session_days must be at least 1, job_lease_secs at least 2".into(),
            ));
        }
        if self.widget_requests_per_minute == 0
            || self.widget_messages_per_minute == 0
            || self.widget_conversations_per_minute == 0
            || self.widget_idle_secs == 0
        {
            return Err(SettingsError::Invalid(
                "widget_requests_per_minute, widget_messages_per_minute, widget_conversations_per_minute and widget_idle_secs must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// The base URL for links, without a trailing slash.
    pub fn public_base_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.listen),
        }
    }

    /// Whether cookies must carry `Secure`.
    pub fn secure_cookies(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    }

    /// The chat provider's base URL and key, when one is configured.
    pub fn llm_endpoint(&self) -> Option<(String, Option<&Secret>)> {
        match (&self.llm_base_url, &self.llm_api_key) {
            (None, None) => None,
            (url, key) => Some((
                url.clone()
                    .unwrap_or_else(|| "https://openrouter.ai/api/v1".to_owned()),
                key.as_ref(),
            )),
        }
    }

    /// Whether the configured database is PostgreSQL.
    pub fn uses_postgres(&self) -> bool {
        self.database_url
            .as_ref()
            .is_some_and(|u| u.expose().starts_with("postgres"))
    }
}

impl SettingsLayer {
    /// Reads `DOCENT_*` variables through `env`.
    pub fn from_env(env: impl Fn(&str) -> Option<String>) -> Result<SettingsLayer, SettingsError> {
        fn parse<T: std::str::FromStr>(
            env: &impl Fn(&str) -> Option<String>,
            name: &str,
        ) -> Result<Option<T>, SettingsError>
        where
            T::Err: fmt::Display,
        {
            match env(name) {
                None => Ok(None),
                Some(v) if v.is_empty() => Ok(None),
                Some(v) => v.parse().map(Some).map_err(|e: T::Err| SettingsError::Env {
                    name: name.to_owned(),
                    value: v.clone(),
                    message: e.to_string(),
                }),
            }
        }
        let text = |name: &str| env(name).filter(|v| !v.is_empty());
        let log_format = match text("DOCENT_LOG_FORMAT").as_deref() {
            None => None,
            Some("json") => Some(LogFormat::Json),
            Some("text") => Some(LogFormat::Text),
            Some(other) => {
                return Err(SettingsError::Env {
                    name: "DOCENT_LOG_FORMAT".into(),
                    value: other.into(),
                    message: "use text or json".into(),
                });
            }
        };
        Ok(SettingsLayer {
            listen: parse(&env, "DOCENT_LISTEN")?,
            data_dir: text("DOCENT_DATA_DIR").map(PathBuf::from),
            database_url: text("DOCENT_DATABASE_URL").map(Secret),
            database_max_connections: parse(&env, "DOCENT_DATABASE_MAX_CONNECTIONS")?,
            public_url: text("DOCENT_PUBLIC_URL"),
            smtp_url: text("DOCENT_SMTP_URL").map(Secret),
            smtp_from: text("DOCENT_SMTP_FROM"),
            log_format,
            max_body_bytes: parse(&env, "DOCENT_MAX_BODY_BYTES")?,
            session_days: parse(&env, "DOCENT_SESSION_DAYS")?,
            login_max_failures_per_account: parse(&env, "DOCENT_LOGIN_MAX_FAILURES_PER_ACCOUNT")?,
            login_max_failures_per_ip: parse(&env, "DOCENT_LOGIN_MAX_FAILURES_PER_IP")?,
            trust_proxy: parse(&env, "DOCENT_TRUST_PROXY")?,
            metrics_token: text("DOCENT_METRICS_TOKEN").map(Secret),
            max_upload_bytes: parse(&env, "DOCENT_MAX_UPLOAD_BYTES")?,
            pdfium_path: text("DOCENT_PDFIUM_PATH").map(PathBuf::from),
            chromium_path: text("DOCENT_CHROMIUM_PATH").map(PathBuf::from),
            workers: parse(&env, "DOCENT_WORKERS")?,
            extractor: text("DOCENT_EXTRACTOR").map(PathBuf::from),
            extract_memory_mb: parse(&env, "DOCENT_EXTRACT_MEMORY_MB")?,
            extract_timeout_secs: parse(&env, "DOCENT_EXTRACT_TIMEOUT_SECS")?,
            job_lease_secs: parse(&env, "DOCENT_JOB_LEASE_SECS")?,
            fetch_allow_private: parse(&env, "DOCENT_FETCH_ALLOW_PRIVATE")?,
            crawl_delay_ms: parse(&env, "DOCENT_CRAWL_DELAY_MS")?,
            embedding_model: text("DOCENT_EMBEDDING_MODEL"),
            embedding_model_dir: text("DOCENT_EMBEDDING_MODEL_DIR").map(PathBuf::from),
            s3_bucket: text("DOCENT_S3_BUCKET"),
            s3_endpoint: text("DOCENT_S3_ENDPOINT"),
            s3_region: text("DOCENT_S3_REGION"),
            s3_access_key_id: text("DOCENT_S3_ACCESS_KEY_ID"),
            s3_secret_access_key: text("DOCENT_S3_SECRET_ACCESS_KEY").map(Secret),
            embedding_base_url: text("DOCENT_EMBEDDING_BASE_URL"),
            llm_base_url: text("DOCENT_LLM_BASE_URL"),
            llm_api_key: text("DOCENT_LLM_API_KEY")
                .or_else(|| text("OPENROUTER_API_KEY"))
                .map(Secret),
            llm_timeout_secs: parse(&env, "DOCENT_LLM_TIMEOUT_SECS")?,
            webhook_timeout_secs: parse(&env, "DOCENT_WEBHOOK_TIMEOUT_SECS")?,
            llm_prices: None,
            widget_requests_per_minute: parse(&env, "DOCENT_WIDGET_REQUESTS_PER_MINUTE")?,
            widget_messages_per_minute: parse(&env, "DOCENT_WIDGET_MESSAGES_PER_MINUTE")?,
            widget_conversations_per_minute: parse(&env, "DOCENT_WIDGET_CONVERSATIONS_PER_MINUTE")?,
            widget_idle_secs: parse(&env, "DOCENT_WIDGET_IDLE_SECS")?,
            embedding_api_key: text("DOCENT_EMBEDDING_API_KEY")
                .or_else(|| text("OPENROUTER_API_KEY"))
                .map(Secret),
            fetch_allowed_hosts: text("DOCENT_FETCH_ALLOWED_HOSTS").map(|v| {
                v.split(',')
                    .map(|h| h.trim().to_ascii_lowercase())
                    .filter(|h| !h.is_empty())
                    .collect()
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn layers_override_in_order() {
        let dir = std::env::temp_dir().join(format!("docent-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("docent.toml");
        std::fs::write(&file, "listen = \"0.0.0.0:9000\"\nsession_days = 7\n").expect("write");
        let flags = SettingsLayer {
            session_days: Some(3),
            ..Default::default()
        };
        let s = Settings::load(
            Some(&file),
            env(&[("DOCENT_LISTEN", "127.0.0.1:7000")]),
            flags,
        )
        .expect("valid");
        assert_eq!(s.listen.to_string(), "127.0.0.1:7000");
        assert_eq!(s.session_days, 3);
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn every_kind_of_setting_reaches_the_settings() {
        let dir = std::env::temp_dir().join(format!("docent-llm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("docent.toml");
        std::fs::write(
            &file,
            "[llm_prices.\"acme/small\"]\ninput_per_million = 1.0\noutput_per_million = 2.0\n",
        )
        .expect("write");
        let s = Settings::load(
            Some(&file),
            env(&[
                ("DOCENT_EMBEDDING_MODEL_DIR", "/models/minilm"),
                ("DOCENT_S3_BUCKET", "files"),
                ("OPENROUTER_API_KEY", "sk-or"),
            ]),
            SettingsLayer::default(),
        )
        .expect("valid");
        assert_eq!(s.embedding_model_dir, Some(PathBuf::from("/models/minilm")));
        assert_eq!(s.s3_bucket.as_deref(), Some("files"));
        let (url, key) = s.llm_endpoint().expect("a key configures the LLM");
        assert_eq!(url, "https://openrouter.ai/api/v1");
        assert_eq!(key.map(Secret::expose), Some("sk-or"));
        assert_eq!(s.llm_prices["acme/small"].cost_micro_usd(1000, 500), 2000);
        assert!(
            !s.llm_prices.contains_key("openai/gpt-4o-mini"),
            "the file's table replaces the defaults"
        );
        assert!(Settings::default().llm_endpoint().is_none());
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn secrets_are_redacted() {
        let s = Settings::load(
            None,
            env(&[("DOCENT_DATABASE_URL", "postgres://u:hunter2@db/docent")]),
            SettingsLayer::default(),
        )
        .expect("valid");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!serde_json::to_string(&s).expect("json").contains("hunter2"));
        assert!(s.uses_postgres());
    }

    #[test]
    fn bad_values_are_named() {
        let err = Settings::load(
            None,
            env(&[("DOCENT_LISTEN", "nowhere")]),
            SettingsLayer::default(),
        )
        .expect_err("bad listen");
        assert!(err.to_string().contains("DOCENT_LISTEN"), "{err}");
        let err = Settings::load(
            None,
            env(&[("DOCENT_DATABASE_URL", "mysql://x")]),
            SettingsLayer::default(),
        )
        .expect_err("bad url");
        assert!(err.to_string().contains("database_url"), "{err}");
    }
}
