//! Organizations, members, roles and invitations.

use chrono::{Duration, Utc};
use docent_core::validate;
use docent_core::*;
use serde::Deserialize;

use crate::AppState;
use crate::auth::{Caller, CurrentUser, token};
use crate::error::ApiError;
use crate::service::accounts::org_slug;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateOrgInput {
    pub name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteInput {
    pub email: String,
    pub role: Role,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleInput {
    pub role: Role,
}

/// Creates another organization owned by the caller and makes it their active one.
pub async fn create(
    state: &AppState,
    current: &CurrentUser,
    input: CreateOrgInput,
) -> Result<Organization, ApiError> {
    let mut errors = ValidationErrors::new();
    let name = validate::name(&mut errors, "name", &input.name);
    errors.into_result()?;
    let org = state
        .store
        .create_organization(
            NewOrganization {
                slug: org_slug(&name),
                name,
                plan: Plan::Free,
            },
            current.user.id,
        )
        .await?;
    state
        .store
        .set_session_org(current.session.id, org.id)
        .await?;
    Ok(org)
}

/// Makes `org` the active organization of the session; only organizations the user belongs to.
pub async fn switch(
    state: &AppState,
    current: &CurrentUser,
    org: OrgId,
) -> Result<OrgMembership, ApiError> {
    let membership = state
        .store
        .memberships_of_user(current.user.id)
        .await?
        .into_iter()
        .find(|m| m.organization.id == org)
        .ok_or(ApiError::NotFound("organization"))?;
    state.store.set_session_org(current.session.id, org).await?;
    Ok(membership)
}

/// Usage of the organization against its plan.
#[derive(Debug, serde::Serialize)]
pub struct Usage {
    pub plan: Plan,
    pub limits: PlanLimits,
    pub chat_spaces: u64,
    pub members: u64,
}

pub async fn usage(state: &AppState, caller: &Caller) -> Result<Usage, ApiError> {
    Ok(Usage {
        plan: caller.org.plan,
        limits: caller.org.plan.limits(),
        chat_spaces: state.store.count_chat_spaces(caller.org_id()).await?,
        members: state.store.count_members(caller.org_id()).await?,
    })
}

pub async fn delete(state: &AppState, caller: &Caller) -> Result<(), ApiError> {
    caller.person()?;
    caller.require(Role::Owner)?;
    state.store.delete_organization(caller.org_id()).await?;
    tracing::info!(org = %caller.org_id(), "organization deleted");
    Ok(())
}

pub async fn members(state: &AppState, caller: &Caller) -> Result<Vec<Member>, ApiError> {
    Ok(state.store.list_members(caller.org_id()).await?)
}

pub async fn invitations(state: &AppState, caller: &Caller) -> Result<Vec<Invitation>, ApiError> {
    caller.require(Role::Admin)?;
    Ok(state.store.list_invitations(caller.org_id()).await?)
}

/// Invites someone by email; the link is mailed (or put in the outbox). Returns the
/// invitation and the accept link.
const SEATS: &str = "members (with pending invitations)";

pub async fn invite(
    state: &AppState,
    caller: &Caller,
    input: InviteInput,
) -> Result<(Invitation, String), ApiError> {
    let inviter = caller.person()?;
    caller.require(Role::Admin)?;
    if input.role == Role::Owner {
        caller.require(Role::Owner)?;
    }
    let mut errors = ValidationErrors::new();
    let email = validate::email(&mut errors, "email", &input.email);
    errors.into_result()?;
    let members = state.store.list_members(caller.org_id()).await?;
    if members.iter().any(|m| m.email == email) {
        return Err(ApiError::validation(
            "email",
            "This person is a member already.",
        ));
    }
    // Members and pending invitations are counted against the plan as the invitation is
    // stored, in one step.
    let limit = caller.org.plan.limits().members_per_org;
    let secret = token::generate(32);
    let invitation = state
        .store
        .create_invitation_within(
            caller.org_id(),
            NewInvitation {
                email: email.clone(),
                role: input.role,
                token_hash: token::hash(&secret),
                invited_by: inviter.user.id,
                expires_at: Utc::now() + Duration::days(7),
            },
            limit,
        )
        .await
        .map_err(ApiError::within_plan(caller.org.plan, SEATS))?;
    let link = format!("{}/invite?token={secret}", state.settings.public_base_url());
    let body = format!(
        "Hello,\n\n{} invited you to join {} on Docent as {}.\n\n\
         Open this link within 7 days to accept (sign up first if you have no account, with this email address):\n\n{link}\n",
        inviter.user.name,
        caller.org.name,
        input.role.label()
    );
    state
        .mailer
        .send(
            &state.store,
            &email,
            &format!("Join {} on Docent", caller.org.name),
            &body,
        )
        .await?;
    Ok((invitation, link))
}

/// Looks up a pending invitation by its secret (for the accept page).
pub async fn find_invitation(
    state: &AppState,
    secret: &str,
) -> Result<(Invitation, Organization), ApiError> {
    let invitation = state
        .store
        .find_invitation_by_token(&token::hash(secret.trim()))
        .await?
        .filter(|i| i.accepted_at.is_none() && i.expires_at > Utc::now())
        .ok_or(ApiError::InvalidToken)?;
    let org = state
        .store
        .find_organization(invitation.org_id)
        .await?
        .ok_or(ApiError::InvalidToken)?;
    Ok((invitation, org))
}

/// Accepts an invitation as the logged-in user, whose email must be the invited one, and
/// switches the session to that organization.
pub async fn accept(
    state: &AppState,
    current: &CurrentUser,
    secret: &str,
) -> Result<Organization, ApiError> {
    let (invitation, org) = find_invitation(state, secret).await?;
    if invitation.email != current.user.email {
        return Err(ApiError::InvitationEmailMismatch);
    }
    if !state
        .store
        .accept_invitation(invitation.id, current.user.id, Utc::now())
        .await?
    {
        return Err(ApiError::InvalidToken);
    }
    state
        .store
        .set_session_org(current.session.id, org.id)
        .await?;
    Ok(org)
}

pub async fn revoke_invitation(
    state: &AppState,
    caller: &Caller,
    id: InvitationId,
) -> Result<(), ApiError> {
    caller.require(Role::Admin)?;
    if state.store.delete_invitation(caller.org_id(), id).await? {
        Ok(())
    } else {
        Err(ApiError::NotFound("invitation"))
    }
}

async fn owners(state: &AppState, org: OrgId) -> Result<usize, ApiError> {
    Ok(state
        .store
        .list_members(org)
        .await?
        .iter()
        .filter(|m| m.role == Role::Owner)
        .count())
}

/// Changes a member's role. Admins manage non-owners; only owners grant or take ownership;
/// the last owner stays an owner.
pub async fn change_role(
    state: &AppState,
    caller: &Caller,
    user: UserId,
    role: Role,
) -> Result<Member, ApiError> {
    caller.person()?;
    caller.require(Role::Admin)?;
    let current = state
        .store
        .find_role(caller.org_id(), user)
        .await?
        .ok_or(ApiError::NotFound("member"))?;
    if current == Role::Owner || role == Role::Owner {
        caller.require(Role::Owner)?;
    }
    if current == Role::Owner && role != Role::Owner && owners(state, caller.org_id()).await? <= 1 {
        return Err(ApiError::LastOwner);
    }
    state
        .store
        .set_member_role(caller.org_id(), user, role)
        .await?;
    state
        .store
        .list_members(caller.org_id())
        .await?
        .into_iter()
        .find(|m| m.user_id == user)
        .ok_or(ApiError::NotFound("member"))
}

/// Removes a member; anyone may leave, admins remove non-owners, owners remove anyone but
/// the last owner.
pub async fn remove_member(
    state: &AppState,
    caller: &Caller,
    user: UserId,
) -> Result<(), ApiError> {
    let me = caller.person()?;
    let role = state
        .store
        .find_role(caller.org_id(), user)
        .await?
        .ok_or(ApiError::NotFound("member"))?;
    if me.user.id != user {
        caller.require(if role == Role::Owner {
            Role::Owner
        } else {
            Role::Admin
        })?;
    }
    if role == Role::Owner && owners(state, caller.org_id()).await? <= 1 {
        return Err(ApiError::LastOwner);
    }
    state.store.remove_member(caller.org_id(), user).await?;
    Ok(())
}

/// Changes an organization's plan (platform admins).
pub async fn set_plan(state: &AppState, org: OrgId, plan: Plan) -> Result<Organization, ApiError> {
    if !state.store.set_organization_plan(org, plan).await? {
        return Err(ApiError::NotFound("organization"));
    }
    state
        .store
        .find_organization(org)
        .await?
        .ok_or(ApiError::NotFound("organization"))
}
