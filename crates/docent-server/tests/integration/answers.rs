//! Answers through the HTTP API: streamed and whole, with a model behind the real
//! OpenAI-compatible client (an in-process provider that echoes its whole prompt), without
//! a model (extractive), and with a provider that fails.

use axum::Json;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use docent_rag::guard::leaked_run;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{
    Backend, Session, TestApp, code, completion_stream, drain_jobs, events, loopback,
    serve_in_background,
};

const PUBLIC: &str = "Returns are accepted within thirty days of delivery when the item is \
                      unused and in its original box. Refunds reach your card in five days.";
const PRIVATE: &str = "Internal note on returns: our supplier in Lyon charges eleven euros per \
                       unit for the blue ceramic mugs and we mark them up four times, so \
                       refunds on returns hurt the margin badly.";

/// An OpenAI-compatible provider. Model `echo` streams back every message it was sent;
/// model `down` fails with 500.
async fn provider() -> String {
    async fn completions(Json(body): Json<Value>) -> Response {
        if body["model"] == "down" {
            return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "overloaded").into_response();
        }
        let prompt: Vec<&str> = body["messages"]
            .as_array()
            .map(|m| m.iter().filter_map(|m| m["content"].as_str()).collect())
            .unwrap_or_default();
        completion_stream(
            &prompt.join("\n"),
            5,
            Some(json!({"prompt_tokens": 321, "completion_tokens": 123})),
        )
    }
    let (listener, base) = loopback().await;
    serve_in_background(
        listener,
        axum::Router::new().route("/v1/chat/completions", post(completions)),
    );
    format!("{base}/v1")
}

/// An owner with a chat space holding one citable and one learn-only document.
pub(crate) async fn shop(app: &TestApp, model: &str) -> (Session, String) {
    let owner = app.signup("owner@example.com").await;
    let (status, space) = owner
        .post(
            "/api/chat-spaces",
            json!({"name": "Shop help", "ai_config": {"model": model}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{space}");
    let id = space["id"].as_str().expect("id").to_owned();
    for (name, text, citable) in [
        ("returns.txt", PUBLIC, "true"),
        ("margins.txt", PRIVATE, "false"),
    ] {
        let (status, body) = owner
            .upload(
                &format!("/api/chat-spaces/{id}/documents/upload"),
                &[(name, text.as_bytes())],
                Some(citable),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    drain_jobs(app).await;
    (owner, id)
}

async fn streamed_answers_cite_and_keep_learn_only_text_private(backend: Backend) {
    let base = provider().await;
    let Some(app) = TestApp::spawn_with(backend, |s| s.llm_base_url = Some(base)).await else {
        eprintln!("skipped: no PostgreSQL");
        return;
    };
    let (owner, space) = shop(&app, "echo").await;
    let response = owner
        .request(Method::POST, &format!("/api/chat-spaces/{space}/chat"))
        .header("accept", "text/event-stream")
        .header("x-csrf-token", owner.csrf().await)
        .json(&json!({"message": "How do returns and refunds work?"}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/event-stream")
    );
    let body = response.text().await.expect("body");
    let events = events(&body);
    assert_eq!(events[0].0, "start");
    let sources = events[0].1["sources"]
        .as_array()
        .expect("the playground sees sources");
    assert_eq!(sources.len(), 2);
    let shown: String = events
        .iter()
        .filter(|(e, _)| e == "delta")
        .map(|(_, d)| d["text"].as_str().expect("text"))
        .collect();
    assert!(
        events.iter().filter(|(e, _)| e == "delta").count() > 5,
        "the answer streams in pieces"
    );
    assert!(shown.contains("thirty days of delivery"), "{shown}");
    assert!(
        shown.contains("[PRIVATE]\n…"),
        "the echoed private block is cut: {shown}"
    );
    assert_eq!(leaked_run(&shown, PRIVATE), None, "{shown}");
    let (event, done) = events.last().expect("done");
    assert_eq!(event, "done");
    assert_eq!(done["content"].as_str(), Some(shown.trim()));
    assert_eq!(done["answer_kind"], "generated");
    assert_eq!(
        (done["tokens_in"].as_i64(), done["tokens_out"].as_i64()),
        (Some(321), Some(123))
    );
    let citations = done["citations"].as_array().expect("citations");
    assert_eq!(citations.len(), 1, "{citations:?}");
    assert_eq!(citations[0]["file_name"], "returns.txt");

    // The same conversation continues as JSON; the stored history is the guarded text.
    let conversation = events[0].1["conversation_id"]
        .as_str()
        .expect("conversation")
        .to_owned();
    let (status, answer) = owner
        .post(
            &format!("/api/chat-spaces/{space}/chat"),
            json!({"message": "And refunds?", "conversation_id": conversation}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["conversation_id"], conversation.as_str());
    let content = answer["message"]["content"].as_str().expect("content");
    assert_eq!(
        leaked_run(content, PRIVATE),
        None,
        "history is echoed too: {content}"
    );
    assert!(
        content.contains("How do returns and refunds work?"),
        "the history reached the model"
    );

    let (status, list) = owner
        .get(&format!("/api/chat-spaces/{space}/conversations"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(list["data"][0]["channel"], "playground");
    let (_, messages) = owner
        .get(&format!("/api/conversations/{conversation}/messages"))
        .await;
    let roles: Vec<&str> = messages["data"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["role"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(roles, ["user", "assistant", "user", "assistant"]);
    for message in messages["data"].as_array().expect("messages") {
        assert_eq!(
            leaked_run(message["content"].as_str().unwrap_or(""), PRIVATE),
            None
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_answers_on_sqlite() {
    streamed_answers_cite_and_keep_learn_only_text_private(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streamed_answers_on_postgres() {
    streamed_answers_cite_and_keep_learn_only_text_private(Backend::Postgres).await;
}

crate::on_both_backends!(without_a_model_answers_are_extractive);

async fn without_a_model_answers_are_extractive(app: TestApp) {
    let (owner, space) = shop(&app, "openai/gpt-4o-mini").await;
    let (status, answer) = owner
        .post(
            &format!("/api/chat-spaces/{space}/chat"),
            json!({"message": "How long until refunds reach my card?"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["message"]["answer_kind"], "extractive");
    assert_eq!(
        answer["message"]["content"],
        "Refunds reach your card in five days. [1]"
    );
    assert_eq!(answer["message"]["citations"][0]["title"], "returns");

    let (status, answer) = owner
        .post(
            &format!("/api/chat-spaces/{space}/chat"),
            json!({"message": "Do you sell telescopes?"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["message"]["answer_kind"], "dont_know");
    // The Playground is the team's own tries: it makes no knowledge gap (visitors' questions
    // do, see `insights`).
    let (_, gaps) = owner
        .get(&format!("/api/chat-spaces/{space}/knowledge-gaps"))
        .await;
    assert_eq!(gaps["data"], json!([]));

    // Bad input: clear 4xx answers.
    let (status, body) = owner
        .post(
            &format!("/api/chat-spaces/{space}/chat"),
            json!({"message": "  "}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let (status, body) = owner
        .post(
            &format!("/api/chat-spaces/{space}/chat"),
            json!({"message": "x".repeat(5000)}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let unknown = uuid::Uuid::now_v7();
    let response = owner
        .request(Method::POST, &format!("/api/chat-spaces/{space}/chat"))
        .header("accept", "text/event-stream")
        .header("x-csrf-token", owner.csrf().await)
        .json(&json!({"message": "refunds?", "conversation_id": unknown}))
        .send()
        .await
        .expect("send");
    assert_eq!(
        response.status(),
        StatusCode::NOT_FOUND,
        "errors before the answer are plain HTTP errors"
    );
    let body: Value = response.json().await.expect("json");
    assert_eq!(code(&body), "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_provider_falls_back_to_quotes() {
    let base = provider().await;
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.llm_base_url = Some(base))
        .await
        .expect("app");
    let (owner, space) = shop(&app, "down").await;
    let started = std::time::Instant::now();
    let (status, answer) = owner
        .post(
            &format!("/api/chat-spaces/{space}/chat"),
            json!({"message": "When do refunds reach my card?"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["message"]["answer_kind"], "extractive");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}
