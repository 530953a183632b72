//! Chat spaces, publishing, plans and API keys through the JSON API.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{TestApp, add_completed_document, code};
use crate::on_both_backends;

on_both_backends!(
    chat_spaces_are_created_changed_and_deleted,
    publishing_needs_a_completed_document,
    plans_cap_chat_spaces,
    api_keys_work_until_revoked,
    a_new_chat_space_walks_its_owner_through_set_up
);

async fn chat_spaces_are_created_changed_and_deleted(app: TestApp) {
    let ana = app.signup("ana@example.com").await;
    let (status, space) = ana
        .post(
            "/api/chat-spaces",
            json!({"name": "Café Support!", "allowed_origins": ["https://shop.example.com/"]}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{space}");
    assert_eq!(space["endpoint_slug"], "cafe-support");
    assert_eq!(space["status"], "draft");
    assert_eq!(
        space["allowed_origins"],
        json!(["https://shop.example.com"])
    );
    assert_eq!(
        space["widget_config"]["theme"], "auto",
        "defaults are filled in"
    );
    assert_eq!(space["retrieval_config"]["top_k"], 5);
    let id = space["id"].as_str().expect("id").to_owned();

    let (status, got) = ana.get(&format!("/api/chat-spaces/{id}")).await;
    assert_eq!(
        (status, &got["name"]),
        (StatusCode::OK, &json!("Café Support!"))
    );

    let (status, patched) = ana
        .patch(&format!("/api/chat-spaces/{id}"), json!({"name": "Help desk", "endpoint_slug": "help-desk", "widget_config": {"primary_color": "#112233"}}))
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["name"], "Help desk");
    assert_eq!(patched["endpoint_slug"], "help-desk");
    assert_eq!(patched["widget_config"]["primary_color"], "#112233");
    assert_eq!(
        patched["widget_config"]["welcome_message"],
        space["widget_config"]["welcome_message"]
    );

    for (body, expected_field) in [
        (json!({"endpoint_slug": "Bad Slug"}), "endpoint_slug"),
        (json!({"endpoint_slug": "api"}), "endpoint_slug"),
        (json!({"name": ""}), "name"),
        (
            json!({"widget_config": {"primary_color": "red"}}),
            "widget_config.primary_color",
        ),
        (
            json!({"ai_config": {"temperature": 9}}),
            "ai_config.temperature",
        ),
        (
            json!({"allowed_origins": ["not an origin"]}),
            "allowed_origins",
        ),
        (json!({"answer_mode": "webhook"}), "webhook_url"),
    ] {
        let (status, answer) = ana
            .patch(&format!("/api/chat-spaces/{id}"), body.clone())
            .await;
        assert_eq!(
            (status, code(&answer)),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            "{body}: {answer}"
        );
        assert_eq!(
            answer["error"]["fields"][0]["field"], expected_field,
            "{body}: {answer}"
        );
    }
    let (status, answer) = ana
        .patch(
            &format!("/api/chat-spaces/{id}"),
            json!({"status": "bogus"}),
        )
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );

    // A webhook is a URL Docent will call: the fetch guard refuses private targets in every
    // spelling when it is saved.
    for private in [
        "http://127.0.0.1:5678/webhook/chat",
        "http://localhost:5678/webhook/chat",
        "http://[2002:7f00:1::1]/hook",
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
        "http://169.254.169.254/latest/meta-data/",
    ] {
        let (status, answer) = ana
            .patch(
                &format!("/api/chat-spaces/{id}"),
                json!({"answer_mode": "webhook", "webhook_url": private}),
            )
            .await;
        assert_eq!(
            (status, code(&answer)),
            (StatusCode::UNPROCESSABLE_ENTITY, "url_not_allowed"),
            "{private}: {answer}"
        );
    }
    let (status, webhook) = ana
        .patch(
            &format!("/api/chat-spaces/{id}"),
            json!({"answer_mode": "webhook", "webhook_url": "https://n8n.example.com/hook"}),
        )
        .await;
    assert_eq!(
        (status, &webhook["answer_mode"]),
        (StatusCode::OK, &json!("webhook")),
        "{webhook}"
    );

    let (status, embed) = ana.get(&format!("/api/chat-spaces/{id}/widget")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        embed["script"]
            .as_str()
            .expect("script")
            .contains("data-chat-space=\"help-desk\"")
    );
    assert!(
        embed["iframe"]
            .as_str()
            .expect("iframe")
            .contains("/embed/help-desk")
    );
    assert!(
        embed["share_url"]
            .as_str()
            .expect("share")
            .ends_with("/c/help-desk")
    );

    let (status, _) = ana
        .call(Method::DELETE, &format!("/api/chat-spaces/{id}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, answer) = ana.get(&format!("/api/chat-spaces/{id}")).await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let (status, _) = ana.get("/api/chat-spaces/not-a-uuid").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn publishing_needs_a_completed_document(app: TestApp) {
    let ana = app.signup("ana@example.com").await;
    let (_, me) = ana.get("/api/auth/me").await;
    let org = me["organization"]["id"].as_str().expect("org").to_owned();
    let (_, space) = ana.post("/api/chat-spaces", json!({"name": "Docs"})).await;
    let id = space["id"].as_str().expect("id").to_owned();
    let (status, answer) = ana
        .call(Method::POST, &format!("/api/chat-spaces/{id}/publish"))
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::CONFLICT, "publish_requires_document")
    );
    add_completed_document(&app, &org, &id).await;
    let (status, published) = ana
        .call(Method::POST, &format!("/api/chat-spaces/{id}/publish"))
        .await;
    assert_eq!(status, StatusCode::OK, "{published}");
    assert_eq!(published["status"], "published");
    assert!(published["published_at"].is_string());
    let (status, draft) = ana
        .call(Method::POST, &format!("/api/chat-spaces/{id}/unpublish"))
        .await;
    assert_eq!(
        (status, &draft["status"]),
        (StatusCode::OK, &json!("draft"))
    );
    let (status, archived) = ana
        .patch(
            &format!("/api/chat-spaces/{id}"),
            json!({"status": "archived"}),
        )
        .await;
    assert_eq!(
        (status, &archived["status"]),
        (StatusCode::OK, &json!("archived"))
    );
}

async fn plans_cap_chat_spaces(app: TestApp) {
    let admin = app.signup("admin@example.com").await;
    let ana = app.signup("ana@example.com").await;
    let (status, _) = ana.post("/api/chat-spaces", json!({"name": "One"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, answer) = ana.post("/api/chat-spaces", json!({"name": "Two"})).await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::PAYMENT_REQUIRED, "plan_limit_reached"),
        "{answer}"
    );
    assert!(
        answer["error"]["message"]
            .as_str()
            .expect("message")
            .contains("free")
    );

    let (_, org) = ana.get("/api/organization").await;
    assert_eq!(org["usage"]["chat_spaces"], 1);
    assert_eq!(org["usage"]["limits"]["chat_spaces_per_org"], 1);
    let org_id = org["organization"]["id"]
        .as_str()
        .expect("org id")
        .to_owned();
    let (status, answer) = ana
        .put(
            &format!("/api/admin/organizations/{org_id}/plan"),
            json!({"plan": "enterprise"}),
        )
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::FORBIDDEN, "forbidden"),
        "only platform admins change plans"
    );
    let (status, answer) = admin
        .put(
            &format!("/api/admin/organizations/{org_id}/plan"),
            json!({"plan": "gold"}),
        )
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let (status, changed) = admin
        .put(
            &format!("/api/admin/organizations/{org_id}/plan"),
            json!({"plan": "pro"}),
        )
        .await;
    assert_eq!(
        (status, &changed["plan"]),
        (StatusCode::OK, &json!("pro")),
        "{changed}"
    );
    let (status, _) = ana.post("/api/chat-spaces", json!({"name": "Two"})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, list) = admin.get("/api/admin/organizations").await;
    assert_eq!(list["data"].as_array().expect("orgs").len(), 2);
}

async fn api_keys_work_until_revoked(app: TestApp) {
    let ana = app.signup("ana@example.com").await;
    app.state
        .store
        .set_organization_plan(
            ana.get("/api/organization").await.1["organization"]["id"]
                .as_str()
                .expect("org")
                .parse()
                .expect("id"),
            docent_core::Plan::Pro,
        )
        .await
        .expect("plan");
    let (_, one) = ana.post("/api/chat-spaces", json!({"name": "One"})).await;
    let (_, two) = ana.post("/api/chat-spaces", json!({"name": "Two"})).await;
    let one_id = one["id"].as_str().expect("id").to_owned();

    let (status, org_key) = ana.post("/api/api-keys", json!({"name": "Backend"})).await;
    assert_eq!(status, StatusCode::CREATED, "{org_key}");
    let secret = org_key["secret"]
        .as_str()
        .expect("secret shown once")
        .to_owned();
    assert!(secret.starts_with(org_key["prefix"].as_str().expect("prefix")));
    let (_, listed) = ana.get("/api/api-keys").await;
    assert!(
        !listed.to_string().contains(&secret),
        "the secret is never listed"
    );

    let program = app.with_key(&secret);
    let (status, list) = program.get("/api/chat-spaces").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["data"].as_array().expect("list").len(), 2);
    let (status, created) = program
        .post("/api/chat-spaces", json!({"name": "By key"}))
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "keys manage chat spaces without CSRF: {created}"
    );
    let (status, answer) = program
        .post("/api/api-keys", json!({"name": "minted"}))
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::FORBIDDEN, "forbidden"),
        "keys cannot mint keys"
    );
    let (status, answer) = program.get("/api/organization/members").await;
    assert_eq!(status, StatusCode::OK, "{answer}");

    let (status, scoped) = ana
        .post(
            "/api/api-keys",
            json!({"name": "Only one", "chat_space_id": one_id}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let scoped_program = app.with_key(scoped["secret"].as_str().expect("secret"));
    let (_, list) = scoped_program.get("/api/chat-spaces").await;
    assert_eq!(list["data"].as_array().expect("list").len(), 1);
    let (status, _) = scoped_program
        .get(&format!(
            "/api/chat-spaces/{}",
            two["id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a scoped key sees only its chat space"
    );
    let (status, _) = scoped_program
        .get(&format!("/api/chat-spaces/{one_id}"))
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, _) = ana
        .call(
            Method::DELETE,
            &format!("/api/api-keys/{}", org_key["id"].as_str().expect("id")),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, answer) = program.get("/api/chat-spaces").await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::UNAUTHORIZED, "invalid_api_key")
    );
    let (status, answer) = app.with_key("dk_nonsense").get("/api/chat-spaces").await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::UNAUTHORIZED, "invalid_api_key")
    );
    let (_, keys) = ana.get("/api/api-keys").await;
    let revoked = keys
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["id"] == org_key["id"])
        .expect("still listed");
    assert!(revoked["revoked_at"].is_string());
    assert!(revoked["last_used_at"].is_string());
}

/// A new chat space opens on Knowledge; every tab shows the set-up checklist (add knowledge,
/// try it, publish, install) with each step's state until all are done, and Publish from
/// whichever tab it is pressed on; the Settings tab says who answers.
async fn a_new_chat_space_walks_its_owner_through_set_up(app: TestApp) {
    let ana = app.signup("ana@example.com").await;
    let (_, me) = ana.get("/api/auth/me").await;
    let org = me["organization"]["id"].as_str().expect("org").to_owned();
    let csrf = ana.csrf().await;
    let created = ana
        .request(Method::POST, "/app/chat-spaces")
        .form(&[("name", "Bakery help"), ("csrf_token", csrf.as_str())])
        .send()
        .await
        .expect("send");
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let to = created.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let id = to
        .strip_prefix("/app/chat-spaces/")
        .and_then(|rest| rest.strip_suffix("/knowledge"))
        .unwrap_or_else(|| panic!("opens on Knowledge, not {to}"))
        .to_owned();
    let done = |page: &str, step: &str| {
        page.contains(&format!("class=\"step done\" data-step=\"{step}\""))
    };
    for tab in ["", "/knowledge", "/playground", "/appearance", "/install"] {
        let (status, page) = ana.page(&format!("/app/chat-spaces/{id}{tab}")).await;
        assert_eq!(status, StatusCode::OK, "{tab}");
        assert!(
            page.contains("data-docent=\"setup\"") && page.contains("0 of 4 done"),
            "{tab}: {page}"
        );
        assert!(page.contains("data-docent=\"publish\""), "Publish on {tab}");
    }
    let (_, settings) = ana.page(&format!("/app/chat-spaces/{id}")).await;
    assert!(
        settings.contains("Answers are quoted from your knowledge")
            && settings.contains("DOCENT_LLM_API_KEY"),
        "{settings}"
    );

    add_completed_document(&app, &org, &id).await;
    let (_, page) = ana.page(&format!("/app/chat-spaces/{id}/install")).await;
    assert!(
        done(&page, "knowledge") && !done(&page, "published"),
        "{page}"
    );
    let csrf = ana.csrf().await;
    let published = ana
        .request(Method::POST, &format!("/app/chat-spaces/{id}/publish"))
        .form(&[("back", "install"), ("csrf_token", csrf.as_str())])
        .send()
        .await
        .expect("send");
    assert_eq!(published.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        published.headers()["location"],
        format!("/app/chat-spaces/{id}/install").as_str(),
        "back on the tab it was pressed on"
    );
    let (status, _) = ana
        .form(
            &format!("/app/chat-spaces/{id}/playground"),
            &[("message", "When do you open?")],
        )
        .await;
    assert!(status.is_success(), "{status}");
    let (_, page) = ana.page(&format!("/app/chat-spaces/{id}/knowledge")).await;
    assert!(
        done(&page, "knowledge")
            && done(&page, "tried")
            && done(&page, "published")
            && !done(&page, "installed"),
        "{page}"
    );
    assert!(
        page.contains("3 of 4 done") && page.contains("data-docent=\"unpublish\""),
        "{page}"
    );

    let (_, space) = ana.get(&format!("/api/chat-spaces/{id}")).await;
    let slug = space["endpoint_slug"].as_str().expect("slug");
    let (status, opened) = app
        .anonymous()
        .post(
            &format!("/api/widget/{slug}/conversation"),
            json!({"visitor_id": "first-visitor"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    let (_, page) = ana.page(&format!("/app/chat-spaces/{id}/knowledge")).await;
    assert!(
        !page.contains("data-docent=\"setup\""),
        "the checklist goes once all is done"
    );
}
