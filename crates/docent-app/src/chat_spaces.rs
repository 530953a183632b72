//! Chat spaces: create, list, read, change, publish, delete, embed code.

use chrono::Utc;
use docent_core::config::{self, AiConfig, RetrievalConfig, WidgetConfig};
use docent_core::validate;
use docent_core::*;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::App;
use crate::AppError;
use crate::Caller;

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateChatSpace {
    #[schemars(regex(pattern = docent_core::validate::NAME_PATTERN), length(max = 100), example = "Shop help")]
    pub name: String,
    #[serde(default)]
    #[schemars(length(max = 2000))]
    pub description: String,
    /// Derived from the name when absent.
    #[serde(default)]
    #[schemars(regex(pattern = SLUG_PATTERN), length(min = 3, max = 63))]
    pub endpoint_slug: Option<String>,
    #[serde(default)]
    #[schemars(schema_with = "widget_settings")]
    pub widget_config: Option<Value>,
    #[serde(default)]
    #[schemars(schema_with = "ai_settings")]
    pub ai_config: Option<Value>,
    #[serde(default)]
    #[schemars(schema_with = "retrieval_settings")]
    pub retrieval_config: Option<Value>,
    #[serde(default)]
    #[schemars(inner(regex(pattern = docent_core::validate::ORIGIN_PATTERN)))]
    pub allowed_origins: Option<Vec<String>>,
}

/// A change; absent fields stay. Config documents merge over their current value.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchChatSpace {
    #[serde(default)]
    #[schemars(regex(pattern = docent_core::validate::NAME_PATTERN), length(max = 100))]
    pub name: Option<String>,
    #[serde(default)]
    #[schemars(length(max = 2000))]
    pub description: Option<String>,
    #[serde(default)]
    #[schemars(regex(pattern = SLUG_PATTERN), length(min = 3, max = 63))]
    pub endpoint_slug: Option<String>,
    #[serde(default)]
    pub status: Option<ChatSpaceStatus>,
    #[serde(default)]
    #[schemars(schema_with = "widget_settings")]
    pub widget_config: Option<Value>,
    #[serde(default)]
    #[schemars(schema_with = "ai_settings")]
    pub ai_config: Option<Value>,
    #[serde(default)]
    #[schemars(schema_with = "retrieval_settings")]
    pub retrieval_config: Option<Value>,
    #[serde(default)]
    #[schemars(inner(regex(pattern = docent_core::validate::ORIGIN_PATTERN)))]
    pub allowed_origins: Option<Vec<String>>,
    #[serde(default)]
    pub answer_mode: Option<AnswerMode>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "present")]
    pub webhook_url: Option<Option<String>>,
    /// Delete conversations this many days (1 to 3,650) after their last message; `null`
    /// keeps them.
    #[serde(default, deserialize_with = "present")]
    #[schemars(range(min = 1, max = 3650))]
    pub retention_days: Option<Option<u32>>,
}

/// The longest a chat space may keep conversations, in days (ten years).
pub const RETENTION_MAX_DAYS: i32 = 3650;

/// The slugs [`docent_core::validate::slug`] accepts (bar reserved words), spaces around
/// trimmed.
const SLUG_PATTERN: &str = r"^\s*[a-z0-9]+(?:-[a-z0-9]+)*\s*$";

/// The schema of a settings document sent to change one: `T`'s fields, each optional and
/// `null` to restore its default (a JSON merge patch), and no others; or `null` for none.
fn settings_patch<T: schemars::JsonSchema>(
    generator: &mut schemars::SchemaGenerator,
) -> schemars::Schema {
    let mut object = T::json_schema(generator).to_value();
    patchable(&mut object, generator, 0);
    schemars::Schema::try_from(serde_json::json!({"anyOf": [object, {"type": "null"}]}))
        .unwrap_or_default()
}

/// Makes an object schema a merge patch's: every field optional and nullable, and the
/// same inside a nested settings object (`ai_config.handover`), which merges too.
fn patchable(object: &mut Value, generator: &schemars::SchemaGenerator, depth: u8) {
    if let Some(properties) = object.get_mut("properties").and_then(Value::as_object_mut) {
        for property in properties.values_mut() {
            // A map's entries merge too: `null` removes one.
            if let Some(entries) = property.get_mut("additionalProperties")
                && entries.is_object()
            {
                *entries = serde_json::json!({"anyOf": [entries.take(), {"type": "null"}]});
            }
            // A nested settings object, named by reference (or an optional one, a reference
            // or null): inlined, then patchable itself.
            let reference = property.get("$ref").or_else(|| {
                property
                    .get("anyOf")
                    .and_then(Value::as_array)
                    .and_then(|options| options.iter().find_map(|o| o.get("$ref")))
            });
            let nested = reference
                .and_then(Value::as_str)
                .and_then(|r| r.rsplit('/').next())
                .and_then(|name| generator.definitions().get(name))
                .filter(|d| d.get("properties").is_some())
                .cloned();
            if let Some(mut nested) = nested
                && depth < 3
            {
                patchable(&mut nested, generator, depth + 1);
                *property = nested;
            }
            *property = serde_json::json!({"anyOf": [property.take(), {"type": "null"}]});
        }
    }
    if let Some(map) = object.as_object_mut() {
        map.remove("required");
        map.remove("title");
    }
}

fn widget_settings(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    settings_patch::<WidgetConfig>(generator)
}

fn ai_settings(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    settings_patch::<AiConfig>(generator)
}

fn retrieval_settings(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    settings_patch::<RetrievalConfig>(generator)
}

/// Tells a field sent as `null` (`Some(None)`) from one not sent (`None`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// The three ways to put a chat space on a website.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct EmbedCode {
    pub script: String,
    pub iframe: String,
    pub share_url: String,
}

const MAX_ORIGINS: usize = 50;

fn origins(errors: &mut ValidationErrors, raw: &[String]) -> Vec<String> {
    if raw.len() > MAX_ORIGINS {
        errors.add(
            "allowed_origins",
            format!("List at most {MAX_ORIGINS} origins."),
        );
        return Vec::new();
    }
    let mut out: Vec<String> = raw
        .iter()
        .map(|o| validate::origin(errors, "allowed_origins", o))
        .collect();
    out.dedup();
    out
}

fn webhook_url(errors: &mut ValidationErrors, raw: &str) -> String {
    let url = raw.trim().to_owned();
    if !(url.starts_with("https://") || url.starts_with("http://"))
        || url.len() > 2000
        || url.contains(char::is_whitespace)
    {
        errors.add(
            "webhook_url",
            "Use an http(s) URL of at most 2000 characters.",
        );
    }
    url
}

fn config_doc<T: config::ConfigDoc>(
    errors: &mut ValidationErrors,
    current: &Value,
    patch: Option<&Value>,
) -> Option<Value> {
    let patch = patch?;
    match config::apply_patch::<T>(current, patch) {
        Ok(value) => Some(value),
        Err(e) => {
            errors.0.extend(e.0);
            None
        }
    }
}

/// A new chat space's document: the defaults with `given` merged over them.
fn initial_doc<T: config::ConfigDoc>(
    errors: &mut ValidationErrors,
    given: Option<&Value>,
) -> Value {
    let empty = Value::Object(serde_json::Map::new());
    config_doc::<T>(
        errors,
        &config::default_value::<T>(),
        Some(given.unwrap_or(&empty)),
    )
    .unwrap_or_default()
}

pub async fn list(
    app: &App,
    caller: &Caller,
    page: Page<ChatSpaceId>,
) -> Result<Vec<ChatSpace>, AppError> {
    if let Some(limited) = caller.limited_to() {
        let mut spaces = Vec::with_capacity(limited.len());
        for id in limited {
            spaces.extend(app.store.find_chat_space(caller.org_id(), id).await?);
        }
        // Newest first, a page at a time, as the store lists them.
        spaces.sort_by_key(|s| std::cmp::Reverse(s.id));
        spaces.retain(|s| page.cursor.is_none_or(|c| s.id < c));
        spaces.truncate(page.limit as usize);
        return Ok(spaces);
    }
    Ok(app.store.list_chat_spaces(caller.org_id(), page).await?)
}

pub async fn get(app: &App, caller: &Caller, id: ChatSpaceId) -> Result<ChatSpace, AppError> {
    if !caller.sees(id) {
        return Err(AppError::NotFound("chat space"));
    }
    app.store
        .find_chat_space(caller.org_id(), id)
        .await?
        .ok_or(AppError::NotFound("chat space"))
}

/// Where a chat space stands on its way to visitors: the set-up checklist shown on each of
/// its pages until every step is done.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Setup {
    /// At least one document is ready.
    pub knowledge: bool,
    /// Someone asked it something in the playground.
    pub tried: bool,
    pub published: bool,
    /// A visitor has talked to it through the widget, an iframe or the share link.
    pub installed: bool,
}

impl Setup {
    pub fn done(&self) -> bool {
        self.knowledge && self.tried && self.published && self.installed
    }

    /// How many of the four steps are done.
    pub fn steps_done(&self) -> usize {
        [self.knowledge, self.tried, self.published, self.installed]
            .iter()
            .filter(|d| **d)
            .count()
    }
}

pub async fn setup(app: &App, caller: &Caller, space: &ChatSpace) -> Result<Setup, AppError> {
    let ready = crate::documents::completed_count(app, caller, space).await?;
    let channels = app
        .store
        .conversation_channels(caller.org_id(), space.id)
        .await?;
    Ok(Setup {
        knowledge: ready > 0,
        tried: channels.contains(&Channel::Playground),
        published: space.status == ChatSpaceStatus::Published,
        installed: channels.contains(&Channel::Widget),
    })
}

pub async fn create(
    app: &App,
    caller: &Caller,
    input: CreateChatSpace,
) -> Result<ChatSpace, AppError> {
    caller.require(Role::Admin)?;
    if caller.limited_to().is_some() {
        return Err(AppError::ApiKeyScope);
    }
    let mut errors = ValidationErrors::new();
    let name = validate::name(&mut errors, "name", &input.name);
    let description = validate::description(&mut errors, "description", &input.description);
    let chosen_slug = input
        .endpoint_slug
        .as_deref()
        .map(|s| validate::slug(&mut errors, "endpoint_slug", s));
    let widget_config = initial_doc::<WidgetConfig>(&mut errors, input.widget_config.as_ref());
    let ai_config = initial_doc::<AiConfig>(&mut errors, input.ai_config.as_ref());
    let retrieval_config =
        initial_doc::<RetrievalConfig>(&mut errors, input.retrieval_config.as_ref());
    let allowed_origins = origins(
        &mut errors,
        input.allowed_origins.as_deref().unwrap_or_default(),
    );
    errors.into_result()?;

    // Counted against the plan as it is stored, in one step.
    let limit = caller.org.plan.limits().chat_spaces_per_org;
    let new = |slug: String| NewChatSpace {
        name: name.clone(),
        description: description.clone(),
        endpoint_slug: slug,
        widget_config: widget_config.clone(),
        ai_config: ai_config.clone(),
        retrieval_config: retrieval_config.clone(),
        allowed_origins: allowed_origins.clone(),
    };
    let plan = caller.org.plan;
    let limited = AppError::within_plan(plan, "chat spaces");
    if let Some(slug) = chosen_slug {
        return app
            .store
            .create_chat_space_within(caller.org_id(), new(slug), limit)
            .await
            .map_err(limited);
    }
    // A derived slug: the name's, then numbered, then with a random suffix.
    let base = validate::slugify(&name);
    let candidates = std::iter::once(base.clone())
        .chain((2..=5).map(|n| format!("{base}-{n}")))
        .chain(
            std::iter::repeat_with(|| format!("{base}-{}", crate::auth::token::generate(3)))
                .take(3),
        );
    for slug in candidates {
        match app
            .store
            .create_chat_space_within(caller.org_id(), new(slug), limit)
            .await
        {
            Ok(space) => return Ok(space),
            Err(docent_store::StoreError::Conflict {
                field: "endpoint_slug",
            }) => continue,
            Err(e) => return Err(limited(e)),
        }
    }
    Err(AppError::SlugTaken)
}

pub async fn patch(
    app: &App,
    caller: &Caller,
    id: ChatSpaceId,
    input: PatchChatSpace,
) -> Result<ChatSpace, AppError> {
    caller.require(Role::Admin)?;
    let current = get(app, caller, id).await?;
    let mut errors = ValidationErrors::new();
    let patch = ChatSpacePatch {
        name: input
            .name
            .as_deref()
            .map(|n| validate::name(&mut errors, "name", n)),
        description: input
            .description
            .as_deref()
            .map(|d| validate::description(&mut errors, "description", d)),
        endpoint_slug: input
            .endpoint_slug
            .as_deref()
            .map(|s| validate::slug(&mut errors, "endpoint_slug", s)),
        widget_config: config_doc::<WidgetConfig>(
            &mut errors,
            &current.widget_config,
            input.widget_config.as_ref(),
        ),
        ai_config: config_doc::<AiConfig>(
            &mut errors,
            &current.ai_config,
            input.ai_config.as_ref(),
        ),
        retrieval_config: config_doc::<RetrievalConfig>(
            &mut errors,
            &current.retrieval_config,
            input.retrieval_config.as_ref(),
        ),
        allowed_origins: input
            .allowed_origins
            .as_deref()
            .map(|o| origins(&mut errors, o)),
        answer_mode: input.answer_mode,
        retention_days: input.retention_days.map(|days| {
            days.and_then(|d| match i32::try_from(d) {
                Ok(d @ 1..=RETENTION_MAX_DAYS) => Some(d),
                _ => {
                    errors.add(
                        "retention_days",
                        format!("Keep conversations 1 to {RETENTION_MAX_DAYS} days, or null to keep them."),
                    );
                    None
                }
            })
        }),
        webhook_url: input.webhook_url.map(|url| {
            url.filter(|u| !u.trim().is_empty())
                .map(|u| webhook_url(&mut errors, &u))
        }),
    };
    let webhook_after = patch
        .webhook_url
        .clone()
        .unwrap_or(current.webhook_url.clone());
    if patch.answer_mode.unwrap_or(current.answer_mode) == AnswerMode::Webhook
        && webhook_after.is_none()
    {
        errors.add(
            "webhook_url",
            "Set a webhook URL to answer through a webhook.",
        );
    }
    errors.into_result()?;
    // Docent will call it: the same guard as web sources, now and again when it calls. A
    // name that does not resolve yet is kept (it is checked again at every call); one that
    // resolves to a private address is refused.
    if let Some(Some(url)) = &patch.webhook_url {
        match super::public_url(app, url, "webhook_url").await {
            Ok(_) | Err(AppError::UrlUnreachable(_)) => {}
            Err(e) => return Err(e),
        }
    }
    let updated = app
        .store
        .update_chat_space(caller.org_id(), id, patch)
        .await?
        .ok_or(AppError::NotFound("chat space"))?;
    // This replica's widgets see the change at once; others within the cache's second.
    app.widget_limits.spaces.forget(&current.endpoint_slug);
    app.widget_limits.spaces.forget(&updated.endpoint_slug);
    // A webhook that answers is tested when it is set (its health shows on Settings).
    if updated.answer_mode == AnswerMode::Webhook
        && (updated.webhook_url != current.webhook_url
            || current.answer_mode != AnswerMode::Webhook)
        && let Err(e) = crate::answer_webhook::check_space(app, &updated).await
    {
        tracing::warn!(chat_space = %updated.id, error = %e, "could not check the answer webhook");
    }
    match input.status {
        None => Ok(updated),
        Some(ChatSpaceStatus::Published) => publish(app, caller, id).await,
        Some(status) => set_status(app, caller, id, status).await,
    }
}

async fn set_status(
    app: &App,
    caller: &Caller,
    id: ChatSpaceId,
    status: ChatSpaceStatus,
) -> Result<ChatSpace, AppError> {
    let space = app
        .store
        .set_chat_space_status(caller.org_id(), id, status, Utc::now())
        .await?
        .ok_or(AppError::NotFound("chat space"))?;
    app.widget_limits.spaces.forget(&space.endpoint_slug);
    Ok(space)
}

/// Publishes the chat space once it has at least one completed document.
pub async fn publish(app: &App, caller: &Caller, id: ChatSpaceId) -> Result<ChatSpace, AppError> {
    caller.require(Role::Admin)?;
    let space = get(app, caller, id).await?;
    // A chat space answered by its webhook needs no knowledge of its own.
    if space.answer_mode == AnswerMode::Rag
        && crate::documents::completed_count(app, caller, &space).await? == 0
    {
        return Err(AppError::PublishRequiresDocument);
    }
    set_status(app, caller, id, ChatSpaceStatus::Published).await
}

pub async fn unpublish(app: &App, caller: &Caller, id: ChatSpaceId) -> Result<ChatSpace, AppError> {
    caller.require(Role::Admin)?;
    get(app, caller, id).await?;
    set_status(app, caller, id, ChatSpaceStatus::Draft).await
}

pub async fn delete(app: &App, caller: &Caller, id: ChatSpaceId) -> Result<(), AppError> {
    caller.require(Role::Admin)?;
    let slug = app
        .store
        .find_chat_space(caller.org_id(), id)
        .await?
        .map(|space| space.endpoint_slug);
    if !caller.sees(id) || !app.store.delete_chat_space(caller.org_id(), id).await? {
        return Err(AppError::NotFound("chat space"));
    }
    if let Some(slug) = slug {
        app.widget_limits.spaces.forget(&slug);
    }
    Ok(())
}

pub async fn embed_code(
    app: &App,
    caller: &Caller,
    id: ChatSpaceId,
) -> Result<EmbedCode, AppError> {
    let space = get(app, caller, id).await?;
    Ok(embed_code_for(&app.settings.public_base_url(), &space))
}

pub fn embed_code_for(base: &str, space: &ChatSpace) -> EmbedCode {
    let slug = &space.endpoint_slug;
    let title = space
        .name
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    EmbedCode {
        script: format!(
            r#"<script src="{base}/widget.js" data-chat-space="{slug}" async></script>"#
        ),
        iframe: format!(
            r#"<iframe src="{base}/embed/{slug}" title="{title}" style="border:0;width:100%;height:640px" allow="clipboard-write"></iframe>"#
        ),
        share_url: format!("{base}/c/{slug}"),
    }
}
