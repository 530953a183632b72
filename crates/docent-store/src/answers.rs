use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use docent_core::*;

use crate::Result;

/// Conversations, messages, usage counters and knowledge gaps.
#[async_trait]
pub trait AnswerStore: Send + Sync {
    /// Newest first (by id: in the order they were started).
    async fn list_conversations(
        &self,
        org: OrgId,
        chat_space: ChatSpaceId,
        page: Page<ConversationId>,
    ) -> Result<Vec<Conversation>> {
        let all = ConversationFilter::default();
        self.find_conversations(org, chat_space, &all, page).await
    }
    /// The conversations that pass `filter`, newest first.
    async fn find_conversations(
        &self,
        org: OrgId,
        chat_space: ChatSpaceId,
        filter: &ConversationFilter,
        page: Page<ConversationId>,
    ) -> Result<Vec<Conversation>>;
    /// The channels a chat space has had conversations on (for its set-up checklist:
    /// tried in the playground, talked to on a website).
    async fn conversation_channels(
        &self,
        org: OrgId,
        chat_space: ChatSpaceId,
    ) -> Result<Vec<Channel>>;
    /// Ends a conversation (idle, or the visitor started a new one). False when it was not
    /// an open conversation of `org`.
    async fn close_conversation(
        &self,
        org: OrgId,
        id: ConversationId,
        at: DateTime<Utc>,
    ) -> Result<bool>;
    /// Closes every active conversation of `channel`, in any organization, quiet since before
    /// `quiet_since` (a housekeeping task); returns how many.
    async fn close_idle_conversations(
        &self,
        channel: Channel,
        quiet_since: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<Vec<Conversation>>;
    /// Sets who the visitor says they are; `None` leaves a field as it is.
    async fn identify_visitor(
        &self,
        org: OrgId,
        id: ConversationId,
        name: Option<String>,
        email: Option<String>,
    ) -> Result<bool>;
    /// Records (or with `None` clears) the feedback on an assistant message of
    /// `conversation`, keeping the day's `feedback_up` / `feedback_down` counters in the
    /// same transaction. `None`: no such assistant message.
    async fn set_feedback(
        &self,
        org: OrgId,
        conversation: ConversationId,
        message: MessageId,
        feedback: Option<Feedback>,
    ) -> Result<Option<Message>>;
    /// Messages in the order they were written, after `after`.
    async fn list_messages(
        &self,
        org: OrgId,
        conversation: ConversationId,
        after: Option<MessageId>,
        limit: u32,
    ) -> Result<Vec<Message>>;
    /// The messages of a chat space's conversations whose ids run from `first` to `last`,
    /// by conversation then in order, `limit` at a time after `after` (the conversation and
    /// message of the last one read): a page of conversations' messages in a few statements.
    async fn messages_of_conversations(
        &self,
        org: OrgId,
        chat_space: ChatSpaceId,
        first: ConversationId,
        last: ConversationId,
        after: Option<(ConversationId, MessageId)>,
        limit: u32,
    ) -> Result<Vec<Message>>;
    /// What analytics count of the conversations visitors started (any channel but the
    /// Playground) from `since` to before `before`, in the chat spaces given or, with `None`,
    /// in all of the organization's, by the day (UTC) each began: sums a day, and the spread
    /// of answer times and confidences a day.
    async fn analytics_days(
        &self,
        org: OrgId,
        chat_spaces: Option<&[ChatSpaceId]>,
        since: DateTime<Utc>,
        before: DateTime<Utc>,
    ) -> Result<AnalyticsDays>;
    /// How many different visitors started those conversations from `since` to before
    /// `before` (a visitor who came back counts once).
    async fn count_visitors(
        &self,
        org: OrgId,
        chat_spaces: Option<&[ChatSpaceId]>,
        since: DateTime<Utc>,
        before: DateTime<Utc>,
    ) -> Result<u64>;
    /// Deletes a chat space's conversations (and with them their messages, feedback and
    /// grouped questions) that `erase` names, and the question groups left without
    /// questions (a group named by an erased question takes the name of one that remains);
    /// how many conversations went.
    async fn erase_conversations(
        &self,
        org: OrgId,
        chat_space: ChatSpaceId,
        erase: &Erase,
    ) -> Result<u64>;
    /// The chat spaces, of every organization, that keep conversations only so many days.
    async fn retention_days(&self) -> Result<Vec<(OrgId, ChatSpaceId, i32)>>;
    /// A chat space's usage by day from `since` on, oldest first.
    async fn usage_days(
        &self,
        org: OrgId,
        chat_space: ChatSpaceId,
        since: NaiveDate,
    ) -> Result<Vec<UsageDay>>;
}

/// The statements of the answer path: a conversation started or found, its recent messages,
/// a message added under the quota. Each backend tunes its own (SQLite answers them on
/// connections of its own, see `docent-store-sqlite/src/direct.rs`), so they are not in
/// [`crate::sql`].
#[async_trait]
pub trait AnswerPath: Send + Sync {
    /// `None`: no such chat space in `org`.
    async fn create_conversation(
        &self,
        org: OrgId,
        chat_space: ChatSpaceId,
        channel: Channel,
        conversation: NewConversation,
    ) -> Result<Option<Conversation>>;
    async fn find_conversation(
        &self,
        org: OrgId,
        id: ConversationId,
    ) -> Result<Option<Conversation>>;
    /// Adds a message to a conversation of `org`, and in the same transaction counts it on
    /// the conversation, the chat space and the day's usage (a visitor message counts
    /// towards quotas; tokens and cost are added as given). `None`: no such conversation.
    async fn add_message(&self, org: OrgId, message: NewMessage) -> Result<Option<Message>> {
        self.add_message_within(org, message, None).await
    }
    /// [`AnswerPath::add_message`], unless `quota` is given and the organization's visitor
    /// messages since its first day number its limit already
    /// ([`crate::StoreError::LimitReached`]); counted and added in one atomic step.
    async fn add_message_within(
        &self,
        org: OrgId,
        message: NewMessage,
        quota: Option<MessageQuota>,
    ) -> Result<Option<Message>>;
    /// The last `limit` messages, oldest first.
    async fn recent_messages(
        &self,
        org: OrgId,
        conversation: ConversationId,
        limit: u32,
    ) -> Result<Vec<Message>>;
    /// Visitor messages of the whole organization from `since` on (for monthly quotas).
    async fn count_messages_since(&self, org: OrgId, since: NaiveDate) -> Result<u64>;
}

/// How a change of feedback from `before` to `after` moves the day's `(up, down)` counters.
pub fn feedback_delta(before: Option<Feedback>, after: Option<Feedback>) -> (i64, i64) {
    let count = |f: Option<Feedback>| {
        (
            i64::from(f == Some(Feedback::Up)),
            i64::from(f == Some(Feedback::Down)),
        )
    };
    let (up_before, down_before) = count(before);
    let (up_after, down_after) = count(after);
    (up_after - up_before, down_after - down_before)
}

/// What an insert guarded by `quota` that returned `inserted` means: the message; when it
/// returned none, the limit if the organization's count has reached it, or else that there
/// is no such conversation.
pub async fn within_quota<S: AnswerPath + ?Sized>(
    store: &S,
    org: OrgId,
    inserted: Option<Message>,
    quota: Option<MessageQuota>,
) -> Result<Option<Message>> {
    match (inserted, quota) {
        (Some(message), _) => Ok(Some(message)),
        (None, Some(q)) if store.count_messages_since(org, q.since).await? >= q.limit => {
            Err(crate::StoreError::LimitReached { limit: q.limit })
        }
        (None, _) => Ok(None),
    }
}

/// Which conversations a list holds; every condition given must hold.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConversationFilter {
    pub status: Option<ConversationStatus>,
    /// With at least one answer the visitor rated so.
    pub feedback: Option<Feedback>,
    /// Started at or after.
    pub since: Option<DateTime<Utc>>,
    /// Started before.
    pub before: Option<DateTime<Utc>>,
    /// Of the visitor with this id or (lower-cased) email; an email also finds the
    /// conversations of the visitor ids it is known by (a lead's, a conversation's).
    pub visitor: Option<String>,
    /// With a message holding all these words (as the backend's full-text index reads them:
    /// stemmed, any case).
    pub text: Option<String>,
    /// With an answer that was the don't-know reply.
    pub unanswered: bool,
    /// That a person was asked for or took over.
    pub handed_over: bool,
}

/// The conversations begun on a day, and everything in them, summed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DayCounts {
    pub day: NaiveDate,
    pub conversations: u64,
    /// Conversations a person was asked for or took over.
    pub handovers: u64,
    pub messages: u64,
    pub visitor_messages: u64,
    pub answers: u64,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub cost_micro_usd: i64,
    pub feedback_up: u64,
    pub feedback_down: u64,
    /// Answers that were the don't-know reply.
    pub unanswered: u64,
    /// Different visitors that day.
    pub visitors: u64,
    /// Conversations the bot saw through alone: no person asked for, no don't-know reply,
    /// no answer rated down.
    pub bot_resolved: u64,
}

/// When one handover of an analytics window's conversations was asked for, first answered
/// by a person, and ended (the day is its conversation's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandoverTimes {
    pub day: NaiveDate,
    pub requested_at: DateTime<Utc>,
    pub first_agent_reply_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// What [`AnswerStore::analytics_days`] finds: days in order, and how many answers of the
/// conversations begun on a day took so many milliseconds, or had so much confidence.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AnalyticsDays {
    pub days: Vec<DayCounts>,
    pub response_ms: Vec<(NaiveDate, i64, u64)>,
    pub confidence: Vec<(NaiveDate, f64, u64)>,
    pub handovers: Vec<HandoverTimes>,
}

/// Which conversations [`AnswerStore::erase_conversations`] deletes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Erase {
    /// Those quiet since before then (a retention period).
    QuietSince(DateTime<Utc>),
    /// Those of the visitor with this id or (lower-cased) email.
    Visitor(String),
}

/// A limit on an organization's visitor messages since a day (a plan's month).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageQuota {
    pub since: NaiveDate,
    pub limit: u64,
}

impl MessageQuota {
    /// The messages `plan` allows this month (from the first of the month, UTC), if it caps
    /// them.
    pub fn monthly(
        plan: docent_core::Plan,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<MessageQuota> {
        use chrono::Datelike;
        plan.limits().messages_per_month.map(|limit| {
            let today = now.date_naive();
            MessageQuota {
                since: today.with_day(1).unwrap_or(today),
                limit,
            }
        })
    }
}
