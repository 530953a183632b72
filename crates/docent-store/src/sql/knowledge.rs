//! Documents and their chunks as stored: the statements both backends run (see [`crate::sql`]).

/// Expands, in a backend, its `impl` of this area's store trait.
#[macro_export]
#[doc(hidden)]
macro_rules! knowledge_sql {
    // `embedding`: how the statement takes the encoded vector (`$4`, or `$4::vector` where
    // the database reads it from text); the backend's `encode_embedding` encodes it.
    ($store:ident, $db:ty, embedding = $embedding:literal) => {
        const _: () = {
            use $crate::sql::__support::*;

            #[async_trait]
            impl KnowledgeStore for $store {
                async fn create_document_within(
                    &self,
                    org: OrgId,
                    doc: NewDocument,
                    limit: Option<u64>,
                ) -> Result<Document> {
                    let now = Utc::now();
                    let mut writer = self.writer().await?;
                    let mut tx = writer.begin().await?;
                    if limit.is_some() {
                        Self::limit_lock(&mut tx, "documents", doc.chat_space_id.0).await?;
                    }
                    // The chat space must belong to `org`: the SELECT yields no row otherwise.
                    let row: Option<DocumentRow> = sqlx::query_as(concat!(
                        "INSERT INTO documents (id, org_id, chat_space_id, type, title, file_name, file_size, \
                         content_hash, storage_key, source_url, citable, status, created_at, updated_at, parent_id) \
                         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14 \
                         FROM chat_spaces WHERE org_id = $2 AND id = $3 AND (CAST($15 AS BIGINT) IS NULL \
                           OR (SELECT COUNT(*) FROM documents WHERE org_id = $2 AND chat_space_id = $3) < $15) RETURNING ",
                        $crate::document_columns!()
                    ))
                    .bind(DocumentId::generate().0)
                    .bind(org.0)
                    .bind(doc.chat_space_id.0)
                    .bind(&doc.doc_type)
                    .bind(&doc.title)
                    .bind(&doc.file_name)
                    .bind(doc.file_size)
                    .bind(&doc.content_hash)
                    .bind(&doc.storage_key)
                    .bind(&doc.source_url)
                    .bind(doc.citable)
                    .bind(doc.status.as_str())
                    .bind(now)
                    .bind(doc.parent_id.map(|p| p.0))
                    .bind(limit.map(|l| l as i64))
                    .fetch_optional(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    // Before the look-up below takes a connection of its own: with every
                    // connection held by a writer waiting for this one's lock, it would wait
                    // for ever.
                    drop(writer);
                    match row {
                        Some(row) => row.into_domain(),
                        None if limit.is_some()
                            && self
                                .find_chat_space(org, doc.chat_space_id)
                                .await?
                                .is_some() =>
                        {
                            Err(StoreError::LimitReached {
                                limit: limit.unwrap_or_default(),
                            })
                        }
                        None => Err(StoreError::Corrupt(format!(
                            "chat space {} is not in organization {org}",
                            doc.chat_space_id
                        ))),
                    }
                }

                async fn complete_document(
                    &self,
                    org: OrgId,
                    id: DocumentId,
                    facts: DocumentFacts,
                    chunks: Vec<NewChunk>,
                ) -> Result<bool> {
                    let now = Utc::now();
                    let mut writer = self.writer().await?;
                    let mut tx = writer.begin().await?;
                    let space: Option<Uuid> =
                        sqlx::query_scalar("SELECT chat_space_id FROM documents WHERE org_id = $1 AND id = $2")
                            .bind(org.0)
                            .bind(id.0)
                            .fetch_optional(&mut *tx)
                            .await?;
                    let Some(space) = space else {
                        return Ok(false);
                    };
                    sqlx::query("DELETE FROM document_chunks WHERE document_id = $1")
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await?;
                    Self::insert_chunks(&mut tx, org, space, id, &chunks, now).await?;
                    sqlx::query(
                        "UPDATE documents SET status = 'completed', progress = 100, error_message = NULL, \
                         title = CASE WHEN title = '' AND $3 IS NOT NULL THEN $3 ELSE title END, \
                         author = COALESCE($4, author), type = COALESCE($5, type), page_count = $6, word_count = $7, \
                         chunk_count = $8, processing_completed_at = $9, updated_at = $9 WHERE org_id = $1 AND id = $2",
                    )
                    .bind(org.0)
                    .bind(id.0)
                    .bind(&facts.title)
                    .bind(&facts.author)
                    .bind(&facts.doc_type)
                    .bind(facts.page_count)
                    .bind(facts.word_count)
                    .bind(chunks.len() as i32)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    Ok(true)
                }

                async fn set_chunk_embeddings(
                    &self,
                    org: OrgId,
                    document: DocumentId,
                    embeddings: Vec<(i32, Vec<f32>)>,
                ) -> Result<u64> {
                    let mut writer = self.writer().await?;
                    let mut tx = writer.begin().await?;
                    let mut updated = 0;
                    for (index, vector) in &embeddings {
                        let done = sqlx::query(concat!(
                            "UPDATE document_chunks SET embedding = ",
                            $embedding,
                            " WHERE org_id = $1 AND document_id = $2 AND chunk_index = $3"
                        ))
                        .bind(org.0)
                        .bind(document.0)
                        .bind(index)
                        .bind(Self::encode_embedding(vector))
                        .execute(&mut *tx)
                        .await?;
                        updated += done.rows_affected();
                    }
                    tx.commit().await?;
                    Ok(updated)
                }

                async fn list_documents(
                    &self,
                    org: OrgId,
                    chat_space: ChatSpaceId,
                    page: Page<DocumentId>,
                ) -> Result<Vec<Document>> {
                    let rows: Vec<DocumentRow> = sqlx::query_as(concat!(
                        "SELECT ",
                        $crate::document_columns!(),
                        " FROM documents WHERE org_id = $1 AND chat_space_id = $2 AND ($3 IS NULL OR id < $3) \
                         ORDER BY id DESC LIMIT $4"
                    ))
                    .bind(org.0)
                    .bind(chat_space.0)
                    .bind(page.cursor.map(|c| c.0))
                    .bind(i64::from(page.limit))
                    .fetch_all(&self.pool)
                    .await?;
                    all(rows, DocumentRow::into_domain)
                }

                async fn find_document(&self, org: OrgId, id: DocumentId) -> Result<Option<Document>> {
                    let row: Option<DocumentRow> = sqlx::query_as(concat!(
                        "SELECT ",
                        $crate::document_columns!(),
                        " FROM documents WHERE org_id = $1 AND id = $2"
                    ))
                    .bind(org.0)
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await?;
                    row.map(DocumentRow::into_domain).transpose()
                }

                async fn update_document(
                    &self,
                    org: OrgId,
                    id: DocumentId,
                    patch: DocumentPatch,
                ) -> Result<Option<Document>> {
                    let row: Option<DocumentRow> = sqlx::query_as(concat!(
                        "UPDATE documents SET citable = COALESCE($3, citable), title = COALESCE($4, title), updated_at = $5 \
                         WHERE org_id = $1 AND id = $2 RETURNING ",
                        $crate::document_columns!()
                    ))
                    .bind(org.0)
                    .bind(id.0)
                    .bind(patch.citable)
                    .bind(&patch.title)
                    .bind(Utc::now())
                    .fetch_optional(&self.pool)
                    .await?;
                    row.map(DocumentRow::into_domain).transpose()
                }

                async fn child_storage_keys(&self, org: OrgId, parent: DocumentId) -> Result<Vec<String>> {
                    let keys: Vec<String> = sqlx::query_scalar(
                        "SELECT storage_key FROM documents WHERE org_id = $1 AND parent_id = $2 AND storage_key IS NOT NULL",
                    )
                    .bind(org.0)
                    .bind(parent.0)
                    .fetch_all(&self.pool)
                    .await?;
                    Ok(keys)
                }

                async fn delete_document(&self, org: OrgId, id: DocumentId) -> Result<Option<Document>> {
                    let row: Option<DocumentRow> = sqlx::query_as(concat!(
                        "DELETE FROM documents WHERE org_id = $1 AND id = $2 RETURNING ",
                        $crate::document_columns!()
                    ))
                    .bind(org.0)
                    .bind(id.0)
                    .fetch_optional(&self.pool)
                    .await?;
                    row.map(DocumentRow::into_domain).transpose()
                }

                async fn count_documents(
                    &self,
                    org: OrgId,
                    chat_space: ChatSpaceId,
                    status: Option<DocumentStatus>,
                ) -> Result<u64> {
                    let n: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM documents WHERE org_id = $1 AND chat_space_id = $2 AND ($3 IS NULL OR status = $3)",
                    )
                    .bind(org.0)
                    .bind(chat_space.0)
                    .bind(status.map(DocumentStatus::as_str))
                    .fetch_one(&self.pool)
                    .await?;
                    Ok(n.unsigned_abs())
                }

                async fn set_document_file(&self, org: OrgId, id: DocumentId, file: StoredFile) -> Result<()> {
                    sqlx::query(
                        "UPDATE documents SET storage_key = $3, file_size = $4, content_hash = $5, \
                         source_url = COALESCE($6, source_url), updated_at = $7 WHERE org_id = $1 AND id = $2",
                    )
                    .bind(org.0)
                    .bind(id.0)
                    .bind(&file.storage_key)
                    .bind(file.file_size)
                    .bind(&file.content_hash)
                    .bind(&file.source_url)
                    .bind(Utc::now())
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn set_document_status(
                    &self,
                    org: OrgId,
                    id: DocumentId,
                    status: DocumentStatus,
                    progress: i32,
                    error: Option<&str>,
                ) -> Result<()> {
                    let now = Utc::now();
                    sqlx::query(
                        "UPDATE documents SET status = $3, progress = $4, error_message = $5, updated_at = $6, \
                         processing_started_at = CASE WHEN $3 = 'processing' THEN COALESCE(processing_started_at, $6) \
                                                      WHEN $3 = 'pending' THEN NULL ELSE processing_started_at END, \
                         processing_completed_at = CASE WHEN $3 IN ('completed', 'failed') THEN $6 ELSE NULL END \
                         WHERE org_id = $1 AND id = $2",
                    )
                    .bind(org.0)
                    .bind(id.0)
                    .bind(status.as_str())
                    .bind(progress)
                    .bind(error)
                    .bind(now)
                    .execute(&self.pool)
                    .await?;
                    Ok(())
                }

                async fn list_chunks(
                    &self,
                    org: OrgId,
                    document: DocumentId,
                    after: Option<i32>,
                    limit: u32,
                ) -> Result<Vec<Chunk>> {
                    let rows: Vec<ChunkRow> = sqlx::query_as(concat!(
                        "SELECT ",
                        $crate::chunk_columns!(),
                        " FROM document_chunks WHERE org_id = $1 AND document_id = $2 AND chunk_index > $3 \
                         ORDER BY chunk_index LIMIT $4"
                    ))
                    .bind(org.0)
                    .bind(document.0)
                    .bind(after.unwrap_or(-1))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                    all(rows, ChunkRow::into_domain)
                }
            }
        };
    };
}
