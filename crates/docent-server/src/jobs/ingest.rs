//! The `ingest` job: read a document's file, extract its text, chunk it and index the chunks
//! (replacing any earlier ones in one transaction).

use std::time::Duration;

use docent_core::config::{RetrievalConfig, read};
use docent_core::*;
use docent_ingest::{Chunker, ExtractOptions, IngestError};

use crate::AppState;

pub const JOB_TYPE: &str = "ingest";

/// Longest extraction allowed for one file.
const EXTRACT_TIMEOUT: Duration = Duration::from_secs(120);

/// Why a job did not complete.
#[derive(Debug)]
pub enum JobError {
    /// Retrying cannot help (the file is broken or unsupported); the owner is told why.
    Final(String),
    /// Something outside the file failed (database, disk); worth another attempt.
    Passing(String),
}

impl From<docent_store::StoreError> for JobError {
    fn from(e: docent_store::StoreError) -> Self {
        JobError::Passing(e.to_string())
    }
}

pub async fn run(state: &AppState, job: &Job) -> Result<(), JobError> {
    let store = &state.store;
    let Some(doc) = store.find_document(job.org_id, job.document_id).await? else {
        return Ok(()); // deleted meanwhile: nothing to do
    };
    store
        .set_document_status(job.org_id, doc.id, DocumentStatus::Processing, 10, None)
        .await?;
    let key = doc
        .storage_key
        .clone()
        .ok_or_else(|| JobError::Final("the document has no stored file".into()))?;
    let bytes = state
        .files
        .get(&key)
        .await
        .map_err(|e| JobError::Passing(format!("reading the stored file: {e}")))?;
    store
        .set_document_status(job.org_id, doc.id, DocumentStatus::Processing, 30, None)
        .await?;
    let config: RetrievalConfig = store
        .find_chat_space(job.org_id, job.chat_space_id)
        .await?
        .map(|space| read(&space.retrieval_config))
        .unwrap_or_default();
    let file_name = doc.file_name.clone();
    let source_url = doc.source_url.clone();
    let work = tokio::task::spawn_blocking(move || {
        let options = ExtractOptions {
            main_content: true,
            url: source_url,
        };
        let extracted = docent_ingest::extract(&bytes, file_name.as_deref(), &options)?;
        let chunks = Chunker::new(config.chunk_size, config.chunk_overlap).chunk(&extracted);
        Ok::<_, IngestError>((extracted, chunks))
    });
    let (extracted, chunks) = match tokio::time::timeout(EXTRACT_TIMEOUT, work).await {
        Ok(Ok(Ok(done))) => done,
        Ok(Ok(Err(e))) => return fail(state, job, e.to_string()).await,
        Ok(Err(_panic)) => {
            return fail(
                state,
                job,
                "The file could not be processed (the reader crashed on it).".into(),
            )
            .await;
        }
        Err(_) => {
            return fail(
                state,
                job,
                format!(
                    "Processing took longer than {} s; split the file and try again.",
                    EXTRACT_TIMEOUT.as_secs()
                ),
            )
            .await;
        }
    };
    store
        .set_document_status(job.org_id, doc.id, DocumentStatus::Processing, 90, None)
        .await?;
    let facts = DocumentFacts {
        title: extracted.title.clone(),
        author: extracted.author.clone(),
        doc_type: extracted.format.map(|f| f.document_type().to_owned()),
        page_count: extracted.page_count.map(|p| p as i32),
        word_count: Some(extracted.word_count() as i64),
    };
    let chunks = chunks
        .into_iter()
        .map(|c| NewChunk {
            chunk_index: c.index as i32,
            token_count: c.token_count as i32,
            metadata: serde_json::to_value(&c.metadata).unwrap_or_default(),
            content: c.content,
        })
        .collect();
    store
        .complete_document(job.org_id, doc.id, facts, chunks)
        .await?;
    tracing::info!(document = %doc.id, "document processed");
    Ok(())
}

async fn fail(state: &AppState, job: &Job, message: String) -> Result<(), JobError> {
    state
        .store
        .set_document_status(
            job.org_id,
            job.document_id,
            DocumentStatus::Failed,
            0,
            Some(&message),
        )
        .await?;
    Err(JobError::Final(message))
}

/// Marks the document failed after the last attempt of a passing failure.
pub async fn give_up(state: &AppState, job: &Job, message: &str) {
    let shown = format!(
        "Processing failed after {} attempts: {message}",
        job.attempts
    );
    if let Err(e) = state
        .store
        .set_document_status(
            job.org_id,
            job.document_id,
            DocumentStatus::Failed,
            0,
            Some(&shown),
        )
        .await
    {
        tracing::error!(document = %job.document_id, error = %e, "could not mark a document failed");
    }
}
