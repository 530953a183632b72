//! What keeps the public widget fair and fast: the published chat space a visitor talks to
//! (cached by slug for a second), which sites may embed it, and rate limits per network,
//! per visitor and per chat space.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use docent_core::*;

use crate::accounts::ClientInfo;
use crate::{App, AppError};

/// The published chat space a widget request is for, and its organization's plan.
#[derive(Clone, Debug)]
pub struct WidgetSpace {
    pub space: ChatSpace,
    pub plan: Plan,
    pub client: ClientInfo,
    /// Who the request says the visitor is (see [`crate::identity`]).
    pub identity: crate::identity::Identity,
}

/// Whether `origin` (`scheme://host[:port]`, lower-cased) is on `allowed`. Entries are exact
/// origins or `scheme://*.domain`, which matches any subdomain of `domain` (not `domain`
/// itself). An empty list allows every origin.
pub fn origin_allowed(allowed: &[String], origin: &str) -> bool {
    if allowed.is_empty() {
        return true;
    }
    let origin = origin.to_ascii_lowercase();
    allowed.iter().any(|entry| {
        let entry = entry.to_ascii_lowercase();
        if entry == origin {
            return true;
        }
        let Some((scheme, rest)) = entry.split_once("://*.") else {
            return false;
        };
        let Some(host) = origin
            .strip_prefix(scheme)
            .and_then(|o| o.strip_prefix("://"))
        else {
            return false;
        };
        // `rest` may carry a port: compare host and port as written.
        host.len() > rest.len() + 1
            && host.ends_with(rest)
            && host.as_bytes()[host.len() - rest.len() - 1] == b'.'
    })
}

/// The published chat space of `slug` and its organization's plan, from the cache when it is
/// at most [`SpaceCache::TTL`] old.
pub async fn published(app: &App, slug: &str) -> Result<Option<(ChatSpace, Plan)>, AppError> {
    let now = Instant::now();
    if let Some(found) = app.widget_limits.spaces.get(slug, now) {
        return Ok(found);
    }
    let found = match app.store.find_chat_space_by_slug(slug).await? {
        Some(space) if space.status == ChatSpaceStatus::Published => app
            .store
            .find_organization(space.org_id)
            .await?
            .map(|org| (space, org.plan)),
        _ => None,
    };
    app.widget_limits.spaces.put(slug, found.clone(), now);
    Ok(found)
}

/// A published chat space and its organization's plan, or none.
type Found = Option<(ChatSpace, Plan)>;

/// Published chat spaces by slug for a second, unknown slugs included: every widget request
/// needs one, and a visitor's conversation makes several requests a second. A change in the
/// dashboard reaches visitors within [`SpaceCache::TTL`], on every replica.
#[derive(Debug, Default)]
pub struct SpaceCache {
    entries: Mutex<HashMap<String, (Instant, Found)>>,
}

impl SpaceCache {
    pub const TTL: Duration = Duration::from_secs(1);

    fn get(&self, slug: &str, now: Instant) -> Option<Option<(ChatSpace, Plan)>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(slug)
            .filter(|(at, _)| now.duration_since(*at) < Self::TTL)
            .map(|(_, found)| found.clone())
    }

    /// Drops what is known of `slug` (its chat space just changed).
    pub fn forget(&self, slug: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.remove(slug);
    }

    fn put(&self, slug: &str, found: Option<(ChatSpace, Plan)>, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= 10_000 {
            entries.retain(|_, (at, _)| now.duration_since(*at) < Self::TTL);
        }
        entries.insert(slug.to_owned(), (now, found));
    }
}

/// The widget's built-in wording for what the server tells visitors; a chat space overrides
/// any of it with `widget_config.strings`.
pub fn default_string(key: &str) -> &'static str {
    match key {
        "rate_limited" => {
            "You're sending messages a little fast. Please wait a moment and try again."
        }
        "quota_exceeded" => {
            "This assistant is resting for now. Please try again later or contact us another way."
        }
        _ => "",
    }
}

/// A limit of `per_minute` events per key with bursts up to the same number (the generic
/// cell rate algorithm: one instant per key). Kept in process memory; with several replicas
/// each counts its own share.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Duration,
    burst: Duration,
    next_free: Mutex<HashMap<String, Instant>>,
}

impl RateLimiter {
    pub fn per_minute(per_minute: u32) -> RateLimiter {
        let interval = Duration::from_secs(60) / per_minute.max(1);
        RateLimiter {
            interval,
            burst: Duration::from_secs(60).saturating_sub(interval),
            next_free: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one event for `key`; `Err(seconds)` to wait when over the limit.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), u64> {
        let mut map = self.next_free.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, at| *at > now);
        }
        let at = map.get(key).copied().filter(|at| *at > now).unwrap_or(now);
        let waiting = at - now;
        if waiting > self.burst {
            let wait = waiting - self.burst;
            return Err(wait.as_secs() + u64::from(wait.subsec_nanos() > 0));
        }
        map.insert(key.to_owned(), at + self.interval);
        Ok(())
    }
}

/// The widget's rate limits.
#[derive(Debug)]
pub struct WidgetLimits {
    /// Requests per client network ([`ClientInfo::network`]).
    pub per_address: RateLimiter,
    /// Messages per visitor of a chat space.
    pub per_visitor: RateLimiter,
    /// New conversations per chat space, all visitors together.
    pub new_conversations: RateLimiter,
    /// Published chat spaces by slug.
    pub spaces: SpaceCache,
}

impl WidgetLimits {
    pub fn new(settings: &Settings) -> WidgetLimits {
        WidgetLimits {
            per_address: RateLimiter::per_minute(settings.widget_requests_per_minute),
            per_visitor: RateLimiter::per_minute(settings.widget_messages_per_minute),
            new_conversations: RateLimiter::per_minute(settings.widget_conversations_per_minute),
            spaces: SpaceCache::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_match_exactly_or_by_subdomain() {
        let allowed = vec![
            "https://shop.example.com".to_owned(),
            "https://*.example.org".to_owned(),
            "http://localhost:3000".to_owned(),
        ];
        for good in [
            "https://shop.example.com",
            "https://a.example.org",
            "https://a.b.example.org",
            "http://localhost:3000",
        ] {
            assert!(origin_allowed(&allowed, good), "{good}");
        }
        for bad in [
            "https://evil.com",
            "http://shop.example.com",
            "https://example.org",
            "https://evilexample.org",
            "http://a.example.org",
            "http://localhost:3001",
            "https://shop.example.com.evil.com",
        ] {
            assert!(!origin_allowed(&allowed, bad), "{bad}");
        }
        assert!(origin_allowed(&[], "https://anything.test"));
    }

    #[test]
    fn rate_limiter_allows_bursts_then_waits() {
        let limiter = RateLimiter::per_minute(3);
        let now = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check("a", now), Ok(()));
        }
        let wait = limiter
            .check("a", now)
            .expect_err("fourth in the same instant");
        assert!((1..=20).contains(&wait), "{wait}");
        assert_eq!(limiter.check("b", now), Ok(()), "keys are separate");
        assert_eq!(limiter.check("a", now + Duration::from_secs(20)), Ok(()));
    }
}
