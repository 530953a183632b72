//! Conformance stories of the job queue.

use chrono::{Duration, Utc};
use docent_core::*;

use super::*;
use crate::Store;

pub async fn jobs_are_claimed_once_and_retried(store: &impl Store) {
    let (_, org_a, _, _) = two_orgs(store).await;
    let space = store
        .create_chat_space(org_a.id, new_space("jobs"))
        .await
        .expect("create");
    let doc = store
        .create_document(org_a.id, new_doc(space.id, DocumentStatus::Pending))
        .await
        .expect("doc");
    let job = store
        .enqueue_job(
            NewJob::for_document(JobKind::Ingest, org_a.id, space.id, doc.id),
            Utc::now(),
        )
        .await
        .expect("enqueue");
    let now = Utc::now();
    let lease = now + Duration::seconds(30);
    let claimed = store
        .claim_job("w1", now, lease)
        .await
        .expect("claim")
        .expect("a job");
    assert_eq!(
        (claimed.id, claimed.attempts, claimed.locked_by.as_deref()),
        (job.id, 1, Some("w1"))
    );
    assert!(
        store
            .claim_job("w2", now, lease)
            .await
            .expect("claim")
            .is_none(),
        "leased to w1"
    );
    assert!(
        !store
            .heartbeat_job(job.id, "w2", lease, 50)
            .await
            .expect("beat"),
        "w2 does not hold it"
    );
    assert!(
        store
            .heartbeat_job(job.id, "w1", lease, 50)
            .await
            .expect("beat")
    );
    let later = now + Duration::seconds(60);
    assert!(
        store
            .finish_job(
                job.id,
                "w1",
                JobOutcome::Retry {
                    message: "busy".into(),
                    run_after: later
                },
                now
            )
            .await
            .expect("retry")
    );
    assert!(
        store
            .claim_job("w1", now, lease)
            .await
            .expect("claim")
            .is_none(),
        "not due yet"
    );
    let again = store
        .claim_job("w2", later, later + Duration::seconds(30))
        .await
        .expect("claim")
        .expect("due");
    assert_eq!(
        (again.attempts, again.error_message.as_deref()),
        (2, Some("busy"))
    );
    assert!(
        store
            .finish_job(job.id, "w2", JobOutcome::Completed, later)
            .await
            .expect("done")
    );
    assert!(
        !store
            .finish_job(job.id, "w2", JobOutcome::Completed, later)
            .await
            .expect("twice"),
        "finished already"
    );
    let jobs = store.list_jobs(org_a.id, doc.id).await.expect("jobs");
    assert_eq!(
        (jobs[0].status, jobs[0].progress),
        (JobStatus::Completed, 100)
    );
    assert!(
        store
            .claim_job("w3", later + Duration::days(1), later + Duration::days(2))
            .await
            .expect("claim")
            .is_none()
    );
}

pub async fn expired_leases_pass_to_another_worker(store: &impl Store) {
    let (_, org_a, _, _) = two_orgs(store).await;
    let space = store
        .create_chat_space(org_a.id, new_space("lease"))
        .await
        .expect("create");
    let doc = store
        .create_document(org_a.id, new_doc(space.id, DocumentStatus::Pending))
        .await
        .expect("doc");
    let job = store
        .enqueue_job(
            NewJob::for_document(JobKind::Ingest, org_a.id, space.id, doc.id),
            Utc::now(),
        )
        .await
        .expect("enqueue");
    let now = Utc::now();
    store
        .claim_job("crashed", now, now + Duration::seconds(10))
        .await
        .expect("claim")
        .expect("job");
    let after = now + Duration::seconds(11);
    let taken = store
        .claim_job("survivor", after, after + Duration::seconds(10))
        .await
        .expect("claim")
        .expect("lease ran out");
    assert_eq!((taken.id, taken.attempts), (job.id, 2));
    assert!(
        !store
            .finish_job(job.id, "crashed", JobOutcome::Completed, after)
            .await
            .expect("late"),
        "the old worker lost it"
    );
    assert!(
        store
            .finish_job(
                job.id,
                "survivor",
                JobOutcome::Failed("broken file".into()),
                after
            )
            .await
            .expect("fail")
    );
    assert_eq!(
        store.list_jobs(org_a.id, doc.id).await.expect("jobs")[0].status,
        JobStatus::Failed
    );
}

pub async fn jobs_of_no_document_are_scheduled_and_keyed_once(store: &impl Store) {
    let now = Utc::now();
    let later = now + Duration::seconds(60);
    let payload = serde_json::json!({"window": "hour", "limits": [1, 2]});
    let first = store
        .enqueue_job(
            NewJob::of(JobKind::Sweep)
                .with_payload(payload.clone())
                .at(later)
                .keyed("sweep"),
            now,
        )
        .await
        .expect("enqueue");
    assert_eq!(
        (
            first.org_id,
            first.document_id,
            &first.payload,
            first.status
        ),
        (None, None, &payload, JobStatus::Pending)
    );
    assert_eq!(first.key.as_deref(), Some("sweep"));
    // Another instance scheduling the same work gets the job that is queued already.
    let again = store
        .enqueue_job(NewJob::of(JobKind::Sweep).keyed("sweep"), now)
        .await
        .expect("enqueue again");
    assert_eq!((again.id, again.run_after), (first.id, first.run_after));
    assert!(
        store
            .claim_job("w1", now, now + Duration::seconds(30))
            .await
            .expect("claim")
            .is_none(),
        "scheduled for later"
    );
    let claimed = store
        .claim_job("w1", later, later + Duration::seconds(30))
        .await
        .expect("claim")
        .expect("due now");
    assert_eq!((claimed.id, &claimed.payload), (first.id, &payload));
    let while_running = store
        .enqueue_job(NewJob::of(JobKind::Sweep).keyed("sweep"), later)
        .await
        .expect("enqueue while running");
    assert_eq!(while_running.id, first.id, "a running job holds its key");
    assert!(
        store
            .finish_job(first.id, "w1", JobOutcome::Completed, later)
            .await
            .expect("done")
    );
    assert!(
        store
            .find_job_by_key("sweep")
            .await
            .expect("find")
            .is_none()
    );
    // Once it ended, the key is free for the next run.
    let next = store
        .enqueue_job(
            NewJob::of(JobKind::Sweep)
                .at(later + Duration::seconds(60))
                .keyed("sweep"),
            later,
        )
        .await
        .expect("next");
    assert_ne!(next.id, first.id);
    assert_eq!(next.payload, serde_json::json!({}));
    assert_eq!(
        store
            .find_job_by_key("sweep")
            .await
            .expect("find")
            .map(|j| j.id),
        Some(next.id)
    );
    // Unkeyed jobs are never merged.
    let a = store
        .enqueue_job(NewJob::of(JobKind::Sweep), later)
        .await
        .expect("a");
    let b = store
        .enqueue_job(NewJob::of(JobKind::Sweep), later)
        .await
        .expect("b");
    assert_ne!(a.id, b.id);
}
