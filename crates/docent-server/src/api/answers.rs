//! `POST /api/chat-spaces/{id}/chat` (JSON, or server-sent events with
//! `Accept: text/event-stream`), conversations, messages and knowledge gaps.

use std::convert::Infallible;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use docent_core::*;
use docent_rag::{AnswerEvent, AskError, Source};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::{List, ListQuery};
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, IdPath};
use crate::service::answers::{self, ChatInput, ask_error};

/// The JSON answer: the stored assistant message and what was retrieved.
#[derive(Debug, Serialize)]
pub struct ChatAnswer {
    pub conversation_id: ConversationId,
    pub message: Message,
    pub sources: Vec<Source>,
}

pub async fn chat(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiJson(input): ApiJson<ChatInput>,
) -> Result<Response, ApiError> {
    let plan = caller.org.plan;
    let (rx, task) = answers::start(&state, &caller, id, input).await?;
    let wants_stream = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"));
    if wants_stream {
        stream(rx, task, plan).await
    } else {
        whole(rx, task, plan).await
    }
}

/// Waits for the whole answer.
async fn whole(
    mut rx: mpsc::Receiver<AnswerEvent>,
    task: tokio::task::JoinHandle<Result<Message, AskError>>,
    plan: Plan,
) -> Result<Response, ApiError> {
    let mut sources = Vec::new();
    let mut conversation_id = None;
    while let Some(event) = rx.recv().await {
        if let AnswerEvent::Started {
            conversation_id: c,
            sources: s,
            ..
        } = event
        {
            conversation_id = Some(c);
            sources = s.unwrap_or_default();
        }
    }
    let message = joined(task).await.map_err(|e| ask_error(e, plan))?;
    Ok(Json(ChatAnswer {
        conversation_id: conversation_id.unwrap_or(message.conversation_id),
        message,
        sources,
    })
    .into_response())
}

async fn joined(
    task: tokio::task::JoinHandle<Result<Message, AskError>>,
) -> Result<Message, AskError> {
    task.await.unwrap_or_else(|e| {
        Err(AskError::Rag(docent_rag::RagError::Store(
            docent_store::StoreError::Corrupt(format!("the answer task failed: {e}")),
        )))
    })
}

/// Streams the answer: `start` (conversation, message id, sources), `delta` {text}…, then
/// `done` {message} or `error` {code, message}. Errors before the answer starts are plain
/// HTTP errors.
async fn stream(
    mut rx: mpsc::Receiver<AnswerEvent>,
    task: tokio::task::JoinHandle<Result<Message, AskError>>,
    plan: Plan,
) -> Result<Response, ApiError> {
    let Some(first) = rx.recv().await else {
        // The service ended before starting: its error is the response.
        let error = match joined(task).await {
            Err(e) => ask_error(e, plan),
            Ok(_) => ApiError::Internal("an answer ended without starting".into()),
        };
        return Err(error);
    };
    struct Follow {
        first: Option<AnswerEvent>,
        rx: mpsc::Receiver<AnswerEvent>,
        task: Option<tokio::task::JoinHandle<Result<Message, AskError>>>,
        plan: Plan,
    }
    let follow = Follow {
        first: Some(first),
        rx,
        task: Some(task),
        plan,
    };
    let events = futures_util::stream::unfold(follow, |mut f| async move {
        let event = match f.first.take() {
            Some(event) => event,
            None => match f.rx.recv().await {
                Some(event) => event,
                None => {
                    // Over: report a failure that came after the start, once.
                    let task = f.task.take()?;
                    return match joined(task).await {
                        Ok(_) => None,
                        Err(e) => {
                            let e = ask_error(e, f.plan);
                            let event = Event::default().event("error").json_data(
                                serde_json::json!({"code": e.code(), "message": e.message()}),
                            );
                            Some((Ok::<_, Infallible>(event.unwrap_or_default()), f))
                        }
                    };
                }
            },
        };
        let sse = match &event {
            AnswerEvent::Started { .. } => Event::default().event("start").json_data(&event),
            AnswerEvent::Delta { text } => Event::default()
                .event("delta")
                .json_data(serde_json::json!({ "text": text })),
            AnswerEvent::Done { message } => Event::default().event("done").json_data(message),
        };
        Some((Ok(sse.unwrap_or_default()), f))
    });
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response())
}

pub async fn conversations(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiQuery(query): ApiQuery<ListQuery<ConversationId>>,
) -> Result<Json<List<Conversation>>, ApiError> {
    let page = query.page();
    let list = answers::conversations(&state, &caller, id, page).await?;
    Ok(Json(List::new(list, page.limit, |c| c.id.to_string())))
}

#[derive(Debug, Deserialize)]
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GapsQuery {
    #[serde(default)]
    pub limit: Option<u32>,
}

pub async fn knowledge_gaps(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiQuery(query): ApiQuery<GapsQuery>,
) -> Result<Json<Vec<KnowledgeGap>>, ApiError> {
    let limit = query.limit.unwrap_or(100).clamp(1, 500);
    Ok(Json(
        answers::knowledge_gaps(&state, &caller, id, limit).await?,
    ))
}
