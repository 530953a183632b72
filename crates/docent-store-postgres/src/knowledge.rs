//! Documents, chunks (ranked by the in-process index of `docent_store::text_index`, with
//! tsvector search while it is rebuilt) and the job queue on PostgreSQL. The twin is
//! `docent-store-sqlite/src/knowledge.rs`.

use async_trait::async_trait;
use chrono::Utc;
use docent_core::*;
use docent_store::rows::*;
use docent_store::text_index::{ChunkTexts, TextIndexes, TextSource};
use docent_store::*;

use crate::PostgresStore;

docent_store::knowledge_sql!(PostgresStore, sqlx::Postgres, embedding = "$4::vector");

#[async_trait]
impl ChunkIndex for PostgresStore {
    async fn vector_search(
        &self,
        org: OrgId,
        chat_space: ChatSpaceId,
        query: &[f32],
        limit: u32,
    ) -> Result<Vec<ChunkHit>> {
        if query.iter().all(|x| *x == 0.0) {
            return Ok(Vec::new());
        }
        let text = Self::encode_embedding(query);
        // The sizes with an HNSW index (migration 0005) are searched through it: the query
        // names the index's expression and condition. Other sizes are scanned exactly.
        let dimension = query.len();
        let column = if [384, 768, 1024, 1536].contains(&dimension) {
            format!("c.embedding::vector({dimension})")
        } else {
            "c.embedding".to_owned()
        };
        let sql = format!(
            "SELECT c.id, c.document_id, c.chunk_index, c.content, c.token_count, c.metadata, \
             d.title AS document_title, d.file_name, d.source_url, d.citable, \
             (1 - ({column} <=> $3::vector))::float8 AS score \
             FROM document_chunks c JOIN documents d ON d.id = c.document_id \
             WHERE c.org_id = $1 AND c.chat_space_id = $2 AND c.embedding IS NOT NULL \
             AND vector_dims(c.embedding) = $5 \
             ORDER BY {column} <=> $3::vector LIMIT $4"
        );
        let rows: Vec<ChunkHitRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(org.0)
            .bind(chat_space.0)
            .bind(text)
            .bind(i64::from(limit))
            .bind(query.len() as i32)
            .fetch_all(&self.pool)
            .await?;
        all(rows, ChunkHitRow::into_domain)
    }
}

impl PostgresStore {
    /// An embedding as pgvector reads it from text: `[1,2,3]`.
    pub(crate) fn encode_embedding(vector: &[f32]) -> String {
        let numbers: Vec<String> = vector.iter().map(f32::to_string).collect();
        format!("[{}]", numbers.join(","))
    }

    /// Writes a document's chunks, inside the transaction that completes it.
    pub(crate) async fn insert_chunks(
        conn: &mut sqlx::PgConnection,
        org: OrgId,
        space: uuid::Uuid,
        document: DocumentId,
        chunks: &[NewChunk],
        now: chrono::DateTime<Utc>,
    ) -> Result<()> {
        // One statement for all chunks: fewer round trips, and the generation trigger fires
        // once per document.
        sqlx::query(
            "INSERT INTO document_chunks (id, org_id, chat_space_id, document_id, chunk_index, content, \
             token_count, metadata, created_at) \
             SELECT c.id, $1, $2, $3, c.chunk_index, c.content, c.token_count, c.metadata::jsonb, $4 \
             FROM UNNEST($5::uuid[], $6::int4[], $7::text[], $8::int4[], $9::text[]) \
             AS c (id, chunk_index, content, token_count, metadata)",
        )
        .bind(org.0)
        .bind(space)
        .bind(document.0)
        .bind(now)
        .bind(chunks.iter().map(|_| ChunkId::generate().0).collect::<Vec<_>>())
        .bind(chunks.iter().map(|c| c.chunk_index).collect::<Vec<_>>())
        .bind(chunks.iter().map(|c| c.content.as_str()).collect::<Vec<_>>())
        .bind(chunks.iter().map(|c| c.token_count).collect::<Vec<_>>())
        .bind(chunks.iter().map(|c| c.metadata.to_string()).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

/// The generation of a chat space's chunks (0 before it has any), bumped by triggers
/// whenever chunks are added or removed.
async fn chunk_generation(pool: &sqlx::PgPool, chat_space: ChatSpaceId) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT generation FROM chunk_generations WHERE chat_space_id = $1")
            .bind(chat_space.0)
            .fetch_optional(pool)
            .await?
            .unwrap_or(0),
    )
}

/// Loads the text of a chat space's chunks, in id order, for the full-text index.
async fn chunk_texts(
    pool: sqlx::PgPool,
    org: OrgId,
    chat_space: ChatSpaceId,
) -> Result<Vec<(uuid::Uuid, String)>> {
    Ok(sqlx::query_as(
        "SELECT id, content FROM document_chunks WHERE org_id = $1 AND chat_space_id = $2 ORDER BY id",
    )
    .bind(org.0)
    .bind(chat_space.0)
    .fetch_all(&pool)
    .await?)
}

#[async_trait]
impl TextSource for PostgresStore {
    fn text_indexes(&self) -> &std::sync::Arc<TextIndexes> {
        &self.text
    }

    async fn chunk_generation(&self, chat_space: ChatSpaceId) -> Result<i64> {
        chunk_generation(&self.pool, chat_space).await
    }

    fn chunk_texts(&self, org: OrgId, chat_space: ChatSpaceId) -> ChunkTexts {
        Box::pin(chunk_texts(self.pool.clone(), org, chat_space))
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
        // Terms are letters and digits only, so joining them with | is a valid tsquery.
        let query = terms.join(" | ");
        let rows: Vec<ChunkHitRow> = sqlx::query_as(
            "SELECT c.id, c.document_id, c.chunk_index, c.content, c.token_count, c.metadata, \
             d.title AS document_title, d.file_name, d.source_url, d.citable, \
             ts_rank_cd(c.content_tsv, q)::float8 AS score \
             FROM document_chunks c JOIN documents d ON d.id = c.document_id, to_tsquery('english', $3) q \
             WHERE c.org_id = $1 AND c.chat_space_id = $2 AND c.content_tsv @@ q \
             ORDER BY score DESC, c.id LIMIT $4",
        )
        .bind(org.0)
        .bind(chat_space.0)
        .bind(query)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        all(rows, ChunkHitRow::into_domain)
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
        let ids: Vec<uuid::Uuid> = scored.iter().map(|(id, _)| *id).collect();
        let rows: Vec<ChunkHitRow> = sqlx::query_as(
            "SELECT c.id, c.document_id, c.chunk_index, c.content, c.token_count, c.metadata, \
             d.title AS document_title, d.file_name, d.source_url, d.citable, 0.0::float8 AS score \
             FROM document_chunks c JOIN documents d ON d.id = c.document_id \
             WHERE c.id = ANY($3) AND c.org_id = $1 AND c.chat_space_id = $2 \
             AND ($4::bigint IS NULL OR $4 = COALESCE((SELECT generation FROM chunk_generations \
             WHERE chat_space_id = $2), 0))",
        )
        .bind(org.0)
        .bind(chat_space.0)
        .bind(ids)
        .bind(at)
        .fetch_all(&self.pool)
        .await?;
        ChunkHitRow::in_order(rows, scored)
    }
}
