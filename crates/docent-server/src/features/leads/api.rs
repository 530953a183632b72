//! The leads API: a chat space's leads as a list and as a CSV file.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use docent_app::leads::{self, LeadQuery};
use docent_core::*;
use serde::Deserialize;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiQuery, IdPath};
use crate::http::list::List;

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiQuery(query): ApiQuery<LeadQuery>,
) -> Result<Json<List<Lead>>, ApiError> {
    let limit = query
        .limit
        .unwrap_or(Page::<LeadId>::DEFAULT_LIMIT)
        .clamp(1, Page::<LeadId>::MAX_LIMIT);
    let data = leads::list(&state, &caller, id, &query).await?;
    Ok(Json(List::new(data, limit, |l| l.id.to_string())))
}

/// `?q=`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    #[serde(default)]
    #[schemars(length(max = 200))]
    pub q: Option<String>,
}

pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let export = leads::export(&state, &caller, id, query.q.as_deref()).await?;
    Ok(crate::http::download(export))
}
