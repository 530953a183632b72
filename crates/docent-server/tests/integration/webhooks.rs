//! Outbound webhooks against a CRM stand-in that verifies every delivery with an independent
//! Standard Webhooks implementation (the PyPI package `standardwebhooks`): before and after a
//! secret rotation; a receiver failing its first three attempts gets the event exactly once
//! more, on the fourth; one that keeps failing is disabled after the last attempt (about three
//! days, stepped through with the queue's clock) and the owners are told; `410 Gone` disables
//! at once; a tampered or replayed delivery is detectable. Needs `DOCENT_WEBHOOKS_PYTHON`
//! (set by `scripts/test`).

use chrono::{Duration, Utc};
use docent_app::jobs::Worker;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Session, TestApp, code};
use crate::on_both_backends;
use crate::widget::published;

on_both_backends!(settings = crate::webhooks::tune; deliveries_are_signed_retried_and_disabled);

fn tune(s: &mut docent_core::Settings) {
    crate::common::unlimited_widget(s);
    // The stand-in listens on loopback; every other private address stays refused.
    s.fetch_allowed_hosts = vec!["127.0.0.1".into()];
    s.webhook_timeout_secs = 2;
}

/// The receiver: answers by path (`/ok` 204; `/fail3` 500 three times, then 200; `/down`
/// always 503; `/gone` 410), verifies each delivery with the secrets it was given, and keeps
/// a log (`GET /_log`). `POST /_secrets` sets the secrets; `POST /_verify` checks a delivery
/// as given (for tampering).
const RECEIVER: &str = r#"
import json, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from standardwebhooks.webhooks import Webhook

state = {"secrets": [], "log": [], "seen": set(), "counts": {}}
lock = threading.Lock()

def verify(secrets, headers, body):
    errors = []
    for secret in secrets:
        try:
            Webhook(secret).verify(body, headers)
            return True, None
        except Exception as e:
            errors.append(type(e).__name__ + ": " + str(e))
    return False, "; ".join(errors) or "no secret"

class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body=b""):
        self.send_response(status)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        with lock:
            self.reply(200, json.dumps(state["log"]).encode())

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
        if self.path == "/_secrets":
            with lock:
                state["secrets"] = json.loads(body)
            return self.reply(204)
        if self.path == "/_verify":
            asked = json.loads(body)
            ok, error = verify(asked["secrets"], asked["headers"], asked["body"])
            return self.reply(200, json.dumps({"ok": ok, "error": error}).encode())
        headers = {k.lower(): v for k, v in self.headers.items()}
        with lock:
            ok, error = verify(state["secrets"], headers, body)
            msg_id = headers.get("webhook-id")
            duplicate = msg_id in state["seen"] and self.path != "/fail3"
            n = state["counts"].get(self.path, 0) + 1
            state["counts"][self.path] = n
            status = {"/ok": 204, "/down": 503, "/gone": 410}.get(self.path, 200)
            if self.path == "/fail3":
                status = 500 if n <= 3 else 200
            if 200 <= status < 300:
                state["seen"].add(msg_id)
            state["log"].append({"path": self.path, "headers": headers, "body": body,
                                 "verified": ok, "error": error, "duplicate": duplicate, "status": status})
        self.reply(status, b'{"received": true}' if status < 300 else b"try later")

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

struct Receiver {
    base: String,
    _child: tokio::process::Child,
}

impl Receiver {
    async fn start() -> Option<Receiver> {
        let found = std::env::var("DOCENT_WEBHOOKS_PYTHON").ok();
        assert!(
            found.is_some() || std::env::var("DOCENT_REQUIRE_WEBHOOKS").is_err(),
            "DOCENT_REQUIRE_WEBHOOKS is set but DOCENT_WEBHOOKS_PYTHON is not"
        );
        let python = found?;
        let mut child = tokio::process::Command::new(python)
            .args(["-c", RECEIVER])
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the receiver");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        tokio::io::AsyncBufReadExt::read_line(&mut tokio::io::BufReader::new(stdout), &mut line)
            .await
            .expect("the receiver's port");
        let port: u16 = line.trim().parse().expect("a port");
        Some(Receiver {
            base: format!("http://127.0.0.1:{port}"),
            _child: child,
        })
    }

    async fn trust(&self, secrets: &[&str]) {
        let response = reqwest::Client::new()
            .post(format!("{}/_secrets", self.base))
            .json(&secrets)
            .send()
            .await
            .expect("secrets");
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }

    async fn log(&self) -> Vec<Value> {
        reqwest::get(format!("{}/_log", self.base))
            .await
            .expect("log")
            .json()
            .await
            .expect("json")
    }

    async fn at(&self, path: &str) -> Vec<Value> {
        self.log()
            .await
            .into_iter()
            .filter(|d| d["path"] == path)
            .collect()
    }

    async fn verifies(&self, secrets: &[&str], headers: &Value, body: &str) -> Value {
        reqwest::Client::new()
            .post(format!("{}/_verify", self.base))
            .json(&json!({"secrets": secrets, "headers": headers, "body": body}))
            .send()
            .await
            .expect("verify")
            .json()
            .await
            .expect("json")
    }
}

async fn add_webhook(owner: &Session, url: &str, events: &[&str]) -> (String, String) {
    let (status, made) = owner
        .post("/api/webhooks", json!({"url": url, "events": events}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let secret = made["secret"].as_str().expect("secret").to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    (made["id"].as_str().expect("id").to_owned(), secret)
}

async fn ask(app: &TestApp, slug: &str, visitor: &str, message: &str) {
    let response = reqwest::Client::new()
        .post(format!("{}/api/widget/{slug}/chat", app.base))
        .json(&json!({"message": message, "visitor_id": visitor}))
        .send()
        .await
        .expect("ask");
    assert_eq!(response.status(), StatusCode::OK);
}

/// Runs every job due by `at` (the queue's clock moved ahead), until none is.
async fn run_due(app: &TestApp, at: chrono::DateTime<Utc>) -> usize {
    let worker = Worker::new(app.state.app.clone(), "webhook-test-worker");
    let mut ran = 0;
    while worker.run_once_at(at).await.expect("worker").is_some() {
        ran += 1;
    }
    ran
}

async fn deliveries(owner: &Session, webhook: &str) -> Vec<Value> {
    let (status, list) = owner
        .get(&format!("/api/webhooks/{webhook}/deliveries"))
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["data"].as_array().expect("data").clone()
}

async fn deliveries_are_signed_retried_and_disabled(app: TestApp) {
    let Some(receiver) = Receiver::start().await else {
        eprintln!("skipped: no standardwebhooks (set DOCENT_WEBHOOKS_PYTHON)");
        return;
    };
    let (owner, space, slug) = published(&app, "crm@example.com", json!({})).await;

    // Refused before anything is stored: no events, an unknown one, a private address.
    for (body, expected) in [
        (
            json!({"url": format!("{}/ok", receiver.base), "events": []}),
            "validation_failed",
        ),
        (
            json!({"url": format!("{}/ok", receiver.base), "events": ["lead.lost"]}),
            "validation_failed",
        ),
        (
            json!({"url": "http://169.254.169.254/latest", "events": ["message.created"]}),
            "url_not_allowed",
        ),
        (
            json!({"url": "http://10.1.2.3/hook", "events": ["message.created"]}),
            "url_not_allowed",
        ),
        (
            json!({"url": "ftp://example.com/", "events": ["message.created"]}),
            "url_not_allowed",
        ),
        (
            json!({"url": "not a url", "events": ["message.created"]}),
            "validation_failed",
        ),
    ] {
        let (status, refused) = owner.post("/api/webhooks", body).await;
        assert!(status.is_client_error(), "{status} {refused}");
        assert_eq!(code(&refused), expected, "{refused}");
    }
    let agent = app
        .invite_and_join(&owner, "agent@example.com", "agent")
        .await;
    let (status, _) = agent.get("/api/webhooks").await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "webhooks are for owners and admins"
    );

    let (crm, secret) = add_webhook(
        &owner,
        &format!("{}/ok", receiver.base),
        &["conversation.created", "message.created", "lead.captured"],
    )
    .await;
    receiver.trust(&[&secret]).await;
    let (_, listed) = owner.get("/api/webhooks").await;
    assert!(
        !listed.to_string().contains(&secret),
        "the secret is shown once"
    );

    // A visitor's first question: the conversation and both messages, verified.
    ask(
        &app,
        &slug,
        "visitor-webhooks-1",
        "How long do refunds take?",
    )
    .await;
    run_due(&app, Utc::now()).await;
    let got = receiver.at("/ok").await;
    let types: Vec<&str> = got
        .iter()
        .map(|d| {
            let body: Value =
                serde_json::from_str(d["body"].as_str().expect("body")).expect("json");
            assert_eq!(d["verified"], true, "{d}");
            assert_eq!(body["data"]["chat_space_id"], space.as_str(), "{body}");
            match body["type"].as_str().expect("type") {
                "conversation.created" => "conversation.created",
                "message.created" => {
                    if body["data"]["role"] == "user" {
                        assert_eq!(body["data"]["content"], "How long do refunds take?");
                        "message.created:user"
                    } else {
                        "message.created:assistant"
                    }
                }
                other => panic!("unexpected {other}"),
            }
        })
        .collect();
    let mut sorted = types.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        [
            "conversation.created",
            "message.created:assistant",
            "message.created:user"
        ]
    );
    let first = got[0].clone();

    // Tampered: another body, or a fresh timestamp on the old signature, fails; a replay of
    // the same delivery carries a webhook-id the receiver has seen.
    let body = first["body"].as_str().expect("body");
    let headers = first["headers"].clone();
    assert_eq!(
        receiver.verifies(&[&secret], &headers, body).await["ok"],
        true
    );
    let tampered = body.replace("chat_space_id", "chat_space_ix");
    assert_eq!(
        receiver.verifies(&[&secret], &headers, &tampered).await["ok"],
        false
    );
    let mut later = headers.clone();
    later["webhook-timestamp"] = json!((Utc::now().timestamp() + 1).to_string());
    assert_eq!(
        receiver.verifies(&[&secret], &later, body).await["ok"],
        false
    );
    let replay = reqwest::Client::new()
        .post(format!("{}/ok", receiver.base))
        .header("webhook-id", headers["webhook-id"].as_str().expect("id"))
        .header(
            "webhook-timestamp",
            headers["webhook-timestamp"].as_str().expect("ts"),
        )
        .header(
            "webhook-signature",
            headers["webhook-signature"].as_str().expect("sig"),
        )
        .body(body.to_owned())
        .send()
        .await
        .expect("replay");
    assert!(replay.status().is_success());
    let replayed = receiver.at("/ok").await.pop().expect("the replay");
    assert_eq!(replayed["duplicate"], true, "{replayed}");

    // Rotation: the receiver moves to the new secret alone and still verifies everything;
    // for a day the old secret verifies too (both sign).
    let (status, rotated) = owner
        .call(Method::POST, &format!("/api/webhooks/{crm}/rotate-secret"))
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new_secret = rotated["secret"].as_str().expect("secret").to_owned();
    assert_ne!(new_secret, secret);
    receiver.trust(&[&new_secret]).await;
    ask(
        &app,
        &slug,
        "visitor-webhooks-2",
        "Can I return unused items?",
    )
    .await;
    run_due(&app, Utc::now()).await;
    let after = receiver.at("/ok").await;
    let fresh: Vec<&Value> = after.iter().skip(got.len() + 1).collect();
    assert_eq!(fresh.len(), 3, "{after:?}");
    for d in &fresh {
        assert_eq!(d["verified"], true, "{d}");
        let body = d["body"].as_str().expect("body");
        assert_eq!(
            receiver.verifies(&[&secret], &d["headers"], body).await["ok"],
            true
        );
        assert_eq!(
            d["headers"]["webhook-signature"]
                .as_str()
                .expect("signature")
                .split(' ')
                .count(),
            2
        );
    }

    // Fails three times, then answers: exactly one more delivery, the fourth, same id.
    let (flaky, flaky_secret) = add_webhook(
        &owner,
        &format!("{}/fail3", receiver.base),
        &["conversation.created"],
    )
    .await;
    receiver.trust(&[&new_secret, &flaky_secret]).await;
    ask(&app, &slug, "visitor-webhooks-3", "Do you ship abroad?").await;
    let now = Utc::now();
    for hours in [0, 1, 3, 8, 30, 80, 200] {
        run_due(&app, now + Duration::hours(hours) + Duration::seconds(6)).await;
    }
    let attempts = receiver.at("/fail3").await;
    let statuses: Vec<i64> = attempts
        .iter()
        .map(|d| d["status"].as_i64().expect("status"))
        .collect();
    assert_eq!(statuses, [500, 500, 500, 200]);
    for d in &attempts {
        assert_eq!(d["verified"], true, "{d}");
        assert_eq!(
            d["headers"]["webhook-id"],
            attempts[0]["headers"]["webhook-id"]
        );
    }
    let log = deliveries(&owner, &flaky).await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(
        (log[0]["status"].as_str(), log[0]["attempts"].as_i64()),
        (Some("succeeded"), Some(4))
    );

    // Always down: ten attempts over about three days, then off, and the owner is told.
    let (down, down_secret) = add_webhook(
        &owner,
        &format!("{}/down", receiver.base),
        &["conversation.created"],
    )
    .await;
    receiver.trust(&[&new_secret, &down_secret]).await;
    ask(&app, &slug, "visitor-webhooks-4", "Hello?").await;
    let now = Utc::now();
    for step in 0..12 {
        run_due(
            &app,
            now + Duration::hours(step * 24) + Duration::seconds(6),
        )
        .await;
        run_due(&app, now + Duration::hours(step * 24 + 12)).await;
    }
    assert_eq!(receiver.at("/down").await.len(), 10);
    let (_, endpoint) = owner.get(&format!("/api/webhooks/{down}")).await;
    assert!(endpoint["disabled_at"].is_string(), "{endpoint}");
    let log = deliveries(&owner, &down).await;
    assert_eq!(
        (log[0]["status"].as_str(), log[0]["attempts"].as_i64()),
        (Some("failed"), Some(10))
    );
    assert_eq!(log[0]["last_status_code"], 503);
    let outbox = app.state.store.list_outbox(20).await.expect("outbox");
    assert!(
        outbox
            .iter()
            .any(|m| m.to_email == "crm@example.com" && m.subject.contains("/down")),
        "the owner is told: {outbox:?}"
    );
    // Off: new events are not sent; turned on, they are; a redelivery sends the old one once.
    ask(&app, &slug, "visitor-webhooks-5", "Anyone?").await;
    run_due(&app, Utc::now()).await;
    assert_eq!(receiver.at("/down").await.len(), 10);
    let (status, on) = owner
        .patch(&format!("/api/webhooks/{down}"), json!({"enabled": true}))
        .await;
    assert_eq!(
        (status, on["disabled_at"].clone()),
        (StatusCode::OK, Value::Null),
        "{on}"
    );
    let failed = log[0]["id"].as_str().expect("id");
    let (status, queued) = owner
        .call(
            Method::POST,
            &format!("/api/webhooks/{down}/deliveries/{failed}/retry"),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    run_due(&app, Utc::now()).await;
    run_due(&app, Utc::now() + Duration::days(4)).await;
    let down_log = receiver.at("/down").await;
    assert_eq!(down_log.len(), 11, "one redelivery, not retried");
    assert_eq!(
        down_log[10]["headers"]["webhook-id"],
        down_log[0]["headers"]["webhook-id"]
    );
    let (_, still_on) = owner.get(&format!("/api/webhooks/{down}")).await;
    assert!(
        still_on["disabled_at"].is_null(),
        "a failed redelivery does not disable: {still_on}"
    );

    // 410 Gone disables at once; "send test" shows what the receiver answered.
    let (gone, _) = add_webhook(
        &owner,
        &format!("{}/gone", receiver.base),
        &["message.created"],
    )
    .await;
    let (status, tested) = owner
        .call(Method::POST, &format!("/api/webhooks/{crm}/test"))
        .await;
    assert_eq!(status, StatusCode::OK, "{tested}");
    assert_eq!(
        (
            tested["status"].as_str(),
            tested["last_status_code"].as_i64()
        ),
        (Some("succeeded"), Some(204))
    );
    let test_delivery = receiver.at("/ok").await.pop().expect("the test");
    assert_eq!(test_delivery["verified"], true);
    assert!(
        test_delivery["body"]
            .as_str()
            .expect("body")
            .contains("webhook.test")
    );
    ask(&app, &slug, "visitor-webhooks-6", "Bye").await;
    run_due(&app, Utc::now()).await;
    assert_eq!(receiver.at("/gone").await.len(), 1, "no retry after 410");
    let (_, endpoint) = owner.get(&format!("/api/webhooks/{gone}")).await;
    assert!(
        endpoint["disabled_reason"]
            .as_str()
            .is_some_and(|r| r.contains("410")),
        "{endpoint}"
    );

    // The same from the dashboard's forms: added (its secret shown once), refused without
    // events, tested, rotated, turned off.
    let url = format!("{}/ok", receiver.base);
    let (status, page) = owner
        .form(
            "/app/webhooks",
            &[("url", &url), ("event:lead.captured", "on")],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(
        page.contains("whsec_") && page.contains("won't be shown again"),
        "{page}"
    );
    let (status, page) = owner.form("/app/webhooks", &[("url", &url)]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Choose at least one event type"), "{page}");
    let (status, page) = owner.form(&format!("/app/webhooks/{crm}/test"), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Test delivered: the endpoint answered HTTP 204"),
        "{page}"
    );
    let (status, page) = owner
        .form(&format!("/app/webhooks/{crm}/rotate"), &[])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("keeps signing alongside it for 24 hours"),
        "{page}"
    );
    let (status, _) = owner
        .form(&format!("/app/webhooks/{crm}/toggle"), &[])
        .await;
    assert!(status.is_redirection(), "{status}");
    let (_, off) = owner.get(&format!("/api/webhooks/{crm}")).await;
    assert!(off["disabled_at"].is_string(), "{off}");
    let (status, log) = owner.page(&format!("/app/webhooks/{crm}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(log.contains("webhook.test"), "the log lists the tests");

    // The delivery log is kept a month (the retention job prunes it).
    let pruned = app
        .state
        .store
        .prune_webhook_logs(Utc::now() + Duration::days(1))
        .await
        .expect("prune");
    assert!(pruned > 0);
    assert!(deliveries(&owner, &crm).await.is_empty(), "pruned");

    // Deleted: its log goes with it.
    let (status, _) = owner
        .call(Method::DELETE, &format!("/api/webhooks/{gone}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = owner.get(&format!("/api/webhooks/{gone}/deliveries")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
