//! Operations endpoints: liveness, readiness, Prometheus metrics, the OpenAPI document, and
//! the middleware that records request metrics and sets security headers.

use crate::error::HttpError;
use docent_app::AppError;
use std::sync::OnceLock;
use std::time::Instant;

use axum::Json;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method as M, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiError;
use crate::routes::{Access, Kind, Route, r};

/// The process-wide metrics recorder (installed once, shared by every app in the process).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("http_request_duration_seconds".into()),
                    &[
                        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    ],
                )
                .unwrap_or_else(|_| PrometheusBuilder::new());
            match builder.install_recorder() {
                Ok(handle) => handle,
                // Another recorder is installed already (an embedding program's): render an
                // empty registry rather than fail.
                Err(_) => PrometheusBuilder::new().build_recorder().handle(),
            }
        })
        .clone()
}

/// Liveness: the process answers.
pub async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// Readiness: the database answers.
pub async fn ready(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let backend = state.ready().await?;
    Ok(Json(json!({"status": "ready", "database": backend})))
}

/// Prometheus metrics; with `DOCENT_METRICS_TOKEN` set, for its bearer only.
pub async fn metrics(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    state.may_read_metrics(crate::auth::bearer(&headers))?;
    let (backend, pool) = state.database_pool();
    metrics::gauge!("db_pool_connections", "backend" => backend).set(f64::from(pool.size));
    metrics::gauge!("db_pool_idle_connections", "backend" => backend).set(f64::from(pool.idle));
    metrics::gauge!("process_uptime_seconds").set(state.started.elapsed().as_secs_f64());
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response())
}

/// Counts requests and their latency by method, route template and status.
pub async fn track_metrics(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().to_string();
    let start = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(start.elapsed().as_secs_f64());
    response
}

macro_rules! csp_without_framing {
    () => {
        "default-src 'self'; img-src 'self' data: https:; style-src 'self'; script-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self';"
    };
}
/// The pages' content security policy but for `frame-ancestors`, which ends it.
pub const CSP_WITHOUT_FRAMING: &str = csp_without_framing!();
const CSP: &str = concat!(csp_without_framing!(), " frame-ancestors 'none'");

pub async fn security_headers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let is_html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    // A page that set its own policy (the iframe embed) says who may frame it.
    let own_policy = headers.contains_key(header::CONTENT_SECURITY_POLICY);
    if !own_policy {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    headers.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
    );
    if is_html {
        if !own_policy {
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            );
        }
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if state.settings.secure_cookies() {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

/// The OpenAPI 3.1 document, generated from the route table the router is built from.
pub async fn openapi(State(state): State<AppState>) -> Json<Value> {
    Json(crate::openapi::document(&state.settings.public_base_url()))
}

/// The API reference, rendered from the OpenAPI document.
pub async fn api_docs(State(state): State<AppState>) -> Response {
    match crate::openapi::reference_page(&state.settings.public_base_url()) {
        Ok(html) => axum::response::Html(html).into_response(),
        Err(e) => ApiError::from(AppError::Internal(format!(
            "rendering the API reference: {e}"
        )))
        .into_response(),
    }
}

/// The answer for paths no route matches.
pub async fn not_found(request: Request) -> Response {
    if request.uri().path().starts_with("/api/") {
        ApiError::from(AppError::NotFound("endpoint")).into_response()
    } else {
        crate::http::pages::PageError::from(AppError::NotFound("page")).into_response()
    }
}

pub async fn method_not_allowed() -> Response {
    ApiError::from(HttpError::MethodNotAllowed).into_response()
}

/// This feature's routes (joined into the route table by [`crate::routes::routes`]).
#[rustfmt::skip]
pub fn routes() -> Vec<Route> {
    use Access::*;
    use Kind::*;
    vec![
        r(M::GET, "/health", Public, Ops, "Liveness", get(health)),
        r(M::GET, "/ready", Public, Ops, "Readiness: the database answers", get(ready)),
        r(M::GET, "/metrics", Public, Ops, "Prometheus metrics", get(metrics)),
        r(M::GET, "/api/openapi.json", Public, Ops, "This API's OpenAPI document", get(openapi)),
        r(M::GET, "/api/docs", Public, Ops, "The API reference, from the OpenAPI document", get(api_docs)),
        r(M::GET, "/assets/{file}", Public, Ops, "Dashboard CSS and JavaScript", get(crate::http::assets::serve)),
    ]
}
