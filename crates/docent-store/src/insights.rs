//! Visitors' questions in groups: what a chat space is asked most, and which groups are
//! knowledge gaps (DESIGN §4 "Operators").

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use docent_core::*;

use crate::Result;

/// Questions of the same meaning, asked by visitors of one chat space.
#[derive(Clone, Debug, PartialEq)]
pub struct QuestionGroup {
    pub id: QuestionGroupId,
    pub org_id: OrgId,
    pub chat_space_id: ChatSpaceId,
    /// A question of the group, as a visitor wrote it.
    pub label: String,
    /// How many of its questions hold each word (stem).
    pub terms: BTreeMap<String, u32>,
    /// The mean of its questions' embeddings, when an embedder made them.
    pub vector: Option<Vec<f32>>,
    pub questions: i64,
    /// When its questions were last all answered, after the owner answered it.
    pub resolved_at: Option<DateTime<Utc>>,
    /// The source the owner wrote for it.
    pub resolved_by_document_id: Option<DocumentId>,
    pub created_at: DateTime<Utc>,
    pub last_asked_at: DateTime<Utc>,
}

/// A visitor's question not grouped yet, with the answer it got.
#[derive(Clone, Debug, PartialEq)]
pub struct QuestionToGroup {
    pub message_id: MessageId,
    pub org_id: OrgId,
    pub chat_space_id: ChatSpaceId,
    pub conversation_id: ConversationId,
    pub question: String,
    pub asked_at: DateTime<Utc>,
    pub answer_id: Option<MessageId>,
}

/// A question of a group, with what became of it: its answer's kind, confidence and
/// feedback, whether its conversation went to a person, and its re-asking.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupedQuestion {
    pub message_id: MessageId,
    pub group_id: QuestionGroupId,
    pub conversation_id: ConversationId,
    pub question: String,
    pub asked_at: DateTime<Utc>,
    pub answer_kind: Option<AnswerKind>,
    pub confidence: Option<f64>,
    pub feedback: Option<Feedback>,
    pub handed_over: bool,
    pub rechecked_at: Option<DateTime<Utc>>,
    pub answered_now: Option<bool>,
}

#[async_trait]
pub trait InsightStore: Send + Sync {
    /// Visitors' questions (not the Playground's) after `after`, asked before
    /// `asked_before`, in the order they were written: the grouping job's next batch, in
    /// every organization.
    async fn questions_to_group(
        &self,
        after: Option<MessageId>,
        asked_before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<QuestionToGroup>>;
    /// The last question the grouping job grouped.
    async fn grouping_watermark(&self) -> Result<Option<MessageId>>;
    /// Every group of a chat space.
    async fn question_groups(
        &self,
        org: OrgId,
        chat_space: ChatSpaceId,
    ) -> Result<Vec<QuestionGroup>>;
    async fn find_question_group(
        &self,
        org: OrgId,
        id: QuestionGroupId,
    ) -> Result<Option<QuestionGroup>>;
    /// Writes a batch of the grouping job in one transaction: the groups made or grown, their
    /// new questions (`(question, group)`), and how far it has read.
    async fn save_grouping(
        &self,
        groups: &[QuestionGroup],
        questions: &[(QuestionToGroup, QuestionGroupId)],
        watermark: MessageId,
    ) -> Result<()>;
    /// The grouped questions of a chat space asked from `since` to before `before` (either
    /// open), or of one group, oldest first.
    async fn grouped_questions(
        &self,
        org: OrgId,
        chat_space: ChatSpaceId,
        group: Option<QuestionGroupId>,
        since: Option<DateTime<Utc>>,
        before: Option<DateTime<Utc>>,
    ) -> Result<Vec<GroupedQuestion>>;
    /// Rewrites groups' words, vectors and question counts (after some of their questions
    /// were erased).
    async fn rewrite_groups(&self, org: OrgId, groups: &[QuestionGroup]) -> Result<()>;
    /// Notes the source the owner wrote for a group. False: no such group.
    async fn set_group_answer(
        &self,
        org: OrgId,
        id: QuestionGroupId,
        document: DocumentId,
    ) -> Result<bool>;
    /// Records a group's questions asked again (`(question, answered)`), and with
    /// `resolved` that every one was answered at `at`.
    async fn record_recheck(
        &self,
        org: OrgId,
        id: QuestionGroupId,
        results: &[(MessageId, bool)],
        at: DateTime<Utc>,
        resolved: bool,
    ) -> Result<()>;
}
