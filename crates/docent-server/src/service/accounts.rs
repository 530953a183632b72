//! Sign-up, log-in, sessions and password resets.

use std::time::Instant;

use chrono::{Duration, Utc};
use docent_core::validate;
use docent_core::*;
use serde::Deserialize;

use crate::AppState;
use crate::auth::{password, token};
use crate::error::ApiError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignupInput {
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub name: String,
    /// Defaults to "{name}'s organization".
    #[serde(default)]
    pub organization_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
}

/// A new session: the secret for the cookie (shown once) and its row.
#[derive(Debug)]
pub struct NewLogin {
    pub secret: String,
    pub session: Session,
}

/// Where a request came from, for throttling and the session list.
#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// A random suffix keeps organization slugs unique without a retry loop.
pub fn org_slug(name: &str) -> String {
    format!("{}-{}", validate::slugify(name), &token::generate(3))
}

pub async fn signup(
    state: &AppState,
    input: SignupInput,
) -> Result<(User, Organization), ApiError> {
    let mut errors = ValidationErrors::new();
    let email = validate::email(&mut errors, "email", &input.email);
    validate::password(&mut errors, "password", &input.password);
    let name = if input.name.trim().is_empty() {
        email.split('@').next().unwrap_or("").to_owned()
    } else {
        validate::name(&mut errors, "name", &input.name)
    };
    let org_name = if input.organization_name.trim().is_empty() {
        format!("{name}'s organization")
    } else {
        validate::name(&mut errors, "organization_name", &input.organization_name)
    };
    errors.into_result()?;
    let hash = password::hash(input.password).await?;
    let (user, org) = state
        .store
        .signup(
            NewUser {
                email,
                name: name.chars().take(validate::NAME_MAX_CHARS).collect(),
                password_hash: Some(hash),
                is_platform_admin: None,
            },
            NewOrganization {
                slug: org_slug(&org_name),
                name: org_name.chars().take(validate::NAME_MAX_CHARS).collect(),
                plan: Plan::Free,
            },
        )
        .await?;
    tracing::info!(user = %user.id, org = %org.id, admin = user.is_platform_admin, "signed up");
    Ok((user, org))
}

/// Checks the password, with throttling per account and per IP before any hashing.
pub async fn login(
    state: &AppState,
    input: LoginInput,
    client: &ClientInfo,
) -> Result<User, ApiError> {
    let email = input.email.trim().to_lowercase();
    let account_key = format!("account:{email}");
    let ip_key = format!("ip:{}", client.ip.as_deref().unwrap_or("unknown"));
    let now = Instant::now();
    let s = &state.settings;
    for (key, max) in [
        (&account_key, s.login_max_failures_per_account),
        (&ip_key, s.login_max_failures_per_ip),
    ] {
        if let Some(retry_after_secs) = state.throttle.blocked_for(key, max, now) {
            return Err(ApiError::TooManyRequests { retry_after_secs });
        }
    }
    let user = state.store.find_user_by_email(&email).await?;
    let ok = match user.as_ref().and_then(|u| u.password_hash.clone()) {
        Some(hash) => password::verify(input.password, hash).await,
        None => {
            password::verify_dummy(input.password).await;
            false
        }
    };
    match user {
        Some(user) if ok => {
            state.throttle.clear(&account_key);
            state.store.record_login(user.id, Utc::now()).await?;
            Ok(user)
        }
        _ => {
            state.throttle.record_failure(&account_key, now);
            state.throttle.record_failure(&ip_key, now);
            Err(ApiError::InvalidCredentials)
        }
    }
}

/// Opens a session for `user` in `org` (their first organization when `None`).
pub async fn start_session(
    state: &AppState,
    user: &User,
    org: Option<OrgId>,
    client: &ClientInfo,
) -> Result<NewLogin, ApiError> {
    let secret = token::generate(32);
    let active_org_id = match org {
        Some(org) => Some(org),
        None => state
            .store
            .memberships_of_user(user.id)
            .await?
            .first()
            .map(|m| m.organization.id),
    };
    let session = state
        .store
        .create_session(NewSession {
            user_id: user.id,
            token_hash: token::hash(&secret),
            active_org_id,
            expires_at: Utc::now() + Duration::days(i64::from(state.settings.session_days)),
            ip: client.ip.clone(),
            user_agent: client
                .user_agent
                .as_ref()
                .map(|ua| ua.chars().take(300).collect()),
        })
        .await?;
    Ok(NewLogin { secret, session })
}

pub async fn logout(state: &AppState, session_secret: &str) -> Result<(), ApiError> {
    state
        .store
        .delete_session(&token::hash(session_secret))
        .await?;
    Ok(())
}

/// Sends a reset link when the account exists; answers the same either way, so the form
/// does not reveal who has an account.
pub async fn forgot_password(state: &AppState, email: &str) -> Result<(), ApiError> {
    let mut errors = ValidationErrors::new();
    let email = validate::email(&mut errors, "email", email);
    errors.into_result()?;
    let Some(user) = state.store.find_user_by_email(&email).await? else {
        tracing::info!("password reset asked for an unknown email");
        return Ok(());
    };
    let secret = token::generate(32);
    state
        .store
        .create_password_reset(
            user.id,
            &token::hash(&secret),
            Utc::now() + Duration::hours(1),
        )
        .await?;
    let link = format!(
        "{}/reset-password?token={secret}",
        state.settings.public_base_url()
    );
    let body = format!(
        "Hello {},\n\nSomeone asked to reset the password of your Docent account. \
         To choose a new password, open this link within one hour:\n\n{link}\n\n\
         If it was not you, ignore this email; your password stays as it is.\n",
        user.name
    );
    state
        .mailer
        .send(
            &state.store,
            &user.email,
            "Reset your Docent password",
            &body,
        )
        .await
}

/// Sets a new password with a reset token and ends every session of the account.
pub async fn reset_password(
    state: &AppState,
    secret: &str,
    new_password: String,
) -> Result<User, ApiError> {
    let mut errors = ValidationErrors::new();
    validate::password(&mut errors, "password", &new_password);
    errors.into_result()?;
    let hash = password::hash(new_password).await?;
    let user_id = state
        .store
        .consume_password_reset(&token::hash(secret.trim()), Utc::now())
        .await?
        .ok_or(ApiError::InvalidToken)?;
    state.store.set_user_password(user_id, &hash).await?;
    state.store.delete_user_sessions(user_id).await?;
    let user = state
        .store
        .find_user_by_id(user_id)
        .await?
        .ok_or(ApiError::InvalidToken)?;
    state.throttle.clear(&format!("account:{}", user.email));
    Ok(user)
}

/// Creates an account from the command line (`docent user create`), with an organization of
/// its own so it can use the dashboard at once.
pub async fn create_user_headless(
    state: &AppState,
    email: &str,
    password: &str,
    platform_admin: bool,
) -> Result<(User, Organization), ApiError> {
    let (user, org) = signup(
        state,
        SignupInput {
            email: email.to_owned(),
            password: password.to_owned(),
            name: String::new(),
            organization_name: String::new(),
        },
    )
    .await?;
    if platform_admin && !user.is_platform_admin {
        state.store.set_platform_admin(user.id, true).await?;
    }
    let user = state.store.find_user_by_id(user.id).await?.unwrap_or(user);
    Ok((user, org))
}

/// Sets a password from the command line (`docent user reset-password`).
pub async fn set_password_headless(
    state: &AppState,
    email: &str,
    new_password: String,
) -> Result<User, ApiError> {
    let mut errors = ValidationErrors::new();
    validate::password(&mut errors, "password", &new_password);
    errors.into_result()?;
    let user = state
        .store
        .find_user_by_email(email)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    let hash = password::hash(new_password).await?;
    state.store.set_user_password(user.id, &hash).await?;
    state.store.delete_user_sessions(user.id).await?;
    Ok(user)
}
