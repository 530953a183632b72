//! Knowledge: uploads become documents, the worker turns them into searchable chunks.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{Backend, TestApp, code, drain_jobs, pdfium_available, tiny_pdf};
use crate::on_both_backends;

on_both_backends!(
    uploads_become_searchable_chunks,
    documents_are_changed_reprocessed_and_deleted,
    parallel_uploads_cannot_pass_the_plan_limit,
    pasted_text_and_questions_with_answers_are_knowledge
);

/// The free plan allows 20 documents per chat space; 40 uploads at once make 20.
async fn parallel_uploads_cannot_pass_the_plan_limit(app: TestApp) {
    let (ana, id) = space(&app).await;
    let path = format!("/api/chat-spaces/{id}/documents/upload");
    let names: Vec<String> = (0..40).map(|n| format!("race-{n}.txt")).collect();
    let results = futures_util::future::join_all(names.iter().map(|name| {
        let (ana, path) = (&ana, &path);
        async move {
            ana.upload(
                path,
                &[(name.as_str(), b"Refunds take five days.".as_slice())],
                None,
            )
            .await
        }
    }))
    .await;
    let created = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    let refused: Vec<&Value> = results
        .iter()
        .filter(|(s, _)| *s != StatusCode::CREATED)
        .map(|(_, body)| body)
        .collect();
    assert_eq!(created, 20, "{refused:?}");
    assert!(
        refused.iter().all(|b| code(b) == "plan_limit_reached"),
        "{refused:?}"
    );
    let (_, list) = ana
        .get(&format!("/api/chat-spaces/{id}/documents?limit=100"))
        .await;
    assert_eq!(list["data"].as_array().map(Vec::len), Some(20));
}

async fn space(app: &TestApp) -> (crate::common::Session, String) {
    let ana = app.signup("ana@example.com").await;
    let (_, space) = ana.post("/api/chat-spaces", json!({"name": "Help"})).await;
    (ana, space["id"].as_str().expect("id").to_owned())
}

const MARKDOWN: &[u8] = b"# Returns\n\nRefunds are paid within five days of receiving the parcel.\n\n## Shipping\n\nShipping is free above fifty euros.\n";
const HTML: &[u8] = b"<!doctype html><html><head><title>Warranty</title></head><body><nav>Home | Shop | Cart</nav><article><h1>Warranty</h1><p>Every kettle carries a two-year warranty covering defects in materials and workmanship. Keep your receipt, because the warranty starts on the day of purchase and we will ask for it.</p><p>The warranty does not cover limescale damage, so descale the kettle every month in hard-water areas and follow the cleaning guide in the box.</p></article><footer>Copyright Acme</footer></body></html>";

async fn uploads_become_searchable_chunks(app: TestApp) {
    let (ana, id) = space(&app).await;
    let (status, docs) = ana
        .upload(
            &format!("/api/chat-spaces/{id}/documents/upload"),
            &[
                ("returns.md", MARKDOWN),
                ("warranty.html", HTML),
                ("notes.txt", b"Opening hours: nine to five."),
            ],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{docs}");
    let docs = docs.as_array().expect("docs").clone();
    assert_eq!(docs.len(), 3);
    assert!(
        docs.iter()
            .all(|d| d["status"] == "pending" && d["citable"] == true)
    );
    assert_eq!(docs[0]["type"], "markdown");
    assert_eq!(docs[1]["type"], "html");

    assert_eq!(drain_jobs(&app).await, 3);
    let (_, list) = ana.get(&format!("/api/chat-spaces/{id}/documents")).await;
    for doc in list["data"].as_array().expect("list") {
        assert_eq!(
            (doc["status"].as_str(), doc["progress"].as_i64()),
            (Some("completed"), Some(100)),
            "{doc}"
        );
        assert!(doc["chunk_count"].as_i64().expect("chunks") >= 1);
        assert!(doc["word_count"].as_i64().expect("words") > 3);
    }

    let (status, hits) = ana
        .get(&format!("/api/chat-spaces/{id}/search?q=refund%20policy"))
        .await;
    assert_eq!(status, StatusCode::OK, "{hits}");
    assert_eq!(hits[0]["file_name"], "returns.md");
    assert!(
        hits[0]["content"]
            .as_str()
            .expect("content")
            .contains("Refunds are paid")
    );
    assert_eq!(hits[0]["metadata"]["heading_path"], json!(["Returns"]));
    let (_, hits) = ana
        .get(&format!(
            "/api/chat-spaces/{id}/search?q=warranty%20limescale"
        ))
        .await;
    let text = hits[0]["content"].as_str().expect("content");
    assert!(
        text.contains("two-year warranty") && !text.contains("Home | Shop"),
        "main content only: {text}"
    );
    let (status, answer) = ana
        .get(&format!("/api/chat-spaces/{id}/search?q=%22%22%20***"))
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );

    let md_id = docs[0]["id"].as_str().expect("id");
    let (status, chunks) = ana.get(&format!("/api/documents/{md_id}/chunks")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(chunks["data"][0]["chunk_index"], 0);
    assert!(chunks["data"][0]["token_count"].as_i64().expect("tokens") > 5);

    // PDFium when installed (CI requires it), else the pure-Rust fallback: both read this.
    pdfium_available();
    {
        let pdf = tiny_pdf(&[
            "Opening hours are nine to five on weekdays.",
            "The store is closed on public holidays.",
        ]);
        let (status, docs) = ana
            .upload(
                &format!("/api/chat-spaces/{id}/documents/upload"),
                &[("hours.pdf", &pdf)],
                Some("false"),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{docs}");
        assert_eq!(
            (docs[0]["type"].as_str(), docs[0]["citable"].as_bool()),
            (Some("pdf"), Some(false))
        );
        drain_jobs(&app).await;
        let (_, doc) = ana
            .get(&format!(
                "/api/documents/{}",
                docs[0]["id"].as_str().expect("id")
            ))
            .await;
        assert_eq!(
            (doc["status"].as_str(), doc["page_count"].as_i64()),
            (Some("completed"), Some(2)),
            "{doc}"
        );
        let (_, hits) = ana
            .get(&format!("/api/chat-spaces/{id}/search?q=holidays"))
            .await;
        assert_eq!(hits[0]["metadata"]["page"], 2, "{hits}");
        assert_eq!(hits[0]["citable"], false);
    }
}

async fn documents_are_changed_reprocessed_and_deleted(app: TestApp) {
    let (ana, id) = space(&app).await;
    let (_, docs) = ana
        .upload(
            &format!("/api/chat-spaces/{id}/documents/upload"),
            &[("returns.md", MARKDOWN)],
            Some("true"),
        )
        .await;
    let doc_id = docs[0]["id"].as_str().expect("id").to_owned();
    drain_jobs(&app).await;
    let (status, doc) = ana
        .patch(
            &format!("/api/documents/{doc_id}"),
            json!({"citable": false, "title": "Returns policy"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    assert_eq!(
        (doc["citable"].as_bool(), doc["title"].as_str()),
        (Some(false), Some("Returns policy"))
    );
    let (status, answer) = ana
        .patch(&format!("/api/documents/{doc_id}"), json!({"title": ""}))
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    // Renamed from its page in the dashboard, and labelled as a reader says it.
    let (status, _) = ana
        .form(
            &format!("/app/documents/{doc_id}/title"),
            &[("title", "Returns and refunds")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, doc) = ana.get(&format!("/api/documents/{doc_id}")).await;
    assert_eq!(doc["title"], "Returns and refunds");
    let (status, _) = ana
        .form(&format!("/app/documents/{doc_id}/title"), &[("title", " ")])
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, page) = ana.page(&format!("/app/documents/{doc_id}")).await;
    assert!(
        page.contains("value=\"Returns and refunds\"") && page.contains(">Markdown</span>"),
        "{page}"
    );

    let (status, again) = ana
        .call(Method::POST, &format!("/api/documents/{doc_id}/reprocess"))
        .await;
    assert_eq!(
        (status, again["status"].as_str()),
        (StatusCode::ACCEPTED, Some("pending"))
    );
    assert_eq!(drain_jobs(&app).await, 1);
    let (_, doc) = ana.get(&format!("/api/documents/{doc_id}")).await;
    assert_eq!(doc["status"], "completed");
    let (_, chunks) = ana.get(&format!("/api/documents/{doc_id}/chunks")).await;
    let indexes: Vec<i64> = chunks["data"]
        .as_array()
        .expect("chunks")
        .iter()
        .map(|c| c["chunk_index"].as_i64().expect("i"))
        .collect();
    assert_eq!(
        indexes,
        (0..indexes.len() as i64).collect::<Vec<_>>(),
        "no duplicates after reprocessing"
    );

    let (status, _) = ana
        .call(Method::DELETE, &format!("/api/documents/{doc_id}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = ana.get(&format!("/api/documents/{doc_id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, hits) = ana
        .get(&format!("/api/chat-spaces/{id}/search?q=refunds"))
        .await;
    assert_eq!(hits, json!([]), "chunks went with the document");
}

#[tokio::test]
async fn bad_uploads_are_refused_clearly() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.max_upload_bytes = 1000)
        .await
        .expect("app");
    let (ana, id) = space(&app).await;
    let path = format!("/api/chat-spaces/{id}/documents/upload");
    let (status, answer) = ana
        .upload(
            &path,
            &[("photo.pdf", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")],
            None,
        )
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_file_type"),
        "{answer}"
    );
    assert!(
        answer["error"]["message"]
            .as_str()
            .expect("msg")
            .contains("photo.pdf")
    );
    let (status, answer) = ana
        .upload(
            &path,
            &[
                ("good.txt", b"fine text"),
                ("app.exe", b"MZ\x90\0\x03\0\0\0\x04\0"),
            ],
            None,
        )
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_file_type")
    );
    let (_, list) = ana.get(&format!("/api/chat-spaces/{id}/documents")).await;
    assert_eq!(
        list["data"],
        json!([]),
        "one bad file refuses the whole upload"
    );
    let (status, answer) = ana.upload(&path, &[], Some("true")).await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let (status, answer) = ana.upload(&path, &[("big.txt", &[b'a'; 5000])], None).await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    // Past the whole request's bound too: the API refuses it before reading; the dashboard
    // answers on its Knowledge page, with the error under the upload field.
    let huge = vec![b'a'; 1_200_000];
    let (status, answer) = ana.upload(&path, &[("huge.txt", &huge)], None).await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
    );
    let (status, page) = ana
        .upload(
            &format!("/app/chat-spaces/{id}/documents"),
            &[("huge.txt", &huge)],
            None,
        )
        .await;
    let page = page.as_str().unwrap_or_default();
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        page.contains("<form") && page.contains("larger than 1000 bytes"),
        "{page}"
    );
    let (status, answer) = ana.upload(&path, &[("empty.txt", b"")], None).await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let (status, answer) = ana.upload(&path, &[("a.txt", b"x")], Some("maybe")).await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let (status, answer) = ana.post(&path, json!({"file": "x"})).await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::BAD_REQUEST, "invalid_multipart"),
        "{answer}"
    );
}

#[tokio::test]
async fn unreadable_files_fail_with_a_reason() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let (ana, id) = space(&app).await;
    let path = format!("/api/chat-spaces/{id}/documents/upload");
    let mut uploads: Vec<(&str, Vec<u8>)> = vec![("blank.txt", b"   \n\n  ".to_vec())];
    pdfium_available();
    {
        uploads.push((
            "broken.pdf",
            b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage".to_vec(),
        ));
    }
    let files: Vec<(&str, &[u8])> = uploads.iter().map(|(n, b)| (*n, b.as_slice())).collect();
    let (status, docs) = ana.upload(&path, &files, None).await;
    assert_eq!(status, StatusCode::CREATED, "{docs}");
    drain_jobs(&app).await;
    for doc in docs.as_array().expect("docs") {
        let (_, doc): (_, Value) = ana
            .get(&format!(
                "/api/documents/{}",
                doc["id"].as_str().expect("id")
            ))
            .await;
        assert_eq!(doc["status"], "failed", "{doc}");
        assert!(
            doc["error_message"].as_str().is_some_and(|m| m.len() > 10),
            "{doc}"
        );
    }
}

/// A small website on loopback: a page, a redirect to cloud metadata, a missing page.
async fn website() -> String {
    use axum::response::{Html, Redirect};
    use axum::routing::get;
    let app = axum::Router::new()
        .route("/faq", get(|| async { Html("<!doctype html><html><head><title>Store FAQ</title></head><body><nav>Home | Cart</nav><main><h1>Store FAQ</h1><p>Our store opens at nine in the morning and closes at six in the evening, Monday to Saturday. Parcels ordered before noon leave the warehouse on the same day.</p><p>Gift cards never expire and can be used online or in the store.</p></main><footer>© Store</footer></body></html>") }))
        .route("/to-metadata", get(|| async { Redirect::temporary("http://169.254.169.254/latest/meta-data/") }))
        .route("/app", get(|| async { Html("<!doctype html><html><head><title>Returns</title></head><body><div id=\"root\"></div><script>fetch('/returns.txt').then(r => r.text()).then(t => { document.getElementById('root').innerHTML = '<main><h1>Returns</h1><p>' + t + '</p></main>'; });</script></body></html>") }))
        .route("/spa", get(|| async { Html("<!doctype html><html><head><title>Shoe shop</title></head><body><div id=\"root\"></div><script>document.getElementById('root').innerHTML = '<nav><a href=\"/app\">Returns</a></nav><main><h1>Shoe shop</h1><p>Walking shoes, running shoes and boots for every season, made of leather and recycled rubber in our own workshop.</p></main>';</script></body></html>") }))
        .route("/returns.txt", get(|| async { "Unworn shoes can be returned within sixty days of delivery for a full refund. Print the prepaid label from your order page, pack the shoes in their original box and drop the parcel at any post office. Refunds reach your card within five working days after the parcel arrives at the warehouse." }));
    let (listener, base) = crate::common::loopback().await;
    crate::common::serve_in_background(listener, app);
    base
}

/// With `DOCENT_CHROMIUM_PATH`, a page whose text a script builds is learned as a visitor
/// would see it (the guard around the browser is tested in docent-ingest's fetch tests).
#[tokio::test]
async fn script_built_pages_are_learned_when_a_browser_is_configured() {
    let Some(chromium) = crate::browser::chromium() else {
        return;
    };
    let site = website().await;
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.fetch_allowed_hosts = vec!["127.0.0.1".into()];
        s.chromium_path = Some(chromium);
    })
    .await
    .expect("app");
    let (ana, id) = space(&app).await;
    let (status, doc) = ana
        .post(
            &format!("/api/chat-spaces/{id}/documents/url"),
            json!({"url": format!("{site}/app")}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{doc}");
    drain_jobs(&app).await;
    let (_, done) = ana
        .get(&format!(
            "/api/documents/{}",
            doc["id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(done["status"], "completed", "{done}");
    let (_, hits) = ana
        .get(&format!("/api/chat-spaces/{id}/search?q=prepaid%20label"))
        .await;
    assert!(
        hits[0]["content"]
            .as_str()
            .is_some_and(|t| t.contains("within sixty days")),
        "{hits}"
    );

    // A crawl follows links that only a script puts on the page.
    let (status, site_doc) = ana
        .post(
            &format!("/api/chat-spaces/{id}/documents/url"),
            json!({"url": format!("{site}/spa"), "crawl": {"max_depth": 1, "max_pages": 5}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{site_doc}");
    drain_jobs(&app).await;
    let (_, site_doc) = ana
        .get(&format!(
            "/api/documents/{}",
            site_doc["id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(
        (site_doc["status"].as_str(), site_doc["page_count"].as_i64()),
        (Some("completed"), Some(2)),
        "the home page and the page it links to: {site_doc}"
    );
    let (_, hits) = ana
        .get(&format!("/api/chat-spaces/{id}/search?q=recycled%20rubber"))
        .await;
    assert_eq!(hits[0]["source_url"], format!("{site}/spa"), "{hits}");
}

#[tokio::test]
async fn web_pages_are_fetched_and_learned() {
    let site = website().await;
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.fetch_allowed_hosts = vec!["127.0.0.1".into()]
    })
    .await
    .expect("app");
    let (ana, id) = space(&app).await;
    let path = format!("/api/chat-spaces/{id}/documents/url");
    let (status, doc) = ana.post(&path, json!({"url": format!("{site}/faq")})).await;
    assert_eq!(status, StatusCode::CREATED, "{doc}");
    assert_eq!(
        (doc["type"].as_str(), doc["status"].as_str()),
        (Some("url"), Some("pending"))
    );
    let (_, metadata) = ana
        .post(
            &path,
            json!({"url": format!("{site}/to-metadata"), "citable": false}),
        )
        .await;
    let (_, missing) = ana
        .post(&path, json!({"url": format!("{site}/missing")}))
        .await;
    drain_jobs(&app).await;

    let (_, done) = ana
        .get(&format!(
            "/api/documents/{}",
            doc["id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(
        (
            done["status"].as_str(),
            done["title"].as_str(),
            done["type"].as_str()
        ),
        (Some("completed"), Some("Store FAQ"), Some("url")),
        "{done}"
    );
    let (_, hits) = ana
        .get(&format!(
            "/api/chat-spaces/{id}/search?q=gift%20cards%20expire"
        ))
        .await;
    assert_eq!(hits[0]["source_url"], format!("{site}/faq"));
    assert!(
        !hits[0]["content"]
            .as_str()
            .expect("text")
            .contains("Home | Cart"),
        "main content only"
    );

    let (_, refused) = ana
        .get(&format!(
            "/api/documents/{}",
            metadata["id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(refused["status"], "failed", "{refused}");
    assert!(
        refused["error_message"]
            .as_str()
            .expect("message")
            .contains("not allowed"),
        "{refused}"
    );
    let (_, gone) = ana
        .get(&format!(
            "/api/documents/{}",
            missing["id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(gone["status"], "failed");
    assert!(
        gone["error_message"]
            .as_str()
            .expect("message")
            .contains("404"),
        "{gone}"
    );
}

#[tokio::test]
async fn private_addresses_are_refused_up_front() {
    let site = website().await;
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let (ana, id) = space(&app).await;
    let path = format!("/api/chat-spaces/{id}/documents/url");
    for url in [
        format!("{site}/faq"),
        "http://localhost:8080/".into(),
        "http://[::1]/".into(),
        "http://169.254.169.254/".into(),
        "http://2130706433/".into(),
        "ftp://example.com/file".into(),
        "file:///etc/passwd".into(),
    ] {
        let (status, answer) = ana.post(&path, json!({"url": url})).await;
        assert_eq!(
            (status, code(&answer)),
            (StatusCode::UNPROCESSABLE_ENTITY, "url_not_allowed"),
            "{url}: {answer}"
        );
        // The refusal names the setting that would allow an intranet's host.
        assert!(
            answer["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("DOCENT_FETCH_ALLOWED_HOSTS")),
            "{answer}"
        );
    }
    let (status, answer) = ana.post(&path, json!({"url": "not a web address"})).await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        "{answer}"
    );
    let (_, list) = ana.get(&format!("/api/chat-spaces/{id}/documents")).await;
    assert_eq!(list["data"], json!([]), "nothing was created");
}

/// A site of linked pages with robots.txt; `with_sitemap` adds a sitemap listing an
/// unlinked page.
async fn linked_site(with_sitemap: bool) -> String {
    use axum::response::Html;
    use axum::routing::get;
    fn page(title: &str, text: &str, links: &[&str]) -> Html<String> {
        let links: String = links
            .iter()
            .map(|l| format!("<a href=\"{l}\">{l}</a> "))
            .collect();
        Html(format!(
            "<html><head><title>{title}</title></head><body><nav>{links}</nav><article><h1>{title}</h1><p>{text} This paragraph is long enough for the reader to keep it as the main content of the page.</p></article></body></html>"
        ))
    }
    let mut app = axum::Router::new()
        .route(
            "/robots.txt",
            get(|| async { "User-agent: *\nDisallow: /private\n" }),
        )
        .route(
            "/",
            get(|| async {
                page(
                    "Home",
                    "Welcome to the kettle shop.",
                    &["/a", "/b", "/private/secret", "https://elsewhere.example/"],
                )
            }),
        )
        .route(
            "/a",
            get(|| async {
                page(
                    "Alpha",
                    "Alpha kettles boil water in ninety seconds.",
                    &["/b", "/c"],
                )
            }),
        )
        .route(
            "/b",
            get(|| async { page("Beta", "Beta kettles have a keep-warm setting.", &["/"]) }),
        )
        .route(
            "/c",
            get(|| async { page("Gamma", "Gamma kettles are made of copper.", &[]) }),
        )
        .route(
            "/private/secret",
            get(|| async { page("Secret", "The staff wifi password is swordfish.", &[]) }),
        )
        .route(
            "/unlinked",
            get(|| async {
                page(
                    "Unlinked",
                    "Descaling tablets are sold at the counter.",
                    &[],
                )
            }),
        );
    if with_sitemap {
        app = app.route(
            "/sitemap.xml",
            get(|| async { "<urlset><url><loc>SITE/unlinked</loc></url></urlset>" }),
        );
    }
    let (listener, base) = crate::common::loopback().await;
    let app = app.layer(axum::middleware::map_response({
        let base = base.clone();
        move |response: axum::response::Response| {
            let base = base.clone();
            async move {
                // The sitemap names absolute addresses; fill in this server's.
                let (parts, body) = response.into_parts();
                let bytes = axum::body::to_bytes(body, 1 << 20)
                    .await
                    .unwrap_or_default();
                let text = String::from_utf8_lossy(&bytes).replace("SITE", &base);
                axum::response::Response::from_parts(parts, axum::body::Body::from(text))
            }
        }
    }));
    crate::common::serve_in_background(listener, app);
    base
}

async fn crawl_app() -> TestApp {
    TestApp::spawn_with(Backend::Sqlite, |s| {
        s.fetch_allowed_hosts = vec!["127.0.0.1".into()];
        s.crawl_delay_ms = 0;
    })
    .await
    .expect("app")
}

#[tokio::test]
async fn sites_are_crawled_within_robots_depth_and_page_limits() {
    let site = linked_site(false).await;
    let app = crawl_app().await;
    let (ana, id) = space(&app).await;
    let (status, doc) = ana
        .post(
            &format!("/api/chat-spaces/{id}/documents/url"),
            json!({"url": format!("{site}/"), "crawl": {"max_depth": 1, "max_pages": 10}}),
        )
        .await;
    assert_eq!(
        (status, doc["type"].as_str()),
        (StatusCode::CREATED, Some("site")),
        "{doc}"
    );
    drain_jobs(&app).await;
    let (_, site_doc) = ana
        .get(&format!(
            "/api/documents/{}",
            doc["id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(
        (site_doc["status"].as_str(), site_doc["page_count"].as_i64()),
        (Some("completed"), Some(3)),
        "home, a and b: {site_doc}"
    );
    let (_, list) = ana.get(&format!("/api/chat-spaces/{id}/documents")).await;
    let pages: Vec<&Value> = list["data"]
        .as_array()
        .expect("docs")
        .iter()
        .filter(|d| d["type"] == "url")
        .collect();
    assert_eq!(pages.len(), 3);
    assert!(
        pages
            .iter()
            .all(|p| p["status"] == "completed" && p["parent_id"] == doc["id"]),
        "{list}"
    );
    let (_, hits) = ana
        .get(&format!("/api/chat-spaces/{id}/search?q=ninety%20seconds"))
        .await;
    assert_eq!(hits[0]["source_url"], format!("{site}/a"));
    let (_, hits) = ana
        .get(&format!("/api/chat-spaces/{id}/search?q=swordfish"))
        .await;
    assert_eq!(hits, json!([]), "robots.txt kept /private out");
    let (_, hits) = ana
        .get(&format!("/api/chat-spaces/{id}/search?q=copper"))
        .await;
    assert_eq!(hits, json!([]), "/c is deeper than max_depth");

    // Deleting the site deletes its pages.
    let (status, _) = ana
        .call(
            Method::DELETE,
            &format!("/api/documents/{}", doc["id"].as_str().expect("id")),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, list) = ana.get(&format!("/api/chat-spaces/{id}/documents")).await;
    assert_eq!(list["data"], json!([]));
}

#[tokio::test]
async fn sitemaps_add_unlinked_pages_and_limits_hold() {
    let site = linked_site(true).await;
    let app = crawl_app().await;
    let (ana, id) = space(&app).await;
    let path = format!("/api/chat-spaces/{id}/documents/url");
    let (status, answer) = ana
        .post(
            &path,
            json!({"url": format!("{site}/"), "crawl": {"max_pages": 0}}),
        )
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let (_, doc) = ana
        .post(
            &path,
            json!({"url": format!("{site}/"), "crawl": {"max_pages": 2}}),
        )
        .await;
    drain_jobs(&app).await;
    let (_, site_doc) = ana
        .get(&format!(
            "/api/documents/{}",
            doc["id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(site_doc["page_count"], 2, "{site_doc}");
    let (_, hits) = ana
        .get(&format!(
            "/api/chat-spaces/{id}/search?q=descaling%20tablets"
        ))
        .await;
    assert_eq!(
        hits[0]["source_url"],
        format!("{site}/unlinked"),
        "the sitemap's page comes right after the start"
    );
}

#[tokio::test]
async fn plans_cap_documents_per_chat_space() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let (ana, id) = space(&app).await;
    let path = format!("/api/chat-spaces/{id}/documents/upload");
    let texts: Vec<String> = (0..21).map(|i| format!("Fact number {i}.")).collect();
    let files: Vec<(&str, &[u8])> = texts.iter().map(|t| ("fact.txt", t.as_bytes())).collect();
    let (status, answer) = ana.upload(&path, &files, None).await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::PAYMENT_REQUIRED, "plan_limit_reached"),
        "21 is over the free plan's 20"
    );
    let (status, _) = ana.upload(&path, &files[..20], None).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, answer) = ana
        .post(
            &format!("/api/chat-spaces/{id}/documents/url"),
            json!({"url": "https://www.example.com/"}),
        )
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::PAYMENT_REQUIRED, "plan_limit_reached"),
        "{answer}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_streams_as_server_sent_events_until_done() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    progress_streams_from(&app, &app).await;
}

/// The visitor's replica streams while another replica's worker does the work: the events
/// cross through PostgreSQL's LISTEN/NOTIFY.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_streams_across_replicas() {
    let Some((front, back)) = TestApp::spawn_replicas().await else {
        return;
    };
    progress_streams_from(&front, &back).await;
}

/// Streams the documents of `front` while `back`'s worker processes an upload.
async fn progress_streams_from(front: &TestApp, back: &TestApp) {
    let app = front;
    let (ana, id) = space(app).await;
    ana.upload(
        &format!("/api/chat-spaces/{id}/documents/upload"),
        &[("returns.md", MARKDOWN)],
        None,
    )
    .await;
    let worker_app = back.state.clone();
    let worked = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        let worker = docent_app::jobs::Worker::new(worker_app.app, "sse-worker");
        while worker.run_once().await.expect("worker").is_some() {}
        std::time::Instant::now()
    });
    let response = ana
        .request(
            Method::GET,
            &format!("/api/chat-spaces/{id}/documents/events"),
        )
        .send()
        .await
        .expect("events");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/event-stream")
    );
    let body = tokio::time::timeout(std::time::Duration::from_secs(30), response.text())
        .await
        .expect("the stream ends")
        .expect("body");
    assert!(body.contains("event: documents"), "{body}");
    assert!(
        body.contains("\"status\":\"pending\""),
        "the first event has the pending document: {body}"
    );
    assert!(
        body.contains("\"status\":\"completed\""),
        "a later one has it completed: {body}"
    );
    assert!(body.trim_end().ends_with("event: done\ndata: {}"), "{body}");
    // Driven by the Hub's events: the stream ends right after the work, not at the next of
    // its 10-second fallback reads.
    let late = worked.await.expect("worker").elapsed();
    assert!(
        late < std::time::Duration::from_secs(5),
        "the stream ended {late:?} after the work"
    );
}

/// An OpenAI-compatible embeddings provider whose vectors count topic words, so nearness
/// is predictable.
async fn embedding_provider() -> String {
    use axum::Json;
    use axum::routing::post;
    async fn embed(Json(body): Json<Value>) -> Json<Value> {
        let topics = [
            ["refund", "money"],
            ["parcel", "deliver"],
            ["kettle", "boil"],
        ];
        let data: Vec<Value> = body["input"]
            .as_array()
            .map(|inputs| {
                inputs
                    .iter()
                    .enumerate()
                    .map(|(i, text)| {
                        let text = text.as_str().unwrap_or("").to_lowercase();
                        let mut vector: Vec<f32> = topics
                            .iter()
                            .map(|words| words.iter().map(|w| text.matches(w).count() as f32).sum())
                            .collect();
                        vector.push(0.1);
                        json!({"index": i, "embedding": vector})
                    })
                    .collect()
            })
            .unwrap_or_default();
        Json(json!({"data": data}))
    }
    let app = axum::Router::new().route("/v1/embeddings", post(embed));
    let (listener, base) = crate::common::loopback().await;
    crate::common::serve_in_background(listener, app);
    format!("{base}/v1")
}

#[tokio::test]
async fn chunks_are_embedded_after_they_are_searchable_and_found_by_meaning() {
    let provider = embedding_provider().await;
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.embedding_model = Some("test-embedder".into());
        s.embedding_base_url = provider.clone();
    })
    .await
    .expect("app");
    let (ana, id) = space(&app).await;
    let files: [(&str, &[u8]); 2] = [
        (
            "refunds.txt",
            b"Refunds: we give your money back within five days.",
        ),
        (
            "shipping.txt",
            b"Shipping: every parcel is delivered within two days.",
        ),
    ];
    ana.upload(
        &format!("/api/chat-spaces/{id}/documents/upload"),
        &files,
        None,
    )
    .await;
    assert_eq!(
        drain_jobs(&app).await,
        4,
        "two ingest jobs, then two embed jobs"
    );
    let (status, hits) = ana
        .get(&format!(
            "/api/chat-spaces/{id}/search?q=I%20want%20my%20money&mode=vector"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{hits}");
    assert_eq!(hits[0]["file_name"], "refunds.txt", "{hits}");
    let (_, hits) = ana
        .get(&format!(
            "/api/chat-spaces/{id}/search?q=where%20is%20the%20parcel&mode=vector"
        ))
        .await;
    assert_eq!(hits[0]["file_name"], "shipping.txt", "{hits}");
    assert!(hits[0]["score"].as_f64().expect("score") > 0.9);
}

#[tokio::test]
async fn vector_search_needs_a_provider() {
    let app = TestApp::spawn(Backend::Sqlite).await.expect("app");
    let (ana, id) = space(&app).await;
    let (status, answer) = ana
        .get(&format!("/api/chat-spaces/{id}/search?q=money&mode=vector"))
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed")
    );
    let (status, answer) = ana
        .get(&format!(
            "/api/chat-spaces/{id}/search?q=money&mode=psychic"
        ))
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::BAD_REQUEST, "invalid_query")
    );
}

/// The same flow with all-MiniLM-L6-v2 in process (built with `local-embeddings`; the
/// weights come from `DOCENT_EMBEDDING_MODEL_DIR`).
#[cfg(feature = "local-embeddings")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_model_finds_chunks_by_meaning() {
    let Ok(dir) = std::env::var("DOCENT_EMBEDDING_MODEL_DIR") else {
        assert!(
            std::env::var("DOCENT_REQUIRE_LOCAL_MODEL").is_err(),
            "DOCENT_REQUIRE_LOCAL_MODEL is set but DOCENT_EMBEDDING_MODEL_DIR is not"
        );
        return;
    };
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.embedding_model_dir = Some(dir.into())
    })
    .await
    .expect("app");
    let (ana, id) = space(&app).await;
    let files: [(&str, &[u8]); 2] = [
        (
            "refunds.txt",
            b"Refunds are paid within five days after we receive the returned item.",
        ),
        (
            "kettles.txt",
            b"The kettle boils a litre of water in ninety seconds.",
        ),
    ];
    ana.upload(
        &format!("/api/chat-spaces/{id}/documents/upload"),
        &files,
        None,
    )
    .await;
    assert_eq!(drain_jobs(&app).await, 4);
    let (status, hits) = ana
        .get(&format!(
            "/api/chat-spaces/{id}/search?q=how%20do%20I%20get%20my%20money%20back&mode=vector"
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{hits}");
    assert_eq!(hits[0]["file_name"], "refunds.txt", "{hits}");
}

/// An S3-compatible object store in memory, path-style (`/{bucket}/{key}`), enough of the
/// protocol for PUT, GET and DELETE.
async fn object_store() -> (
    String,
    std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, Vec<u8>>>>,
) {
    use axum::body::Bytes;
    use axum::extract::{Path, State};
    use axum::http::HeaderMap;
    use axum::response::IntoResponse;
    use axum::routing::put;
    type Objects = std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, Vec<u8>>>>;
    let objects: Objects = Default::default();
    async fn store(
        State(objects): State<Objects>,
        Path((_, key)): Path<(String, String)>,
        body: Bytes,
    ) -> impl IntoResponse {
        objects.lock().expect("lock").insert(key, body.to_vec());
        ([("etag", "\"e1\"")], "")
    }
    async fn fetch(
        State(objects): State<Objects>,
        Path((_, key)): Path<(String, String)>,
    ) -> axum::response::Response {
        match objects.lock().expect("lock").get(&key) {
            Some(bytes) => {
                let mut headers = HeaderMap::new();
                headers.insert("etag", "\"e1\"".parse().expect("header"));
                headers.insert(
                    "last-modified",
                    "Sat, 21 Nov 2026 00:00:00 GMT".parse().expect("header"),
                );
                (headers, bytes.clone()).into_response()
            }
            None => (
                StatusCode::NOT_FOUND,
                "<Error><Code>NoSuchKey</Code><Message>missing</Message></Error>",
            )
                .into_response(),
        }
    }
    async fn remove(
        State(objects): State<Objects>,
        Path((_, key)): Path<(String, String)>,
    ) -> StatusCode {
        objects.lock().expect("lock").remove(&key);
        StatusCode::NO_CONTENT
    }
    /// `POST /{bucket}?delete` (DeleteObjects): `<Key>` elements in, `<Deleted>` out.
    async fn remove_many(State(objects): State<Objects>, body: String) -> String {
        let mut deleted = String::new();
        for key in body
            .split("<Key>")
            .skip(1)
            .filter_map(|rest| rest.split("</Key>").next())
        {
            objects.lock().expect("lock").remove(key);
            deleted.push_str(&format!("<Deleted><Key>{key}</Key></Deleted>"));
        }
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><DeleteResult>{deleted}</DeleteResult>")
    }
    let app = axum::Router::new()
        .route("/{bucket}", axum::routing::post(remove_many))
        .route("/{bucket}/{*key}", put(store).get(fetch).delete(remove))
        .with_state(objects.clone());
    let (listener, base) = crate::common::loopback().await;
    crate::common::serve_in_background(listener, app);
    (base, objects)
}

#[tokio::test]
async fn files_can_live_in_an_s3_compatible_bucket() {
    let (endpoint, objects) = object_store().await;
    let app = TestApp::spawn_with(Backend::Sqlite, |s| {
        s.s3_bucket = Some("docent".into());
        s.s3_endpoint = Some(endpoint.clone());
        s.s3_access_key_id = Some("test".into());
        s.s3_secret_access_key = Some(docent_core::settings::Secret::new("test"));
    })
    .await
    .expect("app");
    let (ana, id) = space(&app).await;
    let (status, docs) = ana
        .upload(
            &format!("/api/chat-spaces/{id}/documents/upload"),
            &[("returns.md", MARKDOWN)],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{docs}");
    assert_eq!(
        objects.lock().expect("lock").len(),
        1,
        "the upload went to the bucket"
    );
    assert_eq!(drain_jobs(&app).await, 1);
    let doc_id = docs[0]["id"].as_str().expect("id");
    let (_, doc) = ana.get(&format!("/api/documents/{doc_id}")).await;
    assert_eq!(
        doc["status"], "completed",
        "the worker read it back from the bucket: {doc}"
    );
    let (status, _) = ana
        .call(Method::DELETE, &format!("/api/documents/{doc_id}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(
        objects.lock().expect("lock").is_empty(),
        "deleting the document deleted its object"
    );
}

/// Knowledge typed in: a pasted text is learned like a file, and a question with its answer
/// is quoted whole when a visitor asks it, and edited in place.
async fn pasted_text_and_questions_with_answers_are_knowledge(app: TestApp) {
    let (ana, id) = space(&app).await;
    let (status, text) = ana
        .post(&format!("/api/chat-spaces/{id}/documents/text"),
            json!({"title": "Opening hours", "text": "The bakery opens at seven every morning except on Mondays."}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    assert_eq!(
        (text["type"].as_str(), text["title"].as_str()),
        (Some("text"), Some("Opening hours"))
    );
    let (status, qa) = ana
        .post(&format!("/api/chat-spaces/{id}/documents/qa"),
            json!({"question": "Do you deliver on Sundays?", "answer": "No. We deliver Monday to Saturday, from 8 to 18."}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{qa}");
    assert_eq!(qa["type"], "qa");
    let qa_id = qa["id"].as_str().expect("id").to_owned();
    for (body, field) in [
        (json!({"question": " ", "answer": "x"}), "question"),
        (json!({"question": "Why?", "answer": ""}), "answer"),
        (
            json!({"question": "Why?", "answer": "x".repeat(1501)}),
            "answer",
        ),
    ] {
        let (status, refused) = ana
            .post(&format!("/api/chat-spaces/{id}/documents/qa"), body)
            .await;
        assert_eq!(
            (
                status,
                code(&refused),
                refused["error"]["fields"][0]["field"].as_str()
            ),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                Some(field)
            ),
            "{refused}"
        );
    }
    let (status, refused) = ana
        .post(
            &format!("/api/chat-spaces/{id}/documents/text"),
            json!({"title": "Empty", "text": "   "}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    drain_jobs(&app).await;
    let (_, doc) = ana.get(&format!("/api/documents/{qa_id}")).await;
    assert_eq!(
        (doc["status"].as_str(), doc["type"].as_str()),
        (Some("completed"), Some("qa"))
    );

    let ask = |question: &'static str| {
        let ana = &ana;
        let id = id.clone();
        async move {
            let (status, answer) = ana
                .post(
                    &format!("/api/chat-spaces/{id}/chat"),
                    json!({"message": question}),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            answer
        }
    };
    let answer = ask("Do you deliver on a Sunday?").await;
    assert!(
        answer["message"]["content"]
            .as_str()
            .is_some_and(|a| a.starts_with("No. We deliver Monday to Saturday, from 8 to 18.")),
        "{answer}"
    );
    assert_eq!(
        answer["message"]["citations"][0]["title"], "Do you deliver on Sundays?",
        "{answer}"
    );
    let answer = ask("When does the bakery open?").await;
    assert!(
        answer["message"]["content"]
            .as_str()
            .is_some_and(|a| a.contains("opens at seven")),
        "{answer}"
    );

    let (status, edited) = ana
        .put(&format!("/api/documents/{qa_id}/qa"),
            json!({"question": "Do you deliver on Sundays?", "answer": "Yes, since May: from 9 to 13."}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{edited}");
    let (_, pair) = ana.get(&format!("/api/documents/{qa_id}/qa")).await;
    assert_eq!(
        pair,
        json!({"question": "Do you deliver on Sundays?", "answer": "Yes, since May: from 9 to 13."})
    );
    drain_jobs(&app).await;
    let answer = ask("Do you deliver on Sundays?").await;
    assert!(
        answer["message"]["content"]
            .as_str()
            .is_some_and(|a| a.starts_with("Yes, since May")),
        "{answer}"
    );
    let (status, _) = ana
        .get(&format!(
            "/api/documents/{}/qa",
            text["id"].as_str().expect("id")
        ))
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a pasted text has no question"
    );

    // The same from the dashboard.
    let (status, _) = ana
        .form(
            &format!("/app/chat-spaces/{id}/qa"),
            &[
                ("question", "Is there parking?"),
                ("answer", "Yes, behind the shop."),
                ("citable", "true"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, page) = ana
        .form(
            &format!("/app/chat-spaces/{id}/text"),
            &[("title", "Notes"), ("text", "")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("Paste or type the text to learn."), "{page}");
    let (_, page) = ana.page(&format!("/app/chat-spaces/{id}/knowledge")).await;
    assert!(
        page.contains(">Q&#38;A</span>") && page.contains("Is there parking?"),
        "{page}"
    );
    let (_, page) = ana.page(&format!("/app/documents/{qa_id}")).await;
    assert!(
        page.contains("Yes, since May: from 9 to 13.") && page.contains("data-docent=\"save-qa\""),
        "{page}"
    );
}
