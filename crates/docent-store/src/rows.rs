//! Rows as both backends return them (same column names, types both drivers decode), and
//! their conversion into domain values. Backends select into these and call `into_domain`.

use chrono::{DateTime, NaiveDate, Utc};
use docent_core::*;
use sqlx::types::Json;
use uuid::Uuid;

use crate::{Result, StoreError};

pub fn parse<T>(what: &str, raw: &str, f: impl Fn(&str) -> Option<T>) -> Result<T> {
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
    pub retention_days: Option<i32>,
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
            retention_days: self.retention_days,
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

#[derive(Debug, sqlx::FromRow)]
pub struct ConversationRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub chat_space_id: Uuid,
    pub visitor_id: Option<String>,
    pub end_user_email: Option<String>,
    pub end_user_name: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub referrer: Option<String>,
    pub locale: Option<String>,
    pub channel: String,
    pub status: String,
    pub assigned_agent_id: Option<Uuid>,
    pub message_count: i64,
    pub last_activity_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl ConversationRow {
    pub fn into_domain(self) -> Result<Conversation> {
        Ok(Conversation {
            id: ConversationId(self.id),
            org_id: OrgId(self.org_id),
            chat_space_id: ChatSpaceId(self.chat_space_id),
            visitor_id: self.visitor_id,
            end_user_email: self.end_user_email,
            end_user_name: self.end_user_name,
            ip: self.ip,
            user_agent: self.user_agent,
            referrer: self.referrer,
            locale: self.locale,
            channel: parse("channel", &self.channel, Channel::parse)?,
            status: parse("status", &self.status, ConversationStatus::parse)?,
            assigned_agent_id: self.assigned_agent_id.map(UserId),
            message_count: self.message_count,
            last_activity_at: self.last_activity_at,
            created_at: self.created_at,
            closed_at: self.closed_at,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct MessageRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub chat_space_id: Uuid,
    pub conversation_id: Uuid,
    pub role: String,
    pub content: String,
    pub model: Option<String>,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub cost_micro_usd: i64,
    pub processing_time_ms: i64,
    pub context_chunks: Json<Vec<ContextChunk>>,
    pub citations: Json<Vec<Citation>>,
    pub answer_kind: Option<String>,
    pub feedback: Option<String>,
    pub created_at: DateTime<Utc>,
    pub confidence: Option<f64>,
    pub author_id: Option<Uuid>,
}

impl MessageRow {
    pub fn into_domain(self) -> Result<Message> {
        Ok(Message {
            id: MessageId(self.id),
            org_id: OrgId(self.org_id),
            chat_space_id: ChatSpaceId(self.chat_space_id),
            conversation_id: ConversationId(self.conversation_id),
            role: parse("message role", &self.role, MessageRole::parse)?,
            content: self.content,
            model: self.model,
            tokens_in: self.tokens_in,
            tokens_out: self.tokens_out,
            cost_micro_usd: self.cost_micro_usd,
            processing_time_ms: self.processing_time_ms,
            context_chunks: self.context_chunks.0,
            citations: self.citations.0,
            answer_kind: self
                .answer_kind
                .map(|k| parse("answer kind", &k, AnswerKind::parse))
                .transpose()?,
            feedback: self
                .feedback
                .map(|f| parse("feedback", &f, Feedback::parse))
                .transpose()?,
            confidence: self.confidence,
            author_id: self.author_id.map(UserId),
            created_at: self.created_at,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct DayCountsRow {
    pub day: String,
    pub conversations: i64,
    pub handovers: i64,
    pub messages: i64,
    pub visitor_messages: i64,
    pub answers: i64,
    pub tokens_in: i64,
    pub tokens_out: i64,
    pub cost_micro_usd: i64,
    pub feedback_up: i64,
    pub feedback_down: i64,
    pub unanswered: i64,
    pub visitors: i64,
    pub bot_resolved: i64,
}

/// A day as the analytics statements name it (`YYYY-MM-DD`).
pub fn day_of(text: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| StoreError::Corrupt(format!("not a day: {text:?}")))
}

impl DayCountsRow {
    pub fn into_domain(self) -> Result<crate::DayCounts> {
        let n = |v: i64| v.max(0) as u64;
        Ok(crate::DayCounts {
            day: day_of(&self.day)?,
            conversations: n(self.conversations),
            handovers: n(self.handovers),
            bot_resolved: n(self.bot_resolved),
            messages: n(self.messages),
            visitor_messages: n(self.visitor_messages),
            answers: n(self.answers),
            tokens_in: self.tokens_in,
            tokens_out: self.tokens_out,
            cost_micro_usd: self.cost_micro_usd,
            feedback_up: n(self.feedback_up),
            feedback_down: n(self.feedback_down),
            unanswered: n(self.unanswered),
            visitors: n(self.visitors),
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct UsageDayRow {
    pub date: chrono::NaiveDate,
    pub messages: i64,
    pub conversations: i64,
    pub tokens: i64,
    pub cost: i64,
    pub feedback_up: i64,
    pub feedback_down: i64,
}

impl UsageDayRow {
    pub fn into_domain(self) -> Result<UsageDay> {
        Ok(UsageDay {
            date: self.date,
            messages: self.messages,
            conversations: self.conversations,
            tokens: self.tokens,
            cost: self.cost,
            feedback_up: self.feedback_up,
            feedback_down: self.feedback_down,
        })
    }
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
         last_message_at, created_at, updated_at, published_at, retention_days"
    };
}
#[macro_export]
macro_rules! conversation_columns {
    () => {
        "id, org_id, chat_space_id, visitor_id, end_user_email, end_user_name, ip, user_agent, \
         referrer, locale, channel, status, assigned_agent_id, message_count, last_activity_at, \
         created_at, closed_at"
    };
}
#[macro_export]
macro_rules! message_columns {
    () => {
        "id, org_id, chat_space_id, conversation_id, role, content, model, tokens_in, tokens_out, \
         cost_micro_usd, processing_time_ms, context_chunks, citations, answer_kind, feedback, \
         created_at, confidence, author_id"
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

#[derive(Debug, sqlx::FromRow)]
pub struct DocumentRow {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub org_id: Uuid,
    pub chat_space_id: Uuid,
    #[sqlx(rename = "type")]
    pub doc_type: String,
    pub source_url: Option<String>,
    pub file_name: Option<String>,
    pub file_size: Option<i64>,
    pub content_hash: Option<String>,
    pub storage_key: Option<String>,
    pub citable: bool,
    pub status: String,
    pub progress: i32,
    pub error_message: Option<String>,
    pub title: String,
    pub author: Option<String>,
    pub page_count: Option<i32>,
    pub word_count: Option<i64>,
    pub chunk_count: i32,
    pub processing_started_at: Option<DateTime<Utc>>,
    pub processing_completed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl DocumentRow {
    pub fn into_domain(self) -> Result<Document> {
        Ok(Document {
            id: DocumentId(self.id),
            parent_id: self.parent_id.map(DocumentId),
            org_id: OrgId(self.org_id),
            chat_space_id: ChatSpaceId(self.chat_space_id),
            status: parse("document status", &self.status, DocumentStatus::parse)?,
            doc_type: self.doc_type,
            source_url: self.source_url,
            file_name: self.file_name,
            file_size: self.file_size,
            content_hash: self.content_hash,
            storage_key: self.storage_key,
            citable: self.citable,
            progress: self.progress,
            error_message: self.error_message,
            title: self.title,
            author: self.author,
            page_count: self.page_count,
            word_count: self.word_count,
            chunk_count: self.chunk_count,
            processing_started_at: self.processing_started_at,
            processing_completed_at: self.processing_completed_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct ChunkRow {
    pub id: Uuid,
    pub document_id: Uuid,
    pub chunk_index: i32,
    pub content: String,
    pub token_count: i32,
    pub metadata: Json<serde_json::Value>,
}

impl ChunkRow {
    pub fn into_domain(self) -> Result<Chunk> {
        Ok(Chunk {
            id: ChunkId(self.id),
            document_id: DocumentId(self.document_id),
            chunk_index: self.chunk_index,
            content: self.content,
            token_count: self.token_count,
            metadata: self.metadata.0,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub struct ChunkHitRow {
    #[sqlx(flatten)]
    pub chunk: ChunkRow,
    pub document_title: String,
    pub file_name: Option<String>,
    pub source_url: Option<String>,
    pub citable: bool,
    pub score: f64,
}

impl ChunkHitRow {
    pub fn into_domain(self) -> Result<ChunkHit> {
        Ok(ChunkHit {
            chunk: self.chunk.into_domain()?,
            document_title: self.document_title,
            file_name: self.file_name,
            source_url: self.source_url,
            citable: self.citable,
            score: self.score,
        })
    }

    /// Puts rows fetched by id in the order of `scored`, each with its score; ids with no
    /// row (chunks deleted since they were scored) are left out.
    pub fn in_order(rows: Vec<ChunkHitRow>, scored: Vec<(Uuid, f64)>) -> Result<Vec<ChunkHit>> {
        let mut rows: std::collections::HashMap<Uuid, ChunkHitRow> =
            rows.into_iter().map(|row| (row.chunk.id, row)).collect();
        let mut hits = Vec::with_capacity(scored.len());
        for (id, score) in scored {
            if let Some(mut row) = rows.remove(&id) {
                row.score = score;
                hits.push(row.into_domain()?);
            }
        }
        Ok(hits)
    }
}

#[macro_export]
macro_rules! document_columns {
    () => {
        "id, parent_id, org_id, chat_space_id, type, source_url, file_name, file_size, content_hash, \
         storage_key, citable, status, progress, error_message, title, author, page_count, \
         word_count, chunk_count, processing_started_at, processing_completed_at, created_at, \
         updated_at"
    };
}
#[macro_export]
macro_rules! chunk_columns {
    () => {
        "id, document_id, chunk_index, content, token_count, metadata"
    };
}
