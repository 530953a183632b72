//! Live views across instances, in a real browser: the Knowledge page served by one
//! instance follows a file uploaded through another and processed by that other's worker,
//! through the Hub (LISTEN/NOTIFY on PostgreSQL; in process on SQLite, one instance). Its
//! database connections cut and restored meanwhile, the page still ends on the final state.

use std::time::{Duration, Instant};

use docent_app::jobs::spawn_workers;
use docent_core::*;
use reqwest::StatusCode;
use serde_json::json;

use crate::browser::Browser;
use crate::common::{Backend, Session, TestApp};

/// The status badge of the document's row on the open page, if the row is there.
async fn status_on_page(browser: &Browser, document: &str) -> Option<String> {
    browser
        .script_with(
            "var row = document.querySelector('tr[data-document=\"' + arguments[0] + '\"]');\
             return row ? row.querySelector('[data-docent=document-status]').textContent : null;",
            vec![json!(document)],
        )
        .await
        .as_str()
        .map(str::to_owned)
}

/// When `document`'s row on the open page first reads `status`.
async fn seen_on_page(
    browser: &Browser,
    document: &str,
    status: &str,
    within: Duration,
) -> Instant {
    let deadline = Instant::now() + within;
    loop {
        if status_on_page(browser, document).await.as_deref() == Some(status) {
            return Instant::now();
        }
        assert!(
            Instant::now() < deadline,
            "the page never showed {document} {status}; it shows {:?}",
            status_on_page(browser, document).await
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// When the document is first stored completed, as the instance that did the work sees it.
async fn completed_in_store(app: &TestApp, org: OrgId, document: DocumentId) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let doc = app
            .state
            .store
            .find_document(org, document)
            .await
            .expect("find")
            .expect("document");
        if doc.status == DocumentStatus::Completed {
            return Instant::now();
        }
        assert!(Instant::now() < deadline, "still {:?}", doc.status);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn upload(owner: &Session, space: &str, name: &str, text: &str) -> String {
    let (status, body) = owner
        .upload(
            &format!("/api/chat-spaces/{space}/documents/upload"),
            &[(name, text.as_bytes())],
            Some("true"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body[0]["id"].as_str().expect("document id").to_owned()
}

/// `a` does the work (uploads and its worker), `b` serves the page; `cut` ends `b`'s
/// database connections while the second file is processed.
async fn the_page_follows_work_done_elsewhere(
    a: &TestApp,
    b: &TestApp,
    cut: Option<&(dyn Fn() -> futures_util::future::BoxFuture<'static, u64> + Sync)>,
) {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (_stop, stopping) = tokio::sync::watch::channel(false);
    let _workers = spawn_workers(&a.state, 1, stopping);
    let owner = a.signup("live@example.com").await;
    let (_, space) = owner
        .post("/api/chat-spaces", json!({"name": "Live"}))
        .await;
    let space_id = space["id"].as_str().expect("id").to_owned();
    let org = space["org_id"]
        .as_str()
        .expect("org")
        .parse::<OrgId>()
        .expect("org id");

    // The owner opens the Knowledge page on the other instance; it has no document yet.
    browser.log_in(&b.base, "live@example.com").await;
    browser
        .goto(&format!("{}/app/chat-spaces/{space_id}/knowledge", b.base))
        .await;
    browser.wait_text("#docs-title", "Documents").await;
    // Let the page's event stream open before the work starts.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let first = upload(
        &owner,
        &space_id,
        "kettle.md",
        "# Kettle\n\nDescale it every month with white vinegar.\n",
    )
    .await;
    let stored = completed_in_store(a, org, first.parse().expect("id")).await;
    let shown = seen_on_page(&browser, &first, "completed", Duration::from_secs(10)).await;
    let lag = shown.saturating_duration_since(stored);
    eprintln!(
        "completed on the page {} ms after the worker stored it",
        lag.as_millis()
    );
    assert!(lag < Duration::from_secs(1), "{lag:?}");
    let chunks = browser
        .script_with(
            "return document.querySelector('tr[data-document=\"' + arguments[0] + '\"] [data-field=chunk_count]').textContent",
            vec![json!(first)],
        )
        .await;
    assert_eq!(chunks, json!("1"), "the final row, as rendered");

    // The page's instance loses its database connections (its hub's listener among them)
    // just as the next file is uploaded and processed: what it misses meanwhile, it reads.
    if let Some(cut) = cut {
        let ended = cut().await;
        assert!(ended > 0, "no connection of the page's instance was ended");
    }
    let second = upload(
        &owner,
        &space_id,
        "warranty.md",
        "# Warranty\n\nTwo years on every kettle.\n",
    )
    .await;
    completed_in_store(a, org, second.parse().expect("id")).await;
    seen_on_page(&browser, &second, "completed", Duration::from_secs(8)).await;
    let problems = browser.console_problems().await;
    assert!(problems.is_empty(), "{problems:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_knowledge_page_follows_work_in_process_on_sqlite() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite app");
    the_page_follows_work_done_elsewhere(&app, &app, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_knowledge_page_follows_another_instance_and_a_lost_connection_on_postgres() {
    let Some((a, b)) = TestApp::spawn_replicas().await else {
        eprintln!("skipped: no PostgreSQL (set DOCENT_TEST_DATABASE_URL)");
        return;
    };
    let front = a.postgres.clone().expect("the first replica's store");
    let cut = move || -> futures_util::future::BoxFuture<'static, u64> {
        let front = front.clone();
        Box::pin(async move { front.end_other_replica_connections().await })
    };
    the_page_follows_work_done_elsewhere(&a, &b, Some(&cut)).await;
}
