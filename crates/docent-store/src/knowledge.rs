//! The storage contract for knowledge: documents and their chunks ([`KnowledgeStore`], the
//! same statements on both backends) and the chunk index the answer path searches
//! ([`ChunkIndex`], each backend's own).

use async_trait::async_trait;
use docent_core::*;

use crate::Result;
use crate::text_index::TextSource;

#[async_trait]
pub trait KnowledgeStore: Send + Sync {
    /// Creates a document in a chat space of `org`; an error if the chat space is not there.
    async fn create_document(&self, org: OrgId, doc: NewDocument) -> Result<Document> {
        self.create_document_within(org, doc, None).await
    }
    /// Creates a document unless its chat space holds `limit` documents already
    /// ([`crate::StoreError::LimitReached`]), atomically.
    async fn create_document_within(
        &self,
        org: OrgId,
        doc: NewDocument,
        limit: Option<u64>,
    ) -> Result<Document>;
    /// Newest first.
    async fn list_documents(
        &self,
        org: OrgId,
        chat_space: ChatSpaceId,
        page: Page<DocumentId>,
    ) -> Result<Vec<Document>>;
    async fn find_document(&self, org: OrgId, id: DocumentId) -> Result<Option<Document>>;
    async fn update_document(
        &self,
        org: OrgId,
        id: DocumentId,
        patch: DocumentPatch,
    ) -> Result<Option<Document>>;
    /// Storage keys of the documents under `parent` (a crawled site's pages), so their files
    /// can be removed with it.
    async fn child_storage_keys(&self, org: OrgId, parent: DocumentId) -> Result<Vec<String>>;
    /// Deletes the document with its chunks and jobs; returns what was deleted.
    async fn delete_document(&self, org: OrgId, id: DocumentId) -> Result<Option<Document>>;
    /// Documents of a chat space, only those with `status` when it is set.
    async fn count_documents(
        &self,
        org: OrgId,
        chat_space: ChatSpaceId,
        status: Option<DocumentStatus>,
    ) -> Result<u64>;
    /// Records the stored file of a document fetched from the web, and where it came from
    /// after redirects.
    async fn set_document_file(&self, org: OrgId, id: DocumentId, file: StoredFile) -> Result<()>;
    /// Records progress (and an error message for failures).
    async fn set_document_status(
        &self,
        org: OrgId,
        id: DocumentId,
        status: DocumentStatus,
        progress: i32,
        error: Option<&str>,
    ) -> Result<()>;
    /// Stores the embeddings of a document's chunks, by chunk index; chunks it does not name
    /// keep theirs. Returns how many chunks were updated.
    async fn set_chunk_embeddings(
        &self,
        org: OrgId,
        document: DocumentId,
        embeddings: Vec<(i32, Vec<f32>)>,
    ) -> Result<u64>;
    /// Replaces the document's chunks and marks it completed, in one transaction, so a
    /// retried job never leaves duplicates or half a document.
    async fn complete_document(
        &self,
        org: OrgId,
        id: DocumentId,
        facts: DocumentFacts,
        chunks: Vec<NewChunk>,
    ) -> Result<bool>;
    /// Chunks of a document in order, from `after` (a chunk index) on.
    async fn list_chunks(
        &self,
        org: OrgId,
        document: DocumentId,
        after: Option<i32>,
        limit: u32,
    ) -> Result<Vec<Chunk>>;
}

/// A chat space's chunks as the answer path reads them: both searches. Each backend does these its own way (SQLite: its in-process vector
/// index and FTS5; PostgreSQL: pgvector and tsvector), so they are not in [`crate::sql`].
#[async_trait]
pub trait ChunkIndex: TextSource {
    /// The `limit` chunks of a chat space nearest to `query` by cosine similarity (score
    /// 1 = same direction), among chunks with an embedding of the same dimension.
    async fn vector_search(
        &self,
        org: OrgId,
        chat_space: ChatSpaceId,
        query: &[f32],
        limit: u32,
    ) -> Result<Vec<ChunkHit>>;
    /// Full-text search over a chat space's chunks, best first. `terms` come from
    /// [`search_terms`] and match any of them. The in-memory index answers when it is fresh;
    /// otherwise the database does and the index is rebuilt in the background.
    async fn search_chunks(
        &self,
        org: OrgId,
        chat_space: ChatSpaceId,
        terms: &[String],
        limit: u32,
    ) -> Result<Vec<ChunkHit>> {
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let indexes = self.text_indexes();
        // Most searches: rank with the index as it is and fetch the rows on condition that
        // the chunks are still at its generation, in one statement.
        if let Some(index) = indexes.current(org.0, chat_space.0) {
            let best = index.search(terms, limit as usize);
            if !best.is_empty() {
                let hits = self
                    .hits_in_order(org, chat_space, best, Some(index.generation()))
                    .await?;
                if !hits.is_empty() {
                    return Ok(hits);
                }
            }
        }
        // Nothing found, or the chunks changed since: check the generation first.
        let generation = self.chunk_generation(chat_space).await?;
        if let Some(index) = indexes.fresh(org.0, chat_space.0, generation) {
            let best = index.search(terms, limit as usize);
            return self.hits_in_order(org, chat_space, best, None).await;
        }
        indexes.refresh(
            org.0,
            chat_space.0,
            generation,
            self.chunk_texts(org, chat_space),
        );
        self.search_in_database(org, chat_space, terms, limit).await
    }

    /// Readies what the backend keeps in memory to search a chat space (builds the index now
    /// unless it is fresh), so that the next search is as fast as any; searches work without
    /// it.
    async fn warm_search(&self, org: OrgId, chat_space: ChatSpaceId) -> Result<()> {
        let generation = self.chunk_generation(chat_space).await?;
        let indexes = self.text_indexes();
        if indexes.fresh(org.0, chat_space.0, generation).is_none() {
            let texts = self.chunk_texts(org, chat_space);
            indexes
                .rebuild(org.0, chat_space.0, generation, texts)
                .await?;
        }
        Ok(())
    }
}
