//! Background work (DESIGN §6): jobs are rows; workers claim them with a lease, heartbeat
//! while they work, and a crashed worker's job is taken over when its lease runs out.
//! [`Worker::run_once`] lets tests step the queue.

mod crawl;
mod embed;
mod ingest;
pub mod isolated;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use docent_core::*;
use tokio::sync::watch;

use crate::App;
use crate::AppError;

/// Attempts before a job that keeps failing for passing reasons is given up.
pub const MAX_ATTEMPTS: i32 = 3;
/// How long an idle worker waits before looking for work again (a new job wakes it
/// earlier in this process; other processes find it within this time).
const IDLE_POLL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct Worker {
    app: App,
    name: String,
    /// This worker's extraction child, when files are read out of process.
    extractor: Option<Arc<isolated::Extractor>>,
}

impl Worker {
    pub fn new(app: App, name: impl Into<String>) -> Worker {
        let extractor = app.settings.extractor.as_ref().map(|bin| {
            let limits = isolated::Limits {
                memory_mb: app.settings.extract_memory_mb,
                timeout: Duration::from_secs(u64::from(app.settings.extract_timeout_secs)),
            };
            Arc::new(isolated::Extractor::new(bin, limits))
        });
        Worker {
            app,
            name: name.into(),
            extractor,
        }
    }

    /// How long a claimed job stays with this worker without a heartbeat.
    fn lease(&self) -> chrono::Duration {
        chrono::Duration::seconds(i64::from(self.app.settings.job_lease_secs))
    }

    /// Claims and runs one due job; `None` when there was none.
    pub async fn run_once(&self) -> Result<Option<Job>, AppError> {
        let now = Utc::now();
        let lease = self.lease();
        let Some(job) = self
            .app
            .store
            .claim_job(&self.name, now, now + lease)
            .await?
        else {
            return Ok(None);
        };
        let outcome = self.run_job(&job).await;
        self.app
            .store
            .finish_job(job.id, &self.name, outcome, Utc::now())
            .await?;
        // Completed, failed or waiting for a retry: the document's watchers re-read it.
        crate::events::documents_changed(&self.app, job.chat_space_id).await;
        Ok(Some(job))
    }

    async fn run_job(&self, job: &Job) -> JobOutcome {
        let beat = self.heartbeat(job.id);
        let result = match job.job_type {
            JobKind::Ingest => ingest::run(&self.app, job, self.extractor.as_deref()).await,
            JobKind::Fetch => {
                ingest::fetch_and_run(&self.app, job, self.extractor.as_deref()).await
            }
            JobKind::Crawl => crawl::run(&self.app, job).await,
            JobKind::Embed => embed::run(&self.app, job).await,
        };
        beat.abort();
        match result {
            Ok(()) => JobOutcome::Completed,
            // Every final failure reaches the document, whichever step raised it.
            Err(ingest::JobError::Final(message)) => {
                ingest::mark_failed(&self.app, job, &message).await;
                JobOutcome::Failed(message)
            }
            Err(ingest::JobError::Passing(message)) if job.attempts < MAX_ATTEMPTS => {
                let backoff = 10 * 2i64.pow(job.attempts.clamp(0, 10) as u32);
                tracing::warn!(job = %job.id, attempt = job.attempts, %message, "job failed; will retry");
                JobOutcome::Retry {
                    message,
                    run_after: Utc::now() + chrono::Duration::seconds(backoff),
                }
            }
            Err(ingest::JobError::Passing(message)) => {
                ingest::mark_failed(
                    &self.app,
                    job,
                    &format!(
                        "Processing failed after {} attempts: {message}",
                        job.attempts
                    ),
                )
                .await;
                JobOutcome::Failed(message)
            }
        }
    }

    /// Renews the lease four times per lease period until aborted.
    fn heartbeat(&self, job: JobId) -> tokio::task::JoinHandle<()> {
        let app = self.app.clone();
        let name = self.name.clone();
        let lease = self.lease();
        let every = Duration::from_millis(u64::from(app.settings.job_lease_secs) * 250);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                match app
                    .store
                    .heartbeat_job(job, &name, Utc::now() + lease, 0)
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(%job, "lost the lease of a running job");
                        return;
                    }
                    Err(e) => tracing::warn!(%job, error = %e, "heartbeat failed"),
                }
            }
        })
    }

    /// Works until `shutdown` turns true, finishing the job at hand first.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!(worker = %self.name, "worker started");
        // Jobs queued on any replica wake this worker (see `events::jobs_queued`).
        let mut queued = match self
            .app
            .store
            .hub()
            .subscribe(crate::events::JOBS_TOPIC)
            .await
        {
            Ok(subscription) => Some(subscription),
            Err(e) => {
                tracing::warn!(worker = %self.name, error = %e, "not hearing queued jobs; looking every second");
                None
            }
        };
        while !*shutdown.borrow() {
            // A bug that panics in a job must not stop the worker: the job's lease runs
            // out and it is retried, and this worker goes on with the next one.
            let attempt = futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(
                self.run_once(),
            ))
            .await;
            match attempt {
                Ok(Ok(Some(_))) => continue,
                Ok(Ok(None)) => {}
                Ok(Err(e)) => {
                    tracing::error!(worker = %self.name, error = %e, "claiming a job failed")
                }
                Err(_) => {
                    tracing::error!(worker = %self.name, "a job panicked; its lease will run out and it will be retried")
                }
            }
            tokio::select! {
                _ = docent_store::hub::heard(&mut queued) => {}
                _ = self.app.jobs_waiting.notified() => {}
                _ = tokio::time::sleep(IDLE_POLL) => {}
                _ = shutdown.changed() => {}
            }
        }
        tracing::info!(worker = %self.name, "worker stopped");
    }
}

/// Starts `count` workers named after this process, and the housekeeping task; they stop
/// when `shutdown` turns true.
pub fn spawn_workers(
    app: &App,
    count: u32,
    shutdown: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "docent".into());
    let mut tasks: Vec<_> = (0..count)
        .map(|i| {
            let worker = Worker::new(app.clone(), format!("{host}-{}-{i}", std::process::id()));
            tokio::spawn(worker.run(shutdown.clone()))
        })
        .collect();
    tasks.push(tokio::spawn(housekeeping(app.clone(), shutdown)));
    tasks
}

/// Once a minute, closes widget conversations quiet for longer than `widget_idle_secs`.
/// Every replica may run it: closing is idempotent.
async fn housekeeping(app: App, mut shutdown: watch::Receiver<bool>) {
    let idle = chrono::Duration::seconds(i64::from(app.settings.widget_idle_secs));
    while !*shutdown.borrow() {
        let now = Utc::now();
        match app
            .store
            .close_idle_conversations(Channel::Widget, now - idle, now)
            .await
        {
            Ok(0) => {}
            Ok(closed) => tracing::info!(closed, "closed idle widget conversations"),
            Err(e) => tracing::warn!(error = %e, "closing idle conversations failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            _ = shutdown.changed() => {}
        }
    }
}
