//! Handover in two real browsers: a visitor in the widget on a foreign-origin host page and
//! an agent in the dashboard's inbox. The visitor asks for a person and the inbox shows it
//! without a reload; the agent claims and replies and the visitor sees it, never the
//! internal note; the bot keeps silent meanwhile; closing brings it back.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::browser::Browser;
use crate::common::{Backend, TestApp};
use crate::handover::with_handover;
use crate::widget_browser::{allowed_host_site, ask_in_widget};

const IN_WIDGET: &str = "var h = document.querySelector('docent-chat'); var r = h && h.shadowRoot;";

/// Waits (polling the page every 25 ms, up to `within`) until `script` returns truthy; when.
async fn seen(browser: &Browser, what: &str, script: &str, within: Duration) -> Instant {
    let deadline = Instant::now() + within;
    loop {
        let v = browser.script(script).await;
        if !(v.is_null() || v == json!(false) || v.get("error").is_some()) {
            return Instant::now();
        }
        assert!(
            Instant::now() < deadline,
            "never within {within:?}: {what} (last {v})"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_and_an_agent_talk_live() {
    let Some(visitor) = Browser::start().await else {
        return;
    };
    let Some(agent) = Browser::start().await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let (owner, id, slug) = with_handover(&app, "owner@example.com", json!({})).await;
    let host = allowed_host_site(&app.base, &owner, &id, &slug).await;

    // The agent (the owner) opens the inbox: nothing waits yet.
    agent.log_in(&app.base, "owner@example.com").await;
    agent.goto(&format!("{}/app/inbox", app.base)).await;
    agent.wait_text("h1", "Inbox").await;

    // The visitor chats with the bot, then asks for a person.
    visitor.goto(&format!("{host}/")).await;
    let launcher = visitor.shadow("[data-docent=launcher]").await;
    visitor.click_element(&launcher).await;
    visitor.shadow("[data-docent=panel]:not([hidden])").await;
    let answer = ask_in_widget(&visitor, "Can I return shoes?").await;
    assert!(!answer.is_empty());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ask = visitor.shadow("[data-docent=talk-to-person]").await;
    let asked = Instant::now();
    visitor.click_element(&ask).await;
    seen(
        &visitor,
        "the widget says a person is awaited",
        &format!("{IN_WIDGET} var s = r.querySelector('[data-docent=handover-status]'); return s && s.getAttribute('data-status') === 'waiting_for_human';"),
        Duration::from_secs(5),
    )
    .await;
    let shown = seen(
        &agent,
        "the handover in the inbox",
        "return document.querySelector('[data-docent=inbox-item][data-status=waiting_for_human]');",
        Duration::from_secs(5),
    )
    .await;
    let lag = shown.saturating_duration_since(asked);
    eprintln!(
        "the inbox showed the handover {} ms after the visitor asked",
        lag.as_millis()
    );
    assert!(lag < Duration::from_secs(1), "{lag:?}");
    seen(
        &agent,
        "the waiting count in the title",
        "return document.title.indexOf('(1) ') === 0;",
        Duration::from_secs(2),
    )
    .await;

    // The agent opens it, claims it, writes a note and a reply.
    agent.click("[data-docent=inbox-item]").await;
    agent
        .wait_text("[data-docent=thread-status]", "Waiting")
        .await;
    agent.click("[data-docent=claim]").await;
    agent
        .wait_text("[data-docent=thread-status]", "With a person")
        .await;
    seen(
        &visitor,
        "the widget names the agent",
        &format!("{IN_WIDGET} var s = r.querySelector('[data-docent=handover-status]'); return s && s.getAttribute('data-status') === 'human';"),
        Duration::from_secs(2),
    )
    .await;
    agent.click("[data-docent=reply-internal]").await;
    agent
        .fill(
            "[data-docent=reply-text]",
            "SECRET NOTE: a regular customer",
        )
        .await;
    agent.click("[data-docent=reply-send]").await;
    agent.wait_text("[data-docent=thread]", "SECRET NOTE").await;
    agent.click("[data-docent=reply-internal]").await;
    agent
        .fill(
            "[data-docent=reply-text]",
            "Hello, I'm **Olga**. Which shoes?",
        )
        .await;
    let sent = Instant::now();
    agent.click("[data-docent=reply-send]").await;
    let got = seen(
        &visitor,
        "the agent's reply in the widget",
        &format!("{IN_WIDGET} var m = r.querySelector('[data-docent=message][data-role=agent]'); return m && m.textContent.indexOf('Olga') >= 0;"),
        Duration::from_secs(5),
    )
    .await;
    let lag = got.saturating_duration_since(sent);
    eprintln!(
        "the visitor saw the reply {} ms after the agent sent it",
        lag.as_millis()
    );
    assert!(lag < Duration::from_secs(1), "{lag:?}");
    let bold = visitor
        .script(&format!("{IN_WIDGET} return r.querySelector('[data-docent=message][data-role=agent] strong').textContent;"))
        .await;
    assert_eq!(bold, json!("Olga"), "Markdown rendered");

    // The visitor writes meanwhile: the agent sees it, and no bot answer comes.
    let before = visitor
        .script(&format!(
            "{IN_WIDGET} return r.querySelectorAll('[data-role=assistant][data-id]').length;"
        ))
        .await;
    let input = visitor.shadow("[data-docent=input]").await;
    visitor.type_into(&input, "The red ones, size 40").await;
    let send = visitor.shadow("[data-docent=send]").await;
    visitor.click_element(&send).await;
    agent
        .wait_text("[data-docent=thread]", "The red ones")
        .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let after = visitor
        .script(&format!(
            "{IN_WIDGET} return r.querySelectorAll('[data-role=assistant][data-id]').length;"
        ))
        .await;
    assert_eq!(
        before, after,
        "the bot stays silent while a person has the conversation"
    );
    let page = visitor
        .script(&format!("{IN_WIDGET} return r.textContent;"))
        .await;
    assert!(
        !page.as_str().unwrap_or_default().contains("SECRET NOTE"),
        "{page}"
    );

    // Closed, the next message is the bot's again.
    agent.click("[data-docent=close-conversation]").await;
    agent
        .wait_text("[data-docent=thread-status]", "Closed")
        .await;
    seen(
        &visitor,
        "the widget says it was closed",
        &format!("{IN_WIDGET} var s = r.querySelector('[data-docent=handover-status]'); return s && s.getAttribute('data-status') === 'closed';"),
        Duration::from_secs(2),
    )
    .await;
    let again = ask_in_widget(&visitor, "How long do refunds take?").await;
    assert!(!again.is_empty());
    for (who, b) in [("visitor", &visitor), ("agent", &agent)] {
        let problems = b.console_problems().await;
        assert!(problems.is_empty(), "{who}: {problems:?}");
    }
}
