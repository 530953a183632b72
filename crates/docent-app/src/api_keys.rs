//! API keys: secrets shown once, stored as hashes, listed by prefix, revoked for good.

use chrono::Utc;
use docent_core::validate;
use docent_core::*;
use serde::Deserialize;

use crate::App;
use crate::AppError;
use crate::Caller;
use crate::auth::token;
use crate::chat_spaces;

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    #[schemars(regex(pattern = docent_core::validate::NAME_PATTERN), length(max = 100))]
    pub name: String,
    /// Limits the key to one chat space.
    #[serde(default)]
    pub chat_space_id: Option<ChatSpaceId>,
}

pub async fn create(
    app: &App,
    caller: &Caller,
    input: CreateApiKey,
) -> Result<(ApiKey, String), AppError> {
    caller.person()?;
    caller.require(Role::Admin)?;
    let mut errors = ValidationErrors::new();
    let name = validate::name(&mut errors, "name", &input.name);
    errors.into_result()?;
    if let Some(space) = input.chat_space_id {
        chat_spaces::get(app, caller, space).await?;
    }
    let (secret, prefix) = token::api_key();
    let key = app
        .store
        .create_api_key(
            caller.org_id(),
            NewApiKey {
                chat_space_id: input.chat_space_id,
                name,
                prefix,
                key_hash: token::hash(&secret),
            },
        )
        .await?;
    Ok((key, secret))
}

pub async fn list(
    app: &App,
    caller: &Caller,
    chat_space: Option<ChatSpaceId>,
) -> Result<Vec<ApiKey>, AppError> {
    caller.require(Role::Admin)?;
    if let Some(space) = chat_space {
        chat_spaces::get(app, caller, space).await?;
    }
    let scope = chat_space.or(caller.chat_space_scope);
    Ok(app.store.list_api_keys(caller.org_id(), scope).await?)
}

pub async fn revoke(app: &App, caller: &Caller, id: ApiKeyId) -> Result<(), AppError> {
    caller.person()?;
    caller.require(Role::Admin)?;
    if app
        .store
        .revoke_api_key(caller.org_id(), id, Utc::now())
        .await?
    {
        Ok(())
    } else {
        Err(AppError::NotFound("API key"))
    }
}
