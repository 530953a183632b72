//! The files of an upload (the API's and the Knowledge page's form alike).

use axum::extract::Multipart;
use docent_app::AppError;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::multipart_error;
use docent_app::documents::Upload;

/// Reads the files (fields named `file`) and the optional `citable` field of an upload,
/// refusing any file over the configured size while it streams in, and any other field (a
/// form's CSRF token aside): a misspelt field would otherwise be dropped unseen.
pub async fn read_upload(
    state: &AppState,
    mut multipart: Multipart,
) -> Result<(Vec<Upload>, bool), ApiError> {
    let limit = state.settings.max_upload_bytes;
    let mut uploads = Vec::new();
    let mut citable = true;
    let bad = |e: axum::extract::multipart::MultipartError| multipart_error(&e, state);
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        match field.name().unwrap_or_default() {
            "file" => {
                let file_name = field.file_name().unwrap_or("upload").to_owned();
                // The pieces as they came, joined once complete: a growing buffer would
                // hold up to twice the limit while it doubles.
                let mut pieces = Vec::new();
                let mut size = 0;
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    size += chunk.len();
                    if size > limit {
                        return Err(AppError::PayloadTooLarge { limit }.into());
                    }
                    pieces.push(chunk);
                }
                let bytes = pieces.concat();
                // Browsers send an empty, nameless part when no file was chosen.
                if !(bytes.is_empty() && file_name.is_empty()) {
                    uploads.push(Upload { file_name, bytes });
                }
            }
            "citable" => {
                let value = field.text().await.map_err(bad)?;
                citable = match value.trim() {
                    "true" | "on" | "1" | "yes" => true,
                    "false" | "off" | "0" | "no" | "" => false,
                    _ => return Err(AppError::validation("citable", "Use true or false.").into()),
                };
            }
            crate::auth::CSRF_FIELD => {}
            _ => {
                return Err(AppError::validation(
                    "form",
                    "Send files as `file` parts and, optionally, `citable`; nothing else.",
                )
                .into());
            }
        }
    }
    Ok((uploads, citable))
}
