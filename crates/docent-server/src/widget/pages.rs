//! The iframe embed (`/embed/{slug}`) and the share page (`/c/{slug}`): the widget inline,
//! full size. The embed may be framed by the chat space's allowed origins only.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use docent_app::AppError;
use docent_core::config::WidgetConfig;
use docent_core::*;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::IdPath;

#[derive(Template)]
#[template(path = "widget/widget_page.html")]
struct WidgetPage {
    slug: String,
    title: String,
    description: String,
    url: String,
    /// The share page is a page of its own; the embed lives in someone else's.
    share: bool,
    ui_file: String,
}

async fn published(state: &AppState, slug: &str) -> Result<ChatSpace, Response> {
    match docent_app::limits::published(state, slug).await {
        Ok(Some((space, _))) => Ok(space),
        Ok(None) => Err(not_found()),
        Err(e) => Err(ApiError::from(e).into_response()),
    }
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html("<!doctype html><meta charset=utf-8><title>Not found</title><p>This chatbot does not exist or is not published.</p>"),
    )
        .into_response()
}

fn page(state: &AppState, space: &ChatSpace, share: bool) -> Response {
    let widget: WidgetConfig =
        serde_json::from_value(space.widget_config.clone()).unwrap_or_default();
    let title = if widget.bot_name.trim().is_empty() {
        space.name.clone()
    } else {
        widget.bot_name.clone()
    };
    let description = if space.description.trim().is_empty() {
        widget.welcome_message.clone()
    } else {
        space.description.clone()
    };
    let base = state.settings.public_base_url();
    let page = WidgetPage {
        slug: space.endpoint_slug.clone(),
        title,
        description,
        url: format!("{base}/c/{}", space.endpoint_slug),
        share,
        ui_file: super::assets::UI_FILE.clone(),
    };
    match page.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => ApiError::from(AppError::Internal(e.to_string())).into_response(),
    }
}

pub async fn share(State(state): State<AppState>, IdPath(slug): IdPath<String>) -> Response {
    match published(&state, &slug).await {
        Ok(space) => page(&state, &space, true),
        Err(response) => response,
    }
}

pub async fn embed(State(state): State<AppState>, IdPath(slug): IdPath<String>) -> Response {
    let space = match published(&state, &slug).await {
        Ok(space) => space,
        Err(response) => return response,
    };
    let mut response = page(&state, &space, false);
    // Framed only where the widget may run: the allowed origins, or anywhere when none are
    // set. The security-headers layer keeps this policy instead of its own.
    let ancestors = if space.allowed_origins.is_empty() {
        "*".to_owned()
    } else {
        format!("'self' {}", space.allowed_origins.join(" "))
    };
    let csp = format!(
        "{} frame-ancestors {ancestors}",
        crate::ops::CSP_WITHOUT_FRAMING
    );
    if let Ok(value) = HeaderValue::from_str(&csp) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}
