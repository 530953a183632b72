//! Mail that could not be sent, kept for the platform admin to read. on SQLite. The twin is `docent-store-postgres/src/outbox.rs`.

use async_trait::async_trait;
use chrono::Utc;
use docent_core::*;
use docent_store::rows::*;
use docent_store::*;

use crate::*;

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn push_outbox(&self, to_email: &str, subject: &str, body: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO outbox_emails (id, to_email, subject, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(OutboxId::generate().0)
        .bind(to_email)
        .bind(subject)
        .bind(body)
        .bind(Utc::now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn list_outbox(&self, limit: u32) -> Result<Vec<OutboxEmail>> {
        let rows: Vec<OutboxRow> = sqlx::query_as(concat!(
            "SELECT ",
            outbox_columns!(),
            " FROM outbox_emails ORDER BY id DESC LIMIT ?1"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        all(rows, OutboxRow::into_domain)
    }
}
