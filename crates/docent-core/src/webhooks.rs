//! Outbound webhooks (DESIGN §4 "Integrations"): an organization's endpoints, the events
//! they hear, and each delivery's attempts. Deliveries are signed as Standard Webhooks v1
//! says (`webhook-id`, `webhook-timestamp`, `webhook-signature`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::*;

/// What happened, as an endpoint subscribes to it; sent as `type` (`lead.captured`).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    strum::EnumIter,
    schemars::JsonSchema,
)]
pub enum EventType {
    /// A visitor left their details in the lead form.
    #[serde(rename = "lead.captured")]
    LeadCaptured,
    /// A visitor's first message started a conversation.
    #[serde(rename = "conversation.created")]
    ConversationCreated,
    /// A visitor, the bot or an agent wrote in a conversation (internal notes never).
    #[serde(rename = "message.created")]
    MessageCreated,
    /// A conversation asked for a person.
    #[serde(rename = "handover.requested")]
    HandoverRequested,
    /// A conversation was closed (by an agent, or after it went quiet).
    #[serde(rename = "conversation.closed")]
    ConversationClosed,
    /// A knowledge source was read and can be answered from.
    #[serde(rename = "document.completed")]
    DocumentCompleted,
    /// A knowledge source could not be read.
    #[serde(rename = "document.failed")]
    DocumentFailed,
    /// Sent by "send test" only; no endpoint subscribes to it.
    #[serde(rename = "webhook.test")]
    Test,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::LeadCaptured => "lead.captured",
            EventType::ConversationCreated => "conversation.created",
            EventType::MessageCreated => "message.created",
            EventType::HandoverRequested => "handover.requested",
            EventType::ConversationClosed => "conversation.closed",
            EventType::DocumentCompleted => "document.completed",
            EventType::DocumentFailed => "document.failed",
            EventType::Test => "webhook.test",
        }
    }

    pub fn parse(s: &str) -> Option<EventType> {
        <EventType as strum::IntoEnumIterator>::iter().find(|k| k.as_str() == s)
    }

    /// The types an endpoint may subscribe to, in the order the dashboard lists them.
    pub fn subscribable() -> impl Iterator<Item = EventType> {
        <EventType as strum::IntoEnumIterator>::iter().filter(|t| *t != EventType::Test)
    }

    /// What the dashboard says of it.
    pub fn describe(self) -> &'static str {
        match self {
            EventType::LeadCaptured => "A visitor left their details",
            EventType::ConversationCreated => "A conversation started",
            EventType::MessageCreated => "A message was written (not internal notes)",
            EventType::HandoverRequested => "A visitor asked for a person",
            EventType::ConversationClosed => "A conversation was closed",
            EventType::DocumentCompleted => "A knowledge source is ready",
            EventType::DocumentFailed => "A knowledge source failed",
            EventType::Test => "A test from the dashboard",
        }
    }
}

/// Where an organization's events go. Its secret is not part of it: it is shown once, when
/// made, and kept by the store for signing.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct WebhookEndpoint {
    pub id: WebhookEndpointId,
    pub org_id: OrgId,
    /// Only this chat space's events, when set; every chat space's otherwise.
    pub chat_space_id: Option<ChatSpaceId>,
    pub url: String,
    pub description: String,
    pub events: Vec<EventType>,
    /// Until then, deliveries are signed with the secret before the last rotation too.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// Set when deliveries kept failing (or the endpoint answered 410 Gone); nothing is
    /// sent until it is enabled again.
    pub disabled_at: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
    /// The last time it answered a delivery with 2xx.
    pub last_success_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl WebhookEndpoint {
    /// Whether an event of `kind` about `chat_space` goes to this endpoint.
    pub fn hears(&self, kind: EventType, chat_space: Option<ChatSpaceId>) -> bool {
        self.disabled_at.is_none()
            && self.events.contains(&kind)
            && (self.chat_space_id.is_none() || self.chat_space_id == chat_space)
    }
}

/// The username and password an answer webhook is called with (HTTP Basic auth, as an n8n
/// Chat Trigger asks for it). The password is a [`Secret`](crate::settings::Secret): it
/// never reaches a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BasicAuth {
    pub username: String,
    pub password: crate::settings::Secret,
}

impl BasicAuth {
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> BasicAuth {
        BasicAuth {
            username: username.into(),
            password: crate::settings::Secret::new(password),
        }
    }
}

/// Signing secrets (a webhook endpoint's `whsec_<base64>`, a chat space's identity secret):
/// the current one and, for a day after a rotation, the one before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningSecrets {
    pub current: String,
    pub previous: Option<(String, DateTime<Utc>)>,
}

impl SigningSecrets {
    /// How long the secret before a rotation keeps signing (and verifying).
    pub const ROTATION_OVERLAP: chrono::TimeDelta = chrono::TimeDelta::hours(24);

    /// As stored: the current secret, and the one before it with when it stops.
    pub fn new(
        current: String,
        previous: Option<String>,
        previous_until: Option<DateTime<Utc>>,
    ) -> SigningSecrets {
        SigningSecrets {
            current,
            previous: previous.zip(previous_until),
        }
    }

    /// The secrets that sign a delivery at `now`.
    pub fn signing(&self, now: DateTime<Utc>) -> Vec<&str> {
        let mut all = vec![self.current.as_str()];
        if let Some((previous, until)) = &self.previous
            && *until > now
        {
            all.push(previous.as_str());
        }
        all
    }
}

/// Where a delivery is in its life, stored by its snake_case name.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, strum::EnumIter, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not delivered yet; another attempt is due at `next_attempt_at`.
    Pending,
    /// The endpoint answered 2xx.
    Succeeded,
    /// Every attempt failed, or the endpoint was disabled or deleted.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryStatus> {
        <DeliveryStatus as strum::IntoEnumIterator>::iter().find(|k| k.as_str() == s)
    }
}

/// One event on its way to one endpoint. `body` is the exact JSON sent (and signed) on
/// every attempt: `{"type", "timestamp", "data"}`.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct WebhookDelivery {
    pub id: WebhookDeliveryId,
    pub org_id: OrgId,
    pub endpoint_id: WebhookEndpointId,
    /// The `webhook-id` header: the same on every attempt, the receiver's idempotency key.
    pub event_id: String,
    pub event_type: EventType,
    pub body: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The endpoint's HTTP status at the last attempt, when it answered.
    pub last_status_code: Option<i32>,
    /// The first bytes of the endpoint's last answer.
    pub last_response: Option<String>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// What one attempt at a delivery came to.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryAttempt {
    pub at: DateTime<Utc>,
    pub status_code: Option<i32>,
    pub response: Option<String>,
    /// `None` when the endpoint answered 2xx.
    pub error: Option<String>,
    /// What the delivery is after it: succeeded, pending again (with when) or failed.
    pub outcome: DeliveryStatus,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// How a chat space's answer webhook failed (`answer_mode: webhook`), as `webhook_errors`
/// keeps it.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, strum::EnumIter, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum WebhookErrorKind {
    /// No answer in time.
    Timeout,
    /// An HTTP status other than 2xx.
    Status,
    /// An answer Docent could not read as n8n's Chat Trigger contract says.
    BadBody,
    /// It could not be reached (refused, no such host, not allowed).
    Refused,
}

impl WebhookErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookErrorKind::Timeout => "timeout",
            WebhookErrorKind::Status => "status",
            WebhookErrorKind::BadBody => "bad_body",
            WebhookErrorKind::Refused => "refused",
        }
    }

    pub fn parse(s: &str) -> Option<WebhookErrorKind> {
        <WebhookErrorKind as strum::IntoEnumIterator>::iter().find(|k| k.as_str() == s)
    }
}

/// One failure of a chat space's answer webhook.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct WebhookError {
    pub id: WebhookErrorId,
    pub org_id: OrgId,
    pub chat_space_id: ChatSpaceId,
    pub kind: WebhookErrorKind,
    pub message: String,
    pub occurred_at: DateTime<Utc>,
}

/// Whether a chat space's answer webhook works, from its last call or check.
#[derive(Clone, Debug, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct WebhookHealth {
    /// `healthy` (the last call or check answered), `failing`, or `unknown` (never called).
    pub state: HealthState,
    pub checked_at: Option<DateTime<Utc>>,
    pub last_ok_at: Option<DateTime<Utc>>,
    /// Calls and checks that failed since the last that worked.
    pub consecutive_failures: i32,
    /// When the owners were emailed about this run of failures.
    pub alerted_at: Option<DateTime<Utc>>,
}

#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    #[default]
    Unknown,
    Healthy,
    Failing,
}

impl HealthState {
    pub fn as_str(self) -> &'static str {
        match self {
            HealthState::Unknown => "unknown",
            HealthState::Healthy => "healthy",
            HealthState::Failing => "failing",
        }
    }
}
