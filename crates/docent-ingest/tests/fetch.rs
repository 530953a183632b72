//! The fetch guard against a real HTTP server on loopback (allow-listed), whose redirects
//! lead to places that are not, and against the shared SSRF target list; the same guard
//! around a real headless Chromium rendering a page whose scripts reach for those places.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use docent_ingest::fetch::{FetchError, FetchPolicy, Fetcher, check_url};
use docent_ingest::render::Renderer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Requests that reached `/secret`, which only places the guard refuses link to.
static SECRET_HITS: AtomicUsize = AtomicUsize::new(0);

const OPENING_HOURS: &str = "The shop on Harbour Street opens at nine in the morning and \
closes at six in the evening from Monday to Friday. On Saturdays it opens at ten and closes \
at four, and on Sundays and public holidays it stays closed. Orders placed online before \
two in the afternoon leave the warehouse the same day.";

/// A page that builds its text with a script, and whose scripts, frames and redirects also
/// reach for the server's own `/secret` through names and addresses the guard refuses.
fn app_page(port: u16, with_metadata: bool) -> String {
    let metadata = if with_metadata {
        "leak('http://169.254.169.254/latest/meta-data/');"
    } else {
        ""
    };
    format!(
        r#"<html><head><title>Shop</title></head><body><div id="app">Loading</div><script>
fetch('/data.txt').then(r => r.text()).then(t => {{
  document.getElementById('app').innerHTML = '<article><h1>Opening hours</h1><p>' + t + '</p></article>';
}});
const leak = u => fetch(u).then(r => r.ok ? r.text() : '').then(t => {{ if (t) document.body.append('LEAK ' + t); }}).catch(() => {{}});
leak('http://localhost:{port}/secret');
leak('http://127.0.0.2:{port}/secret');
{metadata}
</script><iframe src="/to-secret"></iframe><script src="http://localhost:{port}/secret"></script></body></html>"#
    )
}

/// A minimal HTTP/1.1 server: answers by path, closes each connection.
async fn site() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = socket.read(&mut buf).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]);
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let (status, headers, body) = match path.as_str() {
                    "/page" => (
                        "200 OK",
                        "Content-Type: text/html\r\n".to_owned(),
                        "<html><body><p>Hello</p></body></html>".to_owned(),
                    ),
                    "/to-metadata" => (
                        "302 Found",
                        "Location: http://169.254.169.254/latest/meta-data/\r\n".to_owned(),
                        String::new(),
                    ),
                    "/to-localhost" => (
                        "302 Found",
                        format!("Location: http://localhost:{port}/page\r\n"),
                        String::new(),
                    ),
                    "/to-decimal" => (
                        "301 Moved",
                        "Location: http://167772161/\r\n".to_owned(),
                        String::new(),
                    ),
                    "/to-page" => ("302 Found", "Location: /page\r\n".to_owned(), String::new()),
                    "/meta-refresh" => (
                        "200 OK",
                        "Content-Type: text/html\r\n".to_owned(),
                        format!(
                            "<html><head><meta http-equiv=refresh content=\"0; url=http://127.0.0.2:{port}/secret\"></head><body>Moved.</body></html>"
                        ),
                    ),
                    "/script-navigation" => (
                        "200 OK",
                        "Content-Type: text/html\r\n".to_owned(),
                        "<html><body><p>One moment.</p><script>location.href = 'http://169.254.169.254/latest/meta-data/';</script></body></html>".to_owned(),
                    ),
                    "/app" | "/app-open" => (
                        "200 OK",
                        "Content-Type: text/html\r\n".to_owned(),
                        app_page(port, path == "/app"),
                    ),
                    "/data.txt" => (
                        "200 OK",
                        "Content-Type: text/plain\r\n".to_owned(),
                        OPENING_HOURS.to_owned(),
                    ),
                    "/to-secret" => (
                        "302 Found",
                        format!("Location: http://localhost:{port}/secret\r\n"),
                        String::new(),
                    ),
                    "/secret" => {
                        SECRET_HITS.fetch_add(1, Ordering::SeqCst);
                        (
                            "200 OK",
                            "Content-Type: text/plain\r\n".to_owned(),
                            "TOPSECRET".to_owned(),
                        )
                    }
                    "/static" => (
                        "200 OK",
                        "Content-Type: text/html\r\n".to_owned(),
                        format!(
                            "<html><body><article><p>{OPENING_HOURS} {OPENING_HOURS}</p></article></body></html>"
                        ),
                    ),
                    "/big" => (
                        "200 OK",
                        "Content-Type: text/plain\r\n".to_owned(),
                        "x".repeat(100_000),
                    ),
                    _ => ("404 Not Found", String::new(), "missing".to_owned()),
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    port
}

fn listed() -> FetchPolicy {
    FetchPolicy {
        allowed_hosts: vec!["127.0.0.1".into()],
        max_bytes: 50_000,
        timeout: Duration::from_secs(5),
        ..FetchPolicy::default()
    }
}

#[tokio::test]
async fn allowed_hosts_are_fetched_and_redirects_are_checked_hop_by_hop() {
    let port = site().await;
    let fetcher = Fetcher::new(listed()).expect("fetcher");
    let base = format!("http://127.0.0.1:{port}");
    let page = fetcher.get(&format!("{base}/page")).await.expect("page");
    assert!(String::from_utf8_lossy(&page.bytes).contains("Hello"));
    assert_eq!(page.content_type.as_deref(), Some("text/html"));
    let followed = fetcher
        .get(&format!("{base}/to-page"))
        .await
        .expect("same-site redirect");
    assert_eq!(followed.url.path(), "/page");
    for path in ["/to-metadata", "/to-localhost", "/to-decimal"] {
        let result = fetcher.get(&format!("{base}{path}")).await;
        assert!(
            matches!(result, Err(FetchError::NotAllowed(_))),
            "{path}: {result:?}"
        );
    }
    assert_eq!(
        fetcher
            .get(&format!("{base}/nothing"))
            .await
            .expect_err("404"),
        FetchError::Status(format!("{base}/nothing"), 404)
    );
    assert!(matches!(
        fetcher.get(&format!("{base}/big")).await,
        Err(FetchError::TooLarge(_, _))
    ));
}

#[tokio::test]
async fn loopback_is_refused_by_default() {
    let port = site().await;
    let fetcher = Fetcher::new(FetchPolicy::default()).expect("fetcher");
    let result = fetcher.get(&format!("http://127.0.0.1:{port}/page")).await;
    assert!(
        matches!(result, Err(FetchError::NotAllowed(_))),
        "{result:?}"
    );
}

/// Every target of ../shared/corpora/security/ssrf/targets.txt that can be judged without
/// live DNS is refused as it is read. Skipped when the corpus is absent.
#[test]
fn the_shared_ssrf_targets_are_refused() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpora/security/ssrf/targets.txt"
    );
    let Ok(list) = std::fs::read_to_string(path) else {
        eprintln!("skipped: no {path}");
        return;
    };
    // These need live DNS or a third-party service; the resolver guard covers them.
    let needs_network = ["dns-name-to-loopback", "redirect-service", "dns-rebinding"];
    let mut checked = 0;
    for line in list
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let (url, category) = line.split_once('\t').unwrap_or((line, ""));
        if needs_network.iter().any(|c| category.starts_with(c)) {
            continue;
        }
        let result = check_url(url, &FetchPolicy::default());
        let refused = matches!(
            result,
            Err(FetchError::NotAllowed(_)) | Err(FetchError::InvalidUrl(_))
        );
        // Cloud metadata host names (metadata.google.internal…) resolve only inside clouds;
        // if they pass the reading, the resolver refuses their private addresses.
        let is_name = result
            .as_ref()
            .is_ok_and(|u| matches!(u.host(), Some(url::Host::Domain(_))));
        assert!(refused || is_name, "{url} ({category}) passed: {result:?}");
        checked += 1;
    }
    assert!(checked > 60, "only {checked} targets");
}

/// Chromium for the rendering tests: `DOCENT_CHROMIUM` or the usual places; None (the test
/// is skipped) when absent, unless `DOCENT_REQUIRE_BROWSER` is set.
fn chromium() -> Option<PathBuf> {
    let found = std::env::var("DOCENT_CHROMIUM")
        .map(PathBuf::from)
        .ok()
        .or_else(|| {
            [
                "/usr/bin/chromium",
                "/usr/bin/chromium-browser",
                "/usr/bin/google-chrome",
            ]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
        });
    if found.is_none() {
        assert!(
            std::env::var("DOCENT_REQUIRE_BROWSER").is_err(),
            "DOCENT_REQUIRE_BROWSER is set but Chromium is missing"
        );
        eprintln!("skipped: Chromium not installed");
    }
    found
}

fn text_of(html: &[u8]) -> String {
    let options = docent_ingest::ExtractOptions {
        main_content: true,
        url: None,
    };
    docent_ingest::extract(html, Some("page.html"), &options)
        .expect("extract")
        .text()
}

#[tokio::test]
async fn script_built_pages_are_rendered_behind_the_guard() {
    let Some(chromium) = chromium() else { return };
    let port = site().await;
    let base = format!("http://127.0.0.1:{port}");

    // Without a browser the page has no text to learn from.
    let plain = Fetcher::new(listed()).expect("fetcher");
    let fetched = plain.get_page(&format!("{base}/app")).await.expect("page");
    assert!(!fetched.rendered);
    assert!(!String::from_utf8_lossy(&fetched.bytes).contains("Harbour Street"));

    // With one, the text its script fetched is there, and nothing its other scripts, its
    // frame or its redirect reached for: all were refused by the proxy.
    let policy = listed();
    let fetcher = Fetcher::new(policy.clone())
        .expect("fetcher")
        .with_renderer(Renderer::new(chromium.clone(), policy));
    let fetched = fetcher
        .get_page(&format!("{base}/app"))
        .await
        .expect("page");
    assert!(fetched.rendered);
    let text = text_of(&fetched.bytes);
    assert!(text.contains("opens at nine in the morning"), "{text}");
    assert!(
        !text.contains("TOPSECRET") && !text.contains("LEAK"),
        "{text}"
    );
    assert_eq!(
        SECRET_HITS.load(Ordering::SeqCst),
        0,
        "the guard let a request through"
    );
    let refused = fetcher.renderer().expect("renderer").refused();
    assert!(refused >= 4, "only {refused} requests refused");

    // A page with text of its own is taken as it is, without starting a browser.
    let fetched = fetcher
        .get_page(&format!("{base}/static"))
        .await
        .expect("page");
    assert!(!fetched.rendered);

    // The same page with the guard open does reach /secret: the check above can fail.
    let open = FetchPolicy {
        allow_private: true,
        ..listed()
    };
    let fetcher = Fetcher::new(open.clone())
        .expect("fetcher")
        .with_renderer(Renderer::new(chromium, open));
    let fetched = fetcher
        .get_page(&format!("{base}/app-open"))
        .await
        .expect("page");
    assert!(fetched.rendered);
    assert!(SECRET_HITS.load(Ordering::SeqCst) > 0);
}

#[tokio::test]
async fn a_browser_that_cannot_start_leaves_the_page_as_fetched() {
    let port = site().await;
    let policy = listed();
    let fetcher = Fetcher::new(policy.clone())
        .expect("fetcher")
        .with_renderer(Renderer::new("/nonexistent/chromium".into(), policy));
    let fetched = fetcher
        .get_page(&format!("http://127.0.0.1:{port}/app"))
        .await
        .expect("page");
    assert!(!fetched.rendered);
    assert!(String::from_utf8_lossy(&fetched.bytes).contains("Loading"));
}

#[tokio::test]
async fn a_navigation_the_guard_refuses_fails_the_page() {
    let Some(chromium) = chromium() else { return };
    let port = site().await;
    let policy = listed();
    let fetcher = Fetcher::new(policy.clone())
        .expect("fetcher")
        .with_renderer(Renderer::new(chromium, policy));
    for (path, host) in [
        ("/meta-refresh", "127.0.0.2"),
        ("/script-navigation", "169.254.169.254"),
    ] {
        match fetcher
            .get_page(&format!("http://127.0.0.1:{port}{path}"))
            .await
        {
            Err(e @ FetchError::NotAllowed(_)) => {
                let message = e.to_string();
                assert!(
                    message.starts_with(&format!("A redirect to {host} is not allowed")),
                    "{path}: {message}"
                );
            }
            Ok(fetched) => panic!("{path} was kept as knowledge: {}", text_of(&fetched.bytes)),
            Err(e) => panic!("{path}: {e:?}"),
        }
    }
}
