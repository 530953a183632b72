//! Conversations, messages, usage and knowledge gaps on SQLite. The twin is
//! `docent-store-postgres/src/answers.rs`.

use async_trait::async_trait;
use chrono::{NaiveDate, Utc};
use docent_core::*;
use docent_store::answers::feedback_delta;
use docent_store::rows::*;
use docent_store::*;

use rusqlite::OptionalExtension;

use crate::SqliteStore;
use crate::direct::{conversation_row, json_text, message_row, time_text};

// Timestamps are RFC 3339 text in UTC: a day is its first ten characters. Words are found by
// the FTS5 index of messages (0014), each term quoted.
docent_store::answers_sql!(
    SqliteStore,
    sqlx::Sqlite,
    day = "substr(c.created_at, 1, 10)",
    text_match = "conversations.id IN (SELECT m.conversation_id FROM messages_fts f \
                  JOIN messages m ON m.rowid = f.rowid WHERE messages_fts MATCH $10 \
                  AND m.org_id = $1 AND m.chat_space_id = $2)",
    term_quote = "\"",
    term_join = " ",
    // FTS5 keeps a deleted row's terms in its older segments until they are merged: merged
    // at once, an erased visitor's words leave the index too.
    after_erase = "INSERT INTO messages_fts (messages_fts) VALUES ('optimize')"
);

#[async_trait]
impl AnswerPath for SqliteStore {
    async fn create_conversation(
        &self,
        org: OrgId,
        chat_space: ChatSpaceId,
        channel: Channel,
        c: NewConversation,
    ) -> Result<Option<Conversation>> {
        let now = time_text(Utc::now());
        let id = ConversationId::generate().0;
        // The chat space must belong to `org`: the SELECT yields no row otherwise. A
        // trigger counts the conversation (migration 0006).
        let row = self
            .direct
            .write(move |conn| {
                conn.prepare_cached(concat!(
                    "INSERT INTO conversations (id, org_id, chat_space_id, visitor_id, ip, user_agent, referrer, \
                     locale, channel, last_activity_at, created_at, end_user_name, end_user_email) \
                     SELECT ?1, org_id, id, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11, ?12 FROM chat_spaces WHERE org_id = ?2 AND id = ?3 \
                     RETURNING ",
                    conversation_columns!()
                ))?
                .query_row(
                    rusqlite::params![
                        id,
                        org.0,
                        chat_space.0,
                        c.visitor_id,
                        c.ip,
                        c.user_agent,
                        c.referrer,
                        c.locale,
                        channel.as_str(),
                        now,
                        c.end_user_name,
                        c.end_user_email
                    ],
                    conversation_row,
                )
                .optional()
            })
            .await?;
        row.map(ConversationRow::into_domain).transpose()
    }

    async fn find_conversation(
        &self,
        org: OrgId,
        id: ConversationId,
    ) -> Result<Option<Conversation>> {
        let row = self.direct.read(|conn| {
            conn.prepare_cached(concat!(
                "SELECT ",
                conversation_columns!(),
                " FROM conversations WHERE org_id = ?1 AND id = ?2"
            ))?
            .query_row(rusqlite::params![org.0, id.0], conversation_row)
            .optional()
        })?;
        row.map(ConversationRow::into_domain).transpose()
    }

    async fn add_message_within(
        &self,
        org: OrgId,
        m: NewMessage,
        quota: Option<MessageQuota>,
    ) -> Result<Option<Message>> {
        let now = time_text(Utc::now());
        let id = MessageId::generate().0;
        let limit = quota.map(|q| q.limit as i64);
        let since = quota.map(|q| q.since.format("%F").to_string());
        // A trigger counts it on the conversation, the chat space and the day (0006); the
        // quota is read by the same statement, under the write lock.
        let row = self
            .direct
            .write(move |conn| {
                conn.prepare_cached(concat!(
                    "INSERT INTO messages (id, org_id, chat_space_id, conversation_id, role, content, model, \
                     tokens_in, tokens_out, cost_micro_usd, processing_time_ms, context_chunks, citations, \
                     answer_kind, created_at, confidence, author_id) \
                     SELECT ?1, org_id, chat_space_id, id, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?17, ?18 \
                     FROM conversations WHERE org_id = ?2 AND id = ?3 AND (?15 IS NULL OR \
                       (SELECT COALESCE(SUM(messages), 0) FROM usage_daily WHERE org_id = ?2 AND date >= ?16) < ?15) \
                     RETURNING ",
                    message_columns!()
                ))?
                .query_row(
                    rusqlite::params![
                        id,
                        org.0,
                        m.conversation_id.0,
                        m.role.as_str(),
                        m.content,
                        m.model,
                        m.tokens_in,
                        m.tokens_out,
                        m.cost_micro_usd,
                        m.processing_time_ms,
                        json_text(&m.context_chunks),
                        json_text(&m.citations),
                        m.answer_kind.map(AnswerKind::as_str),
                        now,
                        limit,
                        since,
                        m.confidence,
                        m.author_id.map(|a| a.0)
                    ],
                    message_row,
                )
                .optional()
            })
            .await?;
        let inserted = row.map(MessageRow::into_domain).transpose()?;
        within_quota(self, org, inserted, quota).await
    }

    async fn recent_messages(
        &self,
        org: OrgId,
        conversation: ConversationId,
        limit: u32,
    ) -> Result<Vec<Message>> {
        let rows = self.direct.read(|conn| {
            conn.prepare_cached(concat!(
                "SELECT ",
                message_columns!(),
                " FROM messages WHERE org_id = ?1 AND conversation_id = ?2 ORDER BY id DESC LIMIT ?3"
            ))?
            .query_map(
                rusqlite::params![org.0, conversation.0, i64::from(limit)],
                message_row,
            )?
            .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        let mut messages = all(rows, MessageRow::into_domain)?;
        messages.reverse();
        Ok(messages)
    }

    async fn count_messages_since(&self, org: OrgId, since: NaiveDate) -> Result<u64> {
        let count: i64 = self.direct.read(|conn| {
            conn.prepare_cached(
                "SELECT COALESCE(SUM(messages), 0) FROM usage_daily WHERE org_id = ?1 AND date >= ?2",
            )?
            .query_row(
                rusqlite::params![org.0, since.format("%F").to_string()],
                |row| row.get(0),
            )
        })?;
        Ok(count.max(0) as u64)
    }
}
