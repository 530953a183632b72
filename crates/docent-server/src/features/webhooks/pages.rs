//! The Webhooks page: an organization's endpoints (add, test, rotate the secret, turn off
//! and on, delete) and each one's delivery log with redelivery. Server-rendered forms over
//! the same application functions as the JSON API.

use std::collections::HashMap;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use docent_app::webhooks::{self, WebhookInput, WebhookPatch};
use docent_app::{AppError, chat_spaces};
use docent_core::*;

use crate::AppState;
use crate::auth::Caller;
use crate::extract::{ApiForm, ApiQuery, IdPath};
use crate::http::list::ListQuery;
use crate::http::pages::{PageCtx, PageError, Shell, field_errors, redirect_with};

/// An endpoint as the page lists it.
struct EndpointView {
    endpoint: WebhookEndpoint,
    chat_space: String,
}

/// A secret to copy now, and what it is for.
struct ShownSecret {
    endpoint_id: WebhookEndpointId,
    secret: String,
    rotated: bool,
}

#[derive(Template)]
#[template(path = "webhooks/index.html")]
struct WebhooksPage {
    shell: Shell,
    title: &'static str,
    endpoints: Vec<EndpointView>,
    spaces: Vec<ChatSpace>,
    event_types: Vec<EventType>,
    errors: ValidationErrors,
    form: HashMap<String, String>,
    secret: Option<ShownSecret>,
    /// The result of "send test", for the endpoint it was sent to.
    tested: Option<WebhookDelivery>,
}

impl WebhooksPage {
    fn value(&self, field: &str) -> &str {
        self.form.get(field).map_or("", String::as_str)
    }

    fn checked(&self, kind: &EventType) -> bool {
        self.form.is_empty() || self.form.contains_key(&format!("event:{}", kind.as_str()))
    }
}

#[derive(Template)]
#[template(path = "webhooks/deliveries.html")]
struct DeliveriesPage {
    shell: Shell,
    title: &'static str,
    endpoint: WebhookEndpoint,
    deliveries: Vec<WebhookDelivery>,
    next_cursor: Option<WebhookDeliveryId>,
}

impl DeliveriesPage {
    fn badge(&self, d: &WebhookDelivery) -> &'static str {
        match d.status {
            DeliveryStatus::Succeeded => "badge-completed",
            DeliveryStatus::Pending => "badge-processing",
            DeliveryStatus::Failed => "badge-failed",
        }
    }
}

/// What the page shows besides the list: a form's errors and what was typed, a secret to
/// copy, a test's result.
#[derive(Default)]
struct Shown {
    errors: ValidationErrors,
    form: HashMap<String, String>,
    secret: Option<ShownSecret>,
    tested: Option<WebhookDelivery>,
}

async fn page(
    state: &AppState,
    caller: &Caller,
    ctx: &PageCtx,
    shown: Shown,
) -> Result<WebhooksPage, PageError> {
    let Shown {
        errors,
        form,
        secret,
        tested,
    } = shown;
    let list = webhooks::list(state, caller).await?;
    let spaces = chat_spaces::list(
        state,
        caller,
        Page {
            limit: 200,
            cursor: None,
        },
    )
    .await?;
    let name_of = |id: Option<ChatSpaceId>| match id {
        None => "Every chat space".to_owned(),
        Some(id) => spaces
            .iter()
            .find(|s| s.id == id)
            .map_or_else(|| "A deleted chat space".to_owned(), |s| s.name.clone()),
    };
    let endpoints = list
        .into_iter()
        .map(|endpoint| EndpointView {
            chat_space: name_of(endpoint.chat_space_id),
            endpoint,
        })
        .collect();
    Ok(WebhooksPage {
        shell: ctx.shell_in("webhooks"),
        title: "Webhooks",
        endpoints,
        spaces,
        event_types: EventType::subscribable().collect(),
        errors,
        form,
        secret,
        tested,
    })
}

/// The page with `shown`, answered with `status`.
async fn render(
    state: &AppState,
    caller: &Caller,
    ctx: &PageCtx,
    shown: Shown,
    status: StatusCode,
) -> Result<Response, PageError> {
    let page = page(state, caller, ctx, shown).await?;
    Ok(ctx.render_status(status, &page))
}

pub async fn index(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
) -> Result<Response, PageError> {
    render(&state, &caller, &ctx, Shown::default(), StatusCode::OK).await
}

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    ApiForm(form): ApiForm<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let field = |name: &str| form.get(name).map(|v| v.trim().to_owned());
    let chat_space_id = match field("chat_space_id").filter(|v| !v.is_empty()) {
        None => None,
        Some(raw) => Some(
            raw.parse::<ChatSpaceId>()
                .map_err(|_| AppError::validation("chat_space_id", "Choose a chat space."))?,
        ),
    };
    let input = WebhookInput {
        url: field("url").unwrap_or_default(),
        events: EventType::subscribable()
            .filter(|e| form.contains_key(&format!("event:{}", e.as_str())))
            .collect(),
        chat_space_id,
        description: field("description"),
    };
    match webhooks::create(&state, &caller, input).await {
        Ok(created) => {
            let secret = ShownSecret {
                endpoint_id: created.endpoint.id,
                secret: created.secret,
                rotated: false,
            };
            render(
                &state,
                &caller,
                &ctx,
                Shown {
                    secret: Some(secret),
                    ..Shown::default()
                },
                StatusCode::CREATED,
            )
            .await
        }
        Err(e) => {
            let errors = field_errors(e)?;
            render(
                &state,
                &caller,
                &ctx,
                Shown {
                    errors,
                    form,
                    ..Shown::default()
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    IdPath(id): IdPath<WebhookEndpointId>,
    ApiQuery(query): ApiQuery<ListQuery<WebhookDeliveryId>>,
) -> Result<Response, PageError> {
    let endpoint = webhooks::get(&state, &caller, id).await?;
    let cursor = query.cursor;
    let limit = 50;
    let deliveries = webhooks::deliveries(&state, &caller, id, Page { limit, cursor }).await?;
    let next_cursor = (deliveries.len() as u32 >= limit)
        .then(|| deliveries.last().map(|d| d.id))
        .flatten();
    let page = DeliveriesPage {
        shell: ctx.shell_in("webhooks"),
        title: "Webhook deliveries",
        endpoint,
        deliveries,
        next_cursor,
    };
    Ok(ctx.render(&page))
}

pub async fn test(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    IdPath(id): IdPath<WebhookEndpointId>,
) -> Result<Response, PageError> {
    let tested = webhooks::send_test(&state, &caller, id).await?;
    render(
        &state,
        &caller,
        &ctx,
        Shown {
            tested: Some(tested),
            ..Shown::default()
        },
        StatusCode::OK,
    )
    .await
}

pub async fn rotate(
    State(state): State<AppState>,
    caller: Caller,
    ctx: PageCtx,
    IdPath(id): IdPath<WebhookEndpointId>,
) -> Result<Response, PageError> {
    let rotated = webhooks::rotate_secret(&state, &caller, id).await?;
    let secret = ShownSecret {
        endpoint_id: id,
        secret: rotated.secret,
        rotated: true,
    };
    render(
        &state,
        &caller,
        &ctx,
        Shown {
            secret: Some(secret),
            ..Shown::default()
        },
        StatusCode::OK,
    )
    .await
}

pub async fn toggle(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<WebhookEndpointId>,
) -> Result<Response, PageError> {
    let endpoint = webhooks::get(&state, &caller, id).await?;
    let enable = endpoint.disabled_at.is_some();
    let patch = WebhookPatch {
        enabled: Some(enable),
        ..WebhookPatch::default()
    };
    webhooks::update(&state, &caller, id, patch).await?;
    Ok(redirect_with(
        "/app/webhooks",
        if enable { "webhook_on" } else { "webhook_off" },
    ))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath<WebhookEndpointId>,
) -> Result<Response, PageError> {
    webhooks::delete(&state, &caller, id).await?;
    Ok(redirect_with("/app/webhooks", "webhook_deleted"))
}

pub async fn redeliver(
    State(state): State<AppState>,
    caller: Caller,
    IdPath((id, delivery)): IdPath<(WebhookEndpointId, WebhookDeliveryId)>,
) -> Result<Response, PageError> {
    webhooks::redeliver(&state, &caller, id, delivery).await?;
    Ok(redirect_with(
        &format!("/app/webhooks/{id}"),
        "redelivery_queued",
    ))
}
