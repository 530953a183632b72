//! Rows as both backends return them (same column names, types both drivers decode), and
//! their conversion into domain values. Backends select into these and call `into_domain`.

use chrono::{DateTime, Utc};
use docent_core::*;
use sqlx::types::Json;
use uuid::Uuid;

use crate::{Result, StoreError};

fn parse<T>(what: &str, raw: &str, f: impl Fn(&str) -> Option<T>) -> Result<T> {
    f(raw).ok_or_else(|| StoreError::Corrupt(format!("unknown {what} {raw:?}")))
}

#[derive(Debug, sqlx::FromRow)]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub password_hash: Option<String>,
    pub avatar_url: Option<String>,
    pub is_platform_admin: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

impl UserRow {
    pub fn into_domain(self) -> Result<User> {
        Ok(User {
            id: UserId(self.id),
            email: self.email,
            name: self.name,
            password_hash: self.password_hash,
            avatar_url: self.avatar_url,
            is_platform_admin: self.is_platform_admin,
            created_at: self.created_at,
            updated_at: self.updated_at,
            last_login_at: self.last_login_at,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct OrganizationRow {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub plan: String,
    pub billing_customer_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl OrganizationRow {
    pub fn into_domain(self) -> Result<Organization> {
        Ok(Organization {
            id: OrgId(self.id),
            plan: parse("plan", &self.plan, Plan::parse)?,
            name: self.name,
            slug: self.slug,
            billing_customer_id: self.billing_customer_id,
            created_at: self.created_at,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct MembershipRow {
    #[sqlx(flatten)]
    pub organization: OrganizationRow,
    pub role: String,
}

impl MembershipRow {
    pub fn into_domain(self) -> Result<OrgMembership> {
        Ok(OrgMembership {
            role: parse("role", &self.role, Role::parse)?,
            organization: self.organization.into_domain()?,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct MemberRow {
    pub user_id: Uuid,
    pub email: String,
    pub name: String,
    pub role: String,
    pub joined_at: DateTime<Utc>,
}

impl MemberRow {
    pub fn into_domain(self) -> Result<Member> {
        Ok(Member {
            user_id: UserId(self.user_id),
            role: parse("role", &self.role, Role::parse)?,
            email: self.email,
            name: self.name,
            joined_at: self.joined_at,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct SessionRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub active_org_id: Option<Uuid>,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

impl SessionRow {
    pub fn into_domain(self) -> Result<Session> {
        Ok(Session {
            id: SessionId(self.id),
            user_id: UserId(self.user_id),
            active_org_id: self.active_org_id.map(OrgId),
            expires_at: self.expires_at,
            created_at: self.created_at,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub chat_space_id: Option<Uuid>,
    pub name: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiKeyRow {
    pub fn into_domain(self) -> Result<ApiKey> {
        Ok(ApiKey {
            id: ApiKeyId(self.id),
            org_id: OrgId(self.org_id),
            chat_space_id: self.chat_space_id.map(ChatSpaceId),
            name: self.name,
            prefix: self.prefix,
            created_at: self.created_at,
            last_used_at: self.last_used_at,
            revoked_at: self.revoked_at,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct ChatSpaceRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub description: String,
    pub status: String,
    pub endpoint_slug: String,
    pub widget_config: Json<serde_json::Value>,
    pub ai_config: Json<serde_json::Value>,
    pub retrieval_config: Json<serde_json::Value>,
    pub allowed_origins: Json<Vec<String>>,
    pub answer_mode: String,
    pub webhook_url: Option<String>,
    pub message_count: i64,
    pub last_message_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
}

impl ChatSpaceRow {
    pub fn into_domain(self) -> Result<ChatSpace> {
        Ok(ChatSpace {
            id: ChatSpaceId(self.id),
            org_id: OrgId(self.org_id),
            status: parse("status", &self.status, ChatSpaceStatus::parse)?,
            answer_mode: parse("answer_mode", &self.answer_mode, AnswerMode::parse)?,
            name: self.name,
            description: self.description,
            endpoint_slug: self.endpoint_slug,
            widget_config: self.widget_config.0,
            ai_config: self.ai_config.0,
            retrieval_config: self.retrieval_config.0,
            allowed_origins: self.allowed_origins.0,
            webhook_url: self.webhook_url,
            message_count: self.message_count,
            last_message_at: self.last_message_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
            published_at: self.published_at,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct InvitationRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub email: String,
    pub role: String,
    pub invited_by: Option<Uuid>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl InvitationRow {
    pub fn into_domain(self) -> Result<Invitation> {
        Ok(Invitation {
            id: InvitationId(self.id),
            org_id: OrgId(self.org_id),
            role: parse("role", &self.role, Role::parse)?,
            email: self.email,
            invited_by: self.invited_by.map(UserId),
            expires_at: self.expires_at,
            accepted_at: self.accepted_at,
            created_at: self.created_at,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: Uuid,
    pub to_email: String,
    pub subject: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

impl OutboxRow {
    pub fn into_domain(self) -> Result<OutboxEmail> {
        Ok(OutboxEmail {
            id: OutboxId(self.id),
            to_email: self.to_email,
            subject: self.subject,
            body: self.body,
            created_at: self.created_at,
        })
    }
}

/// Converts every row of a result set.
pub fn all<R, T>(rows: Vec<R>, f: impl Fn(R) -> Result<T>) -> Result<Vec<T>> {
    rows.into_iter().map(f).collect()
}

/// The shared column lists, as macros so that backends build static SQL with `concat!`.
#[macro_export]
macro_rules! user_columns {
    () => {
        "id, email, name, password_hash, avatar_url, is_platform_admin, created_at, updated_at, last_login_at"
    };
}
#[macro_export]
macro_rules! organization_columns {
    () => {
        "id, name, slug, plan, billing_customer_id, created_at"
    };
}
#[macro_export]
macro_rules! session_columns {
    () => {
        "id, user_id, active_org_id, expires_at, created_at"
    };
}
#[macro_export]
macro_rules! api_key_columns {
    () => {
        "id, org_id, chat_space_id, name, prefix, created_at, last_used_at, revoked_at"
    };
}
#[macro_export]
macro_rules! chat_space_columns {
    () => {
        "id, org_id, name, description, status, endpoint_slug, widget_config, ai_config, \
         retrieval_config, allowed_origins, answer_mode, webhook_url, message_count, \
         last_message_at, created_at, updated_at, published_at"
    };
}
#[macro_export]
macro_rules! invitation_columns {
    () => {
        "id, org_id, email, role, invited_by, expires_at, accepted_at, created_at"
    };
}
#[macro_export]
macro_rules! outbox_columns {
    () => {
        "id, to_email, subject, body, created_at"
    };
}
