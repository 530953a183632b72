//! Every page of the dashboard (and the public ones) in a real headless Chromium at a phone's
//! width (390×844) and a laptop's (1366×850): the page never scrolls sideways, and no button,
//! link of the navigation or form control is cut off, by the window or by a box that hides
//! its overflow (a wide table may scroll inside its own box on a phone, never at 1366 px).
//! Each page is photographed at both sizes into `DOCENT_SCREENSHOT_DIR`, or
//! `$TMPDIR/docent-screenshots` when that is unset.

use std::path::PathBuf;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::common::{Backend, TestApp, add_completed_document};

/// What is wrong with the page as laid out now, one line a problem. `narrow`: a box that
/// scrolls sideways may hold what does not fit.
const CHECK: &str = r#"
const narrow = arguments[0];
const root = document.documentElement;
const width = root.clientWidth;
const problems = [];
if (root.scrollWidth > width + 1) {
  // Name the outermost boxes that stick out, to say what to fix.
  const out = [...document.body.querySelectorAll('*')].filter(el => {
    const r = el.getBoundingClientRect();
    return r.right > width + 1 && r.width > 0 && !el.closest('.sr-only, .skip-link')
      && !(el.parentElement && el.parentElement.getBoundingClientRect().right > width + 1
           && getComputedStyle(el.parentElement).overflowX === 'visible');
  }).slice(0, 3).map(el => `${el.tagName.toLowerCase()}${el.className ? '.' + String(el.className).split(' ').join('.') : ''} ${Math.round(el.getBoundingClientRect().left)}..${Math.round(el.getBoundingClientRect().right)} in ${el.parentElement.tagName.toLowerCase()}.${el.parentElement.className} ${Math.round(el.parentElement.getBoundingClientRect().right)} ${getComputedStyle(el.parentElement).overflowX}`);
  problems.push(`the page is ${root.scrollWidth} px wide in a ${width} px window (${out.join(', ')})`);
}
const controls = document.querySelectorAll(
  'button, .btn, input, select, textarea, nav a, .tabs a, .crumbs a');
for (const el of controls) {
  const r = el.getBoundingClientRect();
  const style = getComputedStyle(el);
  if (r.width === 0 || r.height === 0 || style.visibility === 'hidden' || el.type === 'hidden'
      || el.closest('.sr-only, .skip-link')) {
    continue;
  }
  let left = 0, right = width, scrolls = false;
  for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
    const s = getComputedStyle(p);
    if (s.overflowX !== 'visible') {
      const box = p.getBoundingClientRect();
      left = Math.max(left, box.left);
      right = Math.min(right, box.right);
      scrolls = (s.overflowX === 'auto' || s.overflowX === 'scroll') && p.scrollWidth > p.clientWidth + 1;
      break;
    }
  }
  if (scrolls && narrow) continue;
  if (r.left < left - 1 || r.right > right + 1) {
    const name = (el.innerText || el.value || el.name || el.id || el.tagName).trim().slice(0, 40);
    problems.push(`"${name}" (${el.tagName.toLowerCase()}) spans ${Math.round(r.left)}..${Math.round(r.right)} px, `
      + `outside the ${Math.round(left)}..${Math.round(right)} px it may show in`
      + (scrolls ? ' (its box scrolls)' : ''));
  }
}
return problems;
"#;

fn screenshot_dir() -> PathBuf {
    std::env::var("DOCENT_SCREENSHOT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir().join("docent-screenshots"))
}

/// A picture of the whole page: the window is made as tall as the page (up to 4000 px)
/// for the shot, then put back.
async fn photograph(browser: &Browser, name: &str) {
    let size = browser
        .script(
            "return [window.innerWidth, window.outerHeight, document.documentElement.scrollHeight]",
        )
        .await;
    let number = |i: usize| size[i].as_u64().unwrap_or(800) as u32;
    let (width, height, page) = (number(0), number(1), number(2));
    browser.resize(width, page.clamp(height, 4000)).await;
    let png = browser.cmd(Method::GET, "/screenshot", None).await;
    browser.resize(width, height).await;
    let bytes = crate::browser::base64_decode(png.as_str().unwrap_or_default());
    let dir = screenshot_dir().join("responsive");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    std::fs::write(dir.join(format!("{name}.png")), bytes).expect("write screenshot");
}

/// Visits `path` at both sizes; returns the problems found, each with its page and size.
async fn check(browser: &Browser, base: &str, path: &str, name: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (width, height) in [(390, 844), (1366, 850)] {
        browser.resize(width, height).await;
        browser.goto(&format!("{base}{path}")).await;
        browser
            .until(
                "the page has loaded",
                "return document.readyState === 'complete'",
            )
            .await;
        let found: Value = browser.script_with(CHECK, vec![json!(width < 800)]).await;
        for problem in found.as_array().cloned().unwrap_or_default() {
            problems.push(format!(
                "{path} at {width}px: {}",
                problem.as_str().unwrap_or_default()
            ));
        }
        photograph(browser, &format!("{name}-{width}")).await;
    }
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_fits_a_phone_and_a_laptop() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.fetch_allowed_hosts = vec!["127.0.0.1".into()];
    })
    .await
    .expect("app");
    let base = app.base.clone();

    // What a working organization has: a chat space with documents with long names and
    // addresses, members, invitations, an API key, a password reset in the outbox.
    let ana = app.signup("ana@example.com").await;
    let (_, me) = ana.get("/api/auth/me").await;
    let org = me["organization"]["id"].as_str().expect("org").to_owned();
    app.state
        .store
        .set_organization_plan(org.parse().expect("org id"), docent_core::Plan::Pro)
        .await
        .expect("plan");
    let (_, space) = ana
        .post(
            "/api/chat-spaces",
            json!({"name": "Customer help for the Lisbon bakery and its online shop"}),
        )
        .await;
    let id = space["id"].as_str().expect("id").to_owned();
    let slug = space["endpoint_slug"].as_str().expect("slug").to_owned();
    let (status, docs) = ana
        .upload(
            &format!("/api/chat-spaces/{id}/documents/upload"),
            &[
                (
                    "opening-hours-holidays-and-everything-about-our-shops-2026-final-version.md",
                    b"# Opening hours\n\nWe open at seven every day except Sunday.\n",
                ),
                ("returns.txt", b"Returns are accepted within thirty days."),
            ],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{docs}");
    crate::common::drain_jobs(&app).await;
    let document = docs[0]["id"].as_str().expect("document").to_owned();
    add_completed_document(&app, &org, &id).await;
    let (status, _) = ana
        .call(Method::POST, &format!("/api/chat-spaces/{id}/publish"))
        .await;
    assert_eq!(status, StatusCode::OK);
    // A conversation with a long question and a quoted, cited answer, for the archive pages.
    let (status, asked) = ana
        .post(&format!("/api/chat-spaces/{id}/chat"),
            json!({"message": "Hello, could you tell me what the opening hours of the bakery on the high street are during the summer holidays, and whether you bake gluten-free bread there?"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{asked}");
    let conversation = asked["conversation_id"]
        .as_str()
        .expect("conversation")
        .to_owned();
    // A week of visitors' conversations, for the Analytics charts.
    for day in 0..7i64 {
        for k in 0..(1 + day % 3) {
            let question = if k == 1 {
                "Do you sell wedding cakes?"
            } else {
                "When do you open?"
            };
            let response = reqwest::Client::new()
                .post(format!("{base}/api/widget/{slug}/chat"))
                .json(&json!({"message": question, "visitor_id": format!("visitor-{day}-{k}")}))
                .send()
                .await
                .expect("widget chat");
            assert_eq!(response.status(), StatusCode::OK);
            let answer: Value = response.json().await.expect("answer");
            let at = chrono::Utc::now() - chrono::Duration::days(day);
            app.move_conversation(answer["conversation_id"].as_str().expect("id"), at)
                .await;
        }
    }
    docent_app::insights::questions::group_new_before(&app.state.app, chrono::Utc::now())
        .await
        .expect("grouping");
    for email in [
        "bo@example.com",
        "a.very.long.address.for.a.colleague@example-bakery.com",
    ] {
        let (status, body) = ana
            .post(
                "/api/organization/invitations",
                json!({"email": email, "role": "agent"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (_, invitation) = ana
        .post(
            "/api/organization/invitations",
            json!({"email": "cy@example.com", "role": "viewer"}),
        )
        .await;
    let invite = invitation["accept_url"]
        .as_str()
        .unwrap_or_else(|| panic!("accept url: {invitation}"))
        .to_owned();
    let invite_path = invite[invite.find("/invite").expect("invite path")..].to_owned();
    let (status, _) = ana
        .post(
            "/api/api-keys",
            json!({"name": "Website backend", "chat_space_id": id}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = app
        .anonymous()
        .post(
            "/api/auth/forgot-password",
            json!({"email": "ana@example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let outbox = app.state.store.list_outbox(10).await.expect("outbox");
    let reset = outbox
        .iter()
        .find_map(|m| {
            let at = m.body.find("/reset-password?token=")?;
            let rest = &m.body[at..];
            Some(rest.split_whitespace().next().unwrap_or(rest).to_owned())
        })
        .expect("a reset link in the outbox");
    // A lead with long details and a custom field.
    let (status, body) = ana
        .patch(
            &format!("/api/chat-spaces/{id}"),
            json!({"widget_config": {"lead_form": {"enabled": true, "fields": [
                {"key": "name", "label": "Name", "kind": "text", "required": true},
                {"key": "email", "label": "Email", "kind": "email", "required": true},
                {"key": "company", "label": "Company", "kind": "text"},
                {"key": "order_number", "label": "Order number", "kind": "text"}
            ]}}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let lead = reqwest::Client::new()
        .post(format!("{base}/api/widget/{slug}/lead"))
        .json(&json!({"visitor_id": "visitor-responsive-lead", "fields": {
            "name": "Maximiliana Wolkenstein-Habsburg",
            "email": "maximiliana.wolkenstein-habsburg@very-long-company-domain.example.com",
            "company": "Konditorei und Feinbäckerei Wolkenstein & Söhne GmbH",
            "order_number": "ORD-2026-000012345678"}}))
        .send()
        .await
        .expect("lead");
    assert_eq!(lead.status(), StatusCode::CREATED);
    // A webhook with a long address, and one delivery on its way.
    let (status, hook) = ana
        .post("/api/webhooks",
            json!({"url": "https://93.184.215.14/hooks/catch/1234567/a-rather-long-zapier-hook-path/", "events": ["lead.captured", "conversation.created", "message.created"], "description": "Leads to the CRM"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    let hook = hook["id"].as_str().expect("webhook").to_owned();
    let (_, me) = ana.get("/api/auth/me").await;
    docent_app::webhooks::emit(
        &app.state.app,
        me["organization"]["id"]
            .as_str()
            .expect("org")
            .parse()
            .expect("org id"),
        None,
        docent_core::EventType::MessageCreated,
        json!({"content": "Hello"}),
    )
    .await
    .expect("a delivery");

    // A chat space an n8n workflow answers, with Basic auth, failing (nothing listens there):
    // its health, its errors and the credentials' form.
    let (status, hooked) = ana
        .post(
            "/api/chat-spaces",
            json!({"name": "Answered by our n8n workflow"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{hooked}");
    let hooked = hooked["id"].as_str().expect("id").to_owned();
    let (status, body) = ana
        .patch(&format!("/api/chat-spaces/{hooked}"),
            json!({"answer_mode": "webhook", "webhook_url": "http://127.0.0.1:9/webhook/0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e/chat"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = ana
        .put(&format!("/api/chat-spaces/{hooked}/answer-webhook/auth"),
            json!({"username": "docent-for-the-lisbon-bakery", "password": "a long random password"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let mut problems = Vec::new();
    // Signed out: the public pages.
    for (path, name) in [
        ("/login", "login"),
        ("/signup", "signup"),
        ("/forgot-password", "forgot-password"),
        (reset.as_str(), "reset-password"),
        (invite_path.as_str(), "invite"),
        (&format!("/c/{slug}"), "share-link"),
        (&format!("/embed/{slug}"), "embed"),
    ] {
        problems.extend(check(&browser, &base, path, name).await);
    }
    // Signed in, as the owner (and platform admin: the first account).
    browser.resize(1366, 850).await;
    browser.log_in(&base, "ana@example.com").await;
    for (path, name) in [
        ("/app".to_owned(), "chat-spaces"),
        ("/app/chat-spaces/new".to_owned(), "new-chat-space"),
        (format!("/app/chat-spaces/{id}"), "settings"),
        (format!("/app/chat-spaces/{hooked}"), "settings-webhook"),
        (format!("/app/chat-spaces/{id}/knowledge"), "knowledge"),
        (format!("/app/documents/{document}"), "document"),
        (format!("/app/chat-spaces/{id}/playground"), "playground"),
        (
            format!("/app/chat-spaces/{id}/conversations"),
            "conversations",
        ),
        (format!("/app/conversations/{conversation}"), "conversation"),
        (format!("/app/chat-spaces/{id}/leads"), "leads"),
        (format!("/app/chat-spaces/{id}/analytics"), "analytics"),
        ("/app/analytics".to_owned(), "org-analytics"),
        (format!("/app/chat-spaces/{id}/appearance"), "appearance"),
        (format!("/app/chat-spaces/{id}/install"), "install"),
        ("/app/members".to_owned(), "members"),
        ("/app/organization".to_owned(), "organization"),
        ("/app/webhooks".to_owned(), "webhooks"),
        (format!("/app/webhooks/{hook}"), "webhook-deliveries"),
        ("/app/organizations/new".to_owned(), "new-organization"),
        ("/admin".to_owned(), "admin"),
    ] {
        problems.extend(check(&browser, &base, &path, name).await);
    }
    // On a phone the navigation is a menu: closed, it hides the links; open, it shows them
    // all, none cut off.
    browser.resize(390, 844).await;
    browser.goto(&format!("{base}/app/members")).await;
    let hidden = browser
        .script("return getComputedStyle(document.querySelector('.nav')).display === 'none' || !document.querySelector('.nav').offsetParent")
        .await;
    if hidden != json!(true) {
        problems.push("the menu does not start closed on a phone".into());
    }
    browser.click("[data-docent=menu-toggle]").await;
    let shown: Value = browser
        .script("return [...document.querySelectorAll('.nav a')].map(a => { const r = a.getBoundingClientRect(); return r.width > 0 && r.right <= document.documentElement.clientWidth + 1; })")
        .await;
    if !shown
        .as_array()
        .is_some_and(|a| !a.is_empty() && a.iter().all(|v| v == &json!(true)))
    {
        problems.push(format!("open, the menu does not show every link: {shown}"));
    }
    photograph(&browser, "menu-open-390").await;
    let found: Value = browser.script_with(CHECK, vec![json!(true)]).await;
    for problem in found.as_array().cloned().unwrap_or_default() {
        problems.push(format!(
            "menu open at 390px: {}",
            problem.as_str().unwrap_or_default()
        ));
    }
    eprintln!(
        "screenshots in {}",
        screenshot_dir().join("responsive").display()
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
