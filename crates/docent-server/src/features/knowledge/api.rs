//! `/api/chat-spaces/{id}/documents…`, `/api/documents/…` and `/api/chat-spaces/{id}/search`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use docent_core::*;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiMultipart, ApiQuery, IdPath};
use crate::http::list::{List, ListQuery};
use crate::http::upload::read_upload;
use docent_app::documents::{self, AddUrl, PatchDocument};

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

pub async fn add_text(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiJson(input): ApiJson<documents::AddText>,
) -> Result<(StatusCode, Json<Document>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(documents::add_text(&state, &caller, id, input).await?),
    ))
}

pub async fn add_qa(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiJson(input): ApiJson<documents::QaPair>,
) -> Result<(StatusCode, Json<Document>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(documents::add_qa(&state, &caller, id, input).await?),
    ))
}

/// A question-and-answer source's question and answer.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Qa {
    pub question: String,
    pub answer: String,
}

pub async fn qa(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<DocumentId>,
) -> Result<Json<Qa>, ApiError> {
    let (question, answer) = documents::qa(&state, &caller, id).await?;
    Ok(Json(Qa { question, answer }))
}

pub async fn edit_qa(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<DocumentId>,
    ApiJson(input): ApiJson<documents::QaPair>,
) -> Result<(StatusCode, Json<Document>), ApiError> {
    Ok((
        StatusCode::ACCEPTED,
        Json(documents::edit_qa(&state, &caller, id, input).await?),
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

/// `?watch=true` keeps a stream of document events open while nothing is being processed.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    #[serde(default)]
    pub watch: bool,
}

/// Server-sent events of a chat space's documents while any is being processed: a
/// `documents` event with the documents that changed (all of them first, new ones included),
/// each time the Hub says they changed, then `done` once none is pending or processing (with
/// `?watch=true`, only after ten minutes: a page watching for work started elsewhere opens
/// a new stream then). The documents are
/// read from the database, so whichever replica or worker process did the work, what is
/// sent is what is stored; a read every [`FALLBACK`] all the same covers changes no event
/// announced (a worker process on the embedded database, whose hub is its own).
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> Result<
    axum::response::sse::Sse<
        impl futures_util::Stream<Item = Result<axum::response::sse::Event, std::convert::Infallible>>,
    >,
    ApiError,
> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    use docent_store::hub::Subscription;
    use std::collections::HashMap;
    use std::time::{Duration, Instant};
    /// Longest a stream stays open; the page opens a new one if work is still going on.
    const LONGEST: Duration = Duration::from_secs(600);
    /// A read even without an event.
    const FALLBACK: Duration = Duration::from_secs(10);
    /// Reads at most this often, however many events come (a crawl sends one a page).
    const EVERY: Duration = Duration::from_millis(200);
    // Subscribed before the first read, so no change between the two is missed.
    let subscription = documents::watch(&state, &caller, id).await?;
    struct Follow {
        state: AppState,
        caller: Caller,
        id: ChatSpaceId,
        subscription: Option<Subscription>,
        seen: HashMap<DocumentId, (DocumentStatus, i32, i32)>,
        started: Instant,
        first: bool,
        finished: bool,
        watch: bool,
    }
    let start = Follow {
        state,
        caller,
        id,
        subscription: Some(subscription),
        seen: HashMap::new(),
        started: Instant::now(),
        first: true,
        finished: false,
        watch: query.watch,
    };
    let stream = futures_util::stream::unfold(start, |mut f| async move {
        if f.finished {
            return None;
        }
        if !f.first {
            tokio::select! {
                _ = docent_store::hub::heard(&mut f.subscription) => {
                    tokio::time::sleep(EVERY).await;
                }
                () = tokio::time::sleep(FALLBACK) => {}
            }
        }
        f.first = false;
        // An error (the chat space was deleted meanwhile) ends the stream.
        let docs = documents::list(
            &f.state,
            &f.caller,
            f.id,
            Page::first(Page::<DocumentId>::MAX_LIMIT),
        )
        .await
        .ok()?;
        let changed: Vec<&Document> = docs
            .iter()
            .filter(|d| f.seen.get(&d.id) != Some(&(d.status, d.progress, d.chunk_count)))
            .collect();
        let event = Event::default()
            .event("documents")
            .json_data(&changed)
            .unwrap_or_default();
        for d in &docs {
            f.seen.insert(d.id, (d.status, d.progress, d.chunk_count));
        }
        let idle = !f.watch && !docs.iter().any(|d| d.status.is_active());
        f.finished = idle || f.started.elapsed() >= LONGEST;
        Some((Ok(event), f))
    });
    // After the last change, a final `done` closes the stream.
    let stream = futures_util::StreamExt::chain(
        stream,
        futures_util::stream::once(async {
            Ok(axum::response::sse::Event::default()
                .event("done")
                .data("{}"))
        }),
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
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

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    /// Words to look for (at least one letter or digit).
    #[schemars(regex(pattern = r"[^\W_]"), example = "return policy")]
    pub q: String,
    #[serde(default)]
    pub limit: Option<u32>,
    /// `fulltext` (default) or `vector`.
    #[serde(default)]
    pub mode: documents::SearchMode,
}

pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> Result<Json<Vec<ChunkHit>>, ApiError> {
    Ok(Json(
        documents::search(
            &state,
            &caller,
            id,
            &query.q,
            query.mode,
            query.limit.unwrap_or(5),
        )
        .await?,
    ))
}
