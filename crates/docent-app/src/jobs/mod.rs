//! Background work (DESIGN §6): one queue of jobs of every kind. Workers claim a job with a
//! lease, heartbeat while they work, and a crashed worker's job is taken over when its lease
//! runs out. A passing failure is retried as the kind's [`RetryPolicy`] says; recurring kinds
//! queue their next run when one ends (keyed, so every instance may schedule it and one runs
//! it). [`Worker::run_once`] lets tests step the queue.

mod crawl;
mod embed;
mod ingest;
pub mod isolated;
mod sweep;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use docent_core::*;
use tokio::sync::watch;

use crate::App;
use crate::AppError;

/// Why a job did not complete.
#[derive(Debug)]
pub enum JobError {
    /// Retrying cannot help (the file is broken or unsupported); the owner is told why.
    Final(String),
    /// Something outside the job failed (database, disk, a site); worth another attempt.
    Passing(String),
    /// Like `Passing`, with the time the next attempt is due (a receiver's `Retry-After`,
    /// the schedule's wait), when the kind retries after this attempt.
    Later {
        message: String,
        at: chrono::DateTime<Utc>,
    },
}

impl From<docent_store::StoreError> for JobError {
    fn from(e: docent_store::StoreError) -> Self {
        JobError::Passing(e.to_string())
    }
}

/// A job about one document, with the ids that every such job has.
#[derive(Debug)]
pub struct DocumentJob<'a> {
    pub job: &'a Job,
    pub org_id: OrgId,
    pub chat_space_id: ChatSpaceId,
    pub document_id: DocumentId,
}

impl<'a> DocumentJob<'a> {
    fn of(job: &'a Job) -> Option<DocumentJob<'a>> {
        Some(DocumentJob {
            job,
            org_id: job.org_id?,
            chat_space_id: job.chat_space_id?,
            document_id: job.document_id?,
        })
    }
}

impl std::ops::Deref for DocumentJob<'_> {
    type Target = Job;

    fn deref(&self) -> &Job {
        self.job
    }
}

/// The key of the recurring job of `kind`: one is queued at a time across all instances.
fn schedule_key(kind: JobKind) -> String {
    format!("every:{}", kind.as_str())
}

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
        self.run_once_at(Utc::now()).await
    }

    /// Claims and runs one job that is due at `now` (tests step the queue's clock with it,
    /// to see retries that are hours away).
    pub async fn run_once_at(&self, now: chrono::DateTime<Utc>) -> Result<Option<Job>, AppError> {
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
        let ended = !matches!(outcome, JobOutcome::Retry { .. });
        let held = self
            .app
            .store
            .finish_job(job.id, &self.name, outcome, Utc::now())
            .await?;
        if let Some(every) = job.job_type.every()
            && ended
            && held
        {
            schedule(&self.app, job.job_type, Utc::now() + every).await;
        }
        // Completed, failed or waiting for a retry: the document's watchers re-read it.
        if let Some(space) = job.chat_space_id {
            crate::events::documents_changed(&self.app, space).await;
        }
        Ok(Some(job))
    }

    async fn run_job(&self, job: &Job) -> JobOutcome {
        let beat = self.heartbeat(job.id);
        let document = DocumentJob::of(job);
        let extractor = self.extractor.as_deref();
        let result = match (job.job_type, &document) {
            (JobKind::Sweep, _) => sweep::run(&self.app).await,
            (JobKind::Questions, _) => crate::insights::questions::group_new(&self.app)
                .await
                .map(|_| ())
                .map_err(|e| JobError::Passing(e.to_string())),
            (JobKind::Recheck, _) => crate::insights::gaps::recheck(&self.app, job).await,
            (JobKind::Retention, _) => crate::privacy::sweep(&self.app)
                .await
                .map(|_| ())
                .map_err(|e| JobError::Passing(e.to_string())),
            (JobKind::Webhook, _) => crate::webhooks::deliver(&self.app, job).await,
            (JobKind::WebhookHealth, _) => crate::answer_webhook::check_all(&self.app)
                .await
                .map(|_| ())
                .map_err(|e| JobError::Passing(e.to_string())),
            (_, None) => Err(JobError::Final(format!(
                "a {} job needs its organization, chat space and document",
                job.job_type.as_str()
            ))),
            (JobKind::Ingest, Some(d)) => ingest::run(&self.app, d, extractor).await,
            (JobKind::Fetch, Some(d)) => ingest::fetch_and_run(&self.app, d, extractor).await,
            (JobKind::Crawl, Some(d)) => crawl::run(&self.app, d).await,
            (JobKind::Embed, Some(d)) => embed::run(&self.app, d).await,
        };
        beat.abort();
        let policy = job.job_type.retry();
        let message = match result {
            Ok(()) => return JobOutcome::Completed,
            Err(JobError::Passing(message)) if policy.retries_after(job.attempts) => {
                tracing::warn!(job = %job.id, kind = job.job_type.as_str(), attempt = job.attempts, %message, "job failed; will retry");
                return JobOutcome::Retry {
                    message,
                    run_after: Utc::now() + policy.delay_after(job.attempts),
                };
            }
            Err(JobError::Later { message, at }) if policy.retries_after(job.attempts) => {
                return JobOutcome::Retry {
                    message,
                    run_after: at,
                };
            }
            Err(JobError::Final(message)) => message,
            Err(JobError::Passing(message)) if policy.max_attempts() > 1 => {
                format!(
                    "Processing failed after {} attempts: {message}",
                    job.attempts
                )
            }
            Err(JobError::Passing(message) | JobError::Later { message, .. }) => message,
        };
        // Every final failure reaches the document, whichever step raised it.
        match &document {
            Some(d) => ingest::mark_failed(&self.app, d, &message).await,
            None => {
                tracing::warn!(job = %job.id, kind = job.job_type.as_str(), %message, "job failed")
            }
        }
        JobOutcome::Failed(message)
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

/// Queues the next run of the recurring `kind` for `at`, unless one is queued already.
pub async fn schedule(app: &App, kind: JobKind, at: chrono::DateTime<Utc>) {
    let job = NewJob::of(kind).at(at).keyed(schedule_key(kind));
    match app.store.enqueue_job(job, Utc::now()).await {
        Ok(job) if job.run_after <= Utc::now() => crate::events::jobs_queued(app).await,
        Ok(_) => {}
        Err(e) => tracing::warn!(kind = kind.as_str(), error = %e, "could not schedule a job"),
    }
}

/// Starts `count` workers named after this process, and makes sure the recurring jobs are
/// scheduled; the workers stop when `shutdown` turns true.
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
    let app = app.clone();
    tasks.push(tokio::spawn(async move {
        for kind in <JobKind as strum::IntoEnumIterator>::iter() {
            if kind.every().is_some() {
                schedule(&app, kind, Utc::now()).await;
            }
        }
    }));
    tasks
}
