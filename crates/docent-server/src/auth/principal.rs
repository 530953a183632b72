//! Extractors for the caller of a request: [`CurrentUser`] (a logged-in person),
//! [`Caller`] (someone acting in an organization: a member or an API key) and
//! [`PlatformAdmin`]. The request only says what secret it presents; the application decides
//! whom that is (`docent_app::actor`).

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use docent_app::actor::{Credential, Presented, credential};
use docent_app::{Caller, CurrentUser, PlatformAdmin};

use super::{SESSION_COOKIE, bearer, cookie};
use crate::AppState;
use crate::error::ApiError;
use crate::routes::OrgWide;

/// The result of authentication, cached in the request's extensions.
#[derive(Clone, Debug)]
struct Authenticated(Option<Credential>);

/// Authenticates once per request: `Authorization: Bearer` first (and then cookies are
/// ignored), else the session cookie.
pub async fn request_credential(
    parts: &mut Parts,
    state: &AppState,
) -> Result<Option<Credential>, ApiError> {
    if let Some(Authenticated(found)) = parts.extensions.get::<Authenticated>() {
        return Ok(found.clone());
    }
    let session = cookie(&parts.headers, SESSION_COOKIE);
    let presented = match parts.headers.get(AUTHORIZATION) {
        Some(_) => Presented::ApiKey(bearer(&parts.headers)),
        None => match &session {
            Some(secret) => Presented::Session(secret),
            None => Presented::Nothing,
        },
    };
    let found = credential(state, presented).await?;
    parts.extensions.insert(Authenticated(found.clone()));
    Ok(found)
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(CurrentUser::of(request_credential(parts, state).await?)?)
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let found = request_credential(parts, state).await?;
        let org_wide = parts.extensions.get::<OrgWide>().is_some();
        Ok(Caller::of(state, found, org_wide).await?)
    }
}

impl FromRequestParts<AppState> for PlatformAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let current = CurrentUser::from_request_parts(parts, state).await?;
        Ok(PlatformAdmin::of(current)?)
    }
}
