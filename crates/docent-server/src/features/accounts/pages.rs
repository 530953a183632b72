//! Sign-up, log-in, log-out and password reset pages.

use askama::Template;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use docent_core::*;
use serde::Deserialize;

use crate::AppState;
use crate::auth::{SESSION_COOKIE, cookie};
use crate::error::ApiError;
use crate::extract::{ApiForm, ApiQuery};
use crate::http::cookies::set_session_cookies;
use crate::http::pages::{PageCtx, PageError, Shell, TokenQuery, field_errors, redirect_with};
use docent_app::accounts::{self, ClientInfo, LoginInput, SignupInput};

#[derive(Template)]
#[template(path = "accounts/signup.html")]
struct SignupPage {
    shell: Shell,
    title: &'static str,
    errors: ValidationErrors,
    email: String,
    name: String,
    organization_name: String,
}

#[derive(Template)]
#[template(path = "accounts/login.html")]
struct LoginPage {
    shell: Shell,
    title: &'static str,
    errors: ValidationErrors,
    email: String,
}

#[derive(Template)]
#[template(path = "accounts/forgot.html")]
struct ForgotPage {
    shell: Shell,
    title: &'static str,
    errors: ValidationErrors,
    email: String,
    /// False: no mail leaves this server, and the page says where the link goes instead.
    sends_mail: bool,
}

#[derive(Template)]
#[template(path = "accounts/reset.html")]
struct ResetPage {
    shell: Shell,
    title: &'static str,
    errors: ValidationErrors,
    token: String,
}

/// Logged-in people go to their chat spaces, others to the log-in page.
pub async fn home(ctx: PageCtx) -> Response {
    if ctx.shell.user.is_some() {
        Redirect::to("/app").into_response()
    } else {
        Redirect::to("/login").into_response()
    }
}

fn with_session(state: &AppState, secret: &str, to: &str, flash: Option<&str>) -> Response {
    let mut response = match flash {
        Some(flash) => redirect_with(to, flash),
        None => Redirect::to(to).into_response(),
    };
    set_session_cookies(response.headers_mut(), state, Some(secret));
    response
}

pub async fn signup_page(ctx: PageCtx) -> Response {
    let page = SignupPage {
        shell: ctx.shell_in("signup"),
        title: "Create your account",
        errors: ValidationErrors::new(),
        email: String::new(),
        name: String::new(),
        organization_name: String::new(),
    };
    ctx.render(&page)
}

#[derive(Debug, Deserialize)]
pub struct SignupForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    organization_name: String,
}

pub async fn signup(
    State(state): State<AppState>,
    ctx: PageCtx,
    client: ClientInfo,
    ApiForm(form): ApiForm<SignupForm>,
) -> Result<Response, PageError> {
    let input = SignupInput {
        email: form.email.clone(),
        password: form.password,
        name: form.name.clone(),
        organization_name: form.organization_name.clone(),
    };
    match accounts::signup(&state, input).await {
        Ok((user, org)) => {
            let login = accounts::start_session(&state, &user, Some(org.id), &client).await?;
            Ok(with_session(&state, &login.secret, "/app", Some("welcome")))
        }
        Err(e) => {
            let e = ApiError::from(e);
            let status = e.status();
            let page = SignupPage {
                shell: ctx.shell.clone(),
                title: "Create your account",
                errors: field_errors(e)?,
                email: form.email,
                name: form.name,
                organization_name: form.organization_name,
            };
            Ok(ctx.render_status(status, &page))
        }
    }
}

pub async fn login_page(ctx: PageCtx) -> Response {
    let page = LoginPage {
        shell: ctx.shell.clone(),
        title: "Log in",
        errors: ValidationErrors::new(),
        email: String::new(),
    };
    ctx.render(&page)
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub async fn login(
    State(state): State<AppState>,
    ctx: PageCtx,
    client: ClientInfo,
    ApiForm(form): ApiForm<LoginForm>,
) -> Result<Response, PageError> {
    let input = LoginInput {
        email: form.email.clone(),
        password: form.password,
    };
    match accounts::login(&state, input, &client).await {
        Ok(user) => {
            let login = accounts::start_session(&state, &user, None, &client).await?;
            Ok(with_session(&state, &login.secret, "/app", None))
        }
        Err(e) => {
            let e = ApiError::from(e);
            let status = e.status();
            let page = LoginPage {
                shell: ctx.shell.clone(),
                title: "Log in",
                errors: field_errors(e)?,
                email: form.email,
            };
            Ok(ctx.render_status(status, &page))
        }
    }
}

pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    if let Some(secret) = cookie(&headers, SESSION_COOKIE) {
        accounts::logout(&state, &secret).await?;
    }
    let mut response = Redirect::to("/login").into_response();
    set_session_cookies(response.headers_mut(), &state, None);
    Ok(response)
}

pub async fn forgot_page(State(state): State<AppState>, ctx: PageCtx) -> Response {
    let page = ForgotPage {
        shell: ctx.shell.clone(),
        title: "Reset your password",
        errors: ValidationErrors::new(),
        email: String::new(),
        sends_mail: state.mailer.sends_mail(),
    };
    ctx.render(&page)
}

#[derive(Debug, Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

pub async fn forgot(
    State(state): State<AppState>,
    ctx: PageCtx,
    client: ClientInfo,
    ApiForm(form): ApiForm<ForgotForm>,
) -> Result<Response, PageError> {
    match accounts::forgot_password(&state, &form.email, &client).await {
        Ok(()) if state.mailer.sends_mail() => Ok(redirect_with("/login", "reset_sent")),
        Ok(()) => Ok(redirect_with("/login", "reset_outbox")),
        Err(e) => {
            let e = ApiError::from(e);
            let status = e.status();
            let page = ForgotPage {
                shell: ctx.shell.clone(),
                title: "Reset your password",
                errors: field_errors(e)?,
                email: form.email,
                sends_mail: state.mailer.sends_mail(),
            };
            Ok(ctx.render_status(status, &page))
        }
    }
}

pub async fn reset_page(ctx: PageCtx, ApiQuery(query): ApiQuery<TokenQuery>) -> Response {
    let page = ResetPage {
        shell: ctx.shell.clone(),
        title: "Choose a new password",
        errors: ValidationErrors::new(),
        token: query.token,
    };
    ctx.render(&page)
}

#[derive(Debug, Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
}

pub async fn reset(
    State(state): State<AppState>,
    ctx: PageCtx,
    ApiForm(form): ApiForm<ResetForm>,
) -> Result<Response, PageError> {
    match accounts::reset_password(&state, &form.token, form.password).await {
        Ok(_) => Ok(redirect_with("/login", "password_reset")),
        Err(e) => {
            let e = ApiError::from(e);
            let status = e.status();
            let page = ResetPage {
                shell: ctx.shell.clone(),
                title: "Choose a new password",
                errors: field_errors(e)?,
                token: form.token,
            };
            Ok(ctx.render_status(status, &page))
        }
    }
}
