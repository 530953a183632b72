//! The storage contract of one area: chat spaces: their settings, status and slugs. The SQL lives in each
//! backend's `chat_spaces.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use docent_core::*;

use crate::Result;

/// Chat spaces: their settings, status and slugs.
#[async_trait]
pub trait ChatSpaceStore: Send + Sync {
    async fn create_chat_space(&self, org: OrgId, space: NewChatSpace) -> Result<ChatSpace> {
        self.create_chat_space_within(org, space, None).await
    }
    /// Creates a chat space unless `org` has `limit` of them already
    /// ([`StoreError::LimitReached`]); the count and the insert are one atomic step, so
    /// parallel requests cannot pass the limit together.
    async fn create_chat_space_within(
        &self,
        org: OrgId,
        space: NewChatSpace,
        limit: Option<u64>,
    ) -> Result<ChatSpace>;
    /// Newest first.
    async fn list_chat_spaces(&self, org: OrgId, page: Page<ChatSpaceId>)
    -> Result<Vec<ChatSpace>>;
    async fn count_chat_spaces(&self, org: OrgId) -> Result<u64>;
    async fn find_chat_space(&self, org: OrgId, id: ChatSpaceId) -> Result<Option<ChatSpace>>;
    /// A chat space by its public slug, whatever its organization (the widget's entry).
    async fn find_chat_space_by_slug(&self, slug: &str) -> Result<Option<ChatSpace>>;
    /// Published chat spaces of every organization, those asked the most first: what a
    /// starting server readies its search for.
    async fn busiest_published_chat_spaces(&self, limit: u32) -> Result<Vec<(OrgId, ChatSpaceId)>>;
    async fn update_chat_space(
        &self,
        org: OrgId,
        id: ChatSpaceId,
        patch: ChatSpacePatch,
    ) -> Result<Option<ChatSpace>>;
    /// Sets the status; `published_at` is set on publishing.
    async fn set_chat_space_status(
        &self,
        org: OrgId,
        id: ChatSpaceId,
        status: ChatSpaceStatus,
        at: DateTime<Utc>,
    ) -> Result<Option<ChatSpace>>;
    async fn delete_chat_space(&self, org: OrgId, id: ChatSpaceId) -> Result<bool>;
    /// Makes `secret` the chat space's identity secret; the one it replaces still verifies
    /// until `previous_until`.
    async fn rotate_identity_secret(
        &self,
        org: OrgId,
        id: ChatSpaceId,
        secret: &str,
        previous_until: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// The chat space's identity secrets, and when the current one was made; none until one
    /// is made.
    async fn identity_secrets(
        &self,
        org: OrgId,
        id: ChatSpaceId,
    ) -> Result<Option<(SigningSecrets, DateTime<Utc>)>>;
    /// Sets (or, with `None`, removes) the username and password the answer webhook is
    /// called with.
    async fn set_webhook_auth(
        &self,
        org: OrgId,
        id: ChatSpaceId,
        auth: Option<&BasicAuth>,
        at: DateTime<Utc>,
    ) -> Result<()>;
    /// The username and password the answer webhook is called with.
    async fn webhook_auth(&self, org: OrgId, id: ChatSpaceId) -> Result<Option<BasicAuth>>;
}
