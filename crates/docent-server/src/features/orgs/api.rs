//! `/api/organizations`, `/api/organization/*` and `/api/invitations/accept`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use docent_core::*;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::auth::{Caller, CurrentUser};
use crate::error::ApiError;
use crate::extract::{ApiJson, IdPath};
use docent_app::orgs::{self, CreateOrgInput, InviteInput, RoleInput, Usage};

pub async fn list(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<Json<Vec<OrgMembership>>, ApiError> {
    Ok(Json(orgs::memberships(&state, &current.user).await?))
}

pub async fn create(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(input): ApiJson<CreateOrgInput>,
) -> Result<(StatusCode, Json<Organization>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(orgs::create(&state, &current, input).await?),
    ))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SwitchInput {
    pub org_id: OrgId,
}

pub async fn switch(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(input): ApiJson<SwitchInput>,
) -> Result<Json<OrgMembership>, ApiError> {
    Ok(Json(orgs::switch(&state, &current, input.org_id).await?))
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct OrgView {
    pub organization: Organization,
    pub role: Role,
    pub usage: Usage,
}

pub async fn current(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<OrgView>, ApiError> {
    let usage = orgs::usage(&state, &caller).await?;
    Ok(Json(OrgView {
        organization: caller.org,
        role: caller.role,
        usage,
    }))
}

pub async fn delete(State(state): State<AppState>, caller: Caller) -> Result<StatusCode, ApiError> {
    orgs::delete(&state, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn members(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Member>>, ApiError> {
    Ok(Json(orgs::members(&state, &caller).await?))
}

pub async fn change_role(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(user_id): IdPath<UserId>,
    ApiJson(input): ApiJson<RoleInput>,
) -> Result<Json<Member>, ApiError> {
    Ok(Json(
        orgs::change_role(&state, &caller, user_id, input.role).await?,
    ))
}

pub async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(user_id): IdPath<UserId>,
) -> Result<StatusCode, ApiError> {
    orgs::remove_member(&state, &caller, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn invitations(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Invitation>>, ApiError> {
    Ok(Json(orgs::invitations(&state, &caller).await?))
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct InvitationCreated {
    #[serde(flatten)]
    pub invitation: Invitation,
    /// The link that was emailed; share it yourself when mail is not set up.
    pub accept_url: String,
}

pub async fn invite(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<InviteInput>,
) -> Result<(StatusCode, Json<InvitationCreated>), ApiError> {
    let (invitation, accept_url) = orgs::invite(&state, &caller, input).await?;
    Ok((
        StatusCode::CREATED,
        Json(InvitationCreated {
            invitation,
            accept_url,
        }),
    ))
}

pub async fn revoke_invitation(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<InvitationId>,
) -> Result<StatusCode, ApiError> {
    orgs::revoke_invitation(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInput {
    pub token: String,
}

pub async fn accept_invitation(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(input): ApiJson<AcceptInput>,
) -> Result<Json<Organization>, ApiError> {
    Ok(Json(orgs::accept(&state, &current, &input.token).await?))
}

pub async fn member_access(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(user_id): IdPath<UserId>,
) -> Result<Json<docent_app::orgs::MemberAccess>, ApiError> {
    Ok(Json(orgs::member_access(&state, &caller, user_id).await?))
}

pub async fn set_member_access(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(user_id): IdPath<UserId>,
    ApiJson(input): ApiJson<docent_app::orgs::MemberAccess>,
) -> Result<Json<docent_app::orgs::MemberAccess>, ApiError> {
    Ok(Json(
        orgs::set_member_access(&state, &caller, user_id, input).await?,
    ))
}
