//! The `ingest` job: read a document's file, extract its text, chunk it and index the chunks
//! (replacing any earlier ones in one transaction).

use std::time::Duration;

use docent_core::config::{RetrievalConfig, read};
use docent_core::*;
use docent_ingest::{Chunk as TextChunk, Chunker, ExtractOptions, Extracted, IngestError};

use super::{DocumentJob, JobError, isolated};
use crate::App;

pub async fn run(
    app: &App,
    job: &DocumentJob<'_>,
    extractor: Option<&isolated::Extractor>,
) -> Result<(), JobError> {
    let store = &app.store;
    let Some(doc) = store.find_document(job.org_id, job.document_id).await? else {
        return Ok(()); // deleted meanwhile: nothing to do
    };
    progress(app, job, doc.id, 10).await?;
    let key = doc
        .storage_key
        .clone()
        .ok_or_else(|| JobError::Final("the document has no stored file".into()))?;
    let bytes = app
        .files
        .get(&key)
        .await
        .map_err(|e| JobError::Passing(format!("reading the stored file: {e}")))?;
    progress(app, job, doc.id, 30).await?;
    let config: RetrievalConfig = store
        .find_chat_space(job.org_id, job.chat_space_id)
        .await?
        .map(|space| read(&space.retrieval_config))
        .unwrap_or_default();
    let (extracted, chunks) = extract(app, extractor, &doc, bytes, &config).await?;
    progress(app, job, doc.id, 90).await?;
    let facts = DocumentFacts {
        title: extracted.title.clone(),
        author: extracted.author.clone(),
        // A web page stays a `url` source, and a question and answer a `qa` one, whatever
        // format their text turned out to be.
        doc_type: extracted
            .format
            .filter(|_| !matches!(doc.doc_type.as_str(), "url" | "qa"))
            .map(|f| f.document_type().to_owned()),
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
    crate::webhooks::document_event(app, job.org_id, doc.id).await;
    if app.embedder.is_some() {
        store
            .enqueue_job(
                NewJob::for_document(JobKind::Embed, job.org_id, job.chat_space_id, doc.id),
                chrono::Utc::now(),
            )
            .await?;
        crate::events::jobs_queued(app).await;
    }
    tracing::info!(document = %doc.id, "document processed");
    // What it knows may answer questions that went unanswered.
    if let Err(e) =
        crate::insights::gaps::recheck_after(app, job.org_id, job.chat_space_id, doc.id).await
    {
        tracing::warn!(document = %doc.id, error = %e, "could not ask the open gaps again");
    }
    Ok(())
}

/// Fetches the document's URL (through the guarded client), stores what came back and
/// processes it like an upload.
pub async fn fetch_and_run(
    app: &App,
    job: &DocumentJob<'_>,
    extractor: Option<&isolated::Extractor>,
) -> Result<(), JobError> {
    use docent_ingest::fetch::FetchError;
    let store = &app.store;
    let Some(doc) = store.find_document(job.org_id, job.document_id).await? else {
        return Ok(());
    };
    let url = doc
        .source_url
        .clone()
        .ok_or_else(|| JobError::Final("the document has no address".into()))?;
    progress(app, job, doc.id, 5).await?;
    let fetched = match app.fetcher.get_page(&url).await {
        Ok(fetched) => fetched,
        // The server may be back later; everything else is about the address itself.
        Err(e @ (FetchError::Unreachable(..) | FetchError::TimedOut(..))) => {
            return Err(JobError::Passing(e.to_string()));
        }
        Err(FetchError::Status(shown, code)) if code >= 500 || code == 429 => {
            return Err(JobError::Passing(
                FetchError::Status(shown, code).to_string(),
            ));
        }
        Err(e) => return Err(JobError::Final(e.to_string())),
    };
    let stored = app
        .files
        .store(job.org_id, &fetched.bytes)
        .await
        .map_err(|e| JobError::Passing(format!("storing the page: {e}")))?;
    let file = StoredFile {
        storage_key: stored.key,
        file_size: stored.size,
        content_hash: stored.content_hash,
        source_url: Some(fetched.url.to_string()),
    };
    store.set_document_file(job.org_id, doc.id, file).await?;
    run(app, job, extractor).await
}

/// Extracts in the worker's child process when it has one (as under `docent serve`), else
/// in this process off the async runtime; chunks here either way.
async fn extract(
    app: &App,
    extractor: Option<&isolated::Extractor>,
    doc: &Document,
    bytes: Vec<u8>,
    config: &RetrievalConfig,
) -> Result<(Extracted, Vec<TextChunk>), JobError> {
    let timeout = Duration::from_secs(u64::from(app.settings.extract_timeout_secs));
    let file_name = doc.file_name.clone().unwrap_or_else(|| "upload".into());
    let (size, overlap) = (config.chunk_size, config.chunk_overlap);
    if let Some(extractor) = extractor {
        let extracted = match extractor.extract(&bytes, &file_name).await {
            isolated::Outcome::Done(extracted) => extracted,
            isolated::Outcome::Refused(message) => return Err(JobError::Final(message)),
            isolated::Outcome::Broken(message) => return Err(JobError::Passing(message)),
        };
        let chunked = tokio::task::spawn_blocking(move || {
            let chunks = Chunker::new(size, overlap).chunk(&extracted);
            (extracted, chunks)
        });
        return chunked
            .await
            .map_err(|e| JobError::Passing(format!("chunking: {e}")));
    }
    let source_url = doc.source_url.clone();
    let work = tokio::task::spawn_blocking(move || {
        let options = ExtractOptions {
            main_content: true,
            url: source_url,
        };
        let extracted = docent_ingest::extract(&bytes, Some(&file_name), &options)?;
        let chunks = Chunker::new(size, overlap).chunk(&extracted);
        Ok::<_, IngestError>((extracted, chunks))
    });
    match tokio::time::timeout(timeout, work).await {
        Ok(Ok(Ok(done))) => Ok(done),
        Ok(Ok(Err(e))) => Err(JobError::Final(e.to_string())),
        Ok(Err(_panic)) => Err(JobError::Final(
            "The file could not be processed (the reader crashed on it).".into(),
        )),
        Err(_) => Err(JobError::Final(format!(
            "Processing took longer than {} s; split the file and try again.",
            timeout.as_secs()
        ))),
    }
}

/// Records how far the job's work on `document` is, and tells the document's watchers.
pub async fn progress(
    app: &App,
    job: &DocumentJob<'_>,
    document: DocumentId,
    percent: i32,
) -> Result<(), JobError> {
    app.store
        .set_document_status(
            job.org_id,
            document,
            DocumentStatus::Processing,
            percent,
            None,
        )
        .await?;
    crate::events::documents_changed(app, job.chat_space_id).await;
    Ok(())
}

/// Marks the job's document failed with `message` (what the owner reads).
pub async fn mark_failed(app: &App, job: &DocumentJob<'_>, message: &str) {
    if let Err(e) = app
        .store
        .set_document_status(
            job.org_id,
            job.document_id,
            DocumentStatus::Failed,
            0,
            Some(message),
        )
        .await
    {
        tracing::error!(document = %job.document_id, error = %e, "could not mark a document failed");
        return;
    }
    crate::webhooks::document_event(app, job.org_id, job.document_id).await;
}
