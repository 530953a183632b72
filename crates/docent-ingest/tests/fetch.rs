//! The fetch guard against a real HTTP server on loopback (allow-listed), whose redirects
//! lead to places that are not, and against the shared SSRF target list.

use std::time::Duration;

use docent_ingest::fetch::{FetchError, FetchPolicy, Fetcher, check_url};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

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
