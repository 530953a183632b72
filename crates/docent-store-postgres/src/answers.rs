//! Conversations, messages, usage and knowledge gaps on PostgreSQL. The twin is
//! `docent-store-sqlite/src/answers.rs`.

use async_trait::async_trait;
use chrono::{NaiveDate, Utc};
use docent_core::*;
use docent_store::answers::feedback_delta;
use docent_store::rows::*;
use docent_store::*;
use sqlx::types::Json;

use crate::PostgresStore;

docent_store::answers_sql!(
    PostgresStore,
    sqlx::Postgres,
    day = "to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
    text_match = "conversations.id IN (SELECT m.conversation_id FROM messages m \
                  WHERE m.org_id = $1 AND m.chat_space_id = $2 \
                  AND to_tsvector('english', m.content) @@ to_tsquery('english', $10))",
    term_quote = "",
    term_join = " & ",
    // A GIN index drops a deleted row's entries itself (at the next vacuum).
    after_erase = ""
);

#[async_trait]
impl AnswerPath for PostgresStore {
    async fn create_conversation(
        &self,
        org: OrgId,
        chat_space: ChatSpaceId,
        channel: Channel,
        c: NewConversation,
    ) -> Result<Option<Conversation>> {
        let now = Utc::now();
        // The chat space must belong to `org`: the SELECT yields no row otherwise. A
        // trigger counts the conversation (migration 0006).
        let row: Option<ConversationRow> = sqlx::query_as(concat!(
            "INSERT INTO conversations (id, org_id, chat_space_id, visitor_id, ip, user_agent, referrer, \
             locale, channel, last_activity_at, created_at, end_user_name, end_user_email) \
             SELECT $1, org_id, id, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12 FROM chat_spaces WHERE org_id = $2 AND id = $3 \
             RETURNING ",
            conversation_columns!()
        ))
        .bind(ConversationId::generate().0)
        .bind(org.0)
        .bind(chat_space.0)
        .bind(c.visitor_id)
        .bind(c.ip)
        .bind(c.user_agent)
        .bind(c.referrer)
        .bind(c.locale)
        .bind(channel.as_str())
        .bind(now)
        .bind(c.end_user_name)
        .bind(c.end_user_email)
        .fetch_optional(&self.pool)
        .await?;
        row.map(ConversationRow::into_domain).transpose()
    }

    async fn find_conversation(
        &self,
        org: OrgId,
        id: ConversationId,
    ) -> Result<Option<Conversation>> {
        let row: Option<ConversationRow> = sqlx::query_as(concat!(
            "SELECT ",
            conversation_columns!(),
            " FROM conversations WHERE org_id = $1 AND id = $2"
        ))
        .bind(org.0)
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?;
        row.map(ConversationRow::into_domain).transpose()
    }

    async fn add_message_within(
        &self,
        org: OrgId,
        m: NewMessage,
        quota: Option<MessageQuota>,
    ) -> Result<Option<Message>> {
        let now = Utc::now();
        // A trigger counts it on the conversation, the chat space and the day (0006).
        let insert = sqlx::query_as::<_, MessageRow>(concat!(
            "INSERT INTO messages (id, org_id, chat_space_id, conversation_id, role, content, model, \
             tokens_in, tokens_out, cost_micro_usd, processing_time_ms, context_chunks, citations, \
             answer_kind, created_at, confidence, author_id) \
             SELECT $1, org_id, chat_space_id, id, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $17, $18 \
             FROM conversations WHERE org_id = $2 AND id = $3 AND ($15::BIGINT IS NULL OR \
               (SELECT COALESCE(SUM(messages), 0) FROM usage_daily WHERE org_id = $2 AND date >= $16) < $15) \
             RETURNING ",
            message_columns!()
        ))
        .bind(MessageId::generate().0)
        .bind(org.0)
        .bind(m.conversation_id.0)
        .bind(m.role.as_str())
        .bind(m.content)
        .bind(m.model)
        .bind(m.tokens_in)
        .bind(m.tokens_out)
        .bind(m.cost_micro_usd)
        .bind(m.processing_time_ms)
        .bind(Json(m.context_chunks))
        .bind(Json(m.citations))
        .bind(m.answer_kind.map(AnswerKind::as_str))
        .bind(now)
        .bind(quota.map(|q| q.limit as i64))
        .bind(quota.map(|q| q.since))
        .bind(m.confidence)
        .bind(m.author_id.map(|a| a.0));
        // Only a quota needs the lock and so a transaction; the answer path's other messages
        // stay one round trip.
        let row = match quota {
            Some(_) => {
                let mut tx = self.pool.begin().await?;
                Self::limit_lock(&mut tx, "messages", org.0).await?;
                let row = insert.fetch_optional(&mut *tx).await?;
                tx.commit().await?;
                row
            }
            None => insert.fetch_optional(&self.pool).await?,
        };
        let inserted = row.map(MessageRow::into_domain).transpose()?;
        within_quota(self, org, inserted, quota).await
    }

    async fn recent_messages(
        &self,
        org: OrgId,
        conversation: ConversationId,
        limit: u32,
    ) -> Result<Vec<Message>> {
        let rows: Vec<MessageRow> = sqlx::query_as(concat!(
            "SELECT ",
            message_columns!(),
            " FROM messages WHERE org_id = $1 AND conversation_id = $2 ORDER BY id DESC LIMIT $3"
        ))
        .bind(org.0)
        .bind(conversation.0)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut messages = all(rows, MessageRow::into_domain)?;
        messages.reverse();
        Ok(messages)
    }

    async fn count_messages_since(&self, org: OrgId, since: NaiveDate) -> Result<u64> {
        let (count,): (i64,) = sqlx::query_as(
            "SELECT COALESCE(SUM(messages), 0)::BIGINT FROM usage_daily WHERE org_id = $1 AND date >= $2",
        )
        .bind(org.0)
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        Ok(count.max(0) as u64)
    }
}
