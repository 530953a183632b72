//! Revalidation by ETag, for the dashboard's assets and the widget's scripts and config.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The quoted ETag of a body: the start of its hash.
pub fn etag_of(body: &str) -> String {
    format!("\"{}\"", &docent_app::auth::token::hash(body)[..16])
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
