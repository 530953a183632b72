//! The OpenAI-compatible API through the official `openai` Python client (PyPI): a chat
//! space's key lists its model, gets a whole answer and a streamed one with citations in the
//! `docent` member, and OpenAI-shaped errors for a bad key, a question too long, a model it
//! may not ask and a spent quota. Needs `DOCENT_OPENAI_PYTHON` (set by `scripts/test`).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Backend, TestApp};
use crate::widget::published;

/// What the client does, printed as one JSON object.
const CLIENT: &str = r#"
import json, sys, openai
base, key, model = sys.argv[1], sys.argv[2], sys.argv[3]
client = openai.OpenAI(base_url=base, api_key=key, max_retries=0)
out = {"models": [m.id for m in client.models.list()]}
whole = client.chat.completions.create(model=model, messages=[
    {"role": "system", "content": "ignored: the chat space's own prompt rules"},
    {"role": "user", "content": "Hello"},
    {"role": "assistant", "content": "Hi! How can I help?"},
    {"role": "user", "content": "How long do refunds take to reach my card?"}])
out["whole"] = {"content": whole.choices[0].message.content, "finish": whole.choices[0].finish_reason,
                "docent": whole.model_extra.get("docent"), "object": whole.object}
text, last, usage = "", None, None
for chunk in client.chat.completions.create(model=model, stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": [{"type": "text", "text": "Are returns accepted for unused items?"}]}]):
    if chunk.choices:
        text += chunk.choices[0].delta.content or ""
        if chunk.choices[0].finish_reason:
            last = chunk.model_extra.get("docent")
    if chunk.usage:
        usage = chunk.usage.total_tokens
out["stream"] = {"content": text, "docent": last, "usage": usage}
def error(call):
    try:
        call()
        return None
    except openai.APIStatusError as e:
        return {"status": e.status_code, "code": e.code, "type": e.type, "message": e.message}
out["bad_key"] = error(lambda: openai.OpenAI(base_url=base, api_key="dk_wrong", max_retries=0)
    .chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}]))
out["too_long"] = error(lambda: client.chat.completions.create(model=model,
    messages=[{"role": "user", "content": "refund " * 1000}]))
out["last_not_user"] = error(lambda: client.chat.completions.create(model=model,
    messages=[{"role": "assistant", "content": "hi"}]))
print(json.dumps(out))
"#;

fn python() -> Option<String> {
    let found = std::env::var("DOCENT_OPENAI_PYTHON").ok();
    assert!(
        found.is_some() || std::env::var("DOCENT_REQUIRE_OPENAI").is_err(),
        "DOCENT_REQUIRE_OPENAI is set but DOCENT_OPENAI_PYTHON is not"
    );
    found
}

async fn client(python: &str, base: &str, key: &str, model: &str) -> Value {
    let out = tokio::process::Command::new(python)
        .args(["-c", CLIENT, &format!("{base}/v1"), key, model])
        .output()
        .await
        .expect("run the openai client");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the client's JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_openai_client_asks_a_chat_space() {
    let Some(python) = python() else {
        eprintln!("skipped: no openai client (set DOCENT_OPENAI_PYTHON)");
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let (owner, space, slug) = published(&app, "owner@example.com", json!({})).await;
    let (status, key) = owner
        .post(
            "/api/api-keys",
            json!({"name": "openai client", "chat_space_id": space}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{key}");
    let key = key["secret"].as_str().expect("secret").to_owned();

    let out = client(&python, &app.base, &key, "any-name").await;
    assert_eq!(out["models"], json!([slug]), "{out}");
    let whole = &out["whole"];
    assert_eq!(whole["object"], "chat.completion");
    assert_eq!(whole["finish"], "stop");
    assert!(
        whole["content"]
            .as_str()
            .expect("content")
            .contains("five days"),
        "{whole}"
    );
    assert_eq!(
        whole["docent"]["citations"][0]["file_name"], "returns.txt",
        "{whole}"
    );
    let streamed = &out["stream"];
    assert!(
        streamed["content"]
            .as_str()
            .expect("text")
            .contains("unused"),
        "{streamed}"
    );
    assert!(
        streamed["docent"]["citations"]
            .as_array()
            .is_some_and(|c| !c.is_empty()),
        "{streamed}"
    );
    assert!(streamed["usage"].is_number(), "{streamed}");
    // The conversation is the chat space's, on the api channel, with both turns.
    let conversation = whole["docent"]["conversation_id"].as_str().expect("id");
    let (_, c) = owner
        .get(&format!("/api/conversations/{conversation}"))
        .await;
    assert_eq!(
        (c["channel"].as_str(), c["message_count"].as_i64()),
        (Some("api"), Some(2)),
        "{c}"
    );

    assert_eq!(
        (&out["bad_key"]["status"], &out["bad_key"]["code"]),
        (&json!(401), &json!("invalid_api_key")),
        "{out}"
    );
    assert_eq!(
        (&out["too_long"]["status"], &out["too_long"]["code"]),
        (&json!(400), &json!("context_length_exceeded")),
        "{out}"
    );
    assert_eq!(
        (
            &out["last_not_user"]["status"],
            &out["last_not_user"]["type"]
        ),
        (&json!(400), &json!("invalid_request_error")),
        "{out}"
    );

    // An organization-wide key names its chat space by model; another name is not found.
    let (_, org_key) = owner
        .post("/api/api-keys", json!({"name": "org key"}))
        .await;
    let org_key = org_key["secret"].as_str().expect("secret").to_owned();
    let ask = |model: &str, key: &str| {
        reqwest::Client::new()
            .post(format!("{}/v1/chat/completions", app.base))
            .bearer_auth(key)
            .json(&json!({"model": model, "messages": [{"role": "user", "content": "refunds?"}]}))
            .send()
    };
    let r = ask(&slug, &org_key).await.expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let (_, _, other_slug) = published(&app, "other@example.com", json!({})).await;
    let r = ask(&other_slug, &org_key).await.expect("send");
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "another organization's chat space"
    );
    let r = ask("someone-elses-space", &org_key).await.expect("send");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["error"]["code"], "model_not_found", "{body}");

    // A spent month of messages: OpenAI's 429 insufficient_quota.
    let org = app
        .state
        .store
        .find_chat_space_by_slug(&slug)
        .await
        .expect("read")
        .expect("space")
        .org_id;
    let limit = docent_core::Plan::Free
        .limits()
        .messages_per_month
        .expect("a limit");
    let filler: docent_core::ConversationId = conversation.parse().expect("id");
    for _ in 0..limit {
        app.state
            .store
            .add_message(
                org,
                docent_core::NewMessage::plain(filler, docent_core::MessageRole::User, "filler"),
            )
            .await
            .expect("add")
            .expect("conversation");
    }
    let r = ask("any", &key).await.expect("send");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = r.json().await.expect("json");
    assert_eq!(
        (&body["error"]["code"], &body["error"]["type"]),
        (&json!("insufficient_quota"), &json!("insufficient_quota")),
        "{body}"
    );
}
