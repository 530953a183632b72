//! Files to save, streamed as they are written: exports.

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use docent_app::conversations::Export;

/// A `200` whose body is the export's bytes as they come, saved under its file name. An
/// error after the first bytes ends the body early (logged), so the client sees a broken
/// transfer rather than a file that looks whole.
pub fn download(export: Export) -> Response {
    let Export {
        file_name,
        format,
        chunks,
    } = export;
    let body = futures_util::stream::unfold(chunks, |mut chunks| async move {
        let next = chunks.recv().await?;
        let next = next.map_err(|e| {
            e.log();
            std::io::Error::other(e.to_string())
        });
        Some((next, chunks))
    });
    // The name is ours (a slug, a date, an extension); quotes are kept out all the same.
    let name: String = file_name
        .chars()
        .filter(|c| c.is_ascii_graphic() && *c != '"' && *c != '\\')
        .collect();
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(format.content_type()),
            ),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        Body::from_stream(body),
    )
        .into_response()
}
