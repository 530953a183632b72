//! [`AppError`]: every way an action of the product can fail, whoever asked (the JSON API, a
//! dashboard page, the widget, the CLI, a worker). Each has a message that says what to do;
//! the transports give each kind its stable code and status (docent-server's `ApiError`).
//! Internal causes are logged where the error is answered, never shown.

use docent_core::ValidationErrors;
use docent_store::StoreError;

#[derive(Clone, Debug, thiserror::Error, strum::EnumDiscriminants)]
#[strum_discriminants(name(AppErrorKind), derive(strum::EnumIter))]
pub enum AppError {
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
    #[error(
        "{0}: this file type is not supported; upload PDF, DOCX, TXT, Markdown, HTML, VTT or SRT files."
    )]
    UnsupportedFileType(String),
    #[error("{0}")]
    UrlNotAllowed(String),
    #[error("{0} Check the address, or that this server can reach it.")]
    UrlUnreachable(String),
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
    #[error(
        "This chat space does not hand conversations to people; its owner can turn handover on in the chat space's Settings."
    )]
    HandoverOff,
    #[error(
        "This chat space does not collect visitors' details; its owner can turn the lead form on in the chat space's Settings."
    )]
    LeadFormOff,
    /// Another agent has the conversation; the message names them.
    #[error("{0}")]
    ConversationTaken(String),
    #[error("This conversation is closed; a new visitor message starts a new one.")]
    ConversationClosed,
    #[error("Another canned reply has this shortcut; choose another or change that one.")]
    ShortcutTaken,
    /// A widget request's visitor identity did not verify (or is required and missing).
    #[error("{0}")]
    IdentityInvalid(&'static str),
    #[error("Something went wrong on our side; it has been logged.")]
    Internal(String),
}

impl AppError {
    /// The message a person sees; internal details stay in the log.
    pub fn message(&self) -> String {
        self.to_string()
    }

    /// Field errors, for forms and the `fields` member of the JSON error.
    pub fn fields(&self) -> Option<&ValidationErrors> {
        match self {
            AppError::Validation(errors) => Some(errors),
            _ => None,
        }
    }

    /// Seconds to wait before trying again, for the errors that have them.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            AppError::TooManyRequests { retry_after_secs }
            | AppError::RateLimited {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        }
    }

    /// `plan` allows `limit` of `what`, and they are all taken.
    pub fn plan_limit(plan: docent_core::Plan, what: &'static str, limit: u64) -> AppError {
        AppError::PlanLimitReached {
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
    ) -> impl Fn(StoreError) -> AppError {
        move |e| match e {
            StoreError::LimitReached { limit } => AppError::plan_limit(plan, what, limit),
            other => other.into(),
        }
    }

    pub fn validation(field: &str, message: impl Into<String>) -> AppError {
        AppError::Validation(ValidationErrors::single(field, message))
    }

    /// Logs what must not be shown: internal errors and failed mail. Called once, where the
    /// error is answered.
    pub fn log(&self) {
        match self {
            AppError::Internal(detail) => tracing::error!(error = %detail, "internal error"),
            AppError::MailFailed(detail) => {
                tracing::error!(error = %detail, "sending email failed")
            }
            _ => {}
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict { field: "email" } => AppError::EmailTaken,
            StoreError::Conflict {
                field: "endpoint_slug" | "slug",
            } => AppError::SlugTaken,
            StoreError::Conflict { field: "shortcut" } => AppError::ShortcutTaken,
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<ValidationErrors> for AppError {
    fn from(e: ValidationErrors) -> Self {
        AppError::Validation(e)
    }
}
