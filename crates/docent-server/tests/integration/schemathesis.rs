//! Schemathesis (PyPI), an independent OpenAPI fuzzer, against a running server: positive
//! and negative data for every operation of `/api/openapi.json`, and stateful runs along
//! its links (create → get → change → delete). It must find no failure; an operation whose
//! generated data the server mostly refuses (a schema saying less than the server checks)
//! is reported.
//! `scripts/test` installs it and sets `DOCENT_SCHEMATHESIS_PYTHON`; without it this
//! skips, unless `DOCENT_REQUIRE_SCHEMATHESIS=1` makes that a failure.

use std::time::Duration;

use docent_core::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{Backend, Session, TestApp, drain_jobs};

const FILE: &str = "# Returns\n\nReturns are accepted within thirty days of delivery.\n";

/// A chat space of `owner`'s with one processed document; its JSON.
async fn space_with_a_document(app: &TestApp, owner: &Session, name: &str) -> serde_json::Value {
    let (status, space) = owner.post("/api/chat-spaces", json!({"name": name})).await;
    assert_eq!(status, StatusCode::CREATED, "{space}");
    let id = space["id"].as_str().expect("id");
    let (status, body) = owner
        .upload(
            &format!("/api/chat-spaces/{id}/documents/upload"),
            &[("returns.md", FILE.as_bytes())],
            Some("true"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    drain_jobs(app).await;
    space
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_failure() {
    let Ok(python) = std::env::var("DOCENT_SCHEMATHESIS_PYTHON") else {
        assert!(
            std::env::var("DOCENT_REQUIRE_SCHEMATHESIS").is_err(),
            "DOCENT_REQUIRE_SCHEMATHESIS is set but DOCENT_SCHEMATHESIS_PYTHON is not"
        );
        eprintln!("skipped: no schemathesis (set DOCENT_SCHEMATHESIS_PYTHON)");
        return;
    };
    // A webhook the run adds to a public address (nothing is reachable here) gives up at once.
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.webhook_timeout_secs = 1)
        .await
        .expect("app");

    // The fuzzer's own organization, on a plan without limits, with an organization-wide key.
    let owner = app.signup("fuzz@example.com").await;
    let (_, me) = owner.call(Method::GET, "/api/auth/me").await;
    let org: OrgId = me["organization"]["id"]
        .as_str()
        .expect("org")
        .parse()
        .expect("id");
    app.state
        .store
        .set_organization_plan(org, Plan::Enterprise)
        .await
        .expect("plan");
    let (status, key) = owner
        .post("/api/api-keys", json!({"name": "schemathesis"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    let (_, spare) = owner.post("/api/api-keys", json!({"name": "spare"})).await;
    let space = space_with_a_document(&app, &owner, "Fuzz space").await;
    let space_id = space["id"].as_str().expect("id").to_owned();
    let (_, documents) = owner
        .call(
            Method::GET,
            &format!("/api/chat-spaces/{space_id}/documents"),
        )
        .await;
    let (status, answer) = owner
        .post(
            &format!("/api/chat-spaces/{space_id}/chat"),
            json!({"message": "How long do returns take?"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");

    // The widget's chat space belongs to another organization, out of the key's reach.
    let shop = app.signup("shop@example.com").await;
    let shop_space = space_with_a_document(&app, &shop, "Shop desk").await;
    let shop_id = shop_space["id"].as_str().expect("id");
    let (status, body) = shop
        .call(Method::POST, &format!("/api/chat-spaces/{shop_id}/publish"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let slug = shop_space["endpoint_slug"].as_str().expect("slug");
    let (status, opened) = app
        .anonymous()
        .post(
            &format!("/api/widget/{slug}/conversation"),
            json!({"visitor_id": "schemathesis-visitor"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");

    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    // It keeps a cache where it runs: not in the source tree.
    let scratch =
        std::env::temp_dir().join(format!("docent-schemathesis-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    let run = tokio::process::Command::new(&python)
        .current_dir(&scratch)
        .arg(root.join("../../scripts/schemathesis"))
        .arg("--config-file")
        .arg(root.join("tests/schemathesis.toml"))
        .args(["run", &format!("{}/api/openapi.json", app.base)])
        .args(["--max-time", "150", "--workers", "2", "--no-color"])
        .args(["--report", "har", "--report-har-path"])
        .arg(std::env::temp_dir().join("docent-schemathesis.har"))
        .env("DOCENT_FUZZ_KEY", key["secret"].as_str().expect("secret"))
        .env(
            "DOCENT_FUZZ_SPARE_KEY",
            spare["id"].as_str().expect("spare key"),
        )
        .env("DOCENT_FUZZ_SPACE", &space_id)
        .env(
            "DOCENT_FUZZ_DOCUMENT",
            documents["data"][0]["id"].as_str().expect("document"),
        )
        .env(
            "DOCENT_FUZZ_CONVERSATION",
            answer["conversation_id"].as_str().expect("conversation"),
        )
        .env("DOCENT_FUZZ_SLUG", slug)
        .env(
            "DOCENT_FUZZ_VISITOR_CONVERSATION",
            opened["conversation_id"].as_str().expect("conversation"),
        )
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(300), run)
        .await
        .expect("schemathesis ran over five minutes")
        .expect("run schemathesis");
    std::fs::remove_dir_all(&scratch).ok();
    let report = String::from_utf8_lossy(&output.stdout);
    let generated = report
        .lines()
        .find(|l| l.contains(" generated, "))
        .unwrap_or("no count");
    eprintln!("schemathesis: {}", generated.trim());
    assert!(
        output.status.success(),
        "schemathesis failed:\n{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Where the server refuses most of the valid data generated for an operation, the schema
    // says less than the server checks. Rules a schema cannot hold (a slug taken, an overlap
    // smaller than the chunk size) can tip an operation over that line in some runs, so this
    // is reported rather than failed.
    if let Some(at) = report.find("Schema validation mismatch:") {
        eprintln!("{}", &report[at..report.len().min(at + 400)]);
    }
}
