//! Conversations, their messages, daily usage and knowledge gaps (DESIGN §3, §5).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::*;

/// Where a conversation came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Widget,
    Playground,
    Api,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Widget => "widget",
            Channel::Playground => "playground",
            Channel::Api => "api",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        [Channel::Widget, Channel::Playground, Channel::Api]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// Where a conversation stands (DESIGN §3): the bot answers while it is `active`; a person
/// is awaited (`waiting_for_human`) or owns it (`human`); `closed` when it ended (a new
/// message starts over); `archived` when put away.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    Active,
    WaitingForHuman,
    Human,
    Closed,
    Archived,
}

impl ConversationStatus {
    pub const ALL: [ConversationStatus; 5] = [
        ConversationStatus::Active,
        ConversationStatus::WaitingForHuman,
        ConversationStatus::Human,
        ConversationStatus::Closed,
        ConversationStatus::Archived,
    ];

    /// The name stored in the database and shown in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationStatus::Active => "active",
            ConversationStatus::WaitingForHuman => "waiting_for_human",
            ConversationStatus::Human => "human",
            ConversationStatus::Closed => "closed",
            ConversationStatus::Archived => "archived",
        }
    }

    pub fn parse(s: &str) -> Option<ConversationStatus> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Over: a new message starts a new conversation.
    pub fn is_over(self) -> bool {
        matches!(
            self,
            ConversationStatus::Closed | ConversationStatus::Archived
        )
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Conversation {
    pub id: ConversationId,
    pub org_id: OrgId,
    pub chat_space_id: ChatSpaceId,
    pub visitor_id: Option<String>,
    pub end_user_email: Option<String>,
    pub end_user_name: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub referrer: Option<String>,
    pub locale: Option<String>,
    pub channel: Channel,
    pub status: ConversationStatus,
    pub assigned_agent_id: Option<UserId>,
    pub message_count: i64,
    pub last_activity_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Default)]
pub struct NewConversation {
    pub visitor_id: Option<String>,
    pub end_user_name: Option<String>,
    pub end_user_email: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub referrer: Option<String>,
    pub locale: Option<String>,
}

/// A visitor's verdict on an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Feedback {
    Up,
    Down,
}

impl Feedback {
    pub fn as_str(self) -> &'static str {
        match self {
            Feedback::Up => "up",
            Feedback::Down => "down",
        }
    }

    pub fn parse(s: &str) -> Option<Feedback> {
        [Feedback::Up, Feedback::Down]
            .into_iter()
            .find(|f| f.as_str() == s)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageRole {
    User,
    Assistant,
    Agent,
    System,
}

impl MessageRole {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageRole::User => "user",
            MessageRole::Assistant => "assistant",
            MessageRole::Agent => "agent",
            MessageRole::System => "system",
        }
    }

    pub fn parse(s: &str) -> Option<MessageRole> {
        [
            MessageRole::User,
            MessageRole::Assistant,
            MessageRole::Agent,
            MessageRole::System,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}

/// A citable source an answer used. Learn-only sources never become citations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Citation {
    /// The `n` of `[n]` in the answer text.
    pub index: u32,
    pub document_id: DocumentId,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u32>,
}

/// A chunk that was put before the model, with its retrieval score.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ContextChunk {
    pub chunk_id: ChunkId,
    pub document_id: DocumentId,
    pub score: f64,
    pub citable: bool,
}

/// How an assistant message was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnswerKind {
    /// Written by the model from the context.
    Generated,
    /// Sentences quoted from citable context (no model configured).
    Extractive,
    /// The chat space's "don't know" reply: nothing relevant was found.
    DontKnow,
    /// The model failed; the text says so.
    Error,
}

impl AnswerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerKind::Generated => "generated",
            AnswerKind::Extractive => "extractive",
            AnswerKind::DontKnow => "dont_know",
            AnswerKind::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<AnswerKind> {
        [
            AnswerKind::Generated,
            AnswerKind::Extractive,
            AnswerKind::DontKnow,
            AnswerKind::Error,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Message {
    pub id: MessageId,
    pub org_id: OrgId,
    pub chat_space_id: ChatSpaceId,
    pub conversation_id: ConversationId,
    pub role: MessageRole,
    pub content: String,
    pub model: Option<String>,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub cost_micro_usd: i64,
    pub processing_time_ms: i64,
    pub context_chunks: Vec<ContextChunk>,
    pub citations: Vec<Citation>,
    pub answer_kind: Option<AnswerKind>,
    pub feedback: Option<Feedback>,
    /// How well the knowledge matched the question an answer replies to, from 0 to 1 (see
    /// `docent_rag::confidence`); none on other messages.
    pub confidence: Option<f64>,
    /// The member who wrote an agent's message.
    pub author_id: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct NewMessage {
    pub conversation_id: ConversationId,
    pub role: MessageRole,
    pub content: String,
    pub model: Option<String>,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub cost_micro_usd: i64,
    pub processing_time_ms: i64,
    pub context_chunks: Vec<ContextChunk>,
    pub citations: Vec<Citation>,
    pub answer_kind: Option<AnswerKind>,
    pub confidence: Option<f64>,
    pub author_id: Option<UserId>,
}

impl NewMessage {
    /// A plain message with no model accounting.
    pub fn plain(
        conversation: ConversationId,
        role: MessageRole,
        content: impl Into<String>,
    ) -> Self {
        NewMessage {
            conversation_id: conversation,
            role,
            content: content.into(),
            model: None,
            tokens_in: 0,
            tokens_out: 0,
            cost_micro_usd: 0,
            processing_time_ms: 0,
            context_chunks: Vec::new(),
            citations: Vec::new(),
            answer_kind: None,
            confidence: None,
            author_id: None,
        }
    }
}

/// One chat space's activity on one day (UTC).
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct UsageDay {
    pub date: NaiveDate,
    /// Visitor messages (what plan quotas count).
    pub messages: i64,
    pub conversations: i64,
    pub tokens: i64,
    /// Micro-USD.
    pub cost: i64,
    pub feedback_up: i64,
    pub feedback_down: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_statuses_round_trip_by_their_stored_names() {
        for status in ConversationStatus::ALL {
            assert_eq!(ConversationStatus::parse(status.as_str()), Some(status));
            assert_eq!(
                serde_json::to_value(status).expect("json"),
                serde_json::json!(status.as_str())
            );
        }
        assert_eq!(ConversationStatus::parse("Active"), None);
    }
}
