//! Docent's HTTP server: the JSON API, the dashboard, the widget's endpoints and operations,
//! thin transports over the application (`docent_app`): each handler extracts, calls one
//! action and shapes the answer. [`build_app`] makes the router; [`serve`] runs it until a
//! shutdown signal. The binary and the tests both use exactly these.

pub mod auth;
pub mod body;
pub mod error;
pub mod extract;
pub mod features;
pub mod http;
pub mod openapi;
pub mod ops;
pub mod routes;
pub mod widget;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use docent_core::Settings;
use docent_store::Store;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};

pub use docent_app::App;
pub use error::ApiError;

/// Everything a request handler can reach: the application and this process's metrics.
/// Cheap to clone; derefs to the [`App`], whose actions the handlers call.
#[derive(Clone, Debug)]
pub struct AppState {
    pub app: App,
    pub metrics: PrometheusHandle,
}

impl AppState {
    /// Wires the application; fails only on unusable settings (mail, storage, models).
    pub fn new(store: Arc<dyn Store>, settings: Settings) -> Result<AppState, String> {
        Ok(AppState {
            app: App::new(store, settings)?,
            metrics: ops::metrics_handle(),
        })
    }
}

impl std::ops::Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.app
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole application as one router.
pub fn build_app(state: AppState) -> Router {
    routes::router()
        .route_layer(axum::middleware::from_fn(ops::track_metrics))
        .fallback(ops::not_found)
        .layer(axum::middleware::from_fn(http::pages::html_errors))
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
