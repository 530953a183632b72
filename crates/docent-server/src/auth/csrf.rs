//! CSRF protection: a token that a page or script must echo in `X-CSRF-Token` or a
//! `csrf_token` form field on every unsafe request a browser could forge. For a request with
//! a session, the token is derived from the session's secret (which is HttpOnly), so a
//! cookie planted by someone else (a sibling subdomain, a network on plain HTTP) is worth
//! nothing; the `docent_csrf` cookie carries that token for scripts to read. Before logging
//! in, the token is a random `docent_csrf` cookie (double submit): a cross-site attacker can
//! make the browser send cookies, but cannot read them to echo the value.
//!
//! Checked: unsafe requests that carry the session cookie, and every form or multipart post
//! (log-in forms included). Exempt: requests with `Authorization: Bearer` (API keys are not
//! sent by browsers on their own) and cookie-less JSON, which browsers cannot send
//! cross-site without a CORS preflight.

use crate::error::HttpError;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use docent_app::AppError;

use super::{CSRF_COOKIE, CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, cookie, set_cookie};
use crate::AppState;
use crate::error::ApiError;
use crate::http::pages::PageError;
use docent_app::auth::token;

/// The CSRF token of this request, for templates to put in forms.
#[derive(Clone, Debug)]
pub struct CsrfToken(pub String);

/// The CSRF token of the session whose secret is `secret`: 64 hex digits that tell nothing
/// of the secret.
pub fn for_session(secret: &str) -> String {
    token::hash(&format!("docent-csrf:{secret}"))
}

pub async fn middleware(State(state): State<AppState>, request: Request, next: Next) -> Response {
    // The widget's API, scripts and pages use no cookies: nothing to forge, and no cookie
    // to set on visitors of other sites.
    let path = request.uri().path();
    if ["/api/widget/", "/widget", "/embed/", "/c/"]
        .iter()
        .any(|prefix| path.starts_with(prefix))
    {
        return next.run(request).await;
    }
    let sent = cookie(request.headers(), CSRF_COOKIE);
    let session = cookie(request.headers(), SESSION_COOKIE).filter(|s| !s.is_empty());
    // `fresh`: nothing the browser echoes can be trusted (it sent no token cookie).
    let (token_value, fresh, set) = match session {
        Some(secret) => {
            let bound = for_session(&secret);
            let set = sent.as_deref() != Some(bound.as_str());
            (bound, false, set)
        }
        None => match sent.filter(|t| t.len() == 64) {
            Some(t) => (t, false, false),
            None => (token::generate(32), true, true),
        },
    };
    let is_api = request.uri().path().starts_with("/api/");
    let mut response = match check(&state, request, &token_value, fresh).await {
        Ok(mut request) => {
            request
                .extensions_mut()
                .insert(CsrfToken(token_value.clone()));
            next.run(request).await
        }
        Err(e) if is_api => e.into_response(),
        Err(e) => PageError(e).into_response(),
    };
    // A response that starts or ends a session sets the token of its own.
    let sets_own = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| {
            v.as_bytes()
                .starts_with(format!("{CSRF_COOKIE}=").as_bytes())
        });
    if set && !sets_own {
        let cookie = set_cookie(
            CSRF_COOKIE,
            &token_value,
            60 * 60 * 24 * 365,
            false,
            state.settings.secure_cookies(),
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

async fn check(
    state: &AppState,
    request: Request,
    expected: &str,
    fresh: bool,
) -> Result<Request, ApiError> {
    let unsafe_method = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !unsafe_method || request.headers().contains_key(header::AUTHORIZATION) {
        return Ok(request);
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
    let needs_check = is_form
        || content_type.starts_with("multipart/form-data")
        || cookie(request.headers(), SESSION_COOKIE).is_some();
    if !needs_check {
        return Ok(request);
    }
    if fresh {
        // The browser sent no CSRF cookie, so nothing it echoes can be trusted.
        return Err(HttpError::CsrfFailed.into());
    }
    if let Some(sent) = request
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        return if token::constant_time_eq(sent, expected) {
            Ok(request)
        } else {
            Err(HttpError::CsrfFailed.into())
        };
    }
    if !is_form {
        // A file-upload form cannot set a header and its body is not read here, so the
        // dashboard puts the token in the form's action URL instead.
        let in_query = content_type.starts_with("multipart/form-data")
            && request
                .uri()
                .query()
                .and_then(|q| form_field(q.as_bytes(), CSRF_FIELD))
                .is_some_and(|sent| token::constant_time_eq(&sent, expected));
        return if in_query {
            Ok(request)
        } else {
            Err(HttpError::CsrfFailed.into())
        };
    }
    let (parts, body) = request.into_parts();
    let limit = state.settings.max_body_bytes;
    let bytes = to_bytes(body, limit)
        .await
        .map_err(|_| AppError::PayloadTooLarge { limit })?;
    let sent = form_field(&bytes, CSRF_FIELD).ok_or(HttpError::CsrfFailed)?;
    if !token::constant_time_eq(&sent, expected) {
        return Err(HttpError::CsrfFailed.into());
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

fn form_field(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_decode() {
        assert_eq!(
            form_field(b"a=1&csrf_token=ab%20c+d", "csrf_token").as_deref(),
            Some("ab c d")
        );
        assert_eq!(form_field(b"a=1", "csrf_token"), None);
        assert_eq!(
            form_field(b"csrf_token=%zz%4", "csrf_token").as_deref(),
            Some("%zz%4")
        );
    }
}
