//! Members, invitations, organizations and the organization switcher.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use docent_app::AppError;
use docent_core::*;
use serde::Deserialize;

use crate::AppState;
use crate::auth::{Caller, CurrentUser};
use crate::error::ApiError;
use crate::extract::{ApiForm, ApiQuery, IdPath};
use crate::http::pages::TokenQuery;
use crate::http::pages::{PageCtx, PageError, Shell, field_errors, redirect_with};
use docent_app::orgs::{self, CreateOrgInput, InviteInput, Usage};

#[derive(Template)]
#[template(path = "orgs/members.html")]
struct MembersPage {
    shell: Shell,
    title: &'static str,
    members: Vec<Member>,
    invitations: Vec<Invitation>,
    errors: ValidationErrors,
    invite_email: String,
    invite_link: Option<String>,
    /// False: invitations reach the outbox only, and the page says so.
    sends_mail: bool,
    me: Option<UserId>,
    roles: [Role; 4],
    /// The chat spaces a viewer may be limited to, and each viewer's limit.
    spaces: Vec<ChatSpace>,
    access: std::collections::HashMap<UserId, Option<Vec<ChatSpaceId>>>,
}

impl MembersPage {
    /// Whether `member` is limited, and so whether `space` is ticked for them.
    fn limited(&self, member: &UserId) -> bool {
        matches!(self.access.get(member), Some(Some(_)))
    }

    fn sees(&self, member: &UserId, space: &ChatSpaceId) -> bool {
        match self.access.get(member) {
            Some(Some(spaces)) => spaces.contains(space),
            _ => true,
        }
    }
}

impl MembersPage {
    fn is_me(&self, id: &UserId) -> bool {
        self.me.as_ref() == Some(id)
    }
}

async fn members_page(
    state: &AppState,
    caller: &Caller,
    ctx: &PageCtx,
    errors: ValidationErrors,
    invite_email: String,
    invite_link: Option<String>,
) -> Result<MembersPage, PageError> {
    let invitations = if caller.role.can_manage() {
        orgs::invitations(state, caller).await?
    } else {
        Vec::new()
    };
    let members = orgs::members(state, caller).await?;
    let mut access = std::collections::HashMap::new();
    let mut spaces = Vec::new();
    if caller.role.can_manage() {
        spaces = docent_app::chat_spaces::list(
            state,
            caller,
            Page::first(Page::<ChatSpaceId>::MAX_LIMIT),
        )
        .await?;
        for m in members.iter().filter(|m| m.role == Role::Viewer) {
            let a = orgs::member_access(state, caller, m.user_id).await?;
            access.insert(m.user_id, a.chat_space_ids);
        }
    }
    Ok(MembersPage {
        shell: ctx.shell_in("members"),
        title: "Members",
        spaces,
        access,
        members,
        invitations,
        errors,
        invite_email,
        invite_link,
        sends_mail: state.mailer.sends_mail(),
        me: caller.user.as_ref().map(|u| u.user.id),
        roles: Role::ALL,
    })
}

/// The members page again, showing why an action failed.
async fn members_error(
    state: &AppState,
    caller: &Caller,
    ctx: &PageCtx,
    error: impl Into<ApiError>,
    invite_email: String,
) -> Result<Response, PageError> {
    let error = error.into();
    let status = error.status();
    let errors = field_errors(error)?;
    let page = members_page(state, caller, ctx, errors, invite_email, None).await?;
    Ok(ctx.render_status(status, &page))
}

pub async fn index(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
) -> Result<Response, PageError> {
    let page = members_page(
        &state,
        &caller,
        &ctx,
        ValidationErrors::new(),
        String::new(),
        None,
    )
    .await?;
    Ok(ctx.render(&page))
}

#[derive(Debug, Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

pub async fn invite(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    ApiForm(form): ApiForm<InviteForm>,
) -> Result<Response, PageError> {
    let Some(role) = Role::parse(&form.role) else {
        let errors = ValidationErrors::single("role", "Choose a role.");
        let page = members_page(&state, &caller, &ctx, errors, form.email, None).await?;
        return Ok(ctx.render_status(axum::http::StatusCode::UNPROCESSABLE_ENTITY, &page));
    };
    match orgs::invite(
        &state,
        &caller,
        InviteInput {
            email: form.email.clone(),
            role,
        },
    )
    .await
    {
        Ok((_, link)) => {
            let page = members_page(
                &state,
                &caller,
                &ctx,
                ValidationErrors::new(),
                String::new(),
                Some(link),
            )
            .await?;
            Ok(ctx.render_status(axum::http::StatusCode::CREATED, &page))
        }
        Err(e) => members_error(&state, &caller, &ctx, e, form.email).await,
    }
}

#[derive(Debug, Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

pub async fn change_role(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    IdPath(user_id): IdPath<UserId>,
    ApiForm(form): ApiForm<RoleForm>,
) -> Result<Response, PageError> {
    let role =
        Role::parse(&form.role).ok_or_else(|| AppError::validation("role", "Choose a role."))?;
    match orgs::change_role(&state, &caller, user_id, role).await {
        Ok(_) => Ok(redirect_with("/app/members", "role_changed")),
        Err(e) => members_error(&state, &caller, &ctx, e, String::new()).await,
    }
}

pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    IdPath(user_id): IdPath<UserId>,
) -> Result<Response, PageError> {
    let leaving = caller.user.as_ref().is_some_and(|u| u.user.id == user_id);
    match orgs::remove_member(&state, &caller, user_id).await {
        Ok(()) if leaving => Ok(Redirect::to("/app").into_response()),
        Ok(()) => Ok(redirect_with("/app/members", "member_removed")),
        Err(e) => members_error(&state, &caller, &ctx, e, String::new()).await,
    }
}

pub async fn revoke_invitation(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<InvitationId>,
) -> Result<Response, PageError> {
    orgs::revoke_invitation(&state, &caller, id).await?;
    Ok(redirect_with("/app/members", "invitation_revoked"))
}

#[derive(Template)]
#[template(path = "orgs/invite.html")]
struct InvitePage {
    shell: Shell,
    title: &'static str,
    token: String,
    org_name: String,
    role: Role,
    email: String,
}

pub async fn invite_page(
    State(state): State<AppState>,
    ctx: PageCtx,
    ApiQuery(query): ApiQuery<TokenQuery>,
) -> Result<Response, PageError> {
    let (invitation, org) = orgs::find_invitation(&state, &query.token).await?;
    let page = InvitePage {
        shell: ctx.shell.clone(),
        title: "Invitation",
        token: query.token,
        org_name: org.name,
        role: invitation.role,
        email: invitation.email,
    };
    Ok(ctx.render(&page))
}

#[derive(Debug, Deserialize)]
pub struct AcceptForm {
    #[serde(default)]
    token: String,
}

pub async fn accept(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiForm(form): ApiForm<AcceptForm>,
) -> Result<Response, PageError> {
    orgs::accept(&state, &current, &form.token).await?;
    Ok(redirect_with("/app", "joined"))
}

#[derive(Template)]
#[template(path = "orgs/organization.html")]
struct OrganizationPage {
    shell: Shell,
    title: &'static str,
    usage: Usage,
    errors: ValidationErrors,
}

impl OrganizationPage {
    fn limit(value: &Option<u64>) -> String {
        value.map_or_else(|| "Unlimited".to_owned(), |v| v.to_string())
    }
}

pub async fn organization(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
) -> Result<Response, PageError> {
    let page = OrganizationPage {
        shell: ctx.shell_in("organization"),
        title: "Organization",
        usage: orgs::usage(&state, &caller).await?,
        errors: ValidationErrors::new(),
    };
    Ok(ctx.render(&page))
}

#[derive(Debug, Deserialize)]
pub struct DeleteOrgForm {
    #[serde(default)]
    confirm: String,
}

pub async fn delete_organization(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    ApiForm(form): ApiForm<DeleteOrgForm>,
) -> Result<Response, PageError> {
    caller.person()?;
    caller.require(Role::Owner)?;
    if form.confirm.trim() != caller.org.name {
        let page = OrganizationPage {
            shell: ctx.shell_in("organization"),
            title: "Organization",
            usage: orgs::usage(&state, &caller).await?,
            errors: ValidationErrors::single(
                "confirm",
                "Type the organization's name exactly to confirm.",
            ),
        };
        return Ok(ctx.render_status(axum::http::StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    orgs::delete(&state, &caller).await?;
    Ok(redirect_with("/app", "org_deleted"))
}

#[derive(Template)]
#[template(path = "orgs/org_new.html")]
struct NewOrgPage {
    shell: Shell,
    title: &'static str,
    errors: ValidationErrors,
    name: String,
}

pub async fn new_org_page(_current: CurrentUser, ctx: PageCtx) -> Response {
    let page = NewOrgPage {
        shell: ctx.shell.clone(),
        title: "New organization",
        errors: ValidationErrors::new(),
        name: String::new(),
    };
    ctx.render(&page)
}

#[derive(Debug, Deserialize)]
pub struct NewOrgForm {
    #[serde(default)]
    name: String,
}

pub async fn create_org(
    State(state): State<AppState>,
    current: CurrentUser,
    ctx: PageCtx,
    ApiForm(form): ApiForm<NewOrgForm>,
) -> Result<Response, PageError> {
    match orgs::create(
        &state,
        &current,
        CreateOrgInput {
            name: form.name.clone(),
        },
    )
    .await
    {
        Ok(_) => Ok(redirect_with("/app", "org_created")),
        Err(e) => {
            let e = ApiError::from(e);
            let status = e.status();
            let page = NewOrgPage {
                shell: ctx.shell.clone(),
                title: "New organization",
                errors: field_errors(e)?,
                name: form.name,
            };
            Ok(ctx.render_status(status, &page))
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct SwitchForm {
    #[serde(default)]
    org_id: String,
}

pub async fn switch_org(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiForm(form): ApiForm<SwitchForm>,
) -> Result<Response, PageError> {
    let org: OrgId = form
        .org_id
        .parse()
        .map_err(|_| AppError::NotFound("organization"))?;
    orgs::switch(&state, &current, org).await?;
    Ok(redirect_with("/app", "switched"))
}

/// Which chat spaces a viewer sees, as the members page's form sends it: `scope` `all` or
/// `some`, and each ticked `chat_space`.
pub async fn set_access(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    IdPath(user_id): IdPath<UserId>,
    ApiForm(fields): ApiForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let some = fields.iter().any(|(k, v)| k == "scope" && v == "some");
    let mut ids = Vec::new();
    for (k, v) in fields.iter().filter(|(k, _)| k == "chat_space") {
        let id = v
            .parse::<ChatSpaceId>()
            .map_err(|_| AppError::validation(k, "Choose chat spaces from the list."))?;
        ids.push(id);
    }
    let access = orgs::MemberAccess {
        chat_space_ids: some.then_some(ids),
    };
    match orgs::set_member_access(&state, &caller, user_id, access).await {
        Ok(_) => Ok(redirect_with("/app/members", "saved")),
        Err(e) => members_error(&state, &caller, &ctx, e, String::new()).await,
    }
}
