//! The `embed` job: vectors for a document's chunks, after they are already searchable by
//! full text, so a slow or failing provider never delays a document's availability.

use super::{DocumentJob, JobError};
use crate::App;

/// Chunks read from the store per page.
const PAGE: u32 = 200;

pub async fn run(app: &App, job: &DocumentJob<'_>) -> Result<(), JobError> {
    // The provider may have been switched off since the job was queued.
    let Some(embedder) = &app.embedder else {
        return Ok(());
    };
    let mut chunks = Vec::new();
    let mut after = None;
    loop {
        let page = app
            .store
            .list_chunks(job.org_id, job.document_id, after, PAGE)
            .await?;
        after = page.last().map(|c| c.chunk_index);
        let done = page.len() < PAGE as usize;
        chunks.extend(page);
        if done {
            break;
        }
    }
    if chunks.is_empty() {
        return Ok(());
    }
    let texts: Vec<String> = chunks.iter().map(|c| c.content.clone()).collect();
    let vectors = embedder.embed(&texts).await.map_err(|e| {
        if e.is_passing() {
            JobError::Passing(e.to_string())
        } else {
            JobError::Final(e.to_string())
        }
    })?;
    let pairs = chunks.iter().map(|c| c.chunk_index).zip(vectors).collect();
    app.store
        .set_chunk_embeddings(job.org_id, job.document_id, pairs)
        .await?;
    tracing::info!(document = %job.document_id, chunks = texts.len(), model = embedder.model(), "chunks embedded");
    Ok(())
}
