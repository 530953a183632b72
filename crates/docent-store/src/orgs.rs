//! The storage contract of one area: organizations, their members and invitations. The SQL lives in each
//! backend's `orgs.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use docent_core::*;

use crate::Result;

/// Organizations, their members and invitations.
#[async_trait]
pub trait OrgStore: Send + Sync {
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
    /// The chat spaces a member is limited to, or `None` when they see all of them.
    async fn member_access(&self, org: OrgId, user: UserId) -> Result<Option<Vec<ChatSpaceId>>>;
    /// Limits a member to `spaces` (those of `org`; others are ignored), or with `None`
    /// lifts the limit. False: no such member.
    async fn set_member_access(
        &self,
        org: OrgId,
        user: UserId,
        spaces: Option<&[ChatSpaceId]>,
    ) -> Result<bool>;
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
}
