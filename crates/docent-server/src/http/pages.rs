//! What every dashboard page shares: the page context (shell, CSRF token, flash), errors as
//! pages, field errors for forms, redirects with a flash. Pages are server-rendered (askama
//! templates compiled into the binary), call the same application as the JSON API, and work
//! without JavaScript; `app.js` only adds conveniences.

use askama::Template;
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use docent_app::{AppError, orgs};
use docent_core::*;

use crate::AppState;
use crate::auth::csrf::CsrfToken;
use crate::auth::{Caller, CurrentUser, cookie, set_cookie};
use crate::error::ApiError;

const FLASH_COOKIE: &str = "docent_flash";

/// One-line confirmations shown after a redirect. Only these keys travel in the cookie, so
/// nothing a user typed is ever reflected from it.
const FLASHES: &[(&str, &str)] = &[
    (
        "created",
        "Chat space created. Start by adding what it should know.",
    ),
    ("saved", "Changes saved."),
    ("text_added", "Text added: it is being learned."),
    (
        "url_added",
        "Web page added: it is being fetched and learned.",
    ),
    ("qa_added", "Question and answer added."),
    (
        "gap_answered",
        "Answer added: the gap's questions are asked again as soon as it is learned.",
    ),
    ("published", "Chat space published."),
    ("unpublished", "Chat space is a draft again."),
    ("deleted", "Chat space deleted."),
    ("key_revoked", "API key revoked."),
    ("invitation_revoked", "Invitation revoked."),
    ("role_changed", "Role changed."),
    ("member_removed", "Member removed."),
    ("switched", "Switched organization."),
    ("org_created", "Organization created."),
    ("org_deleted", "Organization deleted."),
    ("joined", "Welcome aboard: you joined the organization."),
    (
        "reset_sent",
        "If an account uses that email, a reset link is on its way.",
    ),
    (
        "reset_outbox",
        "This server sends no email: if an account uses that email, its reset link is in the platform administrator's Outbox.",
    ),
    (
        "password_reset",
        "Password changed. Log in with the new one.",
    ),
    ("plan_changed", "Plan changed."),
    ("webhook_deleted", "Webhook deleted."),
    (
        "webhook_checked",
        "Webhook checked: its health is shown under Answers.",
    ),
    (
        "webhook_auth_saved",
        "Credentials saved: the webhook is called with them, and was checked with them.",
    ),
    (
        "webhook_auth_removed",
        "Credentials removed: the webhook is called without them.",
    ),
    (
        "webhook_on",
        "Webhook turned on: new events are sent to it again.",
    ),
    (
        "webhook_off",
        "Webhook turned off: events are not sent to it until it is turned on.",
    ),
    (
        "redelivery_queued",
        "Delivery queued: it is sent again in a moment, with the same webhook-id.",
    ),
    (
        "welcome",
        "Welcome to Docent! Create your first chat space to get started.",
    ),
];

/// A redirect that shows `flash` on the next page.
pub fn redirect_with(to: &str, flash: &str) -> Response {
    let mut response = Redirect::to(to).into_response();
    if let Ok(value) = HeaderValue::from_str(&set_cookie(FLASH_COOKIE, flash, 60, true, false)) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// What every page's frame shows: who is logged in, where, the CSRF token, a flash.
#[derive(Clone, Debug, Default)]
pub struct Shell {
    pub user: Option<User>,
    pub org: Option<Organization>,
    pub role: Option<Role>,
    pub orgs: Vec<OrgMembership>,
    pub csrf: String,
    pub flash: Option<&'static str>,
    /// The active section of the navigation.
    pub nav: &'static str,
    /// The member sees only some chat spaces (an agency's client): the organization's own
    /// pages are not theirs.
    pub limited: bool,
}

impl Shell {
    pub fn can_manage(&self) -> bool {
        self.role.is_some_and(Role::can_manage)
    }

    pub fn is_admin(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.is_platform_admin)
    }

    pub fn is_owner(&self) -> bool {
        self.role == Some(Role::Owner)
    }

    /// The first letter of the user's name, for the avatar.
    pub fn initial(&self) -> String {
        self.user
            .as_ref()
            .and_then(|u| u.name.chars().next())
            .map(|c| c.to_uppercase().collect())
            .unwrap_or_default()
    }

    pub fn is_active(&self, org: &OrgMembership) -> bool {
        self.org
            .as_ref()
            .is_some_and(|o| o.id == org.organization.id)
    }
}

/// Extracts the frame of a page for whoever is calling (logged in or not).
#[derive(Debug)]
pub struct PageCtx {
    pub shell: Shell,
    clear_flash: bool,
}

impl FromRequestParts<AppState> for PageCtx {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let csrf = parts
            .extensions
            .get::<CsrfToken>()
            .map(|t| t.0.clone())
            .unwrap_or_default();
        let flash_key = cookie(&parts.headers, FLASH_COOKIE);
        let flash = flash_key
            .as_deref()
            .and_then(|k| FLASHES.iter().find(|(key, _)| *key == k))
            .map(|(_, text)| *text);
        let mut shell = Shell {
            csrf,
            flash,
            ..Shell::default()
        };
        if let Ok(Some(caller)) =
            <Caller as OptionalFromRequestParts<AppState>>::from_request_parts(parts, state).await
        {
            let user = caller.person().ok().map(|p| p.user.clone());
            if let Some(user) = &user {
                shell.orgs = orgs::memberships(state, user).await?;
            }
            shell.user = user;
            shell.org = Some(caller.org);
            shell.role = Some(caller.role);
            shell.limited = caller.visible.is_some();
        } else if let Ok(current) = CurrentUser::from_request_parts(parts, state).await {
            shell.user = Some(current.user);
        }
        Ok(PageCtx {
            shell,
            clear_flash: flash_key.is_some(),
        })
    }
}

impl OptionalFromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Option<Self>, ApiError> {
        match <Caller as FromRequestParts<AppState>>::from_request_parts(parts, state).await {
            Ok(caller) => Ok(Some(caller)),
            Err(ApiError::App(
                AppError::Unauthenticated | AppError::NoOrganization | AppError::InvalidApiKey,
            )) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl PageCtx {
    /// The page shell with `nav` as the active section of the navigation.
    pub fn shell_in(&self, nav: &'static str) -> Shell {
        Shell {
            nav,
            ..self.shell.clone()
        }
    }

    /// Renders a template with status 200, clearing a flash that was shown.
    pub fn render(&self, template: &impl Template) -> Response {
        self.render_status(StatusCode::OK, template)
    }

    pub fn render_status(&self, status: StatusCode, template: &impl Template) -> Response {
        let mut response = match template.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                return PageError::from(AppError::Internal(format!("rendering: {e}")))
                    .into_response();
            }
        };
        if self.clear_flash
            && let Ok(value) = HeaderValue::from_str(&set_cookie(FLASH_COOKIE, "", 0, true, false))
        {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
        response
    }
}

/// An error on a page: logged-out visitors go to the log-in page, others see an error page
/// with the API's message.
#[derive(Debug)]
pub struct PageError(pub ApiError);

impl<E: Into<ApiError>> From<E> for PageError {
    fn from(e: E) -> Self {
        PageError(e.into())
    }
}

#[derive(Template)]
#[template(path = "layout/error.html")]
struct ErrorPage<'a> {
    shell: Shell,
    title: &'a str,
    status: u16,
    message: String,
    code: &'a str,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let error = self.0;
        match error.app() {
            Some(AppError::Unauthenticated) => return Redirect::to("/login").into_response(),
            Some(AppError::NoOrganization) => {
                return Redirect::to("/app/organizations/new").into_response();
            }
            Some(AppError::Internal(detail)) => {
                tracing::error!(error = %detail, "internal error on a page")
            }
            _ => {}
        }
        let status = error.status();
        let page = ErrorPage {
            shell: Shell::default(),
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            message: error.message(),
            code: error.code(),
        };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => (status, error.message()).into_response(),
        }
    }
}

/// Renders API errors raised on dashboard paths (by extractors such as `Caller` or
/// `IdPath`) as pages: a logged-out visitor is sent to the log-in page instead of getting JSON.
pub async fn html_errors(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = request.uri().path();
    let is_page = !(path.starts_with("/api/")
        || path.starts_with("/assets/")
        || matches!(path, "/health" | "/ready" | "/metrics"));
    let mut response = next.run(request).await;
    if is_page && let Some(error) = response.extensions_mut().remove::<ApiError>() {
        return PageError(error).into_response();
    }
    response
}

/// Field errors and the values to show again when a form is re-rendered.
pub fn field_errors(e: impl Into<ApiError>) -> Result<ValidationErrors, PageError> {
    let e = match e.into() {
        ApiError::App(e) => e,
        http => return Err(PageError(http)),
    };
    match e {
        AppError::Validation(errors) => Ok(errors),
        AppError::EmailTaken => Ok(ValidationErrors::single(
            "email",
            AppError::EmailTaken.message(),
        )),
        AppError::SlugTaken => Ok(ValidationErrors::single(
            "endpoint_slug",
            AppError::SlugTaken.message(),
        )),
        AppError::InvalidCredentials
        | AppError::TooManyRequests { .. }
        | AppError::InvalidToken
        | AppError::PlanLimitReached { .. }
        | AppError::PublishRequiresDocument
        | AppError::LastOwner
        | AppError::InvitationEmailMismatch
        | AppError::MailFailed(_) => Ok(ValidationErrors::single("form", e.message())),
        other => Err(PageError(other.into())),
    }
}

/// `?token=` of a link sent by email (a reset, an invitation).
#[derive(Debug, serde::Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    pub token: String,
}
