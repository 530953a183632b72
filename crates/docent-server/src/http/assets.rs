//! The dashboard's CSS and JavaScript, compiled into the binary and served with an ETag.

use docent_app::AppError;
use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::http::etag::{etag_of, revalidated};

const FILES: &[(&str, &str, &str)] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../../assets/dashboard/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/dashboard/app.js"),
    ),
    (
        "markdown.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/shared/markdown.js"),
    ),
    (
        "sse.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/shared/sse.js"),
    ),
    (
        "inbox.js",
        "text/javascript; charset=utf-8",
        include_str!("../../assets/dashboard/inbox.js"),
    ),
    (
        "logo.svg",
        "image/svg+xml",
        include_str!("../../assets/dashboard/logo.svg"),
    ),
];

/// The ETags of [`FILES`], in their order, computed once.
static ETAGS: LazyLock<Vec<String>> =
    LazyLock::new(|| FILES.iter().map(|(_, _, body)| etag_of(body)).collect());

pub async fn serve(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some(at) = FILES.iter().position(|(name, _, _)| *name == file) else {
        return ApiError::from(AppError::NotFound("asset")).into_response();
    };
    let (_, content_type, body) = FILES[at];
    let mut cache = HeaderMap::new();
    cache.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300, must-revalidate"),
    );
    revalidated(&headers, &ETAGS[at], cache, content_type, body)
}
