//! The `crawl` job: walk a site (sitemap, links, robots.txt) through the guarded fetcher;
//! each page becomes a `url` document under the site's document and is ingested by its own
//! job. The site document tracks the crawl's progress.

use docent_core::*;
use docent_ingest::crawl::{CrawlOptions, crawl};
use docent_ingest::fetch::FetchError;

use super::{DocumentJob, JobError};
use crate::App;
use crate::documents::CrawlInput;

pub async fn run(app: &App, job: &DocumentJob<'_>) -> Result<(), JobError> {
    let store = &app.store;
    let Some(site) = store.find_document(job.org_id, job.document_id).await? else {
        return Ok(());
    };
    let start = site
        .source_url
        .clone()
        .ok_or_else(|| JobError::Final("the site has no address".into()))?;
    let start = url::Url::parse(&start)
        .map_err(|e| JobError::Final(format!("the site's address is invalid: {e}")))?;
    let input: CrawlInput = serde_json::from_value(job.payload.clone()).unwrap_or_default();
    let org = store
        .find_organization(job.org_id)
        .await?
        .ok_or_else(|| JobError::Final("the organization is gone".into()))?;
    // The plan's document limit bounds the crawl too.
    let existing = store
        .count_documents(job.org_id, job.chat_space_id, None)
        .await?;
    let room = org
        .plan
        .limits()
        .documents_per_chat_space
        .map_or(u64::MAX, |max| max.saturating_sub(existing)) as usize;
    let defaults = CrawlOptions::default();
    let options = CrawlOptions {
        max_pages: (input.max_pages.map_or(defaults.max_pages, |n| n as usize)).min(room),
        max_depth: input.max_depth.map_or(defaults.max_depth, |d| d as usize),
        include: input.include,
        exclude: input.exclude,
        delay: std::time::Duration::from_millis(app.settings.crawl_delay_ms.into()),
    };
    if options.max_pages == 0 {
        return Err(JobError::Final(format!(
            "The {} plan's document limit is reached; remove some documents or upgrade.",
            org.plan.as_str()
        )));
    }
    super::ingest::progress(app, job, site.id, 1).await?;
    let max_pages = options.max_pages;
    let report = crawl(&app.fetcher, &start, &options, |page, count| {
        let app = app.clone();
        let site = site.clone();
        async move {
            if let Err(e) = add_page(&app, job, &site, page.fetched).await {
                tracing::warn!(site = %site.id, error = %e, "storing a crawled page failed");
            }
            let progress = (count * 95 / max_pages.max(1)).clamp(1, 95) as i32;
            let _ = super::ingest::progress(&app, job, site.id, progress).await;
        }
    })
    .await;
    let report = match report {
        Ok(report) => report,
        Err(e @ FetchError::NotAllowed(_)) => return Err(JobError::Final(e.to_string())),
        Err(e) => return Err(JobError::Passing(e.to_string())),
    };
    if report.pages == 0 {
        let why = report
            .failed
            .first()
            .cloned()
            .unwrap_or_else(|| "robots.txt or the filters excluded every page".into());
        return Err(JobError::Final(format!(
            "No page of the site could be added: {why}"
        )));
    }
    let host = start.host_str().unwrap_or("site").to_owned();
    let facts = DocumentFacts {
        title: Some(format!("{host} ({} pages)", report.pages)),
        page_count: Some(report.pages as i32),
        ..DocumentFacts::default()
    };
    store
        .complete_document(job.org_id, site.id, facts, Vec::new())
        .await?;
    crate::webhooks::document_event(app, job.org_id, site.id).await;
    crate::events::jobs_queued(app).await;
    tracing::info!(site = %site.id, pages = report.pages, skipped = report.skipped_by_robots, duplicates = report.duplicates, "crawl finished");
    Ok(())
}

/// Stores one page and queues its processing.
async fn add_page(
    app: &App,
    job: &DocumentJob<'_>,
    site: &Document,
    fetched: docent_ingest::fetch::Fetched,
) -> Result<(), String> {
    let stored = app
        .files
        .store(job.org_id, &fetched.bytes)
        .await
        .map_err(|e| e.to_string())?;
    let doc = app
        .store
        .create_document(
            job.org_id,
            NewDocument {
                chat_space_id: job.chat_space_id,
                parent_id: Some(site.id),
                doc_type: "url".into(),
                title: String::new(),
                file_name: None,
                file_size: Some(stored.size),
                content_hash: Some(stored.content_hash),
                storage_key: Some(stored.key),
                source_url: Some(fetched.url.to_string()),
                citable: site.citable,
                status: DocumentStatus::Pending,
            },
        )
        .await
        .map_err(|e| e.to_string())?;
    app.store
        .enqueue_job(
            NewJob::for_document(JobKind::Ingest, job.org_id, job.chat_space_id, doc.id),
            chrono::Utc::now(),
        )
        .await
        .map_err(|e| e.to_string())?;
    crate::events::jobs_queued(app).await;
    Ok(())
}
