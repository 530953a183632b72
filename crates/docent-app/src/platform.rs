//! What platform administrators do: look over every organization, change plans, read the
//! outbox of mail this server could not send. Each action takes the [`PlatformAdmin`] that
//! proves who asks.

use docent_core::*;

use crate::{App, AppError, PlatformAdmin};

/// A page of every organization on this server.
pub async fn organizations(
    app: &App,
    _admin: &PlatformAdmin,
    page: Page<OrgId>,
) -> Result<Vec<Organization>, AppError> {
    Ok(app.store.list_organizations(page).await?)
}

/// The newest mail kept in the outbox, up to `limit`.
pub async fn outbox(
    app: &App,
    _admin: &PlatformAdmin,
    limit: u32,
) -> Result<Vec<OutboxEmail>, AppError> {
    Ok(app.store.list_outbox(limit).await?)
}

/// Changes an organization's plan.
pub async fn set_plan(
    app: &App,
    _admin: &PlatformAdmin,
    org: OrgId,
    plan: Plan,
) -> Result<Organization, AppError> {
    if !app.store.set_organization_plan(org, plan).await? {
        return Err(AppError::NotFound("organization"));
    }
    app.store
        .find_organization(org)
        .await?
        .ok_or(AppError::NotFound("organization"))
}
