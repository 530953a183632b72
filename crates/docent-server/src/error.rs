//! [`ApiError`]: every way a request can fail, each with a stable snake_case code that is part
//! of the public contract, an HTTP status and a message that says what to do. Internal causes
//! are logged, never shown.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use docent_core::ValidationErrors;
use docent_store::StoreError;
use serde_json::json;
use strum::IntoEnumIterator;

#[derive(Clone, Debug, thiserror::Error, strum::EnumDiscriminants)]
#[strum_discriminants(name(ErrorKind), derive(strum::EnumIter))]
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

/// Each error's stable code (a public contract) and HTTP status: the one table, an
/// exhaustive match over every variant, so a new error cannot go without both.
impl ErrorKind {
    pub fn spec(self) -> (&'static str, StatusCode) {
        match self {
            ErrorKind::InvalidJson => ("invalid_json", StatusCode::BAD_REQUEST),
            ErrorKind::InvalidQuery => ("invalid_query", StatusCode::BAD_REQUEST),
            ErrorKind::Validation => ("validation_failed", StatusCode::UNPROCESSABLE_ENTITY),
            ErrorKind::Unauthenticated => ("not_authenticated", StatusCode::UNAUTHORIZED),
            ErrorKind::InvalidCredentials => ("invalid_credentials", StatusCode::UNAUTHORIZED),
            ErrorKind::InvalidApiKey => ("invalid_api_key", StatusCode::UNAUTHORIZED),
            ErrorKind::Forbidden => ("forbidden", StatusCode::FORBIDDEN),
            ErrorKind::ApiKeyScope => ("api_key_scope", StatusCode::FORBIDDEN),
            ErrorKind::NoOrganization => ("no_organization", StatusCode::FORBIDDEN),
            ErrorKind::CsrfFailed => ("csrf_failed", StatusCode::FORBIDDEN),
            ErrorKind::NotFound => ("not_found", StatusCode::NOT_FOUND),
            ErrorKind::EmailTaken => ("email_taken", StatusCode::CONFLICT),
            ErrorKind::SlugTaken => ("slug_taken", StatusCode::CONFLICT),
            ErrorKind::PlanLimitReached => ("plan_limit_reached", StatusCode::PAYMENT_REQUIRED),
            ErrorKind::PublishRequiresDocument => {
                ("publish_requires_document", StatusCode::CONFLICT)
            }
            ErrorKind::LastOwner => ("last_owner", StatusCode::CONFLICT),
            ErrorKind::InvalidToken => ("invalid_token", StatusCode::BAD_REQUEST),
            ErrorKind::InvitationEmailMismatch => {
                ("invitation_email_mismatch", StatusCode::FORBIDDEN)
            }
            ErrorKind::TooManyRequests => ("too_many_requests", StatusCode::TOO_MANY_REQUESTS),
            ErrorKind::PayloadTooLarge => ("payload_too_large", StatusCode::PAYLOAD_TOO_LARGE),
            ErrorKind::UnsupportedMediaType => {
                ("unsupported_media_type", StatusCode::UNSUPPORTED_MEDIA_TYPE)
            }
            ErrorKind::UnsupportedFileType => {
                ("unsupported_file_type", StatusCode::UNSUPPORTED_MEDIA_TYPE)
            }
            ErrorKind::InvalidMultipart => ("invalid_multipart", StatusCode::BAD_REQUEST),
            ErrorKind::MultipartFraming => ("payload_too_large", StatusCode::PAYLOAD_TOO_LARGE),
            ErrorKind::UrlNotAllowed => ("url_not_allowed", StatusCode::UNPROCESSABLE_ENTITY),
            ErrorKind::UrlUnreachable => ("url_unreachable", StatusCode::UNPROCESSABLE_ENTITY),
            ErrorKind::MethodNotAllowed => ("method_not_allowed", StatusCode::METHOD_NOT_ALLOWED),
            ErrorKind::NotReady => ("not_ready", StatusCode::SERVICE_UNAVAILABLE),
            ErrorKind::ModelUnavailable => ("model_unavailable", StatusCode::SERVICE_UNAVAILABLE),
            ErrorKind::MailFailed => ("mail_failed", StatusCode::SERVICE_UNAVAILABLE),
            ErrorKind::OriginNotAllowed => ("origin_not_allowed", StatusCode::FORBIDDEN),
            ErrorKind::RateLimited => ("rate_limited", StatusCode::TOO_MANY_REQUESTS),
            ErrorKind::QuotaExceeded => ("quota_exceeded", StatusCode::TOO_MANY_REQUESTS),
            ErrorKind::Internal => ("internal", StatusCode::INTERNAL_SERVER_ERROR),
        }
    }
}

impl ApiError {
    /// Every code this API can answer with and its status, for the OpenAPI document.
    pub fn codes() -> Vec<(&'static str, StatusCode)> {
        let mut codes: Vec<(&'static str, StatusCode)> = Vec::new();
        for kind in ErrorKind::iter() {
            let spec = kind.spec();
            if !codes.contains(&spec) {
                codes.push(spec);
            }
        }
        codes
    }

    pub fn code(&self) -> &'static str {
        ErrorKind::from(self).spec().0
    }

    pub fn status(&self) -> StatusCode {
        ErrorKind::from(self).spec().1
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

    /// `plan` allows `limit` of `what`, and they are all taken.
    pub fn plan_limit(plan: docent_core::Plan, what: &'static str, limit: u64) -> ApiError {
        ApiError::PlanLimitReached {
            what,
            limit,
            plan: plan.as_str(),
        }
    }

    /// The error of a store insert made within a plan limit on `what`: the limit's own when
    /// it was reached, else the store's.
    pub fn within_plan(
        plan: docent_core::Plan,
        what: &'static str,
    ) -> impl Fn(StoreError) -> ApiError {
        move |e| match e {
            StoreError::LimitReached { limit } => ApiError::plan_limit(plan, what, limit),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_code_is_snake_case_with_one_status() {
        let codes = ApiError::codes();
        assert!(codes.len() >= 30, "{codes:?}");
        for (code, status) in &codes {
            assert!(
                code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{code}"
            );
            assert!(
                status.is_client_error() || status.is_server_error(),
                "{code}"
            );
            assert_eq!(
                codes.iter().filter(|(c, _)| c == code).count(),
                1,
                "{code} has two statuses"
            );
        }
        assert_eq!(ApiError::ApiKeyScope.code(), "api_key_scope");
        assert_eq!(ApiError::ApiKeyScope.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            ApiError::MultipartFraming("x".into()).code(),
            ApiError::PayloadTooLarge { limit: 1 }.code()
        );
    }
}
