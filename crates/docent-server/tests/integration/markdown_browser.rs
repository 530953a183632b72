//! Markdown as real models write it, in a real Chromium: an answer full of bold, italics,
//! lists, a table, code and a link streams into the widget on a host page and into the
//! Playground, and is shown formatted; then a few thousand generated Markdown strings
//! (nested and unbalanced emphasis, code spans, links, lists, tables, very long lines) go
//! through the renderer each of them serves, and every one finishes within 50 ms with no
//! more nodes or text than it was given. The widget's page must log no warning or error.

use axum::Json;
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::common::{Backend, TestApp, completion_stream, loopback, serve_in_background};
use crate::widget::published;
use crate::widget_browser::{ask_in_widget, host_site};

/// An answer as a chat model writes one.
const ANSWER: &str = "**Returns** are accepted within *thirty days* of delivery [1]. The item \
must be _unused_ and in its `original box`.\n\n### What to do\n1. Write to **support** with your \
order number.\n2. Send the item back; see [our policy](https://shop.example/returns).\n\n\
| Step | Time |\n|---|---|\n| Refund | **5 days** |\n\n> Refunds reach your card in five days.";

/// An OpenAI-compatible provider that streams [`ANSWER`] in pieces of seven characters, so
/// marks arrive split (`*` now, `*` later) and the renderer sees every unbalanced state.
async fn writer() -> String {
    async fn completions(Json(_): Json<Value>) -> Response {
        completion_stream(
            ANSWER,
            7,
            Some(json!({"prompt_tokens": 50, "completion_tokens": 60})),
        )
    }
    let (listener, base) = loopback().await;
    serve_in_background(
        listener,
        axum::Router::new().route("/v1/chat/completions", post(completions)),
    );
    format!("{base}/v1")
}

/// An app whose model is [`writer`], with a published chat space (id and slug) of
/// `owner@example.com`.
async fn writing_app() -> (TestApp, String, String) {
    let model = writer().await;
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.llm_base_url = Some(model))
        .await
        .expect("app");
    let (_owner, id, slug) = published(
        &app,
        "owner@example.com",
        json!({"ai_config": {"model": "writer"}}),
    )
    .await;
    (app, id, slug)
}

/// Markdown strings from a fixed seed: runs of marks and words, nested and unbalanced
/// emphasis, code spans, links good and bad, list items, quotes, tables, and every 40th a
/// very long line of one repeated piece.
fn generated_markdown(count: usize) -> Vec<String> {
    const PIECES: &[&str] = &[
        "**",
        "*",
        "_",
        "__",
        "`",
        "```\n",
        "[",
        "]",
        "(",
        ")",
        "](https://example.com/a)",
        "](javascript:alert(1))",
        "](mailto:a@b.example)",
        "\n",
        "\n\n",
        "- ",
        "1. ",
        "> ",
        "# ",
        "| a | b |\n|---|:-:|\n",
        "|",
        " ",
        "\t",
        "word",
        "snake_case",
        "**bold**",
        "*it*",
        "_em_",
        "`code`",
        "<b>x</b>",
        "&amp;",
        "***",
        "---",
        "\\*",
        "• ",
        "é",
    ];
    const LONG: &[&str] = &[
        "[",
        "**a",
        "*a",
        "_a",
        "`",
        "](http://x",
        "[a](",
        "| ",
        " ",
        "a_",
        "#",
        "-",
        "*",
    ];
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = move |below: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % below as u64) as usize
    };
    (0..count)
        .map(|i| {
            if i % 40 == 39 {
                let piece = LONG[next(LONG.len())];
                let mut s = piece.repeat(8_000 / piece.len());
                s.push_str(PIECES[next(PIECES.len())]);
                return s;
            }
            let pieces = 1 + next(if i % 10 == 0 { 400 } else { 60 });
            (0..pieces).map(|_| PIECES[next(PIECES.len())]).collect()
        })
        .collect()
}

/// Renders every string with `renderer` (a global function of the page) in batches; panics
/// naming the first that took 50 ms or more (the best of three tries, so one garbage
/// collection does not count), made more nodes or text than it was given, or made a link
/// to anything but http(s) or mail.
async fn render_all(browser: &Browser, renderer: &str, inputs: &[String]) {
    let script = format!(
        "var render = {renderer}; var inputs = arguments[0]; var out = [];\
         for (var i = 0; i < inputs.length; i++) {{\
           var best = Infinity, root;\
           for (var t = 0; t < 3 && best >= 50; t++) {{\
             root = document.createElement('div');\
             var start = performance.now(); render(inputs[i], root);\
             best = Math.min(best, performance.now() - start);\
           }}\
           var links = Array.prototype.filter.call(root.querySelectorAll('a'), function (a) {{\
             return !/^(https?:|mailto:)/.test(a.getAttribute('href')); }}).length;\
           out.push([best, root.textContent.length, root.getElementsByTagName('*').length, links]);\
         }}\
         return out;"
    );
    let mut formatted = 0;
    for batch in inputs.chunks(200) {
        let results = browser.script_with(&script, vec![json!(batch)]).await;
        let results = results
            .as_array()
            .unwrap_or_else(|| panic!("{renderer} failed: {results}"));
        assert_eq!(results.len(), batch.len());
        for (input, result) in batch.iter().zip(results) {
            let ms = result[0].as_f64().expect("time");
            let text = result[1].as_u64().expect("text") as usize;
            let nodes = result[2].as_u64().expect("nodes") as usize;
            let preview: String = input.chars().take(80).collect();
            let chars = input.encode_utf16().count();
            assert!(
                ms < 50.0,
                "{renderer} took {ms:.1} ms on {preview:?} ({chars} chars)"
            );
            assert!(
                text <= chars,
                "{renderer} made {text} characters of text from {chars}: {preview:?}"
            );
            assert!(
                nodes <= chars + 1,
                "{renderer} made {nodes} elements from {chars} characters: {preview:?}"
            );
            assert_eq!(
                result[3],
                json!(0),
                "{renderer} linked to a script: {preview:?}"
            );
            formatted += usize::from(nodes > 1);
        }
    }
    assert!(
        formatted > inputs.len() / 2,
        "only {formatted} strings were formatted at all"
    );
}

/// What the last answer shows: how many of each formatting element it holds.
const FORMATTED: &str = "var b = arguments[0]; if (!b) return null; \
    var n = function (css) { return b.querySelectorAll(css).length; }; \
    return {strong: n('strong'), em: n('em'), li: n('ol > li'), td: n('table td strong'), code: n('code'), \
            quote: n('blockquote'), link: n('a[href=\"https://shop.example/returns\"]'), text: b.textContent};";

fn assert_formatted(shown: &Value) {
    assert!(shown["strong"].as_u64() >= Some(4), "{shown}");
    assert!(shown["em"].as_u64() >= Some(2), "{shown}");
    assert_eq!(shown["li"], json!(2), "{shown}");
    assert_eq!(shown["td"], json!(1), "{shown}");
    assert_eq!(shown["code"], json!(1), "{shown}");
    assert_eq!(shown["quote"], json!(1), "{shown}");
    assert_eq!(shown["link"], json!(1), "{shown}");
    let text = shown["text"].as_str().unwrap_or_default();
    assert!(
        !text.contains("**") && !text.contains('|'),
        "marks left in {text:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_widget_renders_markdown_emphasis_without_hanging() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (app, _id, slug) = writing_app().await;
    let host = host_site(&app.base, &slug).await;
    browser.goto(&format!("{host}/")).await;
    let launcher = browser.shadow("[data-docent=launcher]").await;
    // Idle time for the loader's prefetch, which is where it used to log an error.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    browser.click_element(&launcher).await;
    let answer = ask_in_widget(&browser, "How do returns work?").await;
    assert!(answer.contains("thirty days"), "{answer}");
    let bubble = browser
        .script(
            "var d = document.querySelector('docent-chat').shadowRoot\
             .querySelectorAll('[data-docent=message][data-role=assistant][data-id] .bu'); return d[d.length - 1];",
        )
        .await;
    let shown = browser.script_with(FORMATTED, vec![bubble]).await;
    assert_formatted(&shown);
    browser.screenshot("widget-markdown").await;

    render_all(&browser, "window.Docent._md", &generated_markdown(3_000)).await;
    assert_eq!(
        browser.console_problems().await,
        Vec::<String>::new(),
        "the widget's host page logged warnings or errors"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_playground_renders_markdown_emphasis_without_hanging() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let (app, id, _slug) = writing_app().await;
    browser.goto(&format!("{}/login", app.base)).await;
    browser.fill("#email", "owner@example.com").await;
    browser.fill("#password", "correct horse battery").await;
    browser.click("button[type=submit]").await;
    browser.wait_url(|u| u.contains("/app")).await;
    let playground = format!("{}/app/chat-spaces/{id}/playground", app.base);
    browser.goto(&playground).await;
    browser.fill("#message", "How do returns work?").await;
    browser.click("[data-docent=ask]").await;
    let last = "var d = document.querySelectorAll('.msg-assistant .bubble'); var b = d[d.length - 1]; \
                return b && b.parentNode.querySelector('.citations, .muted.small') ? b : null;";
    let bubble = browser.until("the streamed answer", last).await;
    let shown = browser.script_with(FORMATTED, vec![bubble]).await;
    assert_formatted(&shown);

    // The same answer from the server-rendered history.
    let conversation = browser
        .script("return document.querySelector('[data-conversation]').value;")
        .await;
    let conversation = conversation.as_str().expect("conversation id");
    browser
        .goto(&format!("{playground}?conversation={conversation}"))
        .await;
    let bubble = browser.until("the history", last).await;
    let shown = browser.script_with(FORMATTED, vec![bubble]).await;
    assert_formatted(&shown);
    browser.screenshot("playground-markdown").await;

    render_all(
        &browser,
        "window.docentMarkdown",
        &generated_markdown(3_000),
    )
    .await;
    assert_eq!(
        browser.console_problems().await,
        Vec::<String>::new(),
        "the Playground logged warnings or errors"
    );
}
