//! Handovers and the inbox (DESIGN §4 "Handover and inbox"): the states a conversation goes
//! through with a person, each step a conditional statement so that two agents, two
//! replicas or a visitor and an agent acting at once cannot both win; internal notes; each
//! member's last look at a conversation.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use docent_core::*;

use crate::Result;

/// A conversation as the inbox lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct InboxItem {
    pub conversation: Conversation,
    /// Why its latest handover was asked for, and when.
    pub reason: Option<HandoverReason>,
    pub requested_at: Option<DateTime<Utc>>,
    /// Visitor messages since the member last looked at it.
    pub unread: i64,
    pub last_message: Option<String>,
}

/// Which conversations [`HandoverStore::inbox`] lists.
#[derive(Clone, Debug, PartialEq)]
pub struct InboxFilter {
    pub status: InboxStatus,
    /// Assigned to this member; or to nobody.
    pub assigned_to: Option<Option<UserId>>,
    /// Of these chat spaces only (a scoped caller); all of the organization's when `None`.
    pub chat_spaces: Option<Vec<ChatSpaceId>>,
    /// Whose reads count for `unread`.
    pub reader: Option<UserId>,
    /// Quiet since before this (the next page of a list by last activity).
    pub before: Option<DateTime<Utc>>,
    pub limit: u32,
}

/// How busy a member is, for routing.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentLoad {
    pub user: UserId,
    pub open: u64,
    pub last_assigned_at: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait HandoverStore: Send + Sync {
    /// Hands a conversation the bot is answering (`active`) to a person: it waits, with a
    /// new open handover. `None` when it is not `active` (already with a person, or over).
    async fn request_handover(
        &self,
        org: OrgId,
        conversation: ConversationId,
        reason: HandoverReason,
        at: DateTime<Utc>,
    ) -> Result<Option<(Conversation, Handover)>>;
    /// Gives the conversation to `agent` (status `human`). One the bot is answering is taken
    /// over (a handover of reason `agent` opens); one owned by another agent is taken only
    /// with `take_over`. `None` when it is over, or owned by another without `take_over`.
    async fn assign_conversation(
        &self,
        org: OrgId,
        conversation: ConversationId,
        agent: UserId,
        take_over: bool,
        at: DateTime<Utc>,
    ) -> Result<Option<Conversation>>;
    /// Ends the open handover: `released` gives the conversation back to the bot, `closed`
    /// closes it (with or without a handover). `None` when there was nothing to end.
    async fn end_handover(
        &self,
        org: OrgId,
        conversation: ConversationId,
        end: HandoverEnd,
        at: DateTime<Utc>,
    ) -> Result<Option<Conversation>>;
    /// Notes the first agent reply of the open handover.
    async fn agent_replied(
        &self,
        org: OrgId,
        conversation: ConversationId,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// Every handover of a conversation, oldest first.
    async fn handovers_of(&self, org: OrgId, conversation: ConversationId)
    -> Result<Vec<Handover>>;
    async fn add_note(
        &self,
        org: OrgId,
        conversation: ConversationId,
        author: UserId,
        content: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<Note>>;
    async fn notes(&self, org: OrgId, conversation: ConversationId) -> Result<Vec<Note>>;
    /// Conversations with a person or waiting for one, most recently active first.
    async fn inbox(&self, org: OrgId, filter: &InboxFilter) -> Result<Vec<InboxItem>>;
    /// Open handovers of every organization that nobody was given and nobody was emailed
    /// about, asked for before `before`, oldest first.
    async fn unnotified_handovers(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Handover>>;
    /// Notes that the agents were emailed about a handover; `false` when someone did so
    /// already (so that one email goes, whoever sweeps).
    async fn mark_handover_notified(
        &self,
        org: OrgId,
        handover: HandoverId,
        at: DateTime<Utc>,
    ) -> Result<bool>;
    /// A member's inbox connection is open (again) at `at`.
    async fn agent_present(
        &self,
        org: OrgId,
        user: UserId,
        connection: ConnectionId,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// The connection closed.
    async fn agent_gone(&self, connection: ConnectionId) -> Result<()>;
    /// Members with an inbox connection refreshed since `since`.
    async fn agents_online(&self, org: OrgId, since: DateTime<Utc>) -> Result<Vec<UserId>>;
    /// For each member given conversations: how many they have now (status `human`), and
    /// when they were last given one.
    async fn agent_loads(&self, org: OrgId) -> Result<Vec<AgentLoad>>;
    async fn canned_replies(&self, org: OrgId) -> Result<Vec<CannedReply>>;
    /// `Conflict { field: "shortcut" }` when the organization has that shortcut already.
    async fn create_canned_reply(
        &self,
        org: OrgId,
        shortcut: &str,
        content: &str,
        by: Option<UserId>,
        at: DateTime<Utc>,
    ) -> Result<CannedReply>;
    async fn update_canned_reply(
        &self,
        org: OrgId,
        id: CannedReplyId,
        shortcut: &str,
        content: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<CannedReply>>;
    async fn delete_canned_reply(&self, org: OrgId, id: CannedReplyId) -> Result<bool>;
    /// `user` has read the conversation up to `at`.
    async fn mark_read(
        &self,
        org: OrgId,
        user: UserId,
        conversation: ConversationId,
        at: DateTime<Utc>,
    ) -> Result<()>;
}
