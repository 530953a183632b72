//! Organizations, members, roles and invitations.

use chrono::{Duration, Utc};
use docent_core::validate;
use docent_core::*;
use serde::{Deserialize, Serialize};

use crate::App;
use crate::AppError;
use crate::accounts::org_slug;
use crate::auth::token;
use crate::{Caller, CurrentUser};

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrgInput {
    #[schemars(regex(pattern = docent_core::validate::NAME_PATTERN), length(max = 100))]
    pub name: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteInput {
    #[schemars(regex(pattern = docent_core::validate::EMAIL_PATTERN), length(max = 254))]
    pub email: String,
    pub role: Role,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleInput {
    pub role: Role,
}

/// Creates another organization owned by the caller and makes it their active one.
pub async fn create(
    app: &App,
    current: &CurrentUser,
    input: CreateOrgInput,
) -> Result<Organization, AppError> {
    let mut errors = ValidationErrors::new();
    let name = validate::name(&mut errors, "name", &input.name);
    errors.into_result()?;
    let org = app
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
    app.store
        .set_session_org(current.session.id, org.id)
        .await?;
    Ok(org)
}

/// Makes `org` the active organization of the session; only organizations the user belongs to.
pub async fn switch(
    app: &App,
    current: &CurrentUser,
    org: OrgId,
) -> Result<OrgMembership, AppError> {
    let membership = app
        .store
        .memberships_of_user(current.user.id)
        .await?
        .into_iter()
        .find(|m| m.organization.id == org)
        .ok_or(AppError::NotFound("organization"))?;
    app.store.set_session_org(current.session.id, org).await?;
    Ok(membership)
}

/// Usage of the organization against its plan.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct Usage {
    pub plan: Plan,
    pub limits: PlanLimits,
    pub chat_spaces: u64,
    pub members: u64,
}

pub async fn usage(app: &App, caller: &Caller) -> Result<Usage, AppError> {
    Ok(Usage {
        plan: caller.org.plan,
        limits: caller.org.plan.limits(),
        chat_spaces: app.store.count_chat_spaces(caller.org_id()).await?,
        members: app.store.count_members(caller.org_id()).await?,
    })
}

pub async fn delete(app: &App, caller: &Caller) -> Result<(), AppError> {
    caller.person()?;
    caller.require(Role::Owner)?;
    app.store.delete_organization(caller.org_id()).await?;
    tracing::info!(org = %caller.org_id(), "organization deleted");
    Ok(())
}

pub async fn members(app: &App, caller: &Caller) -> Result<Vec<Member>, AppError> {
    Ok(app.store.list_members(caller.org_id()).await?)
}

pub async fn invitations(app: &App, caller: &Caller) -> Result<Vec<Invitation>, AppError> {
    caller.require(Role::Admin)?;
    Ok(app.store.list_invitations(caller.org_id()).await?)
}

/// Invites someone by email; the link is mailed (or put in the outbox). Returns the
/// invitation and the accept link.
const SEATS: &str = "members (with pending invitations)";

pub async fn invite(
    app: &App,
    caller: &Caller,
    input: InviteInput,
) -> Result<(Invitation, String), AppError> {
    let inviter = caller.person()?;
    caller.require(Role::Admin)?;
    if input.role == Role::Owner {
        caller.require(Role::Owner)?;
    }
    let mut errors = ValidationErrors::new();
    let email = validate::email(&mut errors, "email", &input.email);
    errors.into_result()?;
    let members = app.store.list_members(caller.org_id()).await?;
    if members.iter().any(|m| m.email == email) {
        return Err(AppError::validation(
            "email",
            "This person is a member already.",
        ));
    }
    // Members and pending invitations are counted against the plan as the invitation is
    // stored, in one step.
    let limit = caller.org.plan.limits().members_per_org;
    let secret = token::generate(32);
    let invitation = app
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
        .map_err(AppError::within_plan(caller.org.plan, SEATS))?;
    let link = format!("{}/invite?token={secret}", app.settings.public_base_url());
    let body = format!(
        "Hello,\n\n{} invited you to join {} on Docent as {}.\n\n\
         Open this link within 7 days to accept (sign up first if you have no account, with this email address):\n\n{link}\n",
        inviter.user.name,
        caller.org.name,
        input.role.label()
    );
    app.mailer
        .send(
            &app.store,
            &email,
            &format!("Join {} on Docent", caller.org.name),
            &body,
        )
        .await?;
    Ok((invitation, link))
}

/// Looks up a pending invitation by its secret (for the accept page).
pub async fn find_invitation(
    app: &App,
    secret: &str,
) -> Result<(Invitation, Organization), AppError> {
    let invitation = app
        .store
        .find_invitation_by_token(&token::hash(secret.trim()))
        .await?
        .filter(|i| i.accepted_at.is_none() && i.expires_at > Utc::now())
        .ok_or(AppError::InvalidToken)?;
    let org = app
        .store
        .find_organization(invitation.org_id)
        .await?
        .ok_or(AppError::InvalidToken)?;
    Ok((invitation, org))
}

/// Accepts an invitation as the logged-in user, whose email must be the invited one, and
/// switches the session to that organization.
pub async fn accept(
    app: &App,
    current: &CurrentUser,
    secret: &str,
) -> Result<Organization, AppError> {
    let (invitation, org) = find_invitation(app, secret).await?;
    if invitation.email != current.user.email {
        return Err(AppError::InvitationEmailMismatch);
    }
    if !app
        .store
        .accept_invitation(invitation.id, current.user.id, Utc::now())
        .await?
    {
        return Err(AppError::InvalidToken);
    }
    app.store
        .set_session_org(current.session.id, org.id)
        .await?;
    Ok(org)
}

pub async fn revoke_invitation(
    app: &App,
    caller: &Caller,
    id: InvitationId,
) -> Result<(), AppError> {
    caller.require(Role::Admin)?;
    if app.store.delete_invitation(caller.org_id(), id).await? {
        Ok(())
    } else {
        Err(AppError::NotFound("invitation"))
    }
}

async fn owners(app: &App, org: OrgId) -> Result<usize, AppError> {
    Ok(app
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
    app: &App,
    caller: &Caller,
    user: UserId,
    role: Role,
) -> Result<Member, AppError> {
    caller.person()?;
    caller.require(Role::Admin)?;
    let current = app
        .store
        .find_role(caller.org_id(), user)
        .await?
        .ok_or(AppError::NotFound("member"))?;
    if current == Role::Owner || role == Role::Owner {
        caller.require(Role::Owner)?;
    }
    if current == Role::Owner && role != Role::Owner && owners(app, caller.org_id()).await? <= 1 {
        return Err(AppError::LastOwner);
    }
    app.store
        .set_member_role(caller.org_id(), user, role)
        .await?;
    // Only viewers are limited to some chat spaces: any other role sees them all.
    if role != Role::Viewer {
        app.store
            .set_member_access(caller.org_id(), user, None)
            .await?;
    }
    app.store
        .list_members(caller.org_id())
        .await?
        .into_iter()
        .find(|m| m.user_id == user)
        .ok_or(AppError::NotFound("member"))
}

/// Removes a member; anyone may leave, admins remove non-owners, owners remove anyone but
/// the last owner.
pub async fn remove_member(app: &App, caller: &Caller, user: UserId) -> Result<(), AppError> {
    let me = caller.person()?;
    let role = app
        .store
        .find_role(caller.org_id(), user)
        .await?
        .ok_or(AppError::NotFound("member"))?;
    if me.user.id != user {
        caller.require(if role == Role::Owner {
            Role::Owner
        } else {
            Role::Admin
        })?;
    }
    if role == Role::Owner && owners(app, caller.org_id()).await? <= 1 {
        return Err(AppError::LastOwner);
    }
    app.store.remove_member(caller.org_id(), user).await?;
    Ok(())
}

/// The organizations `user` belongs to, with their role in each.
pub async fn memberships(app: &App, user: &User) -> Result<Vec<OrgMembership>, AppError> {
    Ok(app.store.memberships_of_user(user.id).await?)
}

/// Which chat spaces a member sees: all of the organization's (`null`), or only these.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberAccess {
    /// `null`: every chat space. A list (perhaps empty): only those, and nothing of the
    /// organization as a whole (members, keys, plan) — for viewers, such as an agency's
    /// client.
    pub chat_space_ids: Option<Vec<ChatSpaceId>>,
}

/// The chat spaces a member sees.
pub async fn member_access(
    app: &App,
    caller: &Caller,
    user: UserId,
) -> Result<MemberAccess, AppError> {
    caller.require(Role::Admin)?;
    app.store
        .find_role(caller.org_id(), user)
        .await?
        .ok_or(AppError::NotFound("member"))?;
    Ok(MemberAccess {
        chat_space_ids: app.store.member_access(caller.org_id(), user).await?,
    })
}

/// Limits a viewer to some chat spaces, or lets a member see them all again (owners and
/// admins).
pub async fn set_member_access(
    app: &App,
    caller: &Caller,
    user: UserId,
    access: MemberAccess,
) -> Result<MemberAccess, AppError> {
    caller.person()?;
    caller.require(Role::Admin)?;
    let role = app
        .store
        .find_role(caller.org_id(), user)
        .await?
        .ok_or(AppError::NotFound("member"))?;
    if let Some(ids) = &access.chat_space_ids {
        if role != Role::Viewer {
            return Err(AppError::validation(
                "chat_space_ids",
                "Only viewers can be limited to some chat spaces; make them a viewer first.",
            ));
        }
        for id in ids {
            if app
                .store
                .find_chat_space(caller.org_id(), *id)
                .await?
                .is_none()
            {
                return Err(AppError::validation(
                    "chat_space_ids",
                    format!("{id} is not a chat space of this organization."),
                ));
            }
        }
    }
    app.store
        .set_member_access(caller.org_id(), user, access.chat_space_ids.as_deref())
        .await?;
    member_access(app, caller, user).await
}
