//! `GET /api/widget/{slug}/config`, `POST …/conversation`, `GET …/conversation/{id}`,
//! `POST …/chat` (JSON, or server-sent events with `Accept: text/event-stream`) and
//! `POST …/feedback`. The gate has already found the chat space and checked the origin.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use docent_app::AppError;
use docent_core::*;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, IdPath};
use crate::http::answer::{Present, respond};
use crate::http::etag::{etag_of, revalidated};
use docent_app::limits::WidgetSpace;
use docent_app::visitors::{
    self, FeedbackInput, History, Visitor, VisitorMessage, WidgetChat, visitor_error,
};

/// Revalidated on every load (a cheap 304), so a change in the dashboard shows at once.
pub async fn config(w: WidgetSpace, headers: HeaderMap) -> Response {
    let body = serde_json::to_string(&visitors::settings(&w)).unwrap_or_default();
    let mut cache = HeaderMap::new();
    cache.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    revalidated(&headers, &etag_of(&body), cache, "application/json", body)
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Opened {
    pub conversation_id: ConversationId,
}

pub async fn open_conversation(
    State(state): State<AppState>,
    w: WidgetSpace,
    ApiJson(visitor): ApiJson<Visitor>,
) -> Result<(StatusCode, Json<Opened>), ApiError> {
    let conversation = visitors::open_conversation(&state, &w, visitor).await?;
    Ok((
        StatusCode::CREATED,
        Json(Opened {
            conversation_id: conversation.id,
        }),
    ))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    #[schemars(regex(pattern = docent_core::validate::VISITOR_ID_PATTERN))]
    pub visitor_id: String,
}

pub async fn history(
    State(state): State<AppState>,
    w: WidgetSpace,
    IdPath((_, id)): IdPath<(String, String)>,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> Result<Json<History>, ApiError> {
    let id: ConversationId = id.parse().map_err(|_| AppError::NotFound("conversation"))?;
    Ok(Json(
        visitors::history(&state, &w, id, &query.visitor_id).await?,
    ))
}

pub async fn chat(
    State(state): State<AppState>,
    w: WidgetSpace,
    headers: HeaderMap,
    ApiJson(input): ApiJson<WidgetChat>,
) -> Result<Response, ApiError> {
    let (rx, task) = visitors::start(&state, &w, input).await?;
    let (space, plan) = (w.space, w.plan);
    let present = Present {
        error: move |e| visitor_error(&space, plan, e),
        message: |m: Message| serde_json::to_value(VisitorMessage::from(m)).unwrap_or_default(),
    };
    respond(&headers, rx, task, present).await
}

pub async fn feedback(
    State(state): State<AppState>,
    w: WidgetSpace,
    ApiJson(input): ApiJson<FeedbackInput>,
) -> Result<Json<VisitorMessage>, ApiError> {
    Ok(Json(visitors::feedback(&state, &w, input).await?))
}

pub async fn forget(
    State(state): State<AppState>,
    w: WidgetSpace,
    ApiJson(input): ApiJson<docent_app::privacy::ForgetMe>,
) -> Result<Json<docent_app::privacy::Erased>, ApiError> {
    Ok(Json(
        docent_app::privacy::forget_visitor(&state, &w, input).await?,
    ))
}
