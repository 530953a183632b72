//! Docent's application layer: every action of the product — accounts, organizations,
//! members, chat spaces, API keys, knowledge, answers, the widget's visitors, background jobs
//! and plan limits — as plain async functions over an [`App`], failing with [`AppError`].
//! It knows nothing of HTTP: the server's JSON API, its dashboard pages, the widget endpoints
//! and the `docent` CLI all call these same functions, so every transport enforces the same
//! rules.

pub mod accounts;
pub mod actor;
pub mod answer_webhook;
pub mod answers;
pub mod api_keys;
pub mod auth;
pub mod chat_spaces;
pub mod completions;
pub mod conversations;
pub mod documents;
pub mod error;
pub mod events;
pub mod files;
pub mod handover;
pub mod identity;
pub mod insights;
pub mod jobs;
pub mod leads;
pub mod limits;
pub mod mail;
pub mod orgs;
pub mod platform;
pub mod privacy;
pub mod visitors;
pub mod webhooks;

use std::sync::Arc;
use std::time::{Duration, Instant};

use docent_core::Settings;
use docent_store::Store;

pub use actor::{Caller, Credential, CurrentUser, PlatformAdmin};
pub use error::{AppError, AppErrorKind};

/// Everything an action can reach. Cheap to clone.
#[derive(Clone)]
pub struct App {
    pub store: Arc<dyn Store>,
    pub settings: Arc<Settings>,
    pub mailer: Arc<mail::Mailer>,
    pub started: Instant,
    pub files: Arc<files::Files>,
    /// Wakes this process's idle workers when a job is queued.
    pub jobs_waiting: Arc<tokio::sync::Notify>,
    /// The guarded HTTP client for URL sources.
    pub fetcher: Arc<docent_ingest::fetch::Fetcher>,
    /// Turns chunks and questions into vectors, when a provider is configured.
    pub embedder: Option<Arc<dyn docent_ai::Embedder>>,
    /// Answers questions (every transport goes through it).
    pub answers: docent_rag::AnswerService,
    /// The public widget's rate limits and its cache of published chat spaces.
    pub widget_limits: Arc<limits::WidgetLimits>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("backend", &self.store.backend())
            .field("embedder", &self.embedder)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}
impl App {
    /// Wires the application from the settings; fails on unusable settings (mail, storage,
    /// the model or embedding provider, the local embedder).
    pub fn new(store: Arc<dyn Store>, settings: Settings) -> Result<App, String> {
        let fetcher = Arc::new(web_fetcher(&settings)?);
        let embedder: Option<Arc<dyn docent_ai::Embedder>> =
            match (&settings.embedding_model_dir, &settings.embedding_model) {
                (Some(dir), _) => Some(local_embedder(dir)?),
                (None, None) => None,
                (None, Some(model)) => {
                    let mut config = docent_ai::EmbedderConfig::new(
                        settings.embedding_base_url.clone(),
                        model.clone(),
                    );
                    config.api_key = settings
                        .embedding_api_key
                        .as_ref()
                        .map(|k| k.expose().to_owned());
                    Some(Arc::new(
                        docent_ai::OpenAiEmbedder::new(config).map_err(|e| e.to_string())?,
                    ))
                }
            };
        docent_ingest::pdf::configure(
            settings
                .pdfium_path
                .clone()
                .or_else(|| Some(settings.data_dir.clone())),
        );
        let model: Option<Arc<dyn docent_ai::ChatModel>> = match settings.llm_endpoint() {
            None => None,
            Some((base_url, key)) => {
                let mut config = docent_ai::ChatConfig::new(base_url);
                config.api_key = key.map(|k| k.expose().to_owned());
                let timeout = Duration::from_secs(u64::from(settings.llm_timeout_secs.max(1)));
                config.first_byte_timeout = timeout;
                config.idle_timeout = timeout;
                Some(Arc::new(
                    docent_ai::OpenAiChat::new(config).map_err(|e| e.to_string())?,
                ))
            }
        };
        let answers = docent_rag::AnswerService::new(
            store.clone(),
            embedder.clone(),
            model,
            settings.llm_prices.clone(),
        );
        Ok(App {
            answers,
            store,
            widget_limits: Arc::new(limits::WidgetLimits::new(&settings)),
            mailer: Arc::new(mail::Mailer::from_settings(&settings)?),
            files: Arc::new(match &settings.s3_bucket {
                None => files::Files::local(settings.data_dir.join("files")),
                Some(bucket) => files::Files::bucket(&files::BucketConfig {
                    bucket: bucket.clone(),
                    endpoint: settings.s3_endpoint.clone(),
                    region: settings.s3_region.clone(),
                    access_key_id: settings.s3_access_key_id.clone(),
                    secret_access_key: settings
                        .s3_secret_access_key
                        .as_ref()
                        .map(|s| s.expose().to_owned()),
                })?,
            }),
            settings: Arc::new(settings),
            started: Instant::now(),
            jobs_waiting: Arc::default(),
            fetcher,
            embedder,
        })
    }
}

impl App {
    /// Readiness: the database answers. The backend's name when it does.
    pub async fn ready(&self) -> Result<&'static str, AppError> {
        self.store.ping().await.map_err(|e| {
            tracing::warn!(error = %e, "readiness check failed");
            AppError::NotReady
        })?;
        Ok(self.store.backend())
    }

    /// Whether `bearer` may read the metrics: anyone when `DOCENT_METRICS_TOKEN` is unset,
    /// else only that token (compared in constant time).
    pub fn may_read_metrics(&self, bearer: Option<&str>) -> Result<(), AppError> {
        match (&self.settings.metrics_token, bearer) {
            (None, _) => Ok(()),
            (Some(token), Some(given)) if auth::token::constant_time_eq(token.expose(), given) => {
                Ok(())
            }
            (Some(_), _) => Err(AppError::Unauthenticated),
        }
    }

    /// The backend's name and its connection pool (connections, idle ones), for metrics.
    pub fn database_pool(&self) -> (&'static str, docent_store::PoolStats) {
        (self.store.backend(), self.store.pool_stats())
    }
}

/// The guarded web client the settings ask for: what it may reach, and the browser that
/// renders script-built pages when `DOCENT_CHROMIUM_PATH` is set.
pub fn web_fetcher(settings: &Settings) -> Result<docent_ingest::fetch::Fetcher, String> {
    let policy = docent_ingest::fetch::FetchPolicy {
        allow_private: settings.fetch_allow_private,
        allowed_hosts: settings.fetch_allowed_hosts.clone(),
        max_bytes: settings.max_upload_bytes,
        ..docent_ingest::fetch::FetchPolicy::default()
    };
    let fetcher = docent_ingest::fetch::Fetcher::new(policy.clone()).map_err(|e| e.to_string())?;
    Ok(match &settings.chromium_path {
        Some(chromium) => fetcher.with_renderer(docent_ingest::render::Renderer::new(
            chromium.clone(),
            policy,
        )),
        None => fetcher,
    })
}

/// Readies the search of the busiest published chat spaces (up to 50), one after another in
/// the background, so the first visitors after a start are answered from memory too.
pub async fn warm_search(app: App) {
    let started = Instant::now();
    let spaces = match app.store.busiest_published_chat_spaces(50).await {
        Ok(spaces) => spaces,
        Err(e) => {
            tracing::warn!(error = %e, "could not list the chat spaces to warm");
            return;
        }
    };
    let mut warmed = 0;
    for (org, space) in spaces {
        match app.store.warm_search(org, space).await {
            Ok(()) => warmed += 1,
            Err(e) => {
                tracing::warn!(chat_space = %space, error = %e, "could not warm a search index")
            }
        }
    }
    if warmed > 0 {
        tracing::info!(
            chat_spaces = warmed,
            ms = started.elapsed().as_millis() as u64,
            "search indexes ready"
        );
    }
}

/// A URL Docent will call (a web source, a webhook), through the same guard as every fetch:
/// http(s) only, no credentials, and every address the name resolves to public (unless the
/// settings allow private ones). A malformed URL is a field error on `field`.
pub async fn public_url(app: &App, raw: &str, field: &str) -> Result<url::Url, AppError> {
    use docent_ingest::fetch::{FetchError, check_resolved, check_url};
    let policy = app.fetcher.policy();
    let refuse = |e: FetchError| match e {
        FetchError::InvalidUrl(_) => AppError::validation(field, e.to_string()),
        FetchError::Unreachable(..) | FetchError::TimedOut(..) => {
            AppError::UrlUnreachable(e.to_string())
        }
        other => AppError::UrlNotAllowed(other.to_string()),
    };
    let url = check_url(raw, policy).map_err(refuse)?;
    check_resolved(&url, policy).await.map_err(refuse)?;
    Ok(url)
}

/// The in-process embedder, when this build has it.
#[cfg(feature = "local-embeddings")]
fn local_embedder(dir: &std::path::Path) -> Result<Arc<dyn docent_ai::Embedder>, String> {
    Ok(Arc::new(
        docent_ai::LocalEmbedder::load(dir).map_err(|e| e.to_string())?,
    ))
}
#[cfg(not(feature = "local-embeddings"))]
fn local_embedder(dir: &std::path::Path) -> Result<Arc<dyn docent_ai::Embedder>, String> {
    Err(format!(
        "DOCENT_EMBEDDING_MODEL_DIR is set ({}) but this docent was built without local embeddings; \
         build it with `--features local-embeddings`, or use a provider (DOCENT_EMBEDDING_MODEL)",
        dir.display()
    ))
}
