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
    crate::webhooks::message_event(app, c, m).await;
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
            crate::webhooks::conversation_event(
                app,
                EventType::HandoverRequested,
                &c,
                Some(reason),
            )
            .await;
            Ok(Some(route(app, &c).await?.unwrap_or(c)))
        }
        None => Ok(None),
    }
}

/// How long an inbox connection counts as present after it was last refreshed (an
/// instance that died stops counting then), and how often an open one is refreshed.
pub const PRESENCE_TTL: std::time::Duration = std::time::Duration::from_secs(60);
pub const PRESENCE_REFRESH: std::time::Duration = std::time::Duration::from_secs(20);

/// A member's open inbox connection, kept present in the database on every instance's
/// view while it lives; gone when dropped.
pub struct Presence {
    store: std::sync::Arc<dyn docent_store::Store>,
    connection: ConnectionId,
    refresh: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Presence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presence")
            .field("connection", &self.connection)
            .finish_non_exhaustive()
    }
}

impl Drop for Presence {
    fn drop(&mut self) {
        self.refresh.abort();
        let (store, connection) = (self.store.clone(), self.connection);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = store.agent_gone(connection).await {
                    tracing::warn!(error = %e, "could not end an agent's presence");
                }
            });
        }
    }
}

/// The caller opened the inbox: an agent (or admin, owner) is online until the returned
/// [`Presence`] is dropped, and waiting conversations may be routed to them now. Viewers
/// and keys are never present.
pub async fn agent_online(app: &App, caller: &Caller) -> Result<Option<Presence>, AppError> {
    let Some(person) = caller.user.as_ref().filter(|_| caller.role >= Role::Agent) else {
        return Ok(None);
    };
    let (org, user, connection) = (caller.org_id(), person.user.id, ConnectionId::generate());
    app.store
        .agent_present(org, user, connection, Utc::now())
        .await?;
    let store = app.store.clone();
    let refresh = tokio::spawn(async move {
        let mut every = tokio::time::interval(PRESENCE_REFRESH);
        every.tick().await;
        loop {
            every.tick().await;
            if let Err(e) = store.agent_present(org, user, connection, Utc::now()).await {
                tracing::warn!(error = %e, "could not refresh an agent's presence");
            }
        }
    });
    let presence = Presence {
        store: app.store.clone(),
        connection,
        refresh,
    };
    route_waiting(app, org).await;
    Ok(Some(presence))
}

/// The members who may answer in `space` and have the inbox open now.
async fn answering(app: &App, space: &ChatSpace) -> Result<Vec<UserId>, AppError> {
    let since = Utc::now()
        - chrono::Duration::from_std(PRESENCE_TTL).unwrap_or(chrono::Duration::seconds(60));
    let online = app.store.agents_online(space.org_id, since).await?;
    if online.is_empty() {
        return Ok(online);
    }
    Ok(answerers(app, space)
        .await?
        .into_iter()
        .map(|m| m.user_id)
        .filter(|u| online.contains(u))
        .collect())
}

/// Whether a person can answer in `space` now: within its hours, with someone online.
pub async fn available(app: &App, space: &ChatSpace) -> Result<bool, AppError> {
    if !config(space).within_hours(Utc::now()) {
        return Ok(false);
    }
    Ok(!answering(app, space).await?.is_empty())
}

/// Round robin: of the online members who may answer in `space` and are under the cap,
/// the one with the fewest conversations, and of those the one given one longest ago.
async fn pick_agent(app: &App, space: &ChatSpace, cap: u32) -> Result<Option<UserId>, AppError> {
    let candidates = answering(app, space).await?;
    if candidates.is_empty() {
        return Ok(None);
    }
    let loads = app.store.agent_loads(space.org_id).await?;
    let load = |user: UserId| {
        loads
            .iter()
            .find(|l| l.user == user)
            .map_or((0, None), |l| (l.open, l.last_assigned_at))
    };
    Ok(candidates
        .into_iter()
        .map(|user| (user, load(user)))
        .filter(|(_, (open, _))| cap == 0 || *open < u64::from(cap))
        .min_by_key(|&(user, (open, last))| (open, last, user))
        .map(|(user, _)| user))
}

/// Gives a waiting conversation to an online agent, when its chat space routes them
/// (`auto_assign`) and it is within hours. `None` when it stays waiting.
pub async fn route(app: &App, c: &Conversation) -> Result<Option<Conversation>, AppError> {
    if c.status != ConversationStatus::WaitingForHuman || c.assigned_agent_id.is_some() {
        return Ok(None);
    }
    let Some(space) = app.store.find_chat_space(c.org_id, c.chat_space_id).await? else {
        return Ok(None);
    };
    let h = config(&space);
    if !h.enabled || !h.auto_assign || !h.within_hours(Utc::now()) {
        return Ok(None);
    }
    let Some(agent) = pick_agent(app, &space, h.max_per_agent).await? else {
        return Ok(None);
    };
    let assigned = app
        .store
        .assign_conversation(c.org_id, c.id, agent, false, Utc::now())
        .await?;
    if let Some(after) = &assigned {
        status_changed(app, after).await;
    }
    Ok(assigned)
}

/// Routes the organization's waiting conversations, oldest first: when an agent comes
/// online or has room again. Errors are logged: the conversations wait for a claim.
pub async fn route_waiting(app: &App, org: OrgId) {
    let filter = InboxFilter {
        status: docent_core::InboxStatus::WaitingForHuman,
        assigned_to: Some(None),
        chat_spaces: None,
        reader: None,
        before: None,
        limit: 100,
    };
    let waiting = match app.store.inbox(org, &filter).await {
        Ok(items) => items,
        Err(e) => {
            tracing::warn!(error = %e, "could not read the waiting conversations");
            return;
        }
    };
    for item in waiting.into_iter().rev() {
        match route(app, &item.conversation).await {
            Ok(Some(_)) => {}
            // Still waiting: its visitor re-reads whether a person is available now.
            Ok(None) => {
                let mut event = Event::new(conversation_topic(item.conversation.id), "status");
                event.data = serde_json::json!({"status": item.conversation.status});
                if let Err(e) = app.store.hub().publish(event).await {
                    tracing::warn!(error = %e, "could not publish a conversation event");
                }
            }
            Err(e) => {
                tracing::warn!(conversation = %item.conversation.id, error = %e.message(), "could not route a conversation");
            }
        }
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
    /// While waiting: whether a person can answer now (within hours, someone online); when
    /// not, the widget offers to leave an email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available: Option<bool>,
    /// While waiting: whether the visitor left an email to be answered at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_left: Option<bool>,
}

pub async fn visitor_status(app: &App, c: &Conversation) -> Result<VisitorStatus, AppError> {
    let (available, email_left) = match c.status {
        ConversationStatus::WaitingForHuman => {
            let space = app
                .store
                .find_chat_space(c.org_id, c.chat_space_id)
                .await?
                .ok_or(AppError::NotFound("chat space"))?;
            (
                Some(available(app, &space).await?),
                Some(c.end_user_email.is_some()),
            )
        }
        _ => (None, None),
    };
    Ok(VisitorStatus {
        status: c.status,
        agent: match c.status {
            ConversationStatus::Human => agent_card(app, c.assigned_agent_id).await?,
            _ => None,
        },
        available,
        email_left,
    })
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    #[schemars(regex(pattern = docent_core::validate::VISITOR_ID_PATTERN), example = "v-3f9a2c71d4e8")]
    pub visitor_id: String,
    pub conversation_id: ConversationId,
    #[schemars(regex(pattern = docent_core::validate::EMAIL_PATTERN), length(max = 254), example = "ana@example.com")]
    pub email: String,
}

/// A waiting visitor leaves an email to be answered at (nobody was available); the inbox
/// shows it with the conversation.
pub async fn visitor_contact(
    app: &App,
    w: &WidgetSpace,
    input: ContactInput,
) -> Result<VisitorStatus, AppError> {
    let mut errors = docent_core::ValidationErrors::default();
    let email = validate::email(&mut errors, "email", &input.email);
    errors.into_result()?;
    let c =
        crate::visitors::visitors_conversation(app, w, input.conversation_id, &input.visitor_id)
            .await?;
    if c.status.is_over() {
        return Err(AppError::ConversationClosed);
    }
    app.store
        .identify_visitor(c.org_id, c.id, None, Some(email))
        .await?;
    let c = reread(app, &c).await?;
    publish(app, &c, "contact", serde_json::json!({})).await;
    visitor_status(app, &c).await
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
            if how == HandoverEnd::Closed {
                crate::webhooks::conversation_event(
                    app,
                    EventType::ConversationClosed,
                    &after,
                    None,
                )
                .await;
            }
            // The agent has room again.
            route_waiting(app, after.org_id).await;
            Ok(after)
        }
        None if how == HandoverEnd::Released => Err(AppError::validation(
            "status",
            "Only a conversation with a person, or waiting for one, can go back to the bot.",
        )),
        None => Err(AppError::ConversationClosed),
    }
}

/// A canned reply as an agent writes it.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CannedInput {
    /// What the agent types after `/` to insert it: letters, digits, `-`, `_`.
    #[schemars(regex(pattern = r"^[A-Za-z0-9_-]{1,32}$"), example = &"returns")]
    pub shortcut: String,
    /// Markdown.
    #[schemars(regex(pattern = docent_core::validate::NOT_BLANK_PATTERN), length(max = 8000), example = "You can return any item within **30 days**.")]
    pub content: String,
}

impl CannedInput {
    fn checked(&self) -> Result<(String, String), AppError> {
        let mut errors = docent_core::ValidationErrors::default();
        let shortcut = self.shortcut.trim().trim_start_matches('/').to_lowercase();
        if shortcut.is_empty()
            || shortcut.len() > 32
            || !shortcut
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            errors.add(
                "shortcut",
                "Use 1 to 32 letters, digits, - or _ (it is typed after /).",
            );
        }
        let content = self.content.trim().to_owned();
        if validate::is_blank(&content) || content.chars().count() > 8000 {
            errors.add("content", "Write 1 to 8000 characters.");
        }
        errors.into_result()?;
        Ok((shortcut, content))
    }
}

/// The organization's canned replies, by shortcut.
pub async fn canned_replies(app: &App, caller: &Caller) -> Result<Vec<CannedReply>, AppError> {
    Ok(app.store.canned_replies(caller.org_id()).await?)
}

pub async fn create_canned_reply(
    app: &App,
    caller: &Caller,
    input: CannedInput,
) -> Result<CannedReply, AppError> {
    let me = agent(caller)?;
    let (shortcut, content) = input.checked()?;
    Ok(app
        .store
        .create_canned_reply(caller.org_id(), &shortcut, &content, Some(me), Utc::now())
        .await?)
}

pub async fn update_canned_reply(
    app: &App,
    caller: &Caller,
    id: CannedReplyId,
    input: CannedInput,
) -> Result<CannedReply, AppError> {
    agent(caller)?;
    let (shortcut, content) = input.checked()?;
    app.store
        .update_canned_reply(caller.org_id(), id, &shortcut, &content, Utc::now())
        .await?
        .ok_or(AppError::NotFound("canned reply"))
}

pub async fn delete_canned_reply(
    app: &App,
    caller: &Caller,
    id: CannedReplyId,
) -> Result<(), AppError> {
    agent(caller)?;
    if app.store.delete_canned_reply(caller.org_id(), id).await? {
        Ok(())
    } else {
        Err(AppError::NotFound("canned reply"))
    }
}

/// Emails the agents of each chat space whose handovers have waited longer than its
/// `email_after_minutes` with nobody given them (once a handover): run by the sweep, once a
/// minute on one instance. Returns how many handovers were told about.
pub async fn remind_waiting(app: &App, now: DateTime<Utc>) -> Result<usize, AppError> {
    let due = app
        .store
        .unnotified_handovers(now - chrono::Duration::minutes(1), 500)
        .await?;
    let mut told = 0;
    let mut spaces: std::collections::HashMap<ChatSpaceId, Option<ChatSpace>> = Default::default();
    for h in due {
        if let std::collections::hash_map::Entry::Vacant(slot) = spaces.entry(h.chat_space_id) {
            slot.insert(app.store.find_chat_space(h.org_id, h.chat_space_id).await?);
        }
        let Some(space) = spaces.get(&h.chat_space_id).and_then(Option::as_ref) else {
            continue;
        };
        let h_config = config(space);
        let after = h_config.email_after_minutes;
        if after == 0 || !h_config.enabled {
            // Never to be emailed: marked, so that it does not stand in the way of others.
            app.store
                .mark_handover_notified(h.org_id, h.id, now)
                .await?;
            continue;
        }
        if h.requested_at + chrono::Duration::minutes(i64::from(after)) > now {
            continue;
        }
        let Some(c) = app
            .store
            .find_conversation(h.org_id, h.conversation_id)
            .await?
        else {
            continue;
        };
        // Claimed first, so that one email goes whoever sweeps; one no longer waiting is
        // marked too.
        if !app
            .store
            .mark_handover_notified(h.org_id, h.id, now)
            .await?
            || c.status != ConversationStatus::WaitingForHuman
        {
            continue;
        }
        let waited = (now - h.requested_at).num_minutes();
        let who = c
            .end_user_name
            .clone()
            .or(c.end_user_email.clone())
            .unwrap_or_else(|| "A visitor".to_owned());
        let last = app
            .store
            .recent_messages(c.org_id, c.id, 1)
            .await?
            .into_iter()
            .next()
            .map(|m| m.content.chars().take(300).collect::<String>())
            .unwrap_or_default();
        let subject = format!(
            "{who} has waited {waited} min for a person ({})",
            space.name
        );
        let mut body = format!(
            "{who} asked for a person in {} {waited} minutes ago, and nobody has answered yet.\n\n",
            space.name
        );
        if !last.is_empty() {
            body.push_str(&format!("Their last message: \"{last}\"\n\n"));
        }
        if let Some(email) = &c.end_user_email {
            body.push_str(&format!(
                "They left an email to be answered at: {email}\n\n"
            ));
        }
        body.push_str(&format!(
            "Open the inbox to answer: {}/app/inbox\n",
            app.settings.public_base_url()
        ));
        for member in answerers(app, space).await? {
            if let Err(e) = app
                .mailer
                .send(&app.store, &member.email, &subject, &body)
                .await
            {
                tracing::warn!(conversation = %c.id, error = %e.message(), "could not email an agent about a waiting handover");
            }
        }
        told += 1;
    }
    Ok(told)
}

/// The members who may answer in `space`: agents and above who see it.
async fn answerers(app: &App, space: &ChatSpace) -> Result<Vec<Member>, AppError> {
    let mut out = Vec::new();
    for m in app.store.list_members(space.org_id).await? {
        if m.role < Role::Agent {
            continue;
        }
        let sees = app
            .store
            .member_access(space.org_id, m.user_id)
            .await?
            .is_none_or(|spaces| spaces.contains(&space.id));
        if sees {
            out.push(m);
        }
    }
    Ok(out)
}
