//! The dashboard's CSS and JavaScript, compiled into the binary and served with an ETag.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

const FILES: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/app.js"),
    ),
    (
        "markdown.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/markdown.js"),
    ),
    (
        "sse.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/sse.js"),
    ),
    (
        "logo.svg",
        "image/svg+xml",
        include_str!("../../assets/logo.svg"),
    ),
];

/// The quoted ETag of a body: the start of its hash.
pub fn etag_of(body: &str) -> String {
    format!("\"{}\"", &crate::auth::token::hash(body)[..16])
}

/// `body` with its `etag` and the caller's `headers`, or an empty 304 when the client
/// already holds that version.
pub fn revalidated(
    request: &HeaderMap,
    etag: &str,
    mut headers: HeaderMap,
    content_type: &'static str,
    body: impl IntoResponse,
) -> Response {
    headers.insert(
        header::ETAG,
        HeaderValue::from_str(etag).unwrap_or(HeaderValue::from_static("")),
    );
    if request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag)
    {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    (headers, body).into_response()
}

/// The ETags of [`FILES`], in their order, computed once.
static ETAGS: LazyLock<Vec<String>> =
    LazyLock::new(|| FILES.iter().map(|(_, _, body)| etag_of(body)).collect());

pub async fn serve(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some(at) = FILES.iter().position(|(name, _, _)| *name == file) else {
        return ApiError::NotFound("asset").into_response();
    };
    let (_, content_type, body) = FILES[at];
    let mut cache = HeaderMap::new();
    cache.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300, must-revalidate"),
    );
    revalidated(&headers, &ETAGS[at], cache, content_type, body)
}
