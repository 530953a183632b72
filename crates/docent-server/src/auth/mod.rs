//! Who is calling, as the request says: sessions (cookie), API keys (`Authorization:
//! Bearer`) and the CSRF double-submit.

pub mod csrf;
pub mod principal;

pub use docent_app::{Caller, CurrentUser, PlatformAdmin};

/// Name of the session cookie (HttpOnly).
pub const SESSION_COOKIE: &str = "docent_session";
/// Name of the CSRF cookie, readable by scripts so they can echo it in `X-CSRF-Token`.
pub const CSRF_COOKIE: &str = "docent_csrf";
/// Header that echoes the CSRF cookie on unsafe requests.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Form field that echoes the CSRF cookie in dashboard forms.
pub const CSRF_FIELD: &str = "csrf_token";

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The token of the request's `Authorization: Bearer <token>`, trimmed; `None` without one.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// A `Set-Cookie` value. `max_age_secs = 0` deletes the cookie.
pub fn set_cookie(
    name: &str,
    value: &str,
    max_age_secs: i64,
    http_only: bool,
    secure: bool,
) -> String {
    let mut cookie = format!("{name}={value}; Path=/; Max-Age={max_age_secs}; SameSite=Lax");
    if http_only {
        cookie.push_str("; HttpOnly");
    }
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}
