//! Knowledge sources of a chat space: upload, list, read, change, delete, reprocess,
//! chunks and full-text search.

use docent_core::validate;
use docent_core::*;
use serde::Deserialize;

use crate::App;
use crate::AppError;
use crate::Caller;
use crate::chat_spaces;

/// One uploaded file.
#[derive(Debug)]
pub struct Upload {
    pub file_name: String,
    pub bytes: Vec<u8>,
}

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchDocument {
    #[serde(default)]
    pub citable: Option<bool>,
    #[serde(default)]
    #[schemars(regex(pattern = docent_core::validate::NAME_PATTERN), length(max = 100))]
    pub title: Option<String>,
}

/// A file name safe to show and store: the last path segment, trimmed and bounded.
fn clean_name(raw: &str) -> String {
    let name = raw.rsplit(['/', '\\']).next().unwrap_or("").trim();
    let name: String = name.chars().filter(|c| !c.is_control()).take(200).collect();
    if name.is_empty() {
        "upload".to_owned()
    } else {
        name
    }
}

fn title_from(file_name: &str) -> String {
    match file_name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem.to_owned(),
        _ => file_name.to_owned(),
    }
}

/// Refuses adding `adding` documents beyond the plan's limit per chat space.
async fn ensure_room(
    app: &App,
    caller: &Caller,
    space: ChatSpaceId,
    adding: u64,
) -> Result<(), AppError> {
    let limit = caller.org.plan.limits().documents_per_chat_space;
    let existing = app
        .store
        .count_documents(caller.org_id(), space, None)
        .await?;
    if PlanLimits::allows(limit, existing + adding.saturating_sub(1)) {
        Ok(())
    } else {
        Err(AppError::plan_limit(
            caller.org.plan,
            DOCUMENTS,
            limit.unwrap_or(0),
        ))
    }
}

const DOCUMENTS: &str = "documents per chat space";

/// Creates a user's document within the plan's limit, atomically: [`ensure_room`] refuses
/// early and whole, this holds when requests race.
async fn create_within_plan(
    app: &App,
    caller: &Caller,
    doc: NewDocument,
) -> Result<Document, AppError> {
    let plan = caller.org.plan;
    app.store
        .create_document_within(caller.org_id(), doc, plan.limits().documents_per_chat_space)
        .await
        .map_err(AppError::within_plan(plan, DOCUMENTS))
}

/// Stores the files, creates their documents and queues their processing. Every file is
/// checked before any is stored, so one bad file refuses the whole upload.
pub async fn upload(
    app: &App,
    caller: &Caller,
    space: ChatSpaceId,
    uploads: Vec<Upload>,
    citable: bool,
) -> Result<Vec<Document>, AppError> {
    caller.require(Role::Admin)?;
    let space = chat_spaces::get(app, caller, space).await?;
    if uploads.is_empty() {
        return Err(AppError::validation(
            "file",
            "Choose at least one file to upload.",
        ));
    }
    let mut formats = Vec::with_capacity(uploads.len());
    for upload in &uploads {
        if upload.bytes.is_empty() {
            return Err(AppError::validation(
                "file",
                format!("{} is empty.", clean_name(&upload.file_name)),
            ));
        }
        let format = docent_ingest::detect(&upload.bytes, Some(&upload.file_name))
            .map_err(|_| AppError::UnsupportedFileType(clean_name(&upload.file_name)))?;
        formats.push(format);
    }
    ensure_room(app, caller, space.id, uploads.len() as u64).await?;
    let mut created = Vec::with_capacity(uploads.len());
    for (upload, format) in uploads.into_iter().zip(formats) {
        let file_name = clean_name(&upload.file_name);
        let source = Source {
            doc_type: format.document_type(),
            title: title_from(&file_name),
            file_name: Some(file_name),
            citable,
        };
        created.push(store_and_queue(app, caller, space.id, &upload.bytes, source).await?);
    }
    crate::events::jobs_queued(app).await;
    crate::events::documents_changed(app, space.id).await;
    Ok(created)
}

/// What a new document from stored bytes is called and how it is used.
struct Source<'a> {
    doc_type: &'a str,
    title: String,
    file_name: Option<String>,
    citable: bool,
}

/// Stores `bytes`, creates their document within the plan and queues its processing (the
/// caller tells the workers and the live pages, once for all it adds).
async fn store_and_queue(
    app: &App,
    caller: &Caller,
    space: ChatSpaceId,
    bytes: &[u8],
    source: Source<'_>,
) -> Result<Document, AppError> {
    let stored = app
        .files
        .store(caller.org_id(), bytes)
        .await
        .map_err(|e| AppError::Internal(format!("storing a file: {e}")))?;
    let doc = create_within_plan(
        app,
        caller,
        NewDocument {
            chat_space_id: space,
            parent_id: None,
            doc_type: source.doc_type.to_owned(),
            title: source.title,
            file_size: Some(stored.size),
            file_name: source.file_name,
            content_hash: Some(stored.content_hash),
            storage_key: Some(stored.key),
            source_url: None,
            citable: source.citable,
            status: DocumentStatus::Pending,
        },
    )
    .await?;
    app.store
        .enqueue_job(
            NewJob::for_document(JobKind::Ingest, caller.org_id(), space, doc.id),
            chrono::Utc::now(),
        )
        .await?;
    Ok(doc)
}

/// Knowledge typed or pasted in rather than uploaded.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddText {
    #[schemars(regex(pattern = docent_core::validate::NAME_PATTERN), length(max = 100), example = "Opening hours")]
    pub title: String,
    #[schemars(regex(pattern = docent_core::validate::NOT_BLANK_PATTERN), length(max = 200000))]
    pub text: String,
    /// Cited in answers (the default), or learn-only.
    #[serde(default = "yes")]
    pub citable: bool,
}

/// A question with the answer to give, quoted whole when a visitor asks it.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QaPair {
    #[schemars(regex(pattern = docent_core::validate::NOT_BLANK_PATTERN), length(max = 500), example = "Do you deliver on Sundays?")]
    pub question: String,
    /// At most 1,500 characters: an answer is quoted whole, so it must fit one chunk.
    #[schemars(regex(pattern = docent_core::validate::NOT_BLANK_PATTERN), length(max = 1500), example = "No: we deliver Monday to Saturday.")]
    pub answer: String,
    #[serde(default = "yes")]
    pub citable: bool,
}

/// The most a pasted text may hold, in characters.
const TEXT_MAX_CHARS: usize = 200_000;
/// The longest answer of a question and answer, in characters: about 300 words, which one
/// chunk of the default 400 tokens holds with its question, so it is quoted whole.
const QA_ANSWER_MAX_CHARS: usize = 1_500;

fn check_qa(pair: &QaPair) -> Result<(), AppError> {
    let mut errors = docent_core::ValidationErrors::new();
    if validate::is_blank(&pair.question) {
        errors.add("question", "Write the question as a visitor would ask it.");
    } else if pair.question.chars().count() > 500 {
        errors.add("question", "Use at most 500 characters.");
    }
    if validate::is_blank(&pair.answer) {
        errors.add("answer", "Write the answer to give.");
    } else if pair.answer.chars().count() > QA_ANSWER_MAX_CHARS {
        errors.add(
            "answer",
            format!("Use at most {QA_ANSWER_MAX_CHARS} characters (paste longer texts as text)."),
        );
    }
    errors.into_result().map_err(AppError::from)
}

/// Stores `text` as a new document of `space` and queues its processing.
async fn add_typed(
    app: &App,
    caller: &Caller,
    space: ChatSpaceId,
    doc_type: &str,
    title: String,
    text: &str,
    citable: bool,
) -> Result<Document, AppError> {
    caller.require(Role::Admin)?;
    let space = chat_spaces::get(app, caller, space).await?;
    ensure_room(app, caller, space.id, 1).await?;
    let source = Source {
        doc_type,
        title,
        file_name: None,
        citable,
    };
    let doc = store_and_queue(app, caller, space.id, text.as_bytes(), source).await?;
    crate::events::jobs_queued(app).await;
    crate::events::documents_changed(app, space.id).await;
    Ok(doc)
}

/// A pasted text as a knowledge source.
pub async fn add_text(
    app: &App,
    caller: &Caller,
    space: ChatSpaceId,
    input: AddText,
) -> Result<Document, AppError> {
    let mut errors = docent_core::ValidationErrors::new();
    let title = validate::name(&mut errors, "title", &input.title);
    if validate::is_blank(&input.text) {
        errors.add("text", "Paste or type the text to learn.");
    } else if input.text.chars().count() > TEXT_MAX_CHARS {
        errors.add(
            "text",
            format!("Use at most {TEXT_MAX_CHARS} characters; upload a file for more."),
        );
    }
    errors.into_result()?;
    add_typed(
        app,
        caller,
        space,
        "text",
        title,
        &input.text,
        input.citable,
    )
    .await
}

/// A question and its answer as a knowledge source.
pub async fn add_qa(
    app: &App,
    caller: &Caller,
    space: ChatSpaceId,
    pair: QaPair,
) -> Result<Document, AppError> {
    check_qa(&pair)?;
    let title: String = pair.question.trim().chars().take(100).collect();
    let text = qa_text(&pair.question, &pair.answer);
    add_typed(app, caller, space, "qa", title, &text, pair.citable).await
}

/// The question and answer of a `qa` document.
pub async fn qa(app: &App, caller: &Caller, id: DocumentId) -> Result<(String, String), AppError> {
    let doc = get(app, caller, id).await?;
    if doc.doc_type != "qa" {
        return Err(AppError::NotFound("question and answer"));
    }
    let key = doc
        .storage_key
        .as_deref()
        .ok_or(AppError::NotFound("question and answer"))?;
    let bytes = app
        .files
        .get(key)
        .await
        .map_err(|e| AppError::Internal(format!("reading a question and answer: {e}")))?;
    parse_qa(&String::from_utf8_lossy(&bytes))
        .map(|(question, answer)| (question.to_owned(), answer.to_owned()))
        .ok_or(AppError::NotFound("question and answer"))
}

/// Rewrites a `qa` document's question and answer (and its title, the question) and
/// processes it again.
pub async fn edit_qa(
    app: &App,
    caller: &Caller,
    id: DocumentId,
    pair: QaPair,
) -> Result<Document, AppError> {
    caller.require(Role::Admin)?;
    check_qa(&pair)?;
    let doc = get(app, caller, id).await?;
    if doc.doc_type != "qa" {
        // As for reading it: this document has no question and answer.
        return Err(AppError::NotFound("question and answer"));
    }
    let stored = app
        .files
        .store(
            caller.org_id(),
            qa_text(&pair.question, &pair.answer).as_bytes(),
        )
        .await
        .map_err(|e| AppError::Internal(format!("storing a text: {e}")))?;
    app.store
        .set_document_file(
            caller.org_id(),
            id,
            StoredFile {
                storage_key: stored.key,
                content_hash: stored.content_hash,
                file_size: stored.size,
                source_url: None,
            },
        )
        .await?;
    // The text it replaces goes (a failure only leaves an unread file behind).
    if let Some(old) = doc.storage_key.as_deref()
        && let Err(e) = app.files.delete(old).await
    {
        tracing::warn!(error = %e, "removing a replaced question and answer");
    }
    let title: String = pair.question.trim().chars().take(100).collect();
    app.store
        .update_document(
            caller.org_id(),
            id,
            DocumentPatch {
                title: Some(title),
                citable: Some(pair.citable),
            },
        )
        .await?;
    reprocess(app, caller, id).await
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddUrl {
    #[schemars(
        regex(pattern = r"^\s*[hH][tT][tT][pP][sS]?://"),
        example = "https://www.example.com/faq"
    )]
    pub url: String,
    #[serde(default = "yes")]
    pub citable: bool,
    /// Crawl the whole site from this address instead of fetching one page.
    #[serde(default)]
    pub crawl: Option<CrawlInput>,
}

/// Limits of a site crawl.
#[derive(Clone, Debug, Default, Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CrawlInput {
    #[serde(default)]
    #[schemars(range(min = 1, max = MAX_CRAWL_PAGES))]
    pub max_pages: Option<u32>,
    #[serde(default)]
    #[schemars(range(max = 10))]
    pub max_depth: Option<u32>,
    /// Only pages whose path contains one of these (with `exclude`, 50 at most).
    #[serde(default)]
    #[schemars(length(max = 50), inner(length(min = 1, max = 200)))]
    pub include: Vec<String>,
    /// Never pages whose path contains one of these.
    #[serde(default)]
    #[schemars(length(max = 50), inner(length(min = 1, max = 200)))]
    pub exclude: Vec<String>,
}

/// Most pages one crawl may add.
pub const MAX_CRAWL_PAGES: u32 = 500;

fn yes() -> bool {
    true
}

/// Adds a web page as a source: the address is checked now (scheme, credentials, and every
/// address it resolves to), then a worker fetches and processes it.
pub async fn add_url(
    app: &App,
    caller: &Caller,
    space: ChatSpaceId,
    input: AddUrl,
) -> Result<Document, AppError> {
    caller.require(Role::Admin)?;
    let space = chat_spaces::get(app, caller, space).await?;
    ensure_room(app, caller, space.id, 1).await?;
    let url = super::public_url(app, &input.url, "url").await?;
    let crawl = match &input.crawl {
        None => None,
        Some(c) => {
            let mut errors = ValidationErrors::new();
            if c.max_pages.is_some_and(|n| n == 0 || n > MAX_CRAWL_PAGES) {
                errors.add(
                    "crawl.max_pages",
                    format!("Use 1 to {MAX_CRAWL_PAGES} pages."),
                );
            }
            if c.max_depth.is_some_and(|d| d > 10) {
                errors.add("crawl.max_depth", "Use a depth from 0 to 10.");
            }
            if c.include.len() + c.exclude.len() > 50
                || c.include
                    .iter()
                    .chain(&c.exclude)
                    .any(|p| p.is_empty() || p.len() > 200)
            {
                errors.add(
                    "crawl",
                    "Use at most 50 include and exclude patterns of 1 to 200 characters.",
                );
            }
            errors.into_result()?;
            Some(serde_json::to_value(c).unwrap_or_default())
        }
    };
    let doc = create_within_plan(
        app,
        caller,
        NewDocument {
            chat_space_id: space.id,
            parent_id: None,
            doc_type: if crawl.is_some() {
                "site".into()
            } else {
                "url".into()
            },
            title: String::new(),
            file_name: None,
            file_size: None,
            content_hash: None,
            storage_key: None,
            source_url: Some(url.to_string()),
            citable: input.citable,
            status: DocumentStatus::Pending,
        },
    )
    .await?;
    app.store
        .enqueue_job(
            match crawl {
                Some(options) => {
                    NewJob::for_document(JobKind::Crawl, caller.org_id(), space.id, doc.id)
                        .with_payload(options)
                }
                None => NewJob::for_document(JobKind::Fetch, caller.org_id(), space.id, doc.id),
            },
            chrono::Utc::now(),
        )
        .await?;
    crate::events::jobs_queued(app).await;
    crate::events::documents_changed(app, space.id).await;
    Ok(doc)
}

/// How many of the chat space's documents are ready to answer from.
pub async fn completed_count(
    app: &App,
    caller: &Caller,
    space: &ChatSpace,
) -> Result<u64, AppError> {
    Ok(app
        .store
        .count_documents(caller.org_id(), space.id, Some(DocumentStatus::Completed))
        .await?)
}

/// A subscription to the changes of the chat space's documents (progress, status, new and
/// deleted ones), for live views; subscribe before the first read so nothing is missed.
pub async fn watch(
    app: &App,
    caller: &Caller,
    space: ChatSpaceId,
) -> Result<docent_store::hub::Subscription, AppError> {
    let space = chat_spaces::get(app, caller, space).await?;
    Ok(app
        .store
        .hub()
        .subscribe(&crate::events::chat_space_topic(space.id))
        .await?)
}

pub async fn list(
    app: &App,
    caller: &Caller,
    space: ChatSpaceId,
    page: Page<DocumentId>,
) -> Result<Vec<Document>, AppError> {
    let space = chat_spaces::get(app, caller, space).await?;
    Ok(app
        .store
        .list_documents(caller.org_id(), space.id, page)
        .await?)
}

pub async fn get(app: &App, caller: &Caller, id: DocumentId) -> Result<Document, AppError> {
    app.store
        .find_document(caller.org_id(), id)
        .await?
        .filter(|d| caller.sees(d.chat_space_id))
        .ok_or(AppError::NotFound("document"))
}

pub async fn patch(
    app: &App,
    caller: &Caller,
    id: DocumentId,
    input: PatchDocument,
) -> Result<Document, AppError> {
    caller.require(Role::Admin)?;
    get(app, caller, id).await?;
    let mut errors = ValidationErrors::new();
    let title = input
        .title
        .as_deref()
        .map(|t| validate::name(&mut errors, "title", t));
    errors.into_result()?;
    let doc = app
        .store
        .update_document(
            caller.org_id(),
            id,
            DocumentPatch {
                citable: input.citable,
                title,
            },
        )
        .await?
        .ok_or(AppError::NotFound("document"))?;
    crate::events::documents_changed(app, doc.chat_space_id).await;
    Ok(doc)
}

/// Deletes the document, its chunks and its stored file (a site: its pages and theirs).
pub async fn delete(app: &App, caller: &Caller, id: DocumentId) -> Result<Document, AppError> {
    caller.require(Role::Admin)?;
    get(app, caller, id).await?;
    let mut keys = app.store.child_storage_keys(caller.org_id(), id).await?;
    let doc = app
        .store
        .delete_document(caller.org_id(), id)
        .await?
        .ok_or(AppError::NotFound("document"))?;
    keys.extend(doc.storage_key.clone());
    for key in keys {
        if let Err(e) = app.files.delete(&key).await {
            tracing::warn!(document = %doc.id, error = %e, "deleting a stored file failed");
        }
    }
    crate::events::documents_changed(app, doc.chat_space_id).await;
    Ok(doc)
}

/// Processes the document again (after a failure, or with new chunk settings); web pages
/// are fetched again.
pub async fn reprocess(app: &App, caller: &Caller, id: DocumentId) -> Result<Document, AppError> {
    caller.require(Role::Admin)?;
    let doc = get(app, caller, id).await?;
    app.store
        .set_document_status(caller.org_id(), id, DocumentStatus::Pending, 0, None)
        .await?;
    // Web pages are fetched again and sites crawled again, with the options they had.
    let job = |kind| NewJob::for_document(kind, caller.org_id(), doc.chat_space_id, id);
    let job = match doc.doc_type.as_str() {
        "url" => job(JobKind::Fetch),
        "site" => {
            let last = app.store.list_jobs(caller.org_id(), id).await?;
            let options = last
                .into_iter()
                .find(|j| j.job_type == JobKind::Crawl)
                .map(|j| j.payload);
            job(JobKind::Crawl).with_payload(options.unwrap_or_else(|| serde_json::json!({})))
        }
        _ => job(JobKind::Ingest),
    };
    app.store.enqueue_job(job, chrono::Utc::now()).await?;
    crate::events::jobs_queued(app).await;
    crate::events::documents_changed(app, doc.chat_space_id).await;
    get(app, caller, id).await
}

pub async fn chunks(
    app: &App,
    caller: &Caller,
    id: DocumentId,
    after: Option<i32>,
    limit: u32,
) -> Result<Vec<Chunk>, AppError> {
    let doc = get(app, caller, id).await?;
    Ok(app
        .store
        .list_chunks(caller.org_id(), doc.id, after, limit)
        .await?)
}

/// How to search a chat space's knowledge.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SearchMode {
    /// Words and their stems (works without any model).
    #[default]
    Fulltext,
    /// Nearest chunks by meaning (needs an embedding provider).
    Vector,
}

/// Searches a chat space's knowledge, best first.
pub async fn search(
    app: &App,
    caller: &Caller,
    space: ChatSpaceId,
    query: &str,
    mode: SearchMode,
    limit: u32,
) -> Result<Vec<ChunkHit>, AppError> {
    let space = chat_spaces::get(app, caller, space).await?;
    let terms = search_terms(query);
    if terms.is_empty() {
        return Err(AppError::validation("q", "Type some words to search for."));
    }
    let limit = limit.clamp(1, 50);
    match mode {
        SearchMode::Fulltext => Ok(app
            .store
            .search_chunks(caller.org_id(), space.id, &terms, limit)
            .await?),
        SearchMode::Vector => {
            let embedder = app.embedder.as_ref().ok_or_else(|| {
                AppError::validation(
                    "mode",
                    "Vector search needs an embedding provider: set DOCENT_EMBEDDING_MODEL.",
                )
            })?;
            let vectors = embedder
                .embed(&[query.to_owned()])
                .await
                .map_err(|e| AppError::ModelUnavailable(e.to_string()))?;
            let vector = vectors.into_iter().next().unwrap_or_default();
            Ok(app
                .store
                .vector_search(caller.org_id(), space.id, &vector, limit)
                .await?)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_question_and_answer_reads_back_as_written() {
        let text = docent_core::qa_text("  Do you deliver\nA: on Sundays? ", " No.\nWe rest.\n");
        assert_eq!(text, "Q: Do you deliver A: on Sundays?\nA: No.\nWe rest.\n");
        assert_eq!(
            docent_core::parse_qa(&text),
            Some(("Do you deliver A: on Sundays?", "No.\nWe rest."))
        );
        assert_eq!(docent_core::parse_qa("Opening hours: nine to five."), None);
    }
}
