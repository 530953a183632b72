//! The storage contract of the job queue (DESIGN §6), and the row both backends read jobs
//! into. The SQL lives in each backend's `jobs.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use docent_core::*;
use sqlx::types::Json;
use uuid::Uuid;

use crate::Result;
use crate::rows::parse;

#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Queues `job`. A keyed job whose key a pending or running job already has is not
    /// queued again: that job is returned.
    async fn enqueue_job(&self, job: NewJob, now: DateTime<Utc>) -> Result<Job>;
    /// Takes the next job that is due (or whose lease ran out) for `worker` until
    /// `lease_until`. Two workers never get the same job.
    async fn claim_job(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<Job>>;
    /// Extends the lease and records progress; false when `worker` lost the job.
    async fn heartbeat_job(
        &self,
        id: JobId,
        worker: &str,
        lease_until: DateTime<Utc>,
        progress: i32,
    ) -> Result<bool>;
    /// Ends a claimed job; false when `worker` no longer held it.
    async fn finish_job(
        &self,
        id: JobId,
        worker: &str,
        outcome: JobOutcome,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// The jobs of a document, newest first.
    async fn list_jobs(&self, org: OrgId, document: DocumentId) -> Result<Vec<Job>>;
    /// The pending or running job with `key`, if there is one.
    async fn find_job_by_key(&self, key: &str) -> Result<Option<Job>>;
}

/// A stored job's columns, in the order of [`job_columns!`].
#[derive(Debug, sqlx::FromRow)]
pub struct JobRow {
    pub id: Uuid,
    pub org_id: Option<Uuid>,
    pub chat_space_id: Option<Uuid>,
    pub document_id: Option<Uuid>,
    pub job_type: String,
    pub status: String,
    pub progress: i32,
    pub attempts: i32,
    pub run_after: DateTime<Utc>,
    pub locked_by: Option<String>,
    pub locked_until: Option<DateTime<Utc>>,
    pub error_message: Option<String>,
    pub payload: Json<serde_json::Value>,
    pub dedupe_key: Option<String>,
}

impl JobRow {
    pub fn into_domain(self) -> Result<Job> {
        Ok(Job {
            id: JobId(self.id),
            org_id: self.org_id.map(OrgId),
            chat_space_id: self.chat_space_id.map(ChatSpaceId),
            document_id: self.document_id.map(DocumentId),
            job_type: parse("job_type", &self.job_type, JobKind::parse)?,
            status: parse("status", &self.status, JobStatus::parse)?,
            progress: self.progress,
            attempts: self.attempts,
            run_after: self.run_after,
            locked_by: self.locked_by,
            locked_until: self.locked_until,
            error_message: self.error_message,
            payload: self.payload.0,
            key: self.dedupe_key,
        })
    }
}

/// What [`JobQueue::finish_job`] writes for an outcome: status, message and when it is due
/// again (for a retry).
pub fn finished(outcome: &JobOutcome) -> (JobStatus, Option<&str>, Option<DateTime<Utc>>) {
    match outcome {
        JobOutcome::Completed => (JobStatus::Completed, None, None),
        JobOutcome::Failed(m) => (JobStatus::Failed, Some(m.as_str()), None),
        JobOutcome::Retry { message, run_after } => {
            (JobStatus::Pending, Some(message.as_str()), Some(*run_after))
        }
    }
}

#[macro_export]
macro_rules! job_columns {
    () => {
        "id, org_id, chat_space_id, document_id, job_type, status, progress, attempts, \
         run_after, locked_by, locked_until, error_message, payload, dedupe_key"
    };
}
