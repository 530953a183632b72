//! The webhook answer mode against an n8n Chat Trigger stand-in speaking its contract: the
//! request as the Chat Trigger reads it, the plain answer (`{"output"}`) and the streamed
//! lines (`{"type": "item", "content"}`), passed on to the visitor as they come; turned off
//! (n8n's 404 for an inactive workflow), refused, slow or answering nonsense, the visitor
//! gets the fallback reply, each failure is a `webhook_errors` row, the health turns red
//! within one health check, and after three failures in a row the owner is emailed once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::common::{Session, TestApp, events, loopback, serve_in_background};
use crate::on_both_backends;

on_both_backends!(settings = crate::answer_webhook::tune; an_n8n_workflow_answers_the_visitors);
on_both_backends!(settings = crate::answer_webhook::tune; a_chat_trigger_with_basic_auth_gets_its_credentials);

fn tune(s: &mut docent_core::Settings) {
    crate::common::unlimited_widget(s);
    s.fetch_allowed_hosts = vec!["127.0.0.1".into()];
    s.llm_timeout_secs = 1;
    s.webhook_timeout_secs = 1;
}

/// What the stand-in was sent, and whether its workflow is active.
#[derive(Clone, Default)]
pub(crate) struct N8n {
    pub received: Arc<Mutex<Vec<Value>>>,
    pub off: Arc<AtomicBool>,
}

/// n8n's Chat Trigger as Docent meets it, at `/webhook/{plain|stream|slow|odd}/chat`: a
/// `loadPreviousSession` gets `{"data": []}` (its memory is off); a `sendMessage` gets
/// `{"output"}`, or the streamed lines, or nothing for two seconds, or JSON without an
/// answer. Off, it answers as n8n does for a workflow that is not active.
pub(crate) async fn n8n_stand_in() -> (String, N8n) {
    let state = N8n::default();
    async fn answer(
        State(n8n): State<N8n>,
        axum::extract::Path(mode): axum::extract::Path<String>,
        Json(body): Json<Value>,
    ) -> axum::response::Response {
        use axum::response::IntoResponse;
        n8n.received.lock().await.push(body.clone());
        if n8n.off.load(Ordering::SeqCst) {
            return (
                StatusCode::NOT_FOUND,
                Json(json!({"code": 404, "message": "The requested webhook \"POST chat\" is not registered.", "hint": "The workflow must be active for a production URL to run successfully."})),
            )
                .into_response();
        }
        if body["action"] == "loadPreviousSession" {
            return Json(json!({"data": []})).into_response();
        }
        let input = body["chatInput"].as_str().unwrap_or_default().to_owned();
        match mode.as_str() {
            "stream" => {
                let meta = json!({"nodeId": "agent-1", "nodeName": "AI Agent", "timestamp": 1733100000000u64});
                let lines = vec![
                    json!({"type": "begin", "metadata": meta}),
                    json!({"type": "item", "content": "Streamed ", "metadata": meta}),
                    json!({"type": "item", "content": "answer to: ", "metadata": meta}),
                    json!({"type": "item", "content": input, "metadata": meta}),
                    json!({"type": "end", "metadata": meta}),
                ];
                let stream =
                    futures_util::stream::unfold(lines.into_iter(), |mut rest| async move {
                        let line = rest.next()?;
                        tokio::time::sleep(Duration::from_millis(40)).await;
                        Some((Ok::<_, std::convert::Infallible>(format!("{line}\n")), rest))
                    });
                axum::response::Response::builder()
                    .header("content-type", "application/json; charset=utf-8")
                    .body(axum::body::Body::from_stream(stream))
                    .expect("response")
            }
            "slow" => {
                tokio::time::sleep(Duration::from_secs(2)).await;
                Json(json!({"output": "too late"})).into_response()
            }
            "odd" => Json(json!({"result": 42})).into_response(),
            _ => Json(json!({"output": format!("Plain answer to: {input}")})).into_response(),
        }
    }
    let (listener, base) = loopback().await;
    serve_in_background(
        listener,
        axum::Router::new()
            .route("/webhook/{mode}/chat", post(answer))
            .with_state(state.clone()),
    );
    (base, state)
}

async fn status(owner: &Session, space: &str) -> Value {
    let (code, status) = owner
        .get(&format!("/api/chat-spaces/{space}/answer-webhook"))
        .await;
    assert_eq!(code, StatusCode::OK, "{status}");
    status
}

async fn use_webhook(owner: &Session, space: &str, url: &str) {
    let (code, body) = owner
        .patch(&format!("/api/chat-spaces/{space}"),
            json!({"answer_mode": "webhook", "webhook_url": url,
                   "ai_config": {"fallback_reply": "Our assistant is resting; write to help@example.com."}}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
}

/// A visitor's question over SSE: the deltas and the stored answer.
async fn ask(app: &TestApp, slug: &str, message: &str) -> (Vec<String>, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/api/widget/{slug}/chat", app.base))
        .header("accept", "text/event-stream")
        .json(&json!({"message": message, "visitor_id": "visitor-n8n-0001"}))
        .send()
        .await
        .expect("ask");
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.text().await.expect("body");
    let all = events(&body);
    let deltas = all
        .iter()
        .filter(|(e, _)| e == "delta")
        .map(|(_, d)| d["text"].as_str().unwrap_or_default().to_owned())
        .collect();
    let mut done = all
        .iter()
        .find(|(e, _)| e == "done")
        .map(|(_, d)| d.clone())
        .unwrap_or_else(|| panic!("no done event: {body}"));
    if let Some((_, start)) = all.iter().find(|(e, _)| e == "start") {
        done["conversation_id"] = start["conversation_id"].clone();
    }
    (deltas, done)
}

async fn an_n8n_workflow_answers_the_visitors(app: TestApp) {
    let (n8n, stand_in) = n8n_stand_in().await;
    let owner = app.signup("n8n@example.com").await;
    let (code, space) = owner
        .post("/api/chat-spaces", json!({"name": "Workflow help"}))
        .await;
    assert_eq!(code, StatusCode::CREATED, "{space}");
    let id = space["id"].as_str().expect("id").to_owned();
    let slug = space["endpoint_slug"].as_str().expect("slug").to_owned();
    let (code, refused) = owner
        .patch(
            &format!("/api/chat-spaces/{id}"),
            json!({"answer_mode": "webhook"}),
        )
        .await;
    assert_eq!(
        code,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a webhook needs its URL: {refused}"
    );

    // Saved: checked at once with loadPreviousSession, which runs no workflow.
    use_webhook(&owner, &id, &format!("{n8n}/webhook/plain/chat")).await;
    // Settings says who answers, not that a model (or quoting) does.
    let (_, settings) = owner.page(&format!("/app/chat-spaces/{id}")).await;
    assert!(
        settings.contains("Your webhook writes the answers")
            && !settings.contains("Answers are quoted from your knowledge")
            && !settings.contains("Answers are written by"),
        "{settings}"
    );
    let checked = status(&owner, &id).await;
    assert_eq!(checked["health"]["state"], "healthy", "{checked}");
    assert_eq!(
        stand_in
            .received
            .lock()
            .await
            .last()
            .map(|b| b["action"].clone()),
        Some(json!("loadPreviousSession"))
    );
    // No knowledge is needed to publish a chat space its workflow answers.
    let (code, published) = owner
        .call(Method::POST, &format!("/api/chat-spaces/{id}/publish"))
        .await;
    assert_eq!(code, StatusCode::OK, "{published}");

    // Plain: the Chat Trigger's request, and its output as the answer.
    let (deltas, done) = ask(&app, &slug, "Where is my order?").await;
    assert_eq!(
        done["content"], "Plain answer to: Where is my order?",
        "{done}"
    );
    assert_eq!(deltas.concat(), "Plain answer to: Where is my order?");
    let sent = stand_in
        .received
        .lock()
        .await
        .last()
        .cloned()
        .expect("sent");
    assert_eq!(sent["action"], "sendMessage");
    assert_eq!(sent["chatInput"], "Where is my order?");
    assert_eq!(sent["sessionId"], done["conversation_id"], "{sent}");
    assert_eq!(sent["metadata"]["visitor_id"], "visitor-n8n-0001");
    assert_eq!(sent["metadata"]["chat_space_id"], id.as_str());

    // Streamed: the items reach the visitor one by one, and make the stored answer.
    use_webhook(&owner, &id, &format!("{n8n}/webhook/stream/chat")).await;
    let (deltas, done) = ask(&app, &slug, "And my refund?").await;
    assert_eq!(deltas, ["Streamed ", "answer to: ", "And my refund?"]);
    assert_eq!(done["content"], "Streamed answer to: And my refund?");
    // The playground asks the same workflow.
    let (code, tried) = owner
        .post(
            &format!("/api/chat-spaces/{id}/chat"),
            json!({"message": "From the playground"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{tried}");
    assert_eq!(
        tried["message"]["content"], "Streamed answer to: From the playground",
        "{tried}"
    );

    // Off: the fallback reply, a `status` error that says why, and a red health.
    stand_in.off.store(true, Ordering::SeqCst);
    let (_, done) = ask(&app, &slug, "Hello?").await;
    assert_eq!(
        done["content"],
        "Our assistant is resting; write to help@example.com."
    );
    assert_eq!(done["answer_kind"], "error");
    let after = status(&owner, &id).await;
    assert_eq!(after["health"]["state"], "failing", "{after}");
    assert_eq!(after["errors"][0]["kind"], "status");
    assert!(
        after["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("404") && m.contains("not active")),
        "{after}"
    );
    // The hourly check sees it too; the third failure in a row emails the owner, once.
    let mut job = docent_core::NewJob::of(docent_core::JobKind::WebhookHealth);
    job.key = None;
    for _ in 0..3 {
        app.state
            .store
            .enqueue_job(job.clone(), chrono::Utc::now())
            .await
            .expect("queue");
        crate::common::drain_jobs(&app).await;
    }
    let after = status(&owner, &id).await;
    assert_eq!(after["health"]["consecutive_failures"], 4, "{after}");
    let outbox = app.state.store.list_outbox(20).await.expect("outbox");
    let told: Vec<_> = outbox
        .iter()
        .filter(|m| m.subject.contains("answer webhook is failing"))
        .collect();
    assert_eq!(told.len(), 1, "{outbox:?}");
    assert_eq!(told[0].to_email, "n8n@example.com");
    // Back on: a check clears it.
    stand_in.off.store(false, Ordering::SeqCst);
    let (code, cleared) = owner
        .call(
            Method::POST,
            &format!("/api/chat-spaces/{id}/answer-webhook/check"),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{cleared}");
    assert_eq!(
        (
            cleared["health"]["state"].clone(),
            cleared["health"]["consecutive_failures"].clone()
        ),
        (json!("healthy"), json!(0))
    );

    // Slow (tried twice), nonsense, and nobody listening: each the fallback and its kind.
    let closed = {
        let (listener, base) = loopback().await;
        drop(listener);
        base
    };
    for (url, kind, rows) in [
        (format!("{n8n}/webhook/slow/chat"), "timeout", 2),
        (format!("{n8n}/webhook/odd/chat"), "bad_body", 1),
        (format!("{closed}/webhook/x/chat"), "refused", 2),
    ] {
        use_webhook(&owner, &id, &url).await;
        let before = status(&owner, &id).await["errors"]
            .as_array()
            .map_or(0, Vec::len);
        let (_, done) = ask(&app, &slug, "Anyone there?").await;
        assert_eq!(done["answer_kind"], "error", "{url}");
        let now = status(&owner, &id).await;
        let errors = now["errors"].as_array().expect("errors");
        assert!(
            errors.len() >= before + rows,
            "{url}: {rows} more rows expected: {now}"
        );
        assert_eq!(errors[0]["kind"], kind, "{url}: {now}");
    }
}

/// The `Authorization` an n8n Chat Trigger with Basic auth (user `docent`, password
/// `s3cret: with a colon`) accepts.
const TRIGGER_AUTH: &str = "Basic ZG9jZW50OnMzY3JldDogd2l0aCBhIGNvbG9u";

/// A Chat Trigger with Basic auth: without the right credentials it answers as n8n does
/// (401, `WWW-Authenticate: Basic realm="Webhook"`); with them, `{"output"}`. Keeps the
/// `Authorization` of every request.
async fn guarded_stand_in() -> (String, Arc<Mutex<Vec<Option<String>>>>) {
    let seen: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    async fn answer(
        State(seen): State<Arc<Mutex<Vec<Option<String>>>>>,
        headers: axum::http::HeaderMap,
        Json(body): Json<Value>,
    ) -> axum::response::Response {
        use axum::response::IntoResponse;
        let auth = headers
            .get("authorization")
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned);
        seen.lock().await.push(auth.clone());
        if auth.as_deref() != Some(TRIGGER_AUTH) {
            return (
                StatusCode::UNAUTHORIZED,
                [("www-authenticate", "Basic realm=\"Webhook\"")],
                "Authorization is required!",
            )
                .into_response();
        }
        if body["action"] == "loadPreviousSession" {
            return Json(json!({"data": []})).into_response();
        }
        let input = body["chatInput"].as_str().unwrap_or_default();
        Json(json!({"output": format!("Guarded answer to: {input}")})).into_response()
    }
    let (listener, base) = loopback().await;
    serve_in_background(
        listener,
        axum::Router::new()
            .route("/webhook/guarded/chat", post(answer))
            .with_state(seen.clone()),
    );
    (base, seen)
}

async fn a_chat_trigger_with_basic_auth_gets_its_credentials(app: TestApp) {
    let (n8n, seen) = guarded_stand_in().await;
    let owner = app.signup("guarded@example.com").await;
    let (_, space) = owner
        .post("/api/chat-spaces", json!({"name": "Guarded help"}))
        .await;
    let id = space["id"].as_str().expect("id").to_owned();
    let slug = space["endpoint_slug"].as_str().expect("slug").to_owned();
    use_webhook(&owner, &id, &format!("{n8n}/webhook/guarded/chat")).await;
    let checked = status(&owner, &id).await;
    assert_eq!(checked["health"]["state"], "failing", "{checked}");
    assert_eq!(checked["basic_auth_username"], Value::Null);
    let said = checked["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        said.contains("401") && said.contains("set its Basic auth username and password"),
        "the failure names the fix: {said}"
    );
    let (code, published) = owner
        .call(Method::POST, &format!("/api/chat-spaces/{id}/publish"))
        .await;
    assert_eq!(code, StatusCode::OK, "{published}");
    let (_, done) = ask(&app, &slug, "Is the shop open?").await;
    assert_eq!(
        done["content"], "Our assistant is resting; write to help@example.com.",
        "without credentials the visitor gets the fallback: {done}"
    );

    // What Basic auth cannot carry is refused per field, before anything is stored.
    let path = format!("/api/chat-spaces/{id}/answer-webhook/auth");
    for (body, field) in [
        (json!({"username": "do:cent", "password": "x"}), "username"),
        (json!({"username": "  ", "password": "x"}), "username"),
        (json!({"username": "docent", "password": ""}), "password"),
        (
            json!({"username": "docent", "password": "line\nbreak"}),
            "password",
        ),
    ] {
        let (code, refused) = owner.put(&path, body).await;
        assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
        let fields = refused["error"]["fields"].as_array().expect("fields");
        assert!(fields.iter().any(|f| f["field"] == field), "{refused}");
    }
    let agent = app
        .invite_and_join(&owner, "agent@example.com", "agent")
        .await;
    let (code, _) = agent
        .put(&path, json!({"username": "docent", "password": "x"}))
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN, "agents do not set credentials");

    // Set: checked again at once, with them; the password is never shown.
    let (code, set) = owner
        .put(
            &path,
            json!({"username": "docent", "password": "s3cret: with a colon"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{set}");
    assert_eq!(set["basic_auth_username"], "docent");
    assert_eq!(set["health"]["state"], "healthy", "{set}");
    let (_, done) = ask(&app, &slug, "Is the shop open?").await;
    assert_eq!(
        done["content"], "Guarded answer to: Is the shop open?",
        "{done}"
    );
    assert_eq!(
        seen.lock().await.last().cloned().flatten().as_deref(),
        Some(TRIGGER_AUTH)
    );
    let (_, space_json) = owner.get(&format!("/api/chat-spaces/{id}")).await;
    let (_, page) = owner.page(&format!("/app/chat-spaces/{id}")).await;
    for shown in [
        set.to_string(),
        status(&owner, &id).await.to_string(),
        space_json.to_string(),
        page.clone(),
    ] {
        assert!(
            !shown.contains("s3cret"),
            "the password is not shown: {shown}"
        );
    }
    assert!(page.contains("Called with Basic auth as"), "{page}");

    // From the Settings page: a wrong password makes the check fail, Remove takes them away.
    let form = format!("/app/chat-spaces/{id}/answer-webhook/auth");
    let (code, _) = owner
        .form(
            &form,
            &[
                ("action", "save"),
                ("username", "docent"),
                ("password", "wrong"),
            ],
        )
        .await;
    assert_eq!(code, StatusCode::SEE_OTHER);
    let checked = status(&owner, &id).await;
    assert_eq!(checked["health"]["state"], "failing", "{checked}");
    let said = checked["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(said.contains("refused the username and password"), "{said}");
    let (code, html) = owner
        .form(
            &form,
            &[("action", "save"), ("username", "a:b"), ("password", "x")],
        )
        .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("cannot hold a colon"),
        "the field's error on the page"
    );
    let (code, _) = owner.form(&form, &[("action", "remove")]).await;
    assert_eq!(code, StatusCode::SEE_OTHER);
    assert_eq!(
        status(&owner, &id).await["basic_auth_username"],
        Value::Null
    );
    ask(&app, &slug, "And now?").await;
    assert_eq!(
        seen.lock().await.last().cloned().flatten(),
        None,
        "sent without"
    );
}
