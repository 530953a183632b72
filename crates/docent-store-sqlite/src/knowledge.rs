//! Documents, chunks (ranked by the in-process index of `docent_store::text_index`, with FTS5
//! search while it is rebuilt) and the job queue on SQLite. The twin is
//! `docent-store-postgres/src/knowledge.rs`.

use async_trait::async_trait;
use chrono::Utc;
use docent_core::*;
use docent_store::rows::*;
use docent_store::text_index::{ChunkTexts, TextIndexes, TextSource};
use docent_store::*;
use sqlx::types::Json;

use crate::SqliteStore;

docent_store::knowledge_sql!(SqliteStore, sqlx::Sqlite, embedding = "$4");

#[async_trait]
impl ChunkIndex for SqliteStore {
    async fn vector_search(
        &self,
        org: OrgId,
        chat_space: ChatSpaceId,
        query: &[f32],
        limit: u32,
    ) -> Result<Vec<ChunkHit>> {
        let nearest = self
            .vectors
            .search(&self.pool, org.0, chat_space.0, query, limit as usize)
            .await?;
        self.hits_in_order(org, chat_space, nearest, None).await
    }
}

impl SqliteStore {
    /// An embedding as stored: its floats in little-endian order, as the vector index reads
    /// them.
    pub(crate) fn encode_embedding(vector: &[f32]) -> Vec<u8> {
        vector.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    /// Writes a document's chunks, inside the transaction that completes it.
    pub(crate) async fn insert_chunks(
        conn: &mut sqlx::SqliteConnection,
        org: OrgId,
        space: uuid::Uuid,
        document: DocumentId,
        chunks: &[NewChunk],
        now: chrono::DateTime<Utc>,
    ) -> Result<()> {
        for chunk in chunks {
            sqlx::query(
                "INSERT INTO document_chunks (id, org_id, chat_space_id, document_id, chunk_index, content, \
                 token_count, metadata, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .bind(ChunkId::generate().0)
            .bind(org.0)
            .bind(space)
            .bind(document.0)
            .bind(chunk.chunk_index)
            .bind(&chunk.content)
            .bind(chunk.token_count)
            .bind(Json(&chunk.metadata))
            .bind(now)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }
}

/// The generation of a chat space's chunks (0 before it has any), bumped by triggers on
/// every change to them.
pub(crate) async fn chunk_generation(
    pool: &sqlx::SqlitePool,
    chat_space: uuid::Uuid,
) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT generation FROM chunk_generations WHERE chat_space_id = ?1")
            .bind(chat_space)
            .fetch_optional(pool)
            .await?
            .unwrap_or(0),
    )
}

/// Loads the text of a chat space's chunks, in id order, for the full-text index.
async fn chunk_texts(
    pool: sqlx::SqlitePool,
    org: OrgId,
    chat_space: ChatSpaceId,
) -> Result<Vec<(uuid::Uuid, String)>> {
    Ok(sqlx::query_as(
        "SELECT id, content FROM document_chunks WHERE org_id = ?1 AND chat_space_id = ?2 ORDER BY id",
    )
    .bind(org.0)
    .bind(chat_space.0)
    .fetch_all(&pool)
    .await?)
}

#[async_trait]
impl TextSource for SqliteStore {
    fn text_indexes(&self) -> &std::sync::Arc<TextIndexes> {
        &self.text
    }

    async fn chunk_generation(&self, chat_space: ChatSpaceId) -> Result<i64> {
        chunk_generation(&self.pool, chat_space.0).await
    }

    fn chunk_texts(&self, org: OrgId, chat_space: ChatSpaceId) -> ChunkTexts {
        Box::pin(chunk_texts(self.pool.clone(), org, chat_space))
    }

    async fn hits_in_order(
        &self,
        org: OrgId,
        chat_space: ChatSpaceId,
        scored: Vec<(uuid::Uuid, f64)>,
        at: Option<i64>,
    ) -> Result<Vec<ChunkHit>> {
        if scored.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders = (0..scored.len())
            .map(|i| format!("?{}", i + 4))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT c.id, c.document_id, c.chunk_index, c.content, c.token_count, c.metadata, \
             d.title AS document_title, d.file_name, d.source_url, d.citable, 0.0 AS score \
             FROM document_chunks c JOIN documents d ON d.id = c.document_id \
             WHERE c.id IN ({placeholders}) AND +c.org_id = ?1 AND +c.chat_space_id = ?2 \
             AND (?3 IS NULL OR ?3 = COALESCE((SELECT generation FROM chunk_generations \
             WHERE chat_space_id = ?2), 0))"
        );
        use rusqlite::types::Value;
        let mut values = vec![
            Value::Blob(org.0.as_bytes().to_vec()),
            Value::Blob(chat_space.0.as_bytes().to_vec()),
            at.map_or(Value::Null, Value::Integer),
        ];
        values.extend(
            scored
                .iter()
                .map(|(id, _)| Value::Blob(id.as_bytes().to_vec())),
        );
        let rows = self.direct.read(|conn| {
            conn.prepare_cached(&sql)?
                .query_map(
                    rusqlite::params_from_iter(values),
                    crate::direct::chunk_hit_row,
                )?
                .collect::<rusqlite::Result<Vec<_>>>()
        })?;
        ChunkHitRow::in_order(rows, scored)
    }

    async fn search_in_database(
        &self,
        org: OrgId,
        chat_space: ChatSpaceId,
        terms: &[String],
        limit: u32,
    ) -> Result<Vec<ChunkHit>> {
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        // Each term quoted: FTS5 treats it as a plain string, whatever it contains.
        let query = terms
            .iter()
            .map(|t| format!("\"{}\"", t.replace('"', "")))
            .collect::<Vec<_>>()
            .join(" OR ");
        // The full-text index answers first, its best `cap` hits ranked inside FTS5 (`ORDER BY
        // rank LIMIT` keeps only those), then each is looked up by rowid. MATERIALIZED and the
        // unary `+` keep SQLite from walking the chat space's chunks through its index and
        // running the MATCH once per chunk instead (seconds at 10k chunks). When other chat
        // spaces crowd the capped hits out, the search runs again without a cap.
        let cap = i64::from(limit).saturating_mul(20).max(400);
        for capped in [true, false] {
            let rows: Vec<ChunkHitRow> = sqlx::query_as(
                "WITH hits AS MATERIALIZED (\
                     SELECT rowid, rank FROM document_chunks_fts \
                     WHERE document_chunks_fts MATCH ?3 ORDER BY rank LIMIT ?5) \
                 SELECT c.id, c.document_id, c.chunk_index, c.content, c.token_count, c.metadata, \
                 d.title AS document_title, d.file_name, d.source_url, d.citable, -hits.rank AS score \
                 FROM hits JOIN document_chunks c ON c.rowid = hits.rowid \
                 JOIN documents d ON d.id = c.document_id \
                 WHERE +c.org_id = ?1 AND +c.chat_space_id = ?2 \
                 ORDER BY hits.rank LIMIT ?4",
            )
            .bind(org.0)
            .bind(chat_space.0)
            .bind(&query)
            .bind(i64::from(limit))
            .bind(if capped { cap } else { -1 })
            .fetch_all(&self.pool)
            .await?;
            if !capped
                || rows.len() >= limit as usize
                || self.count_matches(&query, cap).await? < cap
            {
                return all(rows, ChunkHitRow::into_domain);
            }
        }
        Ok(Vec::new())
    }
}

impl SqliteStore {
    /// How many chunks of any chat space match `query`, counting up to `cap`.
    async fn count_matches(&self, query: &str, cap: i64) -> Result<i64> {
        let (count,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM (SELECT 1 FROM document_chunks_fts WHERE document_chunks_fts MATCH ?1 LIMIT ?2)",
        )
        .bind(query)
        .bind(cap)
        .fetch_one(&self.pool)
        .await?;
        Ok(count)
    }
}
