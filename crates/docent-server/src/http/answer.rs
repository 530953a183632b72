//! An answer as a response: the whole answer as JSON, or server-sent events (`start`,
//! `delta`, `done`, `error`) when the caller accepts `text/event-stream`. The API and the
//! widget both answer this way, each presenting errors and messages for its callers.

use docent_app::AppError;
use std::convert::Infallible;

use axum::Json;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use docent_core::*;
use docent_rag::{AnswerEvent, AskError, Source};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::error::ApiError;

/// How an answer is shown to one kind of caller: its errors and its stored message.
pub struct Present<E, M> {
    pub error: E,
    pub message: M,
}

impl<E, M> std::fmt::Debug for Present<E, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Present").finish_non_exhaustive()
    }
}

/// Answers with the whole answer as JSON, or with server-sent events when `headers` accept
/// `text/event-stream`.
pub async fn respond<E, M>(
    headers: &HeaderMap,
    rx: mpsc::Receiver<AnswerEvent>,
    task: JoinHandle<Result<Message, AskError>>,
    present: Present<E, M>,
) -> Result<Response, ApiError>
where
    E: Fn(AskError) -> AppError + Send + 'static,
    M: Fn(Message) -> Value + Send + 'static,
{
    let wants_stream = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"));
    if wants_stream {
        stream(rx, task, present).await
    } else {
        whole(rx, task, present).await
    }
}

/// Waits for the whole answer: `{conversation_id, message, sources?}` (sources only for
/// callers who may see them).
async fn whole<E, M>(
    mut rx: mpsc::Receiver<AnswerEvent>,
    task: JoinHandle<Result<Message, AskError>>,
    present: Present<E, M>,
) -> Result<Response, ApiError>
where
    E: Fn(AskError) -> AppError,
    M: Fn(Message) -> Value,
{
    let mut sources: Option<Vec<Source>> = None;
    let mut conversation_id = None;
    while let Some(event) = rx.recv().await {
        if let AnswerEvent::Started {
            conversation_id: c,
            sources: s,
            ..
        } = event
        {
            conversation_id = Some(c);
            sources = s;
        }
    }
    let message = joined(task).await.map_err(&present.error)?;
    Ok(Json(Answered {
        conversation_id: conversation_id.unwrap_or(message.conversation_id),
        message: (present.message)(message),
        sources,
    })
    .into_response())
}

/// A whole answer as JSON: the conversation it belongs to, the message (of type `M` as the
/// transport shows it) and, when asked for, the passages it was drawn from.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
#[schemars(rename = "Answered{M}")]
pub struct Answered<M> {
    pub conversation_id: ConversationId,
    pub message: M,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sources: Option<Vec<Source>>,
}

pub(crate) async fn joined(
    task: JoinHandle<Result<Message, AskError>>,
) -> Result<Message, AskError> {
    task.await.unwrap_or_else(|e| {
        Err(AskError::Rag(docent_rag::RagError::Store(
            docent_store::StoreError::Task(format!("the answer task failed: {e}")),
        )))
    })
}

/// Streams the answer: `start` (conversation, message id, sources), `delta` {text}…, then
/// `done` {message} or `error` {code, message}. Errors before the answer starts are plain
/// HTTP errors.
async fn stream<E, M>(
    mut rx: mpsc::Receiver<AnswerEvent>,
    task: JoinHandle<Result<Message, AskError>>,
    present: Present<E, M>,
) -> Result<Response, ApiError>
where
    E: Fn(AskError) -> AppError + Send + 'static,
    M: Fn(Message) -> Value + Send + 'static,
{
    let Some(first) = rx.recv().await else {
        // The service ended before starting: its error is the response.
        let error = match joined(task).await {
            Err(e) => (present.error)(e),
            Ok(_) => AppError::Internal("an answer ended without starting".into()),
        };
        return Err(error.into());
    };
    struct Follow<E, M> {
        first: Option<AnswerEvent>,
        rx: mpsc::Receiver<AnswerEvent>,
        task: Option<JoinHandle<Result<Message, AskError>>>,
        present: Present<E, M>,
    }
    let follow = Follow {
        first: Some(first),
        rx,
        task: Some(task),
        present,
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
                            let e = ApiError::from((f.present.error)(e));
                            let event = Event::default().event("error").json_data(
                                serde_json::json!({"code": e.code(), "message": e.message()}),
                            );
                            Some((Ok::<_, Infallible>(event.unwrap_or_default()), f))
                        }
                    };
                }
            },
        };
        let sse = match event {
            event @ AnswerEvent::Started { .. } => {
                Event::default().event("start").json_data(&event)
            }
            AnswerEvent::Delta { text } => Event::default()
                .event("delta")
                .json_data(serde_json::json!({ "text": text })),
            AnswerEvent::Done { message } => {
                Event::default()
                    .event("done")
                    .json_data((f.present.message)(message))
            }
        };
        Some((Ok(sse.unwrap_or_default()), f))
    });
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response())
}
