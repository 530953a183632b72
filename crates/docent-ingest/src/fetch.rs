//! Fetching web pages without becoming a proxy into the server's network (SSRF).
//!
//! Every address a URL leads to is checked: IP literals when the URL is read, host names
//! when they are resolved (by the resolver the HTTP client connects with, so a name cannot
//! resolve safely once and dangerously later), and every redirect hop. Loopback, private,
//! link-local (including cloud metadata), carrier-grade NAT, multicast and reserved
//! addresses are refused unless `allow_private` is set (tests, intranets).

use std::error::Error as StdError;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Once};
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

use crate::render::{Renderer, looks_script_built};

/// Why a fetch did not happen or did not work. Each message tells the owner what to do.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum FetchError {
    #[error("\"{0}\" is not a valid web address; use one like https://www.example.com/page.")]
    InvalidUrl(String),
    /// The message names the settings that allow a private host: an intranet's pages are a
    /// fair thing to want, and a refusal should say how to get them.
    #[error(
        "{0} is not allowed: Docent only fetches public http(s) addresses. A server \
         administrator can allow hosts on a private network with DOCENT_FETCH_ALLOWED_HOSTS \
         (or every private address with DOCENT_FETCH_ALLOW_PRIVATE=true)."
    )]
    NotAllowed(String),
    #[error("{0} could not be reached: {1}")]
    Unreachable(String, String),
    /// It did not answer, or went quiet, within the time allowed (`{1}` says which).
    #[error("{0} could not be reached: {1}")]
    TimedOut(String, String),
    #[error("{0} answered with HTTP status {1}.")]
    Status(String, u16),
    #[error("{0} is larger than {1} MB.")]
    TooLarge(String, usize),
}

/// What may be fetched and how.
#[derive(Clone, Debug)]
pub struct FetchPolicy {
    /// Allow loopback and private addresses (tests and intranets only).
    pub allow_private: bool,
    /// Hosts (names or IPs, lower-case, no port) allowed even when private.
    pub allowed_hosts: Vec<String>,
    pub max_bytes: usize,
    pub timeout: Duration,
    pub max_redirects: usize,
    pub user_agent: String,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        FetchPolicy {
            allow_private: false,
            allowed_hosts: Vec::new(),
            max_bytes: 20 * 1024 * 1024,
            timeout: Duration::from_secs(20),
            max_redirects: 5,
            user_agent: concat!(
                "DocentBot/",
                env!("CARGO_PKG_VERSION"),
                " (+https://github.com/docent-chat/docent)"
            )
            .to_owned(),
        }
    }
}

/// Whether `ip` is a public unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            let v4 = |hi: u16, lo: u16| {
                Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8)
            };
            // Forms that carry an IPv4 address are judged by it: IPv4-compatible ::a.b.c.d,
            // IPv4-translated ::ffff:0:a.b.c.d, NAT64 64:ff9b::/96 and its local-use
            // 64:ff9b:1::/48, 6to4 2002:AABB:CCDD::/48, and Teredo 2001:0::/32 (server in
            // bits 32-63, client inverted in the last 32): both of Teredo's must be public.
            if s[..6] == [0; 6]
                || s[..6] == [0, 0, 0, 0, 0xffff, 0]
                || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0]
            {
                return is_public_v4(v4(s[6], s[7]));
            }
            if s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1 {
                return false;
            }
            if s[0] == 0x2002 {
                return is_public_v4(v4(s[1], s[2]));
            }
            if s[0] == 0x2001 && s[1] == 0 {
                return is_public_v4(v4(s[2], s[3])) && is_public_v4(v4(!s[6], !s[7]));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7 (AWS metadata fd00:ec2::254)
                || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (s[0] & 0xffc0) == 0xfec0 // site-local fec0::/10
                || s[..4] == [0x100, 0, 0, 0] // discard-only 100::/64
                || s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || o[0] == 0
        || (o[0] == 100 && (64..128).contains(&o[1])) // carrier-grade NAT, Alibaba metadata
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments, Oracle metadata
        || (o[0] == 198 && (18..20).contains(&o[1])) // benchmarking
        || o[0] >= 240) // reserved
}

/// Reads a URL and refuses what can be refused without DNS: other schemes, credentials,
/// and non-public IP literals (in every spelling: decimal, octal, hex, IPv4-mapped…, which
/// the WHATWG parser normalises).
pub fn check_url(raw: &str, policy: &FetchPolicy) -> Result<Url, FetchError> {
    let raw = raw.trim();
    let url =
        Url::parse(raw).map_err(|_| FetchError::InvalidUrl(raw.chars().take(200).collect()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchError::NotAllowed(format!(
            "The {} scheme",
            url.scheme()
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(FetchError::NotAllowed(
            "A web address with a user name or password".into(),
        ));
    }
    let allow_private =
        policy.allow_private || url.host_str().is_some_and(|h| policy.allows_host(h));
    match url.host() {
        None => return Err(FetchError::InvalidUrl(raw.chars().take(200).collect())),
        Some(Host::Ipv4(ip)) if !allow_private && !is_public(IpAddr::V4(ip)) => {
            return Err(FetchError::NotAllowed(format!("The address {ip}")));
        }
        Some(Host::Ipv6(ip)) if !allow_private && !is_public(IpAddr::V6(ip)) => {
            return Err(FetchError::NotAllowed(format!("The address [{ip}]")));
        }
        Some(Host::Domain(domain))
            if !allow_private && (domain == "localhost" || domain.ends_with(".localhost")) =>
        {
            return Err(FetchError::NotAllowed(format!("The host {domain}")));
        }
        _ => {}
    }
    Ok(url)
}

impl FetchPolicy {
    /// Whether `host` is on the allowlist.
    pub fn allows_host(&self, host: &str) -> bool {
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        self.allowed_hosts.contains(&host)
    }
}

/// Resolves `url`'s host now and refuses it when any address is not public.
pub async fn check_resolved(url: &Url, policy: &FetchPolicy) -> Result<(), FetchError> {
    let Some(Host::Domain(domain)) = url.host() else {
        return Ok(());
    };
    let allow_private = policy.allow_private || policy.allows_host(domain);
    let port = url.port_or_known_default().unwrap_or(80);
    let addrs = resolve(domain, port, allow_private)
        .await
        .map_err(|e| match e {
            Refusal::Blocked(what) => FetchError::NotAllowed(what),
            Refusal::Failed(why) => FetchError::Unreachable(domain.to_owned(), why),
        })?;
    if addrs.is_empty() {
        return Err(FetchError::Unreachable(
            domain.to_owned(),
            "the name has no address".into(),
        ));
    }
    Ok(())
}

#[derive(Debug)]
pub(crate) enum Refusal {
    Blocked(String),
    Failed(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Blocked(what) => write!(f, "{what} is not allowed"),
            Refusal::Failed(why) => f.write_str(why),
        }
    }
}

impl StdError for Refusal {}

pub(crate) async fn resolve(
    host: &str,
    port: u16,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, Refusal> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| Refusal::Failed(format!("the name does not resolve ({e})")))?
        .collect();
    if !allow_private && let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
        return Err(Refusal::Blocked(format!(
            "The host {host}, which points to {}",
            bad.ip()
        )));
    }
    Ok(addrs)
}

/// The resolver the HTTP client connects with: only public addresses.
#[derive(Debug)]
struct GuardedResolver {
    policy: FetchPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.policy.allow_private || self.policy.allows_host(name.as_str());
        Box::pin(async move {
            let addrs = resolve(name.as_str(), 0, allow_private).await?;
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// A fetched document.
#[derive(Clone, Debug)]
pub struct Fetched {
    /// Where the content came from after redirects.
    pub url: Url,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
    /// Whether `bytes` is the page as a browser showed it after its scripts ran.
    pub rendered: bool,
}

/// An HTTP client that only reaches what [`FetchPolicy`] allows.
#[derive(Clone, Debug)]
pub struct Fetcher {
    client: reqwest::Client,
    /// For calls that must not follow redirects (webhooks: a 3xx is the receiver's answer).
    direct: reqwest::Client,
    policy: FetchPolicy,
    renderer: Option<Arc<Renderer>>,
}

/// Pages showing fewer words than this without scripts are rendered, when a browser is
/// configured.
const RENDER_BELOW_WORDS: usize = 100;

/// Installs the TLS crypto provider (ring) for every HTTP client of the process; safe to
/// call many times.
pub fn init_tls() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Another part of the program may have installed one already; either will do.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl Fetcher {
    pub fn new(policy: FetchPolicy) -> Result<Fetcher, FetchError> {
        init_tls();
        let hop_policy = policy.clone();
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= hop_policy.max_redirects {
                return attempt.error(Refusal::Failed("too many redirects".into()));
            }
            match check_url(attempt.url().as_str(), &hop_policy) {
                Ok(_) => attempt.follow(),
                Err(FetchError::NotAllowed(what)) => {
                    attempt.error(Refusal::Blocked(format!("A redirect to {what}")))
                }
                Err(e) => attempt.error(Refusal::Failed(e.to_string())),
            }
        });
        let client = reqwest::Client::builder()
            .user_agent(policy.user_agent.clone())
            .timeout(policy.timeout)
            .connect_timeout(Duration::from_secs(10))
            .redirect(redirects)
            .dns_resolver(Arc::new(GuardedResolver {
                policy: policy.clone(),
            }))
            .no_proxy()
            .build()
            .map_err(|e| FetchError::Unreachable("the web".into(), e.to_string()))?;
        let direct = reqwest::Client::builder()
            .user_agent(policy.user_agent.clone())
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver {
                policy: policy.clone(),
            }))
            .no_proxy()
            .build()
            .map_err(|e| FetchError::Unreachable("the web".into(), e.to_string()))?;
        Ok(Fetcher {
            client,
            direct,
            policy,
            renderer: None,
        })
    }

    /// Renders script-built pages with this browser in [`Fetcher::get_page`].
    pub fn with_renderer(mut self, renderer: Renderer) -> Fetcher {
        self.renderer = Some(Arc::new(renderer));
        self
    }

    pub fn renderer(&self) -> Option<&Renderer> {
        self.renderer.as_deref()
    }

    /// GETs a page to learn from: like [`Fetcher::get`], and when a browser is configured
    /// and the HTML shows almost no text without scripts, the page as the browser renders
    /// it (through the same guard). A failed render keeps what was fetched.
    pub async fn get_page(&self, raw: &str) -> Result<Fetched, FetchError> {
        let mut fetched = self.get(raw).await?;
        let Some(renderer) = &self.renderer else {
            return Ok(fetched);
        };
        let html_type = fetched.content_type.as_deref().is_some_and(|t| {
            let t = t.to_ascii_lowercase();
            t.starts_with("text/html") || t.starts_with("application/xhtml")
        });
        if !html_type
            || !looks_script_built(&String::from_utf8_lossy(&fetched.bytes), RENDER_BELOW_WORDS)
        {
            return Ok(fetched);
        }
        match renderer.render(&fetched.url).await {
            Ok(html) => {
                fetched.bytes = html.into_bytes();
                fetched.content_type = Some("text/html; charset=utf-8".into());
                fetched.rendered = true;
            }
            // The page sent the browser somewhere the guard refused: nothing of it is kept.
            Err(e @ FetchError::NotAllowed(_)) => return Err(e),
            Err(e) => {
                tracing::warn!(url = %fetched.url, error = %e, "could not render the page; keeping it as fetched");
            }
        }
        Ok(fetched)
    }

    pub fn policy(&self) -> &FetchPolicy {
        &self.policy
    }

    /// GETs `raw`, refusing anything the policy does not allow, up to `max_bytes`.
    pub async fn get(&self, raw: &str) -> Result<Fetched, FetchError> {
        let url = check_url(raw, &self.policy)?;
        let shown = url.as_str().to_owned();
        let mut response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| classify(&shown, &e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status(shown, status.as_u16()));
        }
        let final_url = response.url().clone();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let limit = self.policy.max_bytes;
        if response
            .content_length()
            .is_some_and(|n| n as usize > limit)
        {
            return Err(FetchError::TooLarge(shown, limit / 1_000_000));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| classify(&shown, &e))? {
            if bytes.len() + chunk.len() > limit {
                return Err(FetchError::TooLarge(shown, limit / 1_000_000));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            url: final_url,
            content_type,
            bytes,
            rendered: false,
        })
    }
}

/// What a receiver answered to [`Fetcher::post`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Posted {
    pub status: u16,
    /// `Retry-After`, when given in seconds.
    pub retry_after: Option<Duration>,
    /// The first bytes of the answer (at most what was asked for).
    pub body: Vec<u8>,
}

impl Fetcher {
    /// POSTs `body` to `raw` with `headers`, through the same guard, following no redirect,
    /// within `timeout` for the whole exchange; reads at most `max_body` bytes of the answer.
    /// Any HTTP status is an answer, not an error.
    pub async fn post(
        &self,
        raw: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
        timeout: Duration,
        max_body: usize,
    ) -> Result<Posted, FetchError> {
        let url = check_url(raw, &self.policy)?;
        let shown = url.as_str().to_owned();
        let mut request = self.direct.post(url).timeout(timeout).body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let exchange = async {
            let mut response = request.send().await.map_err(|e| classify(&shown, &e))?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let mut bytes = Vec::new();
            while bytes.len() < max_body {
                match response.chunk().await {
                    Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
                    Ok(None) => break,
                    // The status is the answer; a body cut short does not change it.
                    Err(_) => break,
                }
            }
            bytes.truncate(max_body);
            Ok(Posted {
                status,
                retry_after,
                body: bytes,
            })
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or_else(|_| {
                Err(FetchError::TimedOut(
                    shown.clone(),
                    "it took too long to answer".into(),
                ))
            })
    }
}

/// An answer being read as it comes ([`Fetcher::post_streaming`]).
#[derive(Debug)]
pub struct PostStream {
    pub status: u16,
    pub content_type: Option<String>,
    url: String,
    response: reqwest::Response,
}

impl PostStream {
    /// The next bytes of the answer, `None` at its end; an error when nothing came for
    /// `idle`.
    pub async fn next_chunk(&mut self, idle: Duration) -> Result<Option<Vec<u8>>, FetchError> {
        match tokio::time::timeout(idle, self.response.chunk()).await {
            Ok(Ok(chunk)) => Ok(chunk.map(|c| c.to_vec())),
            Ok(Err(e)) => Err(classify(&self.url, &e)),
            Err(_) => Err(FetchError::TimedOut(
                self.url.clone(),
                "it went quiet for too long in the middle of its answer".into(),
            )),
        }
    }
}

impl Fetcher {
    /// POSTs like [`Fetcher::post`], and gives the answer to read as it comes: `first_byte`
    /// bounds the wait for the status line and headers.
    pub async fn post_streaming(
        &self,
        raw: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
        first_byte: Duration,
    ) -> Result<PostStream, FetchError> {
        let url = check_url(raw, &self.policy)?;
        let shown = url.as_str().to_owned();
        let mut request = self.direct.post(url).body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = tokio::time::timeout(first_byte, request.send())
            .await
            .map_err(|_| FetchError::TimedOut(shown.clone(), "it took too long to answer".into()))?
            .map_err(|e| classify(&shown, &e))?;
        Ok(PostStream {
            status: response.status().as_u16(),
            content_type: response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            url: shown,
            response,
        })
    }
}

/// Turns a client error into a refusal when the guard caused it.
fn classify(url: &str, error: &reqwest::Error) -> FetchError {
    let mut source: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(refusal) = e.downcast_ref::<Refusal>() {
            return match refusal {
                Refusal::Blocked(what) => FetchError::NotAllowed(what.clone()),
                Refusal::Failed(why) => FetchError::Unreachable(url.to_owned(), why.clone()),
            };
        }
        source = e.source();
    }
    if error.is_timeout() {
        return FetchError::TimedOut(url.to_owned(), "it took too long to answer".to_owned());
    }
    FetchError::Unreachable(url.to_owned(), error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_odd_addresses_are_refused_without_dns() {
        for raw in [
            "http://127.0.0.1/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://0177.1/",
            "http://127.1/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://[::7f00:1]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[fd00:ec2::254]/",
            "http://100.100.100.200/",
            "http://192.0.0.192/",
            "http://10.0.0.1/",
            "http://0/",
            "http://localhost/",
            "http://LOCALHOST:80/",
            "http://①②⑦。⓪。⓪。①/",
            "http://127｡0｡0｡1/",
            "file:///etc/passwd",
            "gopher://127.0.0.1/",
            "ftp://example.com/",
            "javascript:alert(1)",
            "http://user:pass@example.com/",
            "http:\\\\127.0.0.1/",
        ] {
            let result = check_url(raw, &FetchPolicy::default());
            assert!(
                matches!(
                    result,
                    Err(FetchError::NotAllowed(_)) | Err(FetchError::InvalidUrl(_))
                ),
                "{raw} gave {result:?}"
            );
        }
        assert!(check_url("https://www.example.com/page?q=1", &FetchPolicy::default()).is_ok());
        let open = FetchPolicy {
            allow_private: true,
            ..FetchPolicy::default()
        };
        assert!(
            check_url("http://127.0.0.1:8080/", &open).is_ok(),
            "tests and intranets may allow it"
        );
        let listed = FetchPolicy {
            allowed_hosts: vec!["10.1.2.3".into()],
            ..FetchPolicy::default()
        };
        assert!(check_url("http://10.1.2.3/wiki", &listed).is_ok());
        assert!(check_url("http://10.1.2.4/wiki", &listed).is_err());
    }

    #[test]
    fn ipv6_forms_that_embed_ipv4_are_judged_by_it() {
        for ip in [
            "2002:7f00:1::1",                       // 6to4 of 127.0.0.1
            "2002:a9fe:a9fe::",                     // 6to4 of 169.254.169.254
            "2002:c0a8:101::1",                     // 6to4 of 192.168.1.1
            "64:ff9b::7f00:1",                      // NAT64 of 127.0.0.1
            "64:ff9b::a00:1",                       // NAT64 of 10.0.0.1
            "64:ff9b:1::808:808",                   // local-use NAT64, whatever it embeds
            "2001:0:4136:e378:8000:63bf:80ff:fffe", // Teredo, client 127.0.0.1
            "2001:0:a00:1:8000:63bf:3fff:fdd2",     // Teredo, server 10.0.0.1
            "::127.0.0.1",                          // IPv4-compatible
            "::ffff:0:a9fe:a9fe",                   // IPv4-translated 169.254.169.254
            "100::1",                               // discard-only
        ] {
            assert!(!is_public(ip.parse().expect("ip")), "{ip}");
            let url = format!("http://[{ip}]/");
            assert!(
                matches!(
                    check_url(&url, &FetchPolicy::default()),
                    Err(FetchError::NotAllowed(_))
                ),
                "{url}"
            );
        }
        for ip in [
            "2002:808:808::1",                      // 6to4 of 8.8.8.8
            "64:ff9b::808:808",                     // NAT64 of 8.8.8.8
            "2001:0:4136:e378:8000:63bf:f7f7:f7f7", // Teredo, server and client public
        ] {
            assert!(is_public(ip.parse().expect("ip")), "{ip}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "93.184.215.14",
            "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
            "8.8.8.8",
        ] {
            assert!(is_public(ip.parse().expect("ip")), "{ip}");
        }
        for ip in [
            "172.16.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "fe80::1",
            "fc00::1",
        ] {
            assert!(!is_public(ip.parse().expect("ip")), "{ip}");
        }
    }
}
