//! Request bodies are bounded while they stream, whatever the route, the content type or the
//! transfer encoding. [`middleware`] refuses a declared length over the bound at once (on
//! the API) and wraps every body so reading past it fails (413 `payload_too_large`); multipart bodies may
//! be as large as one upload, everything else as large as `DOCENT_MAX_BODY_BYTES`.
//!
//! Multipart bodies get one more guard ([`MultipartFraming`]): the parser (multer) keeps
//! everything it has read while it looks for the first boundary or for the end of a part's
//! headers, and searches all of it again with every new piece, so a body that never shows
//! its boundary would cost memory and quadratic time up to the upload limit. The guard
//! watches the stream for the same markers and fails it when the text before the first
//! boundary, or a part's headers, pass [`FRAMING_LIMIT`].

use docent_app::AppError;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::{Stream, StreamExt};

use crate::AppState;
use crate::error::ApiError;

/// The most the text before a multipart body's first boundary, or one part's headers, may
/// take. Browsers and HTTP clients send no preamble and a few hundred bytes of headers.
pub const FRAMING_LIMIT: usize = 64 * 1024;

/// The largest multipart body: one file at the upload limit, plus the other fields and the
/// framing (bounded by the JSON/form body limit).
pub fn multipart_limit(settings: &docent_core::Settings) -> usize {
    settings
        .max_upload_bytes
        .saturating_add(settings.max_body_bytes)
}

fn is_multipart(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .get(..19)
                .is_some_and(|t| t.eq_ignore_ascii_case("multipart/form-data"))
        })
}

/// Bounds the body of every request (see the module notes).
pub async fn middleware(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let multipart = is_multipart(&request);
    let limit = if multipart {
        multipart_limit(&state.settings)
    } else {
        state.settings.max_body_bytes
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    // Dashboard pages read up to the limit and then answer in the page itself (the upload
    // form with its error), so only the API refuses a declared length before reading.
    let page = request.uri().path().starts_with("/app/");
    if !page && declared.is_some_and(|n| n > limit as u64) {
        return ApiError::from(AppError::PayloadTooLarge { limit }).into_response();
    }
    let (parts, body) = request.into_parts();
    let body = Body::new(http_body_util::Limited::new(body, limit));
    next.run(Request::from_parts(parts, body)).await
}

/// What the multipart framing guard found wrong.
#[derive(Debug, thiserror::Error)]
pub enum FramingError {
    #[error(
        "no multipart boundary in the first {FRAMING_LIMIT} bytes; send multipart/form-data with the boundary its Content-Type names"
    )]
    NoBoundary,
    #[error("a part's headers passed {FRAMING_LIMIT} bytes without ending")]
    EndlessHeaders,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Before the first `--boundary`.
    Preamble,
    /// After a boundary, before the blank line that ends the part's headers.
    Headers,
    /// A part's content, up to the next `\r\n--boundary`.
    Content,
    /// After the closing `--boundary--`: nothing more is parsed.
    Closed,
}

/// A body stream that fails when multipart framing runs on without end (see the module
/// notes). It only watches: the bytes pass through unchanged.
#[derive(Debug)]
pub struct MultipartFraming<S> {
    inner: S,
    first: Vec<u8>,
    delimiter: Vec<u8>,
    stage: Stage,
    /// The end of what was read so far, as long as the longest marker less one byte, so a
    /// marker split between two pieces is still seen.
    tail: Vec<u8>,
    /// Bytes read in the current preamble or headers.
    run: usize,
    failed: bool,
}

impl<S> MultipartFraming<S> {
    pub fn new(inner: S, boundary: &str) -> Self {
        MultipartFraming {
            inner,
            first: format!("--{boundary}").into_bytes(),
            delimiter: format!("\r\n--{boundary}").into_bytes(),
            stage: Stage::Preamble,
            tail: Vec::new(),
            run: 0,
            failed: false,
        }
    }

    /// Follows the markers through one more piece of the body.
    fn watch(&mut self, piece: &[u8]) -> Result<(), FramingError> {
        let mut window = std::mem::take(&mut self.tail);
        let old = window.len();
        window.extend_from_slice(piece);
        // Where in `window` the current stage began (markers before it are already counted).
        let mut from = 0;
        loop {
            let marker: &[u8] = match self.stage {
                Stage::Preamble => &self.first,
                Stage::Headers => b"\r\n\r\n",
                Stage::Content => &self.delimiter,
                Stage::Closed => return Ok(()),
            };
            match memchr::memmem::find(&window[from..], marker) {
                Some(at) => {
                    let end = from + at + marker.len();
                    if self.stage == Stage::Headers {
                        self.stage = Stage::Content;
                    } else {
                        // A boundary; whether it closes the body shows in the next two bytes.
                        let Some(next) = window.get(end..end + 2) else {
                            self.tail = window.split_off(from + at);
                            return Ok(());
                        };
                        if next == b"--" {
                            self.stage = Stage::Closed;
                            return Ok(());
                        }
                        self.stage = Stage::Headers;
                    }
                    from = end;
                    self.run = 0;
                }
                None => {
                    self.run += window.len().saturating_sub(from.max(old));
                    break;
                }
            }
        }
        match self.stage {
            Stage::Preamble if self.run > FRAMING_LIMIT => return Err(FramingError::NoBoundary),
            Stage::Headers if self.run > FRAMING_LIMIT => {
                return Err(FramingError::EndlessHeaders);
            }
            _ => {}
        }
        let keep = self.delimiter.len() - 1;
        let start = window.len().saturating_sub(keep).max(from);
        self.tail = window.split_off(start);
        Ok(())
    }
}

impl<S, E> Stream for MultipartFraming<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: Into<axum::BoxError>,
{
    type Item = Result<Bytes, axum::BoxError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.failed {
            return Poll::Ready(None);
        }
        match self.inner.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(piece))) => match self.watch(&piece) {
                Ok(()) => Poll::Ready(Some(Ok(piece))),
                Err(e) => {
                    self.failed = true;
                    Poll::Ready(Some(Err(e.into())))
                }
            },
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The first cause of type `T` in `error`'s chain of sources.
pub fn cause<'a, T: std::error::Error + 'static>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut at = Some(error);
    while let Some(e) = at {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        at = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(pieces: &[&[u8]]) -> Result<Stage, FramingError> {
        let mut guard = MultipartFraming::new((), "XyZ");
        for piece in pieces {
            guard.watch(piece)?;
        }
        Ok(guard.stage)
    }

    #[test]
    fn a_well_framed_body_passes_in_any_split() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhello\r\n--XyZ\r\nContent-Disposition: form-data; name=\"citable\"\r\n\r\ntrue\r\n--XyZ--\r\n";
        for split in 1..body.len() {
            let pieces: Vec<&[u8]> = body.chunks(split).collect();
            assert_eq!(
                run(&pieces).expect("framed"),
                Stage::Closed,
                "split {split}"
            );
        }
    }

    #[test]
    fn large_content_is_not_framing() {
        let head = b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\n";
        let content = vec![b'a'; 10 * FRAMING_LIMIT];
        let mut pieces: Vec<&[u8]> = vec![head];
        pieces.extend(content.chunks(8192));
        assert_eq!(run(&pieces).expect("content may be long"), Stage::Content);
    }

    #[test]
    fn a_body_without_its_boundary_fails_within_the_framing_limit() {
        let junk = vec![b'x'; 8192];
        let mut guard = MultipartFraming::new((), "XyZ");
        let mut read = 0;
        let error = loop {
            match guard.watch(&junk) {
                Ok(()) => read += junk.len(),
                Err(e) => break e,
            }
            assert!(read < 10 * FRAMING_LIMIT, "never refused");
        };
        assert!(matches!(error, FramingError::NoBoundary));
        assert!(read <= FRAMING_LIMIT);
    }

    #[test]
    fn endless_part_headers_fail() {
        let mut pieces: Vec<Vec<u8>> = vec![b"--XyZ\r\nX-Long: ".to_vec()];
        pieces.extend((0..20).map(|_| vec![b'h'; 8192]));
        let refs: Vec<&[u8]> = pieces.iter().map(Vec::as_slice).collect();
        assert!(matches!(run(&refs), Err(FramingError::EndlessHeaders)));
    }
}
