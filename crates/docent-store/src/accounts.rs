//! The storage contract of one area: users, their sessions and password resets. The SQL lives in each
//! backend's `accounts.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use docent_core::*;

use crate::Result;

/// Users, their sessions and password resets.
#[async_trait]
pub trait AccountStore: Send + Sync {
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
    /// The failures counted against a throttle key since `since`, oldest first (at most 1,000).
    async fn throttle_failures(
        &self,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<DateTime<Utc>>>;
    /// Counts one failure at `at` against each of `keys`.
    async fn record_throttle_failure(&self, keys: &[&str], at: DateTime<Utc>) -> Result<()>;
    /// Forgets the failures of `key`, and of every key that starts with `prefix` when given.
    async fn clear_throttle(&self, key: &str, prefix: Option<&str>) -> Result<()>;
    /// Deletes failures from before `before` (outside every window): how many.
    async fn prune_throttle(&self, before: DateTime<Utc>) -> Result<u64>;
}
