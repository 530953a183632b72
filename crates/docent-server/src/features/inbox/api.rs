//! The inbox API (DESIGN §4 "Handover and inbox"): conversations with a person or waiting
//! for one, their live events, and what agents do with them.

use std::convert::Infallible;
use std::time::Duration;

use crate::auth::Caller;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use docent_app::handover::{
    self, AssignInput, CannedInput, InboxEntry, InboxQuery, Replied, ReplyInput, Workspace,
};
use docent_core::*;
use docent_store::hub::{Received, heard};
use futures_util::Stream;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, IdPath};
use crate::http::list::List;

pub async fn inbox(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<InboxQuery>,
) -> Result<Json<List<InboxEntry>>, ApiError> {
    let entries = handover::inbox(&state, &caller, &query).await?;
    Ok(Json(List {
        data: entries,
        next_cursor: None,
    }))
}

/// The organization's inbox as server-sent events: `conversation` {conversation_id,
/// chat_space_id, what} when a conversation of a chat space the caller sees changed (a
/// handover, an assignment, a message, a note, its end), `typing` when someone types in
/// one, and `resync` when events may have been lost (a replica's database connection
/// dropped): read the lists again. A comment every 15 s keeps proxies from closing it.
pub async fn events(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let subscription = handover::follow_inbox(&state, &caller).await?;
    // The member is online (for routing) while the stream is open, on every instance.
    let presence = handover::agent_online(&state, &caller).await?;
    let stream = futures_util::stream::unfold(
        (Some(subscription), caller, presence),
        |(mut subscription, caller, presence)| async move {
            loop {
                let event = match heard(&mut subscription).await {
                    Received::Missed => Event::default().event("resync").data("{}"),
                    Received::Event(e) if handover::inbox_event_visible(&caller, &e) => {
                        Event::default()
                            .event(e.kind.as_str())
                            .json_data(&e.data)
                            .unwrap_or_default()
                    }
                    Received::Event(_) => continue,
                };
                return Some((Ok(event), (subscription, caller, presence)));
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

pub async fn workspace(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ConversationId>,
) -> Result<Json<Workspace>, ApiError> {
    Ok(Json(handover::workspace(&state, &caller, id).await?))
}

pub async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ConversationId>,
    ApiJson(input): ApiJson<AssignInput>,
) -> Result<Json<Conversation>, ApiError> {
    Ok(Json(handover::assign(&state, &caller, id, input).await?))
}

pub async fn reply(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ConversationId>,
    ApiJson(input): ApiJson<ReplyInput>,
) -> Result<(StatusCode, Json<Replied>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(handover::reply(&state, &caller, id, input).await?),
    ))
}

pub async fn typing(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ConversationId>,
) -> Result<StatusCode, ApiError> {
    handover::agent_typing(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn release(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ConversationId>,
) -> Result<Json<Conversation>, ApiError> {
    Ok(Json(
        handover::end(&state, &caller, id, HandoverEnd::Released).await?,
    ))
}

pub async fn close(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ConversationId>,
) -> Result<Json<Conversation>, ApiError> {
    Ok(Json(
        handover::end(&state, &caller, id, HandoverEnd::Closed).await?,
    ))
}

pub async fn canned_replies(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<CannedReply>>, ApiError> {
    Ok(Json(handover::canned_replies(&state, &caller).await?))
}

pub async fn create_canned_reply(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<CannedInput>,
) -> Result<(StatusCode, Json<CannedReply>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(handover::create_canned_reply(&state, &caller, input).await?),
    ))
}

pub async fn update_canned_reply(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<CannedReplyId>,
    ApiJson(input): ApiJson<CannedInput>,
) -> Result<Json<CannedReply>, ApiError> {
    Ok(Json(
        handover::update_canned_reply(&state, &caller, id, input).await?,
    ))
}

pub async fn delete_canned_reply(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<CannedReplyId>,
) -> Result<StatusCode, ApiError> {
    handover::delete_canned_reply(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
