//! The gate in front of `/api/widget/{slug}/…`: finds the published chat space, checks the
//! caller's origin against its allowlist, limits requests per address, answers CORS
//! preflights and puts CORS headers on every answer (errors included, so the widget can read
//! them). Handlers behind it read the chat space from [`WidgetSpace`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use docent_core::*;

use crate::AppState;
use crate::error::ApiError;
use crate::service::accounts::ClientInfo;

/// The published chat space a widget request is for, and its organization's plan.
#[derive(Clone, Debug)]
pub struct WidgetSpace {
    pub space: ChatSpace,
    pub plan: Plan,
    pub client: ClientInfo,
}

impl FromRequestParts<AppState> for WidgetSpace {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<WidgetSpace>()
            .cloned()
            .ok_or(ApiError::NotFound("chat space"))
    }
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

/// The request comes from a page of this server (the share page and the iframe embed).
fn same_origin(origin: &str, headers: &HeaderMap) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin
        .split_once("://")
        .map_or("", |(_, rest)| rest.trim_end_matches('/'));
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

/// The slug of a widget API path, if it is one.
fn widget_slug(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/api/widget/")?;
    let slug = rest.split('/').next().unwrap_or_default();
    (!slug.is_empty()).then_some(slug)
}

fn with_cors(mut response: Response, origin: Option<&HeaderValue>) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = origin {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("retry-after"),
        );
    }
    response
}

pub async fn middleware(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(slug) = widget_slug(request.uri().path()).map(str::to_owned) else {
        return next.run(request).await;
    };
    let origin = request.headers().get(header::ORIGIN).cloned();
    let (mut parts, body) = request.into_parts();
    let client = match ClientInfo::from_request_parts(&mut parts, &state).await {
        Ok(client) => client,
        Err(e) => return e.into_response(),
    };
    // Addresses first: a flood must not reach the database.
    if let Err(retry_after_secs) = state
        .widget_limits
        .per_address
        .check(&client.network(), Instant::now())
    {
        let error = ApiError::RateLimited {
            message: default_string("rate_limited").to_owned(),
            retry_after_secs,
        };
        return with_cors(error.into_response(), origin.as_ref());
    }
    let (space, plan) = match published(&state, &slug).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            return with_cors(
                ApiError::NotFound("chat space").into_response(),
                origin.as_ref(),
            );
        }
        Err(e) => return with_cors(e.into_response(), origin.as_ref()),
    };
    if let Some(origin) = &origin {
        let text = origin.to_str().unwrap_or_default();
        if !same_origin(text, &parts.headers) && !origin_allowed(&space.allowed_origins, text) {
            // No CORS headers: the browser keeps the answer from the page as well.
            return ApiError::OriginNotAllowed.into_response();
        }
    }
    if parts.method == Method::OPTIONS {
        let mut response = StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("content-type, accept"),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        return with_cors(response, origin.as_ref());
    }
    let mut request = Request::from_parts(parts, body);
    request.extensions_mut().insert(WidgetSpace {
        space,
        plan,
        client,
    });
    with_cors(next.run(request).await, origin.as_ref())
}

/// The published chat space of `slug` and its organization's plan, from the cache when it is
/// at most [`SpaceCache::TTL`] old.
pub async fn published(
    state: &AppState,
    slug: &str,
) -> Result<Option<(ChatSpace, Plan)>, ApiError> {
    let now = Instant::now();
    if let Some(found) = state.widget_limits.spaces.get(slug, now) {
        return Ok(found);
    }
    let found = match state.store.find_chat_space_by_slug(slug).await? {
        Some(space) if space.status == ChatSpaceStatus::Published => state
            .store
            .find_organization(space.org_id)
            .await?
            .map(|org| (space, org.plan)),
        _ => None,
    };
    state.widget_limits.spaces.put(slug, found.clone(), now);
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

    #[test]
    fn slugs_come_from_widget_paths_only() {
        assert_eq!(widget_slug("/api/widget/acme/config"), Some("acme"));
        assert_eq!(widget_slug("/api/widget/"), None);
        assert_eq!(widget_slug("/api/chat-spaces"), None);
    }
}
