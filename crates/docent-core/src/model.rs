//! Rows of the foundation tables (DESIGN §3) and the values used to create or change them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::*;
use crate::plans::Plan;

/// What a member may do in an organization, from least to most.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads everything, changes nothing.
    Viewer,
    /// Reads conversations and replies to visitors.
    Agent,
    /// Manages chat spaces, knowledge, keys and members.
    Admin,
    /// Also billing and deleting the organization.
    Owner,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Agent, Role::Admin, Role::Owner];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Agent => "agent",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Viewer => "Viewer",
            Role::Agent => "Agent",
            Role::Admin => "Admin",
            Role::Owner => "Owner",
        }
    }

    /// Whether this role may manage chat spaces, keys and members.
    pub fn can_manage(self) -> bool {
        self >= Role::Admin
    }
}

/// Lifecycle of a chat space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChatSpaceStatus {
    Draft,
    Published,
    Archived,
}

impl ChatSpaceStatus {
    pub const ALL: [ChatSpaceStatus; 3] = [
        ChatSpaceStatus::Draft,
        ChatSpaceStatus::Published,
        ChatSpaceStatus::Archived,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChatSpaceStatus::Draft => "draft",
            ChatSpaceStatus::Published => "published",
            ChatSpaceStatus::Archived => "archived",
        }
    }

    pub fn parse(s: &str) -> Option<ChatSpaceStatus> {
        ChatSpaceStatus::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// How a chat space produces answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnswerMode {
    Rag,
    Webhook,
}

impl AnswerMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerMode::Rag => "rag",
            AnswerMode::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Option<AnswerMode> {
        [AnswerMode::Rag, AnswerMode::Webhook]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Organization {
    pub id: OrgId,
    pub name: String,
    pub slug: String,
    pub plan: Plan,
    pub billing_customer_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct NewOrganization {
    pub name: String,
    pub slug: String,
    pub plan: Plan,
}

impl NewOrganization {
    pub fn new(name: impl Into<String>, slug: impl Into<String>, plan: Plan) -> NewOrganization {
        NewOrganization {
            name: name.into(),
            slug: slug.into(),
            plan,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub avatar_url: Option<String>,
    pub is_platform_admin: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug)]
pub struct NewUser {
    /// Lower-cased by the store.
    pub email: String,
    pub name: String,
    pub password_hash: Option<String>,
    /// `None`: the first user of an empty server becomes platform admin, later ones do not.
    pub is_platform_admin: Option<bool>,
}

impl NewUser {
    /// A user who signs in by link or invitation (no password yet).
    pub fn new(email: impl Into<String>, name: impl Into<String>) -> NewUser {
        NewUser {
            email: email.into(),
            name: name.into(),
            password_hash: None,
            is_platform_admin: None,
        }
    }
}

/// An organization together with the caller's role in it.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct OrgMembership {
    pub organization: Organization,
    pub role: Role,
}

/// A member of an organization, as its member list shows them.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Member {
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    pub id: SessionId,
    pub user_id: UserId,
    pub active_org_id: Option<OrgId>,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct NewSession {
    pub user_id: UserId,
    pub token_hash: String,
    pub active_org_id: Option<OrgId>,
    pub expires_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub org_id: OrgId,
    pub chat_space_id: Option<ChatSpaceId>,
    pub name: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug)]
pub struct NewApiKey {
    pub chat_space_id: Option<ChatSpaceId>,
    pub name: String,
    pub prefix: String,
    pub key_hash: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ChatSpace {
    pub id: ChatSpaceId,
    pub org_id: OrgId,
    pub name: String,
    pub description: String,
    pub status: ChatSpaceStatus,
    pub endpoint_slug: String,
    pub widget_config: serde_json::Value,
    pub ai_config: serde_json::Value,
    pub retrieval_config: serde_json::Value,
    pub allowed_origins: Vec<String>,
    pub answer_mode: AnswerMode,
    pub webhook_url: Option<String>,
    /// Conversations are deleted this many days after their last message; kept when `None`.
    pub retention_days: Option<i32>,
    pub message_count: i64,
    pub last_message_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug)]
pub struct NewChatSpace {
    pub name: String,
    pub description: String,
    pub endpoint_slug: String,
    pub widget_config: serde_json::Value,
    pub ai_config: serde_json::Value,
    pub retrieval_config: serde_json::Value,
    pub allowed_origins: Vec<String>,
}

impl NewChatSpace {
    /// A chat space with no description, every setting at its default and no allowed origin.
    pub fn new(name: impl Into<String>, endpoint_slug: impl Into<String>) -> NewChatSpace {
        NewChatSpace {
            name: name.into(),
            description: String::new(),
            endpoint_slug: endpoint_slug.into(),
            widget_config: serde_json::json!({}),
            ai_config: serde_json::json!({}),
            retrieval_config: serde_json::json!({}),
            allowed_origins: Vec::new(),
        }
    }
}

/// A change to a chat space; `None` leaves a field as it is. Values are validated already.
#[derive(Clone, Debug, Default)]
pub struct ChatSpacePatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub endpoint_slug: Option<String>,
    pub widget_config: Option<serde_json::Value>,
    pub ai_config: Option<serde_json::Value>,
    pub retrieval_config: Option<serde_json::Value>,
    pub allowed_origins: Option<Vec<String>>,
    pub answer_mode: Option<AnswerMode>,
    /// `Some(None)` clears the webhook URL.
    pub webhook_url: Option<Option<String>>,
    /// `Some(None)` keeps conversations for ever.
    pub retention_days: Option<Option<i32>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Invitation {
    pub id: InvitationId,
    pub org_id: OrgId,
    pub email: String,
    pub role: Role,
    pub invited_by: Option<UserId>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct NewInvitation {
    pub email: String,
    pub role: Role,
    pub token_hash: String,
    pub invited_by: UserId,
    pub expires_at: DateTime<Utc>,
}

/// A message that would have been mailed; kept for the platform admin when SMTP is off.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct OutboxEmail {
    pub id: OutboxId,
    pub to_email: String,
    pub subject: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// Keyset pagination: items older than `cursor`, newest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page<C> {
    pub limit: u32,
    pub cursor: Option<C>,
}

impl<C> Page<C> {
    pub const DEFAULT_LIMIT: u32 = 50;
    pub const MAX_LIMIT: u32 = 200;

    pub fn first(limit: u32) -> Self {
        Page {
            limit,
            cursor: None,
        }
    }
}
