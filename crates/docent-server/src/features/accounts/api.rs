//! `/api/auth/*`: sign-up, log-in, log-out, password reset, and who am I.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use docent_core::*;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::auth::csrf::CsrfToken;
use crate::auth::{Caller, SESSION_COOKIE, cookie};
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::http::cookies::set_session_cookies;
use docent_app::accounts::{self, ClientInfo, LoginInput, SignupInput};
use docent_app::orgs;

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct SessionView {
    pub user: User,
    pub organization: Option<Organization>,
    pub role: Option<Role>,
}

fn logged_in(state: &AppState, status: StatusCode, secret: &str, body: SessionView) -> Response {
    let mut response = (status, Json(body)).into_response();
    set_session_cookies(response.headers_mut(), state, Some(secret));
    response
}

pub async fn signup(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(input): ApiJson<SignupInput>,
) -> Result<Response, ApiError> {
    let (user, org) = accounts::signup(&state, input).await?;
    let login = accounts::start_session(&state, &user, Some(org.id), &client).await?;
    Ok(logged_in(
        &state,
        StatusCode::CREATED,
        &login.secret,
        SessionView {
            user,
            organization: Some(org),
            role: Some(Role::Owner),
        },
    ))
}

pub async fn login(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(input): ApiJson<LoginInput>,
) -> Result<Response, ApiError> {
    let user = accounts::login(&state, input, &client).await?;
    let login = accounts::start_session(&state, &user, None, &client).await?;
    let membership = orgs::memberships(&state, &user)
        .await?
        .into_iter()
        .find(|m| Some(m.organization.id) == login.session.active_org_id);
    let (organization, role) = match membership {
        Some(m) => (Some(m.organization), Some(m.role)),
        None => (None, None),
    };
    Ok(logged_in(
        &state,
        StatusCode::OK,
        &login.secret,
        SessionView {
            user,
            organization,
            role,
        },
    ))
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(secret) = cookie(&headers, SESSION_COOKIE) {
        accounts::logout(&state, &secret).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    set_session_cookies(response.headers_mut(), &state, None);
    Ok(response)
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ForgotInput {
    #[schemars(regex(pattern = docent_core::validate::EMAIL_PATTERN), length(max = 254), example = "ana@example.com")]
    pub email: String,
}

/// What a request for a reset link gets, whether or not the email has an account.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct Sent {
    /// Always `sent`.
    pub status: &'static str,
    pub message: &'static str,
}

pub async fn forgot_password(
    State(state): State<AppState>,
    client: ClientInfo,
    ApiJson(input): ApiJson<ForgotInput>,
) -> Result<Response, ApiError> {
    accounts::forgot_password(&state, &input.email, &client).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(Sent {
            status: "sent",
            message: "If an account uses this email, a reset link is on its way.",
        }),
    )
        .into_response())
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetInput {
    pub token: String,
    #[schemars(length(min = 10, max = 200))]
    pub password: String,
}

pub async fn reset_password(
    State(state): State<AppState>,
    ApiJson(input): ApiJson<ResetInput>,
) -> Result<Json<User>, ApiError> {
    Ok(Json(
        accounts::reset_password(&state, &input.token, input.password).await?,
    ))
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct MeView {
    pub user: User,
    pub organization: Organization,
    pub role: Role,
    pub organizations: Vec<OrgMembership>,
    /// Echo this in `X-CSRF-Token` on unsafe requests made with the session cookie.
    pub csrf_token: Option<String>,
}

pub async fn me(
    State(state): State<AppState>,
    caller: Caller,
    csrf: Option<axum::Extension<CsrfToken>>,
) -> Result<Json<MeView>, ApiError> {
    let current = caller.person()?.clone();
    let organizations = orgs::memberships(&state, &current.user).await?;
    Ok(Json(MeView {
        user: current.user,
        organization: caller.org,
        role: caller.role,
        organizations,
        csrf_token: csrf.map(|c| c.0.0),
    }))
}
