//! `/api/admin/*`: platform administration.

use axum::Json;
use axum::extract::State;
use docent_core::*;
use serde::Deserialize;

use crate::AppState;
use crate::auth::PlatformAdmin;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, IdPath};
use crate::http::list::{List, ListQuery};
use docent_app::platform;

pub async fn organizations(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    ApiQuery(query): ApiQuery<ListQuery<OrgId>>,
) -> Result<Json<List<Organization>>, ApiError> {
    let page = query.page();
    let orgs = platform::organizations(&state, &admin, page).await?;
    Ok(Json(List::new(orgs, page.limit, |o| o.id.to_string())))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanInput {
    pub plan: Plan,
}

pub async fn set_plan(
    State(state): State<AppState>,
    admin: PlatformAdmin,
    IdPath(org_id): IdPath<OrgId>,
    ApiJson(input): ApiJson<PlanInput>,
) -> Result<Json<Organization>, ApiError> {
    Ok(Json(
        platform::set_plan(&state, &admin, org_id, input.plan).await?,
    ))
}

pub async fn outbox(
    State(state): State<AppState>,
    admin: PlatformAdmin,
) -> Result<Json<Vec<OutboxEmail>>, ApiError> {
    Ok(Json(platform::outbox(&state, &admin, 100).await?))
}
