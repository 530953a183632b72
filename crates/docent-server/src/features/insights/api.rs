//! Analytics as JSON and as CSV (DESIGN §4 "Operators").

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use chrono::NaiveDate;
use docent_core::*;
use serde::Deserialize;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, IdPath};
use crate::http::list::Data;
use docent_app::insights::analytics::{self, Analytics, Chart, Granularity, Window};
use docent_app::insights::gaps::{self, AnswerGap, Gap, GapStatus};
use docent_app::insights::questions::{self, TopQuestion};

/// The days (UTC, both included; the last 30 when absent) and how they are grouped.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnalyticsQuery {
    #[serde(default)]
    #[schemars(example = "2026-11-01")]
    pub from: Option<NaiveDate>,
    #[serde(default)]
    #[schemars(example = "2026-11-30")]
    pub to: Option<NaiveDate>,
    /// `day` (the default), `week` (from Monday) or `month`.
    #[serde(default)]
    pub granularity: Option<Granularity>,
}

pub async fn chat_space(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiQuery(query): ApiQuery<AnalyticsQuery>,
) -> Result<Json<Analytics>, ApiError> {
    let window = Window::new(query.from, query.to, query.granularity.unwrap_or_default())?;
    Ok(Json(
        analytics::of_chat_space(&state, &caller, id, window).await?,
    ))
}

pub async fn organization(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<AnalyticsQuery>,
) -> Result<Json<Analytics>, ApiError> {
    let window = Window::new(query.from, query.to, query.granularity.unwrap_or_default())?;
    Ok(Json(
        analytics::of_organization(&state, &caller, window).await?,
    ))
}

/// [`AnalyticsQuery`] and which chart's data.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnalyticsExportQuery {
    #[serde(default)]
    #[schemars(example = "2026-11-01")]
    pub from: Option<NaiveDate>,
    #[serde(default)]
    #[schemars(example = "2026-11-30")]
    pub to: Option<NaiveDate>,
    #[serde(default)]
    pub granularity: Option<Granularity>,
    /// One chart's columns (`volume`, `feedback`, `speed`, `usage`, or `confidence`: a row
    /// a bucket); every figure when absent.
    #[serde(default)]
    pub chart: Option<Chart>,
}

/// The media type of an analytics download, as the route table lists it.
pub const CSV_TYPES: &[&str] = &["text/csv"];

pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiQuery(query): ApiQuery<AnalyticsExportQuery>,
) -> Result<Response, ApiError> {
    let window = Window::new(query.from, query.to, query.granularity.unwrap_or_default())?;
    let export = analytics::export(&state, &caller, id, window, query.chart).await?;
    Ok(crate::http::download(export))
}

/// The days (the last 30 when absent) and how many questions.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TopQuery {
    #[serde(default)]
    #[schemars(example = "2026-11-01")]
    pub from: Option<NaiveDate>,
    #[serde(default)]
    #[schemars(example = "2026-11-30")]
    pub to: Option<NaiveDate>,
    /// 1 to 100; 20 when absent.
    #[serde(default)]
    pub limit: Option<u32>,
}

pub async fn top_questions(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiQuery(query): ApiQuery<TopQuery>,
) -> Result<Json<Data<TopQuestion>>, ApiError> {
    let window = Window::new(query.from, query.to, Granularity::Day)?;
    let limit = query.limit.unwrap_or(20).clamp(1, 100) as usize;
    let top = questions::top(&state, &caller, id, window, limit).await?;
    Ok(Json(Data { data: top }))
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GapsQuery {
    /// Only the open (or resolved) gaps; every gap when absent.
    #[serde(default)]
    pub status: Option<GapStatus>,
}

pub async fn knowledge_gaps(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiQuery(query): ApiQuery<GapsQuery>,
) -> Result<Json<Data<Gap>>, ApiError> {
    let data = gaps::list(&state, &caller, id, query.status).await?;
    Ok(Json(Data { data }))
}

pub async fn answer_gap(
    State(state): State<AppState>,
    caller: Caller,
    IdPath((id, gap)): IdPath<(ChatSpaceId, QuestionGroupId)>,
    ApiJson(input): ApiJson<AnswerGap>,
) -> Result<Json<Gap>, ApiError> {
    Ok(Json(gaps::answer(&state, &caller, id, gap, input).await?))
}
