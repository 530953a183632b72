//! Extractors for the caller of a request: [`CurrentUser`] (a logged-in person),
//! [`Caller`] (someone acting in an organization: a member or an API key) and
//! [`PlatformAdmin`].

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use chrono::Utc;
use docent_core::*;

use super::{SESSION_COOKIE, cookie, token};
use crate::AppState;
use crate::error::ApiError;
use crate::routes::OrgWide;

/// How a request proved who it is.
#[derive(Clone, Debug)]
pub enum Credential {
    Session { session: Session, user: User },
    ApiKey(ApiKey),
}

/// The result of authentication, cached in the request's extensions.
#[derive(Clone, Debug)]
struct Authenticated(Option<Credential>);

/// Authenticates once per request: `Authorization: Bearer` first (and then cookies are
/// ignored), else the session cookie.
pub async fn credential(
    parts: &mut Parts,
    state: &AppState,
) -> Result<Option<Credential>, ApiError> {
    if let Some(Authenticated(found)) = parts.extensions.get::<Authenticated>() {
        return Ok(found.clone());
    }
    let found = if let Some(header) = parts.headers.get(AUTHORIZATION) {
        let key = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(ApiError::InvalidApiKey)?;
        let api_key = state
            .store
            .find_api_key_by_hash(&token::hash(key))
            .await?
            .ok_or(ApiError::InvalidApiKey)?;
        state.store.touch_api_key(api_key.id, Utc::now()).await?;
        Some(Credential::ApiKey(api_key))
    } else if let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) {
        match state
            .store
            .find_session(&token::hash(&secret), Utc::now())
            .await?
        {
            Some(session) => state
                .store
                .find_user_by_id(session.user_id)
                .await?
                .map(|user| Credential::Session { session, user }),
            None => None,
        }
    } else {
        None
    };
    parts.extensions.insert(Authenticated(found.clone()));
    Ok(found)
}

/// A logged-in person (API keys are refused).
#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub user: User,
    pub session: Session,
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match credential(parts, state).await? {
            Some(Credential::Session { session, user }) => Ok(CurrentUser { user, session }),
            Some(Credential::ApiKey(_)) => Err(ApiError::Forbidden(
                "This needs a logged-in person; API keys cannot use it.",
            )),
            None => Err(ApiError::Unauthenticated),
        }
    }
}

/// Someone acting in one organization: a member in their active organization, or an API key
/// in its own (limited to one chat space when the key is).
#[derive(Clone, Debug)]
pub struct Caller {
    pub org: Organization,
    pub role: Role,
    /// Set for people; `None` for API keys.
    pub user: Option<CurrentUser>,
    /// Set for API keys limited to one chat space.
    pub chat_space_scope: Option<ChatSpaceId>,
}

impl Caller {
    pub fn org_id(&self) -> OrgId {
        self.org.id
    }

    /// Refuses callers whose role is below `role`.
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(ApiError::Forbidden(match role {
                Role::Owner => "Only an owner of this organization can do this.",
                Role::Admin => "Only owners and admins of this organization can do this.",
                Role::Agent | Role::Viewer => "Your role in this organization cannot do this.",
            }))
        }
    }

    /// The person behind the request; API keys are refused.
    pub fn person(&self) -> Result<&CurrentUser, ApiError> {
        self.user.as_ref().ok_or(ApiError::Forbidden(
            "This needs a logged-in person; API keys cannot use it.",
        ))
    }

    /// Whether this caller may see the chat space at all (a scoped key sees only its own).
    pub fn sees(&self, id: ChatSpaceId) -> bool {
        self.chat_space_scope.is_none_or(|scope| scope == id)
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match credential(parts, state).await? {
            Some(Credential::ApiKey(key)) => {
                if key.chat_space_id.is_some() && parts.extensions.get::<OrgWide>().is_some() {
                    return Err(ApiError::ApiKeyScope);
                }
                let org = state
                    .store
                    .find_organization(key.org_id)
                    .await?
                    .ok_or(ApiError::InvalidApiKey)?;
                Ok(Caller {
                    org,
                    // Keys manage chat spaces and knowledge; people-only actions check
                    // `person()` as well.
                    role: Role::Admin,
                    user: None,
                    chat_space_scope: key.chat_space_id,
                })
            }
            Some(Credential::Session { session, user }) => {
                let memberships = state.store.memberships_of_user(user.id).await?;
                let chosen = memberships
                    .iter()
                    .find(|m| Some(m.organization.id) == session.active_org_id)
                    .or_else(|| memberships.first())
                    .cloned()
                    .ok_or(ApiError::NoOrganization)?;
                Ok(Caller {
                    org: chosen.organization,
                    role: chosen.role,
                    user: Some(CurrentUser { user, session }),
                    chat_space_scope: None,
                })
            }
            None => Err(ApiError::Unauthenticated),
        }
    }
}

/// A logged-in platform administrator.
#[derive(Clone, Debug)]
pub struct PlatformAdmin(pub CurrentUser);

impl FromRequestParts<AppState> for PlatformAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let current = CurrentUser::from_request_parts(parts, state).await?;
        if current.user.is_platform_admin {
            Ok(PlatformAdmin(current))
        } else {
            Err(ApiError::Forbidden(
                "Only platform administrators can do this.",
            ))
        }
    }
}
