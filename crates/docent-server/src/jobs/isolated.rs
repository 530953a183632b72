//! Extraction in a child process: `docent extract --json` under a memory limit and a time
//! limit. A file that crashes PDFium, loops forever or balloons in memory ends that child,
//! never the server, and its document fails with a clear message.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use docent_ingest::Extracted;
use serde::Deserialize;
use tokio::io::AsyncReadExt;
use tokio::process::Command;

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Answer {
    Done { document: Extracted },
    Failed { error: String },
}

/// What the child said, or why it said nothing useful.
#[derive(Debug)]
pub enum Outcome {
    /// The text; chunking happens in the caller, whose tokenizer is already loaded.
    Done(Extracted),
    /// The file is the problem; the message is for the owner.
    Refused(String),
    /// The child could not be started or its output not read (worth a retry).
    Broken(String),
}

/// Limits of one extraction.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub memory_mb: u32,
    pub timeout: Duration,
}

/// Runs `extractor extract FILE --json` on `bytes`, saved under `file_name` in a private
/// temporary directory (the name breaks ties between text and Markdown).
pub async fn extract(extractor: &Path, bytes: &[u8], file_name: &str, limits: Limits) -> Outcome {
    let dir =
        std::env::temp_dir().join(format!("docent-extract-{}", uuid::Uuid::now_v7().simple()));
    let result = run(extractor, &dir, bytes, file_name, limits).await;
    if let Err(e) = tokio::fs::remove_dir_all(&dir).await {
        tracing::warn!(dir = %dir.display(), error = %e, "removing an extraction directory failed");
    }
    result
}

async fn run(
    extractor: &Path,
    dir: &Path,
    bytes: &[u8],
    file_name: &str,
    limits: Limits,
) -> Outcome {
    if let Err(e) = tokio::fs::create_dir_all(dir).await {
        return Outcome::Broken(format!("creating {}: {e}", dir.display()));
    }
    let safe_name: String = file_name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let path = dir.join(if safe_name.is_empty() {
        "upload".to_owned()
    } else {
        safe_name
    });
    if let Err(e) = tokio::fs::write(&path, bytes).await {
        return Outcome::Broken(format!("writing {}: {e}", path.display()));
    }
    // `ulimit -v` caps the child's address space; `exec` keeps one process to kill.
    let mut child = match Command::new("sh")
        .arg("-c")
        .arg("ulimit -v \"$1\" && shift && exec \"$@\"")
        .arg("sh")
        .arg((u64::from(limits.memory_mb) * 1024).to_string())
        .arg(extractor)
        .arg("extract")
        .arg(&path)
        .arg("--json")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
    {
        Ok(child) => child,
        Err(e) => return Outcome::Broken(format!("starting {}: {e}", extractor.display())),
    };
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let work = async {
        let mut out = Vec::new();
        let mut err = Vec::new();
        if let Some(s) = stdout.as_mut() {
            s.read_to_end(&mut out).await.ok();
        }
        if let Some(s) = stderr.as_mut() {
            s.take(64 * 1024).read_to_end(&mut err).await.ok();
        }
        let status = child.wait().await;
        (out, err, status)
    };
    let (out, err, status) = match tokio::time::timeout(limits.timeout, work).await {
        Ok(done) => done,
        Err(_) => {
            return Outcome::Refused(format!(
                "Processing took longer than {} s; split the file into smaller ones and try again.",
                limits.timeout.as_secs()
            ));
        }
    };
    match serde_json::from_slice::<Answer>(&out) {
        Ok(Answer::Done { document }) => Outcome::Done(document),
        Ok(Answer::Failed { error }) => Outcome::Refused(error),
        Err(_) => {
            let stderr = String::from_utf8_lossy(&err);
            tracing::warn!(status = ?status, stderr = %stderr.trim(), "the extractor stopped without an answer");
            let how = match status {
                Ok(s) if s.code().is_none() => "it stopped the reader (crash or memory limit)",
                Ok(_) => "the reader gave no answer",
                Err(_) => "the reader could not be watched",
            };
            Outcome::Refused(format!(
                "The file could not be processed: {how}. Check that it opens, or save it again and upload the copy."
            ))
        }
    }
}
