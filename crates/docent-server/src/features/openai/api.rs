use std::convert::Infallible;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use docent_app::AppError;
use docent_app::completions::{self, CompletionRequest, Models};
use docent_core::*;
use docent_rag::{AnswerEvent, AskError};
use serde::Serialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::http::answer::joined;

/// An error as OpenAI's API gives it: `{"error": {message, type, param, code}}`, with the
/// status its clients expect.
fn openai_error(e: impl Into<ApiError>) -> Response {
    let e: ApiError = e.into();
    if let ApiError::App(app) = &e {
        app.log();
    }
    let param = e
        .fields()
        .and_then(|f| f.0.first())
        .map(|f| f.field.clone());
    let (status, kind, code) = match &e {
        ApiError::App(AppError::PlanLimitReached { .. } | AppError::QuotaExceeded(_)) => (
            StatusCode::TOO_MANY_REQUESTS,
            "insufficient_quota",
            "insufficient_quota",
        ),
        ApiError::App(AppError::NotFound("model")) => (
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "model_not_found",
        ),
        _ => {
            let status = match e.status() {
                StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
                other => other,
            };
            let kind = match status.as_u16() {
                401 => "authentication_error",
                403 => "permission_error",
                404 => "not_found_error",
                429 => "rate_limit_error",
                500.. => "api_error",
                _ => "invalid_request_error",
            };
            (status, kind, e.code())
        }
    };
    let body =
        json!({"error": {"message": e.message(), "type": kind, "param": param, "code": code}});
    (status, Json(body)).into_response()
}

/// A question that got no answer: a question too long is OpenAI's `context_length_exceeded`.
fn ask_error(e: AskError, plan: Plan) -> Response {
    if matches!(e, AskError::QuestionTooLong) {
        let message = format!(
            "The question is longer than {} characters.",
            docent_rag::MAX_QUESTION_CHARS
        );
        let body = json!({"error": {"message": message, "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}});
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    }
    openai_error(docent_app::answers::ask_error(e, plan))
}

/// Where the answer came from, beside OpenAI's fields.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct DocentExtension {
    pub conversation_id: ConversationId,
    pub message_id: MessageId,
    pub citations: Vec<Citation>,
    pub answer_kind: Option<AnswerKind>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Completion {
    pub id: String,
    pub object: &'static str,
    pub created: i64,
    pub model: String,
    pub choices: Vec<Value>,
    pub usage: Value,
    pub docent: DocentExtension,
}

fn usage(m: &Message) -> Value {
    let (prompt, completion) = (m.tokens_in, m.tokens_out);
    json!({"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion})
}

fn extension(m: &Message) -> DocentExtension {
    DocentExtension {
        conversation_id: m.conversation_id,
        message_id: m.id,
        citations: m.citations.clone(),
        answer_kind: m.answer_kind,
    }
}

pub async fn completions(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    body: Result<ApiJson<CompletionRequest>, ApiError>,
) -> Response {
    let caller = match caller {
        Ok(c) => c,
        Err(e) => return openai_error(e),
    };
    // Asking writes a conversation: viewers may not, whatever they send.
    if let Err(e) = caller.require(Role::Agent) {
        return openai_error(e);
    }
    let request = match body {
        Ok(ApiJson(r)) => r,
        Err(e) => return openai_error(e),
    };
    let plan = caller.org.plan;
    let started = match completions::start(&state, &caller, &request).await {
        Ok(s) => s,
        Err(e) => return openai_error(e),
    };
    let model = started.space.endpoint_slug.clone();
    let created = Utc::now().timestamp();
    let mut events = started.events;
    // Errors before the answer starts (a spent quota, a question too long) are plain HTTP
    // errors, as OpenAI's are; the first event decides.
    let first = events.recv().await;
    let Some(first) = first else {
        return match joined(started.task).await {
            Err(e) => ask_error(e, plan),
            Ok(_) => openai_error(AppError::Internal(
                "the answer ended before it began".into(),
            )),
        };
    };
    // Named after the question's stored message.
    let id = match &first {
        AnswerEvent::Started { message_id, .. } => format!("chatcmpl-{message_id}"),
        _ => format!("chatcmpl-{created}"),
    };
    if !request.streams() {
        while events.recv().await.is_some() {}
        return match joined(started.task).await {
            Ok(m) => Json(Completion {
                id,
                object: "chat.completion",
                created,
                model,
                choices: vec![json!({
                    "index": 0,
                    "message": {"role": "assistant", "content": m.content},
                    "finish_reason": "stop",
                })],
                usage: usage(&m),
                docent: extension(&m),
            })
            .into_response(),
            Err(e) => ask_error(e, plan),
        };
    }
    let include_usage = request.include_usage();
    let chunk = move |delta: Value, finish: Option<&str>, extra: Option<Value>| {
        let mut c = json!({
            "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        });
        if include_usage {
            c["usage"] = Value::Null;
        }
        if let Some(extra) = extra {
            c["docent"] = extra;
        }
        c
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(64);
    tokio::spawn(async move {
        let send = |v: Value| Event::default().data(v.to_string());
        if tx
            .send(send(chunk(
                json!({"role": "assistant", "content": ""}),
                None,
                None,
            )))
            .await
            .is_err()
        {
            return;
        }
        let mut next = Some(first);
        while let Some(event) = next.take() {
            if let AnswerEvent::Delta { text } = event
                && tx
                    .send(send(chunk(json!({"content": text}), None, None)))
                    .await
                    .is_err()
            {
                return;
            }
            next = events.recv().await;
        }
        match joined(started.task).await {
            Ok(m) => {
                let ext = serde_json::to_value(extension(&m)).unwrap_or_default();
                let _ = tx
                    .send(send(chunk(json!({}), Some("stop"), Some(ext))))
                    .await;
                if include_usage {
                    let mut last = chunk(json!({}), None, None);
                    last["choices"] = json!([]);
                    last["usage"] = usage(&m);
                    let _ = tx.send(send(last)).await;
                }
            }
            Err(e) => {
                // After streaming began the status stays 200: the error is an event.
                let e = ApiError::from(docent_app::answers::ask_error(e, plan));
                let _ = tx
                    .send(send(json!({"error": {"message": e.message(), "type": "api_error", "param": null, "code": e.code()}})))
                    .await;
            }
        }
        let _ = tx.send(Event::default().data("[DONE]")).await;
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|e| (Ok::<_, Infallible>(e), rx))
    });
    Sse::new(stream).into_response()
}

pub async fn models(State(state): State<AppState>, caller: Result<Caller, ApiError>) -> Response {
    let caller = match caller {
        Ok(c) => c,
        Err(e) => return openai_error(e),
    };
    match completions::models(&state, &caller).await {
        Ok(models) => Json::<Models>(models).into_response(),
        Err(e) => openai_error(e),
    }
}
