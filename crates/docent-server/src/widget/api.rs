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
    /// A signed-in visitor's identity, `visitor_id.expires.token`, where the
    /// `X-Docent-Identity` header cannot be sent (an `EventSource`).
    #[serde(default)]
    #[schemars(length(max = 400))]
    pub identity: Option<String>,
}

pub async fn conversations(
    State(state): State<AppState>,
    w: WidgetSpace,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> Result<Json<crate::http::list::Data<visitors::VisitorConversation>>, ApiError> {
    Ok(Json(crate::http::list::Data {
        data: visitors::conversations(&state, &w, &query.visitor_id).await?,
    }))
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

pub async fn handover(
    State(state): State<AppState>,
    w: WidgetSpace,
    ApiJson(input): ApiJson<docent_app::handover::HandoverInput>,
) -> Result<Json<docent_app::handover::VisitorStatus>, ApiError> {
    Ok(Json(
        docent_app::handover::visitor_asks(&state, &w, input).await?,
    ))
}

pub async fn contact(
    State(state): State<AppState>,
    w: WidgetSpace,
    ApiJson(input): ApiJson<docent_app::handover::ContactInput>,
) -> Result<Json<docent_app::handover::VisitorStatus>, ApiError> {
    Ok(Json(
        docent_app::handover::visitor_contact(&state, &w, input).await?,
    ))
}

pub async fn lead(
    State(state): State<AppState>,
    w: WidgetSpace,
    ApiJson(input): ApiJson<docent_app::leads::LeadInput>,
) -> Result<(StatusCode, Json<docent_app::leads::LeadSaved>), ApiError> {
    let saved = docent_app::leads::submit(&state, &w, input).await?;
    let status = if saved.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(saved)))
}

pub async fn typing(
    State(state): State<AppState>,
    w: WidgetSpace,
    ApiJson(input): ApiJson<docent_app::handover::VisitorTyping>,
) -> Result<StatusCode, ApiError> {
    docent_app::handover::visitor_typing(&state, &w, input).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A visitor's conversation live (SSE): `status` {status, agent} first and on each change,
/// `message` (an agent's reply, a [`VisitorMessage`] with the message id as event id),
/// `typing` {by: "agent"}. A reconnecting browser sends `Last-Event-ID`, and the replies
/// after that one come first; when events may have been lost, the stream catches up from
/// the database the same way.
pub async fn events(
    State(state): State<AppState>,
    w: WidgetSpace,
    headers: HeaderMap,
    IdPath((_, id)): IdPath<(String, String)>,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> Result<Response, ApiError> {
    use axum::response::IntoResponse;
    use axum::response::sse::{Event, KeepAlive, Sse};
    use docent_app::handover;
    use docent_store::hub::{Received, heard};
    let id: ConversationId = id.parse().map_err(|_| AppError::NotFound("conversation"))?;
    let (conversation, subscription) =
        handover::visitor_follow(&state, &w, id, &query.visitor_id).await?;
    let last: Option<MessageId> = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    struct Follow {
        state: AppState,
        conversation: Conversation,
        subscription: Option<docent_store::hub::Subscription>,
        last: Option<MessageId>,
        queue: std::collections::VecDeque<Event>,
        /// What to read again: the replies after the last one sent, and the status too.
        catch_up: Option<bool>,
    }
    async fn catch_up(f: &mut Follow, with_status: bool) -> Result<(), AppError> {
        if with_status {
            f.conversation = handover::reread(&f.state, &f.conversation).await?;
            let status = handover::visitor_status(&f.state, &f.conversation).await?;
            f.queue.push_back(
                Event::default()
                    .event("status")
                    .json_data(&status)
                    .unwrap_or_default(),
            );
        }
        // A first connection starts from the newest message: the history holds the rest.
        if f.last.is_none() {
            f.last = f
                .state
                .store
                .recent_messages(f.conversation.org_id, f.conversation.id, 1)
                .await?
                .first()
                .map(|m| m.id);
            return Ok(());
        }
        for m in handover::agent_messages_after(&f.state, &f.conversation, f.last).await? {
            f.last = Some(m.id);
            f.queue.push_back(
                Event::default()
                    .event("message")
                    .id(m.id.to_string())
                    .json_data(VisitorMessage::from(m))
                    .unwrap_or_default(),
            );
        }
        Ok(())
    }
    let start = Follow {
        state: state.clone(),
        conversation,
        subscription: Some(subscription),
        last,
        queue: Default::default(),
        catch_up: Some(true),
    };
    let stream = futures_util::stream::unfold(start, |mut f| async move {
        loop {
            if let Some(event) = f.queue.pop_front() {
                return Some((Ok::<_, std::convert::Infallible>(event), f));
            }
            if let Some(with_status) = f.catch_up.take() {
                // An error (the conversation was erased) ends the stream.
                catch_up(&mut f, with_status).await.ok()?;
                continue;
            }
            match heard(&mut f.subscription).await {
                Received::Missed => f.catch_up = Some(true),
                Received::Event(e) => match e.kind.as_str() {
                    "status" => f.catch_up = Some(true),
                    "message" if e.data["role"] == "agent" => f.catch_up = Some(false),
                    "typing" if e.data["by"] == "agent" => {
                        f.queue.push_back(
                            Event::default()
                                .event("typing")
                                .json_data(serde_json::json!({"by": "agent"}))
                                .unwrap_or_default(),
                        );
                    }
                    _ => {}
                },
            }
        }
    });
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(15)))
        .into_response())
}
