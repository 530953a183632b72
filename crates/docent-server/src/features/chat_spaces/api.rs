//! `/api/chat-spaces/*` and `/api/api-keys/*`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use docent_core::*;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, IdPath};
use crate::http::list::{List, ListQuery};
use docent_app::api_keys::{self, CreateApiKey};
use docent_app::chat_spaces::{self, CreateChatSpace, EmbedCode, PatchChatSpace};

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery<ChatSpaceId>>,
) -> Result<Json<List<ChatSpace>>, ApiError> {
    let page = query.page();
    let spaces = chat_spaces::list(&state, &caller, page).await?;
    Ok(Json(List::new(spaces, page.limit, |s| s.id.to_string())))
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<CreateChatSpace>,
) -> Result<(StatusCode, Json<ChatSpace>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(chat_spaces::create(&state, &caller, input).await?),
    ))
}

pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ChatSpaceId>,
) -> Result<Json<ChatSpace>, ApiError> {
    Ok(Json(chat_spaces::get(&state, &caller, id).await?))
}

pub async fn patch(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiJson(input): ApiJson<PatchChatSpace>,
) -> Result<Json<ChatSpace>, ApiError> {
    Ok(Json(chat_spaces::patch(&state, &caller, id, input).await?))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ChatSpaceId>,
) -> Result<StatusCode, ApiError> {
    chat_spaces::delete(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn publish(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ChatSpaceId>,
) -> Result<Json<ChatSpace>, ApiError> {
    Ok(Json(chat_spaces::publish(&state, &caller, id).await?))
}

pub async fn unpublish(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ChatSpaceId>,
) -> Result<Json<ChatSpace>, ApiError> {
    Ok(Json(chat_spaces::unpublish(&state, &caller, id).await?))
}

pub async fn widget(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ChatSpaceId>,
) -> Result<Json<EmbedCode>, ApiError> {
    Ok(Json(chat_spaces::embed_code(&state, &caller, id).await?))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyQuery {
    #[serde(default)]
    pub chat_space_id: Option<ChatSpaceId>,
}

pub async fn list_keys(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<KeyQuery>,
) -> Result<Json<Vec<ApiKey>>, ApiError> {
    Ok(Json(
        api_keys::list(&state, &caller, query.chat_space_id).await?,
    ))
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ApiKeyCreated {
    #[serde(flatten)]
    pub key: ApiKey,
    /// The secret; shown this once and never again.
    pub secret: String,
}

pub async fn create_key(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<CreateApiKey>,
) -> Result<(StatusCode, Json<ApiKeyCreated>), ApiError> {
    let (key, secret) = api_keys::create(&state, &caller, input).await?;
    Ok((StatusCode::CREATED, Json(ApiKeyCreated { key, secret })))
}

pub async fn revoke_key(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ApiKeyId>,
) -> Result<StatusCode, ApiError> {
    api_keys::revoke(&state, &caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn answer_webhook(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ChatSpaceId>,
) -> Result<Json<docent_app::answer_webhook::WebhookStatus>, ApiError> {
    Ok(Json(
        docent_app::answer_webhook::status(&state, &caller, id).await?,
    ))
}

pub async fn check_answer_webhook(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ChatSpaceId>,
) -> Result<Json<docent_app::answer_webhook::WebhookStatus>, ApiError> {
    Ok(Json(
        docent_app::answer_webhook::check_now(&state, &caller, id).await?,
    ))
}

pub async fn set_answer_webhook_auth(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiJson(input): ApiJson<docent_app::answer_webhook::WebhookAuthInput>,
) -> Result<Json<docent_app::answer_webhook::WebhookStatus>, ApiError> {
    Ok(Json(
        docent_app::answer_webhook::set_auth(&state, &caller, id, Some(input)).await?,
    ))
}

pub async fn remove_answer_webhook_auth(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ChatSpaceId>,
) -> Result<Json<docent_app::answer_webhook::WebhookStatus>, ApiError> {
    Ok(Json(
        docent_app::answer_webhook::set_auth(&state, &caller, id, None).await?,
    ))
}

pub async fn identity(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ChatSpaceId>,
) -> Result<Json<docent_app::identity::IdentityStatus>, ApiError> {
    Ok(Json(
        docent_app::identity::status(&state, &caller, id).await?,
    ))
}

pub async fn rotate_identity_secret(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<ChatSpaceId>,
) -> Result<Json<docent_app::identity::IdentitySecret>, ApiError> {
    Ok(Json(
        docent_app::identity::rotate(&state, &caller, id).await?,
    ))
}
