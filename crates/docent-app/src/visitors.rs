//! The public widget's visitors (DESIGN §4): a published chat space's look, visitor
//! conversations, answers and feedback. Visitors are anonymous: a conversation belongs to
//! the visitor id that opened it, and anyone else asking for it gets a 404.

use std::time::Instant;

use chrono::{Duration, Utc};
use docent_core::config::WidgetConfig;
use docent_core::*;
use docent_rag::{AnswerEvent, Ask, AskError, Continue};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::App;
use crate::AppError;
use crate::answers::ask_error;
use crate::handover;
use crate::limits::{WidgetSpace, default_string};
use docent_store::ConversationFilter;

/// What the widget needs to paint itself.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct WidgetSettings {
    pub name: String,
    pub endpoint_slug: String,
    pub widget: WidgetConfig,
    /// Whether the widget offers "Talk to a person" and follows a person's replies live.
    pub handover: bool,
    /// Outside the business hours set for handover now (the lead form's `outside_hours`).
    pub outside_hours: bool,
}

pub fn settings(w: &WidgetSpace) -> WidgetSettings {
    let mut widget: WidgetConfig =
        serde_json::from_value(w.space.widget_config.clone()).unwrap_or_default();
    if widget.bot_name.trim().is_empty() {
        widget.bot_name = w.space.name.clone();
    }
    let handover = crate::handover::config(&w.space);
    WidgetSettings {
        name: w.space.name.clone(),
        endpoint_slug: w.space.endpoint_slug.clone(),
        widget,
        handover: handover.enabled && handover.visitor_button,
        outside_hours: !handover.within_hours(Utc::now()),
    }
}

/// A chat space's wording for `key`, or the built-in one.
fn visitor_string(space: &ChatSpace, key: &str) -> String {
    space
        .widget_config
        .get("strings")
        .and_then(|s| s.get(key))
        .and_then(|s| s.as_str())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or(default_string(key))
        .to_owned()
}

/// A message as visitors see it: no model, costs or retrieved chunks.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct VisitorMessage {
    pub id: MessageId,
    pub role: MessageRole,
    pub content: String,
    pub citations: Vec<Citation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer_kind: Option<AnswerKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feedback: Option<Feedback>,
    pub created_at: chrono::DateTime<Utc>,
}

impl From<Message> for VisitorMessage {
    fn from(m: Message) -> Self {
        VisitorMessage {
            id: m.id,
            role: m.role,
            content: m.content,
            citations: m.citations,
            answer_kind: m.answer_kind,
            feedback: m.feedback,
            created_at: m.created_at,
        }
    }
}

/// Who is asking: a random id the widget keeps in the browser, and what they told about
/// themselves.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Visitor {
    #[schemars(regex(pattern = docent_core::validate::VISITOR_ID_PATTERN), example = "v-3f9a2c71d4e8")]
    pub visitor_id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    #[schemars(regex(pattern = docent_core::validate::OPTIONAL_EMAIL_PATTERN))]
    pub email: Option<String>,
    #[serde(default)]
    pub locale: Option<String>,
    #[serde(default)]
    pub referrer: Option<String>,
}

pub(crate) fn check_visitor_id(id: &str) -> Result<(), AppError> {
    let ok = (8..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(AppError::validation(
            "visitor_id",
            "Send the visitor id the widget made: 8 to 64 letters, digits, - or _.",
        ))
    }
}

fn clip(value: Option<String>, max: usize) -> Option<String> {
    value
        .map(|v| v.trim().chars().take(max).collect::<String>())
        .filter(|v| !v.is_empty())
}

impl Visitor {
    /// Checked, with the visitor id `w`'s identity gives (see [`WidgetSpace::visitor`]).
    fn checked(self, w: &WidgetSpace) -> Result<Visitor, AppError> {
        let visitor_id = w.visitor(&self.visitor_id)?;
        let mut errors = ValidationErrors::new();
        let email = clip(self.email, 254).map(|e| validate::email(&mut errors, "email", &e));
        errors.into_result()?;
        Ok(Visitor {
            visitor_id,
            name: clip(self.name, 100),
            email,
            locale: clip(self.locale, 35),
            referrer: clip(self.referrer, 2000),
        })
    }

    fn new_conversation(&self, w: &WidgetSpace) -> NewConversation {
        NewConversation {
            visitor_id: Some(self.visitor_id.clone()),
            end_user_name: self.name.clone(),
            end_user_email: self.email.clone(),
            ip: w.client.ip.clone(),
            user_agent: w.client.user_agent.clone(),
            referrer: self.referrer.clone(),
            locale: self.locale.clone(),
        }
    }
}

/// Counts a new conversation against the chat space's limit for all visitors together.
fn may_open_conversation(app: &App, w: &WidgetSpace) -> Result<(), AppError> {
    app.widget_limits
        .new_conversations
        .check(&w.space.id.to_string(), Instant::now())
        .map_err(|retry_after_secs| AppError::RateLimited {
            message: visitor_string(&w.space, "rate_limited"),
            retry_after_secs,
        })
}

/// A new conversation for a visitor.
pub async fn open_conversation(
    app: &App,
    w: &WidgetSpace,
    visitor: Visitor,
) -> Result<Conversation, AppError> {
    let visitor = visitor.checked(w)?;
    may_open_conversation(app, w)?;
    create_conversation(app, w, &visitor).await
}

/// Stores a new widget conversation of a checked visitor (within the limits checked before)
/// and tells the webhooks that hear `conversation.created`.
async fn create_conversation(
    app: &App,
    w: &WidgetSpace,
    visitor: &Visitor,
) -> Result<Conversation, AppError> {
    let c = app
        .store
        .create_conversation(
            w.space.org_id,
            w.space.id,
            Channel::Widget,
            visitor.new_conversation(w),
        )
        .await?
        .ok_or(AppError::NotFound("chat space"))?;
    crate::webhooks::conversation_event(app, EventType::ConversationCreated, &c, None).await;
    Ok(c)
}

/// A conversation of this chat space that `visitor_id` opened.
pub(crate) async fn visitors_conversation(
    app: &App,
    w: &WidgetSpace,
    id: ConversationId,
    visitor_id: &str,
) -> Result<Conversation, AppError> {
    // Asked again for an id `w` gave already, the identity gives the same.
    let visitor_id = w.visitor(visitor_id)?;
    app.store
        .find_conversation(w.space.org_id, id)
        .await?
        .filter(|c| {
            c.chat_space_id == w.space.id && c.visitor_id.as_deref() == Some(visitor_id.as_str())
        })
        .ok_or(AppError::NotFound("conversation"))
}

/// A visitor's conversation as the widget lists it.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct VisitorConversation {
    pub conversation_id: ConversationId,
    pub status: ConversationStatus,
    pub last_activity_at: chrono::DateTime<Utc>,
}

/// The visitor's conversations in this chat space, most recent first (up to 20): where a
/// verified visitor finds theirs on another device.
pub async fn conversations(
    app: &App,
    w: &WidgetSpace,
    visitor_id: &str,
) -> Result<Vec<VisitorConversation>, AppError> {
    let visitor = w.visitor(visitor_id)?;
    let filter = ConversationFilter {
        visitor: Some(visitor.clone()),
        ..ConversationFilter::default()
    };
    let found = app
        .store
        .find_conversations(
            w.space.org_id,
            w.space.id,
            &filter,
            Page {
                limit: 20,
                cursor: None,
            },
        )
        .await?;
    Ok(found
        .into_iter()
        .filter(|c| c.visitor_id.as_deref() == Some(visitor.as_str()))
        .map(|c| VisitorConversation {
            conversation_id: c.id,
            status: if is_idle(app, &c) {
                ConversationStatus::Closed
            } else {
                c.status
            },
            last_activity_at: c.last_activity_at,
        })
        .collect())
}

/// A conversation and its messages (the last 200), as the visitor sees them.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct History {
    pub conversation_id: ConversationId,
    /// `closed` when it went quiet for too long: the next message starts a new one.
    pub status: ConversationStatus,
    pub messages: Vec<VisitorMessage>,
}

pub async fn history(
    app: &App,
    w: &WidgetSpace,
    id: ConversationId,
    visitor_id: &str,
) -> Result<History, AppError> {
    let conversation = visitors_conversation(app, w, id, visitor_id).await?;
    let messages = app
        .store
        .recent_messages(w.space.org_id, conversation.id, 200)
        .await?;
    let status = if is_idle(app, &conversation) {
        ConversationStatus::Closed
    } else {
        conversation.status
    };
    Ok(History {
        conversation_id: conversation.id,
        status,
        messages: messages.into_iter().map(VisitorMessage::from).collect(),
    })
}

/// Over, or quiet too long with the bot (one with a person, or waiting for one, stays open
/// however long the visitor waits).
fn is_idle(app: &App, c: &Conversation) -> bool {
    let idle = Duration::seconds(i64::from(app.settings.widget_idle_secs));
    c.status.is_over()
        || (c.status == ConversationStatus::Active && Utc::now() - c.last_activity_at > idle)
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WidgetChat {
    #[schemars(regex(pattern = docent_core::validate::NOT_BLANK_PATTERN), example = "Do you ship abroad?")]
    pub message: String,
    #[serde(default)]
    pub conversation_id: Option<ConversationId>,
    #[schemars(regex(pattern = docent_core::validate::VISITOR_ID_PATTERN), example = "v-3f9a2c71d4e8")]
    pub visitor_id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    #[schemars(regex(pattern = docent_core::validate::OPTIONAL_EMAIL_PATTERN))]
    pub email: Option<String>,
    #[serde(default)]
    pub locale: Option<String>,
    #[serde(default)]
    pub referrer: Option<String>,
}

/// The error a visitor sees for a question that got no answer.
pub fn visitor_error(space: &ChatSpace, plan: Plan, e: AskError) -> AppError {
    match e {
        AskError::QuotaExceeded { .. } => {
            AppError::QuotaExceeded(visitor_string(space, "quota_exceeded"))
        }
        other => ask_error(other, plan),
    }
}

/// Starts an answer for a visitor: continues their conversation unless it went idle (then it
/// is closed and a new one begins), within the per-visitor message rate.
pub async fn start(
    app: &App,
    w: &WidgetSpace,
    input: WidgetChat,
) -> Result<
    (
        mpsc::Receiver<AnswerEvent>,
        JoinHandle<Result<Message, AskError>>,
    ),
    AppError,
> {
    let visitor = Visitor {
        visitor_id: input.visitor_id,
        name: input.name,
        email: input.email,
        locale: input.locale,
        referrer: input.referrer,
    }
    .checked(w)?;
    let key = format!("{}:{}", w.space.id, visitor.visitor_id);
    if let Err(retry_after_secs) = app.widget_limits.per_visitor.check(&key, Instant::now()) {
        return Err(AppError::RateLimited {
            message: visitor_string(&w.space, "rate_limited"),
            retry_after_secs,
        });
    }
    let mut conversation = None;
    if let Some(id) = input.conversation_id {
        let found = visitors_conversation(app, w, id, &visitor.visitor_id).await?;
        if is_idle(app, &found) {
            app.store
                .close_conversation(w.space.org_id, found.id, Utc::now())
                .await?;
            let closed = Conversation {
                status: ConversationStatus::Closed,
                closed_at: Some(Utc::now()),
                ..found
            };
            crate::webhooks::conversation_event(app, EventType::ConversationClosed, &closed, None)
                .await;
        } else {
            if visitor.name.is_some() || visitor.email.is_some() {
                app.store
                    .identify_visitor(
                        w.space.org_id,
                        found.id,
                        visitor.name.clone(),
                        visitor.email.clone(),
                    )
                    .await?;
            }
            conversation = Some(Continue::Found(Box::new(found)));
        }
    }
    if conversation.is_none() {
        may_open_conversation(app, w)?;
    }
    // A person has it, waits for it, or the message asks for one: the bot stays silent and
    // the message goes to the inbox.
    let with_person = match &conversation {
        Some(Continue::Found(c)) => matches!(
            c.status,
            ConversationStatus::WaitingForHuman | ConversationStatus::Human
        ),
        _ => false,
    };
    let trigger = handover::trigger_in_message(&handover::config(&w.space), &input.message);
    if with_person || trigger.is_some() {
        let found = match conversation {
            Some(Continue::Found(c)) => *c,
            _ => create_conversation(app, w, &visitor).await?,
        };
        return held(app, w, found, input.message, trigger).await;
    }
    let began = conversation.is_none();
    let ask = Ask {
        org: w.space.org_id,
        plan: w.plan,
        chat_space: w.space.clone(),
        conversation,
        channel: Channel::Widget,
        visitor: visitor.new_conversation(w),
        question: input.message,
        show_sources: false,
        prior: None,
    };
    let (tx, rx) = mpsc::channel(64);
    let (app, space) = (app.clone(), w.space.clone());
    let task = tokio::spawn(async move {
        let answer = crate::answers::answer(&app, ask, tx).await?;
        crate::webhooks::turn_events(&app, &answer, began).await;
        if let Err(e) = handover::after_answer(&app, &space, &answer).await {
            tracing::warn!(error = %e, "could not check the handover triggers after an answer");
        }
        Ok(answer)
    });
    Ok((rx, task))
}

/// A visitor's message that the bot does not answer: a person has the conversation or is
/// asked for (`trigger`). It is stored and goes to the inbox; the stream starts and ends
/// with it (`done` carries the visitor's own message: no answer follows).
async fn held(
    app: &App,
    w: &WidgetSpace,
    conversation: Conversation,
    message: String,
    trigger: Option<HandoverReason>,
) -> Result<
    (
        mpsc::Receiver<AnswerEvent>,
        JoinHandle<Result<Message, AskError>>,
    ),
    AppError,
> {
    let question = message.trim().to_owned();
    if validate::is_blank(&question) {
        return Err(ask_error(AskError::EmptyQuestion, w.plan));
    }
    if question.chars().count() > docent_rag::MAX_QUESTION_CHARS {
        return Err(ask_error(AskError::QuestionTooLong, w.plan));
    }
    let stored = app
        .store
        .add_message(
            w.space.org_id,
            NewMessage::plain(conversation.id, MessageRole::User, question),
        )
        .await?
        .ok_or(AppError::NotFound("conversation"))?;
    let conversation = match trigger {
        Some(reason) => handover::request(app, &conversation, reason)
            .await?
            .unwrap_or(conversation),
        None => conversation,
    };
    handover::message_stored(app, &conversation, &stored).await;
    let (tx, rx) = mpsc::channel(2);
    let _ = tx
        .send(AnswerEvent::Started {
            conversation_id: conversation.id,
            message_id: stored.id,
            sources: None,
        })
        .await;
    let _ = tx
        .send(AnswerEvent::Done {
            message: stored.clone(),
        })
        .await;
    Ok((rx, tokio::spawn(async move { Ok(stored) })))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackInput {
    #[schemars(regex(pattern = docent_core::validate::VISITOR_ID_PATTERN), example = "v-3f9a2c71d4e8")]
    pub visitor_id: String,
    pub conversation_id: ConversationId,
    pub message_id: MessageId,
    /// `up`, `down`, or `null` to take it back.
    pub feedback: Option<Feedback>,
}

pub async fn feedback(
    app: &App,
    w: &WidgetSpace,
    input: FeedbackInput,
) -> Result<VisitorMessage, AppError> {
    let conversation =
        visitors_conversation(app, w, input.conversation_id, &input.visitor_id).await?;
    let message = app
        .store
        .set_feedback(
            w.space.org_id,
            conversation.id,
            input.message_id,
            input.feedback,
        )
        .await?
        .ok_or(AppError::NotFound("answer"))?;
    if input.feedback == Some(Feedback::Down) {
        handover::after_feedback(app, &w.space, &conversation).await?;
    }
    Ok(message.into())
}
