//! The one job queue through the application: recurring work is scheduled by every instance
//! and run by one, on a schedule of its own, with the ids it needs and no document.

use std::str::FromStr;

use docent_app::jobs::{Worker, spawn_workers};
use docent_core::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{Backend, TestApp};
use crate::widget::published;

const VISITOR: &str = "visitor-sweep-0123456789";

/// Schedules the recurring jobs as starting `instance` does (with no worker of its own).
async fn start(instance: &TestApp) {
    let (_stop, stopping) = tokio::sync::watch::channel(false);
    for task in spawn_workers(&instance.state, 0, stopping) {
        task.await.expect("scheduling");
    }
}

/// `a` and `b` are two instances on one database (or the same one twice, on SQLite).
async fn the_sweep_runs_once_on_its_schedule(a: &TestApp, b: &TestApp) {
    let (owner, id, slug) = published(a, "sweep@example.com", json!({})).await;
    let (_, space) = owner
        .call(Method::GET, &format!("/api/chat-spaces/{id}"))
        .await;
    let org = OrgId::from_str(space["org_id"].as_str().expect("org")).expect("org id");
    let response = reqwest::Client::new()
        .post(format!("{}/api/widget/{slug}/chat", b.base))
        .json(&json!({"message": "refunds?", "visitor_id": VISITOR}))
        .send()
        .await
        .expect("ask");
    assert_eq!(response.status(), StatusCode::OK);
    let asked: serde_json::Value = response.json().await.expect("json");
    let conversation =
        ConversationId::from_str(asked["conversation_id"].as_str().expect("conversation"))
            .expect("conversation id");

    start(a).await;
    start(b).await;
    let first = a
        .state
        .store
        .find_job_by_key("every:sweep")
        .await
        .expect("find")
        .expect("the sweep is scheduled");
    assert_eq!(
        (first.job_type, first.org_id, first.document_id),
        (JobKind::Sweep, None, None)
    );
    let seen_by_b = b
        .state
        .store
        .find_job_by_key("every:sweep")
        .await
        .expect("find");
    assert_eq!(seen_by_b.map(|j| j.id), Some(first.id), "scheduled once");

    // Quiet for longer than `widget_idle_secs`: the sweep closes the conversation. Every
    // recurring kind was due once: each runs once, on one replica.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let worker = Worker::new(b.state.app.clone(), "worker-b");
    let mut ran = Vec::new();
    while let Some(job) = worker.run_once().await.expect("run") {
        ran.push(job);
    }
    let mut kinds: Vec<&str> = ran.iter().map(|j| j.job_type.as_str()).collect();
    kinds.sort_unstable();
    assert_eq!(kinds, ["questions", "retention", "sweep", "webhook_health"]);
    assert!(ran.iter().any(|j| j.id == first.id), "the sweep ran");
    let closed = a
        .state
        .store
        .find_conversation(org, conversation)
        .await
        .expect("find")
        .expect("conversation");
    assert_eq!(closed.status, ConversationStatus::Closed);

    // The next run is queued for a minute later, once, and nothing else is due.
    let next = a
        .state
        .store
        .find_job_by_key("every:sweep")
        .await
        .expect("find")
        .expect("the next sweep");
    assert_ne!(next.id, first.id);
    assert!(next.run_after > chrono::Utc::now() + chrono::Duration::seconds(50));
    start(a).await;
    assert_eq!(
        b.state
            .store
            .find_job_by_key("every:sweep")
            .await
            .expect("find")
            .map(|j| j.id),
        Some(next.id)
    );
    let idle = Worker::new(a.state.app.clone(), "worker-a")
        .run_once()
        .await
        .expect("run");
    assert!(idle.is_none(), "nothing is due: {idle:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_runs_once_on_its_schedule_on_sqlite() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.widget_idle_secs = 1)
        .await
        .expect("sqlite app");
    the_sweep_runs_once_on_its_schedule(&app, &app).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_runs_once_on_its_schedule_across_replicas() {
    let Some((a, b)) = TestApp::spawn_replicas_with(|s| s.widget_idle_secs = 1).await else {
        eprintln!("skipped: no PostgreSQL (set DOCENT_TEST_DATABASE_URL)");
        return;
    };
    the_sweep_runs_once_on_its_schedule(&a, &b).await;
}
