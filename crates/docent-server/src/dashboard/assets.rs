//! The dashboard's CSS and JavaScript, compiled into the binary and served with an ETag.

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
        "logo.svg",
        "image/svg+xml",
        include_str!("../../assets/logo.svg"),
    ),
];

fn etag(body: &str) -> String {
    format!("\"{}\"", &crate::auth::token::hash(body)[..16])
}

pub async fn serve(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let Some((_, content_type, body)) = FILES.iter().find(|(name, _, _)| *name == file) else {
        return ApiError::NotFound("asset").into_response();
    };
    let tag = etag(body);
    let cache = [
        (
            header::ETAG,
            HeaderValue::from_str(&tag).unwrap_or(HeaderValue::from_static("")),
        ),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=300, must-revalidate"),
        ),
    ];
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == tag)
    {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    (cache, [(header::CONTENT_TYPE, *content_type)], *body).into_response()
}
