//! Extraction in a child process: `docent extract --serve` under a memory limit, with a
//! time limit per file. A file that crashes PDFium, loops forever or balloons in memory
//! ends that child, never the server, and its document fails with a clear message.
//!
//! One child serves many files in turn (starting a process and loading PDFium costs more
//! than reading a typical file); it is replaced after a crash, a timeout, or
//! [`FILES_PER_CHILD`] files.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use docent_ingest::Extracted;
use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::Mutex;

/// Files one child reads before a fresh one takes over (bounds any slow leak).
const FILES_PER_CHILD: usize = 500;

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
    /// The child could not be started or the file not handed over (worth a retry).
    Broken(String),
}

/// Limits of one extraction.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub memory_mb: u32,
    pub timeout: Duration,
}

#[derive(Debug)]
struct Child_ {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
    served: usize,
}

/// A long-lived `docent extract --serve` child, started on first use.
#[derive(Debug)]
pub struct Extractor {
    bin: PathBuf,
    limits: Limits,
    child: Mutex<Option<Child_>>,
}

/// One attempt at a file.
enum Attempt {
    Answer(Outcome),
    /// The child died on this file; a fresh child may still read it.
    Crashed(String),
}

const CRASHED: &str = "The file could not be processed: it stopped the reader (crash or memory limit). \
                       Check that it opens, or save it again and upload the copy.";

impl Extractor {
    pub fn new(bin: impl Into<PathBuf>, limits: Limits) -> Extractor {
        Extractor {
            bin: bin.into(),
            limits,
            child: Mutex::new(None),
        }
    }

    /// Reads `bytes`, saved under `file_name` in a private temporary directory (the name
    /// breaks ties between text and Markdown).
    pub async fn extract(&self, bytes: &[u8], file_name: &str) -> Outcome {
        let dir =
            std::env::temp_dir().join(format!("docent-extract-{}", uuid::Uuid::now_v7().simple()));
        let outcome = match self.prepare(&dir, bytes, file_name).await {
            Err(e) => Outcome::Broken(e),
            Ok(path) => match self.attempt(&path, file_name).await {
                Attempt::Answer(outcome) => outcome,
                // A child that served many files may have died of something else: retry
                // once in a fresh one before blaming this file.
                Attempt::Crashed(_) => match self.attempt(&path, file_name).await {
                    Attempt::Answer(outcome) => outcome,
                    Attempt::Crashed(detail) => {
                        tracing::warn!(file = file_name, %detail, "the extractor stopped on a file");
                        Outcome::Refused(CRASHED.to_owned())
                    }
                },
            },
        };
        if let Err(e) = tokio::fs::remove_dir_all(&dir).await {
            tracing::warn!(dir = %dir.display(), error = %e, "removing an extraction directory failed");
        }
        outcome
    }

    async fn prepare(&self, dir: &Path, bytes: &[u8], file_name: &str) -> Result<PathBuf, String> {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let safe: String = file_name
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = dir.join(if safe.is_empty() {
            "upload".to_owned()
        } else {
            safe
        });
        tokio::fs::write(&path, bytes)
            .await
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
        Ok(path)
    }

    fn spawn(&self) -> Result<Child_, String> {
        // `ulimit -v` caps the child's address space; `exec` keeps one process to kill.
        let mut child = Command::new("sh")
            .arg("-c")
            .arg("ulimit -v \"$1\" && shift && exec \"$@\"")
            .arg("sh")
            .arg((u64::from(self.limits.memory_mb) * 1024).to_string())
            .arg(&self.bin)
            .args(["extract", "--serve"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", self.bin.display()))?;
        let stdin = child.stdin.take().ok_or("the extractor has no stdin")?;
        let stdout = child.stdout.take().ok_or("the extractor has no stdout")?;
        Ok(Child_ {
            child,
            stdin,
            stdout: BufReader::new(stdout).lines(),
            served: 0,
        })
    }

    async fn attempt(&self, path: &Path, file_name: &str) -> Attempt {
        let mut slot = self.child.lock().await;
        if slot.as_ref().is_none_or(|c| c.served >= FILES_PER_CHILD) {
            match self.spawn() {
                Ok(child) => *slot = Some(child),
                Err(e) => return Attempt::Answer(Outcome::Broken(e)),
            }
        }
        let Some(child) = slot.as_mut() else {
            return Attempt::Answer(Outcome::Broken("no extractor".into()));
        };
        let request = serde_json::json!({"path": path, "file_name": file_name}).to_string() + "\n";
        if let Err(e) = child.stdin.write_all(request.as_bytes()).await {
            *slot = None;
            return Attempt::Crashed(format!("handing over the file: {e}"));
        }
        let line = match tokio::time::timeout(self.limits.timeout, child.stdout.next_line()).await {
            Ok(Ok(Some(line))) => line,
            Ok(Ok(None)) | Ok(Err(_)) => {
                let status = child.child.try_wait().ok().flatten();
                *slot = None;
                return Attempt::Crashed(format!("the extractor ended ({status:?})"));
            }
            Err(_) => {
                *slot = None; // dropping the child kills it
                return Attempt::Answer(Outcome::Refused(format!(
                    "Processing took longer than {} s; split the file into smaller ones and try again.",
                    self.limits.timeout.as_secs()
                )));
            }
        };
        child.served += 1;
        match serde_json::from_str::<Answer>(&line) {
            Ok(Answer::Done { document }) => Attempt::Answer(Outcome::Done(document)),
            Ok(Answer::Failed { error }) => Attempt::Answer(Outcome::Refused(error)),
            Err(e) => {
                *slot = None;
                Attempt::Crashed(format!("unreadable answer: {e}"))
            }
        }
    }
}
