//! Crawling a whole site: its sitemap when it has one, otherwise its links breadth-first;
//! robots.txt honoured; one host, politely (a delay between requests); duplicate pages
//! (same canonical address or same content) skipped; page and depth limits.
//! Every request goes through the guarded [`Fetcher`].

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use sha2::{Digest, Sha256};
use url::Url;

use crate::fetch::{FetchError, Fetched, Fetcher};

/// What to crawl.
#[derive(Clone, Debug)]
pub struct CrawlOptions {
    pub max_pages: usize,
    pub max_depth: usize,
    /// Only addresses whose path contains one of these (all when empty).
    pub include: Vec<String>,
    /// Never addresses whose path contains one of these.
    pub exclude: Vec<String>,
    /// Pause between two requests (robots.txt's Crawl-delay wins when longer).
    pub delay: Duration,
}

impl Default for CrawlOptions {
    fn default() -> Self {
        CrawlOptions {
            max_pages: 50,
            max_depth: 3,
            include: Vec::new(),
            exclude: Vec::new(),
            delay: Duration::from_millis(500),
        }
    }
}

/// The rules of robots.txt that apply to Docent.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Robots {
    allow: Vec<String>,
    disallow: Vec<String>,
    pub crawl_delay: Option<Duration>,
    pub sitemaps: Vec<String>,
}

impl Robots {
    /// Reads the group for `DocentBot` if there is one, else the `*` group.
    pub fn parse(text: &str) -> Robots {
        let mut groups: Vec<(Vec<String>, Robots)> = Vec::new();
        let mut sitemaps = Vec::new();
        let mut in_agents = false;
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let (key, value) = (key.trim().to_ascii_lowercase(), value.trim().to_owned());
            match key.as_str() {
                "user-agent" => {
                    if !in_agents {
                        groups.push((Vec::new(), Robots::default()));
                    }
                    in_agents = true;
                    if let Some((agents, _)) = groups.last_mut() {
                        agents.push(value.to_ascii_lowercase());
                    }
                }
                "sitemap" => sitemaps.push(value),
                rule => {
                    in_agents = false;
                    let Some((_, robots)) = groups.last_mut() else {
                        continue;
                    };
                    match rule {
                        "allow" if !value.is_empty() => robots.allow.push(value),
                        "disallow" if !value.is_empty() => robots.disallow.push(value),
                        "crawl-delay" => {
                            robots.crawl_delay = value
                                .parse::<f64>()
                                .ok()
                                .filter(|d| *d >= 0.0 && *d < 60.0)
                                .map(Duration::from_secs_f64)
                        }
                        _ => {}
                    }
                }
            }
        }
        let pick = |name: &str| {
            groups
                .iter()
                .find(|(agents, _)| agents.iter().any(|a| a == name))
                .map(|(_, r)| r.clone())
        };
        let mut robots = pick("docentbot").or_else(|| pick("*")).unwrap_or_default();
        robots.sitemaps = sitemaps;
        robots
    }

    /// Whether `path` may be fetched: the longest matching rule wins, Allow on ties.
    pub fn allows(&self, path: &str) -> bool {
        let longest = |rules: &[String]| {
            rules
                .iter()
                .filter(|r| matches_rule(path, r))
                .map(String::len)
                .max()
        };
        match (longest(&self.allow), longest(&self.disallow)) {
            (_, None) => true,
            (None, Some(_)) => false,
            (Some(a), Some(d)) => a >= d,
        }
    }
}

/// robots.txt patterns: a prefix, with `*` for any run of characters and `$` for the end.
fn matches_rule(path: &str, rule: &str) -> bool {
    let (rule, anchored) = match rule.strip_suffix('$') {
        Some(r) => (r, true),
        None => (rule, false),
    };
    let parts: Vec<&str> = rule.split('*').collect();
    let mut rest = path;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if let Some(at) = rest.find(part) {
            rest = &rest[at + part.len()..];
        } else {
            return false;
        }
    }
    !anchored || rest.is_empty() || parts.last().is_some_and(|p| p.is_empty())
}

/// `<loc>` entries of a sitemap, and whether it is an index of further sitemaps.
pub fn sitemap_locations(xml: &str) -> (Vec<String>, bool) {
    let is_index = xml.contains("<sitemapindex");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find("<loc>") {
        rest = &rest[start + 5..];
        let Some(end) = rest.find("</loc>") else {
            break;
        };
        let loc = rest[..end].trim().replace("&amp;", "&");
        if !loc.is_empty() {
            out.push(loc);
        }
        rest = &rest[end..];
    }
    (out, is_index)
}

/// Links and the canonical address of an HTML page, absolute.
pub fn page_links(html: &str, base: &Url) -> (Vec<Url>, Option<Url>) {
    let doc = dom_query::Document::from(html);
    let mut links = Vec::new();
    for node in doc.select("a[href]").nodes() {
        if let Some(href) = node.attr("href")
            && let Ok(mut url) = base.join(href.trim())
        {
            url.set_fragment(None);
            links.push(url);
        }
    }
    let canonical = doc
        .select("link[rel=canonical]")
        .nodes()
        .first()
        .and_then(|n| n.attr("href"))
        .and_then(|h| base.join(h.trim()).ok());
    (links, canonical)
}

/// One page the crawl kept.
#[derive(Clone, Debug)]
pub struct Page {
    pub fetched: Fetched,
    pub depth: usize,
}

/// How a crawl went.
#[derive(Clone, Debug, Default)]
pub struct CrawlReport {
    pub pages: usize,
    pub skipped_by_robots: usize,
    pub duplicates: usize,
    pub failed: Vec<String>,
}

fn same_site(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

fn wanted(url: &Url, options: &CrawlOptions) -> bool {
    let path = url.path();
    let looks_like_file = path
        .rsplit('/')
        .next()
        .and_then(|last| last.rsplit_once('.'))
        .is_some_and(|(_, ext)| {
            matches!(
                ext.to_ascii_lowercase().as_str(),
                "jpg"
                    | "jpeg"
                    | "png"
                    | "gif"
                    | "svg"
                    | "webp"
                    | "ico"
                    | "css"
                    | "js"
                    | "zip"
                    | "gz"
                    | "mp4"
                    | "mp3"
                    | "woff"
                    | "woff2"
                    | "xml"
            )
        });
    !looks_like_file
        && (options.include.is_empty() || options.include.iter().any(|p| path.contains(p.as_str())))
        && !options.exclude.iter().any(|p| path.contains(p.as_str()))
}

fn is_page(fetched: &Fetched) -> bool {
    fetched.content_type.as_deref().is_none_or(|t| {
        let t = t.to_ascii_lowercase();
        t.starts_with("text/html")
            || t.starts_with("application/xhtml")
            || t.starts_with("application/pdf")
            || t.starts_with("text/plain")
            || t.starts_with("text/markdown")
    })
}

/// Crawls from `start`, calling `on_page` with each kept page (in crawl order) and its
/// count so far. Stops at `max_pages` kept pages.
pub async fn crawl<F, Fut>(
    fetcher: &Fetcher,
    start: &Url,
    options: &CrawlOptions,
    mut on_page: F,
) -> Result<CrawlReport, FetchError>
where
    F: FnMut(Page, usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut report = CrawlReport::default();
    let origin = start
        .join("/")
        .map_err(|_| FetchError::InvalidUrl(start.to_string()))?;
    let robots = match fetcher
        .get(
            origin
                .join("robots.txt")
                .map_err(|_| FetchError::InvalidUrl(start.to_string()))?
                .as_str(),
        )
        .await
    {
        Ok(f) => Robots::parse(&String::from_utf8_lossy(&f.bytes)),
        Err(FetchError::NotAllowed(what)) => return Err(FetchError::NotAllowed(what)),
        Err(_) => Robots::default(),
    };
    let delay = robots
        .crawl_delay
        .map_or(options.delay, |d| d.max(options.delay));

    // The sitemap, when there is one, lists the pages; else links are followed.
    let mut sitemap_pages: Vec<Url> = Vec::new();
    let mut sitemaps: VecDeque<String> = robots.sitemaps.iter().cloned().collect();
    if sitemaps.is_empty()
        && let Ok(url) = origin.join("sitemap.xml")
    {
        sitemaps.push_back(url.to_string());
    }
    let mut sitemap_fetches = 0;
    while let Some(sitemap) = sitemaps.pop_front() {
        sitemap_fetches += 1;
        if sitemap_fetches > 5 {
            break;
        }
        let Ok(url) = Url::parse(&sitemap) else {
            continue;
        };
        if !same_site(&url, start) {
            continue;
        }
        tokio::time::sleep(delay).await;
        let Ok(fetched) = fetcher.get(url.as_str()).await else {
            continue;
        };
        let (locations, is_index) = sitemap_locations(&String::from_utf8_lossy(&fetched.bytes));
        for loc in locations {
            if is_index {
                sitemaps.push_back(loc);
            } else if let Ok(url) = Url::parse(&loc)
                && same_site(&url, start)
            {
                sitemap_pages.push(url);
            }
        }
    }

    let mut queue: VecDeque<(Url, usize)> = VecDeque::new();
    queue.push_back((start.clone(), 0));
    for url in sitemap_pages {
        queue.push_back((url, 1));
    }
    let mut seen: HashSet<String> = HashSet::new();
    let mut hashes: HashSet<[u8; 32]> = HashSet::new();
    let mut first = true;
    while let Some((url, depth)) = queue.pop_front() {
        if report.pages >= options.max_pages {
            break;
        }
        if !seen.insert(url.as_str().to_owned()) || !wanted(&url, options) && url != *start {
            continue;
        }
        if !robots.allows(url.path()) {
            report.skipped_by_robots += 1;
            continue;
        }
        if !first {
            tokio::time::sleep(delay).await;
        }
        first = false;
        let fetched = match fetcher.get_page(url.as_str()).await {
            Ok(f) => f,
            Err(e) => {
                report.failed.push(e.to_string());
                continue;
            }
        };
        if !same_site(&fetched.url, start) || !is_page(&fetched) {
            continue;
        }
        let html = String::from_utf8_lossy(&fetched.bytes).into_owned();
        let (links, canonical) = page_links(&html, &fetched.url);
        if let Some(canonical) = canonical
            && canonical != fetched.url
            && !seen.insert(canonical.as_str().to_owned())
        {
            report.duplicates += 1;
            continue;
        }
        let digest: [u8; 32] = Sha256::digest(&fetched.bytes).into();
        if !hashes.insert(digest) {
            report.duplicates += 1;
            continue;
        }
        if depth < options.max_depth {
            for link in links {
                if same_site(&link, start) && !seen.contains(link.as_str()) {
                    queue.push_back((link, depth + 1));
                }
            }
        }
        report.pages += 1;
        on_page(Page { fetched, depth }, report.pages).await;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn robots_rules() {
        let robots = Robots::parse(
            "User-agent: other\nDisallow: /\n\nUser-agent: *\nDisallow: /private\nAllow: /private/open\nDisallow: /*.pdf$\nCrawl-delay: 2\nSitemap: https://x.example/sitemap.xml\n",
        );
        assert!(robots.allows("/faq"));
        assert!(!robots.allows("/private/notes"));
        assert!(robots.allows("/private/open/page"));
        assert!(!robots.allows("/files/a.pdf"));
        assert!(robots.allows("/files/a.pdf.html"));
        assert_eq!(robots.crawl_delay, Some(Duration::from_secs(2)));
        assert_eq!(
            robots.sitemaps,
            vec!["https://x.example/sitemap.xml".to_owned()]
        );
        let ours =
            Robots::parse("User-agent: *\nDisallow:\n\nUser-agent: DocentBot\nDisallow: /\n");
        assert!(!ours.allows("/anything"));
    }

    #[test]
    fn sitemaps_and_links() {
        let (locs, index) = sitemap_locations(
            "<urlset><url><loc> https://x.example/a?x=1&amp;y=2 </loc></url><url><loc>https://x.example/b</loc></url></urlset>",
        );
        assert_eq!(
            locs,
            vec![
                "https://x.example/a?x=1&y=2".to_owned(),
                "https://x.example/b".to_owned()
            ]
        );
        assert!(!index);
        let base = Url::parse("https://x.example/docs/").expect("url");
        let (links, canonical) = page_links(
            "<link rel=canonical href='/docs/intro'><a href='page#top'>p</a><a href='https://other.example/'>o</a>",
            &base,
        );
        assert_eq!(links[0].as_str(), "https://x.example/docs/page");
        assert_eq!(
            canonical.map(|c| c.to_string()).as_deref(),
            Some("https://x.example/docs/intro")
        );
    }
}
