//! [`ApiError`]: every way a request can fail, each with a stable snake_case code that is part
//! of the public contract, an HTTP status and a message that says what to do. Internal causes
//! are logged, never shown.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use docent_core::ValidationErrors;
use docent_store::StoreError;
use serde_json::json;

#[derive(Clone, Debug, thiserror::Error)]
pub enum ApiError {
    #[error("The request body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("The query string is invalid: {0}")]
    InvalidQuery(String),
    #[error("Some fields need attention: {}", .0.summary())]
    Validation(ValidationErrors),
    #[error("Log in first, or send an API key as `Authorization: Bearer <key>`.")]
    Unauthenticated,
    #[error("The email or password is wrong.")]
    InvalidCredentials,
    #[error("The API key is unknown or revoked.")]
    InvalidApiKey,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error(
        "This API key is limited to one chat space; use an organization-wide key, or log in, for this."
    )]
    ApiKeyScope,
    #[error("You are not a member of any organization yet; create one to continue.")]
    NoOrganization,
    #[error("The security token of this form is missing or stale; reload the page and try again.")]
    CsrfFailed,
    #[error("No such {0}.")]
    NotFound(&'static str),
    #[error("An account with this email exists already; log in or reset the password.")]
    EmailTaken,
    #[error("This slug is taken; choose another.")]
    SlugTaken,
    #[error("Your {plan} plan allows {limit} {what}; upgrade the plan or remove some first.")]
    PlanLimitReached {
        what: &'static str,
        limit: u64,
        plan: &'static str,
    },
    #[error("Add at least one document and let it finish processing before publishing.")]
    PublishRequiresDocument,
    #[error("An organization needs at least one owner; make someone else owner first.")]
    LastOwner,
    #[error("This link is invalid, used or expired; ask for a new one.")]
    InvalidToken,
    #[error("This invitation was sent to another email address; log in as that user to accept it.")]
    InvitationEmailMismatch,
    #[error("Too many attempts; wait {retry_after_secs} seconds and try again.")]
    TooManyRequests { retry_after_secs: u64 },
    #[error("The request body is larger than {limit} bytes.")]
    PayloadTooLarge { limit: usize },
    #[error("Send the body as application/json.")]
    UnsupportedMediaType,
    #[error(
        "{0}: this file type is not supported; upload PDF, DOCX, TXT, Markdown, HTML, VTT or SRT files."
    )]
    UnsupportedFileType(String),
    #[error("The upload could not be read: {0}")]
    InvalidMultipart(String),
    #[error("The upload was refused: {0}.")]
    MultipartFraming(String),
    #[error("{0}")]
    UrlNotAllowed(String),
    #[error("{0} Check the address, or that this server can reach it.")]
    UrlUnreachable(String),
    #[error("This path does not accept that method.")]
    MethodNotAllowed,
    #[error("The database is not reachable.")]
    NotReady,
    #[error("The model provider could not answer: {0}")]
    ModelUnavailable(String),
    #[error("The email could not be sent right now; try again in a few minutes.")]
    MailFailed(String),
    #[error(
        "This website may not use this chatbot; its owner can add the site's origin to the chat space's allowed origins."
    )]
    OriginNotAllowed,
    /// A visitor sent too much too fast; the message is the chat space's own wording.
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after_secs: u64,
    },
    /// The organization's plan has no messages left this month; the message is the chat
    /// space's own wording for visitors.
    #[error("{0}")]
    QuotaExceeded(String),
    #[error("Something went wrong on our side; it has been logged.")]
    Internal(String),
}

impl ApiError {
    /// Every code this API can answer with, for the OpenAPI document and the docs.
    pub const CODES: &[(&str, u16)] = &[
        ("invalid_json", 400),
        ("invalid_query", 400),
        ("validation_failed", 422),
        ("not_authenticated", 401),
        ("invalid_credentials", 401),
        ("invalid_api_key", 401),
        ("forbidden", 403),
        ("api_key_scope", 403),
        ("no_organization", 403),
        ("csrf_failed", 403),
        ("not_found", 404),
        ("email_taken", 409),
        ("slug_taken", 409),
        ("plan_limit_reached", 402),
        ("publish_requires_document", 409),
        ("last_owner", 409),
        ("invalid_token", 400),
        ("invitation_email_mismatch", 403),
        ("too_many_requests", 429),
        ("payload_too_large", 413),
        ("unsupported_media_type", 415),
        ("unsupported_file_type", 415),
        ("invalid_multipart", 400),
        ("url_not_allowed", 422),
        ("url_unreachable", 422),
        ("method_not_allowed", 405),
        ("not_ready", 503),
        ("model_unavailable", 503),
        ("mail_failed", 503),
        ("origin_not_allowed", 403),
        ("rate_limited", 429),
        ("quota_exceeded", 429),
        ("internal", 500),
    ];

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidJson(_) => "invalid_json",
            ApiError::InvalidQuery(_) => "invalid_query",
            ApiError::Validation(_) => "validation_failed",
            ApiError::Unauthenticated => "not_authenticated",
            ApiError::InvalidCredentials => "invalid_credentials",
            ApiError::InvalidApiKey => "invalid_api_key",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::ApiKeyScope => "api_key_scope",
            ApiError::NoOrganization => "no_organization",
            ApiError::CsrfFailed => "csrf_failed",
            ApiError::NotFound(_) => "not_found",
            ApiError::EmailTaken => "email_taken",
            ApiError::SlugTaken => "slug_taken",
            ApiError::PlanLimitReached { .. } => "plan_limit_reached",
            ApiError::PublishRequiresDocument => "publish_requires_document",
            ApiError::LastOwner => "last_owner",
            ApiError::InvalidToken => "invalid_token",
            ApiError::InvitationEmailMismatch => "invitation_email_mismatch",
            ApiError::TooManyRequests { .. } => "too_many_requests",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::UnsupportedFileType(_) => "unsupported_file_type",
            ApiError::InvalidMultipart(_) => "invalid_multipart",
            ApiError::MultipartFraming(_) => "payload_too_large",
            ApiError::UrlNotAllowed(_) => "url_not_allowed",
            ApiError::UrlUnreachable(_) => "url_unreachable",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::NotReady => "not_ready",
            ApiError::ModelUnavailable(_) => "model_unavailable",
            ApiError::MailFailed(_) => "mail_failed",
            ApiError::OriginNotAllowed => "origin_not_allowed",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::QuotaExceeded(_) => "quota_exceeded",
            ApiError::Internal(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        let code = self.code();
        let status = Self::CODES
            .iter()
            .find(|(c, _)| *c == code)
            .map_or(500, |(_, s)| *s);
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The message a person sees; internal details stay in the log.
    pub fn message(&self) -> String {
        self.to_string()
    }

    /// Field errors, for forms and the `fields` member of the JSON error.
    pub fn fields(&self) -> Option<&ValidationErrors> {
        match self {
            ApiError::Validation(errors) => Some(errors),
            _ => None,
        }
    }

    /// The error of a store insert made within a plan limit on `what`: the limit's own when
    /// it was reached, else the store's.
    pub fn within_plan(
        plan: docent_core::Plan,
        what: &'static str,
    ) -> impl Fn(StoreError) -> ApiError {
        move |e| match e {
            StoreError::LimitReached { limit } => ApiError::PlanLimitReached {
                what,
                limit,
                plan: plan.as_str(),
            },
            other => other.into(),
        }
    }

    pub fn validation(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::Validation(ValidationErrors::single(field, message))
    }

    /// Logs internal errors; called once when the error becomes a response.
    fn log(&self) {
        match self {
            ApiError::Internal(detail) => tracing::error!(error = %detail, "internal error"),
            ApiError::MailFailed(detail) => {
                tracing::error!(error = %detail, "sending email failed")
            }
            _ => {}
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict { field: "email" } => ApiError::EmailTaken,
            StoreError::Conflict {
                field: "endpoint_slug" | "slug",
            } => ApiError::SlugTaken,
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(e: ValidationErrors) -> Self {
        ApiError::Validation(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.log();
        let mut body = json!({"error": {"code": self.code(), "message": self.message()}});
        if let Some(fields) = self.fields() {
            body["error"]["fields"] = json!(fields.0);
        }
        let mut response = (self.status(), Json(body)).into_response();
        // Kept so that pages can render the same error as HTML (see `dashboard::html_errors`).
        response.extensions_mut().insert(self.clone());
        if let ApiError::TooManyRequests { retry_after_secs }
        | ApiError::RateLimited {
            retry_after_secs, ..
        } = self
            && let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}
