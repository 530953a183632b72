//! Typed ids: a `ChatSpaceId` can never be passed where an `OrgId` is expected.
//!
//! Ids are UUIDv7, so they sort by creation time; lists page by id.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! typed_id {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn generate() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    )*};
}

typed_id!(
    /// An organization: the tenant boundary.
    OrgId,
    /// A person who can log in.
    UserId,
    /// A chatbot.
    ChatSpaceId,
    /// A programmatic credential.
    ApiKeyId,
    /// A logged-in browser or client.
    SessionId,
    /// An invitation to join an organization.
    InvitationId,
    /// A knowledge source of a chat space.
    DocumentId,
    /// A message queued for delivery when no SMTP server is configured.
    OutboxId,
    /// A piece of a document.
    ChunkId,
    /// A unit of background work.
    JobId,
    /// A visitor's (or tester's) exchange with a chat space.
    ConversationId,
    /// One turn of a conversation.
    MessageId,
    /// Visitors' questions of the same meaning (a top question, or a knowledge gap).
    QuestionGroupId,
    /// One time a conversation went to a person.
    HandoverId,
    /// An agent's internal note on a conversation.
    NoteId,
    /// An organization's ready answer for its agents.
    CannedReplyId,
    /// A member's open inbox connection (their presence).
    ConnectionId,
    /// Where an organization's events are sent (a CRM, Zapier, n8n, its own backend).
    WebhookEndpointId,
    /// One event on its way to one endpoint, with its attempts.
    WebhookDeliveryId,
    /// Details a visitor left in a chat space's lead form.
    LeadId,
    /// One failure of a chat space's answer webhook.
    WebhookErrorId,
);
