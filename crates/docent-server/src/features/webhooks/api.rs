//! The webhooks API (DESIGN §4 "Integrations"): an organization's endpoints, their secrets,
//! a test, and the delivery log with redelivery.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use docent_app::webhooks::{self, CreatedWebhook, RotatedSecret, WebhookInput, WebhookPatch};
use docent_core::*;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, IdPath};
use crate::http::list::{Data, List, ListQuery};

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Data<WebhookEndpoint>>, ApiError> {
    Ok(Json(Data {
        data: webhooks::list(&state, &caller).await?,
    }))
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<WebhookInput>,
) -> Result<(StatusCode, Json<CreatedWebhook>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(webhooks::create(&state, &caller, input).await?),
    ))
}

pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<WebhookEndpointId>,
) -> Result<Json<WebhookEndpoint>, ApiError> {
    Ok(Json(webhooks::get(&state, &caller, id).await?))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<WebhookEndpointId>,
    ApiJson(patch): ApiJson<WebhookPatch>,
) -> Result<Json<WebhookEndpoint>, ApiError> {
    Ok(Json(webhooks::update(&state, &caller, id, patch).await?))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<WebhookEndpointId>,
) -> Result<StatusCode, ApiError> {
    webhooks::delete(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn rotate_secret(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<WebhookEndpointId>,
) -> Result<Json<RotatedSecret>, ApiError> {
    Ok(Json(webhooks::rotate_secret(&state, &caller, id).await?))
}

pub async fn test(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<WebhookEndpointId>,
) -> Result<Json<WebhookDelivery>, ApiError> {
    Ok(Json(webhooks::send_test(&state, &caller, id).await?))
}

pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<WebhookEndpointId>,
    ApiQuery(query): ApiQuery<ListQuery<WebhookDeliveryId>>,
) -> Result<Json<List<WebhookDelivery>>, ApiError> {
    let page = query.page();
    let limit = page.limit;
    let data = webhooks::deliveries(&state, &caller, id, page).await?;
    Ok(Json(List::new(data, limit, |d| d.id.to_string())))
}

pub async fn redeliver(
    State(state): State<AppState>,
    caller: Caller,
    IdPath((id, delivery)): IdPath<(WebhookEndpointId, WebhookDeliveryId)>,
) -> Result<(StatusCode, Json<WebhookDelivery>), ApiError> {
    Ok((
        StatusCode::ACCEPTED,
        Json(webhooks::redeliver(&state, &caller, id, delivery).await?),
    ))
}
