//! The public widget API over real HTTP: config, conversations, answers (JSON and streamed),
//! history, feedback, the origin allowlist with its CORS headers, rate limits, idle
//! conversations, quotas, the assets and the embed and share pages.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Backend, Session, TestApp, code, drain_jobs, events};
use crate::on_both_backends;

const RETURNS: &str = "Returns are accepted within thirty days of delivery when the item is \
                       unused and in its original box. Refunds reach your card in five days.";
const VISITOR: &str = "visitor-0123456789";

/// An owner with a published chat space holding one citable document; its id and slug.
pub async fn published(app: &TestApp, email: &str, extra: Value) -> (Session, String, String) {
    let owner = app.signup(email).await;
    let mut body = json!({"name": "Shop help"});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let (status, space) = owner.post("/api/chat-spaces", body).await;
    assert_eq!(status, StatusCode::CREATED, "{space}");
    let id = space["id"].as_str().expect("id").to_owned();
    let slug = space["endpoint_slug"].as_str().expect("slug").to_owned();
    let (status, body) = owner
        .upload(
            &format!("/api/chat-spaces/{id}/documents/upload"),
            &[("returns.txt", RETURNS.as_bytes())],
            Some("true"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    drain_jobs(app).await;
    let (status, body) = owner
        .call(Method::POST, &format!("/api/chat-spaces/{id}/publish"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (owner, id, slug)
}

/// A visitor's request: no cookies, optionally from a page at `origin`.
fn visitor(
    app: &TestApp,
    method: Method,
    path: &str,
    origin: Option<&str>,
) -> reqwest::RequestBuilder {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", app.base));
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    request
}

async fn read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A visitor's GET, without an origin.
async fn get(app: &TestApp, path: &str) -> (StatusCode, Value) {
    read(
        visitor(app, Method::GET, path, None)
            .send()
            .await
            .expect("send"),
    )
    .await
}

async fn ask(app: &TestApp, slug: &str, body: Value) -> (StatusCode, Value) {
    read(
        visitor(app, Method::POST, &format!("/api/widget/{slug}/chat"), None)
            .json(&body)
            .send()
            .await
            .expect("send"),
    )
    .await
}

async fn visitors_chat_and_rate_answers(app: TestApp) {
    let owner = app.signup("draft@example.com").await;
    let (_, draft) = owner
        .post("/api/chat-spaces", json!({"name": "Not yet"}))
        .await;
    let draft_slug = draft["endpoint_slug"].as_str().expect("slug");
    let (status, body) = get(&app, &format!("/api/widget/{draft_slug}/config")).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a draft has no widget: {body}"
    );

    let (owner, id, slug) = published(&app, "owner@example.com", json!({})).await;
    let (status, config) = get(&app, &format!("/api/widget/{slug}/config")).await;
    assert_eq!(status, StatusCode::OK, "{config}");
    assert_eq!(
        config["widget"]["bot_name"], "Shop help",
        "the name stands in"
    );
    assert!(config["widget"]["primary_color"].is_string());

    // A whole answer, as JSON: citations, but nothing of the model's bookkeeping.
    let (status, answer) = ask(
        &app,
        &slug,
        json!({"message": "How long do refunds take?", "visitor_id": VISITOR, "name": "Zoe"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let conversation = answer["conversation_id"]
        .as_str()
        .expect("conversation")
        .to_owned();
    let message = &answer["message"];
    assert_eq!(message["role"], "assistant");
    assert!(
        message["content"]
            .as_str()
            .expect("text")
            .contains("five days"),
        "{message}"
    );
    assert_eq!(message["citations"][0]["title"], "returns");
    for private in [
        "context_chunks",
        "model",
        "cost_micro_usd",
        "tokens_in",
        "org_id",
    ] {
        assert!(
            message.get(private).is_none(),
            "{private} is not for visitors"
        );
    }
    assert!(
        answer.get("sources").is_none(),
        "retrieved chunks are not for visitors"
    );

    // The same conversation, streamed.
    let response = visitor(&app, Method::POST, &format!("/api/widget/{slug}/chat"), None)
        .header("accept", "text/event-stream")
        .json(&json!({"message": "Which items can be returned?", "visitor_id": VISITOR, "conversation_id": conversation}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    let streamed = events(&response.text().await.expect("body"));
    assert_eq!(streamed[0].0, "start");
    assert_eq!(streamed[0].1["conversation_id"], conversation.as_str());
    assert!(streamed[0].1.get("sources").is_none());
    assert!(streamed.iter().any(|(e, _)| e == "delta"));
    let (last, done) = streamed.last().expect("events");
    assert_eq!(last, "done");
    assert!(done.get("context_chunks").is_none());
    let answer_id = done["id"].as_str().expect("id").to_owned();

    // History: only for the visitor who holds it.
    let history = format!("/api/widget/{slug}/conversation/{conversation}");
    let (status, body) = get(&app, &format!("{history}?visitor_id={VISITOR}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "active");
    let roles: Vec<&str> = body["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["role"].as_str().expect("role"))
        .collect();
    assert_eq!(roles, ["user", "assistant", "user", "assistant"]);
    for query in ["?visitor_id=someone-else-42", "?visitor_id=x", ""] {
        let (status, body) = get(&app, &format!("{history}{query}")).await;
        assert!(
            status == StatusCode::NOT_FOUND
                || status == StatusCode::UNPROCESSABLE_ENTITY
                || status == StatusCode::BAD_REQUEST,
            "{query}: {status} {body}"
        );
    }

    // Feedback on answers only; taking it back is allowed.
    let feedback = |message: &str, value: Value| {
        visitor(&app, Method::POST, &format!("/api/widget/{slug}/feedback"), None).json(&json!({
            "visitor_id": VISITOR, "conversation_id": conversation, "message_id": message, "feedback": value
        }))
    };
    let (status, body) = read(
        feedback(&answer_id, json!("up"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["feedback"], "up");
    let question_id = streamed[0].1["message_id"].as_str().expect("question id");
    let (status, body) = read(
        feedback(question_id, json!("down"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = read(
        feedback(&answer_id, json!("sideways"))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    // The owner sees the visitor's conversation, with its channel and name.
    let (status, list) = owner
        .get(&format!("/api/chat-spaces/{id}/conversations"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let seen = &list["data"][0];
    assert_eq!(seen["channel"], "widget");
    assert_eq!(seen["end_user_name"], "Zoe");
    assert_eq!(seen["visitor_id"], VISITOR);
    let usage = app
        .state
        .store
        .usage_days(
            seen["org_id"]
                .as_str()
                .expect("org")
                .parse()
                .expect("org id"),
            id.parse().expect("space id"),
            chrono::Utc::now().date_naive(),
        )
        .await
        .expect("usage");
    assert_eq!(usage.iter().map(|d| d.feedback_up).sum::<i64>(), 1);
    assert_eq!(usage.iter().map(|d| d.messages).sum::<i64>(), 2);

    // The embed code names the three ways in.
    let (status, embed) = owner.get(&format!("/api/chat-spaces/{id}/widget")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        embed["script"]
            .as_str()
            .expect("script")
            .contains(&format!("data-chat-space=\"{slug}\""))
    );

    // Unpublished, the widget goes quiet at once.
    let (status, _) = owner
        .call(Method::POST, &format!("/api/chat-spaces/{id}/unpublish"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = get(&app, &format!("/api/widget/{slug}/config")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn bad_visitor_input_gets_clear_errors(app: TestApp) {
    let (_, _, slug) = published(&app, "owner@example.com", json!({})).await;
    let long = "word ".repeat(1000);
    for (body, expected) in [
        (
            json!({"message": "hi", "visitor_id": "no"}),
            "validation_failed",
        ),
        (
            json!({"message": "hi", "visitor_id": "has spaces in it"}),
            "validation_failed",
        ),
        (
            json!({"message": "", "visitor_id": VISITOR}),
            "validation_failed",
        ),
        (
            json!({"message": long, "visitor_id": VISITOR}),
            "validation_failed",
        ),
        (
            json!({"message": "hi", "visitor_id": VISITOR, "surprise": 1}),
            "validation_failed",
        ),
        (
            json!({"message": "hi", "visitor_id": VISITOR, "email": "not an email"}),
            "validation_failed",
        ),
        (
            json!({"message": "hi", "visitor_id": VISITOR, "conversation_id": "0190d2a1-0000-7000-8000-000000000000"}),
            "not_found",
        ),
    ] {
        let (status, answer) = ask(&app, &slug, body.clone()).await;
        assert!(status.is_client_error(), "{body}: {status} {answer}");
        assert_eq!(code(&answer), expected, "{body}: {answer}");
    }
    let (status, body) = read(
        visitor(
            &app,
            Method::POST,
            &format!("/api/widget/{slug}/chat"),
            None,
        )
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .await
        .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{body}");
    let (status, body) = get(&app, "/api/widget/no-such-bot/config").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

async fn conversations_stay_with_their_chat_space(app: TestApp) {
    let (_, _, mine) = published(&app, "mine@example.com", json!({})).await;
    let (_, _, theirs) = published(&app, "theirs@example.com", json!({})).await;
    let (_, answer) = ask(
        &app,
        &mine,
        json!({"message": "refunds?", "visitor_id": VISITOR}),
    )
    .await;
    let conversation = answer["conversation_id"].as_str().expect("conversation");
    let answer_id = answer["message"]["id"].as_str().expect("id");
    // Through another chat space's slug, the same visitor finds nothing of it.
    let (status, _) = get(
        &app,
        &format!("/api/widget/{theirs}/conversation/{conversation}?visitor_id={VISITOR}"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = ask(
        &app,
        &theirs,
        json!({"message": "and now?", "visitor_id": VISITOR, "conversation_id": conversation}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = read(
        visitor(&app, Method::POST, &format!("/api/widget/{theirs}/feedback"), None)
            .json(&json!({"visitor_id": VISITOR, "conversation_id": conversation, "message_id": answer_id, "feedback": "down"}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn origins_are_checked_and_cors_says_so(app: TestApp) {
    let (_, _, slug) = published(
        &app,
        "owner@example.com",
        json!({"allowed_origins": ["https://shop.example.com", "https://*.example.org"]}),
    )
    .await;
    let config = format!("/api/widget/{slug}/config");
    for origin in ["https://shop.example.com", "https://help.example.org"] {
        let response = visitor(&app, Method::GET, &config, Some(origin))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), StatusCode::OK, "{origin}");
        assert_eq!(response.headers()["access-control-allow-origin"], origin);
        assert_eq!(response.headers()["vary"], "Origin");
    }
    for origin in [
        "https://evil.example.net",
        "http://shop.example.com",
        "https://example.org",
    ] {
        let response = visitor(&app, Method::GET, &config, Some(origin))
            .send()
            .await
            .expect("send");
        assert!(
            response
                .headers()
                .get("access-control-allow-origin")
                .is_none(),
            "{origin}"
        );
        let (status, body) = read(response).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{origin}");
        assert_eq!(code(&body), "origin_not_allowed");
        let (status, body) = read(
            visitor(
                &app,
                Method::POST,
                &format!("/api/widget/{slug}/chat"),
                Some(origin),
            )
            .json(&json!({"message": "hi", "visitor_id": VISITOR}))
            .send()
            .await
            .expect("send"),
        )
        .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "origin_not_allowed")
        );
    }
    // Preflights.
    let preflight = |origin: &str| {
        visitor(
            &app,
            Method::OPTIONS,
            &format!("/api/widget/{slug}/chat"),
            Some(origin),
        )
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
    };
    let response = preflight("https://shop.example.com")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://shop.example.com"
    );
    assert!(
        response.headers()["access-control-allow-methods"]
            .to_str()
            .expect("methods")
            .contains("POST")
    );
    assert!(
        response.headers()["access-control-allow-headers"]
            .to_str()
            .expect("headers")
            .contains("content-type")
    );
    let response = preflight("https://evil.example.net")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    // Docent's own pages (share page, iframe) and callers without an Origin are let in.
    for origin in [Some(app.base.as_str()), None] {
        let response = visitor(&app, Method::GET, &config, origin)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), StatusCode::OK, "{origin:?}");
    }
    // The iframe embed may be framed only by the allowed origins.
    let response = visitor(&app, Method::GET, &format!("/embed/{slug}"), None)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_owned();
    assert!(
        csp.ends_with("frame-ancestors 'self' https://shop.example.com https://*.example.org"),
        "{csp}"
    );
    assert!(response.headers().get("x-frame-options").is_none());
}

async fn visitors_are_rate_limited_kindly() {
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.widget_messages_per_minute = 2;
        s.widget_requests_per_minute = 8;
    })
    .await
    else {
        return;
    };
    let (_, _, slug) = published(
        &app,
        "owner@example.com",
        json!({"widget_config": {"strings": {"rate_limited": "Easy, tiger! One moment."}}}),
    )
    .await;
    for _ in 0..2 {
        let (status, body) = ask(
            &app,
            &slug,
            json!({"message": "refunds?", "visitor_id": VISITOR}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let response = visitor(
        &app,
        Method::POST,
        &format!("/api/widget/{slug}/chat"),
        None,
    )
    .json(&json!({"message": "refunds?", "visitor_id": VISITOR}))
    .send()
    .await
    .expect("send");
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("header")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry_after));
    let (status, body) = read(response).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(code(&body), "rate_limited");
    assert_eq!(body["error"]["message"], "Easy, tiger! One moment.");
    // Another visitor may still talk; then the address runs out of requests.
    let (status, _) = ask(
        &app,
        &slug,
        json!({"message": "refunds?", "visitor_id": "another-visitor-1"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mut limited = false;
    for _ in 0..10 {
        let (status, body) = get(&app, &format!("/api/widget/{slug}/config")).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(code(&body), "rate_limited");
            limited = true;
            break;
        }
    }
    assert!(limited, "8 requests a minute per address");
}

async fn quiet_conversations_close_and_quotas_speak_kindly() {
    let Some(app) = TestApp::spawn_with(Backend::Sqlite, |s| s.widget_idle_secs = 1).await else {
        return;
    };
    let (_, id, slug) = published(
        &app,
        "owner@example.com",
        json!({"widget_config": {"strings": {"quota_exceeded": "We are out for lunch."}}}),
    )
    .await;
    let (_, first) = ask(
        &app,
        &slug,
        json!({"message": "refunds?", "visitor_id": VISITOR}),
    )
    .await;
    let first_id = first["conversation_id"].as_str().expect("id").to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(1300)).await;
    let (status, body) = get(
        &app,
        &format!("/api/widget/{slug}/conversation/{first_id}?visitor_id={VISITOR}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "closed", "idle for longer than the limit");
    let (status, second) = ask(
        &app,
        &slug,
        json!({"message": "and exchanges?", "visitor_id": VISITOR, "conversation_id": first_id}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_ne!(
        second["conversation_id"],
        first_id.as_str(),
        "a new conversation began"
    );

    // Use up the free plan's messages; the visitor hears the chat space's own words.
    let space = app
        .state
        .store
        .find_chat_space_by_slug(&slug)
        .await
        .expect("find")
        .expect("space");
    assert_eq!(space.id.to_string(), id);
    let conversation = second["conversation_id"]
        .as_str()
        .expect("id")
        .parse()
        .expect("id");
    let limit = docent_core::Plan::Free
        .limits()
        .messages_per_month
        .expect("a limit");
    for _ in 0..limit {
        app.state
            .store
            .add_message(
                space.org_id,
                docent_core::NewMessage::plain(
                    conversation,
                    docent_core::MessageRole::User,
                    "filler",
                ),
            )
            .await
            .expect("add")
            .expect("conversation");
    }
    let (status, body) = ask(
        &app,
        &slug,
        json!({"message": "refunds?", "visitor_id": "late-visitor-1"}),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(code(&body), "quota_exceeded");
    assert_eq!(body["error"]["message"], "We are out for lunch.");
}

async fn assets_and_pages_are_served(app: TestApp) {
    let response = visitor(&app, Method::GET, "/widget.js", None)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert!(
        headers["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/javascript")
    );
    assert!(
        headers["cache-control"]
            .to_str()
            .expect("cache")
            .contains("max-age=")
    );
    let etag = headers["etag"].to_str().expect("etag").to_owned();
    let loader = response.text().await.expect("body");
    let ui_path = loader
        .split('"')
        .find(|s| s.starts_with("/widget/ui."))
        .expect("the loader names the UI")
        .to_owned();
    let response = visitor(&app, Method::GET, "/widget.js", None)
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    let response = visitor(&app, Method::GET, &ui_path, None)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .expect("cache")
            .contains("immutable")
    );
    let response = visitor(&app, Method::GET, "/widget/ui.0000.js", None)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    let (_, _, slug) = published(
        &app,
        "owner@example.com",
        json!({"name": "<script>alert(1)</script> Help", "description": "Ask \"us\" <b>anything</b>"}),
    )
    .await;
    let response = visitor(&app, Method::GET, &format!("/c/{slug}"), None)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("html");
    assert!(
        html.contains(
            r#"<meta property="og:title" content="&#60;script&#62;alert(1)&#60;/script&#62; Help">"#
        ),
        "{html}"
    );
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(html.contains(&format!(r#"data-chat-space="{slug}" data-mode="page""#)));
    let response = visitor(&app, Method::GET, "/c/no-such-bot", None)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // No allowed origins: any site may frame the embed.
    let response = visitor(&app, Method::GET, &format!("/embed/{slug}"), None)
        .send()
        .await
        .expect("send");
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_owned();
    assert!(csp.ends_with("frame-ancestors *"), "{csp}");
}

on_both_backends!(
    visitors_chat_and_rate_answers,
    bad_visitor_input_gets_clear_errors,
    conversations_stay_with_their_chat_space,
    origins_are_checked_and_cors_says_so,
    assets_and_pages_are_served,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits() {
    visitors_are_rate_limited_kindly().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_quota() {
    quiet_conversations_close_and_quotas_speak_kindly().await;
}

/// Opens a conversation as a visitor from `address` (the app trusts X-Forwarded-For).
async fn open_from(app: &TestApp, slug: &str, address: &str, visitor_id: &str) -> StatusCode {
    visitor(
        app,
        Method::POST,
        &format!("/api/widget/{slug}/conversation"),
        None,
    )
    .header("x-forwarded-for", address)
    .json(&json!({"visitor_id": visitor_id}))
    .send()
    .await
    .expect("send")
    .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn widget_limits_count_ipv6_by_network_and_conversations_per_chat_space() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.trust_proxy = true;
        s.widget_requests_per_minute = 5;
        s.widget_conversations_per_minute = 12;
    })
    .await
    .expect("app");
    let (owner, id, slug) = published(&app, "owner@example.com", json!({})).await;
    // Rotating through one /64 buys nothing: it is one network.
    let mut statuses = Vec::new();
    for host in 1..=8 {
        statuses.push(
            open_from(
                &app,
                &slug,
                &format!("2001:db8:1:2::{host:x}"),
                &format!("visitor-v6-{host:04}"),
            )
            .await,
        );
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::OK || **s == StatusCode::CREATED)
            .count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(statuses[7], StatusCode::TOO_MANY_REQUESTS);
    assert!(
        open_from(&app, &slug, "2001:db8:1:3::1", "visitor-v6-other")
            .await
            .is_success(),
        "the next /64 is another network"
    );
    // Rotating whole addresses: the chat space takes 12 new conversations a minute in all.
    let mut created = 0;
    for n in 0..40 {
        if open_from(
            &app,
            &slug,
            &format!("198.51.100.{n}"),
            &format!("visitor-v4-{n:04}"),
        )
        .await
        .is_success()
        {
            created += 1;
        }
    }
    let before = 6; // five from the first /64 and one from the second
    assert_eq!(
        created,
        12 - before,
        "the chat space's conversation limit held"
    );
    let (_, list) = owner
        .get(&format!("/api/chat-spaces/{id}/conversations?limit=100"))
        .await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(12));
    // A message without a conversation opens one, so it counts too.
    let (status, body) = ask(
        &app,
        &slug,
        json!({"message": "refunds?", "visitor_id": "visitor-late-0001"}),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
        "{body}"
    );
}
