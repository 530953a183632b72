//! `/api/admin/*`: platform administration.

use axum::Json;
use axum::extract::State;
use docent_core::*;
use serde::Deserialize;

use super::{List, ListQuery};
use crate::AppState;
use crate::auth::PlatformAdmin;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, IdPath};
use crate::service::orgs;

pub async fn organizations(
    State(state): State<AppState>,
    _admin: PlatformAdmin,
    ApiQuery(query): ApiQuery<ListQuery<OrgId>>,
) -> Result<Json<List<Organization>>, ApiError> {
    let page = query.page();
    let orgs = state.store.list_organizations(page).await?;
    Ok(Json(List::new(orgs, page.limit, |o| o.id.to_string())))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanInput {
    pub plan: Plan,
}

pub async fn set_plan(
    State(state): State<AppState>,
    _admin: PlatformAdmin,
    IdPath(org_id): IdPath<OrgId>,
    ApiJson(input): ApiJson<PlanInput>,
) -> Result<Json<Organization>, ApiError> {
    Ok(Json(orgs::set_plan(&state, org_id, input.plan).await?))
}

pub async fn outbox(
    State(state): State<AppState>,
    _admin: PlatformAdmin,
) -> Result<Json<Vec<OutboxEmail>>, ApiError> {
    Ok(Json(state.store.list_outbox(100).await?))
}
