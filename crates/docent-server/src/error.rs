//! [`ApiError`]: every way a request can fail — an action's [`AppError`], or a request the
//! transport itself could not take ([`HttpError`]) — each with a stable snake_case code that
//! is part of the public contract, an HTTP status and a message that says what to do. Internal
//! causes are logged, never shown.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use docent_app::{AppError, AppErrorKind};
use docent_core::ValidationErrors;
use serde_json::json;
use strum::IntoEnumIterator;

/// What went wrong in a request before (or instead of) any action.
#[derive(Clone, Debug, thiserror::Error, strum::EnumDiscriminants)]
#[strum_discriminants(name(HttpErrorKind), derive(strum::EnumIter))]
pub enum HttpError {
    #[error("The request body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("The query string is invalid: {0}")]
    InvalidQuery(String),
    #[error("The security token of this form is missing or stale; reload the page and try again.")]
    CsrfFailed,
    #[error("Send the body as application/json.")]
    UnsupportedMediaType,
    #[error("The upload could not be read: {0}")]
    InvalidMultipart(String),
    #[error("The upload was refused: {0}.")]
    MultipartFraming(String),
    #[error("This path does not accept that method.")]
    MethodNotAllowed,
}

#[derive(Clone, Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    App(#[from] AppError),
    #[error(transparent)]
    Http(#[from] HttpError),
}

/// The kind of an [`ApiError`], for the table of codes and statuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    App(AppErrorKind),
    Http(HttpErrorKind),
}

impl ErrorKind {
    /// Every kind there is.
    pub fn all() -> impl Iterator<Item = ErrorKind> {
        AppErrorKind::iter()
            .map(ErrorKind::App)
            .chain(HttpErrorKind::iter().map(ErrorKind::Http))
    }

    /// Each error's stable code (a public contract) and HTTP status: the one table, an
    /// exhaustive match over every kind, so a new error cannot go without both.
    pub fn spec(self) -> (&'static str, StatusCode) {
        use AppErrorKind as A;
        use HttpErrorKind as H;
        match self {
            ErrorKind::Http(H::InvalidJson) => ("invalid_json", StatusCode::BAD_REQUEST),
            ErrorKind::Http(H::InvalidQuery) => ("invalid_query", StatusCode::BAD_REQUEST),
            ErrorKind::App(A::Validation) => {
                ("validation_failed", StatusCode::UNPROCESSABLE_ENTITY)
            }
            ErrorKind::App(A::Unauthenticated) => ("not_authenticated", StatusCode::UNAUTHORIZED),
            ErrorKind::App(A::InvalidCredentials) => {
                ("invalid_credentials", StatusCode::UNAUTHORIZED)
            }
            ErrorKind::App(A::InvalidApiKey) => ("invalid_api_key", StatusCode::UNAUTHORIZED),
            ErrorKind::App(A::Forbidden) => ("forbidden", StatusCode::FORBIDDEN),
            ErrorKind::App(A::ApiKeyScope) => ("api_key_scope", StatusCode::FORBIDDEN),
            ErrorKind::App(A::NoOrganization) => ("no_organization", StatusCode::FORBIDDEN),
            ErrorKind::Http(H::CsrfFailed) => ("csrf_failed", StatusCode::FORBIDDEN),
            ErrorKind::App(A::NotFound) => ("not_found", StatusCode::NOT_FOUND),
            ErrorKind::App(A::EmailTaken) => ("email_taken", StatusCode::CONFLICT),
            ErrorKind::App(A::SlugTaken) => ("slug_taken", StatusCode::CONFLICT),
            ErrorKind::App(A::PlanLimitReached) => {
                ("plan_limit_reached", StatusCode::PAYMENT_REQUIRED)
            }
            ErrorKind::App(A::PublishRequiresDocument) => {
                ("publish_requires_document", StatusCode::CONFLICT)
            }
            ErrorKind::App(A::LastOwner) => ("last_owner", StatusCode::CONFLICT),
            ErrorKind::App(A::InvalidToken) => ("invalid_token", StatusCode::BAD_REQUEST),
            ErrorKind::App(A::InvitationEmailMismatch) => {
                ("invitation_email_mismatch", StatusCode::FORBIDDEN)
            }
            ErrorKind::App(A::TooManyRequests) => {
                ("too_many_requests", StatusCode::TOO_MANY_REQUESTS)
            }
            ErrorKind::App(A::PayloadTooLarge) | ErrorKind::Http(H::MultipartFraming) => {
                ("payload_too_large", StatusCode::PAYLOAD_TOO_LARGE)
            }
            ErrorKind::Http(H::UnsupportedMediaType) => {
                ("unsupported_media_type", StatusCode::UNSUPPORTED_MEDIA_TYPE)
            }
            ErrorKind::App(A::UnsupportedFileType) => {
                ("unsupported_file_type", StatusCode::UNSUPPORTED_MEDIA_TYPE)
            }
            ErrorKind::Http(H::InvalidMultipart) => ("invalid_multipart", StatusCode::BAD_REQUEST),
            ErrorKind::App(A::UrlNotAllowed) => {
                ("url_not_allowed", StatusCode::UNPROCESSABLE_ENTITY)
            }
            ErrorKind::App(A::UrlUnreachable) => {
                ("url_unreachable", StatusCode::UNPROCESSABLE_ENTITY)
            }
            ErrorKind::Http(H::MethodNotAllowed) => {
                ("method_not_allowed", StatusCode::METHOD_NOT_ALLOWED)
            }
            ErrorKind::App(A::NotReady) => ("not_ready", StatusCode::SERVICE_UNAVAILABLE),
            ErrorKind::App(A::ModelUnavailable) => {
                ("model_unavailable", StatusCode::SERVICE_UNAVAILABLE)
            }
            ErrorKind::App(A::MailFailed) => ("mail_failed", StatusCode::SERVICE_UNAVAILABLE),
            ErrorKind::App(A::OriginNotAllowed) => ("origin_not_allowed", StatusCode::FORBIDDEN),
            ErrorKind::App(A::RateLimited) => ("rate_limited", StatusCode::TOO_MANY_REQUESTS),
            ErrorKind::App(A::QuotaExceeded) => ("quota_exceeded", StatusCode::TOO_MANY_REQUESTS),
            ErrorKind::App(A::HandoverOff) => ("handover_off", StatusCode::CONFLICT),
            ErrorKind::App(A::LeadFormOff) => ("lead_form_off", StatusCode::CONFLICT),
            ErrorKind::App(A::IdentityInvalid) => ("identity_invalid", StatusCode::UNAUTHORIZED),
            ErrorKind::App(A::ConversationTaken) => ("conversation_taken", StatusCode::CONFLICT),
            ErrorKind::App(A::ConversationClosed) => ("conversation_closed", StatusCode::CONFLICT),
            ErrorKind::App(A::ShortcutTaken) => ("shortcut_taken", StatusCode::CONFLICT),
            ErrorKind::App(A::Internal) => ("internal", StatusCode::INTERNAL_SERVER_ERROR),
        }
    }
}

impl From<&ApiError> for ErrorKind {
    fn from(e: &ApiError) -> ErrorKind {
        match e {
            ApiError::App(e) => ErrorKind::App(e.into()),
            ApiError::Http(e) => ErrorKind::Http(e.into()),
        }
    }
}

impl ApiError {
    /// Every code this API can answer with and its status, for the OpenAPI document.
    pub fn codes() -> Vec<(&'static str, StatusCode)> {
        let mut codes: Vec<(&'static str, StatusCode)> = Vec::new();
        for kind in ErrorKind::all() {
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
            ApiError::App(e) => e.fields(),
            ApiError::Http(_) => None,
        }
    }

    /// The action's error, when it is one.
    pub fn app(&self) -> Option<&AppError> {
        match self {
            ApiError::App(e) => Some(e),
            ApiError::Http(_) => None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::App(e) = &self {
            e.log();
        }
        let mut body = json!({"error": {"code": self.code(), "message": self.message()}});
        if let Some(fields) = self.fields() {
            body["error"]["fields"] = json!(fields.0);
        }
        let mut response = (self.status(), Json(body)).into_response();
        // Kept so that pages can render the same error as HTML (see `http::pages::html_errors`).
        response.extensions_mut().insert(self.clone());
        if let Some(retry_after_secs) = self.app().and_then(AppError::retry_after_secs)
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
        let scope = ApiError::from(AppError::ApiKeyScope);
        assert_eq!(scope.code(), "api_key_scope");
        assert_eq!(scope.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            ApiError::from(HttpError::MultipartFraming("x".into())).code(),
            ApiError::from(AppError::PayloadTooLarge { limit: 1 }).code()
        );
    }
}
