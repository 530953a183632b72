//! Docent's HTTP server: the JSON API, the dashboard, and operations endpoints, all built on
//! the same service functions. [`build_app`] makes the router; [`serve`] runs it until a
//! shutdown signal. The binary and the tests both use exactly these.

pub mod api;
pub mod auth;
pub mod body;
pub mod dashboard;
pub mod error;
pub mod events;
pub mod extract;
pub mod files;
pub mod http;
pub mod jobs;
pub mod mail;
pub mod ops;
pub mod routes;
pub mod service;
pub mod widget;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use docent_core::Settings;
use docent_store::Store;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};

pub use error::ApiError;

/// Everything a request handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub settings: Arc<Settings>,
    pub mailer: Arc<mail::Mailer>,
    pub throttle: Arc<auth::throttle::Throttle>,
    pub metrics: PrometheusHandle,
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
    /// The public widget's rate limits.
    pub widget_limits: Arc<widget::gate::WidgetLimits>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("backend", &self.store.backend())
            .field("embedder", &self.embedder)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
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
pub async fn warm_search(state: AppState) {
    let started = Instant::now();
    let spaces = match state.store.busiest_published_chat_spaces(50).await {
        Ok(spaces) => spaces,
        Err(e) => {
            tracing::warn!(error = %e, "could not list the chat spaces to warm");
            return;
        }
    };
    let mut warmed = 0;
    for (org, space) in spaces {
        match state.store.warm_search(org, space).await {
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

impl AppState {
    /// Wires the state; fails only on unusable mail settings.
    pub fn new(store: Arc<dyn Store>, settings: Settings) -> Result<AppState, String> {
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
        Ok(AppState {
            answers,
            store,
            widget_limits: Arc::new(widget::gate::WidgetLimits::new(&settings)),
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
            throttle: Arc::default(),
            metrics: ops::metrics_handle(),
            started: Instant::now(),
            jobs_waiting: Arc::default(),
            fetcher,
            embedder,
        })
    }
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

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole application as one router.
pub fn build_app(state: AppState) -> Router {
    routes::router()
        .route_layer(axum::middleware::from_fn(ops::track_metrics))
        .fallback(ops::not_found)
        .layer(axum::middleware::from_fn(dashboard::html_errors))
        .layer(axum::middleware::from_fn_with_state(state.clone(), widget::gate::middleware))
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::csrf::middleware))
        .layer(DefaultBodyLimit::max(state.settings.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(state.clone(), body::middleware))
        .layer(axum::middleware::from_fn_with_state(state.clone(), ops::security_headers))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                let id = request
                    .headers()
                    .get(REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
            })
            .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

/// Serves `app` on `listener` until `shutdown` completes, then lets in-flight requests finish
/// (for up to 10 seconds).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    // No Nagle delay: streamed answers go out token by token, not 40 ms apart.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
    });
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        tx.send(true).ok();
    });
    let mut rx = rx;
    tokio::select! {
        result = server => result,
        _ = async {
            rx.wait_for(|stopped| *stopped).await.ok();
            tokio::time::sleep(Duration::from_secs(10)).await;
        } => {
            tracing::warn!("requests still running 10 s after shutdown began; stopping anyway");
            Ok(())
        }
    }
}
