//! Human handover and the live inbox on both backends, over real HTTP and real event
//! streams: a visitor asks for a person, the inbox hears it at once, an agent claims and
//! replies (the visitor's stream carries the reply and the typing, never an internal note),
//! the bot keeps silent meanwhile, and closing brings it back. Every trigger, each without
//! loops after a release; the role checks; handover switched off.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Backend, Session, TestApp, code, unlimited_widget, visitor_call};
use crate::widget::published;

crate::on_both_backends!(
    settings = crate::common::unlimited_widget;
    a_person_takes_over_and_gives_back,
    triggers_hand_over_without_loops,
    routing_hours_and_canned_replies,
    waiting_handovers_email_the_agents_once,
);

/// An open event stream, read event by event.
pub struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    pub async fn open(request: reqwest::RequestBuilder) -> Events {
        let response = request
            .header("accept", "text/event-stream")
            .send()
            .await
            .expect("open the stream");
        assert_eq!(response.status(), StatusCode::OK);
        Events {
            response,
            buffer: String::new(),
        }
    }

    /// The next event (name, id, data) within `within`, keep-alive comments skipped.
    pub async fn next(&mut self, within: Duration) -> Option<(String, Option<String>, Value)> {
        let deadline = Instant::now() + within;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut name, mut id, mut data) = ("message".to_owned(), None, String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("id:") {
                        id = Some(v.trim().to_owned());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.strip_prefix(' ').unwrap_or(v));
                    }
                }
                if !data.is_empty() {
                    return Some((name, id, serde_json::from_str(&data).expect("JSON data")));
                }
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            match tokio::time::timeout(left, self.response.chunk()).await {
                Ok(Ok(Some(bytes))) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                _ => return None,
            }
        }
    }

    /// Events until one named `name` comes (within `within`); all that came, that one last.
    pub async fn until(&mut self, name: &str, within: Duration) -> Vec<(String, Value)> {
        let deadline = Instant::now() + within;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left).await {
                Some((n, _, data)) => {
                    let done = n == name;
                    seen.push((n, data));
                    if done {
                        return seen;
                    }
                }
                None => panic!("no {name} event within {within:?}; saw {seen:?}"),
            }
        }
    }
}

/// A published chat space whose handover is on, with `handover` settings over the defaults.
pub async fn with_handover(
    app: &TestApp,
    email: &str,
    handover: Value,
) -> (Session, String, String) {
    let mut settings = json!({"enabled": true});
    if let (Some(s), Some(h)) = (settings.as_object_mut(), handover.as_object()) {
        s.extend(h.clone());
    }
    published(app, email, json!({"ai_config": {"handover": settings}})).await
}

async fn ask(
    app: &TestApp,
    slug: &str,
    visitor: &str,
    conversation: Option<&str>,
    message: &str,
) -> Value {
    let mut body = json!({"message": message, "visitor_id": visitor});
    if let Some(c) = conversation {
        body["conversation_id"] = json!(c);
    }
    let (status, answer) =
        visitor_call(app, Method::POST, &format!("/api/widget/{slug}/chat"), body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    answer
}

async fn status_of(owner: &Session, conversation: &str) -> String {
    let (status, c) = owner
        .get(&format!("/api/conversations/{conversation}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{c}");
    c["status"].as_str().expect("status").to_owned()
}

async fn a_person_takes_over_and_gives_back(app: TestApp) {
    let (owner, space, slug) = with_handover(&app, "owner@example.com", json!({})).await;
    let agent = app
        .invite_and_join(&owner, "agent@example.com", "agent")
        .await;
    // The free plan's three members: the owner and two agents.
    let other = app
        .invite_and_join(&owner, "other@example.com", "agent")
        .await;
    let (_, config) = visitor_call(
        &app,
        Method::GET,
        &format!("/api/widget/{slug}/config"),
        Value::Null,
    )
    .await;
    assert_eq!(config["handover"], json!(true), "{config}");

    let visitor = "visitor-handover-01";
    let first = ask(&app, &slug, visitor, None, "Can I return shoes?").await;
    assert_eq!(first["message"]["role"], "assistant");
    let conversation = first["conversation_id"].as_str().expect("id").to_owned();

    // The visitor's live view and the agent's inbox are open before anything happens.
    let mut visitor_view = Events::open(reqwest::Client::new().get(format!(
        "{}/api/widget/{slug}/conversation/{conversation}/events?visitor_id={visitor}",
        app.base
    )))
    .await;
    let hello = visitor_view.until("status", Duration::from_secs(5)).await;
    assert_eq!(hello.last().expect("status").1["status"], "active");
    let mut inbox = Events::open(agent.request(Method::GET, "/api/inbox/events")).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    // The visitor asks for a person: the inbox hears it within a second.
    let asked = Instant::now();
    let (status, body) = visitor_call(
        &app,
        Method::POST,
        &format!("/api/widget/{slug}/handover"),
        json!({"visitor_id": visitor, "conversation_id": conversation}),
    )
    .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("waiting_for_human")),
        "{body}"
    );
    let heard = inbox.until("conversation", Duration::from_secs(1)).await;
    eprintln!(
        "the inbox heard the handover after {} ms",
        asked.elapsed().as_millis()
    );
    assert_eq!(
        heard.last().expect("event").1["conversation_id"],
        json!(conversation)
    );
    assert_eq!(
        visitor_view
            .until("status", Duration::from_secs(1))
            .await
            .last()
            .expect("s")
            .1["status"],
        "waiting_for_human"
    );
    let (status, list) = agent.get("/api/inbox?status=waiting_for_human").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["data"].as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list["data"][0]["reason"], "visitor_asked");
    // Asking again changes nothing.
    let (status, body) = visitor_call(
        &app,
        Method::POST,
        &format!("/api/widget/{slug}/handover"),
        json!({"visitor_id": visitor, "conversation_id": conversation}),
    )
    .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("waiting_for_human"))
    );

    // While a person is awaited the bot says nothing; the message reaches the inbox.
    let held = ask(
        &app,
        &slug,
        visitor,
        Some(&conversation),
        "Hello? Anyone there?",
    )
    .await;
    assert_eq!(held["message"]["role"], "user", "{held}");
    inbox.until("conversation", Duration::from_secs(1)).await;
    let (_, list) = agent.get("/api/inbox?status=waiting_for_human").await;
    assert_eq!(list["data"][0]["unread"], json!(2), "{list}");

    // The agent claims it: the visitor sees who joined.
    let (status, claimed) = agent
        .post(
            &format!("/api/conversations/{conversation}/assign"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, claimed["status"].as_str()),
        (StatusCode::OK, Some("human")),
        "{claimed}"
    );
    let joined = visitor_view.until("status", Duration::from_secs(1)).await;
    let joined = &joined.last().expect("status").1;
    assert_eq!(joined["status"], "human");
    assert!(
        joined["agent"]["name"]
            .as_str()
            .is_some_and(|n| !n.contains('@')),
        "{joined}"
    );
    // Another agent cannot take it, nor write in it.
    let (status, body) = other
        .post(
            &format!("/api/conversations/{conversation}/assign"),
            json!({}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "conversation_taken"),
        "{body}"
    );
    let (status, body) = other
        .post(
            &format!("/api/conversations/{conversation}/messages"),
            json!({"content": "me too"}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "conversation_taken"),
        "{body}"
    );

    // Typing, a note and a reply: the visitor gets the typing and the reply, never the note.
    let (status, _) = agent
        .call(
            Method::POST,
            &format!("/api/conversations/{conversation}/typing"),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    visitor_view.until("typing", Duration::from_secs(1)).await;
    let (status, note) = agent
        .post(
            &format!("/api/conversations/{conversation}/messages"),
            json!({"content": "SECRET-NOTE customer is angry", "internal": true}),
        )
        .await;
    assert_eq!(
        (status, note["kind"].as_str()),
        (StatusCode::CREATED, Some("note")),
        "{note}"
    );
    let sent = Instant::now();
    let (status, reply) = agent
        .post(
            &format!("/api/conversations/{conversation}/messages"),
            json!({"content": "Hi, I'm **here**. Which pair?"}),
        )
        .await;
    assert_eq!(
        (status, reply["kind"].as_str()),
        (StatusCode::CREATED, Some("message")),
        "{reply}"
    );
    let got = visitor_view.until("message", Duration::from_secs(1)).await;
    eprintln!(
        "the visitor got the reply after {} ms",
        sent.elapsed().as_millis()
    );
    let (_, message) = got.last().expect("message");
    assert_eq!(
        (message["role"].as_str(), message["content"].as_str()),
        (Some("agent"), Some("Hi, I'm **here**. Which pair?"))
    );
    assert!(
        got.iter()
            .all(|(_, d)| !d.to_string().contains("SECRET-NOTE")),
        "{got:?}"
    );
    let (_, history) = visitor_call(
        &app,
        Method::GET,
        &format!("/api/widget/{slug}/conversation/{conversation}?visitor_id={visitor}"),
        Value::Null,
    )
    .await;
    assert!(!history.to_string().contains("SECRET-NOTE"), "{history}");
    assert_eq!(history["status"], "human");
    // The visitor writes: still no bot.
    let held = ask(&app, &slug, visitor, Some(&conversation), "The red ones").await;
    assert_eq!(held["message"]["role"], "user");
    let (status, work) = agent.get(&format!("/api/inbox/{conversation}")).await;
    assert_eq!(status, StatusCode::OK, "{work}");
    let roles: Vec<&str> = work["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["role"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        roles,
        ["user", "assistant", "user", "agent", "user"],
        "{work}"
    );
    assert_eq!(work["notes"][0]["content"], "SECRET-NOTE customer is angry");
    assert!(
        work["handovers"][0]["first_agent_reply_at"].is_string(),
        "{work}"
    );

    // A reconnecting visitor resumes after the last reply seen: nothing lost, nothing twice.
    let reply_id = reply["id"].as_str().expect("id").to_owned();
    let (_, second) = agent
        .post(
            &format!("/api/conversations/{conversation}/messages"),
            json!({"content": "Size?"}),
        )
        .await;
    let mut again = Events::open(
        reqwest::Client::new()
            .get(format!(
                "{}/api/widget/{slug}/conversation/{conversation}/events?visitor_id={visitor}",
                app.base
            ))
            .header("last-event-id", &reply_id),
    )
    .await;
    let caught = again.until("message", Duration::from_secs(2)).await;
    assert_eq!(caught.last().expect("message").1["id"], second["id"]);
    assert!(
        again
            .next(Duration::from_millis(300))
            .await
            .is_none_or(|(n, _, _)| n != "message")
    );

    // Closing brings the bot back for the visitor's next message, in a new conversation.
    let (status, closed) = agent
        .call(
            Method::POST,
            &format!("/api/conversations/{conversation}/close"),
        )
        .await;
    assert_eq!(
        (status, closed["status"].as_str()),
        (StatusCode::OK, Some("closed")),
        "{closed}"
    );
    assert_eq!(
        visitor_view
            .until("status", Duration::from_secs(1))
            .await
            .last()
            .expect("s")
            .1["status"],
        "closed"
    );
    let back = ask(
        &app,
        &slug,
        visitor,
        Some(&conversation),
        "Can I return shoes?",
    )
    .await;
    assert_eq!(back["message"]["role"], "assistant", "{back}");
    assert_ne!(back["conversation_id"], json!(conversation));
    let (status, body) = agent
        .post(
            &format!("/api/conversations/{conversation}/messages"),
            json!({"content": "late"}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "conversation_closed")
    );
    let (_, all) = agent.get("/api/inbox?status=all").await;
    assert_eq!(all["data"][0]["status"], "closed", "{all}");

    // Analytics count the handover, the person's first reply and its end.
    let (status, analytics) = owner
        .get(&format!("/api/chat-spaces/{space}/analytics"))
        .await;
    assert_eq!(status, StatusCode::OK, "{analytics}");
    let t = &analytics["totals"];
    assert_eq!(
        (t["handovers"].as_u64(), t["handovers_unanswered"].as_u64()),
        (Some(1), Some(0)),
        "{t}"
    );
    let first = t["first_reply_secs_p50"].as_i64().expect("a first reply");
    let resolved = t["resolution_secs_p50"].as_i64().expect("an end");
    assert!(
        (0..60).contains(&first) && first <= resolved && resolved < 60,
        "{t}"
    );
}

async fn triggers_hand_over_without_loops(app: TestApp) {
    let (owner, space, slug) =
        with_handover(&app, "owner@example.com", json!({"keywords": ["lawyer"]})).await;
    let viewer = app
        .invite_and_join(&owner, "viewer@example.com", "viewer")
        .await;

    // A phrase, in another language too.
    for (visitor, words) in [
        ("visitor-phrase-01", "Can I talk to a HUMAN please?"),
        ("visitor-phrase-02", "Je veux parler à un humain"),
    ] {
        let held = ask(&app, &slug, visitor, None, words).await;
        assert_eq!(held["message"]["role"], "user", "{held}");
        let c = held["conversation_id"].as_str().expect("id");
        assert_eq!(status_of(&owner, c).await, "waiting_for_human");
    }
    // A keyword, as a whole word only.
    let plain = ask(
        &app,
        &slug,
        "visitor-keyword-01",
        None,
        "Do lawyers shop here?",
    )
    .await;
    assert_eq!(plain["message"]["role"], "assistant");
    let held = ask(
        &app,
        &slug,
        "visitor-keyword-01",
        plain["conversation_id"].as_str(),
        "I will call my lawyer",
    )
    .await;
    assert_eq!(held["message"]["role"], "user");
    let keyword = held["conversation_id"].as_str().expect("id").to_owned();
    assert_eq!(status_of(&owner, &keyword).await, "waiting_for_human");
    // Viewers read the inbox but neither claim nor reply.
    let (status, list) = viewer.get("/api/inbox").await;
    assert_eq!(
        (status, list["data"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(3)),
        "{list}"
    );
    for (path, body) in [
        ("assign", json!({})),
        ("messages", json!({"content": "hi"})),
        ("close", json!({})),
    ] {
        let (status, body) = viewer
            .post(&format!("/api/conversations/{keyword}/{path}"), body)
            .await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::FORBIDDEN, "forbidden"),
            "{path}: {body}"
        );
    }

    // Two don't-know replies in a row; released, the next one alone does not re-trigger.
    let visitor = "visitor-unknown-01";
    let a = ask(
        &app,
        &slug,
        visitor,
        None,
        "What is the airspeed of an unladen swallow?",
    )
    .await;
    assert_eq!(a["message"]["answer_kind"], "dont_know", "{a}");
    let c = a["conversation_id"].as_str().expect("id").to_owned();
    assert_eq!(status_of(&owner, &c).await, "active");
    let b = ask(
        &app,
        &slug,
        visitor,
        Some(&c),
        "Who painted the ceiling of the Sistine chapel?",
    )
    .await;
    assert_eq!(b["message"]["answer_kind"], "dont_know");
    assert_eq!(status_of(&owner, &c).await, "waiting_for_human");
    let (status, released) = owner
        .call(Method::POST, &format!("/api/conversations/{c}/release"))
        .await;
    assert_eq!(
        (status, released["status"].as_str()),
        (StatusCode::OK, Some("active")),
        "{released}"
    );
    let again = ask(
        &app,
        &slug,
        visitor,
        Some(&c),
        "What is the capital of Mongolia?",
    )
    .await;
    assert_eq!(again["message"]["answer_kind"], "dont_know");
    assert_eq!(
        status_of(&owner, &c).await,
        "active",
        "one don't-know after a release is not two in a row"
    );
    let (status, body) = owner
        .call(Method::POST, &format!("/api/conversations/{c}/release"))
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );

    // Two answers rated down.
    let visitor = "visitor-ratings-01";
    let first = ask(&app, &slug, visitor, None, "Can I return shoes?").await;
    let c = first["conversation_id"].as_str().expect("id").to_owned();
    let second = ask(&app, &slug, visitor, Some(&c), "How long do refunds take?").await;
    for answer in [&first, &second] {
        let (status, body) = visitor_call(&app, Method::POST, &format!("/api/widget/{slug}/feedback"), json!({"visitor_id": visitor, "conversation_id": c, "message_id": answer["message"]["id"], "feedback": "down"})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    assert_eq!(status_of(&owner, &c).await, "waiting_for_human");

    // Every handover is stored with its reason; the inbox lists the waiting ones.
    let (_, list) = owner.get("/api/inbox?status=waiting_for_human").await;
    let mut reasons: Vec<&str> = list["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|e| e["reason"].as_str().unwrap_or(""))
        .collect();
    reasons.sort_unstable();
    assert_eq!(
        reasons,
        ["keyword", "thumbs_down", "visitor_asked", "visitor_asked"],
        "{list}"
    );
    let (_, handed) = owner
        .get(&format!(
            "/api/chat-spaces/{space}/conversations?handover=true"
        ))
        .await;
    assert_eq!(handed["data"].as_array().map(Vec::len), Some(5), "{handed}");

    // Handover off: the widget offers no person and the API says why.
    let (status, _) = owner
        .patch(
            &format!("/api/chat-spaces/{space}"),
            json!({"ai_config": {"handover": {"enabled": false}}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let plain = ask(
        &app,
        &slug,
        "visitor-off-0001",
        None,
        "Can I talk to a human please?",
    )
    .await;
    assert_eq!(plain["message"]["role"], "assistant");
    let (status, body) = visitor_call(
        &app,
        Method::POST,
        &format!("/api/widget/{slug}/handover"),
        json!({"visitor_id": "visitor-off-0001", "conversation_id": plain["conversation_id"]}),
    )
    .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "handover_off"),
        "{body}"
    );
    // Another visitor's conversation is not found, whatever they ask.
    let (status, body) = visitor_call(
        &app,
        Method::POST,
        &format!("/api/widget/{slug}/handover"),
        json!({"visitor_id": "visitor-stranger-1", "conversation_id": keyword}),
    )
    .await;
    assert!(
        matches!(status, StatusCode::NOT_FOUND | StatusCode::CONFLICT),
        "{status} {body}"
    );
}

/// Visitor and inbox follow on one replica, the agent works through the other; the
/// following replica loses its database connections (its hub's listener among them) in the
/// middle: every reply still reaches the visitor once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journey_crosses_replicas_and_a_lost_connection() {
    let Some((a, b)) = TestApp::spawn_replicas_with(unlimited_widget).await else {
        eprintln!("skipped: no PostgreSQL (set DOCENT_TEST_DATABASE_URL)");
        return;
    };
    let (owner, _space, slug) = with_handover(&a, "owner@example.com", json!({})).await;
    let agent = a
        .invite_and_join(&owner, "agent@example.com", "agent")
        .await;
    let visitor = "visitor-replicas-01";
    let first = ask(&b, &slug, visitor, None, "Can I return shoes?").await;
    let conversation = first["conversation_id"].as_str().expect("id").to_owned();
    let follow = |last: Option<String>| {
        let mut request = reqwest::Client::new().get(format!(
            "{}/api/widget/{slug}/conversation/{conversation}/events?visitor_id={visitor}",
            b.base
        ));
        if let Some(last) = last {
            request = request.header("last-event-id", last);
        }
        Events::open(request)
    };
    let mut visitor_view = follow(None).await;
    visitor_view.until("status", Duration::from_secs(5)).await;
    // The agent's inbox on replica b (the owner's session works on every replica).
    let owner_on_b = owner.on(&b);
    let mut inbox = Events::open(owner_on_b.request(Method::GET, "/api/inbox/events")).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let asked = Instant::now();
    let (status, _) = visitor_call(
        &b,
        Method::POST,
        &format!("/api/widget/{slug}/handover"),
        json!({"visitor_id": visitor, "conversation_id": conversation}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    inbox.until("conversation", Duration::from_secs(1)).await;
    eprintln!(
        "replica b's inbox heard the handover in {} ms",
        asked.elapsed().as_millis()
    );
    let (status, _) = agent
        .post(
            &format!("/api/conversations/{conversation}/assign"),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let claimed = Instant::now();
    // The waiting status first (the handover), then the claim.
    loop {
        let got = visitor_view.until("status", Duration::from_secs(2)).await;
        match got.last().expect("status").1["status"].as_str() {
            Some("human") => break,
            Some("waiting_for_human") => continue,
            other => panic!("{other:?}"),
        }
    }
    eprintln!(
        "the visitor on replica b saw the claim made on a in {} ms",
        claimed.elapsed().as_millis()
    );

    let mut sent = Vec::new();
    for n in 0..6 {
        if n == 3 {
            let ended = a
                .postgres
                .as_ref()
                .expect("front store")
                .end_other_replica_connections()
                .await;
            assert!(ended > 0, "no connection of replica b was ended");
        }
        let (status, reply) = agent
            .post(
                &format!("/api/conversations/{conversation}/messages"),
                json!({"content": format!("reply {n}")}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{reply}");
        sent.push(reply["id"].as_str().expect("id").to_owned());
    }
    let mut received = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while received.len() < sent.len() && Instant::now() < deadline {
        if let Some((name, _, data)) = visitor_view.next(Duration::from_secs(1)).await
            && name == "message"
        {
            received.push(data["id"].as_str().expect("id").to_owned());
        }
    }
    assert_eq!(received, sent, "every reply once, in order, across the cut");
    // A visitor who reconnects after the second reply gets exactly the four after it.
    let mut again = follow(Some(sent[1].clone())).await;
    let mut caught = Vec::new();
    while let Some((name, _, data)) = again.next(Duration::from_millis(800)).await {
        if name == "message" {
            caught.push(data["id"].as_str().expect("id").to_owned());
        }
    }
    assert_eq!(caught, sent[2..].to_vec());
    // The inbox on b follows after the cut too (it may first hear it missed events).
    let (status, _) = agent
        .call(
            Method::POST,
            &format!("/api/conversations/{conversation}/close"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let heard = inbox.until("conversation", Duration::from_secs(5)).await;
    assert!(!heard.is_empty());
}

/// The user id of a session's member.
async fn user_id(session: &Session) -> String {
    let (_, me) = session.get("/api/auth/me").await;
    me["user"]["id"].as_str().expect("user id").to_owned()
}

/// A new visitor asks for a person in words; their conversation and its first live status.
async fn new_waiting(app: &TestApp, slug: &str, visitor: &str) -> (String, Events, Value) {
    let held = ask(app, slug, visitor, None, "I want to talk to a person").await;
    let conversation = held["conversation_id"].as_str().expect("id").to_owned();
    let mut view = Events::open(reqwest::Client::new().get(format!(
        "{}/api/widget/{slug}/conversation/{conversation}/events?visitor_id={visitor}",
        app.base
    )))
    .await;
    let status = view.until("status", Duration::from_secs(5)).await;
    let status = status.last().expect("status").1.clone();
    (conversation, view, status)
}

async fn assignee(owner: &Session, conversation: &str) -> Value {
    let (_, c) = owner
        .get(&format!("/api/conversations/{conversation}"))
        .await;
    c["assigned_agent_id"].clone()
}

async fn routing_hours_and_canned_replies(app: TestApp) {
    let (owner, space, slug) = with_handover(
        &app,
        "owner@example.com",
        json!({"auto_assign": true, "max_per_agent": 1}),
    )
    .await;
    let first = app
        .invite_and_join(&owner, "first@example.com", "agent")
        .await;
    let second = app
        .invite_and_join(&owner, "second@example.com", "agent")
        .await;
    let (first_id, second_id) = (user_id(&first).await, user_id(&second).await);

    // Nobody has the inbox open: the visitor hears so and may leave an email.
    let (one, mut one_view, status) = new_waiting(&app, &slug, "visitor-route-01").await;
    assert_eq!(
        (
            &status["status"],
            &status["available"],
            &status["email_left"]
        ),
        (&json!("waiting_for_human"), &json!(false), &json!(false)),
        "{status}"
    );
    let app_ref = &app;
    let contact = |email: &'static str| {
        let path = format!("/api/widget/{slug}/contact");
        let body =
            json!({"visitor_id": "visitor-route-01", "conversation_id": one, "email": email});
        async move { visitor_call(app_ref, Method::POST, &path, body).await }
    };
    let (status, body) = contact("not an address").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let (status, body) = contact(" Ana@Example.com ").await;
    assert_eq!(
        (status, &body["email_left"]),
        (StatusCode::OK, &json!(true)),
        "{body}"
    );
    let (_, c) = owner.get(&format!("/api/conversations/{one}")).await;
    assert_eq!(c["end_user_email"], "ana@example.com", "{c}");
    let (status, body) = visitor_call(
        &app,
        Method::POST,
        &format!("/api/widget/{slug}/contact"),
        json!({"visitor_id": "someone-else-01", "conversation_id": one, "email": "x@example.com"}),
    )
    .await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));

    // The first agent opens the inbox: the waiting conversation is theirs at once, and the
    // visitor sees who joined.
    let _first_inbox = Events::open(first.request(Method::GET, "/api/inbox/events")).await;
    assert_eq!(assignee(&owner, &one).await, json!(first_id));
    let joined = one_view.until("status", Duration::from_secs(2)).await;
    assert_eq!(joined.last().expect("status").1["status"], "human");

    // With the second online, the next goes to them (the first is at the cap of one); the
    // one after waits, though people are online.
    let _second_inbox = Events::open(second.request(Method::GET, "/api/inbox/events")).await;
    let (two, _, status) = new_waiting(&app, &slug, "visitor-route-02").await;
    assert_eq!(status["status"], "human", "{status}");
    assert_eq!(assignee(&owner, &two).await, json!(second_id));
    let (three, _, status) = new_waiting(&app, &slug, "visitor-route-03").await;
    assert_eq!(
        (&status["status"], &status["available"]),
        (&json!("waiting_for_human"), &json!(true)),
        "{status}"
    );
    assert_eq!(assignee(&owner, &three).await, Value::Null);

    // The first closes theirs: the waiting one is theirs now.
    let (status, _) = first
        .call(Method::POST, &format!("/api/conversations/{one}/close"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(assignee(&owner, &three).await, json!(first_id));

    // Outside business hours nothing is routed and the visitor may leave an email.
    let (status, body) = owner
        .patch(&format!("/api/chat-spaces/{space}"),
            json!({"ai_config": {"handover": {"max_per_agent": 0, "hours": {"time_zone": "Mars/Olympus"}}}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body.to_string()
            .contains("ai_config.handover.hours.time_zone"),
        "{body}"
    );
    let closed_all_week = json!({"time_zone": "Europe/Berlin", "mon": "", "tue": "", "wed": "", "thu": "", "fri": "", "sat": "", "sun": ""});
    let (status, body) = owner
        .patch(
            &format!("/api/chat-spaces/{space}"),
            json!({"ai_config": {"handover": {"max_per_agent": 0, "hours": closed_all_week}}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (four, _, status) = new_waiting(&app, &slug, "visitor-route-04").await;
    assert_eq!(
        (&status["status"], &status["available"]),
        (&json!("waiting_for_human"), &json!(false)),
        "{status}"
    );
    assert_eq!(assignee(&owner, &four).await, Value::Null);
    // Always open again (hours removed): the next agent to come online routes it.
    let (status, _) = owner
        .patch(
            &format!("/api/chat-spaces/{space}"),
            json!({"ai_config": {"handover": {"hours": null}}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let _again = Events::open(second.request(Method::GET, "/api/inbox/events")).await;
    assert_ne!(assignee(&owner, &four).await, Value::Null);

    // Canned replies: the organization's, for every agent.
    let (status, made) = first
        .post(
            "/api/canned-replies",
            json!({"shortcut": "/Returns", "content": "Returns are free within **30 days**."}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["shortcut"], "returns");
    let (status, body) = second
        .post(
            "/api/canned-replies",
            json!({"shortcut": "returns", "content": "Another."}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, "shortcut_taken")
    );
    let (status, body) = second
        .post(
            "/api/canned-replies",
            json!({"shortcut": "two words", "content": "x"}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let id = made["id"].as_str().expect("id");
    let (status, changed) = second
        .put(
            &format!("/api/canned-replies/{id}"),
            json!({"shortcut": "returns", "content": "Returns are free within **60 days**."}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    let (_, list) = owner.get("/api/canned-replies").await;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert!(
        list[0]["content"]
            .as_str()
            .expect("content")
            .contains("60 days")
    );
    let (status, _) = first
        .call(Method::DELETE, &format!("/api/canned-replies/{id}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = first
        .call(Method::DELETE, &format!("/api/canned-replies/{id}"))
        .await;
    assert_eq!((status, code(&body)), (StatusCode::NOT_FOUND, "not_found"));
}

async fn waiting_handovers_email_the_agents_once(app: TestApp) {
    let (owner, _space, slug) = with_handover(
        &app,
        "owner@example.com",
        json!({"email_after_minutes": 10}),
    )
    .await;
    let agent = app
        .invite_and_join(&owner, "agent@example.com", "agent")
        .await;
    app.invite_and_join(&owner, "viewer@example.com", "viewer")
        .await;
    let waiting = ask(
        &app,
        &slug,
        "visitor-wait-001",
        None,
        "I want to talk to a human",
    )
    .await;
    let claimed = ask(
        &app,
        &slug,
        "visitor-wait-002",
        None,
        "Talk to a person please",
    )
    .await;
    let claimed = claimed["conversation_id"].as_str().expect("id");
    let (status, _) = agent
        .post(&format!("/api/conversations/{claimed}/assign"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);

    // Nobody is online; when the agent opens the inbox, the waiting visitor hears that a
    // person is available now.
    let visitor_view_of = |id: &str| {
        Events::open(reqwest::Client::new().get(format!(
            "{}/api/widget/{slug}/conversation/{id}/events?visitor_id=visitor-wait-001",
            app.base
        )))
    };
    let mut view = visitor_view_of(waiting["conversation_id"].as_str().expect("id")).await;
    let first = view.until("status", Duration::from_secs(5)).await;
    assert_eq!(first.last().expect("status").1["available"], json!(false));
    let _inbox = Events::open(agent.request(Method::GET, "/api/inbox/events")).await;
    let now = view.until("status", Duration::from_secs(2)).await;
    assert_eq!(
        now.last().expect("status").1["available"],
        json!(true),
        "{now:?}"
    );

    let remind = |minutes: i64| {
        docent_app::handover::remind_waiting(
            &app.state.app,
            chrono::Utc::now() + chrono::Duration::minutes(minutes),
        )
    };
    assert_eq!(remind(5).await.expect("sweep"), 0, "not yet");
    assert_eq!(
        remind(11).await.expect("sweep"),
        1,
        "the one nobody claimed"
    );
    let outbox: Vec<_> = app
        .state
        .store
        .list_outbox(50)
        .await
        .expect("outbox")
        .into_iter()
        .filter(|m| m.subject.contains("for a person"))
        .collect();
    let mut to: Vec<&str> = outbox.iter().map(|m| m.to_email.as_str()).collect();
    to.sort_unstable();
    assert_eq!(
        to,
        ["agent@example.com", "owner@example.com"],
        "agents and above, not viewers"
    );
    let mail = &outbox[0];
    assert!(
        mail.subject
            .contains("has waited 11 min for a person (Shop help)"),
        "{}",
        mail.subject
    );
    assert!(
        mail.body.contains("I want to talk to a human"),
        "{}",
        mail.body
    );
    assert!(mail.body.contains("/app/inbox"), "{}", mail.body);
    assert_eq!(remind(30).await.expect("sweep"), 0, "once a handover");
    assert_eq!(
        status_of(&owner, waiting["conversation_id"].as_str().expect("id")).await,
        "waiting_for_human"
    );
}

/// Presence and routing are shared through the database: an agent whose inbox is open on
/// one replica is given the handover a visitor asks for on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_crosses_replicas() {
    let Some((a, b)) = TestApp::spawn_replicas_with(unlimited_widget).await else {
        eprintln!("skipped: no PostgreSQL (set DOCENT_TEST_DATABASE_URL)");
        return;
    };
    let (owner, _space, slug) =
        with_handover(&a, "owner@example.com", json!({"auto_assign": true})).await;
    let agent = a
        .invite_and_join(&owner, "agent@example.com", "agent")
        .await;
    let agent_id = user_id(&agent).await;
    let _inbox_on_b = Events::open(agent.on(&b).request(Method::GET, "/api/inbox/events")).await;
    let (conversation, _, status) = new_waiting(&a, &slug, "visitor-replica-route").await;
    assert_eq!(status["status"], "human", "{status}");
    assert_eq!(assignee(&owner, &conversation).await, json!(agent_id));
}

/// The Settings tab saves routing, hours and the reminder, and shows a bad time zone beside
/// its field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_settings_form_saves_routing_and_hours() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let (owner, space, slug) = with_handover(&app, "owner@example.com", json!({})).await;
    let slug: &str = &slug;
    let form = move |zone: &'static str| {
        let mut fields = crate::common::settings_fields(slug);
        fields.extend([
            ("ai_config.handover.enabled", "on"),
            ("ai_config.handover.after_dont_know", "2"),
            ("ai_config.handover.after_thumbs_down", "2"),
            ("ai_config.handover.keywords", ""),
            ("ai_config.handover.auto_assign", "on"),
            ("ai_config.handover.max_per_agent", "3"),
            ("ai_config.handover.email_after_minutes", "15"),
            ("ai_config.handover.hours", "on"),
            ("ai_config.handover.hours.time_zone", zone),
            ("ai_config.handover.hours.mon", "09:00-12:00, 13:00-17:00"),
            ("ai_config.handover.hours.tue", "09:00-17:00"),
            ("ai_config.handover.hours.wed", ""),
            ("ai_config.handover.hours.thu", "09:00-17:00"),
            ("ai_config.handover.hours.fri", "09:00-17:00"),
            ("ai_config.handover.hours.sat", ""),
            ("ai_config.handover.hours.sun", ""),
        ]);
        fields
    };
    let path = format!("/app/chat-spaces/{space}");
    let (status, page) = owner.form(&path, &form("Atlantis/Capital")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(
        page.contains("id=\"ai_config.handover.hours.time_zone-error\""),
        "the error beside its field"
    );
    let (status, _) = owner.form(&path, &form("Europe/Berlin")).await;
    assert!(
        status.is_redirection() || status == StatusCode::OK,
        "{status}"
    );
    let (_, saved) = owner.get(&format!("/api/chat-spaces/{space}")).await;
    let h = &saved["ai_config"]["handover"];
    assert_eq!(
        (
            &h["auto_assign"],
            &h["max_per_agent"],
            &h["email_after_minutes"]
        ),
        (&json!(true), &json!(3), &json!(15)),
        "{h}"
    );
    assert_eq!(h["hours"]["time_zone"], "Europe/Berlin", "{h}");
    assert_eq!(h["hours"]["mon"], "09:00-12:00, 13:00-17:00", "{h}");
    assert_eq!(h["hours"]["wed"], "", "{h}");
    let (_, page) = owner.page(&path).await;
    assert!(
        page.contains("value=\"Europe/Berlin\""),
        "the form shows what was saved"
    );
}
