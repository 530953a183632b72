//! Background work (DESIGN §6): one queue for every kind of job. A job is a [`JobKind`], a
//! JSON payload, optionally the organization, chat space and document it concerns, and a
//! time from which it may run (`run_after`), which is how work is scheduled.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ChatSpaceId, DocumentId, JobId, OrgId};

/// What a background job does, stored by its snake_case name.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, strum::EnumIter, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Read a stored file into chunks.
    Ingest,
    /// Fetch a web page, then ingest it.
    Fetch,
    /// Crawl a site into pages of its own.
    Crawl,
    /// Embed a document's chunks.
    Embed,
    /// Housekeeping on a schedule: close widget conversations that went quiet.
    Sweep,
    /// On a schedule: put visitors' new questions into groups (top questions, gaps).
    Questions,
    /// Ask a knowledge gap's questions again once the owner's answer is read; payload
    /// `{"group_id": …, "document_id": …}` (that answer).
    Recheck,
    /// On a schedule: delete conversations past their chat space's retention.
    Retention,
    /// Send one webhook delivery; payload `{"delivery_id": …}` (and `"once": true` for a
    /// redelivery asked for by hand, which is not retried).
    Webhook,
    /// Every hour: ask each answer webhook (`answer_mode: webhook`) whether it is there.
    WebhookHealth,
}

/// How a kind of job is retried after a passing failure: up to `max_attempts` runs in all,
/// waiting `first_delay_secs` after the first failure and twice as long after each next one,
/// never more than `max_delay_secs`; or, for a webhook delivery, on a fixed schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryPolicy {
    Doubling {
        max_attempts: i32,
        first_delay_secs: i64,
        max_delay_secs: i64,
    },
    /// The waits after the first, second, … failed run: one more run than waits in all.
    Schedule(&'static [i64]),
}

/// Standard Webhooks' retry schedule: at once, then after 5 s, 5 min, 30 min, 2 h, 5 h,
/// 10 h, 14 h, 20 h and 24 h — ten attempts over about three days.
pub const WEBHOOK_RETRY_SECS: &[i64] = &[
    5,
    5 * 60,
    30 * 60,
    2 * 3600,
    5 * 3600,
    10 * 3600,
    14 * 3600,
    20 * 3600,
    24 * 3600,
];

/// How far a jittered wait may move either way, as a share of itself: deliveries that one
/// outage failed together are not all retried in the same second (Standard Webhooks asks for
/// jitter).
pub const JITTER: f64 = 0.1;

impl RetryPolicy {
    /// How many runs a job gets in all.
    pub fn max_attempts(&self) -> i32 {
        match self {
            RetryPolicy::Doubling { max_attempts, .. } => *max_attempts,
            RetryPolicy::Schedule(waits) => i32::try_from(waits.len()).unwrap_or(i32::MAX - 1) + 1,
        }
    }

    /// Whether a job that has run `attempts` times may run again.
    pub fn retries_after(&self, attempts: i32) -> bool {
        attempts < self.max_attempts()
    }

    /// How long to wait after the `attempts`-th run failed.
    pub fn delay_after(&self, attempts: i32) -> chrono::Duration {
        let secs = match *self {
            RetryPolicy::Doubling {
                first_delay_secs,
                max_delay_secs,
                ..
            } => {
                let doublings = u32::try_from(attempts.saturating_sub(1))
                    .unwrap_or(0)
                    .min(30);
                first_delay_secs
                    .saturating_mul(1i64 << doublings)
                    .min(max_delay_secs)
            }
            RetryPolicy::Schedule(waits) => {
                let i = usize::try_from(attempts.saturating_sub(1)).unwrap_or(0);
                waits.get(i).or(waits.last()).copied().unwrap_or(0)
            }
        };
        chrono::Duration::seconds(secs)
    }

    /// [`delay_after`](Self::delay_after) moved by up to [`JITTER`] of itself: `unit` runs
    /// from 0 (that much sooner) to 1 (that much later); give it a random number.
    pub fn jittered_delay_after(&self, attempts: i32, unit: f64) -> chrono::Duration {
        let wait = self.delay_after(attempts).num_milliseconds() as f64;
        let factor = 1.0 + JITTER * (2.0 * unit.clamp(0.0, 1.0) - 1.0);
        chrono::Duration::milliseconds((wait * factor).round() as i64)
    }
}

impl JobKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Ingest => "ingest",
            JobKind::Fetch => "fetch",
            JobKind::Crawl => "crawl",
            JobKind::Embed => "embed",
            JobKind::Sweep => "sweep",
            JobKind::Questions => "questions",
            JobKind::Recheck => "recheck",
            JobKind::Retention => "retention",
            JobKind::Webhook => "webhook",
            JobKind::WebhookHealth => "webhook_health",
        }
    }

    pub fn parse(s: &str) -> Option<JobKind> {
        <JobKind as strum::IntoEnumIterator>::iter().find(|k| k.as_str() == s)
    }

    /// How this kind is retried after a passing failure.
    pub fn retry(self) -> RetryPolicy {
        match self {
            // A file or page that failed for a passing reason (disk, database, a site that
            // was down) is worth a few more tries within minutes.
            JobKind::Ingest | JobKind::Fetch | JobKind::Crawl | JobKind::Embed => {
                RetryPolicy::Doubling {
                    max_attempts: 3,
                    first_delay_secs: 20,
                    max_delay_secs: 600,
                }
            }
            // Until the owner's answer is read (its ingestion is queued just before): a few
            // seconds, then longer.
            JobKind::Recheck => RetryPolicy::Doubling {
                max_attempts: 10,
                first_delay_secs: 2,
                max_delay_secs: 120,
            },
            // The next scheduled run comes soon anyway.
            JobKind::Sweep | JobKind::Questions | JobKind::Retention | JobKind::WebhookHealth => {
                RetryPolicy::Doubling {
                    max_attempts: 1,
                    first_delay_secs: 60,
                    max_delay_secs: 60,
                }
            }
            JobKind::Webhook => RetryPolicy::Schedule(WEBHOOK_RETRY_SECS),
        }
    }

    /// For recurring work: how long after one run ends the next is due.
    pub fn every(self) -> Option<chrono::Duration> {
        match self {
            JobKind::Sweep | JobKind::Questions => Some(chrono::Duration::seconds(60)),
            JobKind::Retention | JobKind::WebhookHealth => Some(chrono::Duration::hours(1)),
            JobKind::Ingest
            | JobKind::Fetch
            | JobKind::Crawl
            | JobKind::Embed
            | JobKind::Recheck
            | JobKind::Webhook => None,
        }
    }
}

/// Where a job is in its life, stored by its snake_case name.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, strum::EnumIter, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Pending,
    Running,
    Completed,
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Running => "running",
            JobStatus::Completed => "completed",
            JobStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<JobStatus> {
        <JobStatus as strum::IntoEnumIterator>::iter().find(|k| k.as_str() == s)
    }
}

/// A unit of background work.
#[derive(Clone, Debug, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Job {
    pub id: JobId,
    pub org_id: Option<OrgId>,
    pub chat_space_id: Option<ChatSpaceId>,
    pub document_id: Option<DocumentId>,
    pub job_type: JobKind,
    pub status: JobStatus,
    pub progress: i32,
    pub attempts: i32,
    pub run_after: DateTime<Utc>,
    pub locked_by: Option<String>,
    pub locked_until: Option<DateTime<Utc>>,
    pub error_message: Option<String>,
    /// What the job needs beyond its ids (a crawl's limits); `{}` when nothing.
    pub payload: serde_json::Value,
    /// At most one pending or running job has a given key (a schedule's name).
    pub key: Option<String>,
}

/// A job to queue.
#[derive(Clone, Debug, PartialEq)]
pub struct NewJob {
    pub kind: JobKind,
    pub org_id: Option<OrgId>,
    pub chat_space_id: Option<ChatSpaceId>,
    pub document_id: Option<DocumentId>,
    pub payload: serde_json::Value,
    /// Due from then on; `None` for now.
    pub run_after: Option<DateTime<Utc>>,
    /// When set, queuing a job whose key a pending or running job has already returns
    /// that job instead: every instance may schedule the work, one runs it.
    pub key: Option<String>,
}

impl NewJob {
    /// Work on one document, due now.
    pub fn for_document(
        kind: JobKind,
        org: OrgId,
        chat_space: ChatSpaceId,
        document: DocumentId,
    ) -> NewJob {
        NewJob {
            kind,
            org_id: Some(org),
            chat_space_id: Some(chat_space),
            document_id: Some(document),
            ..NewJob::of(kind)
        }
    }

    /// Work of no organization in particular, due now.
    pub fn of(kind: JobKind) -> NewJob {
        NewJob {
            kind,
            org_id: None,
            chat_space_id: None,
            document_id: None,
            payload: serde_json::json!({}),
            run_after: None,
            key: None,
        }
    }

    pub fn with_payload(mut self, payload: serde_json::Value) -> NewJob {
        self.payload = payload;
        self
    }

    pub fn at(mut self, run_after: DateTime<Utc>) -> NewJob {
        self.run_after = Some(run_after);
        self
    }

    pub fn keyed(mut self, key: impl Into<String>) -> NewJob {
        self.key = Some(key.into());
        self
    }
}

/// How a claimed job ended.
#[derive(Clone, Debug, PartialEq)]
pub enum JobOutcome {
    Completed,
    /// Given up: the error is final (a broken file, too many attempts).
    Failed(String),
    /// Try again at `run_after` (a passing failure).
    Retry {
        message: String,
        run_after: DateTime<Utc>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_statuses_round_trip_by_name() {
        for kind in <JobKind as strum::IntoEnumIterator>::iter() {
            assert_eq!(JobKind::parse(kind.as_str()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).expect("json"),
                serde_json::json!(kind.as_str())
            );
        }
        for status in <JobStatus as strum::IntoEnumIterator>::iter() {
            assert_eq!(JobStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(JobKind::parse("nap"), None);
    }

    #[test]
    fn retries_back_off_up_to_the_cap() {
        let policy = JobKind::Ingest.retry();
        assert!(policy.retries_after(1) && policy.retries_after(2));
        assert!(!policy.retries_after(3));
        let delays: Vec<i64> = (1..=8)
            .map(|a| policy.delay_after(a).num_seconds())
            .collect();
        assert_eq!(delays, [20, 40, 80, 160, 320, 600, 600, 600]);
        assert!(!JobKind::Sweep.retry().retries_after(1));
    }

    #[test]
    fn webhooks_retry_for_about_three_days_on_their_schedule() {
        let policy = JobKind::Webhook.retry();
        assert_eq!(policy.max_attempts(), 10);
        assert!(policy.retries_after(9) && !policy.retries_after(10));
        let waits: Vec<i64> = (1..=9)
            .map(|a| policy.delay_after(a).num_seconds())
            .collect();
        assert_eq!(waits, WEBHOOK_RETRY_SECS);
        let total: i64 = waits.iter().sum();
        assert!((3 * 86_400..4 * 86_400).contains(&total), "{total} s");
    }

    #[test]
    fn jitter_moves_a_wait_by_a_tenth_at_most() {
        let policy = JobKind::Webhook.retry();
        let ms = |unit: f64| policy.jittered_delay_after(2, unit).num_milliseconds();
        assert_eq!([ms(0.0), ms(0.5), ms(1.0)], [270_000, 300_000, 330_000]);
        assert_eq!((ms(-3.0), ms(7.0)), (270_000, 330_000));
        assert_eq!(
            policy.jittered_delay_after(1, 0.75).num_milliseconds(),
            5_250
        );
    }
}
