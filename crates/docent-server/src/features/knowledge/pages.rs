//! The Knowledge page of a chat space: upload, the documents table with live progress, the
//! citable / learn-only switch, reprocess, delete, and a chunk viewer.

use crate::error::HttpError;
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use docent_app::AppError;
use docent_core::*;
use serde::Deserialize;

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiForm, ApiMultipart, IdPath};
use crate::http::pages::{PageCtx, PageError, Shell, field_errors, redirect_with};
use crate::http::upload::read_upload;
use docent_app::{chat_spaces, documents};

/// File types the upload field offers (detection is by content all the same).
const ACCEPT: &str = ".pdf,.docx,.txt,.md,.markdown,.html,.htm,.vtt,.srt";

#[derive(Template)]
#[template(path = "knowledge/knowledge.html")]
struct KnowledgePage {
    shell: Shell,
    title: String,
    space: ChatSpace,
    documents: Vec<Document>,
    errors: ValidationErrors,
    accept: &'static str,
    max_upload_mb: usize,
    /// The address typed into the web page form, kept when it is refused.
    url: String,
    /// The title and text typed into the paste form, kept when they are refused.
    typed: (String, String),
    /// The question and answer typed into their form, kept when they are refused.
    qa: (String, String),
    setup: chat_spaces::Setup,
}

impl KnowledgePage {
    fn size(bytes: &Option<i64>) -> String {
        match *bytes {
            None => "–".into(),
            Some(b) if b < 1024 => format!("{b} B"),
            Some(b) if b < 1024 * 1024 => format!("{:.0} KB", b as f64 / 1024.0),
            Some(b) => format!("{:.1} MB", b as f64 / 1024.0 / 1024.0),
        }
    }

    fn number<T: std::fmt::Display>(value: &Option<T>) -> String {
        value.as_ref().map_or_else(|| "–".into(), T::to_string)
    }
}

async fn knowledge_page(
    state: &AppState,
    caller: &Caller,
    ctx: &PageCtx,
    id: ChatSpaceId,
    errors: ValidationErrors,
) -> Result<KnowledgePage, PageError> {
    let space = chat_spaces::get(state, caller, id).await?;
    let documents = documents::list(
        state,
        caller,
        id,
        Page::first(Page::<DocumentId>::MAX_LIMIT),
    )
    .await?;
    let setup = chat_spaces::setup(state, caller, &space).await?;
    Ok(KnowledgePage {
        shell: ctx.shell_in("spaces"),
        title: format!("Knowledge · {}", space.name),
        space,
        documents,
        errors,
        accept: ACCEPT,
        max_upload_mb: state.settings.max_upload_bytes / (1024 * 1024),
        url: String::new(),
        typed: (String::new(), String::new()),
        qa: (String::new(), String::new()),
        setup,
    })
}

pub async fn index(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    IdPath(id): IdPath<ChatSpaceId>,
) -> Result<Response, PageError> {
    let page = knowledge_page(&state, &caller, &ctx, id, ValidationErrors::new()).await?;
    Ok(ctx.render(&page))
}

pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiMultipart(multipart): ApiMultipart,
) -> Result<Response, PageError> {
    let result = match read_upload(&state, multipart).await {
        Ok((uploads, citable)) => documents::upload(&state, &caller, id, uploads, citable)
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(redirect_with(
            &format!("/app/chat-spaces/{id}/knowledge"),
            "uploaded",
        )),
        Err(e) => {
            let status = e.status();
            let errors = match e {
                ApiError::App(
                    AppError::UnsupportedFileType(_) | AppError::PayloadTooLarge { .. },
                )
                | ApiError::Http(HttpError::MultipartFraming(_) | HttpError::InvalidMultipart(_)) => {
                    ValidationErrors::single("file", e.message())
                }
                other => field_errors(other)?,
            };
            let page = knowledge_page(&state, &caller, &ctx, id, errors).await?;
            Ok(ctx.render_status(status, &page))
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct UrlForm {
    #[serde(default)]
    url: String,
    #[serde(default)]
    citable: Option<String>,
    /// "on" crawls the whole site from the address.
    #[serde(default)]
    crawl: Option<String>,
    #[serde(default)]
    max_pages: String,
}

pub async fn add_url(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiForm(form): ApiForm<UrlForm>,
) -> Result<Response, PageError> {
    let max_pages = form.max_pages.trim().parse::<u32>().ok();
    let crawl = form.crawl.is_some().then(|| documents::CrawlInput {
        max_pages,
        ..documents::CrawlInput::default()
    });
    let input = documents::AddUrl {
        url: form.url.clone(),
        citable: form.citable.is_some(),
        crawl,
    };
    match documents::add_url(&state, &caller, id, input).await {
        Ok(_) => Ok(redirect_with(
            &format!("/app/chat-spaces/{id}/knowledge"),
            "url_added",
        )),
        Err(e) => {
            let e = ApiError::from(e);
            let status = e.status();
            let errors = match e {
                ApiError::App(AppError::UrlNotAllowed(_) | AppError::UrlUnreachable(_)) => {
                    ValidationErrors::single("url", e.message())
                }
                other => field_errors(other)?,
            };
            let mut page = knowledge_page(&state, &caller, &ctx, id, errors).await?;
            page.url = form.url;
            Ok(ctx.render_status(status, &page))
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct TextForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    citable: Option<String>,
}

pub async fn add_text(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiForm(form): ApiForm<TextForm>,
) -> Result<Response, PageError> {
    let input = documents::AddText {
        title: form.title.clone(),
        text: form.text.clone(),
        citable: form.citable.is_some(),
    };
    match documents::add_text(&state, &caller, id, input).await {
        Ok(_) => Ok(redirect_with(
            &format!("/app/chat-spaces/{id}/knowledge"),
            "text_added",
        )),
        Err(e) => {
            let e = ApiError::from(e);
            let status = e.status();
            let mut page = knowledge_page(&state, &caller, &ctx, id, field_errors(e)?).await?;
            page.typed = (form.title, form.text);
            Ok(ctx.render_status(status, &page))
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct QaForm {
    #[serde(default)]
    question: String,
    #[serde(default)]
    answer: String,
    #[serde(default)]
    citable: Option<String>,
}

impl QaForm {
    fn pair(&self) -> documents::QaPair {
        documents::QaPair {
            question: self.question.clone(),
            answer: self.answer.clone(),
            citable: self.citable.is_some(),
        }
    }
}

pub async fn add_qa(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    IdPath(id): IdPath<ChatSpaceId>,
    ApiForm(form): ApiForm<QaForm>,
) -> Result<Response, PageError> {
    match documents::add_qa(&state, &caller, id, form.pair()).await {
        Ok(_) => Ok(redirect_with(
            &format!("/app/chat-spaces/{id}/knowledge"),
            "qa_added",
        )),
        Err(e) => {
            let e = ApiError::from(e);
            let status = e.status();
            let mut page = knowledge_page(&state, &caller, &ctx, id, field_errors(e)?).await?;
            page.qa = (form.question, form.answer);
            Ok(ctx.render_status(status, &page))
        }
    }
}

pub async fn edit_qa(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<DocumentId>,
    ApiForm(form): ApiForm<QaForm>,
) -> Result<Response, PageError> {
    let doc = documents::edit_qa(&state, &caller, id, form.pair()).await?;
    Ok(redirect_with(
        &format!("/app/documents/{}", doc.id),
        "saved",
    ))
}

#[derive(Debug, Deserialize)]
pub struct CitableForm {
    #[serde(default)]
    citable: String,
}

pub async fn set_citable(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<DocumentId>,
    ApiForm(form): ApiForm<CitableForm>,
) -> Result<Response, PageError> {
    let citable = match form.citable.as_str() {
        "true" => true,
        "false" => false,
        _ => return Err(AppError::validation("citable", "Choose citable or learn-only.").into()),
    };
    let doc = documents::patch(
        &state,
        &caller,
        id,
        documents::PatchDocument {
            citable: Some(citable),
            title: None,
        },
    )
    .await?;
    Ok(redirect_with(
        &format!("/app/chat-spaces/{}/knowledge", doc.chat_space_id),
        "saved",
    ))
}

#[derive(Debug, Deserialize)]
pub struct TitleForm {
    #[serde(default)]
    title: String,
}

pub async fn rename(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<DocumentId>,
    ApiForm(form): ApiForm<TitleForm>,
) -> Result<Response, PageError> {
    let doc = documents::patch(
        &state,
        &caller,
        id,
        documents::PatchDocument {
            citable: None,
            title: Some(form.title),
        },
    )
    .await?;
    Ok(redirect_with(
        &format!("/app/documents/{}", doc.id),
        "saved",
    ))
}

pub async fn reprocess(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<DocumentId>,
) -> Result<Response, PageError> {
    let doc = documents::reprocess(&state, &caller, id).await?;
    Ok(redirect_with(
        &format!("/app/chat-spaces/{}/knowledge", doc.chat_space_id),
        "reprocessing",
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<DocumentId>,
) -> Result<Response, PageError> {
    let doc = documents::delete(&state, &caller, id).await?;
    Ok(redirect_with(
        &format!("/app/chat-spaces/{}/knowledge", doc.chat_space_id),
        "document_deleted",
    ))
}

#[derive(Template)]
#[template(path = "knowledge/document.html")]
struct DocumentPage {
    shell: Shell,
    title: String,
    space: ChatSpace,
    document: Document,
    chunks: Vec<Chunk>,
    /// A question-and-answer source's question and answer, to edit.
    qa: Option<(String, String)>,
}

impl DocumentPage {
    /// Where a chunk sits: page, headings or time span.
    fn place(chunk: &Chunk) -> String {
        let m = &chunk.metadata;
        let mut parts = Vec::new();
        if let Some(page) = m["page"].as_u64() {
            parts.push(format!("page {page}"));
        }
        if let Some(path) = m["heading_path"].as_array() {
            let headings: Vec<&str> = path.iter().filter_map(|h| h.as_str()).collect();
            if !headings.is_empty() {
                parts.push(headings.join(" › "));
            }
        }
        if let (Some(start), Some(end)) = (m["start_ms"].as_u64(), m["end_ms"].as_u64()) {
            let t = |ms: u64| format!("{}:{:02}", ms / 60_000, ms / 1000 % 60);
            parts.push(format!("{}–{}", t(start), t(end)));
        }
        parts.join(" · ")
    }
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    IdPath(id): IdPath<DocumentId>,
) -> Result<Response, PageError> {
    let document = documents::get(&state, &caller, id).await?;
    let space = chat_spaces::get(&state, &caller, document.chat_space_id).await?;
    let chunks = documents::chunks(&state, &caller, id, None, 500).await?;
    let qa = if document.doc_type == "qa" {
        documents::qa(&state, &caller, id).await.ok()
    } else {
        None
    };
    let page = DocumentPage {
        shell: ctx.shell_in("spaces"),
        title: document.title.clone(),
        space,
        document,
        chunks,
        qa,
    };
    Ok(ctx.render(&page))
}
