//! The platform administrator's page: organizations and their plans, and the mail outbox.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use docent_app::AppError;
use docent_core::*;
use serde::Deserialize;

use crate::AppState;
use crate::auth::PlatformAdmin;
use crate::extract::{ApiForm, IdPath};
use crate::http::pages::{PageCtx, PageError, Shell, redirect_with};
use docent_app::platform;

#[derive(Template)]
#[template(path = "admin/admin.html")]
struct AdminPage {
    shell: Shell,
    title: &'static str,
    organizations: Vec<Organization>,
    outbox: Vec<OutboxEmail>,
    plans: [Plan; 3],
}

pub async fn index(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    ctx: PageCtx,
) -> Result<Response, PageError> {
    let page = AdminPage {
        shell: ctx.shell_in("admin"),
        title: "Platform administration",
        organizations: platform::organizations(
            &state,
            &admin,
            Page::first(Page::<OrgId>::MAX_LIMIT),
        )
        .await?,
        outbox: platform::outbox(&state, &admin, 50).await?,
        plans: Plan::ALL,
    };
    Ok(ctx.render(&page))
}

#[derive(Debug, Deserialize)]
pub struct PlanForm {
    #[serde(default)]
    plan: String,
}

pub async fn set_plan(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    IdPath(org_id): IdPath<OrgId>,
    ApiForm(form): ApiForm<PlanForm>,
) -> Result<Response, PageError> {
    let plan = Plan::parse(&form.plan)
        .ok_or_else(|| AppError::validation("plan", "Choose free, pro or enterprise."))?;
    platform::set_plan(&state, &admin, org_id, plan).await?;
    Ok(redirect_with("/admin", "plan_changed"))
}
