//! JavaScript rendering with headless Chromium, for pages that build their text in the
//! browser (single-page apps), behind the same SSRF guard as every other fetch.
//!
//! Chromium is started once per page with a fresh profile and told to send every request
//! — loopback included (`--proxy-bypass-list=<-loopback>`) — through a proxy that lives in
//! this process for the length of the render. The proxy checks each request as
//! [`crate::fetch`] checks a URL (scheme, IP literals, DNS answers) and connects to the
//! address it checked, so neither the page's own requests, nor its redirects, nor its
//! scripts reach a private, loopback or metadata address that the policy does not allow.
//! UDP (WebRTC) is off, so nothing leaves around the proxy.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use url::{Host, Url};

use crate::fetch::{FetchError, FetchPolicy, check_url, resolve};

/// Largest request head the proxy reads.
const MAX_HEAD: usize = 64 * 1024;
/// Time the page's scripts get (Chromium's virtual time, so timers run fast).
const SCRIPT_BUDGET_MS: u32 = 5_000;

/// Renders pages with a headless Chromium.
#[derive(Debug)]
pub struct Renderer {
    chromium: PathBuf,
    policy: FetchPolicy,
    timeout: Duration,
    permits: Semaphore,
    refused: Arc<AtomicUsize>,
}

impl Renderer {
    /// A renderer running `chromium` (one page at a time: a browser wants most of a
    /// small machine), fetching what `policy` allows, giving up on a page after 30 s.
    pub fn new(chromium: PathBuf, policy: FetchPolicy) -> Renderer {
        Renderer {
            chromium,
            policy,
            timeout: Duration::from_secs(30),
            permits: Semaphore::new(1),
            refused: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// How many of the browser's requests the guard has refused so far.
    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::Relaxed)
    }

    /// The page at `url` as HTML after its scripts ran.
    pub async fn render(&self, url: &Url) -> Result<String, FetchError> {
        let shown = url.as_str().to_owned();
        let unreachable = |why: String| FetchError::Unreachable(shown.clone(), why);
        check_url(url.as_str(), &self.policy)?;
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| unreachable("the browser is shutting down".into()))?;
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(|e| unreachable(format!("starting the browser's proxy: {e}")))?;
        let proxy = listener
            .local_addr()
            .map_err(|e| unreachable(format!("starting the browser's proxy: {e}")))?;
        let profile = Profile::new().map_err(|e| unreachable(format!("browser profile: {e}")))?;
        let mut child = tokio::process::Command::new(&self.chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--no-first-run",
                "--mute-audio",
                "--autoplay-policy=user-gesture-required",
                "--blink-settings=imagesEnabled=false",
                "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
                "--proxy-bypass-list=<-loopback>",
                "--dump-dom",
                // A page's scripts get a bounded heap, not the machine's memory.
                "--js-flags=--max-old-space-size=256",
            ])
            .arg(format!("--proxy-server=http://{proxy}"))
            .arg(format!("--user-data-dir={}", profile.0.display()))
            .arg(format!("--virtual-time-budget={SCRIPT_BUDGET_MS}"))
            .arg(url.as_str())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                unreachable(format!(
                    "the browser at {} could not start ({e})",
                    self.chromium.display()
                ))
            })?;
        let Some(mut stdout) = child.stdout.take() else {
            return Err(unreachable("the browser gave no output".into()));
        };
        let limit = self.policy.max_bytes;
        // Read a little past a small limit: Chromium's error page (told apart below) is
        // ~100 KB before its body.
        let read_limit = limit.max(1 << 20);
        let read = async {
            let mut html = Vec::new();
            (&mut stdout)
                .take(read_limit as u64 + 1)
                .read_to_end(&mut html)
                .await
                .map(|_| html)
        };
        let mut connections = JoinSet::new();
        // The hosts the guard refused to this page, to tell a refused navigation.
        let refused_hosts: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
        let serve = async {
            loop {
                if let Ok((socket, _)) = listener.accept().await {
                    let policy = self.policy.clone();
                    let refused = self.refused.clone();
                    let hosts = refused_hosts.clone();
                    connections.spawn(async move {
                        if let Err(Refused(host)) = proxy_connection(socket, &policy).await {
                            refused.fetch_add(1, Ordering::Relaxed);
                            if let Some(host) = host {
                                hosts.lock().unwrap_or_else(|e| e.into_inner()).push(host);
                            }
                        }
                    });
                    // Finished connections need not wait for the end of the render.
                    while connections.try_join_next().is_some() {}
                }
            }
        };
        let outcome = tokio::time::timeout(self.timeout, async {
            tokio::select! {
                html = read => html,
                never = serve => never,
            }
        })
        .await;
        // Ends the browser (if still running) and every connection of its proxy.
        let _ = child.start_kill();
        let _ = child.wait().await;
        connections.shutdown().await;
        let html = match outcome {
            Err(_) => {
                return Err(unreachable(format!(
                    "the page did not finish rendering within {} s",
                    self.timeout.as_secs()
                )));
            }
            Ok(Err(e)) => return Err(unreachable(format!("reading the browser's output: {e}"))),
            Ok(Ok(html)) => html,
        };
        let html = String::from_utf8_lossy(&html).into_owned();
        if html.trim().is_empty() {
            return Err(unreachable("the browser could not render the page".into()));
        }
        // A navigation that failed (a meta refresh or a script sent the page somewhere the
        // guard refused) leaves Chromium's own error page, titled with the host it failed
        // on: never knowledge.
        if html.contains("<body class=\"neterror\"") && html.contains("id=\"main-frame-error\"") {
            let host = html
                .split_once("<title>")
                .and_then(|(_, rest)| rest.split_once("</title>"))
                .map(|(title, _)| title.trim().to_owned())
                .unwrap_or_default();
            let refused = refused_hosts.lock().unwrap_or_else(|e| e.into_inner());
            if refused.contains(&host) {
                return Err(FetchError::NotAllowed(format!("A redirect to {host}")));
            }
            return Err(unreachable(format!("the browser could not load {host}")));
        }
        if html.len() > limit {
            return Err(FetchError::TooLarge(shown, limit / 1_000_000));
        }
        Ok(html)
    }
}

/// The proxy refused a request (or it could not be served), with the host when it was the
/// guard that refused it.
#[derive(Debug)]
struct Refused(Option<String>);

/// Serves one of the browser's proxy connections: `CONNECT host:port` (HTTPS, WebSockets
/// over TLS) becomes a tunnel, `GET http://…` (any method) is forwarded with
/// `Connection: close`. Either only after the target passes the guard, and to the very
/// address that passed.
async fn proxy_connection(mut client: TcpStream, policy: &FetchPolicy) -> Result<(), Refused> {
    let _ = client.set_nodelay(true);
    let (head, rest) =
        match tokio::time::timeout(Duration::from_secs(10), read_head(&mut client)).await {
            Ok(Ok(read)) => read,
            _ => return Err(Refused(None)),
        };
    let head = String::from_utf8_lossy(&head).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let (method, target, version) = (
        request_line.next().unwrap_or_default(),
        request_line.next().unwrap_or_default(),
        request_line.next().unwrap_or("HTTP/1.1"),
    );
    let tunnel = method.eq_ignore_ascii_case("CONNECT");
    let checked = if tunnel {
        checked_address(&format!("https://{target}/"), policy).await
    } else {
        checked_address(target, policy).await
    };
    let (url, address) = match checked {
        Ok(found) => found,
        Err(()) => {
            let _ = client
                .write_all(
                    b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                )
                .await;
            let host = if tunnel {
                target.rsplit_once(':').map(|(host, _)| {
                    host.trim_start_matches('[')
                        .trim_end_matches(']')
                        .to_owned()
                })
            } else {
                Url::parse(target)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_owned))
            };
            return Err(Refused(host));
        }
    };
    let Ok(Ok(mut upstream)) =
        tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(address)).await
    else {
        let _ = client
            .write_all(
                b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            )
            .await;
        return Ok(());
    };
    let _ = upstream.set_nodelay(true);
    if tunnel {
        if client
            .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            .await
            .is_err()
        {
            return Ok(());
        }
    } else {
        let mut path = url.path().to_owned();
        if let Some(query) = url.query() {
            path.push('?');
            path.push_str(query);
        }
        let mut forwarded = format!("{method} {path} {version}\r\n");
        for line in lines.filter(|l| !l.is_empty()) {
            let name = line.split(':').next().unwrap_or_default().trim();
            if ![
                "proxy-connection",
                "proxy-authorization",
                "connection",
                "keep-alive",
            ]
            .iter()
            .any(|hop| name.eq_ignore_ascii_case(hop))
            {
                forwarded.push_str(line);
                forwarded.push_str("\r\n");
            }
        }
        forwarded.push_str("Connection: close\r\n\r\n");
        if upstream.write_all(forwarded.as_bytes()).await.is_err() {
            return Ok(());
        }
    }
    if !rest.is_empty() && upstream.write_all(&rest).await.is_err() {
        return Ok(());
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    Ok(())
}

/// Reads up to the blank line that ends a request head; returns the head and whatever
/// came after it.
async fn read_head<R: AsyncRead + Unpin>(reader: &mut R) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    let mut buf = Vec::with_capacity(2048);
    let mut chunk = [0u8; 4096];
    loop {
        let n = reader.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buf.split_off(end + 4);
            buf.truncate(end);
            return Ok((buf, rest));
        }
        if buf.len() > MAX_HEAD {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
    }
}

/// The URL and the one address the proxy may connect to for `target`, when the guard
/// allows it.
async fn checked_address(target: &str, policy: &FetchPolicy) -> Result<(Url, SocketAddr), ()> {
    let url = check_url(target, policy).map_err(|_| ())?;
    let port = url.port_or_known_default().ok_or(())?;
    let address = match url.host() {
        Some(Host::Ipv4(ip)) => SocketAddr::from((ip, port)),
        Some(Host::Ipv6(ip)) => SocketAddr::from((ip, port)),
        Some(Host::Domain(domain)) => {
            let allow_private = policy.allow_private || policy.allows_host(domain);
            *resolve(domain, port, allow_private)
                .await
                .map_err(|_| ())?
                .first()
                .ok_or(())?
        }
        None => return Err(()),
    };
    Ok((url, address))
}

/// A fresh Chromium profile directory, removed when dropped.
struct Profile(PathBuf);

impl Profile {
    fn new() -> std::io::Result<Profile> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let dir = std::env::temp_dir().join(format!(
            "docent-render-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir)?;
        Ok(Profile(dir))
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether an HTML page shows so little text without scripts that it is probably built by
/// them: fewer than `min_words` words outside scripts, styles and templates.
pub fn looks_script_built(html: &str, min_words: usize) -> bool {
    let document = dom_query::Document::from(html);
    document
        .select("script, style, noscript, template")
        .remove();
    let text = document.select("body").text();
    text.split_whitespace().take(min_words).count() < min_words
}
