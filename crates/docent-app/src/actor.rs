//! Who is acting: a logged-in person ([`CurrentUser`]), someone acting in an organization
//! ([`Caller`]: a member or an API key) and a [`PlatformAdmin`]; and how a presented secret
//! (an API key, a session cookie's value) becomes one. Transports read the secret from their
//! request and call [`credential`], then [`Caller::of`].

use chrono::Utc;
use docent_core::*;

use crate::auth::token;
use crate::{App, AppError};

/// How a request proved who it is.
#[derive(Clone, Debug)]
pub enum Credential {
    Session { session: Session, user: User },
    ApiKey(ApiKey),
}

/// The secret a request presented.
#[derive(Clone, Copy, Debug)]
pub enum Presented<'a> {
    /// `Authorization: Bearer <key>` (or `None` when that header was malformed).
    ApiKey(Option<&'a str>),
    /// The session cookie's value.
    Session(&'a str),
    Nothing,
}

/// The credential behind what a request presented: an API key must be known and unrevoked
/// (and is marked used); a session that expired or is unknown is no credential at all.
pub async fn credential(
    app: &App,
    presented: Presented<'_>,
) -> Result<Option<Credential>, AppError> {
    match presented {
        Presented::ApiKey(key) => {
            let key = key.ok_or(AppError::InvalidApiKey)?;
            let api_key = app
                .store
                .find_api_key_by_hash(&token::hash(key))
                .await?
                .ok_or(AppError::InvalidApiKey)?;
            app.store.touch_api_key(api_key.id, Utc::now()).await?;
            Ok(Some(Credential::ApiKey(api_key)))
        }
        Presented::Session(secret) => {
            match app
                .store
                .find_session(&token::hash(secret), Utc::now())
                .await?
            {
                Some(session) => Ok(app
                    .store
                    .find_user_by_id(session.user_id)
                    .await?
                    .map(|user| Credential::Session { session, user })),
                None => Ok(None),
            }
        }
        Presented::Nothing => Ok(None),
    }
}

/// A logged-in person (API keys are refused).
#[derive(Clone, Debug)]
pub struct CurrentUser {
    pub user: User,
    pub session: Session,
}

impl CurrentUser {
    pub fn of(credential: Option<Credential>) -> Result<CurrentUser, AppError> {
        match credential {
            Some(Credential::Session { session, user }) => Ok(CurrentUser { user, session }),
            Some(Credential::ApiKey(_)) => Err(AppError::Forbidden(
                "This needs a logged-in person; API keys cannot use it.",
            )),
            None => Err(AppError::Unauthenticated),
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
    /// Set for members limited to some chat spaces (an agency's client): they see those
    /// only, and nothing of the organization as a whole.
    pub visible: Option<Vec<ChatSpaceId>>,
}

impl Caller {
    /// The caller behind `credential`. `org_wide` says the action concerns the whole
    /// organization, which a key limited to one chat space may not do.
    pub async fn of(
        app: &App,
        credential: Option<Credential>,
        org_wide: bool,
    ) -> Result<Caller, AppError> {
        match credential {
            Some(Credential::ApiKey(key)) => {
                if key.chat_space_id.is_some() && org_wide {
                    return Err(AppError::ApiKeyScope);
                }
                let org = app
                    .store
                    .find_organization(key.org_id)
                    .await?
                    .ok_or(AppError::InvalidApiKey)?;
                Ok(Caller {
                    org,
                    // Keys manage chat spaces and knowledge; people-only actions check
                    // `person()` as well.
                    role: Role::Admin,
                    user: None,
                    chat_space_scope: key.chat_space_id,
                    visible: None,
                })
            }
            Some(Credential::Session { session, user }) => {
                let memberships = app.store.memberships_of_user(user.id).await?;
                let chosen = memberships
                    .iter()
                    .find(|m| Some(m.organization.id) == session.active_org_id)
                    .or_else(|| memberships.first())
                    .cloned()
                    .ok_or(AppError::NoOrganization)?;
                let visible = app
                    .store
                    .member_access(chosen.organization.id, user.id)
                    .await?;
                if visible.is_some() && org_wide {
                    return Err(AppError::Forbidden(
                        "Your access is limited to some chat spaces of this organization.",
                    ));
                }
                Ok(Caller {
                    org: chosen.organization,
                    role: chosen.role,
                    user: Some(CurrentUser { user, session }),
                    chat_space_scope: None,
                    visible,
                })
            }
            None => Err(AppError::Unauthenticated),
        }
    }

    pub fn org_id(&self) -> OrgId {
        self.org.id
    }

    /// Refuses callers whose role is below `role`.
    pub fn require(&self, role: Role) -> Result<(), AppError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(AppError::Forbidden(match role {
                Role::Owner => "Only an owner of this organization can do this.",
                Role::Admin => "Only owners and admins of this organization can do this.",
                Role::Agent | Role::Viewer => "Your role in this organization cannot do this.",
            }))
        }
    }

    /// The person behind the request; API keys are refused.
    pub fn person(&self) -> Result<&CurrentUser, AppError> {
        self.user.as_ref().ok_or(AppError::Forbidden(
            "This needs a logged-in person; API keys cannot use it.",
        ))
    }

    /// Whether this caller may see the chat space at all (a scoped key sees only its own, a
    /// limited member only those granted).
    pub fn sees(&self, id: ChatSpaceId) -> bool {
        self.chat_space_scope.is_none_or(|scope| scope == id)
            && self.visible.as_ref().is_none_or(|v| v.contains(&id))
    }

    /// The chat spaces this caller is limited to, or `None` when it sees all of the
    /// organization's.
    pub fn limited_to(&self) -> Option<Vec<ChatSpaceId>> {
        match (self.chat_space_scope, &self.visible) {
            (Some(scope), _) => Some(vec![scope]),
            (None, Some(visible)) => Some(visible.clone()),
            (None, None) => None,
        }
    }
}

/// A logged-in platform administrator.
#[derive(Clone, Debug)]
pub struct PlatformAdmin(pub CurrentUser);

impl PlatformAdmin {
    pub fn of(current: CurrentUser) -> Result<PlatformAdmin, AppError> {
        if current.user.is_platform_admin {
            Ok(PlatformAdmin(current))
        } else {
            Err(AppError::Forbidden(
                "Only platform administrators can do this.",
            ))
        }
    }
}
