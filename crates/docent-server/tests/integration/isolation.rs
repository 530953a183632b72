//! Tenant isolation, checked over the route table itself: every route that takes an id is
//! called by another organization with the victim's ids and must answer 404 (403 for
//! platform-admin routes), every list a stranger can read must not mention the victim's
//! data, and a viewer gets 403 on every write. Every tenant route is called again with a
//! key of the victim's own organization limited to another of its chat spaces: 403
//! `api_key_scope` on organization-wide routes, 404 for the victim's chat space and what it
//! holds. A new route with an id parameter this test does not know makes it fail, so no
//! endpoint can be forgotten.

use std::collections::HashMap;

use docent_server::routes::{Access, Kind, routes};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Session, TestApp, code};
use crate::on_both_backends;

on_both_backends!(
    other_organizations_get_404_everywhere,
    viewers_cannot_write_anywhere,
    keys_scoped_to_another_chat_space_reach_nothing_else,
    clients_limited_to_another_chat_space_reach_nothing_else
);

/// The victim's organization, fully populated.
struct Victim {
    owner: Session,
    ids: HashMap<&'static str, String>,
    secrets: Vec<String>,
    /// A key of the victim's organization limited to its other chat space.
    other_space_key: String,
    other_space_id: String,
}

async fn victim(app: &TestApp) -> Victim {
    let owner = app.signup("victim@example.com").await;
    let (_, me) = owner.get("/api/auth/me").await;
    let org_id = me["organization"]["id"].as_str().expect("org").to_owned();
    // Room for the extra member and invitations below.
    app.state
        .store
        .set_organization_plan(org_id.parse().expect("id"), docent_core::Plan::Pro)
        .await
        .expect("plan");
    let (_, space) = owner
        .post(
            "/api/chat-spaces",
            json!({"name": "Victim space", "description": "secret plans"}),
        )
        .await;
    let space_id = space["id"].as_str().expect("space").to_owned();
    let (_, key) = owner
        .post(
            "/api/api-keys",
            json!({"name": "victim key", "chat_space_id": space_id}),
        )
        .await;
    let (_, other_space) = owner
        .post("/api/chat-spaces", json!({"name": "Other space"}))
        .await;
    let (_, other_space_key) = owner
        .post(
            "/api/api-keys",
            json!({"name": "other space key", "chat_space_id": other_space["id"]}),
        )
        .await;
    let member = app
        .invite_and_join(&owner, "member@example.com", "agent")
        .await;
    let (_, member_me) = member.get("/api/auth/me").await;
    let (_, pending) = owner
        .post(
            "/api/organization/invitations",
            json!({"email": "pending@example.com", "role": "viewer"}),
        )
        .await;
    let (status, docs) = owner
        .upload(
            &format!("/api/chat-spaces/{space_id}/documents/upload"),
            &[(
                "victim.md",
                b"# Victim handbook\n\nThe vault code is in the safe.",
            )],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{docs}");
    crate::common::drain_jobs(app).await;
    let (status, answer) = owner
        .post(
            &format!("/api/chat-spaces/{space_id}/chat"),
            json!({"message": "Where is the vault code?"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    // A visitor's question, grouped: the id of a top question (and gap).
    let (status, published) = owner
        .call(
            Method::POST,
            &format!("/api/chat-spaces/{space_id}/publish"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{published}");
    let slug = published["endpoint_slug"]
        .as_str()
        .expect("slug")
        .to_owned();
    let asked = reqwest::Client::new()
        .post(format!("{}/api/widget/{slug}/chat", app.base))
        .json(
            &json!({"message": "Is the vault code in the safe?", "visitor_id": "victim-visitor-1"}),
        )
        .send()
        .await
        .expect("widget");
    assert_eq!(asked.status(), StatusCode::OK);
    docent_app::insights::questions::group_new_before(&app.state.app, chrono::Utc::now())
        .await
        .expect("grouping");
    let (_, top) = owner
        .get(&format!("/api/chat-spaces/{space_id}/top-questions"))
        .await;
    let gap_id = top["data"][0]["id"]
        .as_str()
        .expect("a question group")
        .to_owned();
    let (status, canned) = owner
        .post(
            "/api/canned-replies",
            json!({"shortcut": "vault", "content": "The vault code is behind the painting."}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{canned}");
    // A webhook (an address that is public by its number: nothing resolves here) and one
    // delivery queued to it.
    let (status, hook) = owner
        .post(
            "/api/webhooks",
            json!({"url": "https://93.184.215.14/victim-hook", "events": ["message.created"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    let webhook_id = hook["id"].as_str().expect("webhook").to_owned();
    docent_app::webhooks::emit(
        &app.state.app,
        org_id.parse().expect("id"),
        None,
        docent_core::EventType::MessageCreated,
        json!({"content": "the vault code"}),
    )
    .await
    .expect("queue a delivery");
    let (_, log) = owner
        .get(&format!("/api/webhooks/{webhook_id}/deliveries"))
        .await;
    let delivery_id = log["data"][0]["id"].as_str().expect("delivery").to_owned();
    let ids = HashMap::from([
        ("webhook_id", webhook_id),
        ("delivery_id", delivery_id),
        ("gap_id", gap_id),
        (
            "canned_reply_id",
            canned["id"].as_str().expect("canned reply").to_owned(),
        ),
        ("visitor", "victim-visitor-1".to_owned()),
        (
            "conversation_id",
            answer["conversation_id"]
                .as_str()
                .expect("conversation")
                .to_owned(),
        ),
        (
            "document_id",
            docs[0]["id"].as_str().expect("document").to_owned(),
        ),
        ("id", space_id),
        ("key_id", key["id"].as_str().expect("key").to_owned()),
        (
            "user_id",
            member_me["user"]["id"].as_str().expect("user").to_owned(),
        ),
        (
            "invitation_id",
            pending["id"].as_str().expect("invitation").to_owned(),
        ),
        ("org_id", org_id),
    ]);
    Victim {
        other_space_id: other_space["id"].as_str().expect("other space").to_owned(),
        other_space_key: other_space_key["secret"]
            .as_str()
            .expect("other space key")
            .to_owned(),
        owner,
        ids,
        secrets: vec![
            "Victim space".into(),
            "secret plans".into(),
            "victim key".into(),
            "member@example.com".into(),
            "pending@example.com".into(),
            "victim@example.com".into(),
            "vault code".into(),
            "Victim handbook".into(),
        ],
    }
}

/// The path with every `{param}` replaced by the victim's id of that kind.
fn fill(path: &str, ids: &HashMap<&'static str, String>) -> Option<String> {
    let mut out = String::new();
    let mut has_param = false;
    for segment in path.split('/').skip(1) {
        out.push('/');
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some("file") => return None,
            Some(param) => {
                has_param = true;
                let id = ids
                    .get(param)
                    .unwrap_or_else(|| panic!("route {path} has a parameter {{{param}}} this test does not know: add it to the victim"));
                out.push_str(id);
            }
            None => out.push_str(segment),
        }
    }
    has_param.then_some(out)
}

/// Ids that exist nowhere, one for each parameter.
fn unknown_ids() -> HashMap<&'static str, String> {
    [
        "id",
        "key_id",
        "user_id",
        "invitation_id",
        "org_id",
        "document_id",
        "conversation_id",
        "gap_id",
        "canned_reply_id",
        "webhook_id",
        "delivery_id",
        "visitor",
    ]
    .into_iter()
    .map(|k| (k, uuid::Uuid::now_v7().to_string()))
    .collect()
}

/// A body that passes validation for each route, so the answer is about the resource.
fn body_for(path: &str) -> Value {
    match path {
        p if p.ends_with("/members/{user_id}") => json!({"role": "viewer"}),
        p if p.ends_with("/plan") => json!({"plan": "enterprise"}),
        "/api/chat-spaces/{id}" => json!({"name": "hijacked"}),
        "/api/chat-spaces" | "/api/api-keys" | "/api/organizations" => json!({"name": "new"}),
        "/api/organization/invitations" => json!({"email": "new@example.com", "role": "viewer"}),
        "/api/chat-spaces/{id}/documents/url" => json!({"url": "https://www.example.com/"}),
        "/api/chat-spaces/{id}/chat" => json!({"message": "What is the vault code?"}),
        "/api/chat-spaces/{id}/documents/text" => json!({"title": "Hijacked", "text": "new"}),
        p if p.ends_with("/qa") => json!({"question": "Hijacked?", "answer": "Yes."}),
        p if p.ends_with("/answer") => json!({"answer": "Hijacked."}),
        "/api/conversations/{conversation_id}/messages" => json!({"content": "Hijacked."}),
        "/v1/chat/completions" => {
            json!({"model": "x", "messages": [{"role": "user", "content": "What is the vault code?"}]})
        }
        "/api/webhooks" => {
            json!({"url": "https://93.184.215.14/hijacked", "events": ["lead.captured"]})
        }
        "/api/webhooks/{webhook_id}" => json!({"description": "hijacked"}),
        p if p.ends_with("/answer-webhook/auth") => {
            json!({"username": "hijacked", "password": "hijacked"})
        }
        p if p.starts_with("/api/canned-replies") => {
            json!({"shortcut": "hijacked", "content": "Hijacked."})
        }
        _ => json!({}),
    }
}

async fn send(
    session: &Session,
    route_method: &Method,
    kind: Kind,
    path: &str,
    template: &str,
) -> (StatusCode, String) {
    if template.ends_with("/upload") || (kind == Kind::Page && template.ends_with("/documents")) {
        let (status, body) = session
            .upload(path, &[("new.txt", b"new knowledge")], None)
            .await;
        return (status, body.to_string());
    }
    if kind == Kind::Page && route_method == Method::POST {
        let fields: &[(&str, &str)] = match template {
            p if p.ends_with("/role") => &[("role", "viewer")],
            p if p.ends_with("/plan") => &[("plan", "enterprise")],
            _ => &[
                ("name", "hijacked"),
                ("title", "hijacked"),
                ("text", "hijacked"),
                ("question", "Hijacked?"),
                ("answer", "Yes."),
                ("endpoint_slug", "hijacked"),
                ("key_name", "k"),
                ("email", "new@example.com"),
                ("role", "viewer"),
                ("confirm", "Victim"),
                ("citable", "false"),
                ("url", "https://93.184.215.14/hijacked"),
                ("event:lead.captured", "on"),
            ],
        };
        return session.form(path, fields).await;
    }
    if *route_method == Method::GET && template.ends_with("/events") {
        // A live view stays open: what it sends in its first second is its answer.
        let response = session
            .request(Method::GET, path)
            .header("accept", "text/event-stream")
            .send()
            .await
            .expect("send");
        let status = response.status();
        let mut response = response;
        let mut body = String::new();
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(1);
        while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, response.chunk()).await {
            body.push_str(&String::from_utf8_lossy(&chunk));
        }
        return (status, body);
    }
    let (status, body) = if *route_method == Method::GET {
        // Required query parameters, so that the answer is about the resource.
        let query = if template.ends_with("/search") {
            "?q=vault"
        } else {
            ""
        };
        session.call(Method::GET, &format!("{path}{query}")).await
    } else {
        session
            .json(route_method.clone(), path, body_for(template))
            .await
    };
    (status, body.to_string())
}

async fn other_organizations_get_404_everywhere(app: TestApp) {
    let victim = victim(&app).await;
    let stranger = app.signup("stranger@example.com").await;
    let (_, key) = stranger
        .post("/api/api-keys", json!({"name": "stranger key"}))
        .await;
    let stranger_key = app.with_key(key["secret"].as_str().expect("secret"));

    let mut checked = 0;
    for route in routes() {
        if route.access == Access::Public {
            continue;
        }
        let callers: Vec<(&str, &Session)> = if route.kind == Kind::Api && route.access.is_tenant()
        {
            vec![
                ("stranger", &stranger),
                ("stranger's API key", &stranger_key),
            ]
        } else {
            vec![("stranger", &stranger)]
        };
        for (who, caller) in callers {
            match fill(route.path, &victim.ids) {
                Some(path) => {
                    let (status, body) =
                        send(caller, &route.method, route.kind, &path, route.path).await;
                    let expected = if route.access == Access::PlatformAdmin {
                        StatusCode::FORBIDDEN
                    } else {
                        StatusCode::NOT_FOUND
                    };
                    if status != expected {
                        // An API key may be refused a people-only route outright; then the
                        // answer must not depend on whose id it named.
                        let unknown = fill(route.path, &unknown_ids()).expect("same params");
                        let (unknown_status, _) =
                            send(caller, &route.method, route.kind, &unknown, route.path).await;
                        assert!(
                            who.contains("key")
                                && status == StatusCode::FORBIDDEN
                                && unknown_status == status,
                            "{who}: {} {path} answered {status}: {body}",
                            route.method
                        );
                    }
                    checked += 1;
                }
                None if route.method == Method::GET => {
                    let (status, body) =
                        send(caller, &route.method, route.kind, route.path, route.path).await;
                    assert!(
                        status.as_u16() < 500,
                        "{who}: GET {} answered {status}",
                        route.path
                    );
                    for secret in &victim.secrets {
                        assert!(
                            !body.contains(secret.as_str()),
                            "{who}: GET {} shows the victim's {secret:?}",
                            route.path
                        );
                    }
                    for id in victim.ids.values() {
                        assert!(
                            !body.contains(id.as_str()),
                            "{who}: GET {} shows the victim's id {id}",
                            route.path
                        );
                    }
                    checked += 1;
                }
                None => {}
            }
        }
    }
    assert!(checked > 30, "only {checked} route checks ran");
    victim_is_intact(&victim).await;
}

/// Nothing of the victim's changed.
async fn victim_is_intact(victim: &Victim) {
    let owner = &victim.owner;
    let (status, space) = owner
        .get(&format!("/api/chat-spaces/{}", victim.ids["id"]))
        .await;
    assert_eq!(
        (status, &space["name"]),
        (StatusCode::OK, &json!("Victim space"))
    );
    let (_, keys) = owner.get("/api/api-keys").await;
    assert!(
        keys[0]["revoked_at"].is_null(),
        "the victim's key was not revoked"
    );
    let (_, members) = owner.get("/api/organization/members").await;
    let role_of = |email: &str| {
        members
            .as_array()
            .expect("members")
            .iter()
            .find(|m| m["email"] == email)
            .map(|m| m["role"].clone())
    };
    assert_eq!(role_of("victim@example.com"), Some(json!("owner")));
    assert_eq!(role_of("member@example.com"), Some(json!("agent")));
    let (_, pending) = owner.get("/api/organization/invitations").await;
    assert_eq!(pending.as_array().expect("pending").len(), 1);
    let (_, org) = owner.get("/api/organization").await;
    assert_eq!(org["organization"]["plan"], "pro");
    let (_, doc) = owner
        .get(&format!("/api/documents/{}", victim.ids["document_id"]))
        .await;
    assert_eq!(
        (doc["status"].as_str(), doc["citable"].as_bool()),
        (Some("completed"), Some(true)),
        "{doc}"
    );
    let (_, hits) = owner
        .get(&format!(
            "/api/chat-spaces/{}/search?q=vault",
            victim.ids["id"]
        ))
        .await;
    assert_eq!(
        hits.as_array().map(Vec::len),
        Some(1),
        "the victim's knowledge is intact"
    );
}

async fn viewers_cannot_write_anywhere(app: TestApp) {
    let victim = victim(&app).await;
    let viewer = app
        .invite_and_join(&victim.owner, "viewer@example.com", "viewer")
        .await;
    let (_, me) = viewer.get("/api/auth/me").await;
    assert_eq!(me["role"], "viewer");

    let mut checked = 0;
    for route in routes() {
        if !route.access.is_tenant() || route.method == Method::GET {
            continue;
        }
        let path = fill(route.path, &victim.ids).unwrap_or_else(|| route.path.to_owned());
        let (status, body) = send(&viewer, &route.method, route.kind, &path, route.path).await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "viewer: {} {path} answered {status}: {body}",
            route.method
        );
        checked += 1;
    }
    assert!(checked > 15, "only {checked} writes checked");
}

async fn keys_scoped_to_another_chat_space_reach_nothing_else(app: TestApp) {
    let victim = victim(&app).await;
    let key = app.with_key(&victim.other_space_key);
    reaches_only_the_other_space(&victim, &key, "api_key_scope").await;
}

/// A viewer limited to the victim's other chat space (an agency's client) reaches nothing of
/// the victim's space and nothing of the organization as a whole; in their own chat space
/// they see its conversations and analytics.
async fn clients_limited_to_another_chat_space_reach_nothing_else(app: TestApp) {
    let victim = victim(&app).await;
    let client = app
        .invite_and_join(&victim.owner, "client@example.com", "viewer")
        .await;
    let (_, me) = client.get("/api/auth/me").await;
    let client_id = me["user"]["id"].as_str().expect("client").to_owned();
    let access = format!("/api/organization/members/{client_id}/chat-spaces");
    let (status, body) = victim
        .owner
        .put(&access, json!({"chat_space_ids": [victim.other_space_id]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["chat_space_ids"], json!([victim.other_space_id]));
    // Only viewers are limited, and only to the organization's own chat spaces.
    let member = victim.ids["user_id"].as_str();
    let (status, body) = victim
        .owner
        .put(
            &format!("/api/organization/members/{member}/chat-spaces"),
            json!({"chat_space_ids": []}),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let (status, _) = victim
        .owner
        .put(&access, json!({"chat_space_ids": [uuid::Uuid::now_v7()]}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    reaches_only_the_other_space(&victim, &client, "forbidden").await;

    // What they see of their own chat space.
    let other = victim.other_space_id.as_str();
    let (status, list) = client.get("/api/chat-spaces").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["data"].as_array().expect("spaces").len(), 1);
    assert_eq!(list["data"][0]["id"], other);
    for path in [
        format!("/api/chat-spaces/{other}/conversations"),
        format!("/api/chat-spaces/{other}/analytics"),
        format!("/api/chat-spaces/{other}/top-questions"),
        format!("/api/chat-spaces/{other}/knowledge-gaps"),
        "/api/analytics".to_owned(),
    ] {
        let (status, body) = client.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    for page in [
        "/app".to_owned(),
        "/app/analytics".to_owned(),
        format!("/app/chat-spaces/{other}/analytics"),
    ] {
        let (status, html) = client.page(&page).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(
            !html.contains("Victim space"),
            "{page} shows the victim's chat space"
        );
        assert!(
            !html.contains("href=\"/app/members\""),
            "{page} links to the organization's members"
        );
    }
    // Lifted, they see everything again; a chat space deleted does not lift it.
    let (status, body) = victim
        .owner
        .put(&access, json!({"chat_space_ids": null}))
        .await;
    assert_eq!(
        (status, &body["chat_space_ids"]),
        (StatusCode::OK, &Value::Null)
    );
    let (_, list) = client.get("/api/chat-spaces").await;
    assert_eq!(list["data"].as_array().expect("spaces").len(), 2);
    // The members page's form limits them again.
    let (_, page) = victim.owner.page("/app/members").await;
    assert!(page.contains("data-docent=\"member-access\""), "{page}");
    let (status, _) = victim
        .owner
        .form(
            &format!("/app/members/{client_id}/chat-spaces"),
            &[("scope", "some"), ("chat_space", other)],
        )
        .await;
    assert!(status.is_success() || status.is_redirection(), "{status}");
    let (_, list) = client.get("/api/chat-spaces").await;
    assert_eq!(list["data"].as_array().expect("spaces").len(), 1);
    let (status, _) = victim
        .owner
        .call(Method::DELETE, &format!("/api/chat-spaces/{other}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = client.get("/api/chat-spaces").await;
    assert_eq!(
        list["data"],
        json!([]),
        "limited to nothing, not to everything"
    );
}

/// Every tenant route called by `who`, who reaches the victim's other chat space only:
/// organization-wide routes answer 403 with `refusal`, the victim's chat space and what it
/// holds 404, lists show nothing of it.
async fn reaches_only_the_other_space(victim: &Victim, who: &Session, refusal: &str) {
    let mut refused = 0;
    let mut hidden = 0;
    for route in routes() {
        if !route.access.is_tenant() {
            continue;
        }
        let path = fill(route.path, &victim.ids);
        let (status, body) = send(
            who,
            &route.method,
            route.kind,
            path.as_deref().unwrap_or(route.path),
            route.path,
        )
        .await;
        let what = format!("{} {}", route.method, route.path);
        match route.access {
            Access::Org => {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{what} answered {status}: {body}"
                );
                if route.kind == Kind::Api {
                    assert!(body.contains(&format!("\"{refusal}\"")), "{what}: {body}");
                }
                refused += 1;
            }
            _ if path.is_some() => {
                // The victim's chat space, or something in it, seen through a key of the
                // same organization limited to another chat space.
                let unknown = fill(route.path, &unknown_ids()).expect("same params");
                let (unknown_status, _) =
                    send(who, &route.method, route.kind, &unknown, route.path).await;
                assert!(
                    status == StatusCode::NOT_FOUND
                        || (status == StatusCode::FORBIDDEN && unknown_status == status),
                    "{what} answered {status}: {body}"
                );
                hidden += 1;
            }
            _ => {
                assert!(status.as_u16() < 500, "{what} answered {status}");
                for secret in &victim.secrets {
                    assert!(
                        !body.contains(secret.as_str()),
                        "{what} shows {secret:?}: {body}"
                    );
                }
                assert!(
                    !body.contains(victim.ids["id"].as_str()),
                    "{what} shows the chat space"
                );
            }
        }
    }
    assert!(
        refused > 15,
        "only {refused} organization-wide routes refused"
    );
    assert!(hidden > 20, "only {hidden} chat-space routes checked");
    victim_is_intact(victim).await;
}
