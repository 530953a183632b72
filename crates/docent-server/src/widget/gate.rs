//! The gate in front of `/api/widget/{slug}/…`: finds the published chat space, checks the
//! caller's origin against its allowlist, limits requests per address, answers CORS
//! preflights and puts CORS headers on every answer (errors included, so the widget can read
//! them). Handlers behind it read the chat space from [`WidgetSpace`].

use std::time::Instant;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use docent_app::AppError;
use docent_app::accounts::ClientInfo;
use docent_app::identity::Identity;
use docent_app::limits::{WidgetSpace, default_string, origin_allowed, published};

use crate::AppState;
use crate::error::ApiError;

impl FromRequestParts<AppState> for WidgetSpace {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<WidgetSpace>()
            .cloned()
            .ok_or(AppError::NotFound("chat space").into())
    }
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

/// The visitor identity a request gives: the `X-Docent-Identity` header, or the `identity`
/// query parameter where a browser cannot send headers (an `EventSource`).
fn identity_of(parts: &Parts) -> Option<String> {
    if let Some(value) = parts.headers.get(IDENTITY_HEADER) {
        return Some(value.to_str().unwrap_or("not text").to_owned());
    }
    form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "identity")
        .map(|(_, v)| v.into_owned())
}

const IDENTITY_HEADER: &str = "x-docent-identity";

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
        let error = AppError::RateLimited {
            message: default_string("rate_limited").to_owned(),
            retry_after_secs,
        };
        return with_cors(ApiError::from(error).into_response(), origin.as_ref());
    }
    let (space, plan) = match published(&state, &slug).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            return with_cors(
                ApiError::from(AppError::NotFound("chat space")).into_response(),
                origin.as_ref(),
            );
        }
        Err(e) => return with_cors(ApiError::from(e).into_response(), origin.as_ref()),
    };
    if let Some(origin) = &origin {
        let text = origin.to_str().unwrap_or_default();
        if !same_origin(text, &parts.headers) && !origin_allowed(&space.allowed_origins, text) {
            // No CORS headers: the browser keeps the answer from the page as well.
            return ApiError::from(AppError::OriginNotAllowed).into_response();
        }
    }
    if parts.method == Method::OPTIONS {
        let mut response = StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, DELETE, OPTIONS"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("content-type, accept, x-docent-identity"),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        return with_cors(response, origin.as_ref());
    }
    // Who the visitor is, when the site signed them in: checked here once for every route.
    let identity = match identity_of(&parts) {
        None => Identity::Anonymous,
        Some(raw) => docent_app::identity::verify(&state, &space, &raw, chrono::Utc::now()).await,
    };
    let mut request = Request::from_parts(parts, body);
    request.extensions_mut().insert(WidgetSpace {
        space,
        plan,
        client,
        identity,
    });
    with_cors(next.run(request).await, origin.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_come_from_widget_paths_only() {
        assert_eq!(widget_slug("/api/widget/acme/config"), Some("acme"));
        assert_eq!(widget_slug("/api/widget/"), None);
        assert_eq!(widget_slug("/api/chat-spaces"), None);
    }
}
