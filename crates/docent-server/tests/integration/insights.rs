//! Top questions and knowledge gaps from what visitors ask through the widget, on both
//! backends: reworded questions come back as one group each and unrelated ones stay apart;
//! a question the knowledge cannot answer is a gap until the owner answers it, its questions
//! are asked again and then answer, and a new complaint reopens it.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Backend, Session, TestApp, code, drain_jobs, unlimited_widget};
use crate::widget::published;

/// Five questions, each asked four ways, and two that are like nothing else.
const GROUPS: [[&str; 4]; 5] = [
    [
        "How long do refunds take?",
        "When will I get my refund?",
        "Has my refund been sent yet?",
        "refund still not back on my account",
    ],
    [
        "Do you ship to Canada?",
        "Can I get shipping to Germany?",
        "Is international shipping available?",
        "shipping outside the EU?",
    ],
    [
        "What are your opening hours?",
        "When are you open on Saturday?",
        "Opening times of the Lisbon bakery?",
        "Are you open on Sundays?",
    ],
    [
        "I forgot my password",
        "How do I reset my password?",
        "The password reset link does not arrive",
        "change password please",
    ],
    [
        "Do you sell gift cards?",
        "Can I buy a gift card online?",
        "How do gift cards work?",
        "gift card for my sister's birthday",
    ],
];
const LONERS: [&str; 2] = [
    "What is the capital of France?",
    "Who won the football match yesterday?",
];

async fn app_on(backend: Backend) -> Option<TestApp> {
    app_with(backend, None).await
}

/// With `embeddings`, questions are also grouped by the local MiniLM model's vectors.
async fn app_with(backend: Backend, embeddings: Option<std::path::PathBuf>) -> Option<TestApp> {
    TestApp::spawn_with(backend, |s| {
        unlimited_widget(s);
        s.embedding_model_dir = embeddings;
    })
    .await
}

/// A visitor's question through the widget: the answer's message.
async fn ask(app: &TestApp, slug: &str, visitor: &str, question: &str) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}/api/widget/{slug}/chat", app.base))
        .json(&json!({"message": question, "visitor_id": visitor}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("answer")
}

/// Runs the grouping job over everything asked so far.
async fn group(app: &TestApp) -> u64 {
    docent_app::insights::questions::group_new_before(&app.state.app, chrono::Utc::now())
        .await
        .expect("grouping")
}

async fn gaps(owner: &Session, space: &str, query: &str) -> Vec<Value> {
    let (status, body) = owner
        .get(&format!("/api/chat-spaces/{space}/knowledge-gaps{query}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["data"].as_array().expect("gaps").clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reworded_questions_group_sqlite() {
    reworded_questions_group(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reworded_questions_group_postgres() {
    reworded_questions_group(Backend::Postgres).await;
}

/// The same with an embedder: vectors may join questions words alone would not, and must
/// not join the unrelated ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reworded_questions_group_with_embeddings() {
    let Some(dir) = std::env::var_os("DOCENT_EMBEDDING_MODEL_DIR") else {
        eprintln!("skipped: no local embedding model (set DOCENT_EMBEDDING_MODEL_DIR)");
        return;
    };
    let app = app_with(Backend::Sqlite, Some(dir.into()))
        .await
        .expect("app");
    assert!(
        app.state.app.embedder.is_some(),
        "the local embedder is loaded"
    );
    let (owner, space, slug) = grouped(&app).await;
    // A paraphrase that shares no word with its group's questions.
    ask(&app, &slug, "visitor-abroad", "Do you deliver abroad?").await;
    assert_eq!(group(&app).await, 1);
    let (_, top) = owner
        .get(&format!("/api/chat-spaces/{space}/top-questions?limit=50"))
        .await;
    let shipping = top["data"]
        .as_array()
        .expect("top")
        .iter()
        .find(|t| t["examples"].to_string().contains("Do you deliver abroad?"))
        .expect("grouped");
    assert!(
        shipping["examples"].to_string().contains("ship"),
        "it joined the shipping questions: {shipping}"
    );
}

async fn reworded_questions_group(backend: Backend) {
    let Some(app) = app_on(backend).await else {
        eprintln!("skipped: no PostgreSQL (set DOCENT_TEST_DATABASE_URL)");
        return;
    };
    grouped(&app).await;
}

/// Asks the groups' questions and checks what comes back; the owner, chat space and slug.
async fn grouped(app: &TestApp) -> (Session, String, String) {
    let (owner, space, slug) = published(app, "owner@example.com", json!({})).await;
    // Round by round, so that every group grows among the others.
    let mut n = 0;
    for round in 0..4 {
        for (g, group) in GROUPS.iter().enumerate() {
            n += 1;
            ask(
                app,
                &slug,
                &format!("visitor-{g}-{round}-{n}"),
                group[round],
            )
            .await;
        }
        if round == 1 {
            for loner in LONERS {
                ask(app, &slug, "visitor-loner-1", loner).await;
            }
        }
    }
    // The team's own tries are not visitors' questions.
    let (status, _) = owner
        .post(
            &format!("/api/chat-spaces/{space}/chat"),
            json!({"message": GROUPS[0][0]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, before) = owner
        .get(&format!("/api/chat-spaces/{space}/top-questions"))
        .await;
    assert_eq!(
        before["data"],
        json!([]),
        "grouped by the job, not on reading"
    );
    assert_eq!(group(app).await, 22);
    assert_eq!(group(app).await, 0, "incremental: nothing twice");

    let (status, top) = owner
        .get(&format!("/api/chat-spaces/{space}/top-questions?limit=50"))
        .await;
    assert_eq!(status, StatusCode::OK, "{top}");
    let found: Vec<BTreeSet<String>> = top["data"]
        .as_array()
        .expect("top")
        .iter()
        .map(|t| {
            t["examples"]
                .as_array()
                .expect("examples")
                .iter()
                .map(|e| e.as_str().expect("text").to_owned())
                .collect()
        })
        .collect();
    let mut wanted: Vec<BTreeSet<String>> = GROUPS
        .iter()
        .map(|g| g.iter().map(|q| q.to_string()).collect())
        .collect();
    wanted.extend(LONERS.iter().map(|l| BTreeSet::from([l.to_string()])));
    let sorted = |mut v: Vec<BTreeSet<String>>| {
        v.sort();
        v
    };
    assert_eq!(sorted(found), sorted(wanted), "{top:#}");
    let first = &top["data"][0];
    assert_eq!(first["count"], 4);
    assert_eq!(first["conversation_ids"].as_array().expect("ids").len(), 4);
    assert!(
        GROUPS
            .iter()
            .any(|g| g.contains(&first["label"].as_str().expect("label"))),
        "a group is labelled by one of its questions: {first}"
    );

    // Later questions join the groups there are.
    ask(app, &slug, "visitor-late", "refund not received").await;
    assert_eq!(group(app).await, 1);
    let (_, top) = owner
        .get(&format!("/api/chat-spaces/{space}/top-questions?limit=1"))
        .await;
    assert_eq!(top["data"].as_array().expect("top").len(), 1);
    assert_eq!(top["data"][0]["count"], 5, "{top}");

    let (status, body) = owner
        .get(&format!(
            "/api/chat-spaces/{space}/top-questions?from=2026-12-02&to=2026-11-01"
        ))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    (owner, space, slug)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gaps_close_when_answered_sqlite() {
    gaps_close_when_answered(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gaps_close_when_answered_postgres() {
    gaps_close_when_answered(Backend::Postgres).await;
}

async fn gaps_close_when_answered(backend: Backend) {
    let Some(app) = app_on(backend).await else {
        eprintln!("skipped: no PostgreSQL (set DOCENT_TEST_DATABASE_URL)");
        return;
    };
    let (owner, space, slug) = published(&app, "owner@example.com", json!({})).await;
    // The knowledge is about returns; nothing about gift vouchers.
    for (visitor, question) in [
        ("visitor-0001", "Do you sell gift vouchers?"),
        ("visitor-0002", "Can I buy a gift voucher for a friend?"),
        ("visitor-0003", "How long until refunds reach my card?"),
    ] {
        let answer = ask(&app, &slug, visitor, question).await;
        let unanswerable = question.contains("voucher");
        assert_eq!(
            answer["message"]["answer_kind"] == "dont_know",
            unanswerable,
            "{answer}"
        );
    }
    group(&app).await;
    let open = gaps(&owner, &space, "?status=open").await;
    assert_eq!(open.len(), 1, "{open:?}");
    let gap = &open[0];
    assert_eq!(gap["count"], 2);
    assert_eq!(gap["reasons"]["no_answer"], 2);
    assert_eq!(gap["last_7_days"], 2);
    assert_eq!(
        gaps(&owner, &space, "?status=resolved").await,
        Vec::<Value>::new()
    );
    let id = gap["id"].as_str().expect("id").to_owned();

    // The page shows it, with its form.
    let (_, page) = owner
        .page(&format!("/app/chat-spaces/{space}/analytics"))
        .await;
    assert!(
        page.contains(&format!("data-gap=\"{id}\"")),
        "the gap is on the page"
    );
    assert!(page.contains("data-docent=\"answer-gap\""));

    // Bad answers are refused; another chat space's gap is not there.
    let answer_path = format!("/api/chat-spaces/{space}/knowledge-gaps/{id}/answer");
    let (status, body) = owner.post(&answer_path, json!({"answer": "   "})).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let (status, body) = owner
        .post(
            &format!(
                "/api/chat-spaces/{space}/knowledge-gaps/{}/answer",
                uuid::Uuid::now_v7()
            ),
            json!({"answer": "Yes."}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_FOUND, "not_found"),
        "{body}"
    );

    // "Answer this": a Q&A source; the questions are asked again once it is learned.
    let (status, answered) = owner
        .post(&answer_path,
            json!({"answer": "Yes: gift vouchers from 10 to 200 euros, in the shop and online.", "citable": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answered}");
    assert_eq!(answered["status"], "open");
    assert_eq!(answered["rechecking"], true);
    let document = answered["resolved_by_document_id"]
        .as_str()
        .expect("document")
        .to_owned();
    let (_, doc) = owner.get(&format!("/api/documents/{document}")).await;
    assert_eq!(doc["type"], "qa", "{doc}");
    let mut resolved = Vec::new();
    for _ in 0..40 {
        drain_jobs(&app).await;
        resolved = gaps(&owner, &space, "?status=resolved").await;
        if !resolved.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(resolved.len(), 1, "resolved once its questions answer");
    let gap = &resolved[0];
    assert!(gap["resolved_at"].is_string());
    assert!(
        gap["questions"]
            .as_array()
            .expect("questions")
            .iter()
            .all(|q| q["answered_now"] == true),
        "{gap}"
    );
    assert_eq!(
        gaps(&owner, &space, "?status=open").await,
        Vec::<Value>::new()
    );

    // Visitors asking it now get the owner's answer, quoted.
    let answer = ask(&app, &slug, "visitor-0004", "Do you sell gift vouchers?").await;
    assert_eq!(answer["message"]["answer_kind"], "extractive", "{answer}");
    assert!(
        answer["message"]["content"]
            .as_str()
            .expect("text")
            .contains("10 to 200 euros"),
        "{answer}"
    );
    // A visitor who finds it unhelpful reopens the gap.
    let response = reqwest::Client::new()
        .post(format!("{}/api/widget/{slug}/feedback", app.base))
        .json(&json!({"visitor_id": "visitor-0004", "conversation_id": answer["conversation_id"], "message_id": answer["message"]["id"], "feedback": "down"}))
        .send()
        .await
        .expect("feedback");
    assert_eq!(response.status(), StatusCode::OK);
    group(&app).await;
    let open = gaps(&owner, &space, "?status=open").await;
    assert_eq!(open.len(), 1, "it came back: {open:?}");
    assert_eq!(open[0]["id"], id.as_str());
    assert_eq!(open[0]["reasons"]["thumbs_down"], 1);

    // A document that holds the answer closes a gap too, once it is learned.
    ask(
        &app,
        &slug,
        "visitor-0005",
        "Do you deliver parcels on Sundays?",
    )
    .await;
    group(&app).await;
    let sundays = gaps(&owner, &space, "?status=open").await;
    let sundays = sundays
        .iter()
        .find(|g| g["label"] == "Do you deliver parcels on Sundays?")
        .expect("a gap of its own")["id"]
        .clone();
    let (status, body) = owner
        .post(
            &format!("/api/chat-spaces/{space}/documents/text"),
            json!({"title": "Delivery", "text": "We deliver parcels on Sundays between 9 and 13."}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let mut closed = false;
    for _ in 0..40 {
        drain_jobs(&app).await;
        closed = gaps(&owner, &space, "?status=resolved")
            .await
            .iter()
            .any(|g| g["id"] == sundays);
        if closed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(closed, "the document answered it");
}
