//! The storage contract of Docent: one [`Store`] trait that the SQLite and PostgreSQL backends
//! implement with the same table and column names, [`StoreError`], the row types both decode
//! into, and (feature `testing`) the conformance stories every backend must pass.
//!
//! Every method on tenant data takes the [`OrgId`] first: a row of another organization is
//! simply not found.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use docent_core::*;

pub mod answers;
mod error;
pub mod hub;
pub mod jobs;
mod knowledge;
pub mod rows;
#[cfg(feature = "testing")]
pub mod stories;
pub mod text_index;

pub use answers::{AnswerStore, MessageQuota};
pub use error::StoreError;
pub use jobs::JobQueue;
pub use knowledge::KnowledgeStore;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Connections of the pool, for `/metrics`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    pub size: u32,
    pub idle: u32,
}

/// Everything Docent keeps: accounts, organizations and chat spaces here, knowledge and
/// background jobs in the supertraits.
#[async_trait]
pub trait Store: KnowledgeStore + JobQueue + AnswerStore + Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// This backend's publish/subscribe (see [`hub`]).
    fn hub(&self) -> std::sync::Arc<dyn hub::Hub>;
    /// Whether the database answers.
    async fn ping(&self) -> Result<()>;
    fn pool_stats(&self) -> PoolStats;

    // ---- users -------------------------------------------------------------------------

    /// Creates a user, their first organization and their owner membership in one
    /// transaction. The first user of an empty server becomes platform admin.
    async fn signup(&self, user: NewUser, org: NewOrganization) -> Result<(User, Organization)>;
    /// Creates a user without an organization (invited users, `docent user create`).
    async fn create_user(&self, user: NewUser) -> Result<User>;
    async fn find_user_by_id(&self, id: UserId) -> Result<Option<User>>;
    /// `email` is compared lower-cased.
    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>>;
    async fn set_user_password(&self, id: UserId, password_hash: &str) -> Result<bool>;
    async fn set_platform_admin(&self, id: UserId, is_admin: bool) -> Result<bool>;
    async fn record_login(&self, id: UserId, at: DateTime<Utc>) -> Result<()>;

    // ---- organizations and memberships --------------------------------------------------

    /// Creates an organization with `owner` as its owner.
    async fn create_organization(
        &self,
        org: NewOrganization,
        owner: UserId,
    ) -> Result<Organization>;
    async fn find_organization(&self, org: OrgId) -> Result<Option<Organization>>;
    /// Every organization, newest first (platform admin).
    async fn list_organizations(&self, page: Page<OrgId>) -> Result<Vec<Organization>>;
    async fn set_organization_plan(&self, org: OrgId, plan: Plan) -> Result<bool>;
    /// Deletes the organization and everything it owns.
    async fn delete_organization(&self, org: OrgId) -> Result<bool>;
    /// The organizations `user` belongs to, oldest membership first.
    async fn memberships_of_user(&self, user: UserId) -> Result<Vec<OrgMembership>>;
    async fn find_role(&self, org: OrgId, user: UserId) -> Result<Option<Role>>;
    async fn list_members(&self, org: OrgId) -> Result<Vec<Member>>;
    async fn count_members(&self, org: OrgId) -> Result<u64>;
    async fn set_member_role(&self, org: OrgId, user: UserId, role: Role) -> Result<bool>;
    async fn remove_member(&self, org: OrgId, user: UserId) -> Result<bool>;

    // ---- invitations --------------------------------------------------------------------

    async fn create_invitation(&self, org: OrgId, invite: NewInvitation) -> Result<Invitation> {
        self.create_invitation_within(org, invite, None).await
    }
    /// Creates an invitation unless members and pending invitations together take `seats`
    /// already ([`StoreError::LimitReached`]), atomically.
    async fn create_invitation_within(
        &self,
        org: OrgId,
        invite: NewInvitation,
        seats: Option<u64>,
    ) -> Result<Invitation>;
    /// Invitations not yet accepted, newest first.
    async fn list_invitations(&self, org: OrgId) -> Result<Vec<Invitation>>;
    async fn find_invitation_by_token(&self, token_hash: &str) -> Result<Option<Invitation>>;
    /// Marks a pending, unexpired invitation accepted and makes `user` a member with its role
    /// (an existing membership keeps its role). False when it was not pending.
    async fn accept_invitation(
        &self,
        id: InvitationId,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    async fn delete_invitation(&self, org: OrgId, id: InvitationId) -> Result<bool>;

    // ---- sessions and password resets ---------------------------------------------------

    async fn create_session(&self, session: NewSession) -> Result<Session>;
    /// An unexpired session by the hash of its token.
    async fn find_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Session>>;
    async fn set_session_org(&self, id: SessionId, org: OrgId) -> Result<()>;
    async fn delete_session(&self, token_hash: &str) -> Result<()>;
    async fn delete_user_sessions(&self, user: UserId) -> Result<()>;
    async fn create_password_reset(
        &self,
        user: UserId,
        token_hash: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;
    /// Uses a reset token once: the user it belongs to, if it is unused and unexpired.
    async fn consume_password_reset(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<UserId>>;

    // ---- API keys -----------------------------------------------------------------------

    async fn create_api_key(&self, org: OrgId, key: NewApiKey) -> Result<ApiKey>;
    /// Keys of the organization (revoked ones too), newest first; only those of one chat
    /// space when `chat_space` is set.
    async fn list_api_keys(
        &self,
        org: OrgId,
        chat_space: Option<ChatSpaceId>,
    ) -> Result<Vec<ApiKey>>;
    async fn revoke_api_key(&self, org: OrgId, id: ApiKeyId, at: DateTime<Utc>) -> Result<bool>;
    /// An unrevoked key by the hash of its secret (the key names its organization).
    async fn find_api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKey>>;
    async fn touch_api_key(&self, id: ApiKeyId, at: DateTime<Utc>) -> Result<()>;

    // ---- chat spaces --------------------------------------------------------------------

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

    // ---- outbox -------------------------------------------------------------------------

    async fn push_outbox(&self, to_email: &str, subject: &str, body: &str) -> Result<()>;
    /// Newest first.
    async fn list_outbox(&self, limit: u32) -> Result<Vec<OutboxEmail>>;
}
