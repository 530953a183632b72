//! Human handover and the live inbox (DESIGN §4 "Handover and inbox", §7): what asks for a
//! person (the visitor, phrases, don't-know replies in a row, answers rated down, keywords),
//! the states `active → waiting_for_human → human → closed` with `release` back to the bot,
//! agents' replies and internal notes, and the events every live view follows on the Hub.
//!
//! Topics: `conversation:{id}` (what the visitor's widget and an open transcript follow:
//! `message`, `status`, `typing`) and `org:{id}` (the inbox: `conversation`, `typing`). An
//! event carries ids only; a subscriber re-reads what changed.

use chrono::{DateTime, Utc};
use docent_core::config::{AiConfig, HandoverConfig};
use docent_core::*;
use docent_store::hub::{Event, Subscription};
use docent_store::{InboxFilter, InboxItem};
use serde::{Deserialize, Serialize};

use crate::actor::Caller;
use crate::limits::WidgetSpace;
use crate::{App, AppError, conversations};

pub fn conversation_topic(id: ConversationId) -> String {
    format!("conversation:{id}")
}

pub fn org_topic(id: OrgId) -> String {
    format!("org:{id}")
}

/// A chat space's handover settings.
pub fn config(space: &ChatSpace) -> HandoverConfig {
    docent_core::config::read::<AiConfig>(&space.ai_config).handover
}

/// Tells the conversation's followers and the organization's inbox that `kind` happened.
async fn publish(app: &App, c: &Conversation, kind: &str, data: serde_json::Value) {
    let mut to_conversation = Event::new(conversation_topic(c.id), kind);
    to_conversation.data = data.clone();
    let mut to_org = Event::new(
        org_topic(c.org_id),
        if kind == "typing" {
            "typing"
        } else {
            "conversation"
        },
    );
    to_org.data = serde_json::json!({
        "conversation_id": c.id,
        "chat_space_id": c.chat_space_id,
        "what": kind,
        "detail": data,
    });
    for event in [to_conversation, to_org] {
        // Live views also re-read when they reconnect or hear they missed events.
        if let Err(e) = app.store.hub().publish(event).await {
            tracing::warn!(conversation = %c.id, error = %e, "could not publish a conversation event");
        }
    }
}

/// A message was stored in a conversation that a person has or waits for.
pub async fn message_stored(app: &App, c: &Conversation, m: &Message) {
    if matches!(
        c.status,
        ConversationStatus::WaitingForHuman | ConversationStatus::Human
    ) || m.role == MessageRole::Agent
    {
        publish(
            app,
            c,
            "message",
            serde_json::json!({"message_id": m.id, "role": m.role}),
        )
        .await;
    }
}

async fn status_changed(app: &App, c: &Conversation) {
    publish(
        app,
        c,
        "status",
        serde_json::json!({"status": c.status, "assigned_agent_id": c.assigned_agent_id}),
    )
    .await;
}

/// Asks for a person on `conversation` (it must be with the bot); the inbox hears it.
/// `Ok(None)` when a person has it or is awaited already.
pub async fn request(
    app: &App,
    conversation: &Conversation,
    reason: HandoverReason,
) -> Result<Option<Conversation>, AppError> {
    match app
        .store
        .request_handover(conversation.org_id, conversation.id, reason, Utc::now())
        .await?
    {
        Some((c, _)) => {
            status_changed(app, &c).await;
            Ok(Some(c))
        }
        None => Ok(None),
    }
}

/// When the current stretch with the bot began: after the last handover ended (so that
/// what came before it cannot trigger another: no loops), or at the start.
async fn bot_since(app: &App, c: &Conversation) -> Result<Option<DateTime<Utc>>, AppError> {
    Ok(app
        .store
        .handovers_of(c.org_id, c.id)
        .await?
        .iter()
        .filter_map(|h| h.resolved_at)
        .max())
}

/// What a visitor's message asks of the bot before it answers: a person, by the chat
/// space's triggers (the visitor's words, or a keyword).
pub fn trigger_in_message(h: &HandoverConfig, message: &str) -> Option<HandoverReason> {
    if !h.enabled {
        return None;
    }
    if h.phrases && asks_for_person(message) {
        return Some(HandoverReason::VisitorAsked);
    }
    keyword_in(message, &h.keywords).map(|_| HandoverReason::Keyword)
}

/// After an answer: too many don't-know replies in a row hand the conversation over.
pub async fn after_answer(app: &App, space: &ChatSpace, answer: &Message) -> Result<(), AppError> {
    let h = config(space);
    if !h.enabled || h.after_dont_know == 0 || answer.answer_kind != Some(AnswerKind::DontKnow) {
        return Ok(());
    }
    let Some(c) = app
        .store
        .find_conversation(space.org_id, answer.conversation_id)
        .await?
    else {
        return Ok(());
    };
    let since = bot_since(app, &c).await?;
    let recent = app
        .store
        .recent_messages(space.org_id, c.id, h.after_dont_know * 2 + 2)
        .await?;
    let in_a_row = recent
        .iter()
        .rev()
        .filter(|m| m.role == MessageRole::Assistant)
        .filter(|m| since.is_none_or(|s| m.created_at > s))
        .take_while(|m| m.answer_kind == Some(AnswerKind::DontKnow))
        .count();
    if in_a_row >= h.after_dont_know as usize {
        request(app, &c, HandoverReason::NoAnswer).await?;
    }
    Ok(())
}

/// After a visitor rated an answer down: enough of them hand the conversation over.
pub async fn after_feedback(
    app: &App,
    space: &ChatSpace,
    c: &Conversation,
) -> Result<(), AppError> {
    let h = config(space);
    if !h.enabled || h.after_thumbs_down == 0 || c.status != ConversationStatus::Active {
        return Ok(());
    }
    let since = bot_since(app, c).await?;
    let down = conversations::all_messages(app.store.as_ref(), c.org_id, c.id)
        .await?
        .iter()
        .filter(|m| m.feedback == Some(Feedback::Down))
        .filter(|m| since.is_none_or(|s| m.created_at > s))
        .count();
    if down >= h.after_thumbs_down as usize {
        request(app, c, HandoverReason::ThumbsDown).await?;
    }
    Ok(())
}

/// The agent a visitor sees: a name and picture, never an email.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct AgentCard {
    pub name: String,
    pub avatar_url: Option<String>,
}

async fn agent_card(app: &App, id: Option<UserId>) -> Result<Option<AgentCard>, AppError> {
    let Some(id) = id else {
        return Ok(None);
    };
    Ok(app.store.find_user_by_id(id).await?.map(|u| AgentCard {
        name: if u.name.trim().is_empty() {
            "Support".to_owned()
        } else {
            u.name
        },
        avatar_url: u.avatar_url,
    }))
}

/// Where a visitor's conversation stands, as the widget shows it.
#[derive(Clone, Debug, Serialize, schemars::JsonSchema)]
pub struct VisitorStatus {
    pub status: ConversationStatus,
    pub agent: Option<AgentCard>,
}

pub async fn visitor_status(app: &App, c: &Conversation) -> Result<VisitorStatus, AppError> {
    Ok(VisitorStatus {
        status: c.status,
        agent: match c.status {
            ConversationStatus::Human => agent_card(app, c.assigned_agent_id).await?,
            _ => None,
        },
    })
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HandoverInput {
    #[schemars(regex(pattern = docent_core::validate::VISITOR_ID_PATTERN), example = "v-3f9a2c71d4e8")]
    pub visitor_id: String,
    pub conversation_id: ConversationId,
    /// Why; `visitor_asked` when absent (the only reason a visitor may give).
    #[serde(default)]
    pub reason: Option<HandoverReason>,
}

/// The visitor asks for a person ("Talk to a person").
pub async fn visitor_asks(
    app: &App,
    w: &WidgetSpace,
    input: HandoverInput,
) -> Result<VisitorStatus, AppError> {
    let h = config(&w.space);
    if !h.enabled || !h.visitor_button {
        return Err(AppError::HandoverOff);
    }
    if input
        .reason
        .is_some_and(|r| r != HandoverReason::VisitorAsked)
    {
        return Err(AppError::validation(
            "reason",
            "A visitor can only ask for a person (visitor_asked).",
        ));
    }
    let c =
        crate::visitors::visitors_conversation(app, w, input.conversation_id, &input.visitor_id)
            .await?;
    if c.status.is_over() {
        return Err(AppError::ConversationClosed);
    }
    let c = request(app, &c, HandoverReason::VisitorAsked)
        .await?
        .unwrap_or(c);
    visitor_status(app, &c).await
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitorTyping {
    #[schemars(regex(pattern = docent_core::validate::VISITOR_ID_PATTERN), example = "v-3f9a2c71d4e8")]
    pub visitor_id: String,
    pub conversation_id: ConversationId,
}

/// The visitor is typing: the agent's transcript shows it (only while a person has it).
pub async fn visitor_typing(
    app: &App,
    w: &WidgetSpace,
    input: VisitorTyping,
) -> Result<(), AppError> {
    let c =
        crate::visitors::visitors_conversation(app, w, input.conversation_id, &input.visitor_id)
            .await?;
    if c.status == ConversationStatus::Human {
        publish(app, &c, "typing", serde_json::json!({"by": "visitor"})).await;
    }
    Ok(())
}

/// What a visitor's live view starts from: the conversation, checked to be theirs, and its
/// events from now on.
pub async fn visitor_follow(
    app: &App,
    w: &WidgetSpace,
    id: ConversationId,
    visitor_id: &str,
) -> Result<(Conversation, Subscription), AppError> {
    let c = crate::visitors::visitors_conversation(app, w, id, visitor_id).await?;
    let subscription = app.store.hub().subscribe(&conversation_topic(c.id)).await?;
    Ok((c, subscription))
}

/// Messages a visitor sees after `after` (agents' replies, for a live view to catch up on).
pub async fn agent_messages_after(
    app: &App,
    c: &Conversation,
    after: Option<MessageId>,
) -> Result<Vec<Message>, AppError> {
    let Some(after) = after else {
        return Ok(Vec::new());
    };
    Ok(app
        .store
        .list_messages(c.org_id, c.id, Some(after), 200)
        .await?
        .into_iter()
        .filter(|m| m.role == MessageRole::Agent)
        .collect())
}

pub async fn reread(app: &App, c: &Conversation) -> Result<Conversation, AppError> {
    app.store
        .find_conversation(c.org_id, c.id)
        .await?
        .ok_or(AppError::NotFound("conversation"))
}

// ---- The agent's side ----

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InboxQuery {
    #[serde(default)]
    pub status: InboxStatus,
    #[serde(default)]
    pub assigned: Option<Assigned>,
    #[serde(default)]
    #[schemars(range(min = 1, max = 200))]
    pub limit: Option<u32>,
}

/// A conversation of the inbox.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct InboxEntry {
    #[serde(flatten)]
    pub conversation: Conversation,
    pub reason: Option<HandoverReason>,
    pub requested_at: Option<DateTime<Utc>>,
    pub unread: i64,
    pub last_message: Option<String>,
}

impl From<InboxItem> for InboxEntry {
    fn from(i: InboxItem) -> Self {
        InboxEntry {
            conversation: i.conversation,
            reason: i.reason,
            requested_at: i.requested_at,
            unread: i.unread,
            last_message: i.last_message.map(|m| m.chars().take(160).collect()),
        }
    }
}

/// The conversations with a person, or waiting for one, that the caller sees.
pub async fn inbox(
    app: &App,
    caller: &Caller,
    query: &InboxQuery,
) -> Result<Vec<InboxEntry>, AppError> {
    let me = caller.user.as_ref().map(|u| u.user.id);
    let assigned_to = match query.assigned {
        None => None,
        Some(Assigned::Unassigned) => Some(None),
        Some(Assigned::Me) => Some(Some(me.ok_or(AppError::Forbidden(
            "assigned=me needs a logged-in person; API keys have no conversations of their own.",
        ))?)),
    };
    let limit = query.limit.unwrap_or(100);
    if !(1..=200).contains(&limit) {
        return Err(AppError::validation("limit", "Use 1 to 200."));
    }
    let items = app
        .store
        .inbox(
            caller.org_id(),
            &InboxFilter {
                status: query.status,
                assigned_to,
                chat_spaces: caller.limited_to(),
                reader: me,
                before: None,
                limit,
            },
        )
        .await?;
    Ok(items.into_iter().map(InboxEntry::from).collect())
}

/// The caller follows the organization's inbox: events of the chat spaces they see.
pub async fn follow_inbox(app: &App, caller: &Caller) -> Result<Subscription, AppError> {
    Ok(app
        .store
        .hub()
        .subscribe(&org_topic(caller.org_id()))
        .await?)
}

/// Whether an inbox event concerns a chat space the caller sees.
pub fn inbox_event_visible(caller: &Caller, event: &Event) -> bool {
    event.data["chat_space_id"]
        .as_str()
        .and_then(|s| s.parse::<ChatSpaceId>().ok())
        .is_some_and(|id| caller.sees(id))
}

/// A conversation as an agent works on it: transcript, notes, handovers.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Workspace {
    pub conversation: Conversation,
    pub messages: Vec<Message>,
    pub notes: Vec<Note>,
    pub handovers: Vec<Handover>,
}

pub async fn workspace(
    app: &App,
    caller: &Caller,
    id: ConversationId,
) -> Result<Workspace, AppError> {
    let (conversation, messages) = conversations::transcript(app, caller, id).await?;
    let (notes, handovers) = tokio::try_join!(
        app.store.notes(caller.org_id(), id),
        app.store.handovers_of(caller.org_id(), id)
    )?;
    if let Some(me) = &caller.user {
        app.store
            .mark_read(caller.org_id(), me.user.id, id, Utc::now())
            .await?;
    }
    Ok(Workspace {
        conversation,
        messages,
        notes,
        handovers,
    })
}

/// The acting member: a person of role agent or above.
fn agent(caller: &Caller) -> Result<UserId, AppError> {
    caller.require(Role::Agent)?;
    Ok(caller.person()?.user.id)
}

async fn taken_by(app: &App, c: &Conversation) -> AppError {
    let name = match agent_card(app, c.assigned_agent_id).await {
        Ok(Some(card)) => card.name,
        _ => "Another agent".to_owned(),
    };
    AppError::ConversationTaken(format!(
        "{name} has this conversation; an owner or admin can assign it to you."
    ))
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignInput {
    /// The member to give it to; the caller when absent ("claim").
    #[serde(default)]
    pub user_id: Option<UserId>,
}

/// Gives a conversation to a member (the caller when none is named). Agents claim
/// conversations nobody has; owners and admins may assign to anyone and take over.
pub async fn assign(
    app: &App,
    caller: &Caller,
    id: ConversationId,
    input: AssignInput,
) -> Result<Conversation, AppError> {
    let me = agent(caller)?;
    let c = conversations::get(app, caller, id).await?;
    let to = input.user_id.unwrap_or(me);
    let manager = caller.role >= Role::Admin;
    if to != me {
        caller.require(Role::Admin)?;
        let member = app
            .store
            .list_members(caller.org_id())
            .await?
            .into_iter()
            .find(|m| m.user_id == to)
            .ok_or(AppError::NotFound("member"))?;
        if member.role < Role::Agent {
            return Err(AppError::validation(
                "user_id",
                "Viewers cannot answer visitors; choose an agent, admin or owner.",
            ));
        }
    }
    if c.status.is_over() {
        return Err(AppError::ConversationClosed);
    }
    match app
        .store
        .assign_conversation(caller.org_id(), c.id, to, manager, Utc::now())
        .await?
    {
        Some(after) => {
            status_changed(app, &after).await;
            Ok(after)
        }
        None => {
            let now = reread(app, &c).await?;
            Err(if now.status.is_over() {
                AppError::ConversationClosed
            } else {
                taken_by(app, &now).await
            })
        }
    }
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyInput {
    /// Markdown.
    #[schemars(regex(pattern = docent_core::validate::NOT_BLANK_PATTERN), length(max = 8000))]
    pub content: String,
    /// An internal note: seen by members only, never by the visitor.
    #[serde(default)]
    pub internal: bool,
}

/// What [`reply`] stored.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Replied {
    Message(Message),
    Note(Note),
}

/// An agent writes to the visitor (claiming a conversation nobody has), or leaves a note.
pub async fn reply(
    app: &App,
    caller: &Caller,
    id: ConversationId,
    input: ReplyInput,
) -> Result<Replied, AppError> {
    let me = agent(caller)?;
    let content = input.content.trim().to_owned();
    if validate::is_blank(&content) || content.chars().count() > 8000 {
        return Err(AppError::validation(
            "content",
            "Write 1 to 8000 characters.",
        ));
    }
    let mut c = conversations::get(app, caller, id).await?;
    if input.internal {
        let note = app
            .store
            .add_note(caller.org_id(), c.id, me, &content, Utc::now())
            .await?
            .ok_or(AppError::NotFound("conversation"))?;
        publish(app, &c, "note", serde_json::json!({"note_id": note.id})).await;
        return Ok(Replied::Note(note));
    }
    if c.status.is_over() {
        return Err(AppError::ConversationClosed);
    }
    if c.status != ConversationStatus::Human || c.assigned_agent_id != Some(me) {
        if c.assigned_agent_id.is_some_and(|a| a != me) && caller.role < Role::Admin {
            return Err(taken_by(app, &c).await);
        }
        c = assign(app, caller, id, AssignInput { user_id: None }).await?;
    }
    let message = app
        .store
        .add_message(
            caller.org_id(),
            NewMessage {
                author_id: Some(me),
                ..NewMessage::plain(c.id, MessageRole::Agent, content)
            },
        )
        .await?
        .ok_or(AppError::NotFound("conversation"))?;
    app.store
        .agent_replied(caller.org_id(), c.id, message.created_at)
        .await?;
    message_stored(app, &c, &message).await;
    Ok(Replied::Message(message))
}

/// The agent is typing: the visitor's widget shows it.
pub async fn agent_typing(app: &App, caller: &Caller, id: ConversationId) -> Result<(), AppError> {
    agent(caller)?;
    let c = conversations::get(app, caller, id).await?;
    if c.status == ConversationStatus::Human {
        publish(app, &c, "typing", serde_json::json!({"by": "agent"})).await;
    }
    Ok(())
}

/// Gives the conversation back to the bot, or closes it.
pub async fn end(
    app: &App,
    caller: &Caller,
    id: ConversationId,
    how: HandoverEnd,
) -> Result<Conversation, AppError> {
    let me = agent(caller)?;
    let c = conversations::get(app, caller, id).await?;
    if c.assigned_agent_id.is_some_and(|a| a != me) && caller.role < Role::Admin {
        return Err(taken_by(app, &c).await);
    }
    match app
        .store
        .end_handover(caller.org_id(), c.id, how, Utc::now())
        .await?
    {
        Some(after) => {
            status_changed(app, &after).await;
            Ok(after)
        }
        None if how == HandoverEnd::Released => Err(AppError::validation(
            "status",
            "Only a conversation with a person, or waiting for one, can go back to the bot.",
        )),
        None => Err(AppError::ConversationClosed),
    }
}
