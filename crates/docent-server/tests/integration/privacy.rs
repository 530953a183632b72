//! Privacy on both backends: an owner exports and then erases one visitor (by email) and
//! every table is searched for what they wrote and who they were; a visitor erases their own
//! conversations from the widget; a chat space's retention deletes what went quiet before it.

use chrono::{Duration, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Backend, TestApp, code, unlimited_widget, visitor_call};
use crate::widget::published;

async fn app_on(backend: Backend) -> Option<TestApp> {
    TestApp::spawn_with(backend, unlimited_widget).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visitors_are_erased_sqlite() {
    visitors_are_erased(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visitors_are_erased_postgres() {
    visitors_are_erased(Backend::Postgres).await;
}

async fn visitors_are_erased(backend: Backend) {
    let Some(app) = app_on(backend).await else {
        eprintln!("skipped: no PostgreSQL (set DOCENT_TEST_DATABASE_URL)");
        return;
    };
    let (owner, space, slug) = published(&app, "owner@example.com", json!({})).await;
    let chat = format!("/api/widget/{slug}/chat");
    // Zoe: two conversations, a rating, her name and email; Max: one; Ann: one.
    let mut zoe_answers = Vec::new();
    for question in [
        "My order ZEBRA-4471 never came, can I return it?",
        "Refunds for ZEBRA-4471 reach my card when?",
    ] {
        let (status, answer) = visitor_call(
            &app,
            Method::POST,
            &chat,
            json!({"message": question, "visitor_id": "visitor-zoe-0001", "name": "Zoe Quist", "email": "Zoe.Quist@Example.com"}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        zoe_answers.push(answer);
    }
    let (status, _) = visitor_call(
        &app,
        Method::POST,
        &format!("/api/widget/{slug}/feedback"),
        json!({"visitor_id": "visitor-zoe-0001", "conversation_id": zoe_answers[0]["conversation_id"], "message_id": zoe_answers[0]["message"]["id"], "feedback": "down"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    for (visitor, question) in [
        ("visitor-max-0002", "Are returns accepted for unused items?"),
        // Like Zoe's second question: they share a group, which must keep nothing of hers.
        ("visitor-ann-0003", "When do refunds reach my card?"),
    ] {
        let (status, _) = visitor_call(
            &app,
            Method::POST,
            &chat,
            json!({"message": question, "visitor_id": visitor}),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
    }
    docent_app::insights::questions::group_new_before(&app.state.app, Utc::now())
        .await
        .expect("grouping");
    assert!(
        !app.tables_mentioning("ZEBRA-4471").await.is_empty(),
        "the search finds what is there"
    );
    assert!(
        app.tables_mentioning("zebra")
            .await
            .contains(&"question_groups".to_owned()),
        "Zoe's and Ann's questions share a group, which holds her words' stems"
    );

    // Her data, exported first (by her id): her two conversations only.
    let response = owner
        .request(
            Method::GET,
            &format!("/api/chat-spaces/{space}/visitors/visitor-zoe-0001/export?format=jsonl"),
        )
        .send()
        .await
        .expect("export");
    assert_eq!(response.status(), StatusCode::OK);
    let lines: Vec<Value> = response
        .text()
        .await
        .expect("body")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert!(lines.iter().all(|c| c["visitor_id"] == "visitor-zoe-0001"));

    // Erased by her email, as she wrote it to the owner.
    let (status, erased) = owner
        .call(
            Method::DELETE,
            &format!("/api/chat-spaces/{space}/visitors/zoe.quist@example.com"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{erased}");
    assert_eq!(erased["conversations"], 2);
    // (`zebra` too, as indexes and groups keep words: lower-cased, stemmed.)
    for needle in [
        "ZEBRA-4471",
        "zebra",
        "visitor-zoe-0001",
        "zoe.quist@example.com",
        "Zoe Quist",
    ] {
        assert_eq!(
            app.tables_mentioning(needle).await,
            Vec::<String>::new(),
            "{needle} is gone from every table"
        );
    }
    // The others are still there, and the groups name what remains.
    let (_, list) = owner
        .get(&format!("/api/chat-spaces/{space}/conversations"))
        .await;
    assert_eq!(list["data"].as_array().expect("list").len(), 2);
    let (_, top) = owner
        .get(&format!("/api/chat-spaces/{space}/top-questions"))
        .await;
    assert!(!top["data"].as_array().expect("top").is_empty());
    let (status, again) = owner
        .call(
            Method::DELETE,
            &format!("/api/chat-spaces/{space}/visitors/visitor-zoe-0001"),
        )
        .await;
    assert_eq!(
        (status, &again["conversations"]),
        (StatusCode::OK, &json!(0))
    );

    // Ann erases herself from the widget; a wrong or missing id is refused.
    let forget = format!("/api/widget/{slug}/visitor");
    let (status, body) =
        visitor_call(&app, Method::DELETE, &forget, json!({"visitor_id": "x"})).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let (status, body) = visitor_call(&app, Method::DELETE, &forget, json!({})).await;
    assert!(status.is_client_error(), "{status} {body}");
    let (status, body) = visitor_call(
        &app,
        Method::DELETE,
        &forget,
        json!({"visitor_id": "visitor-ann-0003"}),
    )
    .await;
    assert_eq!(
        (status, &body["conversations"]),
        (StatusCode::OK, &json!(1)),
        "{body}"
    );
    assert_eq!(
        app.tables_mentioning("visitor-ann-0003").await,
        Vec::<String>::new()
    );
    let (_, list) = owner
        .get(&format!("/api/chat-spaces/{space}/conversations"))
        .await;
    assert_eq!(list["data"][0]["visitor_id"], "visitor-max-0002");

    // A viewer cannot erase anyone.
    let viewer = app
        .invite_and_join(&owner, "viewer@example.com", "viewer")
        .await;
    let (status, _) = viewer
        .call(
            Method::DELETE,
            &format!("/api/chat-spaces/{space}/visitors/visitor-max-0002"),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_deletes_what_went_quiet_sqlite() {
    retention_deletes_what_went_quiet(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_deletes_what_went_quiet_postgres() {
    retention_deletes_what_went_quiet(Backend::Postgres).await;
}

async fn retention_deletes_what_went_quiet(backend: Backend) {
    let Some(app) = app_on(backend).await else {
        eprintln!("skipped: no PostgreSQL (set DOCENT_TEST_DATABASE_URL)");
        return;
    };
    let (owner, space, slug) = published(&app, "owner@example.com", json!({})).await;
    let path = format!("/api/chat-spaces/{space}");
    for bad in [json!(0), json!(3651), json!(-5), json!("thirty")] {
        let (status, body) = owner.patch(&path, json!({"retention_days": bad})).await;
        assert!(
            status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::BAD_REQUEST,
            "{bad}: {status} {body}"
        );
    }
    let (status, patched) = owner.patch(&path, json!({"retention_days": 30})).await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["retention_days"], 30);
    let mut ids = Vec::new();
    for (visitor, days_ago) in [("visitor-old-0001", 45), ("visitor-new-0002", 3)] {
        let (status, answer) = visitor_call(
            &app,
            Method::POST,
            &format!("/api/widget/{slug}/chat"),
            json!({"message": "Are returns accepted?", "visitor_id": visitor}),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let id = answer["conversation_id"].as_str().expect("id").to_owned();
        app.move_conversation(&id, Utc::now() - Duration::days(days_ago))
            .await;
        ids.push(id);
    }
    let erased = docent_app::privacy::sweep(&app.state.app)
        .await
        .expect("sweep");
    assert_eq!(erased, 1);
    let (status, _) = owner.get(&format!("/api/conversations/{}", ids[0])).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "past the retention: gone");
    let (status, _) = owner.get(&format!("/api/conversations/{}", ids[1])).await;
    assert_eq!(status, StatusCode::OK, "within it: kept");
    assert_eq!(
        app.tables_mentioning("visitor-old-0001").await,
        Vec::<String>::new()
    );
    // Kept for ever again.
    let (status, patched) = owner.patch(&path, json!({"retention_days": null})).await;
    assert_eq!(
        (status, &patched["retention_days"]),
        (StatusCode::OK, &Value::Null)
    );
    app.move_conversation(&ids[1], Utc::now() - Duration::days(4000))
        .await;
    assert_eq!(
        docent_app::privacy::sweep(&app.state.app)
            .await
            .expect("sweep"),
        0
    );
}
