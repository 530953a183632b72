//! `/api/chat-spaces/{id}/documents…`, `/api/documents/…` and `/api/chat-spaces/{id}/search`.

use axum::Json;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use docent_core::*;
use serde::Deserialize;

use super::{List, ListQuery};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiMultipart, ApiQuery, IdPath};
use crate::service::documents::{self, AddUrl, PatchDocument, Upload};

/// Reads the files (fields named `file`) and the optional `citable` field of an upload,
/// refusing any file over the configured size while it streams in.
pub async fn read_upload(
    state: &AppState,
    mut multipart: Multipart,
) -> Result<(Vec<Upload>, bool), ApiError> {
    let limit = state.settings.max_upload_bytes;
    let mut uploads = Vec::new();
    let mut citable = true;
    let bad =
        |e: axum::extract::multipart::MultipartError| ApiError::InvalidMultipart(e.body_text());
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        match field.name().unwrap_or_default() {
            "file" => {
                let file_name = field.file_name().unwrap_or("upload").to_owned();
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    if bytes.len() + chunk.len() > limit {
                        return Err(ApiError::PayloadTooLarge { limit });
                    }
                    bytes.extend_from_slice(&chunk);
                }
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
                    _ => return Err(ApiError::validation("citable", "Use true or false.")),
                };
            }
            _ => {}
        }
    }
    Ok((uploads, citable))
}

pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiMultipart(multipart): ApiMultipart,
) -> Result<(StatusCode, Json<Vec<Document>>), ApiError> {
    let (uploads, citable) = read_upload(&state, multipart).await?;
    Ok((
        StatusCode::CREATED,
        Json(documents::upload(&state, &caller, id, uploads, citable).await?),
    ))
}

pub async fn add_url(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiJson(input): ApiJson<AddUrl>,
) -> Result<(StatusCode, Json<Document>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(documents::add_url(&state, &caller, id, input).await?),
    ))
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiQuery(query): ApiQuery<ListQuery<DocumentId>>,
) -> Result<Json<List<Document>>, ApiError> {
    let page = query.page();
    let docs = documents::list(&state, &caller, id, page).await?;
    Ok(Json(List::new(docs, page.limit, |d| d.id.to_string())))
}

pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<DocumentId>,
) -> Result<Json<Document>, ApiError> {
    Ok(Json(documents::get(&state, &caller, id).await?))
}

pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<DocumentId>,
    ApiJson(input): ApiJson<PatchDocument>,
) -> Result<Json<Document>, ApiError> {
    Ok(Json(documents::patch(&state, &caller, id, input).await?))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<DocumentId>,
) -> Result<StatusCode, ApiError> {
    documents::delete(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn reprocess(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<DocumentId>,
) -> Result<(StatusCode, Json<Document>), ApiError> {
    Ok((
        StatusCode::ACCEPTED,
        Json(documents::reprocess(&state, &caller, id).await?),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkQuery {
    #[serde(default)]
    pub after: Option<i32>,
    #[serde(default)]
    pub limit: Option<u32>,
}

pub async fn chunks(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<DocumentId>,
    ApiQuery(query): ApiQuery<ChunkQuery>,
) -> Result<Json<List<Chunk>>, ApiError> {
    let limit = query.limit.unwrap_or(50).clamp(1, 200);
    let chunks = documents::chunks(&state, &caller, id, query.after, limit).await?;
    Ok(Json(List::new(chunks, limit, |c| {
        c.chunk_index.to_string()
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    pub q: String,
    #[serde(default)]
    pub limit: Option<u32>,
}

pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> Result<Json<Vec<ChunkHit>>, ApiError> {
    Ok(Json(
        documents::search(&state, &caller, id, &query.q, query.limit.unwrap_or(5)).await?,
    ))
}
