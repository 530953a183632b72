//! The session's cookies, set by the API's and the dashboard's log-in and log-out alike.

use axum::http::{HeaderMap, HeaderValue, header};

use crate::AppState;
use crate::auth::{CSRF_COOKIE, SESSION_COOKIE, csrf, set_cookie};

/// Adds the `Set-Cookie`s of a new session to `headers` (the session, and the CSRF token
/// bound to it), or of an ended one when `secret` is `None`.
pub fn set_session_cookies(headers: &mut HeaderMap, state: &AppState, secret: Option<&str>) {
    let secure = state.settings.secure_cookies();
    let (session, csrf) = match secret {
        Some(secret) => {
            let days = i64::from(state.settings.session_days) * 86_400;
            (
                set_cookie(SESSION_COOKIE, secret, days, true, secure),
                set_cookie(CSRF_COOKIE, &csrf::for_session(secret), days, false, secure),
            )
        }
        None => (
            set_cookie(SESSION_COOKIE, "", 0, true, secure),
            set_cookie(CSRF_COOKIE, "", 0, false, secure),
        ),
    };
    for value in [session, csrf] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.append(header::SET_COOKIE, value);
        }
    }
}
