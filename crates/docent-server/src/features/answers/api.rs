//! `POST /api/chat-spaces/{id}/chat` (JSON, or server-sent events with
//! `Accept: text/event-stream`), conversations, messages and knowledge gaps.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use docent_core::*;
use serde::Deserialize;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, IdPath};
use crate::http::answer::{Present, respond};
use crate::http::list::{List, ListQuery};
use chrono::NaiveDate;
use docent_app::answers::{self, ChatInput, ask_error};
use docent_app::conversations::{self, ConversationFilter, DateRange, ExportFormat};

pub async fn chat(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiJson(input): ApiJson<ChatInput>,
) -> Result<Response, ApiError> {
    let plan = caller.org.plan;
    let (rx, task) = answers::start(&state, &caller, id, input).await?;
    let present = Present {
        error: move |e| ask_error(e, plan),
        message: |m: Message| serde_json::to_value(m).unwrap_or_default(),
    };
    respond(&headers, rx, task, present).await
}

/// `?limit=&cursor=` and which conversations: every condition given must hold.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConversationsQuery {
    #[serde(default)]
    pub limit: Option<u32>,
    #[serde(default)]
    pub cursor: Option<ConversationId>,
    #[serde(default)]
    pub status: Option<ConversationStatus>,
    /// With an answer the visitor rated `up` (or `down`).
    #[serde(default)]
    pub feedback: Option<Feedback>,
    /// Started on or after this day (UTC).
    #[serde(default)]
    #[schemars(example = "2026-11-01")]
    pub from: Option<NaiveDate>,
    /// Started on or before this day (UTC).
    #[serde(default)]
    #[schemars(example = "2026-11-30")]
    pub to: Option<NaiveDate>,
    /// With a message holding all these words (stemmed, any case).
    #[serde(default)]
    #[schemars(length(max = 200), example = "refund card")]
    pub q: Option<String>,
    /// `true`: only those with an answer that was the don't-know reply.
    #[serde(default)]
    pub unanswered: Option<bool>,
    /// `true`: only those a person was asked for or took over.
    #[serde(default)]
    pub handover: Option<bool>,
}

pub async fn conversations(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiQuery(query): ApiQuery<ConversationsQuery>,
) -> Result<Json<List<Conversation>>, ApiError> {
    let range = DateRange {
        from: query.from,
        to: query.to,
    };
    let filter = ConversationFilter {
        status: query.status,
        feedback: query.feedback,
        text: conversations::search_text(query.q)?,
        unanswered: query.unanswered.unwrap_or(false),
        handed_over: query.handover.unwrap_or(false),
        ..range.filter()?
    };
    let page = ListQuery {
        limit: query.limit,
        cursor: query.cursor,
    }
    .page();
    let list = answers::conversations(&state, &caller, id, &filter, page).await?;
    Ok(Json(List::new(list, page.limit, |c| c.id.to_string())))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MessagesQuery {
    #[serde(default)]
    pub after: Option<MessageId>,
    #[serde(default)]
    pub limit: Option<u32>,
}

pub async fn messages(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ConversationId>,
    ApiQuery(query): ApiQuery<MessagesQuery>,
) -> Result<Json<List<Message>>, ApiError> {
    let limit = query.limit.unwrap_or(100).clamp(1, 200);
    let list = answers::messages(&state, &caller, id, query.after, limit).await?;
    Ok(Json(List::new(list, limit, |m| m.id.to_string())))
}

pub async fn conversation(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ConversationId>,
) -> Result<Json<Conversation>, ApiError> {
    Ok(Json(conversations::get(&state, &caller, id).await?))
}

/// The export's format and the days (UTC, both included) its conversations started on.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `csv` (a row a message; the default) or `jsonl` (an object a conversation).
    #[serde(default)]
    pub format: Option<ExportFormat>,
    #[serde(default)]
    #[schemars(example = "2026-11-01")]
    pub from: Option<NaiveDate>,
    #[serde(default)]
    #[schemars(example = "2026-11-30")]
    pub to: Option<NaiveDate>,
}

/// The media types an export may have, as the route table lists them.
pub const EXPORT_TYPES: &[&str] = &["text/csv", "application/x-ndjson"];

/// Streams a chat space's conversations as a file to save.
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let range = DateRange {
        from: query.from,
        to: query.to,
    };
    let format = query.format.unwrap_or_default();
    let export = conversations::export(&state, &caller, id, format, range).await?;
    Ok(crate::http::download(export))
}

pub async fn erase_visitor(
    State(state): State<AppState>,
    caller: Caller,
    IdPath((id, visitor)): IdPath<(ChatSpaceId, String)>,
) -> Result<Json<docent_app::privacy::Erased>, ApiError> {
    Ok(Json(
        docent_app::privacy::erase_visitor(&state, &caller, id, &visitor).await?,
    ))
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitorExportQuery {
    /// `csv` (a row a message; the default) or `jsonl` (an object a conversation).
    #[serde(default)]
    pub format: Option<ExportFormat>,
}

pub async fn export_visitor(
    State(state): State<AppState>,
    caller: Caller,
    IdPath((id, visitor)): IdPath<(ChatSpaceId, String)>,
    ApiQuery(query): ApiQuery<VisitorExportQuery>,
) -> Result<Response, ApiError> {
    let format = query.format.unwrap_or_default();
    let export = docent_app::privacy::export_visitor(&state, &caller, id, &visitor, format).await?;
    Ok(crate::http::download(export))
}
