//! `docent ingest --chat-space SLUG PATH…`: add local files to a chat space from the
//! command line, through the same service as uploads, and process them here with a
//! progress bar.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use docent_app::documents::{self, Upload};
use docent_app::jobs::Worker;
use docent_app::{App, AppError, Caller};
use docent_core::*;

use crate::progress::Progress;

/// Files under `paths`, directories walked recursively, in a stable order.
fn collect(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("reading {}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            entries.sort();
            out.extend(collect(&entries)?);
        } else if path.is_file() {
            out.push(path.clone());
        } else {
            bail!("{} does not exist", path.display());
        }
    }
    Ok(out)
}

pub async fn run(app: &App, slug: &str, paths: &[PathBuf], citable: bool) -> anyhow::Result<()> {
    let (space, org) = crate::ask::chat_space(app, slug).await?;
    // The command line acts as the organization's owner.
    let caller = Caller {
        org,
        role: Role::Owner,
        user: None,
        chat_space_scope: None,
        visible: None,
    };
    let files = collect(paths)?;
    let mut documents_added = Vec::new();
    let mut skipped = Vec::new();
    for file in &files {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let file_name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("file")
            .to_owned();
        if docent_ingest::detect(&bytes, Some(&file_name)).is_err() || bytes.is_empty() {
            skipped.push(file_name);
            continue;
        }
        let upload = Upload { file_name, bytes };
        match documents::upload(app, &caller, space.id, vec![upload], citable).await {
            Ok(added) => documents_added.extend(added),
            Err(e @ AppError::PlanLimitReached { .. }) => {
                eprintln!("stopped adding files: {}", e.message());
                break;
            }
            Err(e) => bail!("{}: {}", file.display(), e.message()),
        }
    }
    if !skipped.is_empty() {
        eprintln!(
            "skipped {} file(s) of unsupported types: {}",
            skipped.len(),
            skipped.join(", ")
        );
    }
    if documents_added.is_empty() {
        bail!("no supported files to ingest");
    }

    let mut progress = Progress::new("ingest", documents_added.len());
    let worker = Worker::new(app.clone(), format!("cli-{}", std::process::id()));
    let (mut completed, mut failed) = (0, Vec::new());
    for doc in &documents_added {
        // Each upload queued one job; run jobs until this document has an outcome.
        loop {
            let current = documents::get(app, &caller, doc.id)
                .await
                .map_err(|e| anyhow::anyhow!(e.message()))?;
            match current.status {
                DocumentStatus::Completed => {
                    completed += 1;
                    break;
                }
                DocumentStatus::Failed => {
                    failed.push(format!(
                        "{}: {}",
                        current.file_name.unwrap_or_default(),
                        current.error_message.unwrap_or_default()
                    ));
                    break;
                }
                _ => {
                    if worker
                        .run_once()
                        .await
                        .map_err(|e| anyhow::anyhow!(e.message()))?
                        .is_none()
                    {
                        // Another process holds the job; wait for it.
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
        }
        progress.tick(doc.file_name.as_deref().unwrap_or(""));
    }
    progress.finish();
    eprintln!(
        "{completed} document(s) ready in chat space {slug}, {} failed",
        failed.len()
    );
    for line in &failed {
        eprintln!("  failed: {line}");
    }
    if completed == 0 {
        bail!("nothing could be ingested");
    }
    Ok(())
}
