//! The widget in a real headless Chromium: a host page on another origin embeds the script
//! tag under hostile CSS; a visitor opens the launcher, asks, sees the answer stream in with
//! a citation, reloads and finds the history; a foreign origin gets no widget; the iframe
//! and the share page chat; a right-to-left configuration renders right to left; and script
//! payloads in bot names, welcome texts, document titles, documents and messages never run,
//! in the widget or in the dashboard.

use std::time::Duration;

use axum::response::Html;
use axum::routing::get;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::browser::Browser;
use crate::common::{Backend, Session, TestApp, drain_jobs, loopback, serve_in_background};
use crate::widget::published;

const XSS_DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/corpora/security/xss"
);

/// Script payloads: a few of our own, and the PayloadsAllTheThings lists when present.
fn payloads() -> Vec<String> {
    let mut out: Vec<String> = [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<svg onload=alert(1)>",
        "\"><svg onload=alert(1)//",
        "[click](javascript:alert(1))",
        "<a href=\"javascript:alert(1)\">x</a>",
        "<iframe srcdoc=\"<script>parent.alert(1)</script>\">",
        "<details open ontoggle=alert(1)>",
    ]
    .map(str::to_owned)
    .to_vec();
    for file in [
        "PayloadsAllTheThings__BRUTELOGIC-XSS-STRINGS.txt",
        "PayloadsAllTheThings__IntrudersXSS.txt",
    ] {
        match std::fs::read_to_string(format!("{XSS_DIR}/{file}")) {
            Ok(text) => out.extend(
                text.lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(str::to_owned),
            ),
            Err(_) => eprintln!("note: {file} not found; using the built-in payloads"),
        }
    }
    out
}

/// [`host_site`], with its origin allowed on the chat space `id` (known only once it listens).
pub(crate) async fn allowed_host_site(
    docent: &str,
    owner: &Session,
    id: &str,
    slug: &str,
) -> String {
    let host = host_site(docent, slug).await;
    let (status, body) = owner
        .patch(
            &format!("/api/chat-spaces/{id}"),
            json!({"allowed_origins": [host]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    host
}

/// Host pages on their own loopback port: `/` embeds the script tag under hostile CSS,
/// `/frame` the iframe. Each page turns `alert` and friends into a counter first.
pub(crate) async fn host_site(docent: &str, slug: &str) -> String {
    let trap = "<script>window.__xss = 0; window.alert = window.confirm = window.prompt = \
                function () { window.__xss++; };</script>";
    let page = format!(
        "<!doctype html><html><head><meta charset=utf-8><title>Host shop</title>{trap}\
         <style>* {{ all: unset }} .cover {{ position: fixed; left: 0; top: 0; width: 60%; height: 60%; \
         z-index: 2147483647; background: rgba(200,0,0,.3) }} div {{ transform: rotate(1deg) }}</style></head>\
         <body><div class=cover>hostile overlay</div><p>Welcome to the shop.</p>\
         <script src=\"{docent}/widget.js\" data-chat-space=\"{slug}\" async></script></body></html>"
    );
    let frame = format!(
        "<!doctype html><html><head><meta charset=utf-8>{trap}</head><body>\
         <iframe id=chat src=\"{docent}/embed/{slug}\" title=Chat style=\"width:420px;height:620px;border:0\"></iframe></body></html>"
    );
    let (listener, base) = loopback().await;
    serve_in_background(
        listener,
        axum::Router::new()
            .route("/", get(move || async move { Html(page) }))
            .route("/frame", get(move || async move { Html(frame) })),
    );
    base
}

const ANSWERED: &str = "var host = document.querySelector('docent-chat'); if (!host) return null; \
    var done = host.shadowRoot.querySelectorAll('[data-docent=message][data-role=assistant][data-id]'); \
    return done.length ? done[done.length - 1].textContent : null;";

pub(crate) async fn ask_in_widget(browser: &Browser, question: &str) -> String {
    browser
        .until(
            "the history is in",
            "var h = document.querySelector('docent-chat'); \
             var log = h && h.shadowRoot.querySelector('[data-docent=messages]'); \
             return !!log && !log.hasAttribute('aria-busy');",
        )
        .await;
    let before = browser
        .script("var h = document.querySelector('docent-chat'); return h ? h.shadowRoot.querySelectorAll('[data-docent=message][data-role=assistant][data-id]').length : 0;")
        .await
        .as_u64()
        .unwrap_or(0);
    let input = browser.shadow("[data-docent=input]").await;
    browser.type_into(&input, question).await;
    let send = browser.shadow("[data-docent=send]").await;
    browser.click_element(&send).await;
    let script = format!(
        "var h = document.querySelector('docent-chat'); var d = h.shadowRoot.querySelectorAll('[data-docent=message][data-role=assistant][data-id]'); \
         return d.length > {before} ? d[d.length - 1].textContent : null;"
    );
    browser
        .until("an answer", &script)
        .await
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The host page at `page`, with its widget opened from the launcher.
async fn open_widget(browser: &Browser, page: &str) {
    browser.goto(page).await;
    let launcher = browser.shadow("[data-docent=launcher]").await;
    browser.click_element(&launcher).await;
    browser.shadow("[data-docent=panel]:not([hidden])").await;
}

/// What the widget keeps in the browser for a chat space.
async fn stored(browser: &Browser, slug: &str) -> serde_json::Value {
    browser
        .script(&format!("return localStorage.getItem('docent:{slug}');"))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visitors_chat_through_the_widget_on_another_site() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    // The host site's origin is known only once it listens; allow it after.
    let (owner, id, slug) = published(
        &app,
        "owner@example.com",
        json!({"name": "Shop help", "widget_config": {"bot_name": "Ava", "welcome_message": "Hello from Ava!"}}),
    )
    .await;
    let host = allowed_host_site(&app.base, &owner, &id, &slug).await;

    // The launcher paints above the hostile overlay, and opens the chat.
    browser.goto(&format!("{host}/")).await;
    let launcher = browser.shadow("[data-docent=launcher]").await;
    let on_top = browser
        .script(
            "var l = document.querySelector('docent-chat').shadowRoot.querySelector('[data-docent=launcher]'); \
             var r = l.getBoundingClientRect(); \
             return [r.width, r.height, document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === document.querySelector('docent-chat')];",
        )
        .await;
    assert_eq!(
        on_top,
        json!([56, 56, true]),
        "the launcher keeps its size and stays on top"
    );
    browser.click_element(&launcher).await;
    browser.shadow("[data-docent=panel]:not([hidden])").await;
    let welcome = browser
        .until("the welcome", "return document.querySelector('docent-chat').shadowRoot.querySelector('[data-welcome]').textContent;")
        .await;
    assert!(welcome.as_str().expect("text").contains("Hello from Ava!"));
    let title = browser
        .script("return document.querySelector('docent-chat').shadowRoot.querySelector('h2').textContent;")
        .await;
    assert_eq!(title, "Ava");
    browser.screenshot("widget-open").await;
    assert_eq!(
        stored(&browser, &slug).await,
        serde_json::Value::Null,
        "nothing stored before the first question"
    );

    let answer = ask_in_widget(&browser, "How long do refunds take?").await;
    assert!(answer.contains("five days"), "{answer}");
    let chip = browser
        .until("a citation chip", "return document.querySelector('docent-chat').shadowRoot.querySelector('[data-docent=citation]').textContent;")
        .await;
    assert!(chip.as_str().expect("chip").contains("returns"), "{chip}");
    // Thumbs up reaches the server.
    let up = browser.shadow("[data-docent=feedback-up]").await;
    browser.click_element(&up).await;
    browser
        .until("feedback pressed", "return document.querySelector('docent-chat').shadowRoot.querySelector('[data-docent=feedback-up]').getAttribute('aria-pressed') === 'true';")
        .await;
    browser.screenshot("widget-answer").await;

    // Escape closes it and gives focus back to the launcher.
    let input = browser.shadow("[data-docent=input]").await;
    browser.type_into(&input, "\u{E00C}").await;
    browser.shadow("[data-docent=panel][hidden]").await;
    let focused = browser
        .script("return document.querySelector('docent-chat').shadowRoot.activeElement.getAttribute('data-docent');")
        .await;
    assert_eq!(focused, "launcher");

    // After a reload, the conversation is still there.
    browser.goto(&format!("{host}/")).await;
    let launcher = browser.shadow("[data-docent=launcher]").await;
    browser.click_element(&launcher).await;
    let kept = browser.until("the history", ANSWERED).await;
    assert!(kept.as_str().expect("text").contains("five days"));
    let roles = browser
        .script("return Array.from(document.querySelector('docent-chat').shadowRoot.querySelectorAll('[data-docent=message]')).map(function (m) { return m.getAttribute('data-role'); });")
        .await;
    assert_eq!(
        roles,
        json!(["assistant", "user", "assistant"]),
        "welcome, question, answer"
    );
    assert_eq!(browser.script("return window.__xss;").await, json!(0));

    // "Delete my conversations": asked in the chat (this host page replaces `confirm`),
    // erased on the server, forgotten here.
    let forget = browser.shadow("[data-docent=forget-me]").await;
    browser.click_element(&forget).await;
    let cancel = browser.shadow("[data-docent=forget-cancel]").await;
    browser.click_element(&cancel).await;
    browser.click_element(&forget).await;
    let confirm = browser.shadow("[data-docent=forget-confirm]").await;
    browser.click_element(&confirm).await;
    browser
        .until("the deletion said so", "return document.querySelector('docent-chat').shadowRoot.querySelector('[data-docent=forgotten]') ? true : null;")
        .await;
    assert_eq!(
        stored(&browser, &slug).await,
        serde_json::Value::Null,
        "nothing is kept in the browser"
    );
    let (_, left) = owner
        .get(&format!("/api/chat-spaces/{id}/conversations"))
        .await;
    assert_eq!(left["data"], json!([]), "nothing is kept on the server");

    // On a phone the chat takes the whole screen.
    browser.resize(400, 800).await;
    let fits = browser
        .until(
            "full screen below 480 px",
            "var p = document.querySelector('docent-chat').shadowRoot.querySelector('[data-docent=panel]'); \
             var r = p.getBoundingClientRect(); \
             return r.left === 0 && r.top === 0 && r.width === window.innerWidth && r.height === window.innerHeight;",
        )
        .await;
    assert_eq!(fits, json!(true));
    browser.screenshot("widget-phone").await;
    browser.resize(1280, 900).await;

    // A site that is not allowed gets no widget at all.
    let (listener, foreign) = loopback().await;
    let foreign_page = format!(
        "<!doctype html><title>Elsewhere</title><script src=\"{}/widget.js\" data-chat-space=\"{slug}\" async></script>",
        app.base
    );
    serve_in_background(
        listener,
        axum::Router::new().route("/", get(move || async move { Html(foreign_page) })),
    );
    browser.goto(&format!("{foreign}/")).await;
    browser
        .until("the loader ran", "return !!window.Docent;")
        .await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        browser
            .script("return !!document.querySelector('docent-chat');")
            .await,
        json!(false)
    );

    // The iframe embed chats too.
    browser.goto(&format!("{host}/frame")).await;
    let frame = browser.find("#chat").await;
    browser
        .cmd(
            Method::POST,
            "/frame",
            Some(json!({"id": {crate::browser::ELEMENT: frame}})),
        )
        .await;
    browser.shadow("[data-docent=panel]").await;
    let answer = ask_in_widget(&browser, "Which items can be returned?").await;
    assert!(answer.contains("unused"), "{answer}");
    browser
        .cmd(Method::POST, "/frame/parent", Some(json!({})))
        .await;
    browser.screenshot("widget-iframe").await;

    // The share page is the chat, full page.
    browser.goto(&format!("{}/c/{slug}", app.base)).await;
    browser.shadow("[data-docent=panel]").await;
    let answer = ask_in_widget(&browser, "refunds").await;
    assert!(answer.contains("five days"), "{answer}");
    browser.screenshot("widget-share").await;

    // Right to left, from the locale.
    owner
        .patch(
            &format!("/api/chat-spaces/{id}"),
            json!({"widget_config": {"locale": "ar", "welcome_message": "مرحبا"}}),
        )
        .await;
    browser.goto(&format!("{}/c/{slug}", app.base)).await;
    let direction = browser
        .until(
            "right to left",
            "var h = document.querySelector('docent-chat'); if (!h) return null; \
             var p = h.shadowRoot.querySelector('[data-docent=panel]'); \
             return p && getComputedStyle(p).direction === 'rtl' ? 'rtl' : null;",
        )
        .await;
    assert_eq!(direction, "rtl");
    browser.screenshot("widget-rtl").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn script_payloads_never_run_in_the_widget_or_the_dashboard() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let payloads = payloads();
    let bot_name: String = payloads[1].chars().take(60).collect();
    let welcome: String = payloads
        .iter()
        .take(12)
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    let welcome: String = welcome.chars().take(1000).collect();
    let (owner, id, slug) = published(
        &app,
        "owner@example.com",
        json!({"name": payloads[0].clone(), "widget_config": {"bot_name": bot_name, "welcome_message": welcome}}),
    )
    .await;
    // A document made of payloads, titled with one, holding the answer's words.
    let document: String = payloads
        .iter()
        .map(|p| format!("Refunds policy note: {p}"))
        .collect::<Vec<_>>()
        .join("\n");
    let (status, body) = owner
        .upload(
            &format!("/api/chat-spaces/{id}/documents/upload"),
            &[("payloads.txt", document.as_bytes())],
            Some("true"),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    drain_jobs(&app).await;
    let document_id = body[0]["id"].as_str().expect("document id");
    let (status, body) = owner
        .patch(
            &format!("/api/documents/{document_id}"),
            json!({"title": payloads[2].clone()}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let host = host_site(&app.base, &slug).await;

    browser.goto(&format!("{host}/")).await;
    let launcher = browser.shadow("[data-docent=launcher]").await;
    browser.click_element(&launcher).await;
    // Visitor messages full of payloads, and answers quoting the payload document.
    for batch in payloads.chunks(40).take(4) {
        let message: String = batch.join("\n").chars().take(3900).collect();
        let input = browser.shadow("[data-docent=input]").await;
        browser
            .script("document.querySelector('docent-chat').shadowRoot.querySelector('[data-docent=input]').value = '';")
            .await;
        browser
            .cmd(
                Method::POST,
                &format!("/element/{input}/value"),
                Some(json!({"text": message.replace('\n', " ")})),
            )
            .await;
        let send = browser.shadow("[data-docent=send]").await;
        browser.click_element(&send).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        browser
            .until("the answer", "var d = document.querySelector('docent-chat').shadowRoot; return !d.querySelector('[data-docent=typing]') && !d.querySelector('[data-docent=send]').disabled;")
            .await;
    }
    let refunds = ask_in_widget(&browser, "refunds policy note").await;
    assert!(refunds.contains("Refunds policy note"), "{refunds}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!browser.alert_open().await, "a dialog opened in the widget");
    assert_eq!(
        browser.script("return window.__xss;").await,
        json!(0),
        "a payload ran in the host page"
    );
    let injected = browser
        .script("var r = document.querySelector('docent-chat').shadowRoot; return r.querySelectorAll('script, img, svg:not([aria-hidden]), iframe, details, a[href^=javascript]').length;")
        .await;
    assert_eq!(injected, json!(0), "payloads became elements");
    browser.screenshot("widget-xss").await;

    // The same names and titles in the dashboard's pages.
    let login = format!("{}/login", app.base);
    browser.goto(&login).await;
    browser.fill("#email", "owner@example.com").await;
    browser.fill("#password", "correct horse battery").await;
    browser.click("button[type=submit]").await;
    browser.wait_url(|u| u.contains("/app")).await;
    for page in [
        "/app".to_owned(),
        format!("/app/chat-spaces/{id}"),
        format!("/app/chat-spaces/{id}/knowledge"),
        format!("/app/chat-spaces/{id}/playground"),
        format!("/app/chat-spaces/{id}/appearance"),
        format!("/app/chat-spaces/{id}/install"),
    ] {
        browser.goto(&format!("{}{page}", app.base)).await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(!browser.alert_open().await, "a dialog opened on {page}");
        browser
            .screenshot(&format!(
                "dashboard-{}",
                page.rsplit('/')
                    .next()
                    .filter(|p| p.len() < 20)
                    .unwrap_or("settings")
            ))
            .await;
        let ran = browser
            .script("return document.querySelectorAll('img[onerror], svg[onload], details[ontoggle], iframe[srcdoc]').length;")
            .await;
        assert_eq!(ran, json!(0), "payload elements on {page}");
    }
    // The Appearance preview runs the real widget with the payload-laden look.
    browser
        .goto(&format!("{}/app/chat-spaces/{id}/appearance", app.base))
        .await;
    let title = browser
        .until("the preview", "var h = document.querySelector('docent-chat'); return h && h.shadowRoot.querySelector('h2') ? h.shadowRoot.querySelector('h2').textContent : null;")
        .await;
    assert_eq!(
        title.as_str(),
        Some(payloads[1].chars().take(60).collect::<String>().as_str())
    );
    browser
        .fill("[name='widget_config.bot_name']", "Renamed live")
        .await;
    browser
        .until("the preview follows the form", "return document.querySelector('docent-chat').shadowRoot.querySelector('h2').textContent === 'Renamed live';")
        .await;
    assert!(!browser.alert_open().await);
    browser.screenshot("dashboard-appearance").await;
}

/// On a phone: the bot cannot answer, the lead form appears; the browser requires what the
/// form requires, the server's refusal of an address is shown in the form, and once the
/// details are in, the lead is on the Leads list with its conversation, and this browser is
/// not asked again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_leaves_their_details_when_the_bot_cannot_answer() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let (owner, id, slug) = published(
        &app,
        "owner@example.com",
        json!({"widget_config": {"lead_form": {
            "enabled": true,
            "ask": ["no_answer"],
            "title": "Leave your details and we'll write back.",
            "consent": "You may contact me about my question.",
            "fields": [
                {"key": "name", "label": "Name", "kind": "text", "required": true},
                {"key": "email", "label": "Email", "kind": "email", "required": true},
                {"key": "phone", "label": "Phone", "kind": "phone"}
            ]
        }}}),
    )
    .await;
    let host = allowed_host_site(&app.base, &owner, &id, &slug).await;
    browser.resize(390, 844).await;
    open_widget(&browser, &format!("{host}/")).await;
    let answered = ask_in_widget(&browser, "What is the airspeed of an unladen swallow?").await;
    assert!(!answered.contains("five days"), "{answered}");
    browser.shadow("[data-docent=lead-form]").await;
    let field = |name: &str| format!("[data-docent=lead-form] input[name={name}]");

    // Required fields empty: the browser does not send it.
    let send = browser.shadow("[data-docent=lead-form] button").await;
    browser.click_element(&send).await;
    let invalid = browser
        .script("return document.querySelector('docent-chat').shadowRoot.querySelectorAll('[data-docent=lead-form] :invalid').length;")
        .await;
    assert!(invalid.as_u64().unwrap_or(0) >= 3, "{invalid}");

    // An address the browser takes but the server does not: its message shows in the form.
    let name = browser.shadow(&field("name")).await;
    browser.type_into(&name, "Ana Lima").await;
    let email = browser.shadow(&field("email")).await;
    browser.type_into(&email, "ana@nowhere").await;
    let consent = browser
        .shadow("[data-docent=lead-form] input[type=checkbox]")
        .await;
    browser.click_element(&consent).await;
    browser.click_element(&send).await;
    let said = browser
        .until("the server's refusal", "var e = document.querySelector('docent-chat').shadowRoot.querySelector('[data-docent=lead-form] [role=alert]'); return e && e.textContent ? e.textContent : null;")
        .await;
    assert!(said.as_str().is_some_and(|s| s.contains("email")), "{said}");
    browser.type_into(&email, ".example.com").await;
    let phone = browser.shadow(&field("phone")).await;
    browser.type_into(&phone, "+1 555 010 0199").await;
    browser.screenshot("widget-lead-phone").await;
    browser.click_element(&send).await;
    browser.shadow("[data-docent=lead-thanks]").await;
    let overflow = browser
        .script("return document.documentElement.scrollWidth > window.innerWidth;")
        .await;
    assert_eq!(overflow, json!(false), "no sideways scroll on a phone");

    let (_, leads) = owner.get(&format!("/api/chat-spaces/{id}/leads")).await;
    let lead = &leads["data"][0];
    assert_eq!(
        (
            lead["name"].as_str(),
            lead["email"].as_str(),
            lead["phone"].as_str()
        ),
        (
            Some("Ana Lima"),
            Some("ana@nowhere.example.com"),
            Some("+1 555 010 0199")
        ),
        "{leads}"
    );
    assert!(lead["conversation_id"].is_string(), "{lead}");
    assert_eq!(lead["consent"], true);

    // Not asked again in this browser.
    open_widget(&browser, &format!("{host}/")).await;
    ask_in_widget(&browser, "And the airspeed of a laden one?").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let again = browser
        .script("return !!document.querySelector('docent-chat').shadowRoot.querySelector('[data-docent=lead-form]');")
        .await;
    assert_eq!(again, json!(false));
}

/// An n8n Chat Trigger workflow answers through the real widget: plain, then streamed; turned
/// off, the visitor reads the fallback reply and Settings shows the webhook failing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_n8n_workflow_answers_in_the_widget() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.fetch_allowed_hosts = vec!["127.0.0.1".into()];
    })
    .await
    .expect("app");
    let (n8n, stand_in) = crate::answer_webhook::n8n_stand_in().await;
    let (owner, id, slug) = published(&app, "owner@example.com", json!({})).await;
    let host = allowed_host_site(&app.base, &owner, &id, &slug).await;
    let point = |mode: &str| {
        json!({"answer_mode": "webhook", "webhook_url": format!("{n8n}/webhook/{mode}/chat"),
               "ai_config": {"fallback_reply": "The workflow is resting."}})
    };
    let (status, body) = owner
        .patch(&format!("/api/chat-spaces/{id}"), point("plain"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    open_widget(&browser, &format!("{host}/")).await;
    let plain = ask_in_widget(&browser, "Where is my parcel?").await;
    assert!(
        plain.contains("Plain answer to: Where is my parcel?"),
        "{plain}"
    );

    let (status, body) = owner
        .patch(&format!("/api/chat-spaces/{id}"), point("stream"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let streamed = ask_in_widget(&browser, "And the invoice?").await;
    assert!(
        streamed.contains("Streamed answer to: And the invoice?"),
        "{streamed}"
    );

    stand_in
        .off
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let fallback = ask_in_widget(&browser, "Still there?").await;
    assert!(fallback.contains("The workflow is resting."), "{fallback}");
    browser.screenshot("widget-n8n").await;

    browser.log_in(&app.base, "owner@example.com").await;
    browser
        .goto(&format!("{}/app/chat-spaces/{id}#answer-webhook", app.base))
        .await;
    let state = browser
        .until("the webhook's health", "var h = document.querySelector('[data-docent=webhook-health]'); return h ? h.getAttribute('data-state') : null;")
        .await;
    assert_eq!(state, json!("failing"));
    let errors = browser
        .script("return document.querySelector('[data-docent=webhook-errors]').textContent;")
        .await;
    assert!(
        errors.as_str().is_some_and(|e| e.contains("404")),
        "{errors}"
    );
    browser.screenshot("dashboard-answer-webhook").await;
}

/// A visitor the site signed in: the script tag carries their signed identity; on another
/// device (here: the same browser with its storage cleared, identified by
/// `Docent.identify`), the widget opens their conversation again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_in_visitor_finds_their_conversation_on_another_device() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let (owner, id, slug) = published(&app, "owner@example.com", json!({})).await;
    let (status, made) = owner
        .call(
            Method::POST,
            &format!("/api/chat-spaces/{id}/identity/rotate-secret"),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{made}");
    let secret = made["secret"].as_str().expect("secret");
    let expires = chrono::Utc::now().timestamp() + 3600;
    let token = docent_app::identity::sign(secret, "customer-77", expires);
    let docent = app.base.clone();
    let tagged = format!(
        "<!doctype html><html><head><meta charset=utf-8><title>Shop</title></head><body><p>Signed in as customer 77.</p>\
         <script src=\"{docent}/widget.js\" data-chat-space=\"{slug}\" data-visitor-id=\"customer-77\" \
         data-visitor-expires=\"{expires}\" data-visitor-token=\"{token}\" async></script></body></html>"
    );
    let called = format!(
        "<!doctype html><html><head><meta charset=utf-8><title>Shop</title></head><body><p>Signed in, on a phone.</p>\
         <script src=\"{docent}/widget.js\" data-chat-space=\"{slug}\" \
         onload=\"Docent.identify({{visitor_id: 'customer-77', expires: {expires}, token: '{token}'}})\"></script></body></html>"
    );
    let (listener, host) = loopback().await;
    serve_in_background(
        listener,
        axum::Router::new()
            .route("/tagged", get(move || async move { Html(tagged) }))
            .route("/called", get(move || async move { Html(called) })),
    );
    let (status, body) = owner
        .patch(
            &format!("/api/chat-spaces/{id}"),
            json!({"allowed_origins": [host], "widget_config": {"identity_required": true}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    open_widget(&browser, &format!("{host}/tagged")).await;
    let answer = ask_in_widget(&browser, "How long do refunds take?").await;
    assert!(answer.contains("five days"), "{answer}");
    let (_, list) = owner
        .get(&format!("/api/chat-spaces/{id}/conversations"))
        .await;
    assert_eq!(list["data"][0]["visitor_id"], "v:customer-77", "{list}");

    // Another device: nothing stored, identified from the page's script.
    browser.script("localStorage.clear(); return true;").await;
    open_widget(&browser, &format!("{host}/called")).await;
    let again = browser.until("the earlier conversation", ANSWERED).await;
    assert!(
        again.as_str().is_some_and(|a| a.contains("five days")),
        "{again}"
    );
    browser.screenshot("widget-signed-in").await;
}
